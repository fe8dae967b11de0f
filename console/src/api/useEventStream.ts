// A live SSE stream of the API as a hook (the board's, the notifications bell's).
import { useEffect, useRef, useState } from 'react';
import { refreshAfterUnauthorized } from '../auth/session';
import { getAccessToken } from '../auth/tokenStore';
import { connectSse, type SseEvent, type SseStatus } from '../lib/sse';

export interface EventStreamOptions {
  enabled?: boolean;
}

/** Connects while mounted (and enabled); `onEvent` may change without reconnecting. */
export function useEventStream(path: string, onEvent: (event: SseEvent) => void, { enabled = true }: EventStreamOptions = {}): SseStatus {
  const handler = useRef(onEvent);
  const [status, setStatus] = useState<SseStatus>('connecting');

  useEffect(() => {
    handler.current = onEvent;
  }, [onEvent]);

  useEffect(() => {
    if (!enabled) return undefined;
    const conn = connectSse({
      url: path,
      getToken: getAccessToken,
      refreshToken: refreshAfterUnauthorized,
      onEvent: (e) => handler.current(e),
      onStatus: (s) => setStatus(s),
    });
    return () => conn.close();
  }, [path, enabled]);

  return enabled ? status : 'closed';
}

/** The JSON of an event's data, or null. */
export function eventData<T = Record<string, unknown>>(event: SseEvent): T | null {
  try {
    return JSON.parse(event.data) as T;
  } catch {
    return null;
  }
}
