import { keepPreviousData, replaceEqualDeep, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import { allPages, PAGE_LIMIT } from '../../lib/pages';
import type { Board, BoardQuery } from '../../api/types';

export const PER_STAGE = 100;

export const boardKeys = {
  all: ['board'] as const,
  board: (filters: BoardFilters) => ['board', filters] as const,
  stages: ['stages'] as const,
  lines: ['lines'] as const,
  users: ['users', 'active'] as const,
  departments: ['departments'] as const,
};

export type BoardFilters = Pick<BoardQuery, 'line_id' | 'owner_id' | 'department_id'>;

/** Every stage (a page at a time, like every list). */
export function allStages(signal?: AbortSignal) {
  return allPages((offset) => unwrap(api.GET('/api/v1/stages', { params: { query: { limit: PAGE_LIMIT, offset } }, signal })));
}

export function useStages() {
  return useQuery({
    queryKey: boardKeys.stages,
    queryFn: ({ signal }) => allStages(signal),
    select: (stages) => [...stages].sort((a, b) => a.position - b.position),
    staleTime: 5 * 60_000,
  });
}

// Boards the screen made itself (a move applied to the cache) already keep every unchanged column
// and card; comparing them deeply again (structural sharing) would only cost time on a drag.
const ownBoards = new WeakSet<object>();
export function markOwnBoard(board: Board): Board {
  ownBoards.add(board);
  return board;
}
function shareBoard(oldData: unknown, newData: unknown): unknown {
  if (typeof newData === 'object' && newData !== null && ownBoards.has(newData)) return newData;
  return replaceEqualDeep(oldData, newData);
}

export function useBoard(filters: BoardFilters, pollMs: number | false = false) {
  return useQuery({
    refetchInterval: pollMs,
    structuralSharing: shareBoard,
    queryKey: boardKeys.board(filters),
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/pipeline/board', { params: { query: { ...filters, per_stage: PER_STAGE } }, signal })),
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
}

export function useLines() {
  return useQuery({
    queryKey: boardKeys.lines,
    queryFn: ({ signal }) =>
      allPages((offset) => unwrap(api.GET('/api/v1/lines', { params: { query: { limit: PAGE_LIMIT, offset } }, signal }))),
    staleTime: 5 * 60_000,
  });
}

export function useActiveUsers() {
  return useQuery({
    queryKey: boardKeys.users,
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/users', { params: { query: { active: true, limit: 200, sort: 'name' } }, signal })),
    staleTime: 5 * 60_000,
  });
}

export function useDepartments() {
  return useQuery({
    queryKey: boardKeys.departments,
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/departments', { params: { query: { limit: 200, sort: 'name' } }, signal })),
    staleTime: 5 * 60_000,
  });
}
