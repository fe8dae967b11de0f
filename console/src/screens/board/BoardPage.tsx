// Placeholder: replaced by the Board screen.
import { useTranslation } from 'react-i18next';
import { Placeholder } from '../../components/Placeholder';

export default function BoardPage() {
  const { t } = useTranslation();
  return <Placeholder title={t('nav.board')} />;
}
