// The working calendar SLA deadlines are counted in: time zone, working days and hours, holidays
// (or always open). Deadlines already set are kept; new ones follow the saved calendar.
import { useMemo, useState, type FormEvent } from 'react';
import { Alert, Button, Checkbox, CloseButton, Group, Paper, Select, SimpleGrid, Stack, Switch, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../api/client';
import { Loading } from '../../components/Loading';
import { ProblemAlert } from '../../components/ProblemAlert';
import { formatDate, formatDateTime } from '../../lib/format';
import { isApiError } from '../../lib/problem';
import { useLang } from '../../i18n/useLang';
import { adminKeys, nameMap, useAllUsers, useCalendar } from './api';
import { addHoliday, calendarField, calendarToForm, formToCalendar, isDate, removeHoliday, validateCalendar, WEEKDAYS, type CalendarForm } from './calendar';
import { fieldMessages } from './forms';
import type { CalendarOut, Weekday } from './types';
import { toast } from '../notifications/toast';

function timeZones(current: string): string[] {
  let zones: string[] = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = [];
  }
  return [...new Set([current, 'Europe/Athens', 'UTC', ...zones])].filter(Boolean).sort();
}

function CalendarEditor({ calendar }: { calendar: CalendarOut }) {
  const { t } = useTranslation('admin');
  const lang = useLang();
  const queryClient = useQueryClient();
  const users = useAllUsers();
  const [draft, setDraft] = useState<CalendarForm | null>(null);
  const [errors, setErrors] = useState<Partial<Record<keyof CalendarForm, string>>>({});
  const [holiday, setHoliday] = useState('');
  const [holidayError, setHolidayError] = useState<string | null>(null);
  const saved = useMemo(() => calendarToForm(calendar), [calendar]);
  const form = draft ?? saved;
  const dirty = JSON.stringify(formToCalendar(form)) !== JSON.stringify(formToCalendar(saved));
  const zones = useMemo(() => timeZones(form.timezone), [form.timezone]);
  const names = useMemo(() => nameMap(users.data), [users.data]);

  const mutation = useMutation({
    mutationFn: () => unwrap(api.PUT('/api/v1/calendar', { body: formToCalendar(form) })),
    meta: { handlesErrors: true },
    onSuccess: (c) => {
      queryClient.setQueryData(adminKeys.calendar, c);
      setDraft(null);
      setErrors({});
      toast(t('calendar.saved'));
      // new SLA deadlines follow the calendar: what shows them may change
      void queryClient.invalidateQueries({ queryKey: adminKeys.board });
      void queryClient.invalidateQueries({ queryKey: ['tasks'] });
    },
    onError: (e) => {
      if (isApiError(e) && e.problem.errors?.length) {
        const byField: Partial<Record<keyof CalendarForm, string>> = {};
        for (const fe of e.problem.errors) {
          const f = calendarField(fe.field);
          if (f) byField[f] = byField[f] ? `${byField[f]}; ${fe.message}` : fe.message;
        }
        setErrors(fieldMessages(byField as Record<string, string>, t));
      }
    },
  });

  const change = (patch: Partial<CalendarForm>) => {
    setDraft({ ...form, ...patch });
    setErrors((e) => Object.fromEntries(Object.entries(e).filter(([k]) => !(k in patch))));
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const local = validateCalendar(form);
    const messages = Object.fromEntries(Object.entries(local).map(([k, key]) => [k, t(`calendar.errors.${key}`)]));
    setErrors(messages);
    if (Object.keys(messages).length) return;
    mutation.mutate();
  };
  const add = () => {
    if (!isDate(holiday)) {
      setHolidayError(t('calendar.errors.dateInvalid'));
      return;
    }
    setHolidayError(null);
    change({ holidays: addHoliday(form.holidays, holiday) });
    setHoliday('');
  };
  const unmatched = mutation.isError && !(isApiError(mutation.error) && mutation.error.problem.errors?.every((fe) => calendarField(fe.field)));

  return (
    <form onSubmit={submit} noValidate data-testid="calendar-form">
      <Stack gap="md" maw={760}>
        {calendar.updated_at && (
          <Text size="sm" c="dimmed">
            {t('calendar.updated', {
              when: formatDateTime(calendar.updated_at, lang),
              who: (calendar.updated_by?.startsWith('user:') ? names.get(calendar.updated_by.slice(5)) : null) ?? calendar.updated_by ?? '—',
            })}
          </Text>
        )}
        {unmatched && <ProblemAlert error={mutation.error} />}
        <Select
          label={t('calendar.timezone')}
          description={t('calendar.timezoneHint')}
          searchable
          allowDeselect={false}
          data={zones}
          value={form.timezone}
          onChange={(v) => v && change({ timezone: v })}
          error={errors.timezone}
          nothingFoundMessage={t('nothingFound')}
          maw={360}
          limit={50}
        />
        <Switch
          label={t('calendar.alwaysOpen')}
          description={t('calendar.alwaysOpenHint')}
          checked={form.alwaysOpen}
          onChange={(e) => change({ alwaysOpen: e.currentTarget.checked })}
        />
        <Checkbox.Group
          label={t('calendar.days')}
          value={form.days}
          onChange={(v) => change({ days: WEEKDAYS.filter((d) => v.includes(d)) })}
          error={errors.days}
        >
          <Group gap="md" mt={6}>
            {WEEKDAYS.map((d: Weekday) => (
              <Checkbox key={d} value={d} label={t(`calendar.weekdays.${d}`)} disabled={form.alwaysOpen} />
            ))}
          </Group>
        </Checkbox.Group>
        <SimpleGrid cols={{ base: 1, sm: 2 }} maw={420}>
          <TextInput
            label={t('calendar.start')}
            description={t('calendar.timeHint')}
            value={form.start}
            onChange={(e) => change({ start: e.currentTarget.value })}
            error={errors.start}
            disabled={form.alwaysOpen}
            maxLength={5}
            inputMode="numeric"
            placeholder="09:00"
          />
          <TextInput
            label={t('calendar.end')}
            description={t('calendar.endHint')}
            value={form.end}
            onChange={(e) => change({ end: e.currentTarget.value })}
            error={errors.end}
            disabled={form.alwaysOpen}
            maxLength={5}
            inputMode="numeric"
            placeholder="17:00"
          />
        </SimpleGrid>
        <Paper withBorder p="sm">
          <Stack gap="xs">
            <Title order={3} size="h5">
              {t('calendar.holidays')}
            </Title>
            <Text size="sm" c="dimmed">
              {t('calendar.holidaysHint')}
            </Text>
            <Group align="flex-end" gap="sm">
              <TextInput
                type="date"
                label={t('calendar.addHolidayDate')}
                value={holiday}
                onChange={(e) => {
                  setHoliday(e.currentTarget.value);
                  setHolidayError(null);
                }}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') {
                    e.preventDefault();
                    add();
                  }
                }}
                error={holidayError ?? errors.holidays}
                disabled={form.alwaysOpen}
              />
              <Button variant="default" onClick={add} disabled={form.alwaysOpen || !holiday}>
                {t('calendar.addHoliday')}
              </Button>
            </Group>
            {form.holidays.length === 0 ? (
              <Text size="sm">{t('calendar.noHolidays')}</Text>
            ) : (
              <Group component="ul" gap="xs" style={{ listStyle: 'none', padding: 0, margin: 0 }} aria-label={t('calendar.holidays')} data-testid="holidays">
                {form.holidays.map((h) => (
                  <Paper component="li" key={h} withBorder px="xs" py={2}>
                    <Group gap={4} wrap="nowrap">
                      <Text size="sm">{formatDate(h, lang)}</Text>
                      <CloseButton size="sm" aria-label={t('calendar.removeHoliday', { date: formatDate(h, lang) })} onClick={() => change({ holidays: removeHoliday(form.holidays, h) })} />
                    </Group>
                  </Paper>
                ))}
              </Group>
            )}
          </Stack>
        </Paper>
        {dirty && (
          <Alert color="blue" variant="light" style={{ '--alert-color': 'var(--mantine-color-blue-9)' }}>
            {t('calendar.unsaved')}
          </Alert>
        )}
        <Group gap="sm">
          <Button type="submit" disabled={!dirty} loading={mutation.isPending}>
            {t('calendar.save')}
          </Button>
          <Button
            variant="default"
            disabled={!dirty}
            onClick={() => {
              setDraft(null);
              setErrors({});
            }}
          >
            {t('calendar.reset')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

export default function CalendarSection() {
  const { t } = useTranslation('admin');
  const calendar = useCalendar();
  return (
    <Stack gap="md">
      <Title order={2} size="h3">
        {t('sections.calendar')}
      </Title>
      <Text size="sm">{t('calendar.intro')}</Text>
      {calendar.isPending ? <Loading /> : calendar.isError ? <ProblemAlert error={calendar.error} /> : <CalendarEditor calendar={calendar.data} />}
    </Stack>
  );
}
