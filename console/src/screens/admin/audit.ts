// The audit chain's verification walked in ranges (so the screen can show how far it got) and
// the export read as a stream into a Blob (with progress), both through the API client: the
// token goes in the Authorization header, never in a URL.
import { TIME_ZONE } from '../../lib/format';
import type { ExportFormat, ExportQuery, VerifyReport } from './types';

export interface VerifyProgress {
  checked: number;
  /** records expected in the range (the chain head at the start); 0 while unknown */
  total: number;
}

export interface VerifyOptions {
  fromSeq?: number;
  /** null/undefined: to the end of the chain */
  toSeq?: number | null;
  /** about how many requests the walk is cut into (each one range, one snapshot) */
  steps?: number;
  minChunk?: number;
  onProgress?: (p: VerifyProgress) => void;
  signal?: AbortSignal;
}

export type VerifyRange = (fromSeq: number, toSeq: number | null, signal?: AbortSignal) => Promise<VerifyReport>;

function abortError(): Error {
  return new DOMException('The verification was stopped.', 'AbortError');
}

/**
 * Checks `fromSeq`..`toSeq` one range at a time and stops at the first break. Each range is
 * checked against the record before it, so the ranges together check what one walk would; the
 * last range runs to the end (when no end was asked), so records appended meanwhile and the
 * chain head are checked too. The answer reads like the API's report of the whole range.
 */
export async function verifyInRanges(verify: VerifyRange, options: VerifyOptions = {}): Promise<VerifyReport> {
  const { fromSeq = 1, toSeq = null, steps = 20, minChunk = 500, onProgress, signal } = options;
  if (signal?.aborted) throw abortError();
  // a first small range tells where the chain ends
  const first = await verify(fromSeq, toSeq === null ? fromSeq : Math.min(fromSeq, toSeq), signal);
  const end = toSeq ?? first.chain_head.seq;
  const total = Math.max(0, end - fromSeq + 1);
  let checked = first.checked;
  let seals = first.seals_checked;
  let last = first;
  onProgress?.({ checked, total });
  const done = (r: VerifyReport): VerifyReport => ({ ...r, from_seq: fromSeq, to_seq: toSeq, checked, seals_checked: seals });
  if (!first.ok) return done(first);
  const chunk = Math.max(minChunk, Math.ceil(total / Math.max(1, steps)));
  let next = fromSeq + 1;
  // nothing past the first record: still one walk to the end, for the head's check
  if (next > end && toSeq === null) {
    last = await verify(next, null, signal);
    checked += last.checked;
    seals += last.seals_checked;
    onProgress?.({ checked, total });
    return done(last);
  }
  while (next <= end) {
    if (signal?.aborted) throw abortError();
    const upTo = next + chunk - 1;
    const final = upTo >= end;
    last = await verify(next, final ? toSeq : upTo, signal);
    checked += last.checked;
    seals += last.seals_checked;
    onProgress?.({ checked, total: Math.max(total, checked) });
    if (!last.ok || final) break;
    next = upTo + 1;
  }
  return done(last);
}

export interface ExportProgress {
  bytes: number;
  /** whole records received so far */
  records: number;
}

/** Reads a streamed export into a Blob, counting lines as they arrive (a CSV's header is not a record). */
export async function readExport(
  body: ReadableStream<Uint8Array>,
  format: ExportFormat,
  onProgress?: (p: ExportProgress) => void,
  signal?: AbortSignal,
): Promise<{ blob: Blob; records: number; bytes: number }> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let bytes = 0;
  let lines = 0;
  const onAbort = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      if (signal?.aborted) throw abortError();
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      bytes += value.byteLength;
      for (let i = 0; i < value.length; i++) if (value[i] === 10) lines++;
      onProgress?.({ bytes, records: Math.max(0, lines - (format === 'csv' ? 1 : 0)) });
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) throw abortError();
  const records = Math.max(0, lines - (format === 'csv' ? 1 : 0));
  const type = format === 'csv' ? 'text/csv;charset=utf-8' : 'application/x-ndjson';
  return { blob: new Blob(parts as BlobPart[], { type }), records, bytes };
}

/** The file name a Content-Disposition header gives (filename*= or filename=), else the fallback. */
export function fileNameFrom(disposition: string | null | undefined, fallback: string): string {
  if (disposition) {
    const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition);
    if (star?.[1]) {
      try {
        return sanitizeFileName(decodeURIComponent(star[1].trim()), fallback);
      } catch {
        // unreadable: try the plain one
      }
    }
    const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/.exec(disposition);
    const name = plain?.[2] ?? plain?.[1];
    if (name) return sanitizeFileName(name.trim(), fallback);
  }
  return fallback;
}

function sanitizeFileName(name: string, fallback: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[/\\\u0000-\u001f]/g, '_').trim();
  return clean && clean !== '.' && clean !== '..' ? clean : fallback;
}

/** Saves a Blob under a name (a blob: URL of our own, revoked once the download has started). */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

let athens: Intl.DateTimeFormat | null = null;

/** How far Athens is ahead of UTC at an instant, in ms. */
function athensOffset(ms: number): number {
  athens ??= new Intl.DateTimeFormat('en-GB', {
    timeZone: TIME_ZONE,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const p: Record<string, number> = {};
  for (const part of athens.formatToParts(new Date(ms))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const wall = Date.UTC(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0);
  return wall - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant a calendar day starts in Athens (`YYYY-MM-DD` → ISO 8601 UTC); `dayAfter` gives the
 * start of the next day (an exclusive "until" for an inclusive last day). Null when unreadable.
 */
export function athensDayStartISO(date: string, dayAfter = false): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date.trim());
  if (!m) return null;
  const guess = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + (dayAfter ? 1 : 0));
  if (Number.isNaN(guess)) return null;
  let ms = guess - athensOffset(guess);
  ms = guess - athensOffset(ms); // the offset at the real instant (a change of clocks near midnight)
  return new Date(ms).toISOString();
}

/** Bytes as kB/MB in the language's number format. */
export function formatBytes(bytes: number, lang: string): string {
  const locale = lang.startsWith('el') ? 'el-GR' : 'en-GB';
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte'] as const;
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return new Intl.NumberFormat(locale, { style: 'unit', unit: units[i], unitDisplay: 'short', maximumFractionDigits: i === 0 ? 0 : 1 }).format(value);
}

export interface ExportFilters {
  event_type: string;
  aggregate_type: string;
  aggregate_id: string;
  actor_id: string;
  client_id: string;
  /** `YYYY-MM-DD`, an Athens day: from its start */
  since: string;
  /** `YYYY-MM-DD`, an Athens day: up to its end (included) */
  until: string;
}

export const NO_FILTERS: ExportFilters = { event_type: '', aggregate_type: '', aggregate_id: '', actor_id: '', client_id: '', since: '', until: '' };

/** The export's query from the form: blank filters left out, days as instants (the last day included). */
export function exportQuery(format: ExportFormat, order: 'asc' | 'desc', f: ExportFilters): ExportQuery {
  const q: ExportQuery = { format, order };
  for (const k of ['event_type', 'aggregate_type', 'aggregate_id', 'actor_id', 'client_id'] as const) {
    const v = f[k].trim();
    if (v) q[k] = v;
  }
  const since = f.since ? athensDayStartISO(f.since) : null;
  const until = f.until ? athensDayStartISO(f.until, true) : null;
  if (since) q.since = since;
  if (until) q.until = until;
  return q;
}
