import { useTranslation } from 'react-i18next';
import type { TaskPriority, TaskStatus } from '../clients/records';
import { StatusBadge, type Tone } from '../../components/ui';

const STATUS_TONE: Record<TaskStatus, Tone> = { open: 'blue', in_progress: 'violet', waiting: 'amber', done: 'green', cancelled: 'gray' };
const PRIORITY_TONE: Record<TaskPriority, Tone> = { low: 'gray', normal: 'blue', high: 'amber', urgent: 'red' };

export function TaskStatusBadge({ status }: { status: TaskStatus }) {
  const { t } = useTranslation('tickets');
  return (
    <StatusBadge tone={STATUS_TONE[status]} testId="task-status">
      {t(`status.${status}`)}
    </StatusBadge>
  );
}

export function PriorityBadge({ priority }: { priority: TaskPriority }) {
  const { t } = useTranslation('tickets');
  return (
    <StatusBadge tone={PRIORITY_TONE[priority]} testId="task-priority">
      {t(`priority.${priority}`)}
    </StatusBadge>
  );
}
