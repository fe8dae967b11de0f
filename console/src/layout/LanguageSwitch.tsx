import { NativeSelect } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { useAuth } from '../auth/context';
import { rememberLanguage } from '../i18n/language';
import { isLang, LANGS } from '../lib/format';
import { useLang } from '../i18n/useLang';

export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  const lang = useLang();
  const { state } = useAuth();
  const userId = state.status === 'authenticated' ? state.user.id : null;
  return (
    <NativeSelect
      size="xs"
      label={t('language.label')}
      styles={{ root: { display: 'flex', alignItems: 'center', gap: 8 }, label: { marginBottom: 0 } }}
      value={lang}
      data={LANGS.map((l) => ({ value: l, label: t(`language.${l}`) }))}
      onChange={(e) => {
        const v = e.currentTarget.value;
        if (!isLang(v)) return;
        rememberLanguage(v, userId);
        void i18n.changeLanguage(v);
      }}
      data-testid="language-switch"
    />
  );
}
