import { Anchor, Badge, Group, Select, Stack, Table, Text } from '@mantine/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import type { Opportunity } from '../../api/types';
import { Loading } from '../../components/Loading';
import { PageHeading } from '../../components/PageHeading';
import { ProblemAlert } from '../../components/ProblemAlert';
import { SlaDot } from '../../components/SlaDot';
import { useLang } from '../../i18n/useLang';
import { formatDateTime, formatDuration, formatMoney, secondsSince } from '../../lib/format';
import { useNow } from '../../lib/useNow';
import { OK_GREEN } from '../../theme';
import { useActiveUsers, useDepartments, useLines, useStages } from '../board/queries';
import { dealKeys } from './dealApi';
import { ListPager } from '../../components/ListPager';
import { PAGE_SIZE, SLA_STATES, SORTS, STATUSES, pageOf, toListQuery, withParam } from './listParams';

export function StatusBadge({ status }: { status: Opportunity['status'] }) {
  const { t } = useTranslation();
  const color = status === 'won' ? OK_GREEN : status === 'lost' ? 'gray.8' : 'blue.8';
  return (
    <Badge color={color} variant="outline" style={{ flexShrink: 0, overflow: 'visible' }} miw="fit-content">
      {t(`status.${status}`)}
    </Badge>
  );
}

export default function OpportunitiesPage() {
  const { t } = useTranslation('opportunities');
  const lang = useLang();
  const now = useNow();
  const [params, setParams] = useSearchParams();
  const query = toListQuery(params);
  const list = useQuery({
    queryKey: [...dealKeys.list, query],
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/opportunities', { params: { query }, signal })),
    placeholderData: keepPreviousData,
  });
  const stages = useStages();
  const lines = useLines();
  const users = useActiveUsers();
  const departments = useDepartments();
  const names = new Map((users.data?.items ?? []).map((u) => [u.id, u.name]));

  const set = (name: string, value: string | null) => setParams(withParam(params, name, value), { replace: name !== 'page' });
  const page = pageOf(query);
  const total = list.data?.total ?? 0;
  const title = t('list.title');

  const filter = (name: string, label: string, data: { value: string; label: string }[], width = 200) => (
    <Select label={label} placeholder={t('list.any')} data={data} value={params.get(name)} onChange={(v) => set(name, v)} searchable clearable w={width} />
  );

  return (
    <Stack gap="md">
      <PageHeading title={title}>{title}</PageHeading>
      <Group gap="sm" align="flex-end" role="search" aria-label={t('list.filters')}>
        {filter('stage', t('list.stage'), (stages.data ?? []).map((s) => ({ value: s.key, label: s.name })))}
        {filter('line', t('list.line'), (lines.data ?? []).map((l) => ({ value: l.id, label: l.name })), 180)}
        {filter('owner', t('list.owner'), (users.data?.items ?? []).map((u) => ({ value: u.id, label: u.name })))}
        {filter('department', t('list.department'), (departments.data?.items ?? []).map((d) => ({ value: d.id, label: d.name })))}
        {filter('status', t('list.status'), STATUSES.map((s) => ({ value: s, label: t(`common:status.${s}`) })), 140)}
        {filter('sla', t('list.sla'), SLA_STATES.map((s) => ({ value: s, label: t(`common:sla.${s}`) })), 150)}
        <Select
          label={t('list.sort')}
          data={SORTS.map((s) => ({ value: s, label: t(`list.sorts.${s}`) }))}
          value={query.sort ?? null}
          onChange={(v) => set('sort', v)}
          allowDeselect={false}
          w={210}
        />
      </Group>
      {list.isError ? (
        <ProblemAlert error={list.error} />
      ) : list.isPending ? (
        <Loading />
      ) : (
        <>
          {total === 0 && (
            <Text size="sm" role="status" data-testid="opportunities-summary">
              {t('list.none')}
            </Text>
          )}
          {total > 0 && (
            <Table.ScrollContainer minWidth={900}>
              <Table striped highlightOnHover verticalSpacing="xs" data-testid="opportunities-table">
                <caption className="visually-hidden">{title}</caption>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>{t('list.deal')}</Table.Th>
                    <Table.Th>{t('list.line')}</Table.Th>
                    <Table.Th>{t('list.stage')}</Table.Th>
                    <Table.Th>{t('list.sla')}</Table.Th>
                    <Table.Th>{t('list.owner')}</Table.Th>
                    <Table.Th ta="right">{t('list.premium')}</Table.Th>
                    <Table.Th>{t('list.status')}</Table.Th>
                    <Table.Th>{t('list.updated')}</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {list.data.items.map((d) => (
                    <Table.Tr key={d.id} data-testid={`opportunity-${d.id}`}>
                      <Table.Td>
                        <Anchor component={Link} to={`/opportunities/${d.id}`} size="sm" fw={600}>
                          {d.title}
                        </Anchor>
                        <Text size="xs">{d.client_name ?? '—'}</Text>
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm">{d.line_name}</Text>
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm">{d.stage.name}</Text>
                        {d.status === 'open' && (
                          <Text size="xs">{t('list.inStage', { duration: formatDuration(secondsSince(d.stage_entered_at, now), lang) })}</Text>
                        )}
                      </Table.Td>
                      <Table.Td style={{ whiteSpace: 'nowrap' }}>{d.sla_state ? <SlaDot state={d.sla_state} showLabel /> : <Text size="sm">—</Text>}</Table.Td>
                      <Table.Td>
                        <Text size="sm">{d.owner_name ?? names.get(d.owner_id) ?? '—'}</Text>
                      </Table.Td>
                      <Table.Td ta="right">
                        <Text size="sm">{formatMoney(d.expected_premium, d.currency, lang)}</Text>
                      </Table.Td>
                      <Table.Td style={{ whiteSpace: 'nowrap' }}>
                        <StatusBadge status={d.status} />
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm">{formatDateTime(d.updated_at, lang)}</Text>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
          <ListPager total={total} page={page} pageSize={PAGE_SIZE} onChange={(p) => set('page', String(p))} label={t('common:paging.label')} />
        </>
      )}
    </Stack>
  );
}
