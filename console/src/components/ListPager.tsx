import { Group, Pagination, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { useLang } from '../i18n/useLang';
import { formatNumber } from '../lib/format';

/** "1–25 of 313" and the page buttons, in a labelled navigation region. */
export function ListPager({
  total,
  page,
  pageSize,
  onChange,
  label,
}: {
  total: number;
  page: number;
  pageSize: number;
  onChange: (page: number) => void;
  label: string;
}) {
  const { t } = useTranslation();
  const lang = useLang();
  if (total === 0) return null;
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const from = (page - 1) * pageSize + 1;
  const to = Math.min(total, page * pageSize);
  const controls = { first: 'paging.first', previous: 'paging.previous', next: 'paging.next', last: 'paging.last' } as const;
  return (
    <Group justify="space-between" wrap="wrap" component="nav" aria-label={label}>
      <Text size="sm" c="dimmed" aria-live="polite">
        {t('paging.summary', { from: formatNumber(from, lang), to: formatNumber(to, lang), total: formatNumber(total, lang) })}
      </Text>
      {pages > 1 && (
        <Pagination
          total={pages}
          value={Math.min(page, pages)}
          onChange={onChange}
          size="sm"
          withEdges
          getItemProps={(p) => ({ 'aria-label': t('paging.page', { page: p }), 'aria-current': p === page ? 'page' : undefined })}
          getControlProps={(c) => ({ 'aria-label': t(controls[c]) })}
        />
      )}
    </Group>
  );
}
