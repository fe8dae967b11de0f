// One contract: its terms and status, issuing the policy, and cancelling with the pro-rata refund
// shown before the cancellation is confirmed.
import { useState } from 'react';
import { Alert, Anchor, Button, Grid, Group, Paper, SimpleGrid, Stack, Text, TextInput, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useCurrentUser } from '../../auth/context';
import { PageHeading } from '../../components/PageHeading';
import { RecordQuery } from '../../components/RecordQuery';
import { useLang } from '../../i18n/useLang';
import { athensDateISO, formatDate, formatDateTime, formatMoney } from '../../lib/format';
import type { Contract } from '../clients/records';
import { useClient } from '../clients/queries';
import { usePersonName } from '../../api/people';
import { useDepartmentDirectory, useUserDirectory } from '../tickets/directory';
import { Field, FormProblemAlert, useFormProblem } from '../../components/ui';
import { ContractStatusBadge } from './badges';
import { CancelDialog } from './CancelDialog';
import { canCancel, canIssue, defaultIssueDate, mayWrite } from './permissions';
import { contractChanged, issueContract, useContract, useDeal } from './queries';

export default function ContractPage() {
  const { t } = useTranslation('contracts');
  const { id = '' } = useParams();
  const query = useContract(id);
  return (
    <RecordQuery query={query} what={t('detail.what')}>
      {(contract) => <ContractView key={contract.id} contract={contract} />}
    </RecordQuery>
  );
}

function ContractView({ contract }: { contract: Contract }) {
  const { t } = useTranslation('contracts');
  const lang = useLang();
  const user = useCurrentUser();
  const client = useClient(contract.client_id);
  const deal = useDeal(contract.opportunity_id);
  const { byId: users } = useUserDirectory();
  const { byId: departments } = useDepartmentDirectory();
  const [cancelling, setCancelling] = useState(false);
  const [cancelled, setCancelled] = useState<Contract | null>(null);
  const allowed = mayWrite(user, contract);
  const clientName = client.data?.name;
  const title = contract.policy_number
    ? t('detail.heading', { policy: contract.policy_number })
    : clientName
      ? t('detail.headingPending', { client: clientName })
      : t('detail.what');
  const specialistName = usePersonName(contract.specialist_id);
  const specialist = contract.specialist_id ? (contract.specialist_id === user.id ? user.name : (users.get(contract.specialist_id)?.name ?? specialistName ?? t('tickets:unknownUser'))) : '—';
  const money = (amount: string | null) => formatMoney(amount, contract.currency, lang);

  return (
    <Stack gap="lg">
      <Anchor component={Link} to="/contracts" size="sm">
        {t('detail.back')}
      </Anchor>
      <Stack gap="xs">
        <PageHeading title={title}>{title}</PageHeading>
        <Group gap="sm">
          <ContractStatusBadge status={contract.status} />
          <Text size="sm">{t('detail.summary', { line: contract.line_name ?? t('detail.noLine'), premium: money(contract.premium) })}</Text>
        </Group>
      </Stack>

      {cancelled && cancelled.status === 'cancelled' && (
        <Alert color="green" variant="light" role="status" title={t('cancel.doneTitle')} data-testid="cancel-result">
          {t('cancel.done', { date: formatDate(cancelled.cancel_effective_date, lang), refund: money(cancelled.refund) })}
        </Alert>
      )}

      <Grid gutter="lg">
        <Grid.Col span={{ base: 12, md: 7 }}>
          <Stack gap="lg">
            <Paper withBorder p="md" component="section" aria-labelledby="contract-terms">
              <Title order={2} size="h4" id="contract-terms" mb="sm">
                {t('detail.terms')}
              </Title>
              <SimpleGrid cols={{ base: 1, sm: 2 }} component="dl" m={0} spacing="sm">
                <Field label={t('detail.policyNumber')}>
                  <span data-testid="contract-policy-number">{contract.policy_number ?? t('noPolicyNumber')}</span>
                </Field>
                <Field label={t('detail.premium')}>
                  <span data-testid="contract-premium">{money(contract.premium)}</span>
                </Field>
                <Field label={t('detail.currency')}>{contract.currency}</Field>
                <Field label={t('detail.insurer')}>{contract.insurer ?? '—'}</Field>
                <Field label={t('detail.line')}>{contract.line_name ?? t('detail.noLine')}</Field>
                <Field label={t('detail.start')}>{formatDate(contract.start_date, lang)}</Field>
                <Field label={t('detail.end')}>{formatDate(contract.end_date, lang)}</Field>
                <Field label={t('detail.issueDate')}>{formatDate(contract.issue_date, lang)}</Field>
                <Field label={t('detail.origin')}>{t(`origin.${contract.origin}`)}</Field>
              </SimpleGrid>
            </Paper>

            {contract.status === 'cancelled' && (
              <Paper withBorder p="md" component="section" aria-labelledby="contract-cancellation">
                <Title order={2} size="h4" id="contract-cancellation" mb="sm">
                  {t('detail.cancellation')}
                </Title>
                <SimpleGrid cols={{ base: 1, sm: 2 }} component="dl" m={0} spacing="sm">
                  <Field label={t('detail.cancelEffective')}>{formatDate(contract.cancel_effective_date, lang)}</Field>
                  <Field label={t('detail.refund')}>
                    <span data-testid="contract-refund">{money(contract.refund)}</span>
                  </Field>
                  <Field label={t('detail.cancelReason')}>{contract.cancel_reason ?? '—'}</Field>
                  <Field label={t('detail.cancelledAt')}>{formatDateTime(contract.cancelled_at, lang)}</Field>
                </SimpleGrid>
              </Paper>
            )}

            <Paper withBorder p="md" component="section" aria-labelledby="contract-links">
              <Title order={2} size="h4" id="contract-links" mb="sm">
                {t('detail.parties')}
              </Title>
              <SimpleGrid cols={{ base: 1, sm: 2 }} component="dl" m={0} spacing="sm">
                <Field label={t('detail.client')}>
                  <Anchor component={Link} to={`/clients/${contract.client_id}`} data-testid="contract-client">
                    {clientName ?? t('openClient')}
                  </Anchor>
                </Field>
                <Field label={t('detail.deal')}>
                  {contract.opportunity_id ? (
                    <Anchor component={Link} to={`/opportunities/${contract.opportunity_id}`} data-testid="contract-deal">
                      {deal.data?.title ?? t('detail.openDeal')}
                    </Anchor>
                  ) : (
                    t('detail.noDeal')
                  )}
                </Field>
                <Field label={t('detail.specialist')}>{specialist}</Field>
                <Field label={t('detail.department')}>{contract.department_id ? (departments.get(contract.department_id)?.name ?? '—') : '—'}</Field>
                <Field label={t('detail.created')}>{formatDateTime(contract.created_at, lang)}</Field>
                <Field label={t('detail.issuedAt')}>{formatDateTime(contract.issued_at, lang)}</Field>
                <Field label={t('detail.activatedAt')}>{formatDateTime(contract.activated_at, lang)}</Field>
                <Field label={t('detail.expiredAt')}>{formatDateTime(contract.expired_at, lang)}</Field>
              </SimpleGrid>
            </Paper>
          </Stack>
        </Grid.Col>

        <Grid.Col span={{ base: 12, md: 5 }}>
          <Stack gap="lg">
            {canIssue(contract) && <IssueForm contract={contract} allowed={allowed} />}
            {canCancel(contract) && (
              <Paper withBorder p="md" component="section" aria-labelledby="contract-cancel">
                <Title order={2} size="h4" id="contract-cancel" mb="xs">
                  {t('cancel.section')}
                </Title>
                <Text size="sm" mb="sm">
                  {t('cancel.explain')}
                </Text>
                {!allowed && (
                  <Text size="sm" mb="sm" c="dimmed">
                    {t('detail.mayNotWrite')}
                  </Text>
                )}
                <Button color="red.8" variant="outline" onClick={() => setCancelling(true)}>
                  {t('cancel.open')}
                </Button>
              </Paper>
            )}
          </Stack>
        </Grid.Col>
      </Grid>

      {cancelling && (
        <CancelDialog
          contract={contract}
          onClose={() => setCancelling(false)}
          onDone={(c) => {
            setCancelled(c);
            setCancelling(false);
          }}
        />
      )}
    </Stack>
  );
}

function IssueForm({ contract, allowed }: { contract: Contract; allowed: boolean }) {
  const { t } = useTranslation('contracts');
  const queryClient = useQueryClient();
  const today = athensDateISO();
  const fields = ['policy_number', 'issue_date'] as const;
  const { problem, setProblem, handle } = useFormProblem(fields);
  const form = useForm({
    mode: 'controlled',
    initialValues: { policy_number: '', issue_date: defaultIssueDate(contract, today) },
    validate: {
      policy_number: (v) => (v.trim() ? null : t('issue.policyRequired')),
      issue_date: (v) => (!v ? t('issue.dateRequired') : v > today ? t('issue.dateFuture') : null),
    },
  });
  const mutation = useMutation({
    mutationFn: (v: { policy_number: string; issue_date: string }) => issueContract(contract.id, v),
    meta: { handlesErrors: true },
    onSuccess: (issued) => {
      contractChanged(queryClient, issued);
      notifications.show({ color: 'green', message: t('issue.done', { policy: issued.policy_number ?? '', status: t(`status.${issued.status}`) }) });
    },
    onError: (e) => handle(e, form),
  });
  const submit = form.onSubmit((v) => {
    setProblem(null);
    mutation.mutate({ policy_number: v.policy_number.trim(), issue_date: v.issue_date });
  });
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="contract-issue">
      <Title order={2} size="h4" id="contract-issue" mb="xs">
        {t('issue.section')}
      </Title>
      <form onSubmit={(e) => void submit(e)} noValidate aria-labelledby="contract-issue">
        <Stack gap="sm">
          <Text size="sm">{t('issue.explain')}</Text>
          {!allowed && (
            <Text size="sm" c="dimmed">
              {t('detail.mayNotWrite')}
            </Text>
          )}
          <FormProblemAlert problem={problem} testId="issue-error" />
          <TextInput label={t('issue.policyNumber')} required maxLength={100} {...form.getInputProps('policy_number')} />
          <TextInput label={t('issue.issueDate')} description={t('issue.issueDateHint')} type="date" required max={today} {...form.getInputProps('issue_date')} />
          <Group justify="flex-end">
            <Button type="submit" loading={mutation.isPending}>
              {t('issue.submit')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}
