import { useEffect, useRef, type ReactNode } from 'react';
import { Title } from '@mantine/core';
import { useLocation } from 'react-router';
import { useTranslation } from 'react-i18next';

let lastPath: string | null = null;

/**
 * The page's one h1. Sets the document title and, after a route change (not on first load),
 * takes focus so screen-reader and keyboard users start at the new page.
 */
export function PageHeading({ children, title }: { children: ReactNode; title: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  const { pathname } = useLocation();
  const { t } = useTranslation();

  useEffect(() => {
    document.title = t('appTitle', { page: title });
  }, [t, title]);

  useEffect(() => {
    if (lastPath !== null && lastPath !== pathname) ref.current?.focus({ preventScroll: false });
    lastPath = pathname;
  }, [pathname]);

  return (
    <Title order={1} ref={ref} tabIndex={-1} id="page-heading" size="h2" style={{ outlineOffset: 4 }}>
      {children}
    </Title>
  );
}
