// Every screen's route, one line each. Adding a screen: create src/screens/<name>/<Name>Page.tsx
// (default export) and add its line here; its nav entry goes in layout/nav.ts.
import { lazy, type ComponentType, type LazyExoticComponent } from 'react';
import { matchPath, Route, Routes } from 'react-router';
import type { Role } from './api/types';
import { RequireAuth, RequireRole } from './auth/RequireAuth';
import { AppLayout } from './layout/AppLayout';

type Loader = () => Promise<{ default: ComponentType }>;

export interface ScreenRoute {
  path: string;
  load: Loader;
  Component: LazyExoticComponent<ComponentType>;
  roles?: Role[];
}

function screen(path: string, load: Loader, roles?: Role[]): ScreenRoute {
  return { path, load, Component: lazy(load), roles };
}

export const screens: ScreenRoute[] = [
  screen('/', () => import('./screens/dashboard/DashboardPage')),
  screen('/board', () => import('./screens/board/BoardPage')),
  screen('/opportunities', () => import('./screens/opportunities/OpportunitiesPage')),
  screen('/opportunities/:id', () => import('./screens/opportunities/OpportunityPage')),
  screen('/tickets', () => import('./screens/tickets/TicketsPage')),
  screen('/tickets/:id', () => import('./screens/tickets/TicketPage')),
  screen('/clients', () => import('./screens/clients/ClientsPage')),
  screen('/clients/:id', () => import('./screens/clients/ClientPage')),
  screen('/contracts', () => import('./screens/contracts/ContractsPage')),
  screen('/contracts/:id', () => import('./screens/contracts/ContractPage')),
  screen('/notifications', () => import('./screens/notifications/NotificationsPage')),
  screen('/admin/*', () => import('./screens/admin/AdminPage'), ['Admin']),
  screen('*', () => import('./screens/notfound/NotFoundPage')),
];

const loadLogin: Loader = () => import('./screens/login/LoginPage');
const LoginPage = lazy(loadLogin);

/** Starts loading the screen of an address at once (not only after the session is restored). */
export function preloadScreen(pathname: string): void {
  if (pathname === '/login') {
    void loadLogin();
    return;
  }
  const match = screens.find((s) => s.path !== '*' && matchPath(s.path, pathname));
  void match?.load();
}

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route
        element={
          <RequireAuth>
            <AppLayout />
          </RequireAuth>
        }
      >
        {screens.map(({ path, Component, roles }) => (
          <Route
            key={path}
            path={path}
            element={
              <RequireRole roles={roles}>
                <Component />
              </RequireRole>
            }
          />
        ))}
      </Route>
    </Routes>
  );
}
