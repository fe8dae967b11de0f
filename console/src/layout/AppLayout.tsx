import { Suspense } from 'react';
import { Anchor, AppShell, Burger, Button, Group, NavLink, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Link, Outlet, useLocation } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useCurrentUser, useAuth } from '../auth/context';
import { Loading } from '../components/Loading';
import { LanguageSwitch } from './LanguageSwitch';
import { headerItems } from './headerItems';
import { navItems } from './nav';

export function AppLayout() {
  const { t } = useTranslation();
  const user = useCurrentUser();
  const { signOut } = useAuth();
  const { pathname } = useLocation();
  const [opened, { toggle, close }] = useDisclosure(false);

  const isActive = (to: string, prefix?: boolean) => (prefix ? pathname === to || pathname.startsWith(`${to}/`) : pathname === to);

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <Anchor href="#main" className="skip-link">
        {t('skipToContent')}
      </Anchor>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={t('nav.toggle')} />
            <Text component={Link} to="/" fw={700} size="lg" c="inherit" td="none">
              InsureOps
            </Text>
          </Group>
          <Group gap="md" wrap="nowrap">
            {headerItems.map((Item, i) => (
              <Item key={i} />
            ))}
            <LanguageSwitch />
            <Text size="sm" visibleFrom="sm" data-testid="current-user">
              {t('header.user', { name: user.name, role: t(`roles.${user.role}`) })}
            </Text>
            <Button variant="default" size="xs" onClick={() => void signOut()}>
              {t('header.signOut')}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label={t('nav.label')}>
        {navItems
          .filter((item) => !item.roles || item.roles.includes(user.role))
          .map((item) => (
            <NavLink
              key={item.to}
              component={Link}
              to={item.to}
              label={t(item.labelKey)}
              active={isActive(item.to, item.prefix)}
              aria-current={isActive(item.to, item.prefix) ? 'page' : undefined}
              onClick={close}
              variant="filled"
            />
          ))}
      </AppShell.Navbar>
      <AppShell.Main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}
