import { describe, expect, it } from 'vitest';
import { centsToDecimal, dayNumber, divideHalfEven, parseDecimal, proRataRefund } from './refund';

describe('dayNumber', () => {
  it('counts days between calendar dates, leap years included', () => {
    expect(dayNumber('1970-01-01')).toBe(0);
    expect(dayNumber('2028-01-01')! - dayNumber('2027-01-01')!).toBe(365);
    expect(dayNumber('2029-01-01')! - dayNumber('2028-01-01')!).toBe(366);
    expect(dayNumber('2028-03-01')! - dayNumber('2028-02-28')!).toBe(2);
  });
  it('refuses what is not a real date', () => {
    expect(dayNumber('2027-02-29')).toBeNull();
    expect(dayNumber('2027-13-01')).toBeNull();
    expect(dayNumber('2027-1-01')).toBeNull();
    expect(dayNumber('')).toBeNull();
  });
});

describe('parseDecimal and divideHalfEven', () => {
  it('reads decimal strings exactly', () => {
    expect(parseDecimal('1200.50')).toEqual({ digits: 120050n, scale: 2 });
    expect(parseDecimal('42566.8')).toEqual({ digits: 425668n, scale: 1 });
    expect(parseDecimal('7')).toEqual({ digits: 7n, scale: 0 });
    expect(parseDecimal('-1')).toBeNull();
    expect(parseDecimal('1e3')).toBeNull();
  });
  it('rounds ties to even, everything else to nearest', () => {
    expect(divideHalfEven(5n, 2n)).toBe(2n); // 2.5 → 2
    expect(divideHalfEven(7n, 2n)).toBe(4n); // 3.5 → 4
    expect(divideHalfEven(10n, 4n)).toBe(2n); // 2.5 → 2
    expect(divideHalfEven(11n, 4n)).toBe(3n); // 2.75 → 3
    expect(divideHalfEven(9n, 4n)).toBe(2n); // 2.25 → 2
    expect(divideHalfEven(0n, 3n)).toBe(0n);
  });
  it('writes cents as a two-decimal string', () => {
    expect(centsToDecimal(60355n)).toBe('603.55');
    expect(centsToDecimal(5n)).toBe('0.05');
    expect(centsToDecimal(0n)).toBe('0.00');
  });
});

describe('proRataRefund', () => {
  it('is the full premium at the start and nothing at the end', () => {
    expect(proRataRefund('1200.50', '2027-01-01', '2027-12-31', '2027-01-01')).toMatchObject({ ok: true, amount: '1200.50', daysLeft: 364, daysInTerm: 364 });
    expect(proRataRefund('1200.50', '2027-01-01', '2027-12-31', '2027-12-31')).toMatchObject({ ok: true, amount: '0.00', daysLeft: 0 });
  });
  it('rounds half to even like Decimal ROUND_HALF_EVEN', () => {
    // 0.05 × 1/2 = 0.025 → 0.02; 0.15 × 1/2 = 0.075 → 0.08; 100.01 / 2 = 50.005 → 50.00; 100.03 / 2 = 50.015 → 50.02
    expect(proRataRefund('0.05', '2027-01-01', '2027-01-03', '2027-01-02')).toMatchObject({ amount: '0.02' });
    expect(proRataRefund('0.15', '2027-01-01', '2027-01-03', '2027-01-02')).toMatchObject({ amount: '0.08' });
    expect(proRataRefund('100.01', '2027-01-01', '2027-01-03', '2027-01-02')).toMatchObject({ amount: '50.00' });
    expect(proRataRefund('100.03', '2027-01-01', '2027-01-03', '2027-01-02')).toMatchObject({ amount: '50.02', cents: 5002n });
  });
  it('counts a leap year’s 366 days', () => {
    // 1000 × 306 / 366 = 836.065… → 836.07
    expect(proRataRefund('1000.00', '2028-01-01', '2029-01-01', '2028-03-01')).toMatchObject({ amount: '836.07', daysLeft: 306, daysInTerm: 366 });
  });
  it('refuses what the service refuses', () => {
    expect(proRataRefund('100', '2027-01-02', '2027-01-01', '2027-01-01')).toEqual({ ok: false, problem: 'period' });
    expect(proRataRefund('100', '2027-01-01', '2027-01-01', '2027-01-01')).toEqual({ ok: false, problem: 'period' });
    expect(proRataRefund('100', '2027-01-01', '2027-12-31', '2026-12-31')).toEqual({ ok: false, problem: 'outside' });
    expect(proRataRefund('100', '2027-01-01', '2027-12-31', '2028-01-01')).toEqual({ ok: false, problem: 'outside' });
    expect(proRataRefund('100', '2027-01-01', '2027-12-31', '')).toEqual({ ok: false, problem: 'date' });
    expect(proRataRefund('abc', '2027-01-01', '2027-12-31', '2027-06-01')).toEqual({ ok: false, problem: 'premium' });
  });
  // Generated with services/contracts/refund.py (pro_rata_refund) on random contracts.
  const fromBackend: [string, string, string, string, string][] = [
  ['4050.56', '2025-10-25', '2026-03-29', '2026-02-03', '1411.16'],
  ['30676.21', '2024-05-28', '2025-11-28', '2024-09-01', '25312.06'],
  ['42566.8', '2027-04-08', '2027-06-07', '2027-06-05', '1418.89'],
  ['36376.84', '2025-03-15', '2025-04-23', '2025-03-20', '31713.14'],
  ['7609.56', '2026-05-06', '2026-07-17', '2026-06-05', '4438.91'],
  ['47433.7', '2027-02-02', '2028-04-12', '2027-03-04', '44162.41'],
  ['48905.33', '2024-09-10', '2025-04-27', '2025-02-18', '14522.11'],
  ['4159.86', '2024-05-06', '2025-12-18', '2025-06-16', '1302.16'],
  ['11171.52', '2025-03-28', '2025-05-15', '2025-05-02', '3025.62'],
  ['45356.02', '2025-08-16', '2026-10-20', '2025-10-28', '37656.04'],
  ['46997.79', '2024-08-29', '2026-04-06', '2025-07-10', '21691.29'],
  ['48788.16', '2027-10-28', '2028-05-01', '2027-11-23', '41968.31'],
  ['31238.98', '2027-03-15', '2028-12-29', '2027-09-23', '22081.90'],
  ['47342.65', '2024-07-18', '2026-01-30', '2024-09-20', '41941.71'],
  ['41642.27', '2024-05-02', '2026-01-26', '2024-11-28', '27849.09'],
  ['26352.58', '2027-10-25', '2029-04-22', '2029-01-04', '5222.16'],
  ['30331.73', '2026-08-11', '2028-04-02', '2027-11-18', '6875.19'],
  ['20476.3', '2025-09-05', '2026-05-18', '2025-12-06', '13088.77'],
  ['44056.68', '2024-06-16', '2026-01-26', '2025-04-19', '21093.35'],
  ['24153.98', '2026-10-10', '2027-09-27', '2027-05-27', '8440.17'],
  ['42944.04', '2027-06-01', '2027-08-15', '2027-06-16', '34355.23'],
  ['12749.39', '2026-05-06', '2026-10-22', '2026-08-01', '6186.09'],
  ['6511.28', '2026-09-28', '2027-12-04', '2026-10-18', '6209.83'],
  ['28531.54', '2027-02-16', '2028-09-25', '2028-01-03', '12929.11'],
  ['41664.11', '2027-11-24', '2028-11-17', '2028-09-23', '6383.08'],
  ['7851.41', '2027-04-02', '2028-07-13', '2027-05-07', '7264.23'],
  ['5452.6', '2025-07-06', '2026-11-04', '2026-06-27', '1458.51'],
  ['25971.75', '2024-05-04', '2026-05-23', '2026-04-22', '1074.93'],
  ['23873.61', '2027-08-18', '2029-04-01', '2028-11-16', '5484.48'],
  ['29108.92', '2028-01-07', '2029-02-06', '2028-12-14', '3969.40'],
  ['14096.92', '2024-02-16', '2025-06-03', '2024-08-15', '8702.54'],
  ['4945.46', '2027-06-05', '2027-10-03', '2027-08-07', '2349.09'],
  ['10849.85', '2025-03-22', '2027-05-18', '2026-01-10', '6796.67'],
  ['41650.01', '2025-05-22', '2026-07-04', '2025-12-08', '21233.34'],
  ['33692.37', '2024-06-14', '2024-12-02', '2024-10-06', '11230.79'],
  ['36114.78', '2027-01-30', '2027-11-11', '2027-04-10', '27244.48'],
  ['30095.91', '2027-01-31', '2027-11-13', '2027-08-31', '7787.05'],
  ['12660.17', '2027-10-30', '2028-11-23', '2028-02-25', '8829.66'],
  ['19457.96', '2024-06-18', '2024-12-16', '2024-07-26', '15372.86'],
  ['40681.63', '2027-09-10', '2028-05-06', '2027-09-13', '40170.98'],
  ];
  it.each(fromBackend)('premium %s, %s–%s, from %s: %s (as the backend)', (premium, start, end, effective, expected) => {
    const r = proRataRefund(premium, start, end, effective);
    expect(r.ok && r.amount).toBe(expected);
  });
});
