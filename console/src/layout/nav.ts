import type { Role } from '../api/types';

export interface NavItem {
  to: string;
  /** key in the `common` namespace */
  labelKey: string;
  roles?: Role[];
  /** also active on sub-paths */
  prefix?: boolean;
}

// One line per entry.
export const navItems: NavItem[] = [
  { to: '/', labelKey: 'nav.dashboard' },
  { to: '/board', labelKey: 'nav.board' },
  { to: '/opportunities', labelKey: 'nav.opportunities', prefix: true },
  { to: '/tickets', labelKey: 'nav.tickets', prefix: true },
  { to: '/clients', labelKey: 'nav.clients', prefix: true },
  { to: '/contracts', labelKey: 'nav.contracts', prefix: true },
  { to: '/notifications', labelKey: 'nav.notifications', prefix: true },
  { to: '/admin', labelKey: 'nav.admin', roles: ['Admin'], prefix: true },
];
