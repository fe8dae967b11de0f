import { memo, useEffect, useRef } from 'react';
import { useDraggable } from '@dnd-kit/core';
import { Button, Group, Stack, Text, VisuallyHidden } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { OpportunityWithOwner } from '../../api/types';
import { SlaDot } from '../../components/SlaDot';
import { formatDuration, formatMoney, secondsSince } from '../../lib/format';
import { useLang } from '../../i18n/useLang';
import { CLIENT_DECISION } from './moves';
import classes from './board.module.css';

export interface DealCardProps {
  deal: OpportunityWithOwner;
  ownerName: string | null;
  now: number;
  onOpen: (id: string) => void;
  onDecline: (id: string) => void;
}

/** What a card shows; memoised apart from the draggable wrapper so drags don't re-render it. */
const CardBody = memo(function CardBody({ deal, ownerName, now }: Pick<DealCardProps, 'deal' | 'ownerName' | 'now'>) {
  const { t } = useTranslation('board');
  const lang = useLang();
  const inStage = secondsSince(deal.stage_entered_at, now);
  return (
    <Stack gap={4}>
      <Text fw={600} size="sm" lineClamp={2}>
        {deal.client_name ?? t('card.unknownClient')}
      </Text>
      <Text size="xs" lineClamp={1}>
        {deal.title}
      </Text>
      <Group gap={6} justify="space-between" wrap="nowrap">
        <Text size="xs" c="dimmed" lineClamp={1}>
          {deal.line_name}
        </Text>
        {deal.expected_premium && (
          <Text size="xs" fw={500}>
            {formatMoney(deal.expected_premium, deal.currency, lang)}
          </Text>
        )}
      </Group>
      <Group gap={6} justify="space-between" wrap="nowrap">
        <Text size="xs" lineClamp={1}>
          {ownerName ?? t('card.noOwner')}
        </Text>
        <Group gap={4} wrap="nowrap">
          <SlaDot state={deal.sla_state} />
          <Text size="xs" title={t('card.inStageLong', { duration: formatDuration(inStage, lang, 'long') })}>
            <span aria-hidden="true">{formatDuration(inStage, lang)}</span>
            <VisuallyHidden>{t('card.inStageLong', { duration: formatDuration(inStage, lang, 'long') })}</VisuallyHidden>
          </Text>
        </Group>
      </Group>
    </Stack>
  );
});

// A card that moved to another column is a new element there: it takes the focus back (on mount,
// or a moment later if it did not move at all).
let focusAfterMove: string | null = null;
export function refocusCard(id: string): void {
  focusAfterMove = id;
  setTimeout(() => {
    if (focusAfterMove !== id) return;
    focusAfterMove = null;
    document.querySelector<HTMLElement>(`[data-testid="card-${CSS.escape(id)}"] [role="button"]`)?.focus();
  }, 60);
}

export const DealCard = memo(function DealCard({ deal, ownerName, now, onOpen, onDecline }: DealCardProps) {
  const { t } = useTranslation('board');
  const { attributes, listeners, setNodeRef, isDragging } = useDraggable({
    id: deal.id,
    data: { stageKey: deal.stage.key, deal },
  });
  const handleRef = useRef<HTMLDivElement | null>(null);
  useEffect(() => {
    if (focusAfterMove === deal.id) {
      focusAfterMove = null;
      handleRef.current?.focus();
    }
  }, [deal.id, deal.stage.key]);
  return (
    <div className={classes.card} data-testid={`card-${deal.id}`} data-dragging={isDragging || undefined} data-stage={deal.stage.key}>
      <div
        ref={(el) => {
          setNodeRef(el);
          handleRef.current = el;
        }}
        {...attributes}
        {...listeners}
        role="button"
        tabIndex={0}
        aria-roledescription={t('card.roleDescription')}
        className={classes.handle}
        onClick={() => onOpen(deal.id)}
        onKeyDown={(e) => {
          listeners?.onKeyDown?.(e);
          if (!e.defaultPrevented && e.key === 'Enter') onOpen(deal.id);
        }}
      >
        <CardBody deal={deal} ownerName={ownerName} now={now} />
      </div>
      {deal.stage.key === CLIENT_DECISION && (
        <Button size="compact-xs" variant="default" mt={6} onClick={() => onDecline(deal.id)} aria-label={t('card.declineLabel', { client: deal.client_name ?? '' , title: deal.title })}>
          {t('card.decline')}
        </Button>
      )}
    </div>
  );
});

/** The card under the pointer while dragging (a copy, so the board does not reflow). */
export function DealCardOverlay({ deal, ownerName, now }: Pick<DealCardProps, 'deal' | 'ownerName' | 'now'>) {
  return (
    <div className={`${classes.card} ${classes.overlay}`}>
      <div className={classes.handle}>
        <CardBody deal={deal} ownerName={ownerName} now={now} />
      </div>
    </div>
  );
}
