import { memo, useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import {
  DndContext,
  DragOverlay,
  KeyboardSensor,
  PointerSensor,
  pointerWithin,
  rectIntersection,
  useSensor,
  useSensors,
  type CollisionDetection,
  type DragEndEvent,
  type DragStartEvent,
} from '@dnd-kit/core';
import { Group, Select, Stack, Text, VisuallyHidden } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useQueryClient } from '@tanstack/react-query';
import { useNavigate, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { Board, Opportunity, OpportunityWithOwner } from '../../api/types';
import { usePeople } from '../../api/people';
import { eventData, useEventStream } from '../../api/useEventStream';
import { Loading } from '../../components/Loading';
import { PageHeading } from '../../components/PageHeading';
import { ProblemAlert } from '../../components/ProblemAlert';
import { errorMessage } from '../../lib/problem';
import type { SseEvent } from '../../lib/sse';
import { useNow } from '../../lib/useNow';
import { AcceptDialog, DeclineDialog, MoveBackDialog } from '../opportunities/DealDialogs';
import { advanceDeal, dealKeys, invalidateDeal } from '../opportunities/dealApi';
import { boardAnnouncements, boardInstructions } from './announcements';
import { BoardColumn } from './BoardColumn';
import { DealCardOverlay, refocusCard, type CardLabels } from './DealCard';
import { useLang } from '../../i18n/useLang';
import { columnCoordinates } from './keyboard';
import { classifyMove, findDeal, moveDeal, removeDeal } from './moves';
import { boardKeys, markOwnBoard, useActiveUsers, useBoard, useDepartments, useLines, useStages, type BoardFilters } from './queries';
import classes from './board.module.css';

const STREAM = '/api/v1/pipeline/board/stream';
const FILTERS = [
  ['line', 'line_id'],
  ['owner', 'owner_id'],
  ['department', 'department_id'],
] as const;

type Dialog = { kind: 'accept' | 'decline'; deal: Opportunity } | { kind: 'moveBack'; deal: Opportunity; toStageName: string };

const collision: CollisionDetection = (args) => {
  // pointer drags: the column under the pointer; keyboard drags: the column the card overlaps
  if (args.pointerCoordinates) {
    const hits = pointerWithin(args);
    if (hits.length) return hits;
  }
  return rectIntersection(args);
};

function mark(name: string) {
  if (typeof performance !== 'undefined' && performance.mark) performance.mark(name);
}

// The screen-reader line of the board (moves confirmed or refused): a tiny store, so a message
// re-renders only this line, not the board.
const announcer = (() => {
  let text = '';
  const listeners = new Set<() => void>();
  return {
    set: (next: string) => {
      text = next;
      listeners.forEach((l) => l());
    },
    get: () => text,
    subscribe: (l: () => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
})();

function Announcer() {
  const text = useSyncExternalStore(announcer.subscribe, announcer.get, announcer.get);
  return (
    <VisuallyHidden role="status" aria-live="polite" data-testid="board-announcer">
      {text}
    </VisuallyHidden>
  );
}

const FilterBar = memo(function FilterBar({
  params,
  total,
  onChange,
}: {
  params: URLSearchParams;
  total: number | null;
  onChange: (param: string, value: string | null) => void;
}) {
  const { t } = useTranslation('board');
  const lines = useLines();
  const users = useActiveUsers();
  const departments = useDepartments();
  const lineOptions = useMemo(() => (lines.data ?? []).map((l) => ({ value: l.id, label: l.name })), [lines.data]);
  const userOptions = useMemo(() => (users.data?.items ?? []).map((u) => ({ value: u.id, label: u.name })), [users.data]);
  const departmentOptions = useMemo(() => (departments.data?.items ?? []).map((d) => ({ value: d.id, label: d.name })), [departments.data]);
  return (
    <Group gap="sm" align="flex-end" role="search" aria-label={t('filters.label')}>
      <Select
        label={t('filters.line')}
        placeholder={t('filters.all')}
        data={lineOptions}
        value={params.get('line')}
        onChange={(v) => onChange('line', v)}
        searchable
        clearable
        w={200}
        error={lines.isError ? t('filters.unavailable') : undefined}
      />
      <Select
        label={t('filters.owner')}
        placeholder={t('filters.all')}
        data={userOptions}
        value={params.get('owner')}
        onChange={(v) => onChange('owner', v)}
        searchable
        clearable
        w={220}
        error={users.isError ? t('filters.unavailable') : undefined}
      />
      <Select
        label={t('filters.department')}
        placeholder={t('filters.all')}
        data={departmentOptions}
        value={params.get('department')}
        onChange={(v) => onChange('department', v)}
        searchable
        clearable
        w={220}
        error={departments.isError ? t('filters.unavailable') : undefined}
      />
      {total !== null && (
        <Text size="sm" pb={8} data-testid="board-total">
          {t('total', { count: total })}
        </Text>
      )}
    </Group>
  );
});

export default function BoardPage() {
  const { t } = useTranslation('board');
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const filters: BoardFilters = useMemo(
    () => Object.fromEntries(FILTERS.map(([p, k]) => [k, params.get(p) ?? undefined]).filter(([, v]) => v)) as BoardFilters,
    [params],
  );
  const boardKey = useMemo(() => boardKeys.board(filters), [filters]);

  // --- live: the stream tells what changed; refetches are coalesced and held during a drag or a move
  const busy = useRef(0);
  const held = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const readies = useRef(0);
  const refreshBoard = useCallback(() => {
    if (busy.current > 0) {
      held.current = true;
      return;
    }
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      void queryClient.invalidateQueries({ queryKey: boardKeys.all });
    }, 150);
  }, [queryClient]);
  const release = useCallback(() => {
    busy.current = Math.max(0, busy.current - 1);
    if (busy.current === 0 && held.current) {
      held.current = false;
      refreshBoard();
    }
  }, [refreshBoard]);
  useEffect(() => () => clearTimeout(timer.current), []);

  const onEvent = useCallback(
    (e: SseEvent) => {
      switch (e.event) {
        case 'ready': {
          const first = readies.current++ === 0;
          const updated = queryClient.getQueryState(boardKey)?.dataUpdatedAt ?? 0;
          if (!first || Date.now() - updated > 2000) refreshBoard();
          break;
        }
        case 'opportunity': {
          const id = eventData<{ opportunity_id?: string }>(e)?.opportunity_id;
          if (id) void queryClient.invalidateQueries({ queryKey: dealKeys.detail(id) });
          refreshBoard();
          break;
        }
        case 'config':
          void queryClient.invalidateQueries({ queryKey: boardKeys.stages });
          void queryClient.invalidateQueries({ queryKey: boardKeys.lines });
          refreshBoard();
          break;
        case 'resync':
          void queryClient.invalidateQueries({ queryKey: boardKeys.stages });
          void queryClient.invalidateQueries({ queryKey: boardKeys.lines });
          void queryClient.invalidateQueries({ queryKey: dealKeys.list });
          refreshBoard();
          break;
        default:
          break;
      }
    },
    [queryClient, boardKey, refreshBoard],
  );
  const live = useEventStream(STREAM, onEvent);

  const stages = useStages();
  const board = useBoard(filters, live === 'open' ? false : 5000);
  const users = useActiveUsers();
  const now = useNow();

  const lang = useLang();
  const labels: CardLabels = useMemo(
    () => ({
      lang,
      unknownClient: t('card.unknownClient'),
      noOwner: t('card.noOwner'),
      roleDescription: t('card.roleDescription'),
      decline: t('card.decline'),
      declineLabel: (client: string, title: string) => t('card.declineLabel', { client, title }),
      inStage: (duration: string) => t('card.inStageLong', { duration }),
      sla: { green: t('common:sla.green'), yellow: t('common:sla.yellow'), red: t('common:sla.red'), none: t('common:sla.none') },
    }),
    [t, lang],
  );
  const listed = useMemo(() => new Map((users.data?.items ?? []).map((u) => [u.id, u.name])), [users.data]);
  // owners the deals don't name and the caller's user list lacks (other departments, inactive)
  const unnamed = useMemo(() => {
    if (!users.data) return [];
    const ids = new Set<string>();
    for (const col of board.data?.columns ?? []) for (const d of col.deals as OpportunityWithOwner[]) if (!d.owner_name && d.owner_id && !listed.has(d.owner_id)) ids.add(d.owner_id);
    return [...ids];
  }, [board.data, users.data, listed]);
  const people = usePeople(unnamed);
  const ownerNames = useMemo(() => (people.size ? new Map([...listed, ...[...people.values()].map((p) => [p.id, p.name] as const)]) : listed), [listed, people]);
  const stageList = useMemo(() => stages.data ?? [], [stages.data]);
  const columns = useMemo(() => {
    const cols = board.data?.columns ?? [];
    const pos = new Map(stageList.map((s) => [s.key, s.position]));
    return [...cols].sort((a, b) => (pos.get(a.stage.key) ?? a.stage.position) - (pos.get(b.stage.key) ?? b.stage.position));
  }, [board.data, stageList]);

  const interactive = useRef(false);
  useEffect(() => {
    if (board.data && stages.data && !interactive.current) {
      interactive.current = true;
      mark('board:interactive');
    }
  }, [board.data, stages.data]);

  // --- drag and drop
  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 6 } }),
    useSensor(KeyboardSensor, {
      coordinateGetter: columnCoordinates,
      keyboardCodes: { start: ['Space'], cancel: ['Escape'], end: ['Space', 'Enter'] },
      scrollBehavior: 'auto',
    }),
  );
  const [active, setActive] = useState<OpportunityWithOwner | null>(null);
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const announce = announcer.set;

  const onDragStart = useCallback((e: DragStartEvent) => {
    busy.current++;
    setActive((e.active.data.current as { deal?: OpportunityWithOwner } | undefined)?.deal ?? null);
  }, []);

  const advance = useCallback(
    async (deal: Opportunity, toKey: string) => {
      const from = deal.stage.key;
      busy.current++;
      performance.clearMarks?.('board:move-start');
      mark('board:move-start');
      await queryClient.cancelQueries({ queryKey: boardKey });
      queryClient.setQueryData<Board>(boardKey, (b) => (b ? markOwnBoard(moveDeal(b, deal.id, toKey)) : b));
      refocusCard(deal.id);
      try {
        const updated = await advanceDeal(deal.id, from);
        queryClient.setQueryData<Board>(boardKey, (b) => (b ? markOwnBoard(moveDeal(b, deal.id, updated.stage.key, updated)) : b));
        mark('board:move-confirmed');
        try {
          performance.measure('board:move', 'board:move-start', 'board:move-confirmed');
        } catch {
          // marks cleared meanwhile
        }
        invalidateDeal(queryClient, deal.id, updated);
        announce(t('moved', { deal: deal.client_name ?? deal.title, stage: updated.stage.name }));
        if (live !== 'open') refreshBoard();
      } catch (error) {
        // snap back to where it was, and say why
        queryClient.setQueryData<Board>(boardKey, (b) => (b ? markOwnBoard(moveDeal(b, deal.id, from, deal)) : b));
        refocusCard(deal.id);
        const m = errorMessage(error);
        const message = t(m.key, { ns: 'common', ...m.values });
        notifications.show({ color: 'red', title: t('refusedTitle'), message });
        announce(t('refusedAnnounce', { deal: deal.client_name ?? deal.title, message }));
        held.current = true;
      } finally {
        release();
      }
    },
    [queryClient, boardKey, t, announce, live, refreshBoard, release],
  );

  const onDragEnd = useCallback(
    (e: DragEndEvent) => {
      setActive(null);
      const deal = (e.active.data.current as { deal?: Opportunity } | undefined)?.deal;
      const toKey = e.over ? String(e.over.id) : null;
      release();
      if (!deal) return;
      const kind = classifyMove(deal.stage.key, toKey, stageList);
      if (kind === 'advance' && toKey) void advance(deal, toKey);
      else if (kind === 'accept') setDialog({ kind: 'accept', deal });
      else if (kind === 'move-back') setDialog({ kind: 'moveBack', deal, toStageName: stageList.find((s) => s.key === toKey)?.name ?? '' });
      else if (kind === 'refused') {
        refocusCard(deal.id);
        const message = t('oneStageAtATime');
        notifications.show({ color: 'orange', title: t('notMovedTitle'), message });
        announce(message);
      }
    },
    [advance, release, stageList, t, announce],
  );

  const onDragCancel = useCallback(
    (e: { active: { id: string | number } }) => {
      setActive(null);
      release();
      refocusCard(String(e.active.id));
    },
    [release],
  );
  const closeDialog = useCallback(() => {
    if (dialog) refocusCard(dialog.deal.id);
    setDialog(null);
  }, [dialog]);

  const onOpen = useCallback((id: string) => navigate(`/opportunities/${id}`), [navigate]);
  const onDecline = useCallback(
    (id: string) => {
      const found = board.data ? findDeal(board.data, id) : null;
      if (found) setDialog({ kind: 'decline', deal: found.deal });
    },
    [board.data],
  );

  const afterDialog = useCallback(
    (updated: Opportunity) => {
      queryClient.setQueryData<Board>(boardKey, (b) => {
        if (!b) return b;
        return markOwnBoard(updated.status === 'open' ? moveDeal(b, updated.id, updated.stage.key, updated) : removeDeal(b, updated.id));
      });
      announce(
        updated.status === 'lost'
          ? t('declined', { deal: updated.client_name ?? updated.title })
          : t('moved', { deal: updated.client_name ?? updated.title, stage: updated.stage.name }),
      );
      refreshBoard();
    },
    [queryClient, boardKey, announce, t, refreshBoard],
  );

  const accessibility = useMemo(
    () => ({ announcements: boardAnnouncements(t, stageList), screenReaderInstructions: boardInstructions(t) }),
    [t, stageList],
  );

  const dropState = useCallback(
    (key: string): boolean | null => {
      if (!active) return null;
      const kind = classifyMove(active.stage.key, key, stageList);
      return kind === 'advance' || kind === 'accept' || kind === 'move-back' || kind === 'none';
    },
    [active, stageList],
  );

  const setFilter = useCallback(
    (param: string, value: string | null) => {
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          if (value) next.set(param, value);
          else next.delete(param);
          return next;
        },
        { replace: true },
      );
    },
    [setParams],
  );

  const title = t('title');
  const error = stages.error ?? board.error;
  return (
    <Stack gap="md">
      <Group justify="space-between" align="flex-end">
        <PageHeading title={title}>{title}</PageHeading>
        <Text size="sm" role="status" data-testid="live-status" data-live={live}>
          {t(`live.${live}`)}
        </Text>
      </Group>
      <FilterBar params={params} total={board.data?.total ?? null} onChange={setFilter} />
      <Announcer />
      {error ? (
        <ProblemAlert error={error} />
      ) : !board.data || !stages.data ? (
        <Loading />
      ) : (
        <DndContext
          sensors={sensors}
          collisionDetection={collision}
          onDragStart={onDragStart}
          onDragEnd={onDragEnd}
          onDragCancel={onDragCancel}
          accessibility={accessibility}
        >
          <div className={classes.board} data-testid="board">
            {columns.map((column) => (
              <BoardColumn
                key={column.stage.key}
                column={column}
                ownerNames={ownerNames}
                now={now}
                labels={labels}
                droppable={dropState(column.stage.key)}
                onOpen={onOpen}
                onDecline={onDecline}
              />
            ))}
          </div>
          <DragOverlay dropAnimation={null}>
            {active ? (
              <DealCardOverlay deal={active} ownerName={active.owner_name ?? ownerNames.get(active.owner_id) ?? null} now={now} labels={labels} />
            ) : null}
          </DragOverlay>
        </DndContext>
      )}
      {dialog?.kind === 'accept' && (
        <AcceptDialog
          deal={dialog.deal}
          opened
          onClose={closeDialog}
          onDone={afterDialog}
          returnFocus={false}
          onDeclineInstead={() => setDialog({ kind: 'decline', deal: dialog.deal })}
        />
      )}
      {dialog?.kind === 'decline' && <DeclineDialog deal={dialog.deal} opened onClose={closeDialog} onDone={afterDialog} returnFocus={false} />}
      {dialog?.kind === 'moveBack' && (
        <MoveBackDialog
          deal={dialog.deal}
          toStageName={dialog.toStageName}
          opened
          onClose={closeDialog}
          onDone={afterDialog}
          returnFocus={false}
        />
      )}
    </Stack>
  );
}
