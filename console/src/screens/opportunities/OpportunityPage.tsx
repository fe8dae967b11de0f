import { useState } from 'react';
import { usePeople, usePersonName } from '../../api/people';
import { Anchor, Badge, Button, Group, Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import type { Opportunity, Stage } from '../../api/types';
import { PageHeading } from '../../components/PageHeading';
import { ProblemAlert } from '../../components/ProblemAlert';
import { RecordQuery } from '../../components/RecordQuery';
import { SlaDot } from '../../components/SlaDot';
import { Loading } from '../../components/Loading';
import { useLang } from '../../i18n/useLang';
import { formatDate, formatDateTime, formatDuration, formatHours, formatMoney, secondsSince } from '../../lib/format';
import { sortAtRiskFirst } from '../../lib/sla';
import { useNow } from '../../lib/useNow';
import { useActiveUsers, useStages } from '../board/queries';
import { CLIENT_DECISION } from '../board/moves';
import { AcceptDialog, DeclineDialog, MoveBackDialog } from './DealDialogs';
import { advanceDeal, dealKeys, invalidateDeal } from './dealApi';
import { StatusBadge } from './OpportunitiesPage';

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <Text size="xs" fw={600} component="dt">
        {label}
      </Text>
      <Text size="sm" component="dd" m={0}>
        {children}
      </Text>
    </div>
  );
}

function neighbours(stages: readonly Stage[] | undefined, key: string): { prev?: Stage; next?: Stage } {
  if (!stages) return {};
  const i = stages.findIndex((s) => s.key === key);
  return { prev: i > 0 ? stages[i - 1] : undefined, next: i >= 0 ? stages[i + 1] : undefined };
}

function Actions({ deal }: { deal: Opportunity }) {
  const { t } = useTranslation('opportunities');
  const stages = useStages();
  const queryClient = useQueryClient();
  const [dialog, setDialog] = useState<'accept' | 'decline' | 'moveBack' | null>(null);
  const { prev, next } = neighbours(stages.data, deal.stage.key);
  const advance = useMutation({
    mutationFn: () => advanceDeal(deal.id, deal.stage.key),
    onSuccess: (updated) => {
      invalidateDeal(queryClient, deal.id, updated);
      void queryClient.invalidateQueries({ queryKey: ['board'] });
      notifications.show({ color: 'green', message: t('detail.advanced', { stage: updated.stage.name }) });
    },
  });
  if (deal.status !== 'open') return null;
  const atDecision = deal.stage.key === CLIENT_DECISION;
  return (
    <Group gap="sm">
      {atDecision ? (
        <>
          <Button onClick={() => setDialog('accept')}>{t('detail.accept')}</Button>
          <Button variant="outline" color="red.8" onClick={() => setDialog('decline')}>
            {t('detail.decline')}
          </Button>
        </>
      ) : (
        next && (
          <Button onClick={() => advance.mutate()} loading={advance.isPending}>
            {t('detail.advance', { stage: next.name })}
          </Button>
        )
      )}
      {prev && (
        <Button variant="default" onClick={() => setDialog('moveBack')}>
          {t('detail.moveBack', { stage: prev.name })}
        </Button>
      )}
      {dialog === 'accept' && <AcceptDialog deal={deal} opened onClose={() => setDialog(null)} onDeclineInstead={() => setDialog('decline')} />}
      {dialog === 'decline' && <DeclineDialog deal={deal} opened onClose={() => setDialog(null)} />}
      {dialog === 'moveBack' && prev && <MoveBackDialog deal={deal} toStageName={prev.name} opened onClose={() => setDialog(null)} />}
    </Group>
  );
}

function Timeline({ id }: { id: string }) {
  const { t } = useTranslation('opportunities');
  const lang = useLang();
  const users = useActiveUsers();
  const names = new Map((users.data?.items ?? []).map((u) => [u.id, u.name]));
  const q = useQuery({
    queryKey: dealKeys.timeline(id),
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/opportunities/{opportunity_id}/timeline', { params: { path: { opportunity_id: id } }, signal })),
  });
  // actors from other departments too (not in the active users the caller may list)
  const people = usePeople((q.data?.entries ?? []).map((e) => (e.actor.startsWith('user:') ? e.actor.slice(5) : null)));
  if (q.isPending) return <Loading />;
  if (q.isError) return <ProblemAlert error={q.error} />;
  const actor = (a: string) => {
    const [kind, rest] = a.split(':', 2);
    if (kind === 'user' && rest) return names.get(rest) ?? people.get(rest)?.name ?? t('detail.aUser');
    return t('detail.system');
  };
  return (
    <Table.ScrollContainer minWidth={640}>
      <Table striped verticalSpacing="xs" data-testid="timeline">
        <caption className="visually-hidden">{t('detail.timeline')}</caption>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('detail.when')}</Table.Th>
            <Table.Th>{t('detail.move')}</Table.Th>
            <Table.Th>{t('detail.timeSpent')}</Table.Th>
            <Table.Th>{t('detail.by')}</Table.Th>
            <Table.Th>{t('detail.reason')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {q.data.entries.map((e) => (
            <Table.Tr key={e.id}>
              <Table.Td>
                <Text size="sm">{formatDateTime(e.moved_at, lang)}</Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{t(`detail.kinds.${e.kind}`, { from: e.from_stage_name ?? e.from_stage ?? '', to: e.to_stage_name ?? e.to_stage ?? '' })}</Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm">
                  {e.seconds_in_stage === null ? '—' : t('detail.spentIn', { duration: formatDuration(e.seconds_in_stage, lang), stage: e.from_stage_name ?? '' })}
                </Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{actor(e.actor)}</Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{e.reason ?? '—'}</Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function Tasks({ id }: { id: string }) {
  const { t } = useTranslation('opportunities');
  const lang = useLang();
  const users = useActiveUsers();
  const names = new Map((users.data?.items ?? []).map((u) => [u.id, u.name]));
  const q = useQuery({
    queryKey: dealKeys.tasks(id),
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/tasks', { params: { query: { opportunity_id: id, limit: 100, sort: '-created_at' } }, signal })),
  });
  const people = usePeople((q.data?.items ?? []).map((task) => task.assignee_id));
  if (q.isPending) return <Loading />;
  if (q.isError) return <ProblemAlert error={q.error} />;
  if (q.data.items.length === 0) return <Text size="sm">{t('detail.noTasks')}</Text>;
  const open = (s: string) => s !== 'done' && s !== 'cancelled';
  const tasks = [...sortAtRiskFirst(q.data.items.filter((x) => open(x.status))), ...q.data.items.filter((x) => !open(x.status))];
  return (
    <Table.ScrollContainer minWidth={640}>
      <Table striped verticalSpacing="xs" data-testid="deal-tasks">
        <caption className="visually-hidden">{t('detail.tasks')}</caption>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('detail.task')}</Table.Th>
            <Table.Th>{t('detail.taskStatus')}</Table.Th>
            <Table.Th>{t('detail.assignee')}</Table.Th>
            <Table.Th>{t('detail.sla')}</Table.Th>
            <Table.Th>{t('detail.due')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {tasks.map((task) => (
            <Table.Tr key={task.id}>
              <Table.Td>
                <Anchor component={Link} to={`/tickets/${task.id}`} size="sm">
                  {t('detail.taskName', { number: task.number, title: task.title })}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{t(`detail.taskStatuses.${task.status}`)}</Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{task.assignee_id ? (names.get(task.assignee_id) ?? people.get(task.assignee_id)?.name ?? t('detail.aUser')) : t('detail.unassigned')}</Text>
              </Table.Td>
              <Table.Td>{open(task.status) ? <SlaDot state={task.sla_state} showLabel /> : <Text size="sm">—</Text>}</Table.Td>
              <Table.Td>
                <Text size="sm">{formatDateTime(task.due_at, lang)}</Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function Section({ title, id, children }: { title: string; id: string; children: React.ReactNode }) {
  return (
    <Paper withBorder p="md" component="section" aria-labelledby={id}>
      <Title order={2} size="h4" id={id} mb="sm">
        {title}
      </Title>
      {children}
    </Paper>
  );
}

function Deal({ deal }: { deal: Opportunity }) {
  const { t } = useTranslation('opportunities');
  const lang = useLang();
  const now = useNow();
  const users = useActiveUsers();
  const ownerName = usePersonName(deal.owner_name ? null : deal.owner_id);
  const owner = deal.owner_name ?? users.data?.items.find((u) => u.id === deal.owner_id)?.name ?? ownerName ?? '—';
  const title = t('detail.title', { client: deal.client_name ?? '', title: deal.title });
  return (
    <Stack gap="md">
      <Stack gap={6}>
        <Anchor component={Link} to="/opportunities" size="sm">
          {t('detail.back')}
        </Anchor>
        <PageHeading title={title}>{title}</PageHeading>
        <Group gap="sm">
          <StatusBadge status={deal.status} />
          <Badge variant="outline" color="gray.8">
            {deal.stage.name}
          </Badge>
          {deal.status === 'open' && <SlaDot state={deal.sla_state} showLabel />}
        </Group>
      </Stack>
      <Actions deal={deal} />
      <Section title={t('detail.details')} id="deal-details">
        <SimpleGrid cols={{ base: 1, sm: 2, md: 3 }} component="dl" m={0}>
          <Field label={t('detail.client')}>
            <Anchor component={Link} to={`/clients/${deal.client_id}`} size="sm">
              {deal.client_name ?? t('detail.openClient')}
            </Anchor>
          </Field>
          <Field label={t('detail.line')}>{deal.line_name}</Field>
          <Field label={t('detail.owner')}>{owner}</Field>
          <Field label={t('detail.expectedPremium')}>{formatMoney(deal.expected_premium, deal.currency, lang)}</Field>
          <Field label={t('detail.stage')}>
            {deal.status === 'open'
              ? t('detail.stageFor', {
                  stage: deal.stage.name,
                  duration: formatDuration(secondsSince(deal.stage_entered_at, now), lang),
                  target: formatHours(deal.stage.sla_hours, lang),
                })
              : deal.stage.name}
          </Field>
          <Field label={t('detail.created')}>{formatDateTime(deal.created_at, lang)}</Field>
          <Field label={t('detail.updated')}>{formatDateTime(deal.updated_at, lang)}</Field>
          {deal.closed_at && <Field label={t('detail.closed')}>{formatDateTime(deal.closed_at, lang)}</Field>}
          <Field label={t('detail.contract')}>
            {deal.contract_id ? (
              <Anchor component={Link} to={`/contracts/${deal.contract_id}`} size="sm" data-testid="contract-link">
                {t('detail.openContract')}
              </Anchor>
            ) : (
              t('detail.noContract')
            )}
          </Field>
        </SimpleGrid>
        {deal.notes && (
          <Stack gap={2} mt="md">
            <Text size="xs" fw={600}>
              {t('detail.notes')}
            </Text>
            <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
              {deal.notes}
            </Text>
          </Stack>
        )}
      </Section>
      {deal.terms && (
        <Section title={t('detail.terms')} id="deal-terms">
          <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }} component="dl" m={0}>
            <Field label={t('accept.premium')}>{formatMoney(deal.terms.premium, deal.terms.currency, lang)}</Field>
            <Field label={t('accept.insurer')}>{deal.terms.insurer}</Field>
            <Field label={t('accept.startDate')}>{formatDate(deal.terms.start_date, lang)}</Field>
            <Field label={t('accept.endDate')}>{formatDate(deal.terms.end_date, lang)}</Field>
          </SimpleGrid>
        </Section>
      )}
      {deal.decline_reason && (
        <Section title={t('detail.declined')} id="deal-declined">
          <Text size="sm">{deal.decline_reason}</Text>
        </Section>
      )}
      <Section title={t('detail.timeline')} id="deal-timeline">
        <Timeline id={deal.id} />
      </Section>
      <Section title={t('detail.tasks')} id="deal-tasks">
        <Tasks id={deal.id} />
      </Section>
    </Stack>
  );
}

export default function OpportunityPage() {
  const { t } = useTranslation('opportunities');
  const { id = '' } = useParams();
  const query = useQuery({
    queryKey: dealKeys.detail(id),
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/opportunities/{opportunity_id}', { params: { path: { opportunity_id: id } }, signal })),
  });
  return (
    <RecordQuery query={query} what={t('detail.what')}>
      {(deal) => <Deal deal={deal} />}
    </RecordQuery>
  );
}
