// Premium totals of a board column, per currency. The backend is adding `premium_totals` to each
// column; until it does, the listed deals' `expected_premium` are summed here. One function, so
// switching is a no-op for the screens.
import type { BoardColumn, PremiumTotal } from '../api/types';
import { DEFAULT_CURRENCY } from './format';

interface PremiumCarrier {
  expected_premium?: string | null;
  currency?: string | null;
}

/** Decimal string → integer cents (exact for the 2-decimal amounts the API sends). */
export function toCents(amount: string): bigint | null {
  const m = /^\s*(-)?(\d+)(?:\.(\d{1,}))?\s*$/.exec(amount);
  if (!m) return null;
  const whole = BigInt(m[2] ?? '0');
  const fracDigits = (m[3] ?? '').padEnd(2, '0');
  let cents = whole * 100n + BigInt(fracDigits.slice(0, 2));
  // round half up on the third decimal, if any
  if (fracDigits.length > 2 && Number(fracDigits[2]) >= 5) cents += 1n;
  return m[1] ? -cents : cents;
}

export function fromCents(cents: bigint): string {
  const neg = cents < 0n;
  const abs = neg ? -cents : cents;
  const s = `${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
  return neg ? `-${s}` : s;
}

/** Sums expected premiums per currency (deals without a premium are skipped), currencies sorted. */
export function sumPremiums(deals: readonly PremiumCarrier[]): PremiumTotal[] {
  const totals = new Map<string, bigint>();
  for (const d of deals) {
    if (d.expected_premium === null || d.expected_premium === undefined) continue;
    const cents = toCents(d.expected_premium);
    if (cents === null) continue;
    const cur = d.currency || DEFAULT_CURRENCY;
    totals.set(cur, (totals.get(cur) ?? 0n) + cents);
  }
  return [...totals.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([currency, cents]) => ({ currency, amount: fromCents(cents) }) as PremiumTotal);
}

export interface ColumnPremium {
  totals: PremiumTotal[];
  /** true when the totals cover only the deals listed (the column has more than it lists) */
  partial: boolean;
}

/** The column's totals: the server's when it sends them, else the listed deals' sum. */
export function columnPremiumTotals(column: BoardColumn): ColumnPremium {
  const fromServer = (column as BoardColumn & { premium_totals?: PremiumTotal[] | null }).premium_totals;
  if (Array.isArray(fromServer)) return { totals: fromServer, partial: false };
  return { totals: sumPremiums(column.deals), partial: column.count > column.deals.length };
}
