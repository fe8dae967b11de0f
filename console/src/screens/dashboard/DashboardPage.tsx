import { Alert, Anchor, Badge, Group, Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import type { AdminDashboard, Dashboard, ManagerDashboard, MissingPart, Opportunity, Task, TaskPage, OpportunityPage, Workload } from '../../api/types';
import { Loading } from '../../components/Loading';
import { PageHeading } from '../../components/PageHeading';
import { ProblemAlert } from '../../components/ProblemAlert';
import { SlaDot } from '../../components/SlaDot';
import { Unavailable } from '../../components/Unavailable';
import { useLang } from '../../i18n/useLang';
import { formatDateTime, formatDuration, formatMoney, formatNumber, secondsSince } from '../../lib/format';
import { sortAtRiskFirst } from '../../lib/sla';
import { OK_GREEN } from '../../theme';
import { useNow } from '../../lib/useNow';

function useDashboard() {
  return useQuery({
    queryKey: ['dashboard'],
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/dashboard', { signal })) as Promise<Dashboard>,
    refetchInterval: 60_000,
  });
}

function missingOf(missing: readonly MissingPart[], part: string): MissingPart | undefined {
  return missing.find((m) => m.part === part);
}

function Section({ title, id, children, action }: { title: string; id: string; children: React.ReactNode; action?: React.ReactNode }) {
  return (
    <Paper withBorder p="md" component="section" aria-labelledby={id} data-testid={`dashboard-${id}`}>
      <Group justify="space-between" mb="sm">
        <Title order={2} size="h4" id={id}>
          {title}
        </Title>
        {action}
      </Group>
      {children}
    </Paper>
  );
}

function TaskTable({ page, caption, empty }: { page: TaskPage; caption: string; empty: string }) {
  const { t } = useTranslation('dashboard');
  const lang = useLang();
  const now = useNow();
  const tasks = sortAtRiskFirst(page.items);
  if (tasks.length === 0) return <Text size="sm">{empty}</Text>;
  return (
    <Table.ScrollContainer minWidth={520}>
      <Table striped verticalSpacing="xs">
        <caption className="visually-hidden">{caption}</caption>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('tasks.sla')}</Table.Th>
            <Table.Th>{t('tasks.task')}</Table.Th>
            <Table.Th>{t('tasks.due')}</Table.Th>
            <Table.Th>{t('tasks.priority')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {tasks.map((task: Task) => (
            <Table.Tr key={task.id} data-testid={`dashboard-task-${task.id}`}>
              <Table.Td>
                <SlaDot state={task.sla_state} showLabel />
              </Table.Td>
              <Table.Td>
                <Anchor component={Link} to={`/tickets/${task.id}`} size="sm">
                  {t('tasks.title', { number: task.number, title: task.title })}
                </Anchor>
                {task.escalated_at && Date.parse(task.escalated_at) <= now && (
                  <Badge color="red.8" ml="xs" size="sm">
                    {t('tasks.escalated')}
                  </Badge>
                )}
              </Table.Td>
              <Table.Td>
                <Text size="sm">{formatDateTime(task.due_at, lang)}</Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{t(`priority.${task.priority}`)}</Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function DealTable({ page }: { page: OpportunityPage }) {
  const { t } = useTranslation('dashboard');
  const lang = useLang();
  const now = useNow();
  if (page.items.length === 0) return <Text size="sm">{t('deals.none')}</Text>;
  return (
    <Table.ScrollContainer minWidth={560}>
      <Table striped verticalSpacing="xs">
        <caption className="visually-hidden">{t('deals.title')}</caption>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('deals.deal')}</Table.Th>
            <Table.Th>{t('deals.stage')}</Table.Th>
            <Table.Th>{t('deals.sla')}</Table.Th>
            <Table.Th>{t('deals.premium')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {page.items.map((d: Opportunity) => (
            <Table.Tr key={d.id}>
              <Table.Td>
                <Anchor component={Link} to={`/opportunities/${d.id}`} size="sm">
                  {t('deals.name', { client: d.client_name ?? '', title: d.title })}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{t('deals.inStage', { stage: d.stage.name, duration: formatDuration(secondsSince(d.stage_entered_at, now), lang) })}</Text>
              </Table.Td>
              <Table.Td>
                <SlaDot state={d.sla_state} showLabel />
              </Table.Td>
              <Table.Td>
                <Text size="sm">{formatMoney(d.expected_premium, d.currency, lang)}</Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function MoreLink({ shown, total, to, label }: { shown: number; total: number; to: string; label: string }) {
  const { t } = useTranslation('dashboard');
  return (
    <Group gap="sm">
      <Text size="sm">{t('shownOf', { shown, total })}</Text>
      <Anchor component={Link} to={to} size="sm">
        {label}
      </Anchor>
    </Group>
  );
}

function MyWork({ data }: { data: Dashboard & { my_tasks: TaskPage | null; my_deals: OpportunityPage | null } }) {
  const { t } = useTranslation('dashboard');
  return (
    <>
      <Section
        title={t('tasks.mine')}
        id="my-tasks"
        action={data.my_tasks && <MoreLink shown={data.my_tasks.items.length} total={data.my_tasks.total} to="/tickets?assignee=me" label={t('tasks.all')} />}
      >
        {data.my_tasks ? (
          <TaskTable page={data.my_tasks} caption={t('tasks.mine')} empty={t('tasks.none')} />
        ) : (
          <Unavailable what={t('tasks.mine')} />
        )}
      </Section>
      <Section
        title={t('deals.title')}
        id="my-deals"
        action={data.my_deals && <MoreLink shown={data.my_deals.items.length} total={data.my_deals.total} to={`/opportunities?owner=${data.user.id}`} label={t('deals.all')} />}
      >
        {data.my_deals ? <DealTable page={data.my_deals} /> : <Unavailable what={t('deals.title')} />}
      </Section>
    </>
  );
}

function TeamLoad({ team }: { team: Workload }) {
  const { t } = useTranslation('dashboard');
  const lang = useLang();
  const members = [...team.members].sort((a, b) => b.weighted_load - a.weighted_load);
  return (
    <Stack gap="xs">
      <Text size="sm">{t('team.summary', { department: team.department_name, threshold: team.overload_threshold, unassigned: team.unassigned_open })}</Text>
      <Table.ScrollContainer minWidth={480}>
        <Table striped verticalSpacing="xs">
          <caption className="visually-hidden">{t('team.title')}</caption>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('team.member')}</Table.Th>
              <Table.Th ta="right">{t('team.openTasks')}</Table.Th>
              <Table.Th ta="right">{t('team.load')}</Table.Th>
              <Table.Th>{t('team.state')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {members.map((m) => (
              <Table.Tr key={m.user_id} data-overloaded={m.overloaded || undefined}>
                <Table.Td>
                  <Text size="sm" fw={m.overloaded ? 700 : undefined}>
                    {m.name}
                  </Text>
                </Table.Td>
                <Table.Td ta="right">{formatNumber(m.open_tasks, lang)}</Table.Td>
                <Table.Td ta="right">{formatNumber(m.weighted_load, lang)}</Table.Td>
                <Table.Td>
                  {m.overloaded ? (
                    <Badge color="red.8" variant="filled">
                      {t('team.overloaded')}
                    </Badge>
                  ) : (
                    <Text size="sm">{t('team.ok')}</Text>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </Stack>
  );
}

function ManagerView({ data }: { data: ManagerDashboard }) {
  const { t } = useTranslation('dashboard');
  const overloaded = data.overloaded ?? [];
  return (
    <>
      {overloaded.length > 0 && (
        <Alert color="red" variant="light" title={t('team.overloadedTitle', { count: overloaded.length })} data-testid="overloaded-alert">
          {t('team.overloadedList', { names: overloaded.map((m) => m.name).join(', ') })}
        </Alert>
      )}
      <Section title={t('team.title')} id="team">
        {data.team ? <TeamLoad team={data.team} /> : <Unavailable what={t('team.title')} />}
      </Section>
      <Section
        title={t('escalations.title')}
        id="escalations"
        action={data.escalations && <MoreLink shown={data.escalations.items.length} total={data.escalations.total} to="/tickets?escalated=true" label={t('escalations.all')} />}
      >
        {data.escalations ? (
          <TaskTable page={data.escalations} caption={t('escalations.title')} empty={t('escalations.none')} />
        ) : (
          <Unavailable what={t('escalations.title')} />
        )}
      </Section>
      <MyWork data={data} />
    </>
  );
}

const COUNTS = ['users', 'clients', 'open_deals', 'open_tasks', 'escalated_tasks', 'active_contracts'] as const;

function AdminView({ data }: { data: AdminDashboard }) {
  const { t } = useTranslation('dashboard');
  const lang = useLang();
  const health = data.health;
  return (
    <>
      <Section title={t('health.title')} id="health">
        {health ? (
          <Stack gap="xs">
            <Group gap="xs">
              <Text size="sm">{t('health.overall')}</Text>
              <Badge color={health.status === 'ok' ? OK_GREEN : 'red.8'} variant="filled">
                {t(`health.${health.status}`)}
              </Badge>
            </Group>
            <Table.ScrollContainer minWidth={480}>
              <Table striped verticalSpacing="xs">
                <caption className="visually-hidden">{t('health.title')}</caption>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>{t('health.service')}</Table.Th>
                    <Table.Th>{t('health.status')}</Table.Th>
                    <Table.Th>{t('health.checks')}</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  <Table.Tr>
                    <Table.Td>{t('health.gateway')}</Table.Td>
                    <Table.Td>{health.gateway}</Table.Td>
                    <Table.Td />
                  </Table.Tr>
                  {Object.entries(health.services).map(([name, s]) => {
                    const status = typeof s.status === 'string' ? s.status : '—';
                    const checks = s.checks && typeof s.checks === 'object' ? Object.entries(s.checks as Record<string, unknown>) : [];
                    return (
                      <Table.Tr key={name} data-testid={`health-${name}`}>
                        <Table.Td>{name}</Table.Td>
                        <Table.Td>
                          <Text size="sm" fw={status === 'ok' ? undefined : 700} c={status === 'ok' ? undefined : 'red.9'}>
                            {status}
                          </Text>
                        </Table.Td>
                        <Table.Td>
                          <Text size="xs">{checks.map(([k, v]) => t('health.check', { name: k, value: String(v) })).join(' · ')}</Text>
                        </Table.Td>
                      </Table.Tr>
                    );
                  })}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          </Stack>
        ) : (
          <Unavailable what={t('health.title')} />
        )}
      </Section>
      <Section title={t('counts.title')} id="counts">
        <SimpleGrid cols={{ base: 2, sm: 3 }}>
          {COUNTS.map((k) => {
            const v = data.counts[k];
            const missing = missingOf(data.missing, `counts.${k}`);
            return (
              <Paper key={k} withBorder p="sm" data-testid={`count-${k}`}>
                <Text size="sm">{t(`counts.${k}`)}</Text>
                <Text size="xl" fw={700}>
                  {missing || v === null ? t('counts.unavailable') : formatNumber(v, lang)}
                </Text>
              </Paper>
            );
          })}
        </SimpleGrid>
      </Section>
    </>
  );
}

export default function DashboardPage() {
  const { t } = useTranslation('dashboard');
  const lang = useLang();
  const query = useDashboard();
  const title = t('title');
  const data = query.data;
  return (
    <Stack gap="md">
      <PageHeading title={title}>{title}</PageHeading>
      {query.isPending ? (
        <Loading />
      ) : query.isError ? (
        <ProblemAlert error={query.error} />
      ) : data ? (
        <>
          <Text size="sm">
            {t('greeting', { name: data.user.name, role: t(`common:roles.${data.role}`), time: formatDateTime(data.generated_at, lang) })}
          </Text>
          {!data.complete && (
            <Text size="sm" role="status">
              {t('partial')}
            </Text>
          )}
          {data.role === 'Employee' && <MyWork data={data} />}
          {data.role === 'Manager' && <ManagerView data={data} />}
          {data.role === 'Admin' && <AdminView data={data} />}
        </>
      ) : null}
    </Stack>
  );
}
