// What a drop means, and the board cache after a move. Pure: unit-tested.
import type { Board, BoardColumn, Opportunity, PremiumTotal, Stage } from '../../api/types';
import { fromCents, toCents } from '../../lib/premium';

export const CLIENT_DECISION = 'client_decision';
export const POLICY_ISSUANCE = 'policy_issuance';

export type MoveKind = 'advance' | 'accept' | 'move-back' | 'none' | 'refused';

/** A drop from one stage onto another: the next stage advances (accept from Client Decision), the previous moves back. */
export function classifyMove(fromKey: string, toKey: string | null | undefined, stages: readonly Pick<Stage, 'key' | 'position'>[]): MoveKind {
  if (!toKey || toKey === fromKey) return 'none';
  const ordered = [...stages].sort((a, b) => a.position - b.position);
  const from = ordered.findIndex((s) => s.key === fromKey);
  const to = ordered.findIndex((s) => s.key === toKey);
  if (from === -1 || to === -1) return 'refused';
  if (to === from + 1) return fromKey === CLIENT_DECISION ? 'accept' : 'advance';
  if (to === from - 1) return 'move-back';
  return 'refused';
}

function adjustTotals(totals: readonly PremiumTotal[] | undefined, deal: Opportunity, sign: 1 | -1): PremiumTotal[] | undefined {
  if (!totals || deal.expected_premium === null || deal.expected_premium === undefined) return totals ? [...totals] : totals;
  const cents = toCents(deal.expected_premium);
  if (cents === null) return [...totals];
  const currency = deal.currency || 'EUR';
  const out = totals.map((t) => ({ ...t }));
  const row = out.find((t) => t.currency === currency);
  if (row) {
    const c = (toCents(row.amount) ?? 0n) + (sign === 1 ? cents : -cents);
    row.amount = fromCents(c < 0n ? 0n : c);
  } else if (sign === 1) {
    out.push({ currency, amount: fromCents(cents) } as PremiumTotal);
    out.sort((a, b) => (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0));
  }
  return out;
}

function withoutDeal(column: BoardColumn, deal: Opportunity): BoardColumn {
  return {
    ...column,
    count: Math.max(0, column.count - 1),
    deals: column.deals.filter((d) => d.id !== deal.id),
    premium_totals: adjustTotals(column.premium_totals, deal, -1) ?? column.premium_totals,
  };
}

function withDeal(column: BoardColumn, deal: Opportunity): BoardColumn {
  return {
    ...column,
    count: column.count + 1,
    deals: [deal, ...column.deals.filter((d) => d.id !== deal.id)],
    premium_totals: adjustTotals(column.premium_totals, deal, 1) ?? column.premium_totals,
  };
}

export function findDeal(board: Board, id: string): { deal: Opportunity; column: BoardColumn } | null {
  for (const column of board.columns) {
    const deal = column.deals.find((d) => d.id === id);
    if (deal) return { deal, column };
  }
  return null;
}

/**
 * The board with a deal moved to another stage (optimistically, or with the server's answer).
 * Columns not involved keep their identity, so their memoised rendering is skipped.
 */
export function moveDeal(board: Board, id: string, toKey: string, updated?: Opportunity, now: Date = new Date()): Board {
  const found = findDeal(board, id);
  if (!found) return board;
  const target = board.columns.find((c) => c.stage.key === toKey);
  if (!target) return board;
  const moved: Opportunity = updated ?? {
    ...found.deal,
    stage: target.stage,
    stage_entered_at: now.toISOString(),
    sla_state: 'green',
  };
  if (found.column.stage.key === toKey) {
    return { ...board, columns: board.columns.map((c) => (c === found.column ? { ...c, deals: c.deals.map((d) => (d.id === id ? moved : d)) } : c)) };
  }
  return {
    ...board,
    columns: board.columns.map((c) => {
      if (c === found.column) return withoutDeal(c, found.deal);
      if (c === target) return withDeal(c, moved);
      return c;
    }),
  };
}

/** The board without a deal (declined: it is closed and leaves the board). */
export function removeDeal(board: Board, id: string): Board {
  const found = findDeal(board, id);
  if (!found) return board;
  return { ...board, total: Math.max(0, board.total - 1), columns: board.columns.map((c) => (c === found.column ? withoutDeal(c, found.deal) : c)) };
}
