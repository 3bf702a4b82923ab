import { createContext, useContext } from 'react';
import { ERRORS } from '../../../src/shared/errors.js';
import { LABELS } from '../../../src/shared/labels.js';

/** The console's strings and labels live in the one label table, src/shared/labels.ts. */
const dict = LABELS;

export type Lang = 'zh' | 'en';
export type Key = keyof typeof dict;
export type Vars = Record<string, string | number>;

const LANG_KEY = 'govshare.lang';

export function initialLang(): Lang {
  try {
    return localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh';
  } catch {
    return 'zh';
  }
}

export function saveLang(lang: Lang): void {
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    // private mode: the choice lasts for this page only
  }
}

export function isKey(key: string): key is Key {
  return Object.hasOwn(dict, key);
}

export function translate(lang: Lang, key: Key, vars?: Vars): string {
  const entry = dict[key];
  let text: string = entry ? entry[lang === 'en' ? 1 : 0] : key;
  if (vars) for (const [k, v] of Object.entries(vars)) text = text.replaceAll(`{${k}}`, String(v));
  return text;
}

export interface I18n {
  lang: Lang;
  setLang: (lang: Lang) => void;
  t: (key: Key, vars?: Vars) => string;
  /** Label of an enum value, e.g. tEnum('shareType', 'conditional'); unknown values show as they are. */
  tEnum: (prefix: string, value: string | null | undefined) => string;
  /** Between a label and its value: `：` in Chinese, `: ` in English (the label table's punct.colon). */
  colon: string;
  /** An aside in brackets: `（…）` in Chinese, ` (…)` in English. */
  paren: (text: string | number | null | undefined) => string;
}

export function makeI18n(lang: Lang, setLang: (lang: Lang) => void): I18n {
  return {
    lang,
    setLang,
    t: (key, vars) => translate(lang, key, vars),
    tEnum: (prefix, value) => {
      if (value === null || value === undefined || value === '') return '-';
      const key = `${prefix}.${value}`;
      if (isKey(key)) return translate(lang, key);
      // error codes have one label table, the server's (src/shared/errors.ts)
      if (prefix === 'error' && Object.hasOwn(ERRORS, value)) {
        const e = ERRORS[value as keyof typeof ERRORS];
        return lang === 'en' ? e.en : e.zh;
      }
      // people see words, not codes: a value without a label is a defect; the browser test collects this warning
      console.warn(`govshare: no label for ${key}`);
      return value;
    },
    colon: translate(lang, 'punct.colon'),
    paren: (text) => `${translate(lang, 'punct.open')}${text ?? '-'}${translate(lang, 'punct.close')}`,
  };
}

export const I18nContext = createContext<I18n>(makeI18n('zh', () => {}));

export function useI18n(): I18n {
  return useContext(I18nContext);
}
