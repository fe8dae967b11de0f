import { describe, expect, it } from 'vitest';
import {
  ApiError,
  errorMessage,
  fieldName,
  parseRetryAfter,
  problemFieldErrors,
  problemMessage,
  toProblem,
  unmatchedFieldErrors,
} from './problem';

const validation = toProblem(422, {
  type: 'https://insureops.dev/problems/validation',
  title: 'Invalid input',
  status: 422,
  detail: 'body.username: Field required; body.password: Field required',
  errors: [
    { field: 'body.username', message: 'Field required', type: 'missing' },
    { field: 'body.password', message: 'Field required', type: 'missing' },
    { field: 'body.password', message: 'Too short' },
    { field: 'query.limit', message: 'must be at most 200' },
  ],
});

describe('field errors', () => {
  it('strips the location prefix', () => {
    expect(fieldName('body.email')).toBe('email');
    expect(fieldName('query.limit')).toBe('limit');
    expect(fieldName('body.terms.premium')).toBe('terms.premium');
    expect(fieldName('premium')).toBe('premium');
  });
  it('maps a problem to form fields, with aliases, joining messages', () => {
    expect(problemFieldErrors(validation, { username: 'email' }, ['email', 'password'])).toEqual({
      email: 'Field required',
      password: 'Field required; Too short',
    });
    expect(problemFieldErrors(validation)).toMatchObject({ username: 'Field required', limit: 'must be at most 200' });
  });
  it('keeps what no field shows', () => {
    expect(unmatchedFieldErrors(validation, ['email', 'password'], { username: 'email' })).toEqual(['limit: must be at most 200']);
  });
  it('is empty without errors', () => {
    expect(problemFieldErrors(null)).toEqual({});
    expect(problemFieldErrors(toProblem(404, { status: 404, title: 'Not found', detail: 'no such' }))).toEqual({});
  });
});

describe('toProblem', () => {
  it('keeps a problem body', () => {
    const p = toProblem(409, { type: 't', title: 'Conflict', status: 409, detail: 'moved meanwhile' });
    expect(p).toEqual({ type: 't', title: 'Conflict', status: 409, detail: 'moved meanwhile' });
  });
  it('makes one from anything else', () => {
    expect(toProblem(502, '<html>bad gateway</html>', 'Bad Gateway')).toEqual({
      type: 'about:blank',
      title: 'Bad Gateway',
      status: 502,
      detail: '<html>bad gateway</html>',
    });
    expect(toProblem(500, null).status).toBe(500);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('7')).toBe(7);
    const now = Date.parse('2026-12-02T10:00:00Z');
    expect(parseRetryAfter('Wed, 02 Dec 2026 10:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Wed, 02 Dec 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
  });
});

describe('problemMessage', () => {
  const p = (status: number, detail = 'why') => toProblem(status, { type: 't', title: 'x', status, detail });
  it('gives plain sentences for 403 and 404', () => {
    expect(problemMessage(p(403))).toEqual({ key: 'errors.forbidden' });
    expect(problemMessage(p(404))).toEqual({ key: 'errors.notFound' });
  });
  it('says how long to wait on 429', () => {
    expect(problemMessage(p(429), 12)).toEqual({ key: 'errors.rateLimited', values: { count: 12 } });
    expect(problemMessage(p(429))).toEqual({ key: 'errors.rateLimitedNoWait' });
    expect(errorMessage(new ApiError(p(429), 3))).toEqual({ key: 'errors.rateLimited', values: { count: 3 } });
  });
  it('passes the detail of a refusal on', () => {
    expect(problemMessage(p(409, 'the deal moved'))).toEqual({ key: 'errors.conflict', values: { detail: 'the deal moved' } });
    expect(problemMessage(p(422, 'not at this stage'))).toEqual({ key: 'errors.refused', values: { detail: 'not at this stage' } });
    expect(problemMessage(validation).key).toBe('errors.validation');
  });
  it('covers server, network and unknown errors', () => {
    expect(problemMessage(p(503))).toEqual({ key: 'errors.server' });
    expect(errorMessage(new TypeError('Failed to fetch'))).toEqual({ key: 'errors.network' });
    expect(errorMessage(new Error('x'))).toEqual({ key: 'errors.generic' });
  });
});
