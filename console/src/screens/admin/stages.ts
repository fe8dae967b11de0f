// A stage row's form ↔ StageUpdate: only what changed is sent.
import type { Stage, StageUpdate } from './types';

/** Only these positions can be reordered (the API's rule). */
export const MOVABLE = { min: 2, max: 6 } as const;
export const MAX_SLA_HOURS = 10000;

export interface StageDraft {
  name: string;
  /** NumberInput gives a number, or a string while typing / empty */
  position: number | string;
  sla_hours: number | string;
  department_id: string | null;
}

export function stageDraft(s: Stage): StageDraft {
  return { name: s.name, position: s.position, sla_hours: s.sla_hours, department_id: s.department_id };
}

function num(v: number | string): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  const t = v.trim().replace(',', '.');
  if (!t) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

export type StageErrorKey = 'nameRequired' | 'positionRange' | 'slaPositive' | 'slaTooLarge';

export function validateStage(d: StageDraft): Partial<Record<keyof StageDraft, StageErrorKey>> {
  const errors: Partial<Record<keyof StageDraft, StageErrorKey>> = {};
  if (!d.name.trim()) errors.name = 'nameRequired';
  const sla = num(d.sla_hours);
  if (sla === null || sla <= 0) errors.sla_hours = 'slaPositive';
  else if (sla > MAX_SLA_HOURS) errors.sla_hours = 'slaTooLarge';
  const pos = num(d.position);
  if (pos === null || !Number.isInteger(pos) || pos < 1 || pos > 9) errors.position = 'positionRange';
  return errors;
}

/** The PATCH body: the fields that differ from the stage as saved (nothing when unchanged or unreadable). */
export function stageUpdate(s: Stage, d: StageDraft): StageUpdate {
  const body: StageUpdate = {};
  const name = d.name.trim();
  if (name && name !== s.name) body.name = name;
  const pos = num(d.position);
  if (pos !== null && Number.isInteger(pos) && pos !== s.position) body.position = pos;
  const sla = num(d.sla_hours);
  if (sla !== null && sla > 0 && sla !== s.sla_hours) body.sla_hours = sla;
  if (d.department_id !== s.department_id) body.department_id = d.department_id;
  return body;
}
