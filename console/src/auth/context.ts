import { createContext, useContext } from 'react';
import type { User } from '../api/types';
import type { EndReason } from './session';

export type AuthState =
  | { status: 'loading'; user: null }
  | { status: 'anonymous'; user: null; reason: EndReason | null }
  | { status: 'authenticated'; user: User };

export interface AuthContextValue {
  state: AuthState;
  signIn: (email: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
}

export const AuthContext = createContext<AuthContextValue | null>(null);

export function useAuth(): AuthContextValue {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}

/** The signed-in user (only inside the authenticated part of the app). */
export function useCurrentUser(): User {
  const { state } = useAuth();
  if (state.status !== 'authenticated') throw new Error('useCurrentUser without a session');
  return state.user;
}
