import { useTranslation } from 'react-i18next';
import { StatusBadge, type Tone } from '../../components/ui';
import type { ClientStatus } from './records';

const TONE: Record<ClientStatus, Tone> = { prospect: 'blue', active: 'green', inactive: 'gray' };

/** The client's status as text (Prospect / Active / Inactive), colour only as a help. */
export function ClientStatusBadge({ status, testId = 'client-status' }: { status: ClientStatus; testId?: string }) {
  const { t } = useTranslation('clients');
  return (
    <StatusBadge tone={TONE[status]} testId={testId}>
      {t(`status.${status}`)}
    </StatusBadge>
  );
}
