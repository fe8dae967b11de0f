import { describe, expect, it } from 'vitest';
import { compareAtRisk, slaIndicator, sortAtRiskFirst } from './sla';

describe('slaIndicator', () => {
  it('shows yellow as amber, with a text label for every state', () => {
    expect(slaIndicator('green')).toMatchObject({ tone: 'green', labelKey: 'sla.green' });
    expect(slaIndicator('yellow')).toMatchObject({ tone: 'amber', labelKey: 'sla.yellow' });
    expect(slaIndicator('red')).toMatchObject({ tone: 'red', labelKey: 'sla.red' });
    expect(slaIndicator(null)).toMatchObject({ tone: 'none', labelKey: 'sla.none' });
    expect(slaIndicator(undefined).tone).toBe('none');
  });
  it('gives each state a distinct colour', () => {
    const colours = new Set(['green', 'yellow', 'red', null].map((s) => slaIndicator(s as never).color));
    expect(colours.size).toBe(4);
  });
});

describe('at-risk first', () => {
  it('orders red, yellow, green, then by due time, none last', () => {
    const items = [
      { id: 'g1', sla_state: 'green' as const, due_at: '2026-12-02T09:00:00Z' },
      { id: 'r2', sla_state: 'red' as const, due_at: null },
      { id: 'y1', sla_state: 'yellow' as const, due_at: '2026-12-03T09:00:00Z' },
      { id: 'r1', sla_state: 'red' as const, due_at: '2026-12-01T09:00:00Z' },
      { id: 'y0', sla_state: 'yellow' as const, due_at: '2026-12-02T09:00:00Z' },
      { id: 'n', sla_state: null, due_at: '2026-11-01T09:00:00Z' },
    ];
    expect(sortAtRiskFirst(items).map((i) => i.id)).toEqual(['r1', 'r2', 'y0', 'y1', 'g1', 'n']);
    expect(compareAtRisk(items[0]!, items[0]!)).toBe(0);
  });
});
