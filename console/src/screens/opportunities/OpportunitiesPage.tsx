// Placeholder: replaced by the Opportunities screen.
import { useTranslation } from 'react-i18next';
import { Placeholder } from '../../components/Placeholder';

export default function OpportunitiesPage() {
  const { t } = useTranslation();
  return <Placeholder title={t('nav.opportunities')} />;
}
