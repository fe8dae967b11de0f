import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { api, unwrap } from '../api/client';
import { ApiError } from '../lib/problem';
import { login, logout, onSessionEnd, refreshSession } from './session';
import { clearAccessToken, getAccessToken } from './tokenStore';

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': status < 300 ? 'application/json' : 'application/problem+json', ...headers } });
const token = (value: string, expires_in = 900) => ({ access_token: value, token_type: 'bearer', expires_in });

type Handler = (req: Request) => Response | Promise<Response>;
function mockFetch(handler: Handler) {
  const calls: Request[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = input instanceof Request ? input : new Request(String(input), init);
      calls.push(req.clone());
      return handler(req);
    }),
  );
  return calls;
}

beforeEach(() => {
  clearAccessToken();
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('session', () => {
  it('logs in with the password form and keeps the token in memory only', async () => {
    const calls = mockFetch(() => json(200, token('t1')));
    await login('kostas@insureops.example.com', 'pw');
    expect(getAccessToken()).toBe('t1');
    expect(calls[0]!.url).toMatch(/\/api\/v1\/auth\/token$/);
    expect(calls[0]!.headers.get('Content-Type')).toBe('application/x-www-form-urlencoded');
    expect(await calls[0]!.text()).toBe('username=kostas%40insureops.example.com&password=pw');
    expect(localStorage.length + sessionStorage.length).toBe(0);
  });

  it('turns a refused login into an ApiError with the problem', async () => {
    mockFetch(() => json(401, { type: 't', title: 'Not authenticated', status: 401, detail: 'incorrect email or password' }));
    await expect(login('a@b', 'x')).rejects.toMatchObject({ status: 401, problem: { detail: 'incorrect email or password' } });
    mockFetch(() => json(429, { type: 't', title: 'Too many', status: 429, detail: 'slow down' }, { 'Retry-After': '12' }));
    const e = await login('a@b', 'x').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).retryAfterSeconds).toBe(12);
  });

  it('treats any non-2xx refresh as "not logged in", and shares one refresh between callers', async () => {
    const calls = mockFetch(() => new Response('nope', { status: 404 }));
    const [a, b] = await Promise.all([refreshSession(), refreshSession()]);
    expect([a, b]).toEqual([false, false]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.method).toBe('POST');
    expect(getAccessToken()).toBeNull();
  });

  it('refreshes about 30 s before the token expires', async () => {
    vi.useFakeTimers();
    let n = 0;
    mockFetch((req) => (req.url.endsWith('/auth/token') ? json(200, token('t0', 100)) : json(200, token(`r${++n}`, 100))));
    await login('a@b', 'pw');
    await vi.advanceTimersByTimeAsync(69_000);
    expect(getAccessToken()).toBe('t0');
    await vi.advanceTimersByTimeAsync(1_500);
    expect(getAccessToken()).toBe('r1');
  });

  it('ends the session when the token runs out and no refresh worked', async () => {
    vi.useFakeTimers();
    mockFetch((req) => (req.url.endsWith('/auth/token') ? json(200, token('t0', 60)) : new Response(null, { status: 401 })));
    const ended = vi.fn();
    const off = onSessionEnd(ended);
    await login('a@b', 'pw');
    await vi.advanceTimersByTimeAsync(61_000);
    expect(getAccessToken()).toBeNull();
    expect(ended).toHaveBeenCalledWith('expired');
    off();
  });

  it('logs out: DELETE on the refresh path, the token dropped', async () => {
    const calls = mockFetch((req) => (req.url.endsWith('/auth/token') ? json(200, token('t0')) : new Response(null, { status: 204 })));
    await login('a@b', 'pw');
    const ended = vi.fn();
    const off = onSessionEnd(ended);
    await logout();
    expect(calls.at(-1)!.method).toBe('DELETE');
    expect(calls.at(-1)!.url).toMatch(/\/api\/v1\/auth\/refresh$/);
    expect(getAccessToken()).toBeNull();
    expect(ended).toHaveBeenCalledWith('logout');
    off();
  });
});

describe('the API client middleware', () => {
  it('sends the bearer token; on a 401 refreshes once and retries once with the new token', async () => {
    const seen: string[] = [];
    mockFetch((req) => {
      if (req.url.endsWith('/auth/token')) return json(200, token('old'));
      if (req.url.endsWith('/auth/refresh')) return json(200, token('new'));
      seen.push(req.headers.get('Authorization') ?? '');
      return req.headers.get('Authorization') === 'Bearer new'
        ? json(200, { id: 'u', name: 'K', email: 'k@x', role: 'Employee', department_id: null, active: true, created_at: '', updated_at: '' })
        : json(401, { type: 't', title: 'x', status: 401, detail: 'expired' });
    });
    await login('a@b', 'pw');
    const me = await unwrap(api.GET('/api/v1/auth/me'));
    expect(me.name).toBe('K');
    expect(seen).toEqual(['Bearer old', 'Bearer new']);
  });

  it('retries a request with a body too, and gives up after one retry', async () => {
    const bodies: string[] = [];
    mockFetch(async (req) => {
      if (req.url.endsWith('/auth/token')) return json(200, token('old'));
      if (req.url.endsWith('/auth/refresh')) return json(200, token('new'));
      bodies.push(await req.text());
      return json(401, { type: 't', title: 'x', status: 401, detail: 'still no' });
    });
    await login('a@b', 'pw');
    const e = await unwrap(api.POST('/api/v1/opportunities/{opportunity_id}/decline', { params: { path: { opportunity_id: 'd1' } }, body: { reason: 'because' } })).catch((x: unknown) => x);
    expect(bodies).toEqual(['{"reason":"because"}', '{"reason":"because"}']);
    expect((e as ApiError).status).toBe(401);
  });

  it('ends the session when the refresh after a 401 fails', async () => {
    mockFetch((req) => {
      if (req.url.endsWith('/auth/token')) return json(200, token('old'));
      if (req.url.endsWith('/auth/refresh')) return new Response(null, { status: 401 });
      return json(401, { type: 't', title: 'x', status: 401, detail: 'expired' });
    });
    await login('a@b', 'pw');
    const ended = vi.fn();
    const off = onSessionEnd(ended);
    await expect(unwrap(api.GET('/api/v1/auth/me'))).rejects.toMatchObject({ status: 401 });
    expect(ended).toHaveBeenCalledWith('expired');
    expect(getAccessToken()).toBeNull();
    off();
  });

  it('turns a 404 problem into an ApiError the screens show as not found', async () => {
    mockFetch((req) => (req.url.endsWith('/auth/token') ? json(200, token('t')) : json(404, { type: 't', title: 'Not found', status: 404, detail: 'no opportunity x' })));
    await login('a@b', 'pw');
    await expect(unwrap(api.GET('/api/v1/opportunities/{opportunity_id}', { params: { path: { opportunity_id: 'x' } } }))).rejects.toMatchObject({ status: 404 });
  });
});
