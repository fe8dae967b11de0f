import { describe, expect, it } from 'vitest';
import { draftToUpdate, isKind, KINDS, preferenceKinds, prefsToDraft } from './kinds';
import type { Preferences } from './types';

const prefs: Preferences = {
  kinds: {
    contract_expired: ['in_app'],
    task_assigned: ['in_app', 'email'],
    task_escalated: ['in_app'],
    something_new: ['in_app'],
  },
};

describe('notification kinds and preferences', () => {
  it('lists every kind once, in the console’s order', () => {
    expect(KINDS[0]).toBe('task_assigned');
    expect(new Set(KINDS).size).toBe(KINDS.length);
    expect(isKind('deal_opened')).toBe(true);
    expect(isKind('toString')).toBe(false);
  });

  it('orders the API’s kinds, unknown ones last', () => {
    expect(preferenceKinds(prefs)).toEqual(['task_assigned', 'task_escalated', 'contract_expired', 'something_new']);
  });

  it('maps channels to email switches and back, sending only what changed, in_app always', () => {
    const draft = prefsToDraft(prefs);
    expect(draft).toEqual({ contract_expired: false, task_assigned: true, task_escalated: false, something_new: false });
    expect(draftToUpdate(prefs, draft)).toEqual({ kinds: {} });
    expect(draftToUpdate(prefs, { ...draft, task_assigned: false, task_escalated: true })).toEqual({
      kinds: { task_assigned: ['in_app'], task_escalated: ['in_app', 'email'] },
    });
  });
});
