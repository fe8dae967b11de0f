import { describe, expect, it } from 'vitest';
import type { BoardColumn } from '../api/types';
import { columnPremiumTotals, fromCents, sumPremiums, toCents } from './premium';

describe('cents', () => {
  it('parses decimal strings exactly', () => {
    expect(toCents('15000.00')).toBe(1500000n);
    expect(toCents('0.1')).toBe(10n);
    expect(toCents('12')).toBe(1200n);
    expect(toCents('1.005')).toBe(101n);
    expect(toCents('abc')).toBeNull();
    expect(fromCents(30n)).toBe('0.30');
    expect(fromCents(-1234n)).toBe('-12.34');
  });
});

describe('sumPremiums', () => {
  it('sums per currency without float drift, skipping deals with no premium', () => {
    const deals = [
      { expected_premium: '0.10', currency: 'EUR' },
      { expected_premium: '0.20', currency: 'EUR' },
      { expected_premium: '100.00', currency: 'USD' },
      { expected_premium: null, currency: 'EUR' },
      { expected_premium: '5', currency: null },
    ];
    expect(sumPremiums(deals)).toEqual([
      { currency: 'EUR', amount: '5.30' },
      { currency: 'USD', amount: '100.00' },
    ]);
    expect(sumPremiums([])).toEqual([]);
  });
});

describe('columnPremiumTotals', () => {
  const stage = { key: 'first_contact', name: 'First Contact', position: 1, sla_hours: 8, department_id: null };
  const deal = (premium: string) => ({ expected_premium: premium, currency: 'EUR' }) as unknown as BoardColumn['deals'][number];
  it("uses the server's totals when it sends them", () => {
    const col = { stage, count: 3, deals: [deal('1.00')], premium_totals: [{ currency: 'EUR', amount: '30.00' }] } as BoardColumn;
    expect(columnPremiumTotals(col)).toEqual({ totals: [{ currency: 'EUR', amount: '30.00' }], partial: false });
  });
  it('falls back to summing the listed deals', () => {
    const col = { stage, count: 3, deals: [deal('1.00'), deal('2.50')] } as unknown as BoardColumn;
    expect(columnPremiumTotals(col)).toEqual({ totals: [{ currency: 'EUR', amount: '3.50' }], partial: true });
  });
});
