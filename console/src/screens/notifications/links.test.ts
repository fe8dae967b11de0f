import { describe, expect, it } from 'vitest';
import { linkRoute } from './links';

describe('linkRoute', () => {
  const id = '66b152a1-1861-4fd1-a037-5166c0f94ee7';
  it('maps each linked record type to its screen', () => {
    expect(linkRoute({ type: 'task', id })).toBe(`/tickets/${id}`);
    expect(linkRoute({ type: 'opportunity', id })).toBe(`/opportunities/${id}`);
    expect(linkRoute({ type: 'contract', id })).toBe(`/contracts/${id}`);
    expect(linkRoute({ type: 'client', id })).toBe(`/clients/${id}`);
  });
  it('has no route for unknown types, missing links or ids', () => {
    expect(linkRoute({ type: 'invoice', id })).toBeNull();
    expect(linkRoute({ type: 'constructor', id })).toBeNull();
    expect(linkRoute({ type: 'task', id: '' })).toBeNull();
    expect(linkRoute(null)).toBeNull();
    expect(linkRoute(undefined)).toBeNull();
  });
  it('keeps an odd id inside its path segment', () => {
    expect(linkRoute({ type: 'task', id: 'a/../b?c' })).toBe('/tickets/a%2F..%2Fb%3Fc');
  });
});
