// Small pieces the screens share: status badges, forms' problems, description-list fields.
import { useState, type ReactNode } from 'react';
import { Alert, Badge, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { errorMessage, isApiError, problemFieldErrors, unmatchedFieldErrors, type Message } from '../lib/problem';

/** Badge colours with at least 4.5:1 against white: a status is readable text, the colour only helps. */
export const TONES = {
  green: '#1e6b34',
  blue: '#1c5d99',
  gray: '#495057',
  red: '#b02525',
  amber: '#8a4b00',
  violet: '#5f3dc4',
} as const;
export type Tone = keyof typeof TONES;

export function StatusBadge({ tone, children, testId }: { tone: Tone; children: ReactNode; testId?: string }) {
  return (
    <Badge
      variant="outline"
      color={TONES[tone]}
      tt="none"
      radius="sm"
      fz="xs"
      data-testid={testId}
      styles={{ root: { overflow: 'visible', flexShrink: 0 }, label: { overflow: 'visible' } }}
    >
      {children}
    </Badge>
  );
}

type FormLike = { setErrors: (errors: Record<string, string>) => void };

export interface FormProblem {
  message: Message;
  /** field messages no field shows, and the server's reason for a refusal */
  extra: string[];
}

/**
 * A form's refusal: the problem's field errors go next to their fields; the rest (and, for a 403
 * or 409, the server's own reason) go in the form's alert.
 */
export function useFormProblem(fields: readonly string[], aliases: Record<string, string> = {}) {
  const [problem, setProblem] = useState<FormProblem | null>(null);
  const handle = (error: unknown, form: FormLike) => {
    if (isApiError(error) && error.problem.errors?.length) {
      const onFields = problemFieldErrors(error.problem, aliases, fields);
      form.setErrors(onFields);
      const extra = unmatchedFieldErrors(error.problem, fields, aliases);
      setProblem(extra.length || !Object.keys(onFields).length ? { message: errorMessage(error), extra } : null);
    } else {
      const detail = isApiError(error) && error.status === 403 ? error.problem.detail : '';
      setProblem({ message: errorMessage(error), extra: detail ? [detail] : [] });
    }
  };
  return { problem, setProblem, handle };
}

export function FormProblemAlert({ problem, testId }: { problem: FormProblem | null; testId?: string }) {
  const { t } = useTranslation();
  if (!problem) return null;
  return (
    <Alert color="red" variant="light" role="alert" data-testid={testId}>
      {t(problem.message.key, problem.message.values)}
      {problem.extra.map((x) => (
        <Text key={x} size="sm">
          {x}
        </Text>
      ))}
    </Alert>
  );
}

/** A label and its value, for the detail pages (a description list item). */
export function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <Text component="dt" size="sm" c="dimmed">
        {label}
      </Text>
      <Text component="dd" m={0}>
        {children}
      </Text>
    </div>
  );
}
