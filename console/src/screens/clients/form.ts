// The client form's values ↔ the API's bodies. Pure, unit-tested.
import type { Client, ClientCreate, ClientKind, ClientUpdate } from './records';

export interface ClientFormValues {
  kind: ClientKind;
  name: string;
  tax_id: string;
  country: string;
  email: string;
  phone: string;
  address: string;
  parent_id: string | null;
  department_id: string | null;
}

export const CLIENT_FIELDS = ['kind', 'name', 'tax_id', 'country', 'email', 'phone', 'address', 'parent_id', 'department_id'] as const;
const TEXT_FIELDS = ['tax_id', 'country', 'email', 'phone', 'address'] as const;

export function emptyClientValues(departmentId: string | null = null): ClientFormValues {
  return { kind: 'company', name: '', tax_id: '', country: 'GR', email: '', phone: '', address: '', parent_id: null, department_id: departmentId };
}

export function clientValues(c: Client): ClientFormValues {
  return {
    kind: c.kind,
    name: c.name,
    tax_id: c.tax_id ?? '',
    country: c.country ?? '',
    email: c.email ?? '',
    phone: c.phone ?? '',
    address: c.address ?? '',
    parent_id: c.parent_id,
    department_id: c.department_id,
  };
}

function text(v: string, field: (typeof TEXT_FIELDS)[number]): string | null {
  const s = v.trim();
  if (!s) return null;
  return field === 'country' ? s.toUpperCase() : s;
}

/** The create body: trimmed, empty optional fields left out, the country upper-cased. */
export function clientCreateBody(v: ClientFormValues, canPickDepartment: boolean): ClientCreate {
  const body: ClientCreate = { kind: v.kind, name: v.name.trim() };
  for (const f of TEXT_FIELDS) {
    const value = text(v[f], f);
    if (value !== null) body[f] = value;
  }
  if (v.parent_id) body.parent_id = v.parent_id;
  if (canPickDepartment && v.department_id) body.department_id = v.department_id;
  return body;
}

/** Only what changed; an emptied optional field is sent as null (cleared). */
export function clientPatchBody(original: Client, v: ClientFormValues, canPickDepartment: boolean): ClientUpdate {
  const body: ClientUpdate = {};
  if (v.kind !== original.kind) body.kind = v.kind;
  if (v.name.trim() !== original.name) body.name = v.name.trim();
  for (const f of TEXT_FIELDS) {
    const value = text(v[f], f);
    if (value !== (original[f] ?? null)) body[f] = value;
  }
  if ((v.parent_id ?? null) !== original.parent_id) body.parent_id = v.parent_id ?? null;
  if (canPickDepartment && v.department_id && v.department_id !== original.department_id) body.department_id = v.department_id;
  return body;
}
