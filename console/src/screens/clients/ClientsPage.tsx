// Clients: fuzzy search over name, email, phone and tax id, with status and kind filters.
import { useEffect, useMemo, useState } from 'react';
import { Anchor, Button, Checkbox, CloseButton, Group, Select, Stack, Table, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { Link, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { PageHeading } from '../../components/PageHeading';
import { PagedTable } from '../../components/PagedTable';
import { ClientStatusBadge } from './badges';
import { ClientFormDialog } from './ClientFormDialog';
import { CLIENT_SORTS, CLIENTS_PAGE_SIZE, readClientFilters, toClientQuery, writeClientFilters, type ClientFilters, type ClientSort } from './filters';
import { useClient, useClients } from './queries';
import { CLIENT_KINDS, CLIENT_STATUSES, type ClientKind, type ClientStatus } from './records';

export default function ClientsPage() {
  const { t } = useTranslation('clients');
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => readClientFilters(params), [params]);
  const query = useClients(toClientQuery(filters));
  const parent = useClient(filters.parent);
  const [creating, setCreating] = useState(false);

  // the search box answers as one types, without a request per keystroke
  const [text, setText] = useState(filters.q);
  const [debounced] = useDebouncedValue(text, 300);
  useEffect(() => {
    if (debounced.trim() !== filters.q) setParams(writeClientFilters({ ...filters, q: debounced, page: 1 }), { replace: true });
    // only the typed text drives this
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [debounced]);

  const set = (patch: Partial<ClientFilters>) => setParams(writeClientFilters({ ...filters, page: 1, ...patch }));
  const title = t('title');

  return (
    <Stack gap="md">
      <Group justify="space-between" align="flex-end">
        <PageHeading title={title}>{title}</PageHeading>
        <Button onClick={() => setCreating(true)}>{t('create')}</Button>
      </Group>

      <Group gap="sm" align="flex-end" wrap="wrap" role="search" aria-label={t('filters.label')}>
        <TextInput
          type="search"
          label={t('filters.search')}
          description={t('filters.searchHint')}
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          maxLength={200}
          w={320}
          data-testid="client-search"
        />
        <Select
          label={t('filters.status')}
          data={CLIENT_STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))}
          value={filters.status}
          onChange={(v) => set({ status: v as ClientStatus | null })}
          placeholder={t('filters.any')}
          clearable
          w={180}
        />
        <Select
          label={t('filters.kind')}
          data={CLIENT_KINDS.map((k) => ({ value: k, label: t(`kind.${k}`) }))}
          value={filters.kind}
          onChange={(v) => set({ kind: v as ClientKind | null })}
          placeholder={t('filters.any')}
          clearable
          w={180}
        />
        <Select
          label={t('filters.sort')}
          data={CLIENT_SORTS.map((s) => ({ value: s, label: t(`sort.${s}`) }))}
          value={filters.sort}
          onChange={(v) => set({ sort: (v ?? 'best') as ClientSort })}
          allowDeselect={false}
          w={200}
        />
        <Checkbox label={t('filters.archived')} checked={filters.archived} onChange={(e) => set({ archived: e.currentTarget.checked })} mb={8} />
      </Group>

      {filters.parent && (
        <Group gap={4}>
          <Text size="sm">{t('filters.parentChip', { name: parent.data?.name ?? t('filters.thisClient') })}</Text>
          <CloseButton size="sm" aria-label={t('filters.clearParent')} onClick={() => set({ parent: null })} />
        </Group>
      )}

      <PagedTable
        query={query}
        testId="clients"
        empty={filters.q ? t('noMatch', { q: filters.q }) : t('empty')}
        minWidth={800}
        headers={[t('columns.name'), t('columns.status'), t('columns.kind'), t('columns.taxId'), t('columns.email'), t('columns.phone'), t('columns.activeContracts')]}
        row={(c) => (
          <Table.Tr key={c.id} data-testid={`client-${c.id}`}>
            <Table.Td>
              <Anchor component={Link} to={`/clients/${c.id}`}>
                {c.name}
              </Anchor>
              {c.archived && (
                <Text size="xs" c="dimmed">
                  {t('archived')}
                </Text>
              )}
            </Table.Td>
            <Table.Td>
              <ClientStatusBadge status={c.status} />
            </Table.Td>
            <Table.Td>{t(`kind.${c.kind}`)}</Table.Td>
            <Table.Td style={{ whiteSpace: 'nowrap' }}>{c.tax_id ? (c.country ? t('taxIdWithCountry', { taxId: c.tax_id, country: c.country }) : c.tax_id) : '—'}</Table.Td>
            <Table.Td>{c.email ?? '—'}</Table.Td>
            <Table.Td style={{ whiteSpace: 'nowrap' }}>{c.phone ?? '—'}</Table.Td>
            <Table.Td>{c.active_contracts}</Table.Td>
          </Table.Tr>
        )}
        page={filters.page}
        pageSize={CLIENTS_PAGE_SIZE}
        onPage={(p) => setParams(writeClientFilters({ ...filters, page: p }))}
        pagerLabel={t('paging')}
      />

      {creating && <ClientFormDialog opened onClose={() => setCreating(false)} />}
    </Stack>
  );
}
