// Notifications' reads and writes, and the query keys the bell and the inbox share.
import { keepPreviousData, useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import type { Notification, NotificationListQuery, PreferencesUpdate } from './types';
import { afterMarkedRead } from './unread';

export const STREAM_PATH = '/api/v1/notifications/stream';
export const PAGE_SIZE = 20;
export const LATEST = 5;

export const notificationKeys = {
  all: ['notifications'] as const,
  unread: ['notifications', 'unread-count'] as const,
  lists: ['notifications', 'list'] as const,
  list: (query: NotificationListQuery) => ['notifications', 'list', query] as const,
  preferences: ['notifications', 'preferences'] as const,
};

/** The unread count; the bell's stream keeps it live (`pollMs` while the stream is down). */
export function useUnreadCount(pollMs: number | false = false) {
  return useQuery({
    queryKey: notificationKeys.unread,
    refetchInterval: pollMs,
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/notifications/unread-count', { signal })).then((r) => r.unread),
    staleTime: 60_000,
  });
}

export function useNotifications(query: NotificationListQuery, enabled = true) {
  return useQuery({
    queryKey: notificationKeys.list(query),
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/notifications', { params: { query }, signal })),
    placeholderData: keepPreviousData,
    enabled,
  });
}

export function usePreferences() {
  return useQuery({
    queryKey: notificationKeys.preferences,
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/notifications/preferences', { signal })),
  });
}

function markOneInCache(queryClient: QueryClient, updated: Notification) {
  queryClient.setQueriesData<{ items: Notification[] }>({ queryKey: notificationKeys.lists }, (page) =>
    page ? { ...page, items: page.items.map((n) => (n.id === updated.id ? updated : n)) } : page,
  );
}

/** Marks one read: the count drops at once, lists follow. */
export function useMarkRead() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (n: Notification) => unwrap(api.POST('/api/v1/notifications/{notification_id}/read', { params: { path: { notification_id: n.id } } })),
    onSuccess: (updated, n) => {
      queryClient.setQueryData<number | null>(notificationKeys.unread, (c) => afterMarkedRead(c, !n.read_at) ?? c);
      markOneInCache(queryClient, updated);
      void queryClient.invalidateQueries({ queryKey: notificationKeys.lists });
      void queryClient.invalidateQueries({ queryKey: notificationKeys.unread });
    },
  });
}

export function useMarkAllRead() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/notifications/read-all')),
    onSuccess: () => {
      queryClient.setQueryData(notificationKeys.unread, 0);
      void queryClient.invalidateQueries({ queryKey: notificationKeys.lists });
      void queryClient.invalidateQueries({ queryKey: notificationKeys.unread });
    },
  });
}

export function useSavePreferences() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: PreferencesUpdate) => unwrap(api.PUT('/api/v1/notifications/preferences', { body })),
    meta: { handlesErrors: true },
    onSuccess: (prefs) => queryClient.setQueryData(notificationKeys.preferences, prefs),
  });
}
