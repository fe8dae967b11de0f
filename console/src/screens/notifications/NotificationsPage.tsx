// Placeholder: replaced by the Notifications screen.
import { useTranslation } from 'react-i18next';
import { Placeholder } from '../../components/Placeholder';

export default function NotificationsPage() {
  const { t } = useTranslation();
  return <Placeholder title={t('nav.notifications')} />;
}
