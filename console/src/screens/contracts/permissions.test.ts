import { describe, expect, it } from 'vitest';
import { canCancel, canIssue, defaultEffectiveDate, defaultIssueDate, mayWrite } from './permissions';

const contract = { specialist_id: 'kostas', department_id: 'sales', start_date: '2027-01-01', end_date: '2027-12-31' };

describe('contract permissions', () => {
  it('lets the specialist, the department’s Manager and Admins act', () => {
    expect(mayWrite({ id: 'kostas', role: 'Employee', department_id: 'sales' }, contract)).toBe(true);
    expect(mayWrite({ id: 'sofia', role: 'Employee', department_id: 'sales' }, contract)).toBe(false);
    expect(mayWrite({ id: 'maria', role: 'Manager', department_id: 'sales' }, contract)).toBe(true);
    expect(mayWrite({ id: 'nikos', role: 'Manager', department_id: 'tech' }, contract)).toBe(false);
    expect(mayWrite({ id: 'admin', role: 'Admin', department_id: null }, contract)).toBe(true);
  });
  it('issues only what is pending; cancels what is not over', () => {
    expect(canIssue({ status: 'pending_issuance' })).toBe(true);
    expect(canIssue({ status: 'issued' })).toBe(false);
    expect(['pending_issuance', 'issued', 'active', 'expired', 'cancelled'].map((s) => canCancel({ status: s as never }))).toEqual([true, true, true, false, false]);
  });
  it('offers today, kept inside the period', () => {
    expect(defaultEffectiveDate(contract, '2026-12-02')).toBe('2027-01-01');
    expect(defaultEffectiveDate(contract, '2027-06-15')).toBe('2027-06-15');
    expect(defaultEffectiveDate(contract, '2028-02-01')).toBe('2027-12-31');
    expect(defaultIssueDate(contract, '2026-12-02')).toBe('2026-12-02');
    expect(defaultIssueDate(contract, '2028-01-05')).toBe('2027-12-31');
  });
});
