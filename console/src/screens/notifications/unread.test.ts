import { describe, expect, it } from 'vitest';
import type { SseEvent } from '../../lib/sse';
import { afterMarkedRead, initialUnread, reduceUnread, type UnreadState } from './unread';

const ready = (lastId: number, unread: number): SseEvent => ({ event: 'ready', id: String(lastId), data: JSON.stringify({ last_event_id: lastId, unread }) });
const note = (seq: number, readAt: string | null = null): SseEvent => ({
  event: 'notification',
  id: String(seq),
  data: JSON.stringify({
    id: `n-${seq}`,
    sequence: seq,
    recipient_id: 'u',
    kind: 'task_assigned',
    title: `Task ${seq}`,
    body: '',
    link: { type: 'task', id: 't' },
    source_event_id: 'e',
    source_event_type: 'tasks.task.created',
    created_at: '2026-12-02T06:36:51Z',
    read_at: readAt,
  }),
});

function run(events: SseEvent[], start: UnreadState = initialUnread) {
  let state = start;
  const fresh: number[] = [];
  let changed = 0;
  for (const e of events) {
    const step = reduceUnread(state, e);
    state = step.state;
    fresh.push(...step.fresh.map((n) => n.sequence));
    if (step.changed) changed++;
  }
  return { state, fresh, changed };
}

describe('the unread counter over the stream', () => {
  it('starts from ready and counts each new unread notification', () => {
    const r = run([ready(157, 114), note(158), note(159)]);
    expect(r.state).toEqual({ unread: 116, lastSeq: 159 });
    expect(r.fresh).toEqual([158, 159]);
    expect(r.changed).toBe(2);
  });

  it('does not count a replayed notification that was read meanwhile, nor one seen before', () => {
    const r = run([ready(10, 2), note(11), note(12, '2026-12-02T07:00:00Z'), note(11), note(9)]);
    expect(r.state).toEqual({ unread: 3, lastSeq: 12 });
    expect(r.fresh).toEqual([11]);
  });

  it('a fresh ready (after a reconnect) resets the count to the server’s', () => {
    const r = run([ready(5, 1), note(6), ready(9, 0)]);
    expect(r.state).toEqual({ unread: 0, lastSeq: 9 });
    expect(r.changed).toBe(2); // the notification, then a ready that moved the sequence on
  });

  it('leaves an unknown count unknown (the API will say) but follows the sequence', () => {
    const r = run([note(3)]);
    expect(r.state).toEqual({ unread: null, lastSeq: 3 });
    expect(r.fresh).toEqual([3]);
  });

  it('takes the count from the API before the stream is ready', () => {
    expect(run([note(4)], { unread: 7, lastSeq: null }).state.unread).toBe(8);
  });

  it('ignores other events and unreadable data', () => {
    const s: UnreadState = { unread: 2, lastSeq: 4 };
    expect(reduceUnread(s, { event: 'message', id: '', data: 'x' })).toEqual({ state: s, fresh: [], changed: false });
    expect(reduceUnread(s, { event: 'notification', id: '5', data: 'not json' }).state).toBe(s);
    expect(reduceUnread(s, { event: 'notification', id: '5', data: '{"id":1}' }).state).toBe(s);
    expect(reduceUnread(s, { event: 'ready', id: '5', data: '{"unread":-1}' }).state).toEqual({ unread: 2, lastSeq: 5 });
  });

  it('marking one read here takes one off, never below zero', () => {
    expect(afterMarkedRead(3, true)).toBe(2);
    expect(afterMarkedRead(0, true)).toBe(0);
    expect(afterMarkedRead(3, false)).toBe(3);
    expect(afterMarkedRead(undefined, true)).toBeNull();
  });
});
