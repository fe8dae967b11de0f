import { useTranslation } from 'react-i18next';
import type { ContractStatus } from '../clients/records';
import { StatusBadge, type Tone } from '../../components/ui';

const TONE: Record<ContractStatus, Tone> = { pending_issuance: 'amber', issued: 'blue', active: 'green', expired: 'gray', cancelled: 'red' };

export function ContractStatusBadge({ status }: { status: ContractStatus }) {
  const { t } = useTranslation('contracts');
  return (
    <StatusBadge tone={TONE[status]} testId="contract-status">
      {t(`status.${status}`)}
    </StatusBadge>
  );
}
