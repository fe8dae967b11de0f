// Placeholder: replaced by the Tickets screen.
import { useTranslation } from 'react-i18next';
import { Placeholder } from '../../components/Placeholder';

export default function TicketsPage() {
  const { t } = useTranslation();
  return <Placeholder title={t('nav.tickets')} />;
}
