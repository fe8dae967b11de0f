// The working calendar's form ↔ the API's CalendarIn/CalendarOut, and its checks.
import type { CalendarIn, CalendarOut, Weekday } from './types';

export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export interface CalendarForm {
  timezone: string;
  alwaysOpen: boolean;
  days: Weekday[];
  start: string;
  end: string;
  holidays: string[];
  /** A country whose public holidays are days off too (kept as the API has it; Greece's by default). */
  publicHolidays: string | null;
}

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isWeekday(d: string): d is Weekday {
  return (WEEKDAYS as readonly string[]).includes(d);
}

/** Week order, once each. */
export function sortDays(days: readonly string[]): Weekday[] {
  const set = new Set(days.filter(isWeekday));
  return WEEKDAYS.filter((d) => set.has(d));
}

/** Sorted, once each, only real calendar dates. */
export function sortHolidays(dates: readonly string[]): string[] {
  return [...new Set(dates.map((d) => d.trim()).filter(isDate))].sort();
}

export function isDate(value: string): boolean {
  if (!DATE.test(value)) return false;
  const [y, m, d] = value.split('-').map(Number) as [number, number, number];
  const dt = new Date(Date.UTC(y, m - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
}

export function addHoliday(holidays: readonly string[], date: string): string[] {
  return sortHolidays([...holidays, date]);
}

export function removeHoliday(holidays: readonly string[], date: string): string[] {
  return holidays.filter((h) => h !== date);
}

export function calendarToForm(c: CalendarOut): CalendarForm {
  return {
    timezone: c.timezone ?? 'Europe/Athens',
    alwaysOpen: c.always_open ?? false,
    days: sortDays(c.working_days ?? []),
    start: c.start ?? '09:00',
    end: c.end ?? '17:00',
    holidays: sortHolidays(c.holidays ?? []),
    publicHolidays: c.public_holidays ?? null,
  };
}

export function formToCalendar(f: CalendarForm): CalendarIn {
  return {
    timezone: f.timezone.trim(),
    always_open: f.alwaysOpen,
    working_days: sortDays(f.days),
    start: f.start.trim(),
    end: f.end.trim(),
    holidays: sortHolidays(f.holidays),
    public_holidays: f.publicHolidays,
  };
}

/** Minutes after midnight of `HH:MM` (24:00 allowed as an end), or null. */
export function minutesOf(value: string, allowMidnightEnd = false): number | null {
  const v = value.trim();
  if (allowMidnightEnd && v === '24:00') return 24 * 60;
  if (!TIME.test(v)) return null;
  const [h, m] = v.split(':').map(Number) as [number, number];
  return h * 60 + m;
}

export function isTimeZone(tz: string): boolean {
  if (!tz.trim()) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz.trim() });
    return true;
  } catch {
    return false;
  }
}

export type CalendarErrorKey = 'timezoneInvalid' | 'timeInvalid' | 'endInvalid' | 'endBeforeStart' | 'noDays';

/** Field → the `admin:calendar.errors.*` key of what is wrong with it. */
export function validateCalendar(f: CalendarForm): Partial<Record<keyof CalendarForm, CalendarErrorKey>> {
  const errors: Partial<Record<keyof CalendarForm, CalendarErrorKey>> = {};
  if (!isTimeZone(f.timezone)) errors.timezone = 'timezoneInvalid';
  if (f.alwaysOpen) return errors; // the hours and days are ignored
  const start = minutesOf(f.start);
  const end = minutesOf(f.end, true);
  if (start === null) errors.start = 'timeInvalid';
  if (end === null) errors.end = 'endInvalid';
  if (start !== null && end !== null && end <= start) errors.end = 'endBeforeStart';
  if (f.days.length === 0) errors.days = 'noDays';
  return errors;
}

/** API field (`body.working_days.0`, `body.start`) → form field. */
export function calendarField(apiField: string): keyof CalendarForm | null {
  const name = apiField.replace(/^body\./, '').split('.')[0];
  switch (name) {
    case 'timezone':
      return 'timezone';
    case 'always_open':
      return 'alwaysOpen';
    case 'working_days':
      return 'days';
    case 'start':
    case 'end':
    case 'holidays':
      return name;
    default:
      return null;
  }
}
