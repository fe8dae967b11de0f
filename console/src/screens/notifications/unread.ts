// The unread counter kept live by the notification stream: a pure reducer over its events.
//
// `ready` (a fresh stream) gives the count and the newest sequence; each `notification` after it
// counts when it is new (a sequence above the last one seen) and unread. A resumed stream replays
// what was missed, as it is now: one read meanwhile does not count, one seen before is skipped.
import type { SseEvent } from '../../lib/sse';
import type { Notification } from './types';

export interface UnreadState {
  /** null until known (neither the API nor the stream said yet) */
  unread: number | null;
  /** the newest sequence number seen on the stream */
  lastSeq: number | null;
}

export interface UnreadStep {
  state: UnreadState;
  /** notifications that just arrived, new and unread (to announce and to refresh lists for) */
  fresh: Notification[];
  /** a notification arrived at all (new, read or not): lists showing it are out of date */
  changed: boolean;
}

export const initialUnread: UnreadState = { unread: null, lastSeq: null };

function parse(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return null;
  }
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0;
}

function isNotification(n: unknown): n is Notification {
  return typeof n === 'object' && n !== null && typeof (n as Notification).id === 'string' && Number.isInteger((n as Notification).sequence);
}

export function reduceUnread(state: UnreadState, event: SseEvent): UnreadStep {
  const same: UnreadStep = { state, fresh: [], changed: false };
  switch (event.event) {
    case 'ready': {
      const d = parse(event.data) as { last_event_id?: unknown; unread?: unknown } | null;
      if (!d) return same;
      const idFromEvent = /^\d+$/.test(event.id) ? Number(event.id) : null;
      const lastSeq = Number.isInteger(d.last_event_id) ? (d.last_event_id as number) : idFromEvent;
      const unread = isCount(d.unread) ? d.unread : state.unread;
      // a fresh start after a resume point beyond the newest: lists may be out of date too
      return { state: { unread, lastSeq: lastSeq ?? state.lastSeq }, fresh: [], changed: state.lastSeq !== null && lastSeq !== state.lastSeq };
    }
    case 'notification': {
      const n = parse(event.data);
      if (!isNotification(n)) return same;
      if (state.lastSeq !== null && n.sequence <= state.lastSeq) return same;
      const isUnread = !n.read_at;
      return {
        state: { unread: isUnread && state.unread !== null ? state.unread + 1 : state.unread, lastSeq: n.sequence },
        fresh: isUnread ? [n] : [],
        changed: true,
      };
    }
    default:
      return same;
  }
}

/** After marking one read here: one fewer (never below zero). */
export function afterMarkedRead(unread: number | null | undefined, wasUnread: boolean): number | null {
  if (unread === null || unread === undefined) return null;
  return wasUnread ? Math.max(0, unread - 1) : unread;
}
