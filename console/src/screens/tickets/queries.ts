import { keepPreviousData, useQuery, type QueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import type { Task, TaskListQuery } from '../../api/types';
import type { Reassignment, TaskComment, TaskCreate, TaskUpdate } from '../clients/records';

export const COMMENTS_PAGE = 100;

export const taskKeys = {
  all: ['tasks'] as const,
  list: (query: TaskListQuery) => ['tasks', 'list', query] as const,
  detail: (id: string) => ['tasks', 'detail', id] as const,
  comments: (id: string, page: number) => ['tasks', 'comments', id, page] as const,
};

const path = (id: string) => ({ params: { path: { task_id: id } } });

export function useTasks(query: TaskListQuery) {
  return useQuery({
    queryKey: taskKeys.list(query),
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/tasks', { params: { query }, signal })),
    placeholderData: keepPreviousData,
    // SLA states move with the clock: keep the at-risk order fresh while the list is open
    refetchInterval: 60_000,
  });
}

export function useTask(id: string) {
  return useQuery({
    queryKey: taskKeys.detail(id),
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/tasks/{task_id}', { ...path(id), signal })),
  });
}

/** The comment thread, oldest first, a page at a time (page 1: the first COMMENTS_PAGE). */
export function useComments(id: string, page: number) {
  return useQuery({
    queryKey: taskKeys.comments(id, page),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET('/api/v1/tasks/{task_id}/comments', {
          params: { path: { task_id: id }, query: { limit: COMMENTS_PAGE, offset: (page - 1) * COMMENTS_PAGE, sort: 'created_at' } },
          signal,
        }),
      ),
    placeholderData: keepPreviousData,
  });
}

export function createTask(body: TaskCreate): Promise<Task> {
  return unwrap(api.POST('/api/v1/tasks', { body }));
}

export function updateTask(id: string, body: TaskUpdate): Promise<Task> {
  return unwrap(api.PATCH('/api/v1/tasks/{task_id}', { ...path(id), body }));
}

export function reassignTask(id: string, body: Reassignment): Promise<Task> {
  return unwrap(api.POST('/api/v1/tasks/{task_id}/reassign', { ...path(id), body }));
}

export function addComment(id: string, body: string): Promise<TaskComment> {
  return unwrap(api.POST('/api/v1/tasks/{task_id}/comments', { ...path(id), body: { body } }));
}

/** After a change to a task: its page and every list showing it (the board, dashboard, Client 360). */
export function taskChanged(queryClient: QueryClient, task: Task): void {
  queryClient.setQueryData(taskKeys.detail(task.id), task);
  void queryClient.invalidateQueries({ queryKey: taskKeys.all });
  void queryClient.invalidateQueries({ queryKey: ['dashboard'] });
  if (task.client_id) void queryClient.invalidateQueries({ queryKey: ['client360', task.client_id] });
}
