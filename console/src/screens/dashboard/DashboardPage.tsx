// Placeholder: replaced by the Dashboard screen.
import { useTranslation } from 'react-i18next';
import { Placeholder } from '../../components/Placeholder';

export default function DashboardPage() {
  const { t } = useTranslation();
  return <Placeholder title={t('nav.dashboard')} />;
}
