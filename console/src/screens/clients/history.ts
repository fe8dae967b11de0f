// An audit record as a line of a client's history: what happened (to which record), who did it,
// and each field's value before and after. Pure: translation and name lookups come in as functions.
import type { AuditRecord } from './records';

/** `t` with the `clients` namespace: a key and values → text, or undefined when there is no such key. */
export type Translate = (key: string, values?: Record<string, string>) => string | undefined;

export interface Lookups {
  user: (id: string) => string | undefined;
  department: (id: string) => string | undefined;
  client: (id: string) => string | undefined;
  /** a pipeline stage's name by its key */
  stage?: (key: string) => string | undefined;
  /** an instant (`…_at` fields) or a calendar date (`…_date` fields) as the reader's language shows it */
  date?: (value: string, kind: 'instant' | 'day') => string;
  /** an amount in a currency (null: the default one) */
  money?: (amount: string, currency: string | null) => string;
}

const MONEY_FIELDS = ['premium', 'refund', 'expected_premium', 'annual_premium'];

export type RecordKind = 'client' | 'deal' | 'task' | 'contract' | 'other';

export interface ChangeLine {
  field: string;
  label: string;
  before: string;
  after: string;
}

export interface HistoryLine {
  id: number;
  at: string;
  kind: RecordKind;
  /** where the record it concerns lives in the console, if anywhere */
  link: string | null;
  what: string;
  who: string;
  /** a short account of an event without field changes (a stage move, a comment) */
  summary: string | null;
  changes: ChangeLine[];
}

const KINDS: Record<string, RecordKind> = {
  'clients.client': 'client',
  'pipeline.opportunity': 'deal',
  'tasks.task': 'task',
  'contracts.contract': 'contract',
};
const LINKS: Record<RecordKind, string | null> = { client: '/clients/', deal: '/opportunities/', task: '/tickets/', contract: '/contracts/', other: null };

/** Fields holding an id, shown as the name they stand for. */
const ID_FIELDS: Record<string, 'user' | 'department' | 'client'> = {
  assignee_id: 'user',
  owner_id: 'user',
  specialist_id: 'user',
  manager_id: 'user',
  escalated_to: 'user',
  author_id: 'user',
  department_id: 'department',
  parent_id: 'client',
  client_id: 'client',
};

/** A user actor's id (`<uuid>` or `user:<uuid>`). */
function actorUserId(record: Pick<AuditRecord, 'actor_type' | 'actor_id'>): string | null {
  if (!record.actor_id) return null;
  if (record.actor_id.startsWith('user:')) return record.actor_id.slice(5);
  return record.actor_type === 'user' ? record.actor_id : null;
}

/** Every user id the records name (their actors, and user fields' before and after), to look up at once. */
export function userIdsOf(records: readonly Pick<AuditRecord, 'actor_type' | 'actor_id' | 'changes'>[]): string[] {
  const ids = new Set<string>();
  for (const r of records) {
    const actor = actorUserId(r);
    if (actor) ids.add(actor);
    for (const c of r.changes ?? []) {
      if (ID_FIELDS[c.field] !== 'user') continue;
      for (const v of [c.before, c.after]) if (typeof v === 'string' && v) ids.add(v);
    }
  }
  return [...ids];
}

/** The namespace holding a record kind's status names. */
const STATUS_KEYS: Partial<Record<RecordKind, string>> = {
  client: 'status.',
  contract: 'contracts:status.',
  task: 'tickets:status.',
  deal: 'common:status.',
};

/** The namespace holding a record kind's origin names. */
const ORIGIN_KEYS: Partial<Record<RecordKind, string>> = { contract: 'contracts:origin.', task: 'tickets:origin.' };

export const EMPTY = '—';

export function plainValue(value: unknown): string {
  if (value === null || value === undefined || value === '') return EMPTY;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

export function displayValue(kind: RecordKind, field: string, value: unknown, t: Translate, lookups: Lookups, currency: string | null = null): string {
  if ((typeof value === 'string' || typeof value === 'number') && value !== '' && lookups.money && MONEY_FIELDS.includes(field)) {
    return lookups.money(String(value), currency);
  }
  if (typeof value === 'string' && value) {
    const lookup = ID_FIELDS[field];
    if (lookup === 'user') return lookups.user(value) ?? t('history.someone') ?? value;
    if (lookup) return lookups[lookup](value) ?? value;
    if (field === 'stage_key' && lookups.stage) return lookups.stage(value) ?? value;
    if (lookups.date && field.endsWith('_at') && !Number.isNaN(Date.parse(value))) return lookups.date(value, 'instant');
    if (lookups.date && (field.endsWith('_date') || field === 'effective_date') && /^\d{4}-\d{2}-\d{2}$/.test(value)) return lookups.date(value, 'day');
    if (field === 'status' || field === 'sla_state' || field === 'priority' || field === 'kind' || field === 'origin') {
      const prefix =
        field === 'status'
          ? STATUS_KEYS[kind]
          : field === 'sla_state'
            ? 'common:sla.'
            : field === 'priority'
              ? 'tickets:priority.'
              : field === 'origin'
                ? ORIGIN_KEYS[kind]
                : 'kind.';
      const text = prefix ? t(`${prefix}${value}`) : undefined;
      if (text) return text;
    }
  }
  if (typeof value === 'boolean') return t(value ? 'history.yes' : 'history.no') ?? String(value);
  return plainValue(value);
}

function stageName(value: unknown): string | null {
  if (value && typeof value === 'object' && 'name' in value && typeof value.name === 'string') return value.name;
  return null;
}

function summaryOf(record: AuditRecord, t: Translate): string | null {
  const data = record.data ?? {};
  if (record.event_type.endsWith('.stage_advanced') || record.event_type.endsWith('.moved_back')) {
    const from = stageName(data.from_stage);
    const to = stageName(data.to_stage);
    if (from && to) return t('history.stageMove', { from, to }) ?? null;
  }
  if (record.event_type === 'tasks.task.commented' && typeof data.body === 'string') {
    return t('history.comment', { body: data.body }) ?? null;
  }
  if (typeof data.reason === 'string' && data.reason) return t('history.reason', { reason: data.reason }) ?? null;
  return null;
}

export function actorName(record: Pick<AuditRecord, 'actor_type' | 'actor_id'>, t: Translate, lookups: Lookups): string {
  const userId = actorUserId(record);
  if (userId) return lookups.user(userId) ?? t('history.someone') ?? userId;
  if (record.actor_type === 'system' || record.actor_type === 'service') return t('history.system') ?? 'system';
  return record.actor_id ?? t('history.system') ?? 'system';
}

export function historyLine(record: AuditRecord, t: Translate, lookups: Lookups): HistoryLine {
  const kind = KINDS[record.aggregate_type] ?? 'other';
  const base = LINKS[kind];
  const eventKey = record.event_type.split('.').slice(1).join('.');
  const currency = typeof record.data?.currency === 'string' ? record.data.currency : null;
  const what = t(`history.events.${record.event_type.replace(/\./g, '_')}`) ?? t(`history.kinds.${kind}`, { event: eventKey }) ?? record.event_type;
  return {
    id: record.id,
    at: record.occurred_at,
    kind,
    link: base && record.aggregate_id ? `${base}${record.aggregate_id}` : null,
    what,
    who: actorName(record, t, lookups),
    summary: summaryOf(record, t),
    changes: (record.changes ?? [])
      .map((c) => ({
        field: c.field,
        label: t(`fields.${c.field}`) ?? c.field,
        before: displayValue(kind, c.field, c.before, t, lookups, currency),
        after: displayValue(kind, c.field, c.after, t, lookups, currency),
      }))
      // a field recorded as empty before and after says nothing
      .filter((c) => c.before !== EMPTY || c.after !== EMPTY),
  };
}
