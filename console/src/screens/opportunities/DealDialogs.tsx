// The dialogs of a deal's decisions: accept (terms), decline (reason), move back (reason).
import { useState } from 'react';
import { Alert, Button, Group, Modal, SimpleGrid, Stack, Text, TextInput, Textarea } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import type { Opportunity, TermsIn } from '../../api/types';
import { addYearsISO, athensDateISO, DEFAULT_CURRENCY } from '../../lib/format';
import { errorMessage, isApiError, problemFieldErrors, unmatchedFieldErrors, type Message } from '../../lib/problem';
import { acceptDeal, declineDeal, invalidateDeal, moveBackDeal } from './dealApi';

type FormLike = { setErrors: (errors: Record<string, string>) => void };

/** Puts a refusal's field errors next to the fields and returns the rest for the dialog's alert. */
function useRefusal(fields: readonly string[]) {
  const [refusal, setRefusal] = useState<{ message: Message; extra: string[] } | null>(null);
  const handle = (error: unknown, form: FormLike) => {
    if (isApiError(error) && error.problem.errors?.length) {
      form.setErrors(problemFieldErrors(error.problem, {}, fields));
      const extra = unmatchedFieldErrors(error.problem, fields);
      setRefusal(extra.length ? { message: errorMessage(error), extra } : null);
    } else {
      setRefusal({ message: errorMessage(error), extra: [] });
    }
  };
  return { refusal, setRefusal, handle };
}

function RefusalAlert({ refusal }: { refusal: { message: Message; extra: string[] } | null }) {
  const { t } = useTranslation();
  if (!refusal) return null;
  return (
    <Alert color="red" variant="light" role="alert">
      {t(refusal.message.key, refusal.message.values)}
      {refusal.extra.map((x) => (
        <Text key={x} size="sm">
          {x}
        </Text>
      ))}
    </Alert>
  );
}

interface DialogProps {
  deal: Opportunity;
  opened: boolean;
  onClose: () => void;
  onDone?: (updated: Opportunity) => void;
  /** give the focus back to what had it before (false when the caller moves it itself) */
  returnFocus?: boolean;
}

export function AcceptDialog({ deal, opened, onClose, onDone, onDeclineInstead, returnFocus = true }: DialogProps & { onDeclineInstead?: () => void }) {
  const { t } = useTranslation('opportunities');
  const queryClient = useQueryClient();
  const fields = ['premium', 'currency', 'start_date', 'end_date', 'insurer'] as const;
  const { refusal, setRefusal, handle } = useRefusal(fields);
  const start = athensDateISO();
  const form = useForm({
    mode: 'controlled',
    initialValues: {
      premium: deal.expected_premium ?? '',
      currency: deal.currency ?? DEFAULT_CURRENCY,
      start_date: start,
      end_date: addYearsISO(start, 1),
      insurer: '',
    },
    validate: {
      premium: (v) => (/^\d+(\.\d{1,2})?$/.test(v.trim()) && Number(v) > 0 ? null : t('accept.premiumInvalid')),
      currency: (v) => (/^[A-Z]{3}$/.test(v.trim()) ? null : t('accept.currencyInvalid')),
      start_date: (v) => (v ? null : t('accept.dateRequired')),
      end_date: (v, values) => (!v ? t('accept.dateRequired') : v <= values.start_date ? t('accept.endAfterStart') : null),
      insurer: (v) => (v.trim() ? null : t('accept.insurerRequired')),
    },
  });
  const mutation = useMutation({
    mutationFn: (terms: TermsIn) => acceptDeal(deal.id, terms),
    meta: { handlesErrors: true },
    onSuccess: (updated) => {
      invalidateDeal(queryClient, deal.id, updated);
      onDone?.(updated);
      onClose();
    },
    onError: (e) => handle(e, form),
  });
  const submit = form.onSubmit((v) => {
    setRefusal(null);
    mutation.mutate({ premium: v.premium.trim(), currency: v.currency.trim().toUpperCase(), start_date: v.start_date, end_date: v.end_date, insurer: v.insurer.trim() });
  });
  return (
    <Modal opened={opened} onClose={onClose} returnFocus={returnFocus} closeButtonProps={{ 'aria-label': t('common:actions.close') }} title={t('accept.title', { client: deal.client_name ?? '', title: deal.title })} size="lg">
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Stack gap="sm">
          <Text size="sm">{t('accept.intro')}</Text>
          <RefusalAlert refusal={refusal} />
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput label={t('accept.premium')} inputMode="decimal" required {...form.getInputProps('premium')} />
            <TextInput label={t('accept.currency')} maxLength={3} required {...form.getInputProps('currency')} />
            <TextInput label={t('accept.startDate')} type="date" required {...form.getInputProps('start_date')} />
            <TextInput label={t('accept.endDate')} type="date" required {...form.getInputProps('end_date')} />
          </SimpleGrid>
          <TextInput label={t('accept.insurer')} required maxLength={200} {...form.getInputProps('insurer')} />
          <Group justify="space-between" mt="sm">
            {onDeclineInstead ? (
              <Button variant="outline" color="red.8" onClick={onDeclineInstead}>
                {t('accept.declineInstead')}
              </Button>
            ) : (
              <span />
            )}
            <Group gap="sm">
              <Button variant="default" onClick={onClose}>
                {t('common:actions.cancel')}
              </Button>
              <Button type="submit" loading={mutation.isPending}>
                {t('accept.submit')}
              </Button>
            </Group>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function ReasonDialog({
  deal,
  opened,
  onClose,
  onDone,
  ns,
  action,
  danger,
  values,
  returnFocus = true,
}: DialogProps & { ns: 'decline' | 'moveBack'; action: (reason: string) => Promise<Opportunity>; danger?: boolean; values?: Record<string, string> }) {
  const { t } = useTranslation('opportunities');
  const queryClient = useQueryClient();
  const { refusal, setRefusal, handle } = useRefusal(['reason']);
  const form = useForm({
    mode: 'controlled',
    initialValues: { reason: '' },
    validate: { reason: (v) => (v.trim() ? null : t(`${ns}.reasonRequired`)) },
  });
  const mutation = useMutation({
    mutationFn: (reason: string) => action(reason),
    meta: { handlesErrors: true },
    onSuccess: (updated) => {
      invalidateDeal(queryClient, deal.id, updated);
      onDone?.(updated);
      form.reset();
      onClose();
    },
    onError: (e) => handle(e, form),
  });
  const submit = form.onSubmit((v) => {
    setRefusal(null);
    mutation.mutate(v.reason.trim());
  });
  const vals = { client: deal.client_name ?? '', title: deal.title, ...values };
  return (
    <Modal opened={opened} onClose={onClose} returnFocus={returnFocus} closeButtonProps={{ 'aria-label': t('common:actions.close') }} title={t(`${ns}.title`, vals)}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Stack gap="sm">
          <Text size="sm">{t(`${ns}.intro`, vals)}</Text>
          <RefusalAlert refusal={refusal} />
          <Textarea label={t(`${ns}.reason`)} required autosize minRows={3} maxLength={2000} {...form.getInputProps('reason')} />
          <Group justify="flex-end" gap="sm" mt="sm">
            <Button variant="default" onClick={onClose}>
              {t('common:actions.cancel')}
            </Button>
            <Button type="submit" color={danger ? 'red.8' : undefined} loading={mutation.isPending}>
              {t(`${ns}.submit`)}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

export function DeclineDialog(props: DialogProps) {
  return <ReasonDialog {...props} ns="decline" danger action={(reason) => declineDeal(props.deal.id, reason)} />;
}

export function MoveBackDialog(props: DialogProps & { toStageName: string }) {
  const { toStageName, ...rest } = props;
  return (
    <ReasonDialog {...rest} ns="moveBack" values={{ stage: toStageName }} action={(reason) => moveBackDeal(props.deal.id, reason, props.deal.stage.key)} />
  );
}
