import { describe, expect, it } from 'vitest';
import type { Board, Opportunity } from '../../api/types';
import { classifyMove, findDeal, moveDeal, removeDeal } from './moves';

const keys = ['first_contact', 'needs_analysis', 'material_gathering', 'technical_assignment', 'quote_preparation', 'proposal_sent', 'client_decision', 'policy_issuance', 'completion'];
const stages = keys.map((key, i) => ({ key, name: key, position: i + 1, sla_hours: 8, department_id: null }));

describe('classifyMove', () => {
  it('advances to the next stage, moves back to the previous, refuses the rest', () => {
    expect(classifyMove('first_contact', 'needs_analysis', stages)).toBe('advance');
    expect(classifyMove('needs_analysis', 'first_contact', stages)).toBe('move-back');
    expect(classifyMove('first_contact', 'material_gathering', stages)).toBe('refused');
    expect(classifyMove('completion', 'first_contact', stages)).toBe('refused');
    expect(classifyMove('first_contact', 'first_contact', stages)).toBe('none');
    expect(classifyMove('first_contact', null, stages)).toBe('none');
    expect(classifyMove('first_contact', 'nowhere', stages)).toBe('refused');
  });
  it('asks for the terms when Client Decision goes to Policy Issuance', () => {
    expect(classifyMove('client_decision', 'policy_issuance', stages)).toBe('accept');
    expect(classifyMove('client_decision', 'proposal_sent', stages)).toBe('move-back');
  });
  it('follows the stage positions, not the list order', () => {
    expect(classifyMove('first_contact', 'needs_analysis', [...stages].reverse())).toBe('advance');
  });
});

const deal = (id: string, stage: number, premium: string | null = '100.00'): Opportunity =>
  ({ id, stage: stages[stage], expected_premium: premium, currency: 'EUR', stage_entered_at: '2026-12-01T00:00:00Z', sla_state: 'red' }) as unknown as Opportunity;

function board(): Board {
  return {
    total: 3,
    columns: stages.slice(0, 3).map((stage, i) => ({
      stage,
      count: i === 0 ? 2 : i === 1 ? 1 : 0,
      premium_totals: i === 0 ? [{ currency: 'EUR', amount: '200.00' }] : i === 1 ? [{ currency: 'EUR', amount: '100.00' }] : [],
      deals: i === 0 ? [deal('a', 0), deal('b', 0)] : i === 1 ? [deal('c', 1)] : [],
    })),
  };
}

describe('moveDeal', () => {
  it('moves the card, its count and premium, and leaves other columns as they were', () => {
    const before = board();
    const now = new Date('2026-12-02T10:00:00Z');
    const after = moveDeal(before, 'a', 'needs_analysis', undefined, now);
    expect(after.columns[0]!.deals.map((d) => d.id)).toEqual(['b']);
    expect(after.columns[0]!.count).toBe(1);
    expect(after.columns[0]!.premium_totals).toEqual([{ currency: 'EUR', amount: '100.00' }]);
    expect(after.columns[1]!.deals.map((d) => d.id)).toEqual(['a', 'c']);
    expect(after.columns[1]!.count).toBe(2);
    expect(after.columns[1]!.premium_totals).toEqual([{ currency: 'EUR', amount: '200.00' }]);
    const moved = findDeal(after, 'a')!.deal;
    expect(moved.stage.key).toBe('needs_analysis');
    expect(moved.stage_entered_at).toBe(now.toISOString());
    expect(moved.sla_state).toBe('green');
    expect(after.columns[2]).toBe(before.columns[2]);
  });
  it("uses the server's deal when given, also within the same column", () => {
    const server = { ...deal('a', 1), version: 2 } as Opportunity;
    expect(findDeal(moveDeal(board(), 'a', 'needs_analysis', server), 'a')!.deal).toBe(server);
    const same = { ...deal('a', 0), title: 'renamed' } as Opportunity;
    const after = moveDeal(board(), 'a', 'first_contact', same);
    expect(after.columns[0]!.count).toBe(2);
    expect(findDeal(after, 'a')!.deal).toBe(same);
  });
  it('adds a currency row a column did not have, and ignores unknown deals', () => {
    const b = board();
    const after = moveDeal(b, 'c', 'material_gathering');
    expect(after.columns[2]!.premium_totals).toEqual([{ currency: 'EUR', amount: '100.00' }]);
    expect(moveDeal(b, 'zzz', 'needs_analysis')).toBe(b);
  });
  it('removes a declined deal', () => {
    const after = removeDeal(board(), 'b');
    expect(after.total).toBe(2);
    expect(after.columns[0]!.deals.map((d) => d.id)).toEqual(['a']);
    expect(after.columns[0]!.premium_totals).toEqual([{ currency: 'EUR', amount: '100.00' }]);
  });
});
