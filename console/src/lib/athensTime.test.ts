import { describe, expect, it } from 'vitest';
import { athensLocalToISO, athensOffsetMs, isoToAthensLocal } from './athensTime';

describe('athensOffsetMs', () => {
  it('is two hours in winter and three in summer', () => {
    expect(athensOffsetMs(Date.parse('2026-12-02T10:00:00Z'))).toBe(2 * 3600_000);
    expect(athensOffsetMs(Date.parse('2026-07-01T10:00:00Z'))).toBe(3 * 3600_000);
  });
});

describe('athensLocalToISO', () => {
  it('reads the wall clock as Athens time', () => {
    expect(athensLocalToISO('2026-12-02T17:00')).toBe('2026-12-02T15:00:00Z');
    expect(athensLocalToISO('2026-07-01T12:30')).toBe('2026-07-01T09:30:00Z');
    expect(athensLocalToISO('2027-01-01T00:00')).toBe('2026-12-31T22:00:00Z');
  });
  it('handles both sides of the clock changes', () => {
    // 29 March 2026: 03:00 → 04:00; 25 October 2026: 04:00 → 03:00
    expect(athensLocalToISO('2026-03-29T02:59')).toBe('2026-03-29T00:59:00Z');
    expect(athensLocalToISO('2026-03-29T04:00')).toBe('2026-03-29T01:00:00Z');
    expect(athensLocalToISO('2026-03-29T03:30')).toBe('2026-03-29T01:30:00Z'); // skipped hour: an hour on
    expect(athensLocalToISO('2026-10-25T05:00')).toBe('2026-10-25T03:00:00Z');
    expect(athensLocalToISO('2026-10-25T02:00')).toBe('2026-10-24T23:00:00Z');
    expect(athensLocalToISO('2026-10-25T03:30')).toBe('2026-10-25T00:30:00Z'); // repeated hour: the first
  });
  it('refuses what is not a time', () => {
    expect(athensLocalToISO('')).toBeNull();
    expect(athensLocalToISO('2026-02-30T10:00')).toBeNull();
    expect(athensLocalToISO('tomorrow')).toBeNull();
  });
});

describe('isoToAthensLocal', () => {
  it('shows the instant on the Athens wall clock', () => {
    expect(isoToAthensLocal('2026-12-02T15:00:00Z')).toBe('2026-12-02T17:00');
    expect(isoToAthensLocal('2026-07-01T21:30:00Z')).toBe('2026-07-02T00:30');
    expect(isoToAthensLocal(null)).toBe('');
    expect(isoToAthensLocal('nope')).toBe('');
  });
  it('round-trips with athensLocalToISO', () => {
    for (const iso of ['2026-01-15T08:45:00Z', '2026-08-31T23:59:00Z', '2026-03-29T01:00:00Z']) {
      expect(athensLocalToISO(isoToAthensLocal(iso))).toBe(iso);
    }
  });
});
