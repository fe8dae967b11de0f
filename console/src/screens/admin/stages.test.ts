import { describe, expect, it } from 'vitest';
import { stageDraft, stageUpdate, validateStage } from './stages';
import type { Stage } from './types';

const stage: Stage = { key: 'needs_analysis', name: 'Needs Analysis', position: 2, sla_hours: 16, department_id: 'sales' };

describe('a stage row', () => {
  it('sends nothing when nothing changed', () => {
    expect(stageUpdate(stage, stageDraft(stage))).toEqual({});
    expect(stageUpdate(stage, { ...stageDraft(stage), sla_hours: '16', name: ' Needs Analysis ' })).toEqual({});
  });
  it('sends only what changed, as numbers', () => {
    expect(stageUpdate(stage, { ...stageDraft(stage), sla_hours: '12,5' })).toEqual({ sla_hours: 12.5 });
    expect(stageUpdate(stage, { ...stageDraft(stage), position: 4, name: 'Needs' })).toEqual({ name: 'Needs', position: 4 });
    expect(stageUpdate(stage, { ...stageDraft(stage), department_id: null })).toEqual({ department_id: null });
  });
  it('checks the SLA target and the name before sending', () => {
    expect(validateStage(stageDraft(stage))).toEqual({});
    expect(validateStage({ ...stageDraft(stage), sla_hours: 0 })).toEqual({ sla_hours: 'slaPositive' });
    expect(validateStage({ ...stageDraft(stage), sla_hours: '' })).toEqual({ sla_hours: 'slaPositive' });
    expect(validateStage({ ...stageDraft(stage), sla_hours: 20000 })).toEqual({ sla_hours: 'slaTooLarge' });
    expect(validateStage({ ...stageDraft(stage), name: '  ', position: 2.5 })).toEqual({ name: 'nameRequired', position: 'positionRange' });
  });
});
