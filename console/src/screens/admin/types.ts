// Aliases of the generated OpenAPI schemas for the admin screens (no hand-written shapes).
import type { components, paths } from '../../api/schema';

type Schemas = components['schemas'];

export type User = Schemas['UserOut'];
export type UserCreate = Schemas['UserCreate'];
export type UserUpdate = Schemas['UserUpdate'];
export type Role = User['role'];
export type Department = Schemas['DepartmentOut'];
export type DepartmentCreate = Schemas['DepartmentCreate'];
export type DepartmentUpdate = Schemas['DepartmentUpdate'];
export type Line = Schemas['LineOut'];
export type LineCreate = Schemas['LineCreate'];
export type LineUpdate = Schemas['LineUpdate'];
export type Stage = Schemas['StageOut'];
export type StageUpdate = Schemas['StageUpdate'];
export type CalendarOut = Schemas['CalendarOut'];
export type CalendarIn = Schemas['CalendarIn'];
export type Weekday = CalendarIn['working_days'][number];
export type VerifyReport = Schemas['VerifyReport'];
export type ChainBreak = NonNullable<VerifyReport['break']>;
export type UserListQuery = NonNullable<paths['/api/v1/users']['get']['parameters']['query']>;
export type ExportQuery = NonNullable<paths['/api/v1/audit/export']['get']['parameters']['query']>;
export type ExportFormat = NonNullable<ExportQuery['format']>;
