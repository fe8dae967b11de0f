import { memo, useCallback, useEffect, useRef } from 'react';
import { useDraggable } from '@dnd-kit/core';
import type { OpportunityWithOwner } from '../../api/types';
import { formatDuration, formatMoney, secondsSince, type Lang } from '../../lib/format';
import { slaIndicator } from '../../lib/sla';
import { CLIENT_DECISION } from './moves';
import classes from './board.module.css';

/**
 * The translated strings every card needs, made once per board render (cards are many: they use
 * plain elements and no hooks of their own besides dnd-kit's, to keep drags and renders cheap).
 */
export interface CardLabels {
  lang: Lang;
  unknownClient: string;
  noOwner: string;
  roleDescription: string;
  decline: string;
  declineLabel: (client: string, title: string) => string;
  inStage: (duration: string) => string;
  sla: Record<'green' | 'yellow' | 'red' | 'none', string>;
}

export interface DealCardProps {
  deal: OpportunityWithOwner;
  ownerName: string | null;
  now: number;
  labels: CardLabels;
  onOpen: (id: string) => void;
  onDecline: (id: string) => void;
}

/** What a card shows; memoised apart from the draggable wrapper so drags don't re-render it. */
const CardBody = memo(function CardBody({ deal, ownerName, now, labels }: Pick<DealCardProps, 'deal' | 'ownerName' | 'now' | 'labels'>) {
  const { lang } = labels;
  const inStage = secondsSince(deal.stage_entered_at, now);
  const sla = slaIndicator(deal.sla_state);
  const longDuration = labels.inStage(formatDuration(inStage, lang, 'long'));
  return (
    <>
      <span className={classes.client}>{deal.client_name ?? labels.unknownClient}</span>
      <span className={classes.title}>{deal.title}</span>
      <span className={classes.row}>
        <span className={classes.line}>{deal.line_name}</span>
        {deal.expected_premium && <span className={classes.premium}>{formatMoney(deal.expected_premium, deal.currency, lang)}</span>}
      </span>
      <span className={classes.row}>
        <span className={classes.owner}>{ownerName ?? labels.noOwner}</span>
        <span className={classes.sla} data-sla={sla.tone} title={longDuration}>
          <span className={classes.dot} style={{ background: sla.color }} aria-hidden="true" />
          <span className="visually-hidden">{labels.sla[sla.tone === 'amber' ? 'yellow' : sla.tone]}</span>
          <span aria-hidden="true">{formatDuration(inStage, lang)}</span>
          <span className="visually-hidden">{longDuration}</span>
        </span>
      </span>
    </>
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
    document.querySelector<HTMLElement>(`[data-testid="card-${CSS.escape(id)}"] [aria-roledescription]`)?.focus();
  }, 60);
}

export const DealCard = memo(function DealCard({ deal, ownerName, now, labels, onOpen, onDecline }: DealCardProps) {
  const { attributes, listeners, setNodeRef, isDragging } = useDraggable({
    id: deal.id,
    data: { stageKey: deal.stage.key, deal },
  });
  const handleRef = useRef<HTMLDivElement | null>(null);
  const ref = useCallback(
    (el: HTMLDivElement | null) => {
      setNodeRef(el);
      handleRef.current = el;
    },
    [setNodeRef],
  );
  useEffect(() => {
    if (focusAfterMove === deal.id) {
      focusAfterMove = null;
      handleRef.current?.focus();
    }
  }, [deal.id, deal.stage.key]);
  return (
    <div className={classes.card} data-testid={`card-${deal.id}`} data-dragging={isDragging || undefined} data-stage={deal.stage.key}>
      <div
        ref={ref}
        {...attributes}
        {...listeners}
        role="button"
        tabIndex={0}
        aria-roledescription={labels.roleDescription}
        className={classes.handle}
        onClick={() => onOpen(deal.id)}
        onKeyDown={(e) => {
          listeners?.onKeyDown?.(e);
          if (!e.defaultPrevented && e.key === 'Enter') onOpen(deal.id);
        }}
      >
        <CardBody deal={deal} ownerName={ownerName} now={now} labels={labels} />
      </div>
      {deal.stage.key === CLIENT_DECISION && (
        <button type="button" className={classes.cardAction} onClick={() => onDecline(deal.id)} aria-label={labels.declineLabel(deal.client_name ?? '', deal.title)}>
          {labels.decline}
        </button>
      )}
    </div>
  );
});

/** The card under the pointer while dragging (a copy, so the board does not reflow). */
export function DealCardOverlay({ deal, ownerName, now, labels }: Pick<DealCardProps, 'deal' | 'ownerName' | 'now' | 'labels'>) {
  return (
    <div className={`${classes.card} ${classes.overlay}`} aria-hidden="true">
      <div className={classes.handle}>
        <CardBody deal={deal} ownerName={ownerName} now={now} labels={labels} />
      </div>
    </div>
  );
}
