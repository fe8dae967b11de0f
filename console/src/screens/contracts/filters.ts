// The contracts list's filters in the address ↔ the API's query. Pure, unit-tested.
import { CONTRACT_STATUSES, type ContractListQuery, type ContractStatus } from '../clients/records';

export const CONTRACTS_PAGE_SIZE = 25;
export const CONTRACT_SORTS = ['-created_at', 'start_date', 'end_date', '-premium', 'status'] as const;
export type ContractSort = (typeof CONTRACT_SORTS)[number];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ContractFilters {
  status: ContractStatus | null;
  client: string | null;
  deal: string | null;
  /** a user id, or `me` */
  specialist: string | null;
  sort: ContractSort;
  page: number;
}

const uuid = (v: string | null) => (v && UUID.test(v) ? v : null);

export function readContractFilters(params: URLSearchParams): ContractFilters {
  const status = params.get('status') as ContractStatus | null;
  const specialist = params.get('specialist');
  const sort = params.get('sort') as ContractSort | null;
  const page = Number(params.get('page') ?? '1');
  return {
    status: status && CONTRACT_STATUSES.includes(status) ? status : null,
    client: uuid(params.get('client')),
    deal: uuid(params.get('deal')),
    specialist: specialist === 'me' ? 'me' : uuid(specialist),
    sort: sort && CONTRACT_SORTS.includes(sort) ? sort : '-created_at',
    page: Number.isInteger(page) && page >= 1 ? page : 1,
  };
}

export function writeContractFilters(f: ContractFilters): URLSearchParams {
  const p = new URLSearchParams();
  if (f.status) p.set('status', f.status);
  if (f.client) p.set('client', f.client);
  if (f.deal) p.set('deal', f.deal);
  if (f.specialist) p.set('specialist', f.specialist);
  if (f.sort !== '-created_at') p.set('sort', f.sort);
  if (f.page > 1) p.set('page', String(f.page));
  return p;
}

/** `me` becomes the caller's id (the contracts API takes only ids). */
export function toContractQuery(f: ContractFilters, myId: string, pageSize = CONTRACTS_PAGE_SIZE): ContractListQuery {
  const q: ContractListQuery = { limit: pageSize, offset: (f.page - 1) * pageSize, sort: f.sort };
  if (f.status) q.status = f.status;
  if (f.client) q.client_id = f.client;
  if (f.deal) q.opportunity_id = f.deal;
  if (f.specialist) q.specialist_id = f.specialist === 'me' ? myId : f.specialist;
  return q;
}
