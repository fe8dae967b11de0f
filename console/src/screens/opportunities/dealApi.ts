// The deal's moves, shared by the board and the deal's page.
import type { QueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import type { Opportunity, TermsIn } from '../../api/types';

export const dealKeys = {
  list: ['opportunities'] as const,
  detail: (id: string) => ['opportunity', id] as const,
  timeline: (id: string) => ['opportunity', id, 'timeline'] as const,
  tasks: (id: string) => ['tasks', { opportunity_id: id }] as const,
  contract: (id: string) => ['contracts', { opportunity_id: id }] as const,
};

const path = (id: string) => ({ params: { path: { opportunity_id: id } } });

export function advanceDeal(id: string, fromStage: string): Promise<Opportunity> {
  return unwrap(api.POST('/api/v1/opportunities/{opportunity_id}/advance', { ...path(id), body: { from_stage: fromStage } }));
}

export function moveBackDeal(id: string, reason: string, fromStage: string): Promise<Opportunity> {
  return unwrap(api.POST('/api/v1/opportunities/{opportunity_id}/move-back', { ...path(id), body: { reason, from_stage: fromStage } }));
}

export function acceptDeal(id: string, terms: TermsIn): Promise<Opportunity> {
  return unwrap(api.POST('/api/v1/opportunities/{opportunity_id}/accept', { ...path(id), body: terms }));
}

export function declineDeal(id: string, reason: string): Promise<Opportunity> {
  return unwrap(api.POST('/api/v1/opportunities/{opportunity_id}/decline', { ...path(id), body: { reason } }));
}

/** After a deal moved: what shows it is out of date (the board is refreshed by the caller or the stream). */
export function invalidateDeal(queryClient: QueryClient, id: string, updated?: Opportunity): void {
  if (updated) queryClient.setQueryData(dealKeys.detail(id), updated);
  void queryClient.invalidateQueries({ queryKey: dealKeys.detail(id) });
  void queryClient.invalidateQueries({ queryKey: dealKeys.list });
  void queryClient.invalidateQueries({ queryKey: ['tasks'] });
  void queryClient.invalidateQueries({ queryKey: ['contracts'] });
  void queryClient.invalidateQueries({ queryKey: ['dashboard'] });
}
