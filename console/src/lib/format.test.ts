import { describe, expect, it } from 'vitest';
import {
  addYearsISO,
  athensDateISO,
  durationParts,
  formatDate,
  formatDateTime,
  formatDuration,
  formatHours,
  formatMoney,
  localeOf,
  secondsSince,
} from './format';

// Intl output may use narrow no-break spaces; compare with plain spaces.
const norm = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

describe('localeOf', () => {
  it('maps the languages to their locales', () => {
    expect(localeOf('el')).toBe('el-GR');
    expect(localeOf('en')).toBe('en-GB');
    expect(localeOf('de')).toBe('en-GB');
  });
});

describe('formatDateTime in Europe/Athens', () => {
  it('shows winter time (UTC+2)', () => {
    expect(norm(formatDateTime('2026-12-02T06:24:18Z', 'en'))).toBe('2 Dec 2026, 08:24');
    expect(norm(formatDateTime('2026-12-02T06:24:18Z', 'el'))).toMatch(/^2 Δεκ 2026, 8:24 π\.μ\.$/);
  });
  it('shows summer time (UTC+3)', () => {
    expect(norm(formatDateTime('2026-07-01T21:30:00Z', 'en'))).toBe('2 Jul 2026, 00:30');
    expect(norm(formatDateTime('2026-07-01T21:30:00Z', 'el'))).toMatch(/^2 Ιουλ 2026, 12:30 π\.μ\.$/);
  });
  it('crosses the DST change at the right instant', () => {
    // 29 March 2026, 03:00 Athens (01:00 UTC) clocks go forward to 04:00
    expect(norm(formatDateTime('2026-03-29T00:59:00Z', 'en'))).toBe('29 Mar 2026, 02:59');
    expect(norm(formatDateTime('2026-03-29T01:00:00Z', 'en'))).toBe('29 Mar 2026, 04:00');
  });
  it('handles missing and unreadable values', () => {
    expect(formatDateTime(null, 'en')).toBe('—');
    expect(formatDateTime('nonsense', 'en')).toBe('nonsense');
  });
});

describe('formatDate', () => {
  it('keeps a calendar date as that day in both languages', () => {
    expect(norm(formatDate('2027-01-01', 'en'))).toBe('1 Jan 2027');
    expect(norm(formatDate('2027-01-01', 'el'))).toBe('1 Ιαν 2027');
  });
  it('shows an instant as its day in Athens', () => {
    // 22:30 UTC on 31 Dec is already 1 Jan in Athens
    expect(norm(formatDate('2026-12-31T22:30:00Z', 'en'))).toBe('1 Jan 2027');
  });
  it('gives the Athens calendar date for date inputs', () => {
    expect(athensDateISO(new Date('2026-12-31T22:30:00Z'))).toBe('2027-01-01');
    expect(athensDateISO(new Date('2026-12-31T21:30:00Z'))).toBe('2026-12-31');
  });
  it('adds years to a date', () => {
    expect(addYearsISO('2027-01-01', 1)).toBe('2028-01-01');
    expect(addYearsISO('2028-02-29', 1)).toBe('2029-02-28');
  });
});

describe('formatMoney', () => {
  it('uses the record currency and the language locale', () => {
    expect(norm(formatMoney('15000.00', 'EUR', 'en'))).toBe('€15,000.00');
    expect(norm(formatMoney('15000.00', 'EUR', 'el'))).toBe('15.000,00 €');
    expect(norm(formatMoney('1234.5', 'USD', 'en'))).toBe('US$1,234.50');
    expect(norm(formatMoney(99.9, 'GBP', 'el'))).toBe('99,90 £');
  });
  it('defaults to EUR', () => {
    expect(norm(formatMoney('10', null, 'en'))).toBe('€10.00');
    expect(norm(formatMoney('10', 'bogus', 'el'))).toBe('10,00 €');
  });
  it('shows a dash for no amount', () => {
    expect(formatMoney(null, 'EUR', 'en')).toBe('—');
  });
});

describe('durations', () => {
  it('picks minutes, hours, then days', () => {
    expect(durationParts(30)).toEqual({ value: 1, unit: 'minute' });
    expect(durationParts(45 * 60)).toEqual({ value: 45, unit: 'minute' });
    expect(durationParts(3 * 3600 + 59)).toEqual({ value: 3, unit: 'hour' });
    expect(durationParts(47 * 3600)).toEqual({ value: 47, unit: 'hour' });
    expect(durationParts(2 * 86400 + 5)).toEqual({ value: 2, unit: 'day' });
  });
  it('formats short in both languages', () => {
    expect(formatDuration(3 * 3600, 'en')).toBe('3 h');
    expect(formatDuration(2 * 86400, 'en')).toBe('2 d');
    expect(formatDuration(45 * 60, 'en')).toBe('45 min');
    expect(formatDuration(3 * 3600, 'el')).toBe('3 ώ.');
    expect(formatDuration(2 * 86400, 'el')).toBe('2 ημ.');
    expect(norm(formatDuration(1500 * 86400, 'el'))).toBe('1.500 ημ.');
  });
  it('spells units out for screen readers', () => {
    expect(formatDuration(3 * 3600, 'en', 'long')).toBe('3 hours');
    expect(formatDuration(86400 * 2, 'el', 'long')).toBe('2 ημέρες');
  });
  it('formats SLA targets', () => {
    expect(formatHours(8, 'en')).toBe('8 h');
    expect(formatHours(40, 'el')).toBe('40 ώ.');
    expect(formatHours(1.5, 'el')).toBe('1,5 ώ.');
  });
  it('counts seconds since an instant', () => {
    const now = Date.parse('2026-12-02T10:00:00Z');
    expect(secondsSince('2026-12-02T07:00:00Z', now)).toBe(3 * 3600);
    expect(secondsSince('2026-12-02T11:00:00Z', now)).toBe(0);
  });
});
