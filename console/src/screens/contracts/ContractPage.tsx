// Placeholder: replaced by the Contract detail screen.
import { useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { Placeholder } from '../../components/Placeholder';

export default function ContractPage() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  return <Placeholder title={t('placeholderTitles.contract', { id })} />;
}
