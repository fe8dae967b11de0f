// Placeholder: replaced by the Admin screen.
import { useTranslation } from 'react-i18next';
import { Placeholder } from '../../components/Placeholder';

export default function AdminPage() {
  const { t } = useTranslation();
  return <Placeholder title={t('nav.admin')} />;
}
