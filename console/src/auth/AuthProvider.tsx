import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import type { User } from '../api/types';
import { rememberLanguage, userLanguage } from '../i18n/language';
import { isLang } from '../lib/format';
import { AuthContext, type AuthState } from './context';
import { login, logout, onSessionEnd, refreshSession } from './session';

async function fetchMe(): Promise<User> {
  return unwrap(api.GET('/api/v1/auth/me'));
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<AuthState>({ status: 'loading', user: null });
  const queryClient = useQueryClient();
  const { i18n } = useTranslation();

  const enter = useCallback(
    (user: User) => {
      const preferred = userLanguage(user.id);
      if (preferred && preferred !== i18n.language) void i18n.changeLanguage(preferred);
      else if (isLang(i18n.language)) rememberLanguage(i18n.language, user.id);
      setState({ status: 'authenticated', user });
    },
    [i18n],
  );

  // On start: a refresh restores the session (so a reload keeps you signed in).
  useEffect(() => {
    let cancelled = false;
    void (async () => {
      const ok = await refreshSession();
      if (cancelled) return;
      if (!ok) {
        setState({ status: 'anonymous', user: null, reason: null });
        return;
      }
      try {
        const me = await fetchMe();
        if (!cancelled) enter(me);
      } catch {
        if (!cancelled) setState({ status: 'anonymous', user: null, reason: null });
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [enter]);

  useEffect(
    () =>
      onSessionEnd((reason) => {
        queryClient.clear();
        setState({ status: 'anonymous', user: null, reason });
      }),
    [queryClient],
  );

  const signIn = useCallback(
    async (email: string, password: string) => {
      await login(email, password);
      const me = await fetchMe();
      queryClient.clear();
      enter(me);
    },
    [enter, queryClient],
  );

  const signOut = useCallback(async () => {
    await logout();
  }, []);

  const value = useMemo(() => ({ state, signIn, signOut }), [state, signIn, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
