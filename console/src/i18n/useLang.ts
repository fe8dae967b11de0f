import { useTranslation } from 'react-i18next';
import { isLang, type Lang } from '../lib/format';

/** The current language for the formatting functions of lib/format. */
export function useLang(): Lang {
  const { i18n } = useTranslation();
  const l = i18n.resolvedLanguage ?? i18n.language;
  return isLang(l) ? l : 'en';
}
