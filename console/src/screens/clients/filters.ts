// The clients list's search and filters in the address ↔ the API's query. Pure, unit-tested.
import { CLIENT_KINDS, CLIENT_STATUSES, type ClientKind, type ClientListQuery, type ClientStatus } from './records';

export const CLIENTS_PAGE_SIZE = 25;
export const CLIENT_SORTS = ['best', 'name', '-created_at', '-updated_at'] as const;
export type ClientSort = (typeof CLIENT_SORTS)[number];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ClientFilters {
  q: string;
  status: ClientStatus | null;
  kind: ClientKind | null;
  parent: string | null;
  archived: boolean;
  sort: ClientSort;
  page: number;
}

export function readClientFilters(params: URLSearchParams): ClientFilters {
  const status = params.get('status') as ClientStatus | null;
  const kind = params.get('kind') as ClientKind | null;
  const parent = params.get('parent');
  const sort = params.get('sort') as ClientSort | null;
  const page = Number(params.get('page') ?? '1');
  return {
    q: (params.get('q') ?? '').slice(0, 200),
    status: status && CLIENT_STATUSES.includes(status) ? status : null,
    kind: kind && CLIENT_KINDS.includes(kind) ? kind : null,
    parent: parent && UUID.test(parent) ? parent : null,
    archived: params.get('archived') === 'true',
    sort: sort && CLIENT_SORTS.includes(sort) ? sort : 'best',
    page: Number.isInteger(page) && page >= 1 ? page : 1,
  };
}

export function writeClientFilters(f: ClientFilters): URLSearchParams {
  const p = new URLSearchParams();
  if (f.q.trim()) p.set('q', f.q.trim());
  if (f.status) p.set('status', f.status);
  if (f.kind) p.set('kind', f.kind);
  if (f.parent) p.set('parent', f.parent);
  if (f.archived) p.set('archived', 'true');
  if (f.sort !== 'best') p.set('sort', f.sort);
  if (f.page > 1) p.set('page', String(f.page));
  return p;
}

/** Best matches first while searching (no `sort`); by name when not searching. */
export function toClientQuery(f: ClientFilters, pageSize = CLIENTS_PAGE_SIZE): ClientListQuery {
  const q: ClientListQuery = { limit: pageSize, offset: (f.page - 1) * pageSize };
  const text = f.q.trim();
  if (text) q.q = text;
  if (f.sort !== 'best') q.sort = f.sort;
  else if (!text) q.sort = 'name';
  if (f.status) q.status = f.status;
  if (f.kind) q.kind = f.kind;
  if (f.parent) q.parent_id = f.parent;
  if (f.archived) q.include_archived = true;
  return q;
}
