import { describe, expect, it } from 'vitest';
import { clientCreateBody, clientPatchBody, clientValues, emptyClientValues } from './form';
import type { Client } from './records';

const client: Client = {
  id: 'c1',
  kind: 'company',
  name: 'Aegean Maritime Logistics Ltd',
  tax_id: '800123468',
  country: 'GR',
  email: 'ops@aegean-logistics.example.com',
  phone: null,
  address: 'Leoforos Syngrou 40',
  department_id: 'd1',
  parent_id: 'c0',
  status: 'prospect',
  active_contracts: 0,
  archived: false,
  created_at: '2026-12-02T06:21:29Z',
  updated_at: '2026-12-02T06:21:29Z',
  status_changed_at: null,
};

describe('client form bodies', () => {
  it('creates with trimmed values, leaving empty ones out', () => {
    const v = { ...emptyClientValues('d1'), name: '  Nea Ltd ', tax_id: ' 123456789 ', country: 'gr', email: '' };
    expect(clientCreateBody(v, false)).toEqual({ kind: 'company', name: 'Nea Ltd', tax_id: '123456789', country: 'GR' });
    expect(clientCreateBody(v, true)).toMatchObject({ department_id: 'd1' });
  });
  it('patches nothing when nothing changed', () => {
    expect(clientPatchBody(client, clientValues(client), true)).toEqual({});
  });
  it('patches only what changed and clears emptied fields', () => {
    const v = { ...clientValues(client), name: 'Aegean Logistics', email: ' ', phone: '+30 210 1', parent_id: null };
    expect(clientPatchBody(client, v, false)).toEqual({ name: 'Aegean Logistics', email: null, phone: '+30 210 1', parent_id: null });
  });
  it('changes the department only for those who may', () => {
    const v = { ...clientValues(client), department_id: 'd2' };
    expect(clientPatchBody(client, v, false)).toEqual({});
    expect(clientPatchBody(client, v, true)).toEqual({ department_id: 'd2' });
  });
});
