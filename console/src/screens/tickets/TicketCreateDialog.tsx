// Opening a manual ticket. Without an assignee the platform routes it to the least-loaded member.
import { Button, Group, Modal, Select, SimpleGrid, Stack, Text, TextInput, Textarea } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useCurrentUser } from '../../auth/context';
import { athensLocalToISO } from '../../lib/athensTime';
import { ClientPicker } from '../clients/ClientPicker';
import { TASK_PRIORITIES, type TaskCreate, type TaskPriority } from '../clients/records';
import { useDepartmentDirectory, useDepartmentMembers } from './directory';
import { createTask, taskChanged } from './queries';
import { FormProblemAlert, useFormProblem } from '../../components/ui';

const FIELDS = ['title', 'description', 'department_id', 'assignee_id', 'priority', 'due_at', 'client_id', 'opportunity_id', 'stage_key'] as const;

interface Values {
  title: string;
  description: string;
  department_id: string | null;
  assignee_id: string | null;
  priority: TaskPriority;
  due_at: string;
  client_id: string | null;
}

export function TicketCreateDialog({
  opened,
  onClose,
  clientId,
  dealId,
}: {
  opened: boolean;
  onClose: () => void;
  clientId?: string | null;
  dealId?: string | null;
}) {
  const { t } = useTranslation('tickets');
  const user = useCurrentUser();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const { departments } = useDepartmentDirectory();
  const { problem, setProblem, handle } = useFormProblem(FIELDS);
  const canPickDepartment = user.role !== 'Employee';

  const form = useForm<Values>({
    mode: 'controlled',
    initialValues: {
      title: '',
      description: '',
      department_id: user.department_id ?? null,
      assignee_id: null,
      priority: 'normal',
      due_at: '',
      client_id: clientId ?? null,
    },
    validate: {
      title: (v) => (v.trim() ? null : t('create.titleRequired')),
      department_id: (v) => (v ? null : t('create.departmentRequired')),
      due_at: (v) => {
        if (!v) return null;
        const iso = athensLocalToISO(v);
        if (!iso) return t('create.dueInvalid');
        return Date.parse(iso) <= Date.now() ? t('create.duePast') : null;
      },
    },
  });
  const members = useDepartmentMembers(form.values.department_id);

  const mutation = useMutation({
    mutationFn: (body: TaskCreate) => createTask(body),
    meta: { handlesErrors: true },
    onSuccess: (task) => {
      taskChanged(queryClient, task);
      form.reset();
      onClose();
      navigate(`/tickets/${task.id}`);
    },
    onError: (e) => handle(e, form),
  });

  const submit = form.onSubmit((v) => {
    setProblem(null);
    const body: TaskCreate = { title: v.title.trim(), priority: v.priority };
    if (v.description.trim()) body.description = v.description.trim();
    if (v.department_id) body.department_id = v.department_id;
    if (v.assignee_id) body.assignee_id = v.assignee_id;
    if (v.due_at) body.due_at = athensLocalToISO(v.due_at);
    if (v.client_id) body.client_id = v.client_id;
    if (dealId) body.opportunity_id = dealId;
    mutation.mutate(body);
  });

  const close = () => {
    setProblem(null);
    onClose();
  };

  return (
    <Modal opened={opened} onClose={close} title={t('create.title')} size="lg">
      <form onSubmit={(e) => void submit(e)} noValidate aria-label={t('create.title')}>
        <Stack gap="sm">
          <Text size="sm">{t('create.intro')}</Text>
          <FormProblemAlert problem={problem} testId="ticket-create-error" />
          <TextInput label={t('create.fieldTitle')} required maxLength={300} data-autofocus {...form.getInputProps('title')} />
          <Textarea label={t('create.description')} autosize minRows={3} maxLength={10000} {...form.getInputProps('description')} />
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <Select
              label={t('create.department')}
              description={canPickDepartment ? undefined : t('create.ownDepartment')}
              required
              disabled={!canPickDepartment}
              searchable
              data={departments.map((d) => ({ value: d.id, label: d.name }))}
              {...form.getInputProps('department_id')}
              onChange={(v) => {
                form.setFieldValue('department_id', v);
                form.setFieldValue('assignee_id', null);
              }}
            />
            <Select
              label={t('create.assignee')}
              placeholder={t('create.assigneeRouted')}
              description={t('create.assigneeHint')}
              searchable
              clearable
              disabled={!form.values.department_id}
              data={(members.data ?? []).map((u) => ({ value: u.id, label: u.name }))}
              {...form.getInputProps('assignee_id')}
            />
            <Select
              label={t('create.priority')}
              required
              allowDeselect={false}
              data={TASK_PRIORITIES.map((p) => ({ value: p, label: t(`priority.${p}`) }))}
              {...form.getInputProps('priority')}
            />
            <TextInput label={t('create.due')} description={t('create.dueHint')} type="datetime-local" {...form.getInputProps('due_at')} />
          </SimpleGrid>
          <ClientPicker
            label={t('create.client')}
            value={form.values.client_id}
            onChange={(v) => form.setFieldValue('client_id', v)}
            error={form.errors.client_id as string | undefined}
          />
          <Group justify="flex-end" gap="sm" mt="sm">
            <Button variant="default" onClick={close}>
              {t('common:actions.cancel')}
            </Button>
            <Button type="submit" loading={mutation.isPending}>
              {t('create.submit')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
