// Keyboard moves between columns: with a deal picked up (Space), Left/Right go to the previous or
// next stage's column; Up/Down stay. Columns are the droppables (id = stage key, data = { stage }).
import type { KeyboardCoordinateGetter } from '@dnd-kit/core';

interface ColumnData {
  stage?: { key: string; position: number };
}

// The column a keyboard drag is aiming at, per drag (keyed by the key press that started it), so
// quick presses don't depend on collision detection having caught up.
let aim: { drag: Event | null; key: string } = { drag: null, key: '' };

export const columnCoordinates: KeyboardCoordinateGetter = (event, { context, currentCoordinates }) => {
  const dir = event.code === 'ArrowRight' ? 1 : event.code === 'ArrowLeft' ? -1 : event.code === 'ArrowUp' || event.code === 'ArrowDown' ? 0 : null;
  if (dir === null) return undefined;
  event.preventDefault();
  if (dir === 0) return currentCoordinates;
  const order = context.droppableContainers
    .getEnabled()
    .map((c) => (c.data.current as ColumnData | undefined)?.stage)
    .filter((s): s is NonNullable<ColumnData['stage']> => Boolean(s))
    .sort((a, b) => a.position - b.position)
    .map((s) => s.key);
  const origin = (context.active?.data.current as { stageKey?: string } | undefined)?.stageKey;
  const current = aim.drag === context.activatorEvent && aim.key ? aim.key : origin;
  const index = current ? order.indexOf(current) : -1;
  if (index === -1) return currentCoordinates;
  const nextKey = order[index + dir];
  if (!nextKey) return currentCoordinates;
  const rect = context.droppableRects.get(nextKey);
  const activeRect = context.collisionRect;
  if (!rect || !activeRect) return currentCoordinates;
  aim = { drag: context.activatorEvent, key: nextKey };
  return {
    x: rect.left + Math.max(0, (rect.width - activeRect.width) / 2),
    y: rect.top + Math.min(80, Math.max(0, rect.height - activeRect.height)),
  };
};
