// Contracts: every contract the caller may see, newest first, filtered from the address.
import { useMemo } from 'react';
import { Anchor, CloseButton, Group, Select, Stack, Table, Text } from '@mantine/core';
import { Link, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useCurrentUser } from '../../auth/context';
import { PageHeading } from '../../components/PageHeading';
import { useLang } from '../../i18n/useLang';
import { formatDate, formatMoney } from '../../lib/format';
import { CONTRACT_STATUSES, type ContractStatus } from '../clients/records';
import { useClient, useClientNames } from '../clients/queries';
import { usePeople } from '../../api/people';
import { useUserDirectory } from '../tickets/directory';
import { PagedTable } from '../../components/PagedTable';
import { ContractStatusBadge } from './badges';
import { CONTRACT_SORTS, CONTRACTS_PAGE_SIZE, readContractFilters, toContractQuery, writeContractFilters, type ContractFilters, type ContractSort } from './filters';
import { useContracts } from './queries';

export default function ContractsPage() {
  const { t } = useTranslation('contracts');
  const lang = useLang();
  const user = useCurrentUser();
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => readContractFilters(params), [params]);
  const query = useContracts(toContractQuery(filters, user.id));
  const { byId: users, users: userList } = useUserDirectory();
  const client = useClient(filters.client);
  const clientNames = useClientNames((query.data?.items ?? []).map((c) => c.client_id));
  // specialists outside the caller's directory (other departments)
  const people = usePeople([...(query.data?.items ?? []).map((c) => c.specialist_id), filters.specialist]);
  const userName = (id: string) => (id === user.id ? user.name : (users.get(id)?.name ?? people.get(id)?.name ?? t('tickets:unknownUser')));

  const set = (patch: Partial<ContractFilters>) => setParams(writeContractFilters({ ...filters, page: 1, ...patch }));
  const specialistOptions = [{ value: 'me', label: t('filters.me') }, ...userList.filter((u) => u.active && u.id !== user.id).map((u) => ({ value: u.id, label: u.name }))];
  if (filters.specialist && !specialistOptions.some((o) => o.value === filters.specialist)) {
    specialistOptions.push({ value: filters.specialist, label: userName(filters.specialist) });
  }

  const title = t('title');
  return (
    <Stack gap="md">
      <PageHeading title={title}>{title}</PageHeading>

      <Group gap="sm" align="flex-end" wrap="wrap" role="search" aria-label={t('filters.label')}>
        <Select
          label={t('filters.status')}
          data={CONTRACT_STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))}
          value={filters.status}
          onChange={(v) => set({ status: v as ContractStatus | null })}
          placeholder={t('filters.any')}
          clearable
          w={220}
        />
        <Select
          label={t('filters.specialist')}
          data={specialistOptions}
          value={filters.specialist}
          onChange={(v) => set({ specialist: v })}
          placeholder={t('filters.anyone')}
          searchable
          clearable
          w={220}
        />
        <Select
          label={t('filters.sort')}
          data={CONTRACT_SORTS.map((s) => ({ value: s, label: t(`sort.${s}`) }))}
          value={filters.sort}
          onChange={(v) => set({ sort: (v ?? '-created_at') as ContractSort })}
          allowDeselect={false}
          w={220}
        />
      </Group>

      {(filters.client || filters.deal) && (
        <Group gap="md">
          {filters.client && (
            <Group gap={4}>
              <Text size="sm">{t('filters.clientChip', { name: client.data?.name ?? t('filters.thisClient') })}</Text>
              <CloseButton size="sm" aria-label={t('filters.clearClient')} onClick={() => set({ client: null })} />
            </Group>
          )}
          {filters.deal && (
            <Group gap={4}>
              <Text size="sm">{t('filters.dealChip')}</Text>
              <CloseButton size="sm" aria-label={t('filters.clearDeal')} onClick={() => set({ deal: null })} />
            </Group>
          )}
        </Group>
      )}

      <PagedTable
        query={query}
        testId="contracts"
        empty={t('empty')}
        minWidth={900}
        headers={[t('columns.policy'), t('columns.client'), t('columns.line'), t('columns.status'), t('columns.premium'), t('columns.period'), t('columns.specialist')]}
        row={(c) => (
          <Table.Tr key={c.id} data-testid={`contract-${c.id}`}>
            <Table.Td>
              <Anchor component={Link} to={`/contracts/${c.id}`}>
                {c.policy_number ?? t('noPolicyNumber')}
              </Anchor>
            </Table.Td>
            <Table.Td>
              <Anchor component={Link} to={`/clients/${c.client_id}`}>
                {clientNames.get(c.client_id) ?? t('openClient')}
              </Anchor>
            </Table.Td>
            <Table.Td>{c.line_name ?? '—'}</Table.Td>
            <Table.Td>
              <ContractStatusBadge status={c.status} />
            </Table.Td>
            <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatMoney(c.premium, c.currency, lang)}</Table.Td>
            <Table.Td style={{ whiteSpace: 'nowrap' }}>{t('period', { start: formatDate(c.start_date, lang), end: formatDate(c.end_date, lang) })}</Table.Td>
            <Table.Td>{c.specialist_id ? userName(c.specialist_id) : '—'}</Table.Td>
          </Table.Tr>
        )}
        page={filters.page}
        pageSize={CONTRACTS_PAGE_SIZE}
        onPage={(p) => setParams(writeContractFilters({ ...filters, page: p }))}
        pagerLabel={t('paging')}
      />
    </Stack>
  );
}
