import { describe, expect, it } from 'vitest';
import { pageOf, toListQuery, withParam } from './listParams';

describe('opportunity list parameters', () => {
  it('maps the address to the API query', () => {
    const q = toListQuery(new URLSearchParams('stage=needs_analysis&owner=u1&line=l1&status=open&sla=red&page=3&sort=-expected_premium'));
    expect(q).toEqual({ limit: 25, offset: 50, sort: '-expected_premium', stage: 'needs_analysis', owner_id: 'u1', line_id: 'l1', status: 'open', sla_state: 'red' });
    expect(pageOf(q)).toBe(3);
  });
  it('drops unknown values and defaults the sort and page', () => {
    expect(toListQuery(new URLSearchParams('status=maybe&sla=blue&sort=bogus&page=-2'))).toEqual({ limit: 25, offset: 0, sort: '-updated_at', status: undefined, sla_state: undefined });
  });
  it('goes back to page 1 when a filter changes', () => {
    const p = new URLSearchParams('page=4&stage=a');
    expect(withParam(p, 'stage', 'b').toString()).toBe('stage=b');
    expect(withParam(p, 'page', '5').toString()).toBe('page=5&stage=a');
    expect(withParam(p, 'stage', null).toString()).toBe('');
  });
});
