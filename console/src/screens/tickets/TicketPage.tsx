// One ticket: what it is, where it stands against its SLA, who has it and why, its thread.
import { useState } from 'react';
import { Anchor, Button, Grid, Group, Paper, Select, SimpleGrid, Stack, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { Task } from '../../api/types';
import { useCurrentUser } from '../../auth/context';
import { PageHeading } from '../../components/PageHeading';
import { ProblemAlert } from '../../components/ProblemAlert';
import { RecordQuery } from '../../components/RecordQuery';
import { SlaDot } from '../../components/SlaDot';
import { useLang } from '../../i18n/useLang';
import { athensLocalToISO, isoToAthensLocal } from '../../lib/athensTime';
import { formatDateTime, formatHours } from '../../lib/format';
import { errorMessage } from '../../lib/problem';
import { TASK_PRIORITIES, type TaskPriority, type TaskStatus, type TaskUpdate } from '../clients/records';
import { useClient } from '../clients/queries';
import { useDeal } from '../contracts/queries';
import { PriorityBadge, TaskStatusBadge } from './badges';
import { usePeople } from '../../api/people';
import { useDepartmentDirectory, useDepartmentMembers, useStageNames, useUserDirectory } from './directory';
import { allowedStatuses, canMoveDeadline, canReassign, isClosed } from './permissions';
import { reassignTask, taskChanged, updateTask, useTask } from './queries';
import { CommentThread } from './CommentThread';
import { Field, FormProblemAlert, useFormProblem } from '../../components/ui';

export default function TicketPage() {
  const { t } = useTranslation('tickets');
  const { id = '' } = useParams();
  const query = useTask(id);
  return (
    <RecordQuery query={query} what={t('detail.what')}>
      {(task) => <Ticket task={task} />}
    </RecordQuery>
  );
}

function Ticket({ task }: { task: Task }) {
  const { t } = useTranslation('tickets');
  const lang = useLang();
  const user = useCurrentUser();
  const { byId: users } = useUserDirectory();
  const { byId: departments } = useDepartmentDirectory();
  const stages = useStageNames();
  const deal = useDeal(task.opportunity_id);
  const client = useClient(task.client_id);
  const closed = isClosed(task);
  const title = t('detail.heading', { number: task.number, title: task.title });
  const people = usePeople([task.assignee_id, task.escalated_to]);
  const name = (id: string | null) => (id ? (id === user.id ? user.name : (users.get(id)?.name ?? people.get(id)?.name ?? t('unknownUser'))) : t('unassigned'));

  return (
    <Stack gap="md">
      <Anchor component={Link} to="/tickets" size="sm">
        {t('detail.back')}
      </Anchor>
      <PageHeading title={title}>{title}</PageHeading>
      <Group gap="md" wrap="wrap" data-testid="ticket-summary">
        <TaskStatusBadge status={task.status} />
        <PriorityBadge priority={task.priority} />
        {closed ? (
          <Text size="sm">{t('detail.closedAt', { time: formatDateTime(task.closed_at, lang) })}</Text>
        ) : (
          <>
            <SlaDot state={task.sla_state} showLabel />
            <Text size="sm" data-testid="ticket-due">
              {task.due_at ? t('detail.dueAt', { time: formatDateTime(task.due_at, lang) }) : t('detail.noDue')}
            </Text>
          </>
        )}
        {task.escalated_at && (
          <Text size="sm" c="red.9" fw={600}>
            {t('detail.escalatedTo', { name: name(task.escalated_to), time: formatDateTime(task.escalated_at, lang) })}
          </Text>
        )}
      </Group>

      <Grid gutter="lg">
        <Grid.Col span={{ base: 12, md: 7 }}>
          <Stack gap="lg">
            <Paper withBorder p="md" component="section" aria-labelledby="ticket-description">
              <Title order={2} size="h4" id="ticket-description" mb="xs">
                {t('detail.description')}
              </Title>
              <Text style={{ whiteSpace: 'pre-wrap' }}>{task.description || t('detail.noDescription')}</Text>
            </Paper>
            <CommentThread task={task} authorName={name} />
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 5 }}>
          <Stack gap="lg">
            <ChangeStatus task={task} />
            <Paper withBorder p="md" component="section" aria-labelledby="ticket-assignment">
              <Title order={2} size="h4" id="ticket-assignment" mb="xs">
                {t('detail.assignment')}
              </Title>
              <Stack gap="xs" component="dl" m={0}>
                <Field label={t('detail.assignee')}>
                  <span data-testid="ticket-assignee">{name(task.assignee_id)}</span>
                </Field>
                <Field label={t('detail.routingReason')}>
                  <span data-testid="ticket-routing-reason">{task.assignment_reason || '—'}</span>
                </Field>
                <Field label={t('detail.department')}>{task.department_id ? (departments.get(task.department_id)?.name ?? '—') : '—'}</Field>
              </Stack>
              {canReassign(user, task) && <Reassign task={task} />}
            </Paper>
            <Paper withBorder p="md" component="section" aria-labelledby="ticket-details">
              <Title order={2} size="h4" id="ticket-details" mb="xs">
                {t('detail.details')}
              </Title>
              <SimpleGrid cols={2} component="dl" m={0} spacing="sm">
                <Field label={t('detail.deal')}>
                  {task.opportunity_id ? (
                    <Anchor component={Link} to={`/opportunities/${task.opportunity_id}`}>
                      {deal.data?.title ?? t('detail.openDeal')}
                    </Anchor>
                  ) : (
                    '—'
                  )}
                </Field>
                <Field label={t('detail.client')}>
                  {task.client_id ? (
                    <Anchor component={Link} to={`/clients/${task.client_id}`}>
                      {client.data?.name ?? t('detail.openClient')}
                    </Anchor>
                  ) : (
                    '—'
                  )}
                </Field>
                <Field label={t('detail.origin')}>{t(`origin.${task.origin}`)}</Field>
                <Field label={t('detail.stage')}>{task.stage_key ? (stages.get(task.stage_key) ?? task.stage_key) : '—'}</Field>
                <Field label={t('detail.slaWindow')}>{task.sla_hours !== null ? formatHours(task.sla_hours, lang) : '—'}</Field>
                <Field label={t('detail.atRiskAt')}>{formatDateTime(task.at_risk_at, lang)}</Field>
                <Field label={t('detail.created')}>{formatDateTime(task.created_at, lang)}</Field>
                <Field label={t('detail.lastActivity')}>{formatDateTime(task.last_activity_at, lang)}</Field>
              </SimpleGrid>
            </Paper>
          </Stack>
        </Grid.Col>
      </Grid>
    </Stack>
  );
}

function ChangeStatus({ task }: { task: Task }) {
  const { t } = useTranslation('tickets');
  const user = useCurrentUser();
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [due, setDue] = useState(() => isoToAthensLocal(task.due_at));
  const [dueError, setDueError] = useState<string | null>(null);
  const closed = isClosed(task);
  const mutation = useMutation({
    mutationFn: (body: TaskUpdate) => updateTask(task.id, body),
    meta: { handlesErrors: true },
    onMutate: () => {
      setError(null);
      setDueError(null);
    },
    onSuccess: (updated, body) => {
      taskChanged(queryClient, updated);
      setDue(isoToAthensLocal(updated.due_at));
      const key = body.status ? 'statusChanged' : body.priority ? 'priorityChanged' : 'dueChanged';
      notifications.show({
        color: 'green',
        message: t(`detail.${key}`, { status: t(`status.${updated.status}`), priority: t(`priority.${updated.priority}`) }),
      });
    },
    onError: (e) => setError(e),
  });
  const allowed = allowedStatuses(task);
  const saveDue = () => {
    const iso = athensLocalToISO(due);
    if (!iso) return setDueError(t('create.dueInvalid'));
    mutation.mutate({ due_at: iso });
  };
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="ticket-change">
      <Title order={2} size="h4" id="ticket-change" mb="xs">
        {t('detail.change')}
      </Title>
      <Stack gap="sm">
        {error !== null && <ProblemAlert error={error} />}
        <Select
          label={t('detail.status')}
          description={closed ? t('detail.reopenHint') : undefined}
          data={allowed.map((s) => ({ value: s, label: t(`status.${s}`) }))}
          value={task.status}
          allowDeselect={false}
          disabled={mutation.isPending}
          onChange={(v) => v && v !== task.status && mutation.mutate({ status: v as TaskStatus })}
        />
        <Select
          label={t('detail.priority')}
          data={TASK_PRIORITIES.map((p) => ({ value: p, label: t(`priority.${p}`) }))}
          value={task.priority}
          allowDeselect={false}
          disabled={closed || mutation.isPending}
          onChange={(v) => v && v !== task.priority && mutation.mutate({ priority: v as TaskPriority })}
        />
        {canMoveDeadline(user, task) && (
          <Group align="flex-end" gap="xs" wrap="nowrap">
            <TextInput
              label={t('detail.due')}
              description={t('create.dueHint')}
              type="datetime-local"
              value={due}
              onChange={(e) => setDue(e.currentTarget.value)}
              error={dueError}
              style={{ flex: 1 }}
            />
            <Button variant="default" onClick={saveDue} disabled={!due || due === isoToAthensLocal(task.due_at)} loading={mutation.isPending}>
              {t('detail.saveDue')}
            </Button>
          </Group>
        )}
      </Stack>
    </Paper>
  );
}

function Reassign({ task }: { task: Task }) {
  const { t } = useTranslation('tickets');
  const queryClient = useQueryClient();
  const members = useDepartmentMembers(task.department_id);
  const fields = ['assignee_id', 'note'] as const;
  const { problem, setProblem, handle } = useFormProblem(fields);
  const form = useForm<{ assignee_id: string | null; note: string }>({
    mode: 'controlled',
    initialValues: { assignee_id: null, note: '' },
    validate: { assignee_id: (v) => (v ? null : t('reassign.assigneeRequired')) },
  });
  const mutation = useMutation({
    mutationFn: (v: { assignee_id: string; note: string }) => reassignTask(task.id, { assignee_id: v.assignee_id, note: v.note.trim() || null }),
    meta: { handlesErrors: true },
    onSuccess: (updated) => {
      taskChanged(queryClient, updated);
      form.reset();
      notifications.show({ color: 'green', message: t('reassign.done') });
    },
    onError: (e) => handle(e, form),
  });
  const submit = form.onSubmit((v) => {
    setProblem(null);
    if (v.assignee_id) mutation.mutate({ assignee_id: v.assignee_id, note: v.note });
  });
  const options = (members.data ?? []).filter((u) => u.id !== task.assignee_id).map((u) => ({ value: u.id, label: u.name }));
  return (
    <form onSubmit={(e) => void submit(e)} noValidate aria-label={t('reassign.title')}>
      <Stack gap="xs" mt="md">
        <Text fw={600} size="sm">
          {t('reassign.title')}
        </Text>
        {members.isError && <Text size="sm">{t(errorMessage(members.error).key, errorMessage(members.error).values)}</Text>}
        <FormProblemAlert problem={problem} />
        <Select
          label={t('reassign.assignee')}
          placeholder={t('reassign.choose')}
          searchable
          data={options}
          nothingFoundMessage={t('reassign.nobody')}
          {...form.getInputProps('assignee_id')}
        />
        <Textarea label={t('reassign.note')} autosize minRows={2} maxLength={1000} {...form.getInputProps('note')} />
        <Group justify="flex-end">
          <Button type="submit" loading={mutation.isPending}>
            {t('reassign.submit')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

