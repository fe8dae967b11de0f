// Sessions: login (password form), silent refresh (httpOnly cookie on /api/v1/auth/refresh),
// proactive refresh ~30 s before expiry, logout. Any non-2xx from refresh = "not logged in".
import type { TokenOut } from '../api/types';
import { ApiError, networkProblem, parseRetryAfter, toProblem } from '../lib/problem';
import { clearAccessToken, getAccessToken, getTokenExpiry, setAccessToken } from './tokenStore';

const TOKEN_URL = '/api/v1/auth/token';
const REFRESH_URL = '/api/v1/auth/refresh';
const REFRESH_AHEAD_MS = 30_000;

export type EndReason = 'expired' | 'logout';
const endListeners = new Set<(reason: EndReason) => void>();
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let expiryTimer: ReturnType<typeof setTimeout> | undefined;
let inflight: Promise<boolean> | null = null;

export function onSessionEnd(listener: (reason: EndReason) => void): () => void {
  endListeners.add(listener);
  return () => endListeners.delete(listener);
}

function url(path: string): string {
  return typeof location !== 'undefined' ? new URL(path, location.origin).toString() : path;
}

async function readProblem(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    const text = await response.text();
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return new ApiError(toProblem(response.status, body, response.statusText), parseRetryAfter(response.headers.get('Retry-After')));
}

function schedule(): void {
  clearTimeout(refreshTimer);
  clearTimeout(expiryTimer);
  const expiresAt = getTokenExpiry();
  if (expiresAt === null) return;
  const now = Date.now();
  refreshTimer = setTimeout(() => {
    void refreshSession();
  }, Math.max(1000, expiresAt - now - REFRESH_AHEAD_MS));
  // if every refresh failed, the session ends when the token does
  expiryTimer = setTimeout(() => {
    if (getTokenExpiry() === expiresAt) endSession('expired');
  }, Math.max(0, expiresAt - now));
}

function accept(token: TokenOut): void {
  setAccessToken(token);
  schedule();
}

/** POST /auth/token with the password form; throws ApiError (401 wrong credentials, 422, 429…). */
export async function login(email: string, password: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url(TOKEN_URL), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({ username: email, password }),
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiError(networkProblem(e instanceof Error ? e.message : ''));
  }
  if (!response.ok) throw await readProblem(response);
  accept((await response.json()) as TokenOut);
}

/**
 * One refresh at a time (callers share it). true with a new token in the store; false when
 * there is no session (any non-2xx, or no answer) — the token in hand is then kept until it ends.
 */
export function refreshSession(): Promise<boolean> {
  if (inflight) return inflight;
  inflight = (async () => {
    try {
      const post = () =>
        fetch(url(REFRESH_URL), {
          method: 'POST',
          headers: { Accept: 'application/json' },
          credentials: 'same-origin',
        });
      let response = await post();
      if (response.status === 409) {
        // Another tab refreshed with the same cookie a moment ago and received the next one: retry with it.
        await response.body?.cancel().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 300));
        response = await post();
      }
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        return false;
      }
      const token = (await response.json()) as TokenOut;
      if (!token?.access_token) return false;
      accept(token);
      return true;
    } catch {
      return false;
    } finally {
      inflight = null;
    }
  })();
  return inflight;
}

/** The middleware's path: after a 401 the token in hand is no good; refresh or end the session. */
export async function refreshAfterUnauthorized(): Promise<boolean> {
  const ok = await refreshSession();
  if (!ok) endSession('expired');
  return ok;
}

function endSession(reason: EndReason): void {
  clearTimeout(refreshTimer);
  clearTimeout(expiryTimer);
  const had = getAccessToken() !== null;
  clearAccessToken();
  if (had || reason === 'logout') endListeners.forEach((l) => l(reason));
}

/** DELETE /auth/refresh revokes the refresh token and clears its cookie; the token is dropped either way. */
export async function logout(): Promise<void> {
  try {
    await fetch(url(REFRESH_URL), { method: 'DELETE', credentials: 'same-origin' });
  } catch {
    // offline: the in-memory token is dropped anyway
  }
  endSession('logout');
}
