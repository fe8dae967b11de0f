// Server-sent events over fetch, so the access token travels in the Authorization header
// (never in a URL). A spec-following parser plus a reconnecting reader: backoff with jitter,
// Last-Event-ID on reconnect, a fresh token on 401 or `token_expired`, a heartbeat watchdog.

export interface SseEvent {
  /** `message` when the server named none */
  event: string;
  data: string;
  /** the last event id seen so far on this stream ('' if none) */
  id: string;
}

export interface SseParser {
  /** Feed decoded text as it arrives; events are emitted as soon as they are complete. */
  push(chunk: string): void;
  /** The stream ended: a half-sent event is dropped (as the spec says). */
  end(): void;
  readonly lastEventId: string;
}

export interface SseParserHandlers {
  onEvent: (event: SseEvent) => void;
  onComment?: (text: string) => void;
  onRetry?: (ms: number) => void;
}

export function createSseParser(handlers: SseParserHandlers, initialLastEventId = ''): SseParser {
  let buffer = '';
  let first = true;
  let pendingCR = false;
  let eventType = '';
  let data: string[] = [];
  let hasData = false;
  let lastEventId = initialLastEventId;

  const dispatch = () => {
    if (!hasData) {
      eventType = '';
      return;
    }
    const ev: SseEvent = { event: eventType || 'message', data: data.join('\n'), id: lastEventId };
    eventType = '';
    data = [];
    hasData = false;
    handlers.onEvent(ev);
  };

  const line = (l: string) => {
    if (l === '') {
      dispatch();
      return;
    }
    if (l.startsWith(':')) {
      handlers.onComment?.(l.slice(1).replace(/^ /, ''));
      return;
    }
    const colon = l.indexOf(':');
    const field = colon === -1 ? l : l.slice(0, colon);
    let value = colon === -1 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        eventType = value;
        break;
      case 'data':
        data.push(value);
        hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) handlers.onRetry?.(Number(value));
        break;
      default:
        break; // unknown fields are ignored
    }
  };

  return {
    push(chunk: string) {
      if (first && chunk.length) {
        if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
        first = false;
      }
      if (pendingCR) {
        // a CR ended the previous chunk: an LF right after it belongs to the same line break
        if (chunk.startsWith('\n')) chunk = chunk.slice(1);
        pendingCR = false;
      }
      buffer += chunk;
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer.charCodeAt(i);
        if (c === 10 /* \n */ || c === 13 /* \r */) {
          line(buffer.slice(start, i));
          if (c === 13) {
            if (i + 1 < buffer.length) {
              if (buffer.charCodeAt(i + 1) === 10) i++;
            } else {
              pendingCR = true;
            }
          }
          start = i + 1;
        }
      }
      buffer = buffer.slice(start);
    },
    end() {
      buffer = '';
      data = [];
      hasData = false;
      eventType = '';
    },
    get lastEventId() {
      return lastEventId;
    },
  };
}

export type SseStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface SseOptions {
  /** same-origin path, e.g. `/api/v1/pipeline/board/stream` */
  url: string;
  getToken: () => string | null;
  /** get a fresh access token; false when the session is over */
  refreshToken: () => Promise<boolean>;
  onEvent: (event: SseEvent) => void;
  onStatus?: (status: SseStatus, detail?: { httpStatus?: number; attempt: number }) => void;
  lastEventId?: string;
  fetchImpl?: typeof fetch;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** reconnect when nothing (not even a heartbeat) arrived for this long */
  idleTimeoutMs?: number;
  /** events that mean "reconnect now with a fresh token" */
  tokenExpiredEvent?: string;
  random?: () => number;
}

export interface SseConnection {
  close(): void;
  readonly lastEventId: string;
}

/** The wait before reconnect attempt `attempt` (1-based): doubling, capped, ±20 % jitter. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  const jitter = base * 0.2 * (random() * 2 - 1);
  return Math.max(0, Math.round(base + jitter));
}

export function connectSse(options: SseOptions): SseConnection {
  const {
    url,
    getToken,
    refreshToken,
    onEvent,
    onStatus,
    fetchImpl = (...args: Parameters<typeof fetch>) => fetch(...args),
    initialBackoffMs = 1000,
    maxBackoffMs = 30000,
    idleTimeoutMs = 60000,
    tokenExpiredEvent = 'token_expired',
    random = Math.random,
  } = options;

  let closed = false;
  let lastEventId = options.lastEventId ?? '';
  let retryMs = initialBackoffMs;
  let current: AbortController | null = null;
  let wakeUp: (() => void) | null = null;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        wakeUp = null;
        resolve();
      }, ms);
      wakeUp = () => {
        clearTimeout(t);
        wakeUp = null;
        resolve();
      };
    });

  /** One connection; resolves with what to do next. */
  const once = async (attempt: number): Promise<'refresh' | 'backoff' | 'now' | 'stop'> => {
    let token = getToken();
    if (!token) {
      if (!(await refreshToken())) return 'backoff';
      token = getToken();
      if (!token) return 'backoff';
    }
    const controller = new AbortController();
    current = controller;
    const headers: Record<string, string> = { Accept: 'text/event-stream', Authorization: `Bearer ${token}` };
    if (lastEventId) headers['Last-Event-ID'] = lastEventId;
    onStatus?.(attempt === 0 ? 'connecting' : 'reconnecting', { attempt });
    let response: Response;
    try {
      response = await fetchImpl(url, { headers, signal: controller.signal, cache: 'no-store', credentials: 'same-origin' });
    } catch {
      return closed ? 'stop' : 'backoff';
    }
    if (response.status === 401) {
      await response.body?.cancel().catch(() => undefined);
      return 'refresh';
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => undefined);
      onStatus?.('reconnecting', { httpStatus: response.status, attempt });
      return 'backoff';
    }
    onStatus?.('open', { attempt });
    let next = 'now' as 'refresh' | 'now';
    let gotEvent = false;
    const parser = createSseParser(
      {
        onEvent: (ev) => {
          lastEventId = ev.id;
          gotEvent = true;
          if (ev.event === tokenExpiredEvent) {
            next = 'refresh';
            controller.abort();
            return;
          }
          onEvent(ev);
        },
        onRetry: (ms) => {
          retryMs = ms;
        },
      },
      lastEventId,
    );
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let idle: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(), idleTimeoutMs);
    };
    arm();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        arm();
        parser.push(decoder.decode(value, { stream: true }));
      }
      parser.end();
    } catch {
      // aborted (token_expired, idle, close) or the connection broke
    } finally {
      clearTimeout(idle);
      reader.releaseLock?.();
    }
    if (closed) return 'stop';
    if (next === 'refresh') return 'refresh';
    // a stream that delivered something reconnects at once; one that died empty backs off
    return gotEvent ? 'now' : 'backoff';
  };

  const run = async () => {
    let attempt = 0;
    let failures = 0;
    while (!closed) {
      const next = await once(attempt);
      attempt++;
      if (closed || next === 'stop') break;
      if (next === 'refresh') {
        const ok = await refreshToken();
        if (ok) {
          failures = 0;
          continue;
        }
        failures++;
      } else if (next === 'now') {
        // the server ended a stream that worked: come back soon, without growing the wait
        failures = 0;
        await sleep(Math.min(retryMs, 250));
        continue;
      } else {
        failures++;
      }
      onStatus?.('reconnecting', { attempt: failures });
      await sleep(backoffDelay(failures, retryMs, maxBackoffMs, random));
    }
    onStatus?.('closed', { attempt });
  };

  void run();

  return {
    close() {
      closed = true;
      current?.abort();
      wakeUp?.();
    },
    get lastEventId() {
      return lastEventId;
    },
  };
}
