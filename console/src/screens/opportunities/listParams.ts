// The Opportunities list's filters, sort and page live in the address (shareable, back/forward work).
import type { OpportunityListQuery } from '../../api/types';

export const PAGE_SIZE = 25;
export const SORTS = ['-updated_at', '-created_at', 'created_at', 'stage_entered_at', '-expected_premium', 'expected_premium', 'title', 'stage'] as const;
export type Sort = (typeof SORTS)[number];
export const DEFAULT_SORT: Sort = '-updated_at';
export const STATUSES = ['open', 'won', 'lost'] as const;
export const SLA_STATES = ['red', 'yellow', 'green'] as const;

/** Address parameter → API parameter. */
export const FILTER_PARAMS = {
  stage: 'stage',
  line: 'line_id',
  owner: 'owner_id',
  department: 'department_id',
  client: 'client_id',
  status: 'status',
  sla: 'sla_state',
} as const;
export type FilterParam = keyof typeof FILTER_PARAMS;

function oneOf<T extends string>(value: string | null, allowed: readonly T[]): T | undefined {
  return value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : undefined;
}

/** The API query for the address's parameters (unknown values are dropped, the page is 1-based). */
export function toListQuery(params: URLSearchParams): OpportunityListQuery {
  const page = Math.max(1, Math.floor(Number(params.get('page')) || 1));
  const query: OpportunityListQuery = {
    limit: PAGE_SIZE,
    offset: (page - 1) * PAGE_SIZE,
    sort: oneOf(params.get('sort'), SORTS) ?? DEFAULT_SORT,
  };
  for (const [param, key] of Object.entries(FILTER_PARAMS) as [FilterParam, (typeof FILTER_PARAMS)[FilterParam]][]) {
    const v = params.get(param);
    if (!v) continue;
    if (key === 'status') query.status = oneOf(v, STATUSES);
    else if (key === 'sla_state') query.sla_state = oneOf(v, SLA_STATES);
    else query[key] = v;
  }
  return query;
}

/** The address after changing one parameter: a filter or sort change goes back to page 1. */
export function withParam(params: URLSearchParams, name: string, value: string | null): URLSearchParams {
  const next = new URLSearchParams(params);
  if (value) next.set(name, value);
  else next.delete(name);
  if (name !== 'page') next.delete('page');
  return next;
}

export function pageOf(query: OpportunityListQuery): number {
  return Math.floor((query.offset ?? 0) / PAGE_SIZE) + 1;
}
