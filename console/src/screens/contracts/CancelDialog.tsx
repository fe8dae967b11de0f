// Cancelling a contract: a reason, an effective date inside the period, and the pro-rata refund
// shown as the date is chosen, before the cancellation is confirmed. The service computes and
// stores the refund itself (the same rule); the page then shows the stored figure.
import { Alert, Button, Group, Modal, Stack, Text, TextInput, Textarea } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useLang } from '../../i18n/useLang';
import { athensDateISO, formatDate, formatMoney, formatNumber } from '../../lib/format';
import { proRataRefund } from '../../lib/refund';
import type { Contract } from '../clients/records';
import { FormProblemAlert, useFormProblem } from '../tickets/ui';
import { defaultEffectiveDate } from './permissions';
import { cancelContract, contractChanged } from './queries';

const FIELDS = ['reason', 'effective_date'] as const;

export function CancelDialog({ contract, onClose, onDone }: { contract: Contract; onClose: () => void; onDone: (c: Contract) => void }) {
  const { t } = useTranslation('contracts');
  const lang = useLang();
  const queryClient = useQueryClient();
  const { problem, setProblem, handle } = useFormProblem(FIELDS);
  const period = { start: formatDate(contract.start_date, lang), end: formatDate(contract.end_date, lang) };
  const form = useForm({
    mode: 'controlled',
    initialValues: { reason: '', effective_date: defaultEffectiveDate(contract, athensDateISO()) },
    validate: {
      reason: (v) => (v.trim() ? null : t('cancel.reasonRequired')),
      effective_date: (v) => (!v ? t('cancel.dateRequired') : v < contract.start_date || v > contract.end_date ? t('cancel.dateOutside', period) : null),
    },
  });
  const mutation = useMutation({
    mutationFn: (v: { reason: string; effective_date: string }) => cancelContract(contract.id, v),
    meta: { handlesErrors: true },
    onSuccess: (saved) => {
      contractChanged(queryClient, saved);
      onDone(saved);
    },
    onError: (e) => handle(e, form),
  });
  const submit = form.onSubmit((v) => {
    setProblem(null);
    mutation.mutate({ reason: v.reason.trim(), effective_date: v.effective_date });
  });

  const preview = proRataRefund(contract.premium, contract.start_date, contract.end_date, form.values.effective_date);
  const title = t('cancel.title', { policy: contract.policy_number ?? t('noPolicyNumber') });
  return (
    <Modal opened onClose={onClose} title={title} size="lg">
      <form onSubmit={(e) => void submit(e)} noValidate aria-label={title}>
        <Stack gap="sm">
          <Text size="sm">{t('cancel.intro', period)}</Text>
          <FormProblemAlert problem={problem} testId="cancel-error" />
          <Textarea label={t('cancel.reason')} required autosize minRows={2} maxLength={1000} data-autofocus {...form.getInputProps('reason')} />
          <TextInput
            label={t('cancel.effectiveDate')}
            description={t('cancel.effectiveHint', period)}
            type="date"
            required
            min={contract.start_date}
            max={contract.end_date}
            {...form.getInputProps('effective_date')}
          />
          <Alert color={preview.ok ? 'blue' : 'gray'} variant="light" title={t('cancel.previewTitle')} data-testid="refund-preview" aria-live="polite">
            {preview.ok ? (
              <>
                <Text fw={700} size="lg" data-testid="refund-preview-amount">
                  {formatMoney(preview.amount, contract.currency, lang)}
                </Text>
                <Text size="sm">
                  {t('cancel.previewRule', {
                    left: formatNumber(preview.daysLeft, lang),
                    total: formatNumber(preview.daysInTerm, lang),
                    premium: formatMoney(contract.premium, contract.currency, lang),
                  })}
                </Text>
              </>
            ) : (
              <Text size="sm">{t(`cancel.previewProblem.${preview.problem}`, period)}</Text>
            )}
          </Alert>
          <Group justify="flex-end" gap="sm" mt="sm">
            <Button variant="default" onClick={onClose}>
              {t('cancel.keep')}
            </Button>
            <Button type="submit" color="red.8" loading={mutation.isPending}>
              {t('cancel.confirm')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
