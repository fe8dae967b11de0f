// Who is who: the users the caller may see (Admins: everyone; others: their department) and the
// departments, for showing names instead of ids. Ids not in the directory (e.g. someone in another
// department, seen by an Employee) show as "unknown".
import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import type { Department, User } from '../../api/types';
import { allStages } from '../board/queries';

const PAGE = 200;
const MAX_PAGES = 10;

export const directoryKeys = {
  users: ['users', 'directory'] as const,
  members: (departmentId: string) => ['users', 'members', departmentId] as const,
  departments: ['departments', 'directory'] as const,
};

async function allUsers(signal: AbortSignal): Promise<User[]> {
  const out: User[] = [];
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await unwrap(api.GET('/api/v1/users', { params: { query: { limit: PAGE, offset: page * PAGE, sort: 'name' } }, signal }));
    out.push(...res.items);
    if (out.length >= res.total || res.items.length === 0) break;
  }
  return out;
}

export function useUserDirectory() {
  const query = useQuery({
    queryKey: directoryKeys.users,
    queryFn: ({ signal }) => allUsers(signal),
    staleTime: 5 * 60_000,
  });
  const byId = new Map((query.data ?? []).map((u) => [u.id, u] as const));
  return { users: query.data ?? [], byId, isPending: query.isPending };
}

/** The active members of a department (for reassigning and for choosing a ticket's assignee). */
export function useDepartmentMembers(departmentId: string | null | undefined) {
  return useQuery({
    queryKey: directoryKeys.members(departmentId ?? ''),
    enabled: !!departmentId,
    queryFn: ({ signal }) =>
      unwrap(api.GET('/api/v1/users', { params: { query: { department_id: departmentId ?? '', active: true, limit: PAGE, sort: 'name' } }, signal })),
    select: (page) => page.items,
    staleTime: 60_000,
  });
}

export function useDepartmentDirectory() {
  const query = useQuery({
    queryKey: directoryKeys.departments,
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/departments', { params: { query: { limit: 200, sort: 'name' } }, signal })),
    select: (page) => page.items,
    staleTime: 5 * 60_000,
  });
  const byId = new Map<string, Department>((query.data ?? []).map((d) => [d.id, d] as const));
  return { departments: query.data ?? [], byId };
}

/** Stage names by key (the same cache entry as the board's stages). */
export function useStageNames(): Map<string, string> {
  const query = useQuery({
    queryKey: ['stages'],
    queryFn: ({ signal }) => allStages(signal),
    staleTime: 5 * 60_000,
  });
  return new Map((query.data ?? []).map((s) => [s.key, s.name] as const));
}
