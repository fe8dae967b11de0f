// Aliases of the generated OpenAPI schemas for the notifications screens (no hand-written shapes).
import type { components, paths } from '../../api/schema';

type Schemas = components['schemas'];

export type Notification = Schemas['NotificationOut'];
export type NotificationPage = Schemas['Page_NotificationOut_'];
export type NotificationKind = Schemas['Kind'];
export type NotificationLink = Schemas['LinkOut'];
export type Preferences = Schemas['Preferences'];
export type PreferencesUpdate = Schemas['PreferencesUpdate'];
export type Channel = Preferences['kinds'][string][number];
export type UnreadCount = Schemas['UnreadCount'];
export type NotificationListQuery = NonNullable<paths['/api/v1/notifications']['get']['parameters']['query']>;
