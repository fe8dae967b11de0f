import { memo, useState } from 'react';
import { useDroppable } from '@dnd-kit/core';
import { Anchor, Badge, Button, Group, Stack, Text, Title } from '@mantine/core';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { BoardColumn as Column, OpportunityWithOwner } from '../../api/types';
import { formatHours, formatMoney } from '../../lib/format';
import { columnPremiumTotals } from '../../lib/premium';
import { useLang } from '../../i18n/useLang';
import { DealCard, type CardLabels } from './DealCard';
import classes from './board.module.css';

export const PAGE = 12;

interface Props {
  column: Column;
  ownerNames: ReadonlyMap<string, string>;
  now: number;
  labels: CardLabels;
  /** whether the deal being dragged could be dropped here (null: nothing is dragged) */
  droppable: boolean | null;
  onOpen: (id: string) => void;
  onDecline: (id: string) => void;
}

const ColumnHeader = memo(function ColumnHeader({ column }: { column: Column }) {
  const { t } = useTranslation('board');
  const lang = useLang();
  const { totals, partial } = columnPremiumTotals(column);
  const headingId = `column-heading-${column.stage.key}`;
  return (
    <div className={classes.columnHeader}>
      <Group justify="space-between" wrap="nowrap" gap={6}>
        <Title order={2} size="h5" id={headingId}>
          {column.stage.name}
        </Title>
        <Badge variant="outline" color="gray.8" aria-label={t('column.countLabel', { count: column.count })}>
          {column.count}
        </Badge>
      </Group>
      <Stack gap={0} mt={4}>
        <Text size="xs" data-testid={`premium-${column.stage.key}`}>
          {totals.length === 0
            ? t('column.noPremium')
            : t(partial ? 'column.premiumListed' : 'column.premium', {
                amounts: totals.map((p) => formatMoney(p.amount, p.currency, lang)).join(' + '),
              })}
        </Text>
        <Text size="xs" c="dimmed">
          {t('column.sla', { target: formatHours(column.stage.sla_hours, lang) })}
        </Text>
      </Stack>
    </div>
  );
});

const CardList = memo(function CardList({ column, ownerNames, now, labels, onOpen, onDecline }: Omit<Props, 'droppable'>) {
  const { t } = useTranslation('board');
  const [visible, setVisible] = useState(PAGE);
  const deals = column.deals as OpportunityWithOwner[];
  const shown = deals.slice(0, visible);
  const more = deals.length - shown.length;
  const beyond = column.count - deals.length;
  return (
    <ul className={classes.cards} aria-labelledby={`column-heading-${column.stage.key}`}>
      {shown.map((deal) => (
        <li key={deal.id}>
          <DealCard deal={deal} ownerName={deal.owner_name ?? ownerNames.get(deal.owner_id) ?? null} now={now} labels={labels} onOpen={onOpen} onDecline={onDecline} />
        </li>
      ))}
      {deals.length === 0 && (
        <li>
          <Text size="sm" c="dimmed" ta="center" py="md">
            {t('column.empty')}
          </Text>
        </li>
      )}
      {more > 0 && (
        <li>
          <Button variant="subtle" size="xs" fullWidth onClick={() => setVisible((v) => v + PAGE)}>
            {t('column.showMore', { count: Math.min(PAGE, more), stage: column.stage.name })}
          </Button>
        </li>
      )}
      {more <= 0 && beyond > 0 && (
        <li>
          <Anchor component={Link} to={`/opportunities?stage=${encodeURIComponent(column.stage.key)}`} size="xs">
            {t('column.seeAll', { count: column.count, stage: column.stage.name })}
          </Anchor>
        </li>
      )}
    </ul>
  );
});

export const BoardColumn = memo(function BoardColumn({ column, ownerNames, now, labels, droppable, onOpen, onDecline }: Props) {
  const { setNodeRef, isOver } = useDroppable({ id: column.stage.key, data: { stage: column.stage } });
  return (
    <section
      ref={setNodeRef}
      className={classes.column}
      data-testid={`column-${column.stage.key}`}
      data-over={isOver}
      data-droppable={droppable === null ? undefined : droppable}
      aria-labelledby={`column-heading-${column.stage.key}`}
    >
      <ColumnHeader column={column} />
      <CardList column={column} ownerNames={ownerNames} now={now} labels={labels} onOpen={onOpen} onDecline={onDecline} />
    </section>
  );
});
