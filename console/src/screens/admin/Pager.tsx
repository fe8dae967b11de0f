import { Group, Pagination, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';

/** "1–25 of 112" and the page buttons, in a labelled nav. */
export function Pager({ offset, count, total, pageSize, onPage }: { offset: number; count: number; total: number; pageSize: number; onPage: (offset: number) => void }) {
  const { t } = useTranslation('admin');
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const page = Math.floor(offset / pageSize) + 1;
  return (
    <Group justify="space-between">
      <Text size="sm">{total ? t('common:paging.summary', { from: offset + 1, to: offset + count, total }) : ''}</Text>
      {pages > 1 && (
        <nav aria-label={t('common:paging.label')}>
          <Pagination
            total={pages}
            value={Math.min(page, pages)}
            onChange={(p) => onPage((p - 1) * pageSize)}
            getControlProps={(control) => ({ 'aria-label': t(`paging.${control}`) })}
            getItemProps={(p) => ({ 'aria-label': t('paging.page', { page: p }), ...(p === page ? { 'aria-current': 'page' } : {}) })}
          />
        </nav>
      )}
    </Group>
  );
}
