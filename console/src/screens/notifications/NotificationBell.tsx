// The header's bell: the unread count, kept live by the notification stream (one per tab: the
// layout mounts the bell once), announced politely, with a popover of the latest few.
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { Anchor, Badge, Button, Group, Loader, Popover, Stack, Text, UnstyledButton, VisuallyHidden } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useEventStream } from '../../api/useEventStream';
import { formatDateTime } from '../../lib/format';
import type { SseEvent } from '../../lib/sse';
import { useLang } from '../../i18n/useLang';
import { LATEST, notificationKeys, STREAM_PATH, useMarkAllRead, useMarkRead, useNotifications, useUnreadCount } from './api';
import { linkRoute } from './links';
import type { Notification } from './types';
import { initialUnread, reduceUnread, type UnreadState } from './unread';
import classes from './notifications.module.css';

const ANNOUNCE_AFTER_MS = 400;
const REFRESH_AFTER_MS = 200;

function BellIcon() {
  return (
    <svg aria-hidden="true" focusable="false" width="22" height="22" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
      <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
      <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
    </svg>
  );
}

/** Keeps the unread count in the query cache live; returns what to announce. */
function useLiveUnread() {
  const { t } = useTranslation('notifications');
  const queryClient = useQueryClient();
  const state = useRef<UnreadState>(initialUnread);
  const queued = useRef<Notification[]>([]);
  const announceTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const [announcement, setAnnouncement] = useState('');

  useEffect(
    () => () => {
      clearTimeout(announceTimer.current);
      clearTimeout(refreshTimer.current);
    },
    [],
  );

  const onEvent = useCallback(
    (e: SseEvent) => {
      const cached = queryClient.getQueryData<number>(notificationKeys.unread);
      const step = reduceUnread({ unread: cached ?? null, lastSeq: state.current.lastSeq }, e);
      state.current = step.state;
      if (step.state.unread !== null && step.state.unread !== cached) queryClient.setQueryData(notificationKeys.unread, step.state.unread);
      if (step.changed && !refreshTimer.current) {
        refreshTimer.current = setTimeout(() => {
          refreshTimer.current = undefined;
          void queryClient.invalidateQueries({ queryKey: notificationKeys.lists });
        }, REFRESH_AFTER_MS);
      }
      if (step.fresh.length) {
        queued.current.push(...step.fresh);
        if (!announceTimer.current) {
          announceTimer.current = setTimeout(() => {
            announceTimer.current = undefined;
            const items = queued.current;
            queued.current = [];
            const first = items[0];
            if (!first) return;
            setAnnouncement(items.length === 1 ? t('live.one', { title: first.title }) : t('live.many', { count: items.length }));
          }, ANNOUNCE_AFTER_MS);
        }
      }
    },
    [queryClient, t],
  );

  const status = useEventStream(STREAM_PATH, onEvent);
  return { status, announcement };
}

function LatestList({ onNavigate }: { onNavigate: () => void }) {
  const { t } = useTranslation('notifications');
  const lang = useLang();
  const latest = useNotifications({ limit: LATEST });
  const markRead = useMarkRead();

  if (latest.isPending) return <Loader size="sm" aria-label={t('common:loading')} />;
  if (latest.isError) return <Text size="sm">{t('bell.loadFailed')}</Text>;
  if (!latest.data.items.length) return <Text size="sm">{t('inbox.empty')}</Text>;
  return (
    <Stack component="ul" gap={6} className={classes.list} data-testid="notification-popover-list">
      {latest.data.items.map((n) => {
        const to = linkRoute(n.link);
        const open = () => {
          if (!n.read_at) markRead.mutate(n);
          onNavigate();
        };
        return (
          <li key={n.id} className={n.read_at ? classes.item : `${classes.item} ${classes.unread}`}>
            {to ? (
              <Anchor component={Link} to={to} onClick={open} size="sm" fw={n.read_at ? 400 : 600} className={classes.title}>
                {n.title}
              </Anchor>
            ) : (
              <Text size="sm" fw={n.read_at ? 400 : 600} className={classes.title}>
                {n.title}
              </Text>
            )}
            <Group gap={6} wrap="nowrap">
              {!n.read_at && <Badge size="xs" color="red.9">{t('unreadBadge')}</Badge>}
              <Text size="xs" c="dimmed">
                {formatDateTime(n.created_at, lang)}
              </Text>
            </Group>
          </li>
        );
      })}
    </Stack>
  );
}

export function NotificationBell() {
  const { t } = useTranslation('notifications');
  const [opened, setOpened] = useState(false);
  const headingId = useId();
  const { status, announcement } = useLiveUnread();
  const count = useUnreadCount(status === 'open' ? false : 30_000);
  const markAll = useMarkAllRead();
  const unread = count.data;
  const known = typeof unread === 'number';
  const label = known ? t('bell.label', { count: unread }) : t('bell.labelUnknown');

  return (
    <>
      <Popover opened={opened} onChange={setOpened} position="bottom-end" width={360} shadow="md" withArrow trapFocus returnFocus>
        <Popover.Target>
          <UnstyledButton
            className={classes.bell}
            onClick={() => setOpened((o) => !o)}
            aria-label={label}
            data-testid="notification-bell"
            data-live={status}
          >
            <BellIcon />
            {known && (
              <Badge data-testid="unread-count" aria-hidden="true" size="sm" variant={unread > 0 ? 'filled' : 'light'} color={unread > 0 ? 'red.8' : 'gray.7'} className={classes.count}>
                {String(unread)}
              </Badge>
            )}
          </UnstyledButton>
        </Popover.Target>
        <Popover.Dropdown aria-labelledby={headingId} data-testid="notification-popover">
          <Stack gap="sm">
            <Group justify="space-between" wrap="nowrap">
              <Text component="h2" id={headingId} fw={700} size="md" m={0}>
                {t('bell.heading')}
              </Text>
              {known && (
                <Text size="sm" c="dimmed">
                  {t('bell.unread', { count: unread })}
                </Text>
              )}
            </Group>
            {opened && <LatestList onNavigate={() => setOpened(false)} />}
            <Group justify="space-between" wrap="nowrap">
              <Anchor component={Link} to="/notifications" size="sm" onClick={() => setOpened(false)}>
                {t('bell.openInbox')}
              </Anchor>
              <Button size="xs" variant="default" disabled={!unread} loading={markAll.isPending} onClick={() => markAll.mutate()}>
                {t('inbox.markAllRead')}
              </Button>
            </Group>
          </Stack>
        </Popover.Dropdown>
      </Popover>
      <VisuallyHidden role="status" aria-live="polite" aria-atomic="true" data-testid="notification-announcer">
        {announcement}
      </VisuallyHidden>
    </>
  );
}
