import { Alert, List } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { errorMessage } from '../lib/problem';

/** An error as a plain sentence (plus any field messages no form field shows). */
export function ProblemAlert({ error, extra, title }: { error: unknown; extra?: string[]; title?: string }) {
  const { t } = useTranslation();
  const m = errorMessage(error);
  return (
    <Alert color="red" variant="light" role="alert" title={title ?? t('errors.title')} style={{ '--alert-color': 'var(--mantine-color-red-9)' }}>
      {t(m.key, m.values)}
      {extra && extra.length > 0 && (
        <List size="sm" mt="xs">
          {extra.map((e) => (
            <List.Item key={e}>{e}</List.Item>
          ))}
        </List>
      )}
    </Alert>
  );
}
