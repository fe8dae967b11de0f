// The chosen language, remembered per user (the language is not a secret, so localStorage is
// fine), and the last one used for the login page.
import { isLang, type Lang } from '../lib/format';

const LAST_KEY = 'insureops.lang';
const userKey = (userId: string) => `insureops.lang.${userId}`;

function read(key: string): Lang | null {
  try {
    const v = localStorage.getItem(key);
    return isLang(v) ? v : null;
  } catch {
    return null;
  }
}

function write(key: string, lang: Lang): void {
  try {
    localStorage.setItem(key, lang);
  } catch {
    // storage unavailable (private mode): the choice lasts for this page only
  }
}

export function initialLanguage(): Lang {
  const last = read(LAST_KEY);
  if (last) return last;
  const nav = typeof navigator !== 'undefined' ? navigator.language : '';
  return nav.toLowerCase().startsWith('el') ? 'el' : 'en';
}

export function userLanguage(userId: string): Lang | null {
  return read(userKey(userId));
}

export function rememberLanguage(lang: Lang, userId?: string | null): void {
  write(LAST_KEY, lang);
  if (userId) write(userKey(userId), lang);
}
