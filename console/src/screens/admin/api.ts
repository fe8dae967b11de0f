// The admin screens' reads and writes. Keys share prefixes with the rest of the console
// (['users'], ['departments'], ['lines'], ['stages'], ['board']) so a change here refreshes the
// pickers, the board's columns and SLA targets everywhere.
import { keepPreviousData, useQuery, type QueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import { boardKeys } from '../board/queries';
import type { Department, User, UserListQuery } from './types';

export const PAGE_SIZE = 25;
const ALL_LIMIT = 200;

export const adminKeys = {
  users: ['users'] as const,
  userList: (query: UserListQuery) => ['users', 'admin', query] as const,
  allUsers: ['users', 'all'] as const,
  departments: ['departments'] as const,
  allDepartments: ['departments', 'all'] as const,
  lines: boardKeys.lines,
  stages: boardKeys.stages,
  board: boardKeys.all,
  calendar: ['calendar'] as const,
};

/** Every page of a paged list (the pickers need them all). */
async function allPages<T>(fetchPage: (offset: number) => Promise<{ items: T[]; total: number }>): Promise<T[]> {
  const out: T[] = [];
  for (let offset = 0; ; offset += ALL_LIMIT) {
    const page = await fetchPage(offset);
    out.push(...page.items);
    if (page.items.length < ALL_LIMIT || out.length >= page.total) return out;
  }
}

export function useUserList(query: UserListQuery) {
  return useQuery({
    queryKey: adminKeys.userList(query),
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/users', { params: { query }, signal })),
    placeholderData: keepPreviousData,
  });
}

/** Everyone, active or not, by name (to show names and to pick managers and specialists). */
export function useAllUsers() {
  return useQuery({
    queryKey: adminKeys.allUsers,
    queryFn: ({ signal }) =>
      allPages<User>((offset) => unwrap(api.GET('/api/v1/users', { params: { query: { limit: ALL_LIMIT, offset, sort: 'name' } }, signal }))),
    staleTime: 60_000,
  });
}

export function useAllDepartments() {
  return useQuery({
    queryKey: adminKeys.allDepartments,
    queryFn: ({ signal }) =>
      allPages<Department>((offset) => unwrap(api.GET('/api/v1/departments', { params: { query: { limit: ALL_LIMIT, offset, sort: 'name' } }, signal }))),
    staleTime: 60_000,
  });
}

export function useCalendar() {
  return useQuery({
    queryKey: adminKeys.calendar,
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/calendar', { signal })),
  });
}

/** After a user changed: every user list and picker (the board's owners too). */
export function invalidateUsers(queryClient: QueryClient): void {
  void queryClient.invalidateQueries({ queryKey: adminKeys.users });
  void queryClient.invalidateQueries({ queryKey: ['dashboard'] });
}

export function invalidateDepartments(queryClient: QueryClient): void {
  void queryClient.invalidateQueries({ queryKey: adminKeys.departments });
}

export function invalidateLines(queryClient: QueryClient): void {
  void queryClient.invalidateQueries({ queryKey: adminKeys.lines });
  void queryClient.invalidateQueries({ queryKey: adminKeys.board });
}

/** After a stage changed: the stage list and the board (its columns carry name and SLA target). */
export function invalidateStages(queryClient: QueryClient): void {
  void queryClient.invalidateQueries({ queryKey: adminKeys.stages });
  void queryClient.invalidateQueries({ queryKey: adminKeys.board });
  void queryClient.invalidateQueries({ queryKey: ['opportunities'] });
  void queryClient.invalidateQueries({ queryKey: ['opportunity'] });
}

/** Names by id, and the options of a picker. */
export function nameMap<T extends { id: string; name: string }>(items: readonly T[] | undefined): Map<string, string> {
  return new Map((items ?? []).map((i) => [i.id, i.name]));
}
