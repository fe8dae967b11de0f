// RFC 9457 problems → what the user sees: field errors next to form fields, a plain sentence
// for everything else. Pure: no React, no i18next (messages are translation keys + values).
import type { Problem } from '../api/types';

export class ApiError extends Error {
  readonly problem: Problem;
  readonly status: number;
  /** Seconds to wait before trying again (from Retry-After), when the API said so. */
  readonly retryAfterSeconds: number | null;

  constructor(problem: Problem, retryAfterSeconds: number | null = null) {
    super(problem.detail || problem.title);
    this.name = 'ApiError';
    this.problem = problem;
    this.status = problem.status;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

function isProblemLike(body: unknown): body is Partial<Problem> {
  return typeof body === 'object' && body !== null && ('status' in body || 'title' in body || 'detail' in body);
}

/** Whatever came back with a non-2xx status, as a Problem (a non-problem body gets a generic one). */
export function toProblem(status: number, body: unknown, statusText = ''): Problem {
  if (isProblemLike(body)) {
    const errors = Array.isArray(body.errors)
      ? body.errors.filter((e): e is { field: string; message: string } => typeof e?.field === 'string' && typeof e?.message === 'string')
      : undefined;
    return {
      type: typeof body.type === 'string' ? body.type : 'about:blank',
      title: typeof body.title === 'string' ? body.title : statusText,
      status: typeof body.status === 'number' ? body.status : status,
      detail: typeof body.detail === 'string' ? body.detail : '',
      ...(typeof body.instance === 'string' ? { instance: body.instance } : {}),
      ...(errors && errors.length ? { errors } : {}),
    };
  }
  return { type: 'about:blank', title: statusText, status, detail: typeof body === 'string' ? body.slice(0, 300) : '' };
}

/** A network failure (no answer at all) as a Problem with status 0. */
export function networkProblem(detail = ''): Problem {
  return { type: 'about:blank', title: 'Network error', status: 0, detail };
}

/** Retry-After: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) return null;
  return Math.max(0, Math.ceil((t - now) / 1000));
}

const LOCATION_PREFIX = /^(body|query|path|header|cookie|form)\./;

/** `body.email` → `email`, `body.terms.premium` → `terms.premium`, `query.limit` → `limit`. */
export function fieldName(field: string): string {
  return field.replace(LOCATION_PREFIX, '');
}

/**
 * The problem's field errors keyed by form field name. `aliases` renames API fields to form
 * fields (e.g. `{ username: 'email' }`); with `known`, only those fields are returned.
 */
export function problemFieldErrors(
  problem: Problem | null | undefined,
  aliases: Record<string, string> = {},
  known?: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of problem?.errors ?? []) {
    const raw = fieldName(e.field);
    const name = aliases[raw] ?? raw;
    if (known && !known.includes(name)) continue;
    out[name] = out[name] ? `${out[name]}; ${e.message}` : e.message;
  }
  return out;
}

/** Field errors that no form field shows (to go in the form's alert, so none is lost). */
export function unmatchedFieldErrors(
  problem: Problem | null | undefined,
  known: readonly string[],
  aliases: Record<string, string> = {},
): string[] {
  return (problem?.errors ?? [])
    .filter((e) => {
      const raw = fieldName(e.field);
      return !known.includes(aliases[raw] ?? raw);
    })
    .map((e) => `${fieldName(e.field)}: ${e.message}`);
}

export interface Message {
  /** translation key in the `common` namespace */
  key: string;
  values?: Record<string, string | number>;
}

/** A plain sentence for a problem: what happened, and for 429 how long to wait. */
export function problemMessage(problem: Problem, retryAfterSeconds: number | null = null): Message {
  const detail = problem.detail || problem.title || '';
  switch (problem.status) {
    case 0:
      return { key: 'errors.network' };
    case 401:
      return { key: 'errors.unauthorized' };
    case 403:
      return { key: 'errors.forbidden' };
    case 404:
      return { key: 'errors.notFound' };
    case 409:
      return { key: 'errors.conflict', values: { detail } };
    case 422:
      return problem.errors?.length ? { key: 'errors.validation', values: { detail } } : { key: 'errors.refused', values: { detail } };
    case 429:
      return retryAfterSeconds !== null
        ? { key: 'errors.rateLimited', values: { count: retryAfterSeconds } }
        : { key: 'errors.rateLimitedNoWait' };
    default:
      if (problem.status >= 500) return { key: 'errors.server' };
      return detail ? { key: 'errors.refused', values: { detail } } : { key: 'errors.generic' };
  }
}

/** The message of anything thrown (an ApiError, a network TypeError, or else). */
export function errorMessage(error: unknown): Message {
  if (isApiError(error)) return problemMessage(error.problem, error.retryAfterSeconds);
  if (error instanceof TypeError) return { key: 'errors.network' };
  return { key: 'errors.generic' };
}

export function isNotFound(error: unknown): boolean {
  return isApiError(error) && error.status === 404;
}
