import type { ComponentType } from 'react';
import { NotificationBell } from '../screens/notifications/NotificationBell';

// Components shown in the header before the language switch (e.g. the notifications bell).
// Another screen adds one line here.
export const headerItems: ComponentType[] = [NotificationBell];
