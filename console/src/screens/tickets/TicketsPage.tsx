// Tickets: every task the caller may see, at-risk first by default, filtered from the address.
import { useMemo, useState } from 'react';
import { Anchor, Button, Checkbox, CloseButton, Group, MultiSelect, Select, Stack, Table, Text } from '@mantine/core';
import { Link, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { SlaState } from '../../api/types';
import { PageHeading } from '../../components/PageHeading';
import { SlaDot } from '../../components/SlaDot';
import { useLang } from '../../i18n/useLang';
import { formatDateTime } from '../../lib/format';
import { TASK_PRIORITIES, TASK_STATUSES, type TaskPriority, type TaskStatus } from '../clients/records';
import { useClient } from '../clients/queries';
import { usePeople } from '../../api/people';
import { useDepartmentDirectory, useUserDirectory } from './directory';
import { readFilters, SLA_STATES, TICKET_SORTS, TICKETS_PAGE_SIZE, toTaskQuery, writeFilters, type TicketFilters, type TicketSort } from './filters';
import { useTasks } from './queries';
import { TicketCreateDialog } from './TicketCreateDialog';
import { PriorityBadge, TaskStatusBadge } from './badges';
import { PagedTable } from '../../components/PagedTable';

export default function TicketsPage() {
  const { t } = useTranslation('tickets');
  const lang = useLang();
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => readFilters(params), [params]);
  const query = useTasks(toTaskQuery(filters));
  const { byId: users, users: userList } = useUserDirectory();
  const { byId: departments, departments: departmentList } = useDepartmentDirectory();
  const client = useClient(filters.client);
  // names of assignees outside the caller's directory (other departments)
  const people = usePeople([...(query.data?.items ?? []).map((task) => task.assignee_id), filters.assignee]);
  const userName = (id: string) => users.get(id)?.name ?? people.get(id)?.name ?? t('unknownUser');
  const [creating, setCreating] = useState(false);

  const set = (patch: Partial<TicketFilters>) => setParams(writeFilters({ ...filters, page: 1, ...patch }));

  const assigneeOptions = [
    { value: 'me', label: t('filters.assigneeMe') },
    { value: 'none', label: t('filters.assigneeNone') },
    ...userList
      .filter((u) => u.active && (!filters.department || u.department_id === filters.department))
      .map((u) => ({ value: u.id, label: u.name })),
  ];
  if (filters.assignee && !assigneeOptions.some((o) => o.value === filters.assignee)) {
    assigneeOptions.push({ value: filters.assignee, label: userName(filters.assignee) });
  }

  const title = t('title');
  return (
    <Stack gap="md">
      <Group justify="space-between" align="flex-end">
        <PageHeading title={title}>{title}</PageHeading>
        <Button onClick={() => setCreating(true)}>{t('create.open')}</Button>
      </Group>

      <Group gap="sm" align="flex-end" wrap="wrap" role="search" aria-label={t('filters.label')}>
        <MultiSelect
          label={t('filters.status')}
          data={TASK_STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))}
          value={filters.statuses}
          onChange={(v) => set({ statuses: v as TaskStatus[] })}
          placeholder={filters.statuses.length ? undefined : t('filters.any')}
          clearable
          w={380}
        />
        <MultiSelect
          label={t('filters.priority')}
          data={TASK_PRIORITIES.map((p) => ({ value: p, label: t(`priority.${p}`) }))}
          value={filters.priorities}
          onChange={(v) => set({ priorities: v as TaskPriority[] })}
          placeholder={filters.priorities.length ? undefined : t('filters.any')}
          clearable
          w={200}
        />
        <MultiSelect
          label={t('filters.sla')}
          data={SLA_STATES.map((s) => ({ value: s, label: t(`common:sla.${s}`) }))}
          value={filters.sla}
          onChange={(v) => set({ sla: v as SlaState[] })}
          placeholder={filters.sla.length ? undefined : t('filters.any')}
          clearable
          w={200}
        />
        <Select
          label={t('filters.assignee')}
          data={assigneeOptions}
          value={filters.assignee}
          onChange={(v) => set({ assignee: v })}
          placeholder={t('filters.anyone')}
          searchable
          clearable
          w={200}
        />
        <Select
          label={t('filters.department')}
          data={departmentList.map((d) => ({ value: d.id, label: d.name }))}
          value={filters.department}
          onChange={(v) => set({ department: v })}
          placeholder={t('filters.anyDepartment')}
          searchable
          clearable
          w={200}
        />
        <Select
          label={t('filters.sort')}
          data={TICKET_SORTS.map((s) => ({ value: s, label: t(`sort.${s}`) }))}
          value={filters.sort}
          onChange={(v) => set({ sort: (v ?? 'risk') as TicketSort })}
          allowDeselect={false}
          w={260}
        />
        <Checkbox label={t('filters.escalated')} checked={filters.escalated} onChange={(e) => set({ escalated: e.currentTarget.checked })} mb={8} />
      </Group>

      {(filters.client || filters.deal) && (
        <Group gap="xs">
          {filters.client && (
            <Group gap={4} wrap="nowrap">
              <Text size="sm">{t('filters.clientChip', { name: client.data?.name ?? t('filters.thisClient') })}</Text>
              <CloseButton size="sm" aria-label={t('filters.clearClient')} onClick={() => set({ client: null })} />
            </Group>
          )}
          {filters.deal && (
            <Group gap={4} wrap="nowrap">
              <Text size="sm">{t('filters.dealChip')}</Text>
              <CloseButton size="sm" aria-label={t('filters.clearDeal')} onClick={() => set({ deal: null })} />
            </Group>
          )}
        </Group>
      )}

      <PagedTable
        query={query}
        testId="tickets"
        empty={t('empty')}
        minWidth={900}
        headers={[t('columns.number'), t('columns.title'), t('columns.sla'), t('columns.due'), t('columns.status'), t('columns.priority'), t('columns.assignee'), t('columns.department')]}
        row={(task) => (
          <Table.Tr key={task.id} data-testid={`task-${task.id}`}>
            <Table.Td>{t('number', { number: task.number })}</Table.Td>
            <Table.Td>
              <Anchor component={Link} to={`/tickets/${task.id}`}>
                {task.title}
              </Anchor>
              {task.escalated_at && (
                <Text size="xs" c="red.9">
                  {t('escalated')}
                </Text>
              )}
            </Table.Td>
            <Table.Td style={{ whiteSpace: 'nowrap' }}>
              <SlaDot state={task.status === 'done' || task.status === 'cancelled' ? null : task.sla_state} showLabel />
            </Table.Td>
            <Table.Td style={{ whiteSpace: 'nowrap' }}>{formatDateTime(task.due_at, lang)}</Table.Td>
            <Table.Td>
              <TaskStatusBadge status={task.status} />
            </Table.Td>
            <Table.Td>
              <PriorityBadge priority={task.priority} />
            </Table.Td>
            <Table.Td>{task.assignee_id ? userName(task.assignee_id) : t('unassigned')}</Table.Td>
            <Table.Td>{task.department_id ? (departments.get(task.department_id)?.name ?? '—') : '—'}</Table.Td>
          </Table.Tr>
        )}
        page={filters.page}
        pageSize={TICKETS_PAGE_SIZE}
        onPage={(p) => setParams(writeFilters({ ...filters, page: p }))}
        pagerLabel={t('paging.label')}
      />

      {creating && <TicketCreateDialog opened onClose={() => setCreating(false)} clientId={filters.client} dealId={filters.deal} />}
    </Stack>
  );
}
