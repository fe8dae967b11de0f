// The tickets list's filters live in the address (shareable, back button works): URL search
// params ↔ the API's query. Pure, unit-tested.
import type { SlaState, TaskListQuery } from '../../api/types';
import { ACTIVE_TASK_STATUSES, TASK_PRIORITIES, TASK_STATUSES, type TaskPriority, type TaskStatus } from '../clients/records';

export const TICKETS_PAGE_SIZE = 25;
export const SLA_STATES: readonly SlaState[] = ['red', 'yellow', 'green'];
export const TICKET_SORTS = ['risk', 'due_at', '-created_at', '-updated_at', '-priority', '-number'] as const;
export type TicketSort = (typeof TICKET_SORTS)[number];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** `status=any`: every status (no `status` at all: the open work, the default). */
export const ANY = 'any';

export interface TicketFilters {
  statuses: TaskStatus[];
  priorities: TaskPriority[];
  sla: SlaState[];
  assignee: string | null;
  department: string | null;
  client: string | null;
  deal: string | null;
  escalated: boolean;
  sort: TicketSort;
  page: number;
}

function list<T extends string>(value: string | null, allowed: readonly T[]): T[] {
  if (!value) return [];
  return value.split(',').filter((v): v is T => (allowed as readonly string[]).includes(v));
}

function uuid(value: string | null): string | null {
  return value && UUID.test(value) ? value : null;
}

export function readFilters(params: URLSearchParams): TicketFilters {
  const status = params.get('status');
  const assignee = params.get('assignee');
  const sort = params.get('sort') as TicketSort | null;
  const page = Number(params.get('page') ?? '1');
  return {
    statuses: status === null ? [...ACTIVE_TASK_STATUSES] : status === ANY ? [] : list(status, TASK_STATUSES),
    priorities: list(params.get('priority'), TASK_PRIORITIES),
    sla: list(params.get('sla'), SLA_STATES),
    assignee: assignee === 'me' || assignee === 'none' ? assignee : uuid(assignee),
    department: uuid(params.get('department')),
    client: uuid(params.get('client')),
    deal: uuid(params.get('deal')),
    escalated: params.get('escalated') === 'true',
    sort: sort && TICKET_SORTS.includes(sort) ? sort : 'risk',
    page: Number.isInteger(page) && page >= 1 ? page : 1,
  };
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

/** The address of the filters (defaults left out); changing a filter goes back to page 1. */
export function writeFilters(f: TicketFilters): URLSearchParams {
  const p = new URLSearchParams();
  if (!sameSet(f.statuses, ACTIVE_TASK_STATUSES)) p.set('status', f.statuses.length ? f.statuses.join(',') : ANY);
  if (f.priorities.length) p.set('priority', f.priorities.join(','));
  if (f.sla.length) p.set('sla', f.sla.join(','));
  if (f.assignee) p.set('assignee', f.assignee);
  if (f.department) p.set('department', f.department);
  if (f.client) p.set('client', f.client);
  if (f.deal) p.set('deal', f.deal);
  if (f.escalated) p.set('escalated', 'true');
  if (f.sort !== 'risk') p.set('sort', f.sort);
  if (f.page > 1) p.set('page', String(f.page));
  return p;
}

/** The API query of the filters: at-risk first unless another order is chosen. */
export function toTaskQuery(f: TicketFilters, pageSize = TICKETS_PAGE_SIZE): TaskListQuery {
  const q: TaskListQuery = { limit: pageSize, offset: (f.page - 1) * pageSize, sort: f.sort };
  if (f.statuses.length) q.status = f.statuses;
  if (f.priorities.length) q.priority = f.priorities;
  if (f.sla.length) q.sla_state = f.sla;
  if (f.assignee) q.assignee = f.assignee;
  if (f.department) q.department_id = f.department;
  if (f.client) q.client_id = f.client;
  if (f.deal) q.opportunity_id = f.deal;
  if (f.escalated) q.escalated = true;
  return q;
}

export function pageCount(total: number, pageSize = TICKETS_PAGE_SIZE): number {
  return Math.max(1, Math.ceil(total / pageSize));
}
