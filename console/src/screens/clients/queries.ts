import { keepPreviousData, useQueries, useQuery, type QueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import type { AuditPage, Client, ClientCreate, ClientListQuery, ClientUpdate } from './records';

export const clientKeys = {
  all: ['clients'] as const,
  list: (query: ClientListQuery) => ['clients', 'list', query] as const,
  detail: (id: string) => ['clients', 'detail', id] as const,
  view360: (id: string) => ['client360', id] as const,
};

const path = (id: string) => ({ params: { path: { client_id: id } } });

export function useClients(query: ClientListQuery, enabled = true) {
  return useQuery({
    queryKey: clientKeys.list(query),
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/clients', { params: { query }, signal })),
    placeholderData: keepPreviousData,
    enabled,
  });
}

/** One client (for names on links); nothing asked when there is no id. */
export function useClient(id: string | null | undefined) {
  return useQuery({
    queryKey: clientKeys.detail(id ?? ''),
    enabled: !!id,
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/clients/{client_id}', { ...path(id ?? ''), signal })),
    staleTime: 60_000,
  });
}

/**
 * Names of several clients (e.g. a page of contracts, which carry only the client's id): one cached
 * request per distinct client.
 */
export function useClientNames(ids: readonly string[]): Map<string, string> {
  const unique = [...new Set(ids)];
  return useQueries({
    queries: unique.map((id) => ({
      queryKey: clientKeys.detail(id),
      queryFn: ({ signal }: { signal: AbortSignal }) => unwrap(api.GET('/api/v1/clients/{client_id}', { ...path(id), signal })),
      staleTime: 5 * 60_000,
    })),
    combine: (results) => {
      const names = new Map<string, string>();
      results.forEach((r) => {
        if (r.data) names.set(r.data.id, r.data.name);
      });
      return names;
    },
  });
}

export function useClient360(id: string) {
  return useQuery({
    queryKey: clientKeys.view360(id),
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/clients/{client_id}/360', { ...path(id), signal })),
  });
}

export function createClient(body: ClientCreate): Promise<Client> {
  return unwrap(api.POST('/api/v1/clients', { body }));
}

export function updateClient(id: string, body: ClientUpdate): Promise<Client> {
  return unwrap(api.PATCH('/api/v1/clients/{client_id}', { ...path(id), body }));
}

/** Older history of a client (Managers and Admins), newest first, after `cursor`. */
export function clientHistoryPage(clientId: string, cursor: string, limit = 50): Promise<AuditPage> {
  return unwrap(api.GET('/api/v1/audit/records', { params: { query: { client_id: clientId, cursor, limit, order: 'desc' } } }));
}

export function clientChanged(queryClient: QueryClient, client: Client): void {
  queryClient.setQueryData(clientKeys.detail(client.id), client);
  void queryClient.invalidateQueries({ queryKey: clientKeys.all });
  void queryClient.invalidateQueries({ queryKey: ['client360'] });
}
