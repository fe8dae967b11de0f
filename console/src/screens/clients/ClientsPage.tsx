// Placeholder: replaced by the Clients screen.
import { useTranslation } from 'react-i18next';
import { Placeholder } from '../../components/Placeholder';

export default function ClientsPage() {
  const { t } = useTranslation();
  return <Placeholder title={t('nav.clients')} />;
}
