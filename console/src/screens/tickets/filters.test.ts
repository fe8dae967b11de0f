import { describe, expect, it } from 'vitest';
import { pageCount, readFilters, toTaskQuery, writeFilters } from './filters';

const C = '23208125-88f2-4f35-a1f9-abb5bda24e67';

describe('ticket filters in the address', () => {
  it('defaults to the open work, at-risk first, page 1', () => {
    const f = readFilters(new URLSearchParams());
    expect(f).toMatchObject({ statuses: ['open', 'in_progress', 'waiting'], sort: 'risk', page: 1, assignee: null });
    expect(writeFilters(f).toString()).toBe('');
    expect(toTaskQuery(f)).toEqual({ limit: 25, offset: 0, sort: 'risk', status: ['open', 'in_progress', 'waiting'] });
  });
  it('reads every filter and drops what is not valid', () => {
    const f = readFilters(new URLSearchParams(`status=done,bogus&priority=high,urgent&sla=red&assignee=me&department=nope&client=${C}&sort=-priority&page=3`));
    expect(f).toMatchObject({ statuses: ['done'], priorities: ['high', 'urgent'], sla: ['red'], assignee: 'me', department: null, client: C, sort: '-priority', page: 3 });
    expect(toTaskQuery(f)).toEqual({
      limit: 25,
      offset: 50,
      sort: '-priority',
      status: ['done'],
      priority: ['high', 'urgent'],
      sla_state: ['red'],
      assignee: 'me',
      client_id: C,
    });
  });
  it('keeps "every status" apart from the default', () => {
    const f = readFilters(new URLSearchParams('status=any'));
    expect(f.statuses).toEqual([]);
    expect(writeFilters(f).get('status')).toBe('any');
    expect(toTaskQuery(f).status).toBeUndefined();
  });
  it('round-trips', () => {
    const qs = `status=open&priority=low&sla=yellow,red&assignee=none&client=${C}&escalated=true&sort=due_at&page=2`;
    expect(writeFilters(readFilters(new URLSearchParams(qs))).toString()).toBe(new URLSearchParams(qs).toString());
  });
  it('ignores a bad page or sort', () => {
    expect(readFilters(new URLSearchParams('page=0&sort=drop')).page).toBe(1);
    expect(readFilters(new URLSearchParams('page=2.5')).page).toBe(1);
    expect(readFilters(new URLSearchParams('sort=drop')).sort).toBe('risk');
  });
  it('counts pages', () => {
    expect(pageCount(0)).toBe(1);
    expect(pageCount(25)).toBe(1);
    expect(pageCount(26)).toBe(2);
  });
});
