// i18next with one JSON file per screen and language: src/locales/<lang>/<namespace>.json.
// A new screen adds its own files; they are picked up here without editing this module.
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { isLang, type Lang } from '../lib/format';
import { initialLanguage } from './language';

type Resources = Record<string, Record<string, Record<string, unknown>>>;

const files = import.meta.glob<{ default: Record<string, unknown> }>('../locales/*/*.json', { eager: true });

export function buildResources(modules: Record<string, { default: Record<string, unknown> }>): Resources {
  const resources: Resources = {};
  for (const [path, mod] of Object.entries(modules)) {
    const m = /locales\/([^/]+)\/([^/]+)\.json$/.exec(path);
    if (!m) continue;
    const [, lang, ns] = m as unknown as [string, string, string];
    (resources[lang] ??= {})[ns] = mod.default;
  }
  return resources;
}

const resources = buildResources(files);
export const namespaces = Object.keys(resources.en ?? {});

void i18n.use(initReactI18next).init({
  resources,
  lng: initialLanguage(),
  fallbackLng: 'en',
  supportedLngs: ['en', 'el'],
  ns: namespaces,
  defaultNS: 'common',
  fallbackNS: 'common',
  interpolation: { escapeValue: false }, // React escapes
  returnNull: false,
  react: { useSuspense: false },
  showSupportNotice: false,
});

function applyHtmlLang(lng: string) {
  if (typeof document !== 'undefined') document.documentElement.lang = isLang(lng) ? lng : 'en';
}
applyHtmlLang(i18n.language);
i18n.on('languageChanged', applyHtmlLang);

export function currentLang(): Lang {
  return isLang(i18n.resolvedLanguage) ? i18n.resolvedLanguage : 'en';
}

export default i18n;
