// Departments: create, rename, choose the manager, delete (an answer of 409 — e.g. it still has
// users — is shown in the dialog).
import { useMemo, useState } from 'react';
import { Button, Group, Modal, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { Loading } from '../../components/Loading';
import { ProblemAlert } from '../../components/ProblemAlert';
import { isApiError } from '../../lib/problem';
import { invalidateDepartments, invalidateUsers, nameMap, PAGE_SIZE, useAllDepartments, useAllUsers } from './api';
import { changedFields, optionsOf, RefusalAlert, RefusedAlert, useModalProps, useRefusal } from './forms';
import { ListPager } from '../../components/ListPager';
import type { Department, User } from './types';
import { toast } from '../notifications/toast';

const FIELDS = ['name', 'manager_id'] as const;
const canManage = (u: User) => u.active && (u.role === 'Manager' || u.role === 'Admin');

function DepartmentDialog({ department, onClose }: { department: Department | null; onClose: () => void }) {
  const { t } = useTranslation('admin');
  const modalProps = useModalProps();
  const queryClient = useQueryClient();
  const users = useAllUsers();
  const { refusal, setRefusal, handle } = useRefusal(FIELDS);
  const form = useForm({
    mode: 'controlled',
    initialValues: { name: department?.name ?? '', manager_id: department?.manager_id ?? null },
    validate: { name: (v: string) => (v.trim() ? null : t('departments.nameRequired')) },
  });
  const mutation = useMutation({
    mutationFn: async (v: { name: string; manager_id: string | null }) => {
      const values = { name: v.name.trim(), manager_id: v.manager_id };
      if (!department) return unwrap(api.POST('/api/v1/departments', { body: values }));
      const body = changedFields({ name: department.name, manager_id: department.manager_id }, values);
      if (!Object.keys(body).length) return department;
      return unwrap(api.PATCH('/api/v1/departments/{department_id}', { params: { path: { department_id: department.id } }, body }));
    },
    meta: { handlesErrors: true },
    onSuccess: (d) => {
      invalidateDepartments(queryClient);
      toast(department ? t('departments.saved', { name: d.name }) : t('departments.created', { name: d.name }));
      onClose();
    },
    onError: (e) => handle(e, form.setErrors),
  });
  return (
    <Modal {...modalProps} opened onClose={onClose} title={department ? t('departments.editTitle', { name: department.name }) : t('departments.createTitle')}>
      <form
        noValidate
        onSubmit={form.onSubmit((v) => {
          setRefusal(null);
          mutation.mutate(v);
        })}
      >
        <Stack gap="sm">
          <RefusalAlert refusal={refusal} />
          <TextInput label={t('departments.name')} required maxLength={120} data-autofocus {...form.getInputProps('name')} />
          <Select
            label={t('departments.manager')}
            description={t('departments.managerHint')}
            placeholder={t('departments.noManager')}
            clearable
            searchable
            data={optionsOf(users.data, canManage, department?.manager_id)}
            nothingFoundMessage={t('nothingFound')}
            {...form.getInputProps('manager_id')}
          />
          <Group justify="flex-end" gap="sm" mt="sm">
            <Button variant="default" onClick={onClose}>
              {t('common:actions.cancel')}
            </Button>
            <Button type="submit" loading={mutation.isPending}>
              {department ? t('common:actions.save') : t('departments.create')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function DeleteDialog({ department, onClose }: { department: Department; onClose: () => void }) {
  const { t } = useTranslation('admin');
  const modalProps = useModalProps();
  const queryClient = useQueryClient();
  const mutation = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/v1/departments/{department_id}', { params: { path: { department_id: department.id } } })),
    meta: { handlesErrors: true },
    onSuccess: () => {
      invalidateDepartments(queryClient);
      invalidateUsers(queryClient);
      toast(t('departments.deleted', { name: department.name }));
      onClose();
    },
  });
  const conflict = mutation.isError && isApiError(mutation.error) && mutation.error.status === 409 ? mutation.error : null;
  return (
    <Modal {...modalProps} opened onClose={onClose} title={t('departments.deleteTitle', { name: department.name })}>
      <Stack gap="sm">
        <Text size="sm">{t('departments.deleteBody')}</Text>
        {conflict ? (
          <RefusedAlert error={conflict} title={t('departments.deleteRefused')} />
        ) : (
          mutation.isError && <RefusedAlert error={mutation.error} />
        )}
        <Group justify="flex-end" gap="sm">
          <Button variant="default" onClick={onClose}>
            {conflict ? t('common:actions.close') : t('common:actions.cancel')}
          </Button>
          <Button color="red.9" loading={mutation.isPending} disabled={!!conflict} onClick={() => mutation.mutate()}>
            {t('departments.delete')}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

export default function DepartmentsSection() {
  const { t } = useTranslation('admin');
  const [offset, setOffset] = useState(0);
  const [q, setQ] = useState('');
  const [dialog, setDialog] = useState<{ kind: 'edit'; department: Department | null } | { kind: 'delete'; department: Department } | null>(null);
  // all of them are loaded for the pickers anyway: searched and paged here
  const all = useAllDepartments();
  const users = useAllUsers();
  const names = useMemo(() => nameMap(users.data), [users.data]);
  const matching = useMemo(() => {
    const needle = q.trim().toLocaleLowerCase();
    return (all.data ?? []).filter((d) => !needle || d.name.toLocaleLowerCase().includes(needle));
  }, [all.data, q]);
  const items = matching.slice(offset, offset + PAGE_SIZE);

  return (
    <Stack gap="md">
      <Group justify="space-between" align="flex-end">
        <Title order={2} size="h3">
          {t('sections.departments')}
        </Title>
        <Button onClick={() => setDialog({ kind: 'edit', department: null })}>{t('departments.add')}</Button>
      </Group>
      <TextInput
        label={t('departments.search')}
        type="search"
        value={q}
        onChange={(e) => {
          setQ(e.currentTarget.value);
          setOffset(0);
        }}
        w={280}
      />
      {all.isPending ? (
        <Loading />
      ) : all.isError ? (
        <ProblemAlert error={all.error} />
      ) : (
        <>
          <Table striped highlightOnHover data-testid="departments-table">
            <Table.Caption>{t('departments.caption')}</Table.Caption>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">{t('departments.name')}</Table.Th>
                <Table.Th scope="col">{t('departments.manager')}</Table.Th>
                <Table.Th scope="col">{t('actions')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.length === 0 && (
                <Table.Tr>
                  <Table.Td colSpan={3}>{t('departments.none')}</Table.Td>
                </Table.Tr>
              )}
              {items.map((d) => (
                <Table.Tr key={d.id} data-testid={`department-${d.id}`}>
                  <Table.Th scope="row" fw={500} style={{ overflowWrap: 'anywhere' }}>
                    {d.name || '—'}
                  </Table.Th>
                  <Table.Td>{d.manager_id ? (names.get(d.manager_id) ?? '…') : t('departments.noManager')}</Table.Td>
                  <Table.Td>
                    <Group gap={6} wrap="nowrap">
                      <Button size="compact-sm" variant="default" onClick={() => setDialog({ kind: 'edit', department: d })} aria-label={t('departments.editFor', { name: d.name })}>
                        {t('edit')}
                      </Button>
                      <Button size="compact-sm" variant="default" onClick={() => setDialog({ kind: 'delete', department: d })} aria-label={t('departments.deleteFor', { name: d.name })}>
                        {t('departments.delete')}
                      </Button>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <ListPager total={matching.length} page={Math.floor(offset / PAGE_SIZE) + 1} pageSize={PAGE_SIZE} onChange={(p) => setOffset((p - 1) * PAGE_SIZE)} label={t('common:paging.label')} />
        </>
      )}
      {dialog?.kind === 'edit' && <DepartmentDialog key={dialog.department?.id ?? 'new'} department={dialog.department} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'delete' && <DeleteDialog department={dialog.department} onClose={() => setDialog(null)} />}
    </Stack>
  );
}
