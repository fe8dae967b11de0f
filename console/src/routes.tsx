// Every screen's route, one line each. Adding a screen: create src/screens/<name>/<Name>Page.tsx
// (default export) and add its line here; its nav entry goes in layout/nav.ts.
import { lazy, type ComponentType, type LazyExoticComponent } from 'react';
import { Route, Routes } from 'react-router';
import type { Role } from './api/types';
import { RequireAuth, RequireRole } from './auth/RequireAuth';
import { AppLayout } from './layout/AppLayout';

export interface ScreenRoute {
  path: string;
  Component: LazyExoticComponent<ComponentType>;
  roles?: Role[];
}

export const screens: ScreenRoute[] = [
  { path: '/', Component: lazy(() => import('./screens/dashboard/DashboardPage')) },
  { path: '/board', Component: lazy(() => import('./screens/board/BoardPage')) },
  { path: '/opportunities', Component: lazy(() => import('./screens/opportunities/OpportunitiesPage')) },
  { path: '/opportunities/:id', Component: lazy(() => import('./screens/opportunities/OpportunityPage')) },
  { path: '/tickets', Component: lazy(() => import('./screens/tickets/TicketsPage')) },
  { path: '/tickets/:id', Component: lazy(() => import('./screens/tickets/TicketPage')) },
  { path: '/clients', Component: lazy(() => import('./screens/clients/ClientsPage')) },
  { path: '/clients/:id', Component: lazy(() => import('./screens/clients/ClientPage')) },
  { path: '/contracts', Component: lazy(() => import('./screens/contracts/ContractsPage')) },
  { path: '/contracts/:id', Component: lazy(() => import('./screens/contracts/ContractPage')) },
  { path: '/notifications', Component: lazy(() => import('./screens/notifications/NotificationsPage')) },
  { path: '/admin/*', Component: lazy(() => import('./screens/admin/AdminPage')), roles: ['Admin'] },
  { path: '*', Component: lazy(() => import('./screens/notfound/NotFoundPage')) },
];

const LoginPage = lazy(() => import('./screens/login/LoginPage'));

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
