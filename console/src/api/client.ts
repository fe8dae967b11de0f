// The typed API client: openapi-fetch over the generated schema, same origin (relative /api/v1),
// with a middleware adding the bearer token and, on a 401, refreshing once and retrying once.
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';
import { getAccessToken } from '../auth/tokenStore';
import { refreshAfterUnauthorized } from '../auth/session';
import { ApiError, networkProblem, parseRetryAfter, toProblem } from '../lib/problem';

const AUTH_PATHS = ['/api/v1/auth/token', '/api/v1/auth/refresh'];
const pending = new Map<string, Request>();

export const authMiddleware: Middleware = {
  onRequest({ request, schemaPath, id }) {
    const token = getAccessToken();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    if (!AUTH_PATHS.includes(schemaPath)) pending.set(id, request.clone());
    return request;
  },
  async onResponse({ response, id, options }) {
    const original = pending.get(id);
    pending.delete(id);
    if (response.status !== 401 || !original) return response;
    const ok = await refreshAfterUnauthorized();
    const token = getAccessToken();
    if (!ok || !token) return response;
    const retry = new Request(original, { headers: new Headers(original.headers) });
    retry.headers.set('Authorization', `Bearer ${token}`);
    return options.fetch(retry);
  },
  onError({ id }) {
    pending.delete(id);
  },
};

export const api = createClient<paths>({
  baseUrl: typeof location !== 'undefined' ? location.origin : '',
  headers: { Accept: 'application/json' },
  // looked up at each call (not captured once), so tests and wrappers can replace it
  fetch: (request: Request) => globalThis.fetch(request),
});
api.use(authMiddleware);

interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a 2xx answer; otherwise throws ApiError carrying the problem (and Retry-After). */
export async function unwrap<T>(promise: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await promise;
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError(networkProblem(e instanceof Error ? e.message : ''));
  }
  const { response } = result;
  if (!response.ok) {
    throw new ApiError(
      toProblem(response.status, result.error, response.statusText),
      parseRetryAfter(response.headers.get('Retry-After')),
    );
  }
  return result.data as T;
}
