import type { Announcements, ScreenReaderInstructions } from '@dnd-kit/core';
import type { TFunction } from 'i18next';
import type { Opportunity, Stage } from '../../api/types';
import { classifyMove } from './moves';

/** dnd-kit's screen-reader announcements, translated. */
export function boardAnnouncements(t: TFunction, stages: readonly Stage[]): Announcements {
  const stageName = (key: unknown) => stages.find((s) => s.key === key)?.name ?? String(key ?? '');
  const dealOf = (data: unknown) => (data as { deal?: Opportunity } | undefined)?.deal;
  const name = (data: unknown) => {
    const d = dealOf(data);
    return d ? t('board:dnd.dealName', { client: d.client_name ?? '', title: d.title }) : '';
  };
  return {
    onDragStart: ({ active }) => t('board:dnd.start', { deal: name(active.data.current), stage: stageName(dealOf(active.data.current)?.stage.key) }),
    onDragOver: ({ active, over }) => {
      const from = dealOf(active.data.current)?.stage.key ?? '';
      if (!over) return t('board:dnd.overNothing', { deal: name(active.data.current) });
      const kind = classifyMove(from, String(over.id), stages);
      return t(`board:dnd.over.${kind}`, { deal: name(active.data.current), stage: stageName(over.id) });
    },
    onDragEnd: ({ active, over }) => {
      const from = dealOf(active.data.current)?.stage.key ?? '';
      if (!over || String(over.id) === from) return t('board:dnd.endNothing', { deal: name(active.data.current), stage: stageName(from) });
      return t('board:dnd.end', { deal: name(active.data.current), stage: stageName(over.id) });
    },
    onDragCancel: ({ active }) =>
      t('board:dnd.cancel', { deal: name(active.data.current), stage: stageName(dealOf(active.data.current)?.stage.key) }),
  };
}

export function boardInstructions(t: TFunction): ScreenReaderInstructions {
  return { draggable: t('board:dnd.instructions') };
}
