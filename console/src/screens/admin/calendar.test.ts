import { describe, expect, it } from 'vitest';
import { addHoliday, calendarField, calendarToForm, formToCalendar, isDate, minutesOf, removeHoliday, validateCalendar, type CalendarForm } from './calendar';
import type { CalendarOut } from './types';

const out: CalendarOut = {
  timezone: 'Europe/Athens',
  working_days: ['fri', 'mon', 'wed', 'tue', 'thu'],
  start: '09:00',
  end: '17:00',
  holidays: ['2026-12-25', '2026-01-06', '2026-12-25'],
  always_open: false,
  public_holidays: 'GR',
  updated_at: '2026-12-02T06:38:05Z',
  updated_by: 'user:1',
};

const form = (over: Partial<CalendarForm> = {}): CalendarForm => ({ ...calendarToForm(out), ...over });

describe('calendar form ↔ API', () => {
  it('reads the API into the form: days in week order, holidays sorted once each', () => {
    expect(calendarToForm(out)).toEqual({
      timezone: 'Europe/Athens',
      alwaysOpen: false,
      days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      start: '09:00',
      end: '17:00',
      holidays: ['2026-01-06', '2026-12-25'],
      publicHolidays: 'GR',
    });
  });

  it('writes the form as CalendarIn (without the read-only fields), trimmed and ordered', () => {
    expect(formToCalendar(form({ timezone: ' Europe/Athens ', days: ['sat', 'mon', 'mon'], end: '24:00', holidays: ['2027-01-01', '2026-12-31', 'nope'] }))).toEqual({
      timezone: 'Europe/Athens',
      always_open: false,
      working_days: ['mon', 'sat'],
      start: '09:00',
      end: '24:00',
      holidays: ['2026-12-31', '2027-01-01'],
      public_holidays: 'GR',
    });
  });

  it('round-trips what the API gave', () => {
    const back = formToCalendar(calendarToForm(out));
    expect(back.working_days).toEqual(['mon', 'tue', 'wed', 'thu', 'fri']);
    expect(calendarToForm({ ...out, ...back })).toEqual(calendarToForm(out));
  });

  it('adds and removes holidays', () => {
    expect(addHoliday(['2026-12-25'], '2026-03-25')).toEqual(['2026-03-25', '2026-12-25']);
    expect(addHoliday(['2026-12-25'], '2026-12-25')).toEqual(['2026-12-25']);
    expect(addHoliday([], '2026-02-30')).toEqual([]);
    expect(removeHoliday(['2026-03-25', '2026-12-25'], '2026-03-25')).toEqual(['2026-12-25']);
    expect(isDate('2028-02-29')).toBe(true);
    expect(isDate('2027-02-29')).toBe(false);
  });
});

describe('calendar checks', () => {
  it('accepts the default and a day until midnight', () => {
    expect(validateCalendar(form())).toEqual({});
    expect(validateCalendar(form({ end: '24:00' }))).toEqual({});
    expect(minutesOf('24:00', true)).toBe(1440);
    expect(minutesOf('24:00')).toBeNull();
  });

  it('names what is wrong', () => {
    expect(validateCalendar(form({ timezone: 'Mars/Base' }))).toEqual({ timezone: 'timezoneInvalid' });
    expect(validateCalendar(form({ start: '9am', end: '25:00' }))).toEqual({ start: 'timeInvalid', end: 'endInvalid' });
    expect(validateCalendar(form({ start: '17:00', end: '09:00' }))).toEqual({ end: 'endBeforeStart' });
    expect(validateCalendar(form({ days: [] }))).toEqual({ days: 'noDays' });
  });

  it('ignores hours and days when always open', () => {
    expect(validateCalendar(form({ alwaysOpen: true, days: [], start: 'x' }))).toEqual({});
  });

  it('maps API field errors onto form fields', () => {
    expect(calendarField('body.working_days.0')).toBe('days');
    expect(calendarField('body.always_open')).toBe('alwaysOpen');
    expect(calendarField('body.holidays.3')).toBe('holidays');
    expect(calendarField('body.start')).toBe('start');
    expect(calendarField('body.other')).toBeNull();
  });
});
