// SLA state → what the dot shows. Never colour alone: every state has a text label.
import type { SlaState } from '../api/types';

export type SlaTone = 'green' | 'amber' | 'red' | 'none';

export interface SlaIndicator {
  tone: SlaTone;
  /** translation key in the `common` namespace */
  labelKey: 'sla.green' | 'sla.yellow' | 'sla.red' | 'sla.none';
  /** CSS colour of the dot (meets 3:1 against white as a graphical object) */
  color: string;
}

const INDICATORS: Record<SlaState | 'none', SlaIndicator> = {
  green: { tone: 'green', labelKey: 'sla.green', color: '#2b8a3e' },
  yellow: { tone: 'amber', labelKey: 'sla.yellow', color: '#e67700' },
  red: { tone: 'red', labelKey: 'sla.red', color: '#c92a2a' },
  none: { tone: 'none', labelKey: 'sla.none', color: '#868e96' },
};

export function slaIndicator(state: SlaState | null | undefined): SlaIndicator {
  if (state === 'green' || state === 'yellow' || state === 'red') return INDICATORS[state];
  return INDICATORS.none;
}

const RANK: Record<string, number> = { red: 0, yellow: 1, green: 2 };

/** Orders work at-risk first: red, yellow, green, then the earliest due time (none last). */
export function compareAtRisk(
  a: { sla_state?: SlaState | null; due_at?: string | null },
  b: { sla_state?: SlaState | null; due_at?: string | null },
): number {
  const ra = RANK[a.sla_state ?? ''] ?? 3;
  const rb = RANK[b.sla_state ?? ''] ?? 3;
  if (ra !== rb) return ra - rb;
  const da = a.due_at ? Date.parse(a.due_at) : Number.POSITIVE_INFINITY;
  const db = b.due_at ? Date.parse(b.due_at) : Number.POSITIVE_INFINITY;
  if (da === db) return 0;
  return da < db ? -1 : 1;
}

export function sortAtRiskFirst<T extends { sla_state?: SlaState | null; due_at?: string | null }>(items: readonly T[]): T[] {
  return [...items].sort(compareAtRisk);
}
