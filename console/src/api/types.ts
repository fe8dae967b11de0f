// Aliases of the generated OpenAPI schemas: no hand-written request/response shapes.
import type { components, paths } from './schema';

type Schemas = components['schemas'];

export type Problem = Schemas['Problem'];
export type ProblemFieldError = NonNullable<Problem['errors']>[number];
export type TokenOut = Schemas['TokenOut'];
export type User = Schemas['UserOut'];
export type Role = User['role'];
export type Department = Schemas['DepartmentOut'];
export type Line = Schemas['LineOut'];
export type Stage = Schemas['StageOut'];
export type Opportunity = Schemas['OpportunityOut'];
export type OpportunityPage = Schemas['Page_OpportunityOut_'];
export type SlaState = NonNullable<Opportunity['sla_state']>;
export type OpportunityStatus = Opportunity['status'];
export type Board = Schemas['Board'];
export type BoardColumn = Schemas['BoardColumn'];
export type AdvanceBody = Schemas['AdvanceBody'];
export type MoveBackBody = Schemas['MoveBackBody'];
export type DeclineBody = Schemas['DeclineBody'];
export type TermsIn = Schemas['TermsIn'];
export type TermsOut = Schemas['TermsOut'];
export type Timeline = Schemas['Timeline'];
export type TimelineEntry = Schemas['TimelineEntry'];
export type Task = Schemas['TaskOut'];
export type TaskPage = Schemas['Page_TaskOut_'];
export type MemberLoad = Schemas['MemberLoad'];
export type Workload = Schemas['WorkloadOut'];
export type EmployeeDashboard = Schemas['EmployeeDashboard'];
export type ManagerDashboard = Schemas['ManagerDashboard'];
export type AdminDashboard = Schemas['AdminDashboard'];
export type Dashboard = EmployeeDashboard | ManagerDashboard | AdminDashboard;
export type MissingPart = Schemas['Missing'];
export type Health = Schemas['Health'];
export type Counts = Schemas['Counts'];

export type OpportunityListQuery = NonNullable<paths['/api/v1/opportunities']['get']['parameters']['query']>;
export type BoardQuery = NonNullable<paths['/api/v1/pipeline/board']['get']['parameters']['query']>;
export type TaskListQuery = NonNullable<paths['/api/v1/tasks']['get']['parameters']['query']>;

/**
 * A column's premium total per currency. The backend is adding `premium_totals` to BoardColumn;
 * once it is in openapi.json this resolves to the generated type, until then to the announced shape.
 */
export type PremiumTotal = BoardColumn extends { premium_totals?: (infer P)[] | null } ? P : { currency: string; amount: string };

/** The owner's name the backend is adding to OpportunityOut (optional until it lands). */
export type OpportunityWithOwner = Opportunity & { owner_name?: string | null };
