// The pro-rata refund of a cancelled contract, computed exactly as the contracts service does
// (services/contracts/refund.py), so the console can show it before the cancellation is confirmed:
//
//   refund = premium × (end − effective) / (end − start), rounded to cents, half to even
//
// where the differences are whole days between calendar dates (1 Jan → 1 Jan next year = 365).
// Integers only (bigint cents and days): no floating point anywhere.

export type RefundProblem = 'premium' | 'date' | 'period' | 'outside';

export type RefundResult =
  | {
      ok: true;
      /** the refund in cents */
      cents: bigint;
      /** the refund as a decimal string with two decimals, like the API's */
      amount: string;
      daysLeft: number;
      daysInTerm: number;
    }
  | { ok: false; problem: RefundProblem };

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DECIMAL = /^\s*(\d+)(?:\.(\d+))?\s*$/;
const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of a `YYYY-MM-DD` calendar date; null when it is not a real date. */
export function dayNumber(date: string): number | null {
  const m = DATE.exec(date);
  if (!m) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const t = Date.UTC(y, mo - 1, d);
  const back = new Date(t);
  // Date.UTC maps years 0–99 to 1900–1999; set the full year explicitly
  back.setUTCFullYear(y, mo - 1, d);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return Math.round(back.getTime() / DAY_MS);
}

/** A non-negative decimal string as an exact fraction: digits / 10^scale. */
export function parseDecimal(amount: string): { digits: bigint; scale: number } | null {
  const m = DECIMAL.exec(amount);
  if (!m) return null;
  const frac = m[2] ?? '';
  return { digits: BigInt(`${m[1]}${frac}`), scale: frac.length };
}

/** n / d rounded to an integer, ties to the even neighbour (n ≥ 0, d > 0). */
export function divideHalfEven(n: bigint, d: bigint): bigint {
  const q = n / d;
  const twice = 2n * (n % d);
  if (twice > d) return q + 1n;
  if (twice === d) return q % 2n === 0n ? q : q + 1n;
  return q;
}

/** Integer cents → `"1234.50"`. */
export function centsToDecimal(cents: bigint): string {
  const neg = cents < 0n;
  const abs = neg ? -cents : cents;
  const s = `${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
  return neg ? `-${s}` : s;
}

/**
 * The refund of `premium` (a decimal string) for a contract covering `start`–`end`, cancelled
 * with effect from `effective` (all `YYYY-MM-DD`). Refuses what the service refuses: a start not
 * before the end, an effective date outside [start, end].
 */
export function proRataRefund(premium: string, start: string, end: string, effective: string): RefundResult {
  const p = parseDecimal(premium);
  if (!p) return { ok: false, problem: 'premium' };
  const s = dayNumber(start);
  const e = dayNumber(end);
  const x = dayNumber(effective);
  if (s === null || e === null || x === null) return { ok: false, problem: 'date' };
  if (!(s < e)) return { ok: false, problem: 'period' };
  if (x < s || x > e) return { ok: false, problem: 'outside' };
  const daysInTerm = e - s;
  const daysLeft = e - x;
  // premium × 100 × left / (10^scale × term), in cents
  const numerator = p.digits * 100n * BigInt(daysLeft);
  const denominator = 10n ** BigInt(p.scale) * BigInt(daysInTerm);
  const cents = divideHalfEven(numerator, denominator);
  return { ok: true, cents, amount: centsToDecimal(cents), daysLeft, daysInTerm };
}
