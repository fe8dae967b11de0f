import { keepPreviousData, useQuery, type QueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import type { CancellationQuote, Contract, ContractCancel, ContractIssue, ContractListQuery } from '../clients/records';

export const contractKeys = {
  all: ['contracts'] as const,
  list: (query: ContractListQuery) => ['contracts', 'list', query] as const,
  detail: (id: string) => ['contracts', 'detail', id] as const,
  quote: (id: string, effectiveDate: string) => ['contracts', 'quote', id, effectiveDate] as const,
};

const path = (id: string) => ({ params: { path: { contract_id: id } } });

export function useContracts(query: ContractListQuery) {
  return useQuery({
    queryKey: contractKeys.list(query),
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/contracts', { params: { query }, signal })),
    placeholderData: keepPreviousData,
  });
}

export function useContract(id: string) {
  return useQuery({
    queryKey: contractKeys.detail(id),
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/contracts/{contract_id}', { ...path(id), signal })),
  });
}

export function issueContract(id: string, body: ContractIssue): Promise<Contract> {
  return unwrap(api.POST('/api/v1/contracts/{contract_id}/issue', { ...path(id), body }));
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The refund the contracts service would store if the contract were cancelled from
 * `effectiveDate` (its rule lives in services/contracts/refund.py only). Asked only for a whole
 * `YYYY-MM-DD` date; a date outside the period is a 422 on `query.effective_date`.
 */
export function useCancellationQuote(id: string, effectiveDate: string) {
  return useQuery<CancellationQuote>({
    queryKey: contractKeys.quote(id, effectiveDate),
    enabled: ISO_DATE.test(effectiveDate),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET('/api/v1/contracts/{contract_id}/cancellation-quote', {
          params: { path: { contract_id: id }, query: { effective_date: effectiveDate } },
          signal,
        }),
      ),
    staleTime: 60_000,
  });
}

export function cancelContract(id: string, body: ContractCancel): Promise<Contract> {
  return unwrap(api.POST('/api/v1/contracts/{contract_id}/cancel', { ...path(id), body }));
}

/** After an issue or a cancellation: the client's status, the deal (completed on issue) and lists follow. */
export function contractChanged(queryClient: QueryClient, contract: Contract): void {
  queryClient.setQueryData(contractKeys.detail(contract.id), contract);
  // a quote is of the contract as it was: not asked again (a cancelled one has none, 409)
  queryClient.removeQueries({ queryKey: ['contracts', 'quote', contract.id] });
  void queryClient.invalidateQueries({ queryKey: contractKeys.all, predicate: (q) => q.queryKey[1] !== 'quote' });
  void queryClient.invalidateQueries({ queryKey: ['clients'] });
  void queryClient.invalidateQueries({ queryKey: ['client360', contract.client_id] });
  void queryClient.invalidateQueries({ queryKey: ['dashboard'] });
  if (contract.opportunity_id) {
    void queryClient.invalidateQueries({ queryKey: ['opportunity', contract.opportunity_id] });
    void queryClient.invalidateQueries({ queryKey: ['opportunities'] });
    void queryClient.invalidateQueries({ queryKey: ['board'] });
  }
}

/** A deal (for its title on links); the same cache entry as the deal's own page. */
export function useDeal(id: string | null | undefined) {
  return useQuery({
    queryKey: ['opportunity', id ?? ''],
    enabled: !!id,
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/opportunities/{opportunity_id}', { params: { path: { opportunity_id: id ?? '' } }, signal })),
    staleTime: 60_000,
  });
}
