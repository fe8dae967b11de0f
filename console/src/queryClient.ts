import { MutationCache, QueryClient } from '@tanstack/react-query';
import { notifications } from '@mantine/notifications';
import i18n from './i18n';
import { errorMessage, isApiError } from './lib/problem';

declare module '@tanstack/react-query' {
  interface Register {
    mutationMeta: {
      /** the screen shows this mutation's errors itself (e.g. next to form fields) */
      handlesErrors?: boolean;
    };
  }
}

function retry(failureCount: number, error: unknown): boolean {
  // client errors (4xx) are answers, not accidents: don't ask again
  if (isApiError(error) && error.status >= 400 && error.status < 500) return false;
  return failureCount < 1;
}

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: { staleTime: 15_000, retry, refetchOnWindowFocus: true },
    mutations: { retry: false },
  },
  mutationCache: new MutationCache({
    onError: (error, _vars, _ctx, mutation) => {
      if (mutation.meta?.handlesErrors) return;
      const m = errorMessage(error);
      notifications.show({ color: 'red', title: i18n.t('errors.title'), message: i18n.t(m.key, m.values) });
    },
  }),
});
