// The audit chain: verify it (in ranges, with progress; stoppable) and export records as JSON
// lines or CSV (streamed through the API client with the Authorization header into a Blob, with
// progress, then saved — never a URL carrying the token).
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Alert, Button, Code, Group, List, Loader, NumberInput, Paper, Progress, Radio, Select, SimpleGrid, Stack, Text, TextInput, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { ProblemAlert } from '../../components/ProblemAlert';
import { formatDateTime, formatNumber } from '../../lib/format';
import { useLang } from '../../i18n/useLang';
import { exportQuery, fileNameFrom, formatBytes, NO_FILTERS, readExport, saveBlob, verifyInRanges, type ExportFilters, type VerifyRange } from './audit';
import type { ExportFormat, VerifyReport } from './types';

const verifyRange: VerifyRange = (from, to, signal) =>
  unwrap(api.GET('/api/v1/audit/verify', { params: { query: { from_seq: from, ...(to !== null ? { to_seq: to } : {}) } }, signal }));

const isAbort = (e: unknown) => e instanceof DOMException && e.name === 'AbortError';

function useAbortOnUnmount() {
  const ref = useRef<AbortController | null>(null);
  useEffect(() => () => ref.current?.abort(), []);
  return ref;
}

const percent = (done: number, total: number) => (total > 0 ? Math.min(100, Math.round((100 * done) / total)) : 0);
const toInt = (v: number | string): number | null => (typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : null);

function VerifyResult({ report }: { report: VerifyReport }) {
  const { t } = useTranslation('admin');
  const lang = useLang();
  const br = report.break;
  return (
    <Alert
      color={report.ok ? 'teal' : 'red'}
      variant="light"
      style={{ '--alert-color': report.ok ? '#05603f' : 'var(--mantine-color-red-9)' }}
      title={report.ok ? t('audit.verify.ok') : t('audit.verify.broken', { seq: br?.seq ?? '?' })}
      data-testid="verify-result"
      data-ok={report.ok}
    >
      <List size="sm" spacing={2}>
        <List.Item>{t('audit.verify.checked', { count: report.checked, n: formatNumber(report.checked, lang) })}</List.Item>
        {report.last_checked_seq !== null && <List.Item>{t('audit.verify.lastChecked', { seq: report.last_checked_seq })}</List.Item>}
        <List.Item>
          {report.sealed_from_seq === null || !report.seal_key_configured
            ? t('audit.verify.unsealed')
            : t('audit.verify.seals', { n: formatNumber(report.seals_checked, lang), seq: report.sealed_from_seq })}
        </List.Item>
        <List.Item>
          {t('audit.verify.head', { seq: report.chain_head.seq })}
          <Code ml={6}>{report.chain_head.hash.slice(0, 16)}</Code>
        </List.Item>
        {report.latest_checkpoint && (
          <List.Item>
            {t('audit.verify.checkpoint', { seq: report.latest_checkpoint.seq, when: formatDateTime(report.latest_checkpoint.checkpointed_at, lang) })}
          </List.Item>
        )}
      </List>
      {br && (
        <Stack gap={4} mt="sm">
          <Text size="sm" fw={600}>
            {t(`audit.reasons.${br.reason}`, { defaultValue: br.reason })}
          </Text>
          <Text size="sm">{br.meaning}</Text>
          <Text size="sm" c="dimmed" style={{ overflowWrap: 'anywhere' }}>
            {br.detail}
          </Text>
        </Stack>
      )}
    </Alert>
  );
}

function VerifyPanel() {
  const { t } = useTranslation('admin');
  const lang = useLang();
  const controllerRef = useAbortOnUnmount();
  const [from, setFrom] = useState<number | string>('');
  const [to, setTo] = useState<number | string>('');
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<{ checked: number; total: number } | null>(null);
  const [report, setReport] = useState<VerifyReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState('');
  const [rangeError, setRangeError] = useState<string | null>(null);

  const run = async (e: FormEvent) => {
    e.preventDefault();
    const fromSeq = toInt(from) ?? 1;
    const toSeq = toInt(to);
    if (toSeq !== null && toSeq < fromSeq) {
      setRangeError(t('audit.verify.rangeInvalid'));
      return;
    }
    setRangeError(null);
    const c = new AbortController();
    controllerRef.current = c;
    setRunning(true);
    setReport(null);
    setError(null);
    setProgress({ checked: 0, total: 0 });
    setStatus(t('audit.verify.started'));
    try {
      const r = await verifyInRanges(verifyRange, { fromSeq, toSeq, signal: c.signal, onProgress: setProgress });
      setReport(r);
      setStatus(r.ok ? t('audit.verify.okAnnounce', { count: r.checked }) : t('audit.verify.broken', { seq: r.break?.seq ?? '?' }));
    } catch (err) {
      if (isAbort(err) || c.signal.aborted) setStatus(t('audit.verify.stopped'));
      else {
        setError(err);
        setStatus(t('audit.verify.failed'));
      }
    } finally {
      setRunning(false);
      controllerRef.current = null;
    }
  };

  const pct = progress ? percent(progress.checked, progress.total) : 0;
  return (
    <Paper withBorder p="md">
      <form onSubmit={(e) => void run(e)} noValidate>
        <Stack gap="sm">
          <Title order={3} size="h4">
            {t('audit.verify.title')}
          </Title>
          <Text size="sm">{t('audit.verify.intro')}</Text>
          <Group align="flex-start" gap="sm">
            <NumberInput label={t('audit.verify.from')} placeholder="1" min={1} allowDecimal={false} value={from} onChange={setFrom} w={180} disabled={running} />
            <NumberInput
              label={t('audit.verify.to')}
              placeholder={t('audit.verify.toEnd')}
              min={1}
              allowDecimal={false}
              value={to}
              onChange={setTo}
              w={200}
              disabled={running}
              error={rangeError}
            />
          </Group>
          <Group gap="sm">
            <Button type="submit" loading={running} data-testid="verify-start">
              {t('audit.verify.start')}
            </Button>
            {running && (
              <Button variant="default" onClick={() => controllerRef.current?.abort()}>
                {t('audit.stop')}
              </Button>
            )}
          </Group>
          {running && progress && (
            <Stack gap={4} data-testid="verify-progress">
              <Progress value={pct} aria-label={t('audit.verify.progressLabel')} size="lg" animated={pct < 100} />
              <Text size="sm">
                {progress.total
                  ? t('audit.verify.progress', { checked: formatNumber(progress.checked, lang), total: formatNumber(progress.total, lang), pct })
                  : t('audit.verify.starting')}
              </Text>
            </Stack>
          )}
          {error !== null && <ProblemAlert error={error} />}
          {report && <VerifyResult report={report} />}
          <div role="status" aria-live="polite" className="visually-hidden">
            {status}
          </div>
        </Stack>
      </form>
    </Paper>
  );
}

function ExportPanel() {
  const { t } = useTranslation('admin');
  const lang = useLang();
  const controllerRef = useAbortOnUnmount();
  const [format, setFormat] = useState<ExportFormat>('jsonl');
  const [order, setOrder] = useState<'asc' | 'desc'>('asc');
  const [filters, setFilters] = useState<ExportFilters>(NO_FILTERS);
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<{ bytes: number; records: number; total: number | null } | null>(null);
  const [done, setDone] = useState<{ file: string; records: number; bytes: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState('');
  const [dateError, setDateError] = useState<string | null>(null);

  const set = (k: keyof ExportFilters) => (e: { currentTarget: { value: string } }) => {
    const value = e.currentTarget.value;
    setFilters((f) => ({ ...f, [k]: value }));
  };
  const filtered = Object.values(filters).some((v) => v.trim());

  const run = async (e: FormEvent) => {
    e.preventDefault();
    if (filters.since && filters.until && filters.until < filters.since) {
      setDateError(t('audit.export.datesInvalid'));
      return;
    }
    setDateError(null);
    const c = new AbortController();
    controllerRef.current = c;
    setRunning(true);
    setDone(null);
    setError(null);
    setStatus(t('audit.export.started'));
    try {
      // without filters the export holds the whole chain: its head tells how much is coming
      let total: number | null = null;
      if (!filtered) {
        try {
          total = (await verifyRange(1, 1, c.signal)).chain_head.seq;
        } catch {
          total = null;
        }
      }
      setProgress({ bytes: 0, records: 0, total });
      const query = exportQuery(format, order, filters);
      const request = api.GET('/api/v1/audit/export', { params: { query }, parseAs: 'stream', signal: c.signal });
      const body = await unwrap(request);
      const { response } = await request;
      if (!body) throw new Error('empty export');
      const result = await readExport(body, format, (p) => setProgress({ ...p, total }), c.signal);
      const file = fileNameFrom(response.headers.get('Content-Disposition'), `audit-export.${format}`);
      saveBlob(result.blob, file);
      setDone({ file, records: result.records, bytes: result.bytes });
      setStatus(t('audit.export.saved', { file, count: result.records }));
    } catch (err) {
      if (isAbort(err) || c.signal.aborted) setStatus(t('audit.export.stopped'));
      else {
        setError(err);
        setStatus(t('audit.export.failed'));
      }
    } finally {
      setRunning(false);
      controllerRef.current = null;
    }
  };

  const pct = progress?.total ? percent(progress.records, progress.total) : null;
  return (
    <Paper withBorder p="md">
      <form onSubmit={(e) => void run(e)} noValidate>
        <Stack gap="sm">
          <Title order={3} size="h4">
            {t('audit.export.title')}
          </Title>
          <Text size="sm">{t('audit.export.intro')}</Text>
          <Group align="flex-start" gap="xl">
            <Radio.Group label={t('audit.export.format')} value={format} onChange={(v) => setFormat(v === 'csv' ? 'csv' : 'jsonl')}>
              <Group gap="md" mt={6}>
                <Radio value="jsonl" label={t('audit.export.jsonl')} disabled={running} />
                <Radio value="csv" label={t('audit.export.csv')} disabled={running} />
              </Group>
            </Radio.Group>
            <Select
              label={t('audit.export.order')}
              allowDeselect={false}
              data={[
                { value: 'asc', label: t('audit.export.asc') },
                { value: 'desc', label: t('audit.export.desc') },
              ]}
              value={order}
              onChange={(v) => setOrder(v === 'desc' ? 'desc' : 'asc')}
              disabled={running}
              w={200}
            />
          </Group>
          <SimpleGrid cols={{ base: 1, sm: 2, md: 3 }}>
            <TextInput label={t('audit.export.eventType')} description={t('audit.export.example', { example: 'identity.user.created' })} value={filters.event_type} onChange={set('event_type')} maxLength={200} disabled={running} />
            <TextInput label={t('audit.export.aggregateType')} description={t('audit.export.example', { example: 'identity.user' })} value={filters.aggregate_type} onChange={set('aggregate_type')} maxLength={100} disabled={running} />
            <TextInput label={t('audit.export.aggregateId')} value={filters.aggregate_id} onChange={set('aggregate_id')} maxLength={200} disabled={running} />
            <TextInput label={t('audit.export.actorId')} description={t('audit.export.actorHint')} value={filters.actor_id} onChange={set('actor_id')} maxLength={200} disabled={running} />
            <TextInput label={t('audit.export.clientId')} value={filters.client_id} onChange={set('client_id')} maxLength={64} disabled={running} />
            <div />
            <TextInput type="date" label={t('audit.export.since')} value={filters.since} onChange={set('since')} disabled={running} />
            <TextInput type="date" label={t('audit.export.until')} description={t('audit.export.untilHint')} value={filters.until} onChange={set('until')} disabled={running} error={dateError} />
          </SimpleGrid>
          <Group gap="sm">
            <Button type="submit" loading={running} data-testid="export-start">
              {t('audit.export.start')}
            </Button>
            {running && (
              <Button variant="default" onClick={() => controllerRef.current?.abort()}>
                {t('audit.stop')}
              </Button>
            )}
            {filtered && !running && (
              <Button variant="subtle" onClick={() => setFilters(NO_FILTERS)}>
                {t('audit.export.clearFilters')}
              </Button>
            )}
          </Group>
          {running && progress && (
            <Stack gap={4} data-testid="export-progress">
              {pct !== null ? (
                <Progress value={pct} aria-label={t('audit.export.progressLabel')} size="lg" animated />
              ) : (
                <Group gap="xs">
                  <Loader size="xs" aria-hidden="true" />
                </Group>
              )}
              <Text size="sm">
                {pct !== null
                  ? t('audit.export.progressPct', { records: formatNumber(progress.records, lang), size: formatBytes(progress.bytes, lang), pct })
                  : t('audit.export.progress', { records: formatNumber(progress.records, lang), size: formatBytes(progress.bytes, lang) })}
              </Text>
            </Stack>
          )}
          {error !== null && <ProblemAlert error={error} />}
          {done && (
            <Alert color="teal" variant="light" data-testid="export-done" style={{ '--alert-color': '#05603f' }}>
              {t('audit.export.savedLong', { file: done.file, count: done.records, records: formatNumber(done.records, lang), size: formatBytes(done.bytes, lang) })}
            </Alert>
          )}
          <div role="status" aria-live="polite" className="visually-hidden">
            {status}
          </div>
        </Stack>
      </form>
    </Paper>
  );
}

export default function AuditSection() {
  const { t } = useTranslation('admin');
  return (
    <Stack gap="md">
      <Title order={2} size="h3">
        {t('sections.audit')}
      </Title>
      <Text size="sm">{t('audit.intro')}</Text>
      <VerifyPanel />
      <ExportPanel />
    </Stack>
  );
}
