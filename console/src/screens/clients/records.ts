// Aliases of the generated OpenAPI schemas used by the tickets, clients and contracts screens
// (kept here, next to the screens, rather than in the shared api/types.ts that others edit too).
import type { components, paths } from '../../api/schema';

type S = components['schemas'];

export type Client = S['ClientOut'];
export type ClientCreate = S['ClientCreate'];
export type ClientUpdate = S['ClientUpdate'];
export type ClientPage = S['Page_ClientOut_'];
export type ClientStatus = Client['status'];
export type ClientKind = Client['kind'];
export type TreeNode = S['TreeNode'];
export type Client360 = S['Client360'];
export type Rollup = S['Rollup'];
export type AuditRecord = S['AuditRecordOut'];
export type AuditPage = S['AuditPage'];
export type FieldChange = S['FieldChangeOut'];
export type Missing = S['Missing'];
export type Contract = S['ContractOut'];
export type ContractPage = S['Page_ContractOut_'];
export type ContractStatus = Contract['status'];
export type ContractIssue = S['ContractIssue'];
export type ContractCancel = S['ContractCancel'];
export type CancellationQuote = S['CancellationQuote'];
export type TaskComment = S['CommentOut'];
export type TaskCreate = S['TaskCreate'];
export type TaskUpdate = S['TaskUpdate'];
export type Reassignment = S['Reassignment'];
export type TaskStatus = S['TaskOut']['status'];
export type TaskPriority = S['TaskOut']['priority'];

export type ClientListQuery = NonNullable<paths['/api/v1/clients']['get']['parameters']['query']>;
export type ContractListQuery = NonNullable<paths['/api/v1/contracts']['get']['parameters']['query']>;

export const CLIENT_STATUSES: readonly ClientStatus[] = ['prospect', 'active', 'inactive'];
export const CLIENT_KINDS: readonly ClientKind[] = ['company', 'individual'];
export const CONTRACT_STATUSES: readonly ContractStatus[] = ['pending_issuance', 'issued', 'active', 'expired', 'cancelled'];
export const TASK_STATUSES: readonly TaskStatus[] = ['open', 'in_progress', 'waiting', 'done', 'cancelled'];
export const ACTIVE_TASK_STATUSES: readonly TaskStatus[] = ['open', 'in_progress', 'waiting'];
export const TASK_PRIORITIES: readonly TaskPriority[] = ['low', 'normal', 'high', 'urgent'];
