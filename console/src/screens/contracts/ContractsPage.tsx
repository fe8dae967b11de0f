// Placeholder: replaced by the Contracts screen.
import { useTranslation } from 'react-i18next';
import { Placeholder } from '../../components/Placeholder';

export default function ContractsPage() {
  const { t } = useTranslation();
  return <Placeholder title={t('nav.contracts')} />;
}
