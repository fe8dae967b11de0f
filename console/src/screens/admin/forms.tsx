// Refusals of the admin forms: field errors go next to their fields, the rest in an alert.
import { useState } from 'react';
import { Alert, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { ProblemAlert } from '../../components/ProblemAlert';
import { isApiError, problemFieldErrors, unmatchedFieldErrors } from '../../lib/problem';

export interface Refusal {
  error: unknown;
  extra: string[];
}

/** The API's field messages we know in both languages (the rest are shown as the API wrote them). */
const KNOWN_MESSAGES: Record<string, string> = {
  'already taken': 'admin:fieldErrors.taken',
  'must be at least 10 characters': 'admin:fieldErrors.password10',
  'may not be null': 'admin:fieldErrors.required',
};

export function fieldMessages(errors: Record<string, string>, t: TFunction): Record<string, string> {
  return Object.fromEntries(
    Object.entries(errors).map(([field, message]) => {
      const key = Object.hasOwn(KNOWN_MESSAGES, message) ? KNOWN_MESSAGES[message] : undefined;
      return [field, key ? t(key) : message];
    }),
  );
}

/**
 * Sorts a refusal: field errors to `setErrors` (form field names; `aliases` renames API fields),
 * an alert for the rest (or for a refusal without field errors).
 */
export function useRefusal(fields: readonly string[], aliases: Record<string, string> = {}) {
  const { t } = useTranslation('admin');
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const handle = (error: unknown, setErrors: (errors: Record<string, string>) => void) => {
    if (isApiError(error) && error.problem.errors?.length) {
      setErrors(fieldMessages(problemFieldErrors(error.problem, aliases, fields), t));
      const extra = unmatchedFieldErrors(error.problem, fields, aliases);
      setRefusal(extra.length ? { error, extra } : null);
    } else {
      setRefusal({ error, extra: [] });
    }
  };
  return { refusal, setRefusal, handle };
}

/**
 * A refusal as a sentence. A 409 here is the API refusing (a department still in use, your own
 * account), not an edit made meanwhile, so it is worded as such.
 */
export function RefusedAlert({ error, extra, title }: { error: unknown; extra?: string[]; title?: string }) {
  const { t } = useTranslation('admin');
  if (isApiError(error) && error.status === 409) {
    return (
      <Alert color="red" variant="light" role="alert" title={title ?? t('common:errors.title')} style={{ '--alert-color': 'var(--mantine-color-red-9)' }}>
        {t('common:errors.refused', { detail: error.problem.detail || error.problem.title })}
        {extra?.map((x) => (
          <Text key={x} size="sm">
            {x}
          </Text>
        ))}
      </Alert>
    );
  }
  return <ProblemAlert error={error} extra={extra} title={title} />;
}

export function RefusalAlert({ refusal, title }: { refusal: Refusal | null; title?: string }) {
  if (!refusal) return null;
  return <RefusedAlert error={refusal.error} extra={refusal.extra} title={title} />;
}

/** Props for a Modal: its close button labelled. */
export function useModalProps() {
  const { t } = useTranslation();
  return { closeButtonProps: { 'aria-label': t('common:actions.close') } };
}

/** Only the fields whose value changed (for PATCH). */
export function changedFields<T extends Record<string, unknown>>(before: T, after: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(after) as (keyof T)[]) {
    if (after[key] !== before[key]) out[key] = after[key];
  }
  return out;
}

/** Select options for users or departments, by name; `current` stays selectable even if filtered out. */
export function optionsOf<T extends { id: string; name: string }>(items: readonly T[] | undefined, keep: (item: T) => boolean = () => true, current?: string | null) {
  return (items ?? [])
    .filter((i) => keep(i) || i.id === current)
    .map((i) => ({ value: i.id, label: i.name || i.id }));
}
