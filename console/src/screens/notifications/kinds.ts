// The kinds of notifications, in the order the console lists them; every kind of the API must
// be here (a kind added to the OpenAPI schema fails the typecheck until it is).
import type { Channel, NotificationKind, Preferences, PreferencesUpdate } from './types';

const ORDER: Record<NotificationKind, number> = {
  task_assigned: 1,
  task_at_risk: 2,
  task_escalated: 3,
  task_stale: 4,
  deal_opened: 5,
  decision_recorded: 6,
  contract_renewal_due: 7,
  contract_expired: 8,
  contract_referred: 9,
  renewal_opened: 10,
  renewal_at_risk: 11,
};

export const KINDS = (Object.keys(ORDER) as NotificationKind[]).sort((a, b) => ORDER[a] - ORDER[b]);

export function isKind(value: unknown): value is NotificationKind {
  return typeof value === 'string' && Object.hasOwn(ORDER, value);
}

/** Whether each kind also goes by email (in_app is always on), for the preferences form. */
export type EmailDraft = Record<string, boolean>;

/** The kinds the API answered with (known ones in the console's order, unknown ones after). */
export function preferenceKinds(prefs: Preferences): string[] {
  const keys = Object.keys(prefs.kinds);
  return [...keys.filter(isKind).sort((a, b) => ORDER[a] - ORDER[b]), ...keys.filter((k) => !isKind(k)).sort()];
}

export function prefsToDraft(prefs: Preferences): EmailDraft {
  return Object.fromEntries(Object.entries(prefs.kinds).map(([kind, channels]) => [kind, channels.includes('email')]));
}

/** Only the kinds whose channels change (kinds left out keep theirs); in_app always included. */
export function draftToUpdate(prefs: Preferences, draft: EmailDraft): PreferencesUpdate {
  const kinds: Record<string, Channel[]> = {};
  for (const [kind, email] of Object.entries(draft)) {
    const before = prefs.kinds[kind]?.includes('email') ?? false;
    if (email !== before) kinds[kind] = email ? ['in_app', 'email'] : ['in_app'];
  }
  return { kinds };
}
