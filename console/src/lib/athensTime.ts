// Wall-clock times in Europe/Athens for `<input type="datetime-local">`: what a person types is
// Athens time, whatever the browser's own time zone; the API gets the instant in UTC.
import { TIME_ZONE } from './format';

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

let parts: Intl.DateTimeFormat | null = null;
function athensParts(ms: number): Record<string, number> {
  parts ??= new Intl.DateTimeFormat('en-GB', {
    timeZone: TIME_ZONE,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const out: Record<string, number> = {};
  for (const p of parts.formatToParts(new Date(ms))) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return out;
}

/** How far Athens is ahead of UTC at an instant, in milliseconds (2 h in winter, 3 h in summer). */
export function athensOffsetMs(ms: number): number {
  const p = athensParts(ms);
  const asUtc = Date.UTC(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * `YYYY-MM-DDTHH:mm` read as Athens wall-clock time → the instant as ISO 8601 UTC (`…Z`).
 * A time that the spring change skips (03:00–03:59 on the last Sunday of March) moves an hour on.
 * Null when unreadable.
 */
export function athensLocalToISO(local: string): string | null {
  const m = LOCAL.exec(local.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  if (Number.isNaN(wall)) return null;
  const check = new Date(wall);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59) return null;
  // the offsets in force half a day either side: the same, or the two of a clock change
  const before = athensOffsetMs(wall - 12 * 3600_000);
  const after = athensOffsetMs(wall + 12 * 3600_000);
  const fits = [wall - before, wall - after].filter((t) => t + athensOffsetMs(t) === wall);
  // the repeated autumn hour: the first of the two; the skipped spring hour: read with the old offset
  const t = fits.length ? Math.min(...fits) : wall - before;
  return new Date(t).toISOString().replace('.000Z', 'Z');
}

/** An instant → `YYYY-MM-DDTHH:mm` in Athens (for a datetime-local input's value); '' when unreadable. */
export function isoToAthensLocal(iso: string | null | undefined): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  const p = athensParts(ms);
  const two = (n: number | undefined) => String(n ?? 0).padStart(2, '0');
  return `${String(p.year).padStart(4, '0')}-${two(p.month)}-${two(p.day)}T${two(p.hour)}:${two(p.minute)}`;
}
