import { describe, expect, it } from 'vitest';
import { readClientFilters, toClientQuery, writeClientFilters } from './filters';

describe('client filters', () => {
  it('lists by name when not searching', () => {
    const f = readClientFilters(new URLSearchParams());
    expect(toClientQuery(f)).toEqual({ limit: 25, offset: 0, sort: 'name' });
    expect(writeClientFilters(f).toString()).toBe('');
  });
  it('asks the fuzzy search with q and leaves the order to its best matches', () => {
    const f = readClientFilters(new URLSearchParams('q=  aegan  &status=prospect&page=2'));
    expect(toClientQuery(f)).toEqual({ limit: 25, offset: 25, q: 'aegan', status: 'prospect' });
    expect(writeClientFilters(f).toString()).toBe('q=aegan&status=prospect&page=2');
  });
  it('keeps a chosen order while searching, and drops unknown values', () => {
    const f = readClientFilters(new URLSearchParams('q=x&sort=-created_at&status=gone&kind=company&archived=true&parent=nope'));
    expect(toClientQuery(f)).toEqual({ limit: 25, offset: 0, q: 'x', sort: '-created_at', kind: 'company', include_archived: true });
  });
  it('filters the subsidiaries of a parent', () => {
    const id = '23208125-88f2-4f35-a1f9-abb5bda24e67';
    expect(toClientQuery(readClientFilters(new URLSearchParams(`parent=${id}`)))).toMatchObject({ parent_id: id });
  });
});
