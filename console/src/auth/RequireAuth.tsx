import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import type { Role } from '../api/types';
import { Loading } from '../components/Loading';
import { Forbidden } from '../components/NotFound';
import { useAuth } from './context';

/** Signed-in users only; others go to /login and come back here afterwards. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { state } = useAuth();
  const location = useLocation();
  if (state.status === 'loading') return <Loading />;
  if (state.status === 'anonymous') {
    return <Navigate to="/login" replace state={{ from: state.reason === 'logout' ? undefined : `${location.pathname}${location.search}${location.hash}`, reason: state.reason }} />;
  }
  return <>{children}</>;
}

export function RequireRole({ roles, children }: { roles?: Role[]; children: ReactNode }) {
  const { state } = useAuth();
  if (roles && state.status === 'authenticated' && !roles.includes(state.user.role)) return <Forbidden />;
  return <>{children}</>;
}
