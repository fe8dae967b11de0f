// The inbox (unread first, then newest; filters, paging, mark read) and the channel preferences.
import { useId, useMemo, useState } from 'react';
import { Alert, Anchor, Badge, Button, Group, Paper, Select, Stack, Switch, Table, Tabs, Text } from '@mantine/core';
import { Link, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { Loading } from '../../components/Loading';
import { PageHeading } from '../../components/PageHeading';
import { ProblemAlert } from '../../components/ProblemAlert';
import { formatDateTime } from '../../lib/format';
import { useLang } from '../../i18n/useLang';
import { ListPager } from '../../components/ListPager';
import { PAGE_SIZE, useMarkAllRead, useMarkRead, useNotifications, usePreferences, useSavePreferences, useUnreadCount } from './api';
import { draftToUpdate, isKind, KINDS, preferenceKinds, prefsToDraft, type EmailDraft } from './kinds';
import { linkRoute } from './links';
import type { Notification, NotificationListQuery } from './types';
import classes from './notifications.module.css';
import { toast } from './toast';

const SHOW = ['all', 'unread', 'read'] as const;
type Show = (typeof SHOW)[number];

function NotificationRow({ n }: { n: Notification }) {
  const { t } = useTranslation('notifications');
  const lang = useLang();
  const markRead = useMarkRead();
  const titleId = useId();
  const to = linkRoute(n.link);
  const unread = !n.read_at;
  return (
    <Paper component="li" withBorder p="sm" className={unread ? `${classes.item} ${classes.unread}` : classes.item} data-testid="notification-item" data-unread={unread}>
      <Stack gap={4}>
        <Group justify="space-between" wrap="nowrap" align="flex-start">
          <Stack gap={2} style={{ minWidth: 0 }}>
            {to ? (
              <Anchor id={titleId} component={Link} to={to} fw={unread ? 700 : 500} className={classes.title} onClick={() => unread && markRead.mutate(n)}>
                {n.title}
              </Anchor>
            ) : (
              <Text id={titleId} fw={unread ? 700 : 500} className={classes.title}>
                {n.title}
              </Text>
            )}
            <Text size="sm" className={classes.body}>
              {n.body}
            </Text>
          </Stack>
          <Group gap={6} wrap="nowrap" style={{ flexShrink: 0 }}>
            {unread && <Badge color="red.9">{t('unreadBadge')}</Badge>}
            <Badge color="gray.7">{t(`kinds.${n.kind}`, { defaultValue: n.kind })}</Badge>
          </Group>
        </Group>
        <Group justify="space-between">
          <Text size="xs" c="dimmed">
            {unread ? t('inbox.received', { when: formatDateTime(n.created_at, lang) }) : t('inbox.receivedRead', { when: formatDateTime(n.created_at, lang), read: formatDateTime(n.read_at, lang) })}
          </Text>
          {unread && (
            <Button size="compact-sm" variant="default" aria-describedby={titleId} loading={markRead.isPending} onClick={() => markRead.mutate(n)}>
              {t('inbox.markRead')}
            </Button>
          )}
        </Group>
      </Stack>
    </Paper>
  );
}

function Inbox() {
  const { t } = useTranslation('notifications');
  const [params, setParams] = useSearchParams();
  const showParam = params.get('show');
  const show: Show = SHOW.includes(showParam as Show) ? (showParam as Show) : 'all';
  const kindParam = params.get('kind');
  const kind = isKind(kindParam) ? kindParam : null;
  const page = Math.max(1, Math.floor(Number(params.get('page'))) || 1);
  const query: NotificationListQuery = useMemo(
    () => ({
      limit: PAGE_SIZE,
      offset: (page - 1) * PAGE_SIZE,
      ...(show === 'all' ? {} : { unread: show === 'unread' }),
      ...(kind ? { kind } : {}),
    }),
    [page, show, kind],
  );
  const list = useNotifications(query);
  const unread = useUnreadCount();
  const markAll = useMarkAllRead();

  const set = (changes: Record<string, string | null>) =>
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        for (const [k, v] of Object.entries(changes)) {
          if (v === null || v === '') next.delete(k);
          else next.set(k, v);
        }
        return next;
      },
      { replace: true },
    );

  const total = list.data?.total ?? 0;

  return (
    <Stack gap="md">
      <Group align="flex-end" justify="space-between">
        <Group align="flex-end">
          <Select
            label={t('inbox.show')}
            data={SHOW.map((s) => ({ value: s, label: t(`inbox.showOptions.${s}`) }))}
            value={show}
            allowDeselect={false}
            onChange={(v) => set({ show: v === 'all' ? null : v, page: null })}
            w={180}
          />
          <Select
            label={t('inbox.kind')}
            data={[{ value: 'all', label: t('inbox.allKinds') }, ...KINDS.map((k) => ({ value: k, label: t(`kinds.${k}`) }))]}
            value={kind ?? 'all'}
            allowDeselect={false}
            onChange={(v) => set({ kind: v === 'all' ? null : v, page: null })}
            w={240}
          />
        </Group>
        <Group align="center">
          {typeof unread.data === 'number' && (
            <Text size="sm" data-testid="inbox-unread">
              {t('bell.unread', { count: unread.data })}
            </Text>
          )}
          <Button
            variant="default"
            disabled={!unread.data}
            loading={markAll.isPending}
            onClick={() =>
              markAll.mutate(undefined, {
                onSuccess: (r) => toast(t('inbox.markedAll', { count: r.marked })),
              })
            }
          >
            {t('inbox.markAllRead')}
          </Button>
        </Group>
      </Group>

      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ProblemAlert error={list.error} />
      ) : list.data.items.length === 0 ? (
        <Alert color="gray" variant="light">
          {show === 'unread' ? t('inbox.noUnread') : t('inbox.empty')}
        </Alert>
      ) : (
        <>
          <Stack component="ul" gap="xs" className={classes.list} aria-label={t('inbox.listLabel')} data-testid="notification-list">
            {list.data.items.map((n) => (
              <NotificationRow key={n.id} n={n} />
            ))}
          </Stack>
          <ListPager
            total={total}
            page={page}
            pageSize={PAGE_SIZE}
            onChange={(p) => set({ page: p === 1 ? null : String(p) })}
            label={t('common:paging.label')}
          />
        </>
      )}
    </Stack>
  );
}

function PreferencesForm() {
  const { t } = useTranslation('notifications');
  const prefs = usePreferences();
  const save = useSavePreferences();
  const [draft, setDraft] = useState<EmailDraft | null>(null);

  if (prefs.isPending) return <Loading />;
  if (prefs.isError) return <ProblemAlert error={prefs.error} />;
  const current = draft ?? prefsToDraft(prefs.data);
  const kinds = preferenceKinds(prefs.data);
  const update = draftToUpdate(prefs.data, current);
  const dirty = Object.keys(update.kinds).length > 0;

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        if (!dirty) return;
        save.mutate(update, {
          onSuccess: () => {
            setDraft(null);
            toast(t('prefs.saved'));
          },
        });
      }}
    >
      <Stack gap="md" maw={640}>
        <Text size="sm">{t('prefs.intro')}</Text>
        {save.isError && <ProblemAlert error={save.error} />}
        <Table withTableBorder striped data-testid="preferences">
          <Table.Caption>{t('prefs.caption')}</Table.Caption>
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">{t('prefs.kind')}</Table.Th>
              <Table.Th scope="col">{t('prefs.inApp')}</Table.Th>
              <Table.Th scope="col">{t('prefs.email')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {kinds.map((k) => {
              const name = t(`kinds.${k}`, { defaultValue: k });
              return (
                <Table.Tr key={k} data-testid={`pref-${k}`}>
                  <Table.Th scope="row" fw={500}>
                    {name}
                  </Table.Th>
                  <Table.Td>
                    <Text size="sm" c="dimmed">
                      {t('prefs.alwaysOn')}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Switch
                      checked={current[k] ?? false}
                      onChange={(e) => {
                        const checked = e.currentTarget.checked;
                        setDraft({ ...current, [k]: checked });
                      }}
                      aria-label={t('prefs.emailFor', { kind: name })}
                    />
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
        <Group gap="sm">
          <Button type="submit" disabled={!dirty} loading={save.isPending}>
            {t('prefs.save')}
          </Button>
          <Button variant="default" disabled={!dirty} onClick={() => setDraft(null)}>
            {t('prefs.reset')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

export default function NotificationsPage() {
  const { t } = useTranslation('notifications');
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') === 'preferences' ? 'preferences' : 'inbox';
  const title = t('title');
  return (
    <Stack gap="md">
      <PageHeading title={title}>{title}</PageHeading>
      <Tabs
        value={tab}
        onChange={(v) => setParams(v === 'preferences' ? { tab: 'preferences' } : {}, { replace: true })}
        keepMounted={false}
      >
        <Tabs.List aria-label={t('tabs.label')}>
          <Tabs.Tab value="inbox">{t('tabs.inbox')}</Tabs.Tab>
          <Tabs.Tab value="preferences">{t('tabs.preferences')}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="inbox" pt="md">
          <Inbox />
        </Tabs.Panel>
        <Tabs.Panel value="preferences" pt="md">
          <PreferencesForm />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
