// Users: list (search, role, department, active), create, edit (name, email, role, department,
// active, password), deactivate / reactivate.
import { useMemo, useState } from 'react';
import { Badge, Button, Checkbox, Group, Modal, PasswordInput, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useDebouncedValue } from '@mantine/hooks';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { useCurrentUser } from '../../auth/context';
import { Loading } from '../../components/Loading';
import { ProblemAlert } from '../../components/ProblemAlert';
import { invalidateUsers, nameMap, PAGE_SIZE, useAllDepartments, useUserList } from './api';
import { changedFields, optionsOf, RefusalAlert, RefusedAlert, useModalProps, useRefusal } from './forms';
import { ListPager } from '../../components/ListPager';
import type { Role, User, UserListQuery, UserUpdate } from './types';
import { toast } from '../notifications/toast';

const ROLES: readonly Role[] = ['Employee', 'Manager', 'Admin'];
const FIELDS = ['name', 'email', 'password', 'role', 'department_id', 'active'] as const;

interface UserFormValues {
  name: string;
  email: string;
  password: string;
  role: Role;
  department_id: string | null;
  active: boolean;
}

function UserDialog({ user, opened, onClose }: { user: User | null; opened: boolean; onClose: () => void }) {
  const { t } = useTranslation('admin');
  const modalProps = useModalProps();
  const queryClient = useQueryClient();
  const departments = useAllDepartments();
  const me = useCurrentUser();
  const { refusal, setRefusal, handle } = useRefusal(FIELDS);
  const editing = user !== null;
  const initial: UserFormValues = {
    name: user?.name ?? '',
    email: user?.email ?? '',
    password: '',
    role: user?.role ?? 'Employee',
    department_id: user?.department_id ?? null,
    active: user?.active ?? true,
  };
  const form = useForm<UserFormValues>({
    mode: 'controlled',
    initialValues: initial,
    validate: {
      name: (v) => (v.trim() ? null : t('users.nameRequired')),
      email: (v) => (/^[^\s@]+@[^\s@]+$/.test(v.trim()) ? null : t('users.emailInvalid')),
      password: (v) => (!editing && !v ? t('users.passwordRequired') : null),
    },
  });
  const mutation = useMutation({
    mutationFn: async (v: UserFormValues) => {
      const values = { name: v.name.trim(), email: v.email.trim(), role: v.role, department_id: v.department_id, active: v.active };
      if (!user) return unwrap(api.POST('/api/v1/users', { body: { ...values, password: v.password } }));
      const body: UserUpdate = changedFields(
        { name: user.name, email: user.email, role: user.role, department_id: user.department_id, active: user.active },
        values,
      );
      if (v.password) body.password = v.password;
      if (Object.keys(body).length === 0) return user;
      return unwrap(api.PATCH('/api/v1/users/{user_id}', { params: { path: { user_id: user.id } }, body }));
    },
    meta: { handlesErrors: true },
    onSuccess: (saved) => {
      invalidateUsers(queryClient);
      toast(editing ? t('users.saved', { name: saved.name }) : t('users.created', { name: saved.name }));
      onClose();
    },
    onError: (e) => handle(e, form.setErrors),
  });
  const isSelf = user?.id === me.id;
  return (
    <Modal {...modalProps} opened={opened} onClose={onClose} title={editing ? t('users.editTitle', { name: user.name }) : t('users.createTitle')} size="lg">
      <form
        noValidate
        onSubmit={form.onSubmit((v) => {
          setRefusal(null);
          mutation.mutate(v);
        })}
      >
        <Stack gap="sm">
          <RefusalAlert refusal={refusal} />
          <TextInput label={t('users.name')} required maxLength={200} autoComplete="off" data-autofocus {...form.getInputProps('name')} />
          <TextInput label={t('users.email')} type="email" required autoComplete="off" {...form.getInputProps('email')} />
          <Group grow align="flex-start">
            <Select
              label={t('users.role')}
              required
              allowDeselect={false}
              disabled={isSelf}
              description={isSelf ? t('users.selfRole') : undefined}
              data={ROLES.map((r) => ({ value: r, label: t(`common:roles.${r}`) }))}
              {...form.getInputProps('role')}
            />
            <Select
              label={t('users.department')}
              placeholder={t('users.noDepartment')}
              clearable
              searchable
              data={optionsOf(departments.data)}
              nothingFoundMessage={t('nothingFound')}
              {...form.getInputProps('department_id')}
            />
          </Group>
          <PasswordInput
            label={editing ? t('users.newPassword') : t('users.password')}
            description={editing ? t('users.newPasswordHint') : t('users.passwordHint')}
            required={!editing}
            autoComplete="new-password"
            maxLength={256}
            {...form.getInputProps('password')}
          />
          <Checkbox label={t('users.activeLabel')} disabled={isSelf} {...form.getInputProps('active', { type: 'checkbox' })} />
          <Group justify="flex-end" gap="sm" mt="sm">
            <Button variant="default" onClick={onClose}>
              {t('common:actions.cancel')}
            </Button>
            <Button type="submit" loading={mutation.isPending}>
              {editing ? t('common:actions.save') : t('users.create')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function DeactivateDialog({ user, onClose }: { user: User; onClose: () => void }) {
  const { t } = useTranslation('admin');
  const modalProps = useModalProps();
  const queryClient = useQueryClient();
  const mutation = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/v1/users/{user_id}', { params: { path: { user_id: user.id } } })),
    meta: { handlesErrors: true },
    onSuccess: (u) => {
      invalidateUsers(queryClient);
      toast(t('users.deactivated', { name: u.name }));
      onClose();
    },
  });
  return (
    <Modal {...modalProps} opened onClose={onClose} title={t('users.deactivateTitle', { name: user.name })}>
      <Stack gap="sm">
        <Text size="sm">{t('users.deactivateBody', { name: user.name })}</Text>
        {mutation.isError && <RefusedAlert error={mutation.error} title={t('users.deactivateRefused')} />}
        <Group justify="flex-end" gap="sm">
          <Button variant="default" onClick={onClose}>
            {t('common:actions.cancel')}
          </Button>
          <Button color="red.9" loading={mutation.isPending} onClick={() => mutation.mutate()}>
            {t('users.deactivate')}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

export default function UsersSection() {
  const { t } = useTranslation('admin');
  const queryClient = useQueryClient();
  const me = useCurrentUser();
  const [q, setQ] = useState('');
  const [debouncedQ] = useDebouncedValue(q.trim(), 300);
  const [role, setRole] = useState<string | null>(null);
  const [department, setDepartment] = useState<string | null>(null);
  const [active, setActive] = useState<string>('all');
  const [offset, setOffset] = useState(0);
  const [dialog, setDialog] = useState<{ kind: 'edit'; user: User | null } | { kind: 'deactivate'; user: User } | null>(null);

  const query: UserListQuery = useMemo(
    () => ({
      limit: PAGE_SIZE,
      offset,
      sort: 'name',
      ...(debouncedQ ? { q: debouncedQ } : {}),
      ...(role ? { role: role as Role } : {}),
      ...(department ? { department_id: department } : {}),
      ...(active === 'all' ? {} : { active: active === 'active' }),
    }),
    [offset, debouncedQ, role, department, active],
  );
  const users = useUserList(query);
  const departments = useAllDepartments();
  const departmentNames = useMemo(() => nameMap(departments.data), [departments.data]);
  const reactivate = useMutation({
    mutationFn: (u: User) => unwrap(api.PATCH('/api/v1/users/{user_id}', { params: { path: { user_id: u.id } }, body: { active: true } })),
    onSuccess: (u) => {
      invalidateUsers(queryClient);
      toast(t('users.reactivated', { name: u.name }));
    },
  });
  const filter = <T,>(set: (v: T) => void) => (v: T) => {
    set(v);
    setOffset(0);
  };

  return (
    <Stack gap="md">
      <Group justify="space-between" align="flex-end">
        <Title order={2} size="h3">
          {t('sections.users')}
        </Title>
        <Button onClick={() => setDialog({ kind: 'edit', user: null })}>{t('users.add')}</Button>
      </Group>
      <Group align="flex-end" gap="sm">
        <TextInput label={t('users.search')} type="search" value={q} onChange={(e) => filter(setQ)(e.currentTarget.value)} w={240} />
        <Select
          label={t('users.role')}
          placeholder={t('users.anyRole')}
          clearable
          data={ROLES.map((r) => ({ value: r, label: t(`common:roles.${r}`) }))}
          value={role}
          onChange={filter(setRole)}
          w={170}
        />
        <Select
          label={t('users.department')}
          placeholder={t('users.anyDepartment')}
          clearable
          searchable
          data={optionsOf(departments.data)}
          value={department}
          onChange={filter(setDepartment)}
          nothingFoundMessage={t('nothingFound')}
          w={240}
        />
        <Select
          label={t('users.status')}
          allowDeselect={false}
          data={[
            { value: 'all', label: t('users.statusAll') },
            { value: 'active', label: t('users.active') },
            { value: 'inactive', label: t('users.inactive') },
          ]}
          value={active}
          onChange={(v) => filter(setActive)(v ?? 'all')}
          w={150}
        />
      </Group>
      {users.isPending ? (
        <Loading />
      ) : users.isError ? (
        <ProblemAlert error={users.error} />
      ) : (
        <>
          <Table.ScrollContainer minWidth={760}>
            <Table striped highlightOnHover data-testid="users-table">
              <Table.Caption>{t('users.caption')}</Table.Caption>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">{t('users.name')}</Table.Th>
                  <Table.Th scope="col">{t('users.email')}</Table.Th>
                  <Table.Th scope="col">{t('users.role')}</Table.Th>
                  <Table.Th scope="col">{t('users.department')}</Table.Th>
                  <Table.Th scope="col">{t('users.status')}</Table.Th>
                  <Table.Th scope="col">{t('actions')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {users.data.items.length === 0 && (
                  <Table.Tr>
                    <Table.Td colSpan={6}>{t('users.none')}</Table.Td>
                  </Table.Tr>
                )}
                {users.data.items.map((u) => (
                  <Table.Tr key={u.id} data-testid={`user-${u.email}`}>
                    <Table.Th scope="row" fw={500}>
                      {u.name}
                    </Table.Th>
                    <Table.Td style={{ overflowWrap: 'anywhere' }}>{u.email}</Table.Td>
                    <Table.Td>{t(`common:roles.${u.role}`)}</Table.Td>
                    <Table.Td>{u.department_id ? (departmentNames.get(u.department_id) ?? '…') : t('users.noDepartment')}</Table.Td>
                    <Table.Td>
                      <Badge color={u.active ? 'teal.9' : 'gray.7'}>{u.active ? t('users.active') : t('users.inactive')}</Badge>
                    </Table.Td>
                    <Table.Td>
                      <Group gap={6} wrap="nowrap">
                        <Button size="compact-sm" variant="default" onClick={() => setDialog({ kind: 'edit', user: u })} aria-label={t('users.editFor', { name: u.name })}>
                          {t('edit')}
                        </Button>
                        {u.active ? (
                          <Button
                            size="compact-sm"
                            variant="default"
                            disabled={u.id === me.id}
                            title={u.id === me.id ? t('users.selfDeactivate') : undefined}
                            onClick={() => setDialog({ kind: 'deactivate', user: u })}
                            aria-label={t('users.deactivateFor', { name: u.name })}
                          >
                            {t('users.deactivate')}
                          </Button>
                        ) : (
                          <Button size="compact-sm" variant="default" loading={reactivate.isPending && reactivate.variables?.id === u.id} onClick={() => reactivate.mutate(u)} aria-label={t('users.reactivateFor', { name: u.name })}>
                            {t('users.reactivate')}
                          </Button>
                        )}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <ListPager total={users.data.total} page={Math.floor(offset / PAGE_SIZE) + 1} pageSize={PAGE_SIZE} onChange={(p) => setOffset((p - 1) * PAGE_SIZE)} label={t('common:paging.label')} />
        </>
      )}
      {dialog?.kind === 'edit' && <UserDialog key={dialog.user?.id ?? 'new'} user={dialog.user} opened onClose={() => setDialog(null)} />}
      {dialog?.kind === 'deactivate' && <DeactivateDialog user={dialog.user} onClose={() => setDialog(null)} />}
    </Stack>
  );
}
