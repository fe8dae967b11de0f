import { Alert } from '@mantine/core';
import { useTranslation } from 'react-i18next';

/** A part of a composed answer that did not come: not an error, just not here right now. */
export function Unavailable({ what }: { what: string }) {
  const { t } = useTranslation();
  return (
    <Alert color="gray" variant="light" title={t('unavailable.title', { what })}>
      {t('unavailable.body')}
    </Alert>
  );
}
