// Admin (Admins only, see routes.tsx): users, departments, insurance lines, stages, the working
// calendar and the audit chain, each a sub-route with its own tab.
import { lazy, Suspense } from 'react';
import { Button, Group, Stack, Text } from '@mantine/core';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router';
import { useTranslation } from 'react-i18next';
import { Loading } from '../../components/Loading';
import { PageHeading } from '../../components/PageHeading';

const SECTIONS = [
  { path: 'users', Component: lazy(() => import('./UsersSection')) },
  { path: 'departments', Component: lazy(() => import('./DepartmentsSection')) },
  { path: 'lines', Component: lazy(() => import('./LinesSection')) },
  { path: 'stages', Component: lazy(() => import('./StagesSection')) },
  { path: 'calendar', Component: lazy(() => import('./CalendarSection')) },
  { path: 'audit', Component: lazy(() => import('./AuditSection')) },
] as const;

type Section = (typeof SECTIONS)[number]['path'];

function currentSection(pathname: string): Section | null {
  const seg = pathname.replace(/^\/admin\/?/, '').split('/')[0] ?? '';
  return SECTIONS.find((s) => s.path === seg)?.path ?? null;
}

export default function AdminPage() {
  const { t } = useTranslation('admin');
  const { pathname } = useLocation();
  const section = currentSection(pathname);
  const sectionName = section ? t(`sections.${section}`) : t('notFound');
  const docTitle = t('docTitle', { section: sectionName });

  return (
    <Stack gap="md">
      <PageHeading title={docTitle}>{t('title')}</PageHeading>
      <Group component="nav" aria-label={t('navLabel')} gap={4} wrap="wrap" data-testid="admin-nav" style={{ borderBottom: '1px solid var(--mantine-color-gray-3)' }} pb={6}>
        {SECTIONS.map(({ path }) => {
          const active = section === path;
          return (
            <Button
              key={path}
              component={Link}
              to={`/admin/${path}`}
              variant={active ? 'filled' : 'subtle'}
              size="sm"
              aria-current={active ? 'page' : undefined}
            >
              {t(`sections.${path}`)}
            </Button>
          );
        })}
      </Group>
      <Suspense fallback={<Loading />}>
        <Routes>
          <Route index element={<Navigate to="users" replace />} />
          {SECTIONS.map(({ path, Component }) => (
            <Route key={path} path={`${path}/*`} element={<Component />} />
          ))}
          <Route path="*" element={<Text>{t('notFoundBody')}</Text>} />
        </Routes>
      </Suspense>
    </Stack>
  );
}
