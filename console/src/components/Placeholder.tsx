import { Alert, Stack } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { PageHeading } from './PageHeading';

/** Stands in for a screen another engineer is building. */
export function Placeholder({ title }: { title: string }) {
  const { t } = useTranslation();
  return (
    <Stack gap="md">
      <PageHeading title={title}>{title}</PageHeading>
      <Alert color="gray" variant="light">
        {t('placeholder')}
      </Alert>
    </Stack>
  );
}
