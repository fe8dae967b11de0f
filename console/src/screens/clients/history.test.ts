import { describe, expect, it } from 'vitest';
import { actorName, displayValue, historyLine, plainValue, userIdsOf, type Lookups, type Translate } from './history';
import type { AuditRecord } from './records';

const dict: Record<string, string> = {
  'history.events.clients_client_updated': 'Profile changed',
  'history.kinds.task': 'Ticket: {{event}}',
  'history.stageMove': '{{from}} → {{to}}',
  'history.comment': '“{{body}}”',
  'history.system': 'InsureOps (automatic)',
  'history.someone': 'Someone',
  'history.yes': 'Yes',
  'history.no': 'No',
  'fields.parent_id': 'Parent company',
  'fields.status': 'Status',
  'status.active': 'Active',
  'status.prospect': 'Prospect',
  'tickets:priority.low': 'Low',
  'tickets:priority.urgent': 'Urgent',
  'contracts:origin.manual': 'Created by hand',
};
const t: Translate = (key, values) => {
  const s = dict[key];
  if (s === undefined) return undefined;
  return s.replace(/\{\{(\w+)\}\}/g, (_, k: string) => values?.[k] ?? '');
};
const lookups: Lookups = {
  user: (id) => ({ u1: 'Maria Papadopoulou' })[id],
  department: (id) => ({ d1: 'Sales' })[id],
  client: (id) => ({ c0: 'Aegean Maritime Group S.A.' })[id],
};

function record(over: Partial<AuditRecord>): AuditRecord {
  return {
    id: 1,
    seq: 1,
    event_id: 'e',
    event_type: 'clients.client.updated',
    event_version: 1,
    source: 'clients',
    aggregate_type: 'clients.client',
    aggregate_id: 'c1',
    client_id: 'c1',
    actor_type: 'user',
    actor_id: 'u1',
    occurred_at: '2026-12-02T06:21:29Z',
    recorded_at: '2026-12-02T06:21:29Z',
    correlation_id: null,
    causation_id: null,
    trace_id: null,
    changes: null,
    data: {},
    prev_hash: '0',
    hash: '1',
    ...over,
  };
}

describe('values', () => {
  it('shows nothing as a dash and objects as JSON', () => {
    expect(plainValue(null)).toBe('—');
    expect(plainValue('')).toBe('—');
    expect(plainValue(3)).toBe('3');
    expect(plainValue({ a: 1 })).toBe('{"a":1}');
  });
  it('names ids, translates statuses and priorities, keeps the rest', () => {
    expect(displayValue('client', 'parent_id', 'c0', t, lookups)).toBe('Aegean Maritime Group S.A.');
    expect(displayValue('task', 'assignee_id', 'u1', t, lookups)).toBe('Maria Papadopoulou');
    expect(displayValue('task', 'assignee_id', 'u9', t, lookups)).toBe('Someone');
    expect(displayValue('client', 'parent_id', 'c9', t, lookups)).toBe('c9');
    expect(displayValue('task', 'stage_key', 'needs_analysis', t, { ...lookups, stage: (k) => ({ needs_analysis: 'Needs Analysis' })[k] })).toBe('Needs Analysis');
    expect(displayValue('client', 'status', 'active', t, lookups)).toBe('Active');
    expect(displayValue('task', 'priority', 'urgent', t, lookups)).toBe('Urgent');
    expect(displayValue('contract', 'status', 'weird', t, lookups)).toBe('weird');
    expect(displayValue('client', 'email', 'a@b.gr', t, lookups)).toBe('a@b.gr');
    expect(displayValue('client', 'archived', true, t, lookups)).toBe('Yes');
  });
  it('formats dates and instants when told how', () => {
    const withDates: Lookups = { ...lookups, date: (v, kind) => `${kind}:${v}` };
    expect(displayValue('task', 'due_at', '2026-12-04T15:00:00Z', t, withDates)).toBe('instant:2026-12-04T15:00:00Z');
    expect(displayValue('contract', 'issue_date', '2026-12-01', t, withDates)).toBe('day:2026-12-01');
    expect(displayValue('contract', 'issue_date', 'soon', t, withDates)).toBe('soon');
    expect(displayValue('task', 'due_at', '2026-12-04T15:00:00Z', t, lookups)).toBe('2026-12-04T15:00:00Z');
  });
});

describe('historyLine', () => {
  it('gives each change its label and before → after', () => {
    const line = historyLine(
      record({ changes: [{ field: 'parent_id', before: null, after: 'c0' }, { field: 'status', before: 'prospect', after: 'active' }] }),
      t,
      lookups,
    );
    expect(line).toMatchObject({ what: 'Profile changed', who: 'Maria Papadopoulou', kind: 'client', link: '/clients/c1' });
    expect(line.changes).toEqual([
      { field: 'parent_id', label: 'Parent company', before: '—', after: 'Aegean Maritime Group S.A.' },
      { field: 'status', label: 'Status', before: 'Prospect', after: 'Active' },
    ]);
  });
  it('falls back to the kind of record and the raw field name', () => {
    const line = historyLine(
      record({ event_type: 'tasks.task.reopened', aggregate_type: 'tasks.task', aggregate_id: 't1', changes: [{ field: 'odd', before: 1, after: 2 }] }),
      t,
      lookups,
    );
    expect(line.what).toBe('Ticket: task.reopened');
    expect(line.link).toBe('/tickets/t1');
    expect(line.changes[0]).toEqual({ field: 'odd', label: 'odd', before: '1', after: '2' });
  });
  it('summarises stage moves and comments, and names the system', () => {
    const move = historyLine(
      record({
        event_type: 'pipeline.opportunity.stage_advanced',
        aggregate_type: 'pipeline.opportunity',
        actor_type: 'system',
        actor_id: 'tasks.sla_watch',
        data: { from_stage: { name: 'First Contact' }, to_stage: { name: 'Needs Analysis' } },
      }),
      t,
      lookups,
    );
    expect(move.summary).toBe('First Contact → Needs Analysis');
    expect(move.who).toBe('InsureOps (automatic)');
    expect(move.link).toBe('/opportunities/c1');
    const comment = historyLine(record({ event_type: 'tasks.task.commented', aggregate_type: 'tasks.task', data: { body: 'Survey requested.' } }), t, lookups);
    expect(comment.summary).toBe('“Survey requested.”');
  });
  it('leaves out fields empty before and after, and shows money in the record’s currency', () => {
    const line = historyLine(
      record({
        event_type: 'contracts.contract.created',
        aggregate_type: 'contracts.contract',
        data: { currency: 'USD' },
        changes: [
          { field: 'line_id', before: null, after: null },
          { field: 'premium', before: null, after: '1234.57' },
          { field: 'origin', before: null, after: 'manual' },
        ],
      }),
      t,
      { ...lookups, money: (a, c) => `${c ?? 'EUR'} ${a}` },
    );
    expect(line.changes.map((c) => [c.field, c.after])).toEqual([
      ['premium', 'USD 1234.57'],
      ['origin', 'Created by hand'],
    ]);
  });
  it('does not link records it has no screen for', () => {
    expect(historyLine(record({ aggregate_type: 'identity.user' }), t, lookups).link).toBeNull();
  });
  it('names an unknown user as someone', () => {
    expect(actorName({ actor_type: 'user', actor_id: 'zz' }, t, lookups)).toBe('Someone');
  });
  it('names a user:<id> actor too', () => {
    expect(actorName({ actor_type: 'user', actor_id: 'user:u1' }, t, lookups)).toBe('Maria Papadopoulou');
  });
  it('collects the user ids records name, to look up at once', () => {
    expect(
      userIdsOf([
        { actor_type: 'user', actor_id: 'u1', changes: [{ field: 'assignee_id', before: 'u2', after: 'u3' }, { field: 'phone', before: 'x', after: 'y' }] },
        { actor_type: 'system', actor_id: 'tasks.sla_watch', changes: null },
        { actor_type: 'service', actor_id: 'user:u4', changes: [{ field: 'owner_id', before: null, after: 'u1' }] },
      ]).sort(),
    ).toEqual(['u1', 'u2', 'u3', 'u4']);
  });
});
