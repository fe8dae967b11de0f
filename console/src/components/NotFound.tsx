import { Anchor, Stack, Text } from '@mantine/core';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { PageHeading } from './PageHeading';

/** Unknown routes and records the API answers 404 for (or that are not the caller's to see). */
export function NotFound({ what }: { what?: string }) {
  const { t } = useTranslation();
  const title = t('notFound.title');
  return (
    <Stack gap="md" data-testid="not-found">
      <PageHeading title={title}>{title}</PageHeading>
      <Text>{what ? t('notFound.record', { what }) : t('notFound.body')}</Text>
      <Anchor component={Link} to="/">
        {t('notFound.home')}
      </Anchor>
    </Stack>
  );
}

export function Forbidden() {
  const { t } = useTranslation();
  const title = t('forbidden.title');
  return (
    <Stack gap="md" data-testid="forbidden">
      <PageHeading title={title}>{title}</PageHeading>
      <Text>{t('errors.forbidden')}</Text>
      <Anchor component={Link} to="/">
        {t('notFound.home')}
      </Anchor>
    </Stack>
  );
}
