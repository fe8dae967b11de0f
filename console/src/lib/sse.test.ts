import { describe, expect, it, vi } from 'vitest';
import { backoffDelay, connectSse, createSseParser, type SseEvent } from './sse';

function parse(chunks: string[], initialId = '') {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  const p = createSseParser({ onEvent: (e) => events.push(e), onComment: (c) => comments.push(c), onRetry: (r) => retries.push(r) }, initialId);
  chunks.forEach((c) => p.push(c));
  return { events, comments, retries, parser: p };
}

describe('SSE parser', () => {
  it('parses named events with JSON data and ids', () => {
    const { events } = parse([
      'event: ready\ndata: {"last_event_id": 5}\nid: 5\n\n',
      'event: opportunity\nid: 6\ndata: {"type":"pipeline.opportunity.stage_advanced","opportunity_id":"a","sequence":6}\n\n',
    ]);
    expect(events).toEqual([
      { event: 'ready', data: '{"last_event_id": 5}', id: '5' },
      { event: 'opportunity', data: '{"type":"pipeline.opportunity.stage_advanced","opportunity_id":"a","sequence":6}', id: '6' },
    ]);
    expect(JSON.parse(events[1]!.data).sequence).toBe(6);
  });

  it('reassembles events split anywhere across chunks', () => {
    const text = 'event: notification\ndata: {"a":1}\nid: 9\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      const { events } = parse([text.slice(0, cut), text.slice(cut)]);
      expect(events).toEqual([{ event: 'notification', data: '{"a":1}', id: '9' }]);
    }
  });

  it('accepts CRLF and CR line endings, also split between chunks', () => {
    expect(parse(['data: x\r\n\r\n']).events).toEqual([{ event: 'message', data: 'x', id: '' }]);
    expect(parse(['data: y\r\r']).events).toEqual([{ event: 'message', data: 'y', id: '' }]);
    expect(parse(['data: z\r', '\n\r', '\n']).events).toEqual([{ event: 'message', data: 'z', id: '' }]);
  });

  it('joins multi-line data, keeps comments apart, reads retry', () => {
    const { events, comments, retries } = parse([': heartbeat\n', 'retry: 3000\n', 'data: one\ndata: two\n\n', ':\n']);
    expect(events).toEqual([{ event: 'message', data: 'one\ntwo', id: '' }]);
    expect(comments).toEqual(['heartbeat', '']);
    expect(retries).toEqual([3000]);
  });

  it('follows the spec on edge cases', () => {
    // no space after the colon; a field without a colon; unknown fields; an empty event is not sent
    const { events } = parse(['\ufeffdata:tight\nfoo: bar\n\n', 'event: x\n\n', 'data\n\n']);
    expect(events).toEqual([
      { event: 'message', data: 'tight', id: '' },
      { event: 'message', data: '', id: '' },
    ]);
  });

  it('keeps the last event id across events and from a reconnect', () => {
    const { events, parser } = parse(['id: 41\ndata: a\n\n', 'data: b\n\n'], '40');
    expect(events.map((e) => e.id)).toEqual(['41', '41']);
    expect(parser.lastEventId).toBe('41');
    expect(parse(['data: c\n\n'], '40').events[0]!.id).toBe('40');
  });

  it('drops a half-sent event at the end of the stream', () => {
    const { events, parser } = parse(['data: half']);
    parser.end();
    expect(events).toEqual([]);
  });
});

describe('backoff', () => {
  it('doubles up to the cap, with jitter of ±20 %', () => {
    expect(backoffDelay(1, 1000, 30000, () => 0.5)).toBe(1000);
    expect(backoffDelay(3, 1000, 30000, () => 0.5)).toBe(4000);
    expect(backoffDelay(10, 1000, 30000, () => 0.5)).toBe(30000);
    expect(backoffDelay(1, 1000, 30000, () => 1)).toBe(1200);
    expect(backoffDelay(1, 1000, 30000, () => 0)).toBe(800);
  });
});

function streamResponse(chunks: string[], status = 200): Response {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      chunks.forEach((c) => controller.enqueue(enc.encode(c)));
      controller.close();
    },
  });
  return new Response(body, { status, headers: { 'Content-Type': 'text/event-stream' } });
}

describe('connectSse', () => {
  it('sends the bearer token (never in the URL), refreshes on token_expired and resumes with Last-Event-ID', async () => {
    let token = 'old';
    const calls: { url: string; headers: Record<string, string> }[] = [];
    const events: SseEvent[] = [];
    const responses = [
      streamResponse(['event: ready\nid: 3\ndata: {"last_event_id":3}\n\n', 'event: token_expired\ndata: {}\n\n']),
      streamResponse(['event: opportunity\nid: 4\ndata: {"opportunity_id":"x"}\n\n']),
    ];
    const fetchImpl = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
      calls.push({ url: String(url), headers: init?.headers as Record<string, string> });
      const r = responses.shift();
      if (!r) return new Promise<Response>(() => undefined); // the third connection stays open
      return r;
    });
    const refreshToken = vi.fn(async () => {
      token = 'new';
      return true;
    });
    const conn = connectSse({
      url: '/api/v1/pipeline/board/stream',
      getToken: () => token,
      refreshToken,
      onEvent: (e) => events.push(e),
      fetchImpl: fetchImpl as unknown as typeof fetch,
      initialBackoffMs: 1,
    });
    await vi.waitFor(() => expect(calls.length).toBe(3));
    conn.close();
    expect(calls[0]!.url).toBe('/api/v1/pipeline/board/stream');
    expect(calls[0]!.headers.Authorization).toBe('Bearer old');
    expect(calls[0]!.headers['Last-Event-ID']).toBeUndefined();
    expect(calls[1]!.headers.Authorization).toBe('Bearer new');
    expect(calls[1]!.headers['Last-Event-ID']).toBe('3');
    expect(calls[2]!.headers['Last-Event-ID']).toBe('4');
    expect(refreshToken).toHaveBeenCalledTimes(1);
    expect(events.map((e) => e.event)).toEqual(['ready', 'opportunity']); // token_expired is handled, not passed on
  });

  it('refreshes after a 401 and backs off after other failures', async () => {
    const statuses: string[] = [];
    const seq = [new Response(null, { status: 401 }), new Response('nope', { status: 503 })];
    const fetchImpl = vi.fn(async () => seq.shift() ?? new Promise<Response>(() => undefined));
    const refreshToken = vi.fn(async () => true);
    const conn = connectSse({
      url: '/s',
      getToken: () => 't',
      refreshToken,
      onEvent: () => undefined,
      onStatus: (s, d) => statuses.push(`${s}${d?.httpStatus ? `:${d.httpStatus}` : ''}`),
      fetchImpl: fetchImpl as unknown as typeof fetch,
      initialBackoffMs: 1,
    });
    await vi.waitFor(() => expect(fetchImpl).toHaveBeenCalledTimes(3));
    conn.close();
    expect(refreshToken).toHaveBeenCalledTimes(1);
    expect(statuses).toContain('reconnecting:503');
  });
});
