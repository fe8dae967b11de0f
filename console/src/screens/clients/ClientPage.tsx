// Placeholder: replaced by the Client detail screen.
import { useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { Placeholder } from '../../components/Placeholder';

export default function ClientPage() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  return <Placeholder title={t('placeholderTitles.client', { id })} />;
}
