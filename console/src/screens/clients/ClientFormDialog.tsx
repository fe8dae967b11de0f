// Creating a client, or editing one. The service checks the tax id (a Greek AFM's check digit when
// the country is GR) and says so on the field.
import { Button, Group, Modal, Radio, Select, SimpleGrid, Stack, TextInput, Textarea } from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useCurrentUser } from '../../auth/context';
import { useDepartmentDirectory } from '../tickets/directory';
import { FormProblemAlert, useFormProblem } from '../../components/ui';
import { ClientPicker } from './ClientPicker';
import { CLIENT_FIELDS, clientCreateBody, clientPatchBody, clientValues, emptyClientValues, type ClientFormValues } from './form';
import { clientChanged, createClient, updateClient } from './queries';
import { CLIENT_KINDS, type Client } from './records';

export function ClientFormDialog({ opened, onClose, client }: { opened: boolean; onClose: () => void; client?: Client }) {
  const { t } = useTranslation('clients');
  const user = useCurrentUser();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const { departments } = useDepartmentDirectory();
  const isAdmin = user.role === 'Admin';
  const { problem, setProblem, handle } = useFormProblem(CLIENT_FIELDS);
  const editing = !!client;

  const form = useForm<ClientFormValues>({
    mode: 'controlled',
    initialValues: client ? clientValues(client) : emptyClientValues(user.department_id ?? null),
    validate: {
      name: (v) => (v.trim() ? null : t('form.nameRequired')),
      country: (v) => (!v.trim() || /^[A-Za-z]{2}$/.test(v.trim()) ? null : t('form.countryInvalid')),
      email: (v) => (!v.trim() || /^[^\s@]+@[^\s@]+$/.test(v.trim()) ? null : t('form.emailInvalid')),
      department_id: (v) => (isAdmin && !editing && !v ? t('form.departmentRequired') : null),
    },
  });

  const mutation = useMutation({
    mutationFn: (v: ClientFormValues) => (client ? updateClient(client.id, clientPatchBody(client, v, isAdmin)) : createClient(clientCreateBody(v, isAdmin))),
    meta: { handlesErrors: true },
    onSuccess: (saved) => {
      clientChanged(queryClient, saved);
      notifications.show({ color: 'green', message: t(editing ? 'form.saved' : 'form.created', { name: saved.name }) });
      onClose();
      if (!editing) {
        form.reset();
        navigate(`/clients/${saved.id}`);
      } else {
        form.setInitialValues(clientValues(saved));
        form.setValues(clientValues(saved));
      }
    },
    onError: (e) => handle(e, form),
  });

  const submit = form.onSubmit((v) => {
    setProblem(null);
    if (client && Object.keys(clientPatchBody(client, v, isAdmin)).length === 0) {
      onClose();
      return;
    }
    mutation.mutate(v);
  });
  const close = () => {
    setProblem(null);
    form.clearErrors();
    onClose();
  };

  const title = client ? t('form.editTitle', { name: client.name }) : t('form.createTitle');
  return (
    <Modal opened={opened} onClose={close} title={title} size="lg">
      <form onSubmit={(e) => void submit(e)} noValidate aria-label={title}>
        <Stack gap="sm">
          <FormProblemAlert problem={problem} testId="client-form-error" />
          <Radio.Group label={t('form.kind')} required {...form.getInputProps('kind')}>
            <Group gap="md" mt={4}>
              {CLIENT_KINDS.map((k) => (
                <Radio key={k} value={k} label={t(`kind.${k}`)} />
              ))}
            </Group>
          </Radio.Group>
          <TextInput label={t('form.name')} required maxLength={300} data-autofocus {...form.getInputProps('name')} />
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput label={t('form.taxId')} description={t('form.taxIdHint')} maxLength={32} {...form.getInputProps('tax_id')} />
            <TextInput label={t('form.country')} description={t('form.countryHint')} maxLength={2} {...form.getInputProps('country')} />
            <TextInput label={t('form.email')} type="email" {...form.getInputProps('email')} />
            <TextInput label={t('form.phone')} type="tel" {...form.getInputProps('phone')} />
          </SimpleGrid>
          <Textarea label={t('form.address')} autosize minRows={2} maxLength={1000} {...form.getInputProps('address')} />
          <ClientPicker
            label={t('form.parent')}
            description={t('form.parentHint')}
            value={form.values.parent_id}
            onChange={(v) => form.setFieldValue('parent_id', v)}
            error={(form.errors.parent_id as string | undefined) ?? null}
            excludeId={client?.id}
          />
          {isAdmin && (
            <Select
              label={t('form.department')}
              required={!editing}
              searchable
              data={departments.map((d) => ({ value: d.id, label: d.name }))}
              {...form.getInputProps('department_id')}
            />
          )}
          <Group justify="flex-end" gap="sm" mt="sm">
            <Button variant="default" onClick={close}>
              {t('common:actions.cancel')}
            </Button>
            <Button type="submit" loading={mutation.isPending}>
              {client ? t('form.save') : t('form.create')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
