// Pure formatting: dates and times always in Europe/Athens, numbers and money in the
// current language's locale (el-GR / en-GB). No React, no i18next: unit-tested directly.

export const TIME_ZONE = 'Europe/Athens';
export type Lang = 'en' | 'el';
export const LANGS: readonly Lang[] = ['en', 'el'];
export const DEFAULT_CURRENCY = 'EUR';

export function isLang(value: unknown): value is Lang {
  return value === 'en' || value === 'el';
}

export function localeOf(lang: string): string {
  return lang.startsWith('el') ? 'el-GR' : 'en-GB';
}

const cache = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat>();

function dateFormat(lang: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const locale = localeOf(lang);
  const key = `d|${locale}|${JSON.stringify(options)}`;
  let f = cache.get(key) as Intl.DateTimeFormat | undefined;
  if (!f) {
    f = new Intl.DateTimeFormat(locale, options);
    cache.set(key, f);
  }
  return f;
}

function numberFormat(lang: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const locale = localeOf(lang);
  const key = `n|${locale}|${JSON.stringify(options)}`;
  let f = cache.get(key) as Intl.NumberFormat | undefined;
  if (!f) {
    f = new Intl.NumberFormat(locale, options);
    cache.set(key, f);
  }
  return f;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

function toDate(value: string | number | Date): Date | null {
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** An instant (ISO 8601 with offset), shown as date and time in Athens. */
export function formatDateTime(value: string | number | Date | null | undefined, lang: string): string {
  if (value === null || value === undefined || value === '') return '—';
  const d = toDate(value);
  if (!d) return String(value);
  return dateFormat(lang, { timeZone: TIME_ZONE, dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

/**
 * A date. A calendar date (`YYYY-MM-DD`, e.g. a contract's start) is shown as that same day;
 * an instant is shown as its day in Athens.
 */
export function formatDate(value: string | number | Date | null | undefined, lang: string): string {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'string') {
    const m = DATE_ONLY.exec(value);
    if (m) {
      const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12));
      return dateFormat(lang, { timeZone: 'UTC', dateStyle: 'medium' }).format(d);
    }
  }
  const d = toDate(value);
  if (!d) return String(value);
  return dateFormat(lang, { timeZone: TIME_ZONE, dateStyle: 'medium' }).format(d);
}

/** The calendar date in Athens of an instant, as `YYYY-MM-DD` (for date inputs). */
export function athensDateISO(value: Date = new Date()): string {
  const parts = dateFormat('en', { timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(value);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** Adds whole years to a `YYYY-MM-DD` date (29 February falls back to 28). */
export function addYearsISO(date: string, years: number): string {
  const m = DATE_ONLY.exec(date);
  if (!m) return date;
  const y = Number(m[1]) + years;
  const month = Number(m[2]);
  let day = Number(m[3]);
  const last = new Date(Date.UTC(y, month, 0)).getUTCDate();
  if (day > last) day = last;
  return `${String(y).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Money in the record's currency (EUR when it has none). Amounts come as decimal strings. */
export function formatMoney(amount: string | number | null | undefined, currency: string | null | undefined, lang: string): string {
  if (amount === null || amount === undefined || amount === '') return '—';
  const n = typeof amount === 'number' ? amount : Number(amount);
  if (!Number.isFinite(n)) return String(amount);
  const cur = currency && /^[A-Z]{3}$/.test(currency) ? currency : DEFAULT_CURRENCY;
  return numberFormat(lang, { style: 'currency', currency: cur }).format(n);
}

export function formatNumber(n: number | null | undefined, lang: string): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return numberFormat(lang, {}).format(n);
}

type DurationUnit = 'minute' | 'hour' | 'day';
const SHORT_UNITS: Record<Lang, Record<DurationUnit, string>> = {
  en: { minute: 'min', hour: 'h', day: 'd' },
  el: { minute: 'λεπ.', hour: 'ώ.', day: 'ημ.' },
};

/** Picks the unit a duration is shown in: minutes under an hour, hours under two days, else days. */
export function durationParts(seconds: number): { value: number; unit: DurationUnit } {
  const s = Math.max(0, seconds);
  if (s < 3600) return { value: Math.max(1, Math.floor(s / 60)), unit: 'minute' };
  if (s < 48 * 3600) return { value: Math.floor(s / 3600), unit: 'hour' };
  return { value: Math.floor(s / 86400), unit: 'day' };
}

/**
 * A duration, e.g. "3 h", "2 d", "45 min" (en) / "3 ώ.", "2 ημ." (el); `long` spells the unit out
 * ("3 hours" / "3 ώρες") for screen readers and tooltips.
 */
export function formatDuration(seconds: number | null | undefined, lang: string, style: 'short' | 'long' = 'short'): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const { value, unit } = durationParts(seconds);
  if (style === 'long') {
    return numberFormat(lang, { style: 'unit', unit, unitDisplay: 'long' }).format(value);
  }
  const l: Lang = lang.startsWith('el') ? 'el' : 'en';
  return `${numberFormat(lang, {}).format(value)} ${SHORT_UNITS[l][unit]}`;
}

/** A stage's SLA target in hours, e.g. "8 h" / "8 ώ.". */
export function formatHours(hours: number, lang: string, style: 'short' | 'long' = 'short'): string {
  if (!Number.isFinite(hours)) return '—';
  if (style === 'long') return numberFormat(lang, { style: 'unit', unit: 'hour', unitDisplay: 'long', maximumFractionDigits: 1 }).format(hours);
  const l: Lang = lang.startsWith('el') ? 'el' : 'en';
  return `${numberFormat(lang, { maximumFractionDigits: 1 }).format(hours)} ${SHORT_UNITS[l].hour}`;
}

/** Seconds elapsed since an instant (0 when it is in the future or unreadable). */
export function secondsSince(iso: string, now: number = Date.now()): number {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return 0;
  return Math.max(0, (now - t) / 1000);
}
