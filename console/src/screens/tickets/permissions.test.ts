import { describe, expect, it } from 'vitest';
import { allowedStatuses, canMoveDeadline, canReassign, isClosed } from './permissions';

const SALES = '46ba099d-971d-4c2b-9ad6-d7c67d8bbe22';
const TECH = '36b18aef-d1f0-4880-a6e8-d6d09333307c';

describe('task permissions', () => {
  it('lets the department’s Manager and Admins reassign open work', () => {
    const task = { status: 'open' as const, department_id: SALES };
    expect(canReassign({ role: 'Admin', department_id: null }, task)).toBe(true);
    expect(canReassign({ role: 'Manager', department_id: SALES }, task)).toBe(true);
    expect(canReassign({ role: 'Manager', department_id: TECH }, task)).toBe(false);
    expect(canReassign({ role: 'Employee', department_id: SALES }, task)).toBe(false);
    expect(canReassign({ role: 'Admin', department_id: null }, { status: 'done', department_id: SALES })).toBe(false);
  });
  it('lets Managers and Admins move deadlines', () => {
    expect(canMoveDeadline({ role: 'Manager' }, { status: 'waiting' })).toBe(true);
    expect(canMoveDeadline({ role: 'Employee' }, { status: 'open' })).toBe(false);
    expect(canMoveDeadline({ role: 'Admin' }, { status: 'cancelled' })).toBe(false);
  });
  it('offers only reopening on closed tasks', () => {
    expect(isClosed({ status: 'done' })).toBe(true);
    expect(isClosed({ status: 'waiting' })).toBe(false);
    expect(allowedStatuses({ status: 'done' })).toEqual(['done', 'open']);
    expect(allowedStatuses({ status: 'in_progress' })).toHaveLength(5);
  });
});
