// Insurance lines: name, primary specialist (who owns a new deal of the line), department.
import { useMemo, useState } from 'react';
import { Button, Group, Modal, Select, Stack, Table, TextInput, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { Loading } from '../../components/Loading';
import { ProblemAlert } from '../../components/ProblemAlert';
import { useLines } from '../board/queries';
import { invalidateLines, nameMap, useAllDepartments, useAllUsers } from './api';
import { changedFields, optionsOf, RefusalAlert, useModalProps, useRefusal } from './forms';
import type { Line } from './types';
import { toast } from '../notifications/toast';

const FIELDS = ['name', 'specialist_id', 'department_id'] as const;

interface LineValues {
  name: string;
  specialist_id: string | null;
  department_id: string | null;
}

function LineDialog({ line, onClose }: { line: Line | null; onClose: () => void }) {
  const { t } = useTranslation('admin');
  const modalProps = useModalProps();
  const queryClient = useQueryClient();
  const users = useAllUsers();
  const departments = useAllDepartments();
  const { refusal, setRefusal, handle } = useRefusal(FIELDS);
  const form = useForm<LineValues>({
    mode: 'controlled',
    initialValues: { name: line?.name ?? '', specialist_id: line?.specialist_id ?? null, department_id: line?.department_id ?? null },
    validate: { name: (v) => (v.trim() ? null : t('lines.nameRequired')) },
  });
  const mutation = useMutation({
    mutationFn: async (v: LineValues) => {
      const values = { ...v, name: v.name.trim() };
      if (!line) return unwrap(api.POST('/api/v1/lines', { body: values }));
      const body = changedFields({ name: line.name, specialist_id: line.specialist_id, department_id: line.department_id }, values);
      if (!Object.keys(body).length) return line;
      return unwrap(api.PATCH('/api/v1/lines/{line_id}', { params: { path: { line_id: line.id } }, body }));
    },
    meta: { handlesErrors: true },
    onSuccess: (l) => {
      invalidateLines(queryClient);
      toast(line ? t('lines.saved', { name: l.name }) : t('lines.created', { name: l.name }));
      onClose();
    },
    onError: (e) => handle(e, form.setErrors),
  });
  return (
    <Modal {...modalProps} opened onClose={onClose} title={line ? t('lines.editTitle', { name: line.name }) : t('lines.createTitle')}>
      <form
        noValidate
        onSubmit={form.onSubmit((v) => {
          setRefusal(null);
          mutation.mutate(v);
        })}
      >
        <Stack gap="sm">
          <RefusalAlert refusal={refusal} />
          <TextInput label={t('lines.name')} required maxLength={100} data-autofocus {...form.getInputProps('name')} />
          <Select
            label={t('lines.specialist')}
            description={t('lines.specialistHint')}
            placeholder={t('lines.noSpecialist')}
            clearable
            searchable
            data={optionsOf(users.data, (u) => u.active, line?.specialist_id)}
            nothingFoundMessage={t('nothingFound')}
            {...form.getInputProps('specialist_id')}
          />
          <Select
            label={t('lines.department')}
            description={t('lines.departmentHint')}
            placeholder={t('lines.noDepartment')}
            clearable
            searchable
            data={optionsOf(departments.data)}
            nothingFoundMessage={t('nothingFound')}
            {...form.getInputProps('department_id')}
          />
          <Group justify="flex-end" gap="sm" mt="sm">
            <Button variant="default" onClick={onClose}>
              {t('common:actions.cancel')}
            </Button>
            <Button type="submit" loading={mutation.isPending}>
              {line ? t('common:actions.save') : t('lines.create')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

export default function LinesSection() {
  const { t, i18n } = useTranslation('admin');
  const lines = useLines();
  const users = useAllUsers();
  const departments = useAllDepartments();
  const userNames = useMemo(() => nameMap(users.data), [users.data]);
  const departmentNames = useMemo(() => nameMap(departments.data), [departments.data]);
  const [dialog, setDialog] = useState<{ line: Line | null } | null>(null);
  const sorted = useMemo(() => {
    const collator = new Intl.Collator(i18n.language, { sensitivity: 'base' });
    return [...(lines.data ?? [])].sort((a, b) => collator.compare(a.name, b.name));
  }, [lines.data, i18n.language]);

  return (
    <Stack gap="md">
      <Group justify="space-between" align="flex-end">
        <Title order={2} size="h3">
          {t('sections.lines')}
        </Title>
        <Button onClick={() => setDialog({ line: null })}>{t('lines.add')}</Button>
      </Group>
      {lines.isPending ? (
        <Loading />
      ) : lines.isError ? (
        <ProblemAlert error={lines.error} />
      ) : (
        <Table striped highlightOnHover data-testid="lines-table">
          <Table.Caption>{t('lines.caption')}</Table.Caption>
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">{t('lines.name')}</Table.Th>
              <Table.Th scope="col">{t('lines.specialist')}</Table.Th>
              <Table.Th scope="col">{t('lines.department')}</Table.Th>
              <Table.Th scope="col">{t('actions')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {sorted.map((l) => (
              <Table.Tr key={l.id} data-testid={`line-${l.id}`}>
                <Table.Th scope="row" fw={500} style={{ overflowWrap: 'anywhere' }}>
                  {l.name || '—'}
                </Table.Th>
                <Table.Td>{l.specialist_id ? (userNames.get(l.specialist_id) ?? '…') : t('lines.noSpecialist')}</Table.Td>
                <Table.Td>{l.department_id ? (departmentNames.get(l.department_id) ?? '…') : t('lines.noDepartment')}</Table.Td>
                <Table.Td>
                  <Button size="compact-sm" variant="default" onClick={() => setDialog({ line: l })} aria-label={t('lines.editFor', { name: l.name })}>
                    {t('edit')}
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {dialog && <LineDialog key={dialog.line?.id ?? 'new'} line={dialog.line} onClose={() => setDialog(null)} />}
    </Stack>
  );
}
