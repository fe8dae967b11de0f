// Cancelling a contract: a reason, an effective date inside the period, and the pro-rata refund
// shown as the date is chosen, before the cancellation is confirmed. The refund shown is the
// contracts service's own quote for that date (GET …/cancellation-quote; its rule lives only in
// services/contracts/refund.py); cancelling stores the same figure, which the page then shows.
import { Alert, Button, Group, Loader, Modal, Stack, Text, TextInput, Textarea } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useDebouncedValue } from '@mantine/hooks';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useLang } from '../../i18n/useLang';
import { athensDateISO, formatDate, formatMoney, formatNumber } from '../../lib/format';
import { errorMessage, isApiError, problemFieldErrors } from '../../lib/problem';
import type { Contract } from '../clients/records';
import { FormProblemAlert, useFormProblem } from '../../components/ui';
import { defaultEffectiveDate } from './permissions';
import { cancelContract, contractChanged, useCancellationQuote } from './queries';

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
    mutationFn: (v: { reason: string; effective_date: string }) =>
      cancelContract(contract.id, { ...v, method: 'pro_rata' }),
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

  const chosen = form.values.effective_date;
  const [debounced] = useDebouncedValue(chosen, 300);
  const quote = useCancellationQuote(contract.id, debounced);
  const settled = debounced === chosen;
  // the service's 422 on query.effective_date goes on the date field (once the date has settled)
  const quoteFieldError =
    settled && isApiError(quote.error) && quote.error.status === 422
      ? (problemFieldErrors(quote.error.problem, {}, ['effective_date']).effective_date ?? quote.error.problem.detail)
      : undefined;
  const dateInput = form.getInputProps('effective_date');
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
            {...dateInput}
            error={dateInput.error ?? quoteFieldError}
          />
          <Alert
            color={settled && quote.data ? 'blue' : 'gray'}
            variant="light"
            title={t('cancel.previewTitle')}
            data-testid="refund-preview"
            aria-live="polite"
            aria-busy={!settled || quote.isFetching}
          >
            <RefundPreview quote={quote} settled={settled} outside={!!quoteFieldError} period={period} />
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

function RefundPreview({
  quote,
  settled,
  outside,
  period,
}: {
  quote: ReturnType<typeof useCancellationQuote>;
  settled: boolean;
  outside: boolean;
  period: { start: string; end: string };
}) {
  const { t } = useTranslation('contracts');
  const lang = useLang();
  if (quote.isPending && !quote.isFetching && settled) return <Text size="sm">{t('cancel.previewNoDate', period)}</Text>;
  if (!settled || quote.isPending) {
    return (
      <Group gap="xs">
        <Loader size="xs" aria-hidden />
        <Text size="sm">{t('cancel.previewLoading')}</Text>
      </Group>
    );
  }
  if (quote.isError) {
    if (outside) return <Text size="sm">{t('cancel.previewNoDate', period)}</Text>;
    const m = errorMessage(quote.error);
    return (
      <Text size="sm" data-testid="refund-preview-error">
        {t('cancel.previewUnavailable')} {t(m.key, { ns: 'common', ...m.values })}
      </Text>
    );
  }
  const q = quote.data;
  return (
    <>
      <Text fw={700} size="lg" data-testid="refund-preview-amount">
        {formatMoney(q.refund, q.currency, lang)}
      </Text>
      <Text size="sm">
        {t('cancel.previewRule', {
          left: formatNumber(q.days_remaining, lang),
          total: formatNumber(q.days_in_term, lang),
          premium: formatMoney(q.premium, q.currency, lang),
        })}
      </Text>
    </>
  );
}
