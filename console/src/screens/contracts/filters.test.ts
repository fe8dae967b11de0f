import { describe, expect, it } from 'vitest';
import { readContractFilters, toContractQuery, writeContractFilters } from './filters';

const C = '23208125-88f2-4f35-a1f9-abb5bda24e67';
const ME = 'b2a7c7eb-e185-49c6-bec7-5c42eb65357b';

describe('contract filters', () => {
  it('lists newest first by default', () => {
    const f = readContractFilters(new URLSearchParams());
    expect(toContractQuery(f, ME)).toEqual({ limit: 25, offset: 0, sort: '-created_at' });
    expect(writeContractFilters(f).toString()).toBe('');
  });
  it('filters by status, client and the caller as specialist', () => {
    const f = readContractFilters(new URLSearchParams(`status=pending_issuance&client=${C}&specialist=me&page=2&sort=end_date`));
    expect(toContractQuery(f, ME)).toEqual({ limit: 25, offset: 25, sort: 'end_date', status: 'pending_issuance', client_id: C, specialist_id: ME });
    expect(writeContractFilters(f).toString()).toBe(`status=pending_issuance&client=${C}&specialist=me&sort=end_date&page=2`);
  });
  it('drops what is not valid', () => {
    expect(readContractFilters(new URLSearchParams('status=void&client=x&specialist=you&sort=name&page=-1'))).toEqual({
      status: null,
      client: null,
      deal: null,
      specialist: null,
      sort: '-created_at',
      page: 1,
    });
  });
});
