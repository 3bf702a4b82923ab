import type { Masking } from '../catalog/model.js';
import { isCiphertext } from '../security/field-cipher.js';
import { keyedHash } from '../shared/secrets.js';
import {
  classOfRule,
  FIELD_CLASSES,
  type FieldClass,
  fieldClass,
  KEEP_ENDS_LIMITS,
  type MaskedField,
} from './mask-class.js';

export { FIELD_CLASSES, type FieldClass, fieldClass, KEEP_ENDS_LIMITS, type MaskedField };

/*
 * DG Art 33 / XT Art 35: personal data is masked (脱敏) when it leaves the platform or is shown. The one masking
 * implementation for the console, the data API, exports and the open portal's preview (issue 9 point 8).
 *
 * Every protected field (personal or sensitive, or carrying a masking rule) belongs to a field class, and each class has
 * a strategy: keep the first n / last m characters (GB/T 37964 suppression: keep just enough to recognise a record),
 * replace, hash (HMAC under the platform secret: stable, so masked data can still be joined), generalise a date to its
 * year or month, suppress, or keep (gender only). The defaults below are chosen so masked data still serves its purpose;
 * the authority may change a class's strategy (masking_class_rule, src/dataapi/masking-policy.ts, audited). A grant's
 * clear-value right for a field is the only way around it.
 */

export const MASK_STRATEGIES = ['keepEnds', 'replace', 'hash', 'generaliseDate', 'suppress', 'keep'] as const;
export type MaskStrategy = (typeof MASK_STRATEGIES)[number];

export type MaskRule =
  /** keep the first `first` and last `last` characters; the rest becomes `*` (or exactly `fill` stars: hides the length) */
  | { strategy: 'keepEnds'; first: number; last: number; fill?: number }
  | { strategy: 'replace'; with: string }
  /** HMAC-SHA256 of the value under the platform secret, first `length` hex characters: equal values stay equal */
  | { strategy: 'hash'; length: number }
  | { strategy: 'generaliseDate'; to: 'year' | 'month' }
  | { strategy: 'suppress' }
  | { strategy: 'keep' };

/**
 * The defaults by class, chosen so masked data still serves its purpose. Each lies within the limits the authority's
 * rules are held to (mask-class.ts KEEP_ENDS_LIMITS), so a default can be saved back unchanged.
 */
export const DEFAULT_CLASS_RULES: Record<FieldClass, MaskRule> = {
  // region prefix and last four: recognisable by whoever holds the card, useless for guessing (440***********1234)
  idNumber: { strategy: 'keepEnds', first: 3, last: 4 },
  // surname only (张*)
  name: { strategy: 'keepEnds', first: 1, last: 0 },
  // carrier prefix and last four (138****5678)
  phone: { strategy: 'keepEnds', first: 3, last: 4 },
  // the district part, a fixed run of stars that hides the length (临江市江城区****)
  address: { strategy: 'keepEnds', first: 6, last: 0, fill: 4 },
  // registration authority, kind and region, and the two check characters; the eight characters that identify the
  // entity are hidden (91446000********X5; GB 32100, see KEEP_ENDS_LIMITS)
  creditCode: { strategy: 'keepEnds', first: 8, last: 2 },
  // kept: a statistic (counts by gender) needs it, and the masked ID number's kept last four already carry it (GB 11643:
  // the 17th digit is odd for men), so keeping it reveals nothing new. `*` served no one.
  gender: { strategy: 'keep' },
  // a birth date keeps its year (age bands still work); see maskRecord for the masked-ID-number exception
  personalDate: { strategy: 'generaliseDate', to: 'year' },
  // any other personal or sensitive value: a quarter at each end (first and last -1: by the value's length)
  other: { strategy: 'keepEnds', first: -1, last: -1 },
};

/** What a masking needs besides the value: the rules by class and, for `hash`, the platform secret. */
export interface MaskingPolicy {
  rules: Record<FieldClass, MaskRule>;
  secret: Buffer | null;
  /**
   * Decrypts a stored value of an encrypted field (src/security/field-keys.ts; values of other shapes pass): the one
   * place reads decrypt, right before masking. Absent in the default policy, which then refuses a ciphertext.
   */
  decrypt?: (v: unknown) => unknown;
}

export const DEFAULT_POLICY: MaskingPolicy = { rules: DEFAULT_CLASS_RULES, secret: null };

/** Any half of a surrogate pair: a character outside the BMP, which keepEnds must count as one. */
const SURROGATE = /[\uD800-\uDFFF]/;

function keepEnds(s: string, head: number, tail: number, fill?: number): string {
  if (!SURROGATE.test(s)) {
    // one UTF-16 unit per character: the same cut as by code points, without an array of characters
    if (head < 0 || tail < 0) {
      head = Math.floor(s.length / 4);
      tail = head;
    }
    if (s.length <= head + tail) return '*'.repeat(s.length);
    return (
      s.slice(0, head) + '*'.repeat(fill ?? s.length - head - tail) + (tail ? s.slice(s.length - tail) : '')
    );
  }
  const chars = Array.from(s);
  if (head < 0 || tail < 0) {
    // `other`: a quarter at each end
    const keep = Math.floor(chars.length / 4);
    head = keep;
    tail = keep;
  }
  if (chars.length <= head + tail) return '*'.repeat(chars.length);
  return (
    chars.slice(0, head).join('') +
    '*'.repeat(fill ?? chars.length - head - tail) +
    (tail ? chars.slice(chars.length - tail).join('') : '')
  );
}

function dateText(value: unknown): string {
  return value instanceof Date ? value.toISOString().slice(0, 10) : String(value);
}

/** Applies one rule to one value (null stays null). */
export function applyRule(rule: MaskRule, value: unknown, secret: Buffer | null, fieldClass = ''): unknown {
  if (value === null || value === undefined) return value;
  const s = value instanceof Date ? value.toISOString() : String(value);
  switch (rule.strategy) {
    case 'keep':
      return value;
    case 'keepEnds':
      return keepEnds(s, rule.first, rule.last, rule.fill);
    case 'replace':
      return rule.with;
    case 'hash': {
      // without the platform secret (a pure unit call) the hash would be guessable: suppress instead
      if (!secret) return '*'.repeat(rule.length);
      return keyedHash(secret, `mask\n${fieldClass}\n${s}`).slice(0, rule.length);
    }
    case 'generaliseDate': {
      const d = dateText(value);
      if (!/^\d{4}-\d{2}/.test(d)) return '****-**-**';
      return rule.to === 'month' ? `${d.slice(0, 7)}-**` : `${d.slice(0, 4)}-**-**`;
    }
    case 'suppress':
      return null;
  }
}

/**
 * Masks one value by a field's rule name (record keys in the audit log, ingest findings, objections): the class the rule
 * names, with the default rules unless a policy is given.
 */
export function maskValue(rule: Masking, value: unknown, policy: MaskingPolicy = DEFAULT_POLICY): unknown {
  const c = classOfRule(rule);
  if (value === null || value === undefined || c === null) return value;
  const r = policy.rules[c];
  // a key or finding is never shown in clear, whatever the class's rule: keep/suppress fall back to the default
  const safe = r.strategy === 'keep' || r.strategy === 'suppress' ? DEFAULT_CLASS_RULES.other : r;
  return applyRule(c === 'gender' ? DEFAULT_CLASS_RULES.other : safe, value, policy.secret, c);
}

/** A decrypted value in the JSON type a clear column of the field's type would have given. */
function typed(type: string | undefined, v: string): unknown {
  if (type === 'integer' || type === 'decimal') return Number(v);
  if (type === 'boolean') return v === 'true';
  return v;
}

/** What a personal date becomes beside an ID number that shows some of its characters (maskRecord). */
const DATE_BESIDE_ID: MaskRule = { strategy: 'replace', with: '****-**-**' };

/**
 * Masks one record in place (the one masking implementation: data API, exports, previews, console). Personal and
 * sensitive fields are always masked by their class's rule; other fields pass through unless they carry a rule. A
 * personal date next to an ID number masked by keeping its ends keeps nothing that is not hashed or suppressed: the hidden middle digits of
 * an ID number *are* the birth date (GB 11643), so `19******06` beside `446***********4088` left ~400 candidates.
 * `clear`: fields the grant's clear-value right names, passed through unmasked.
 */
export function maskRecord(
  record: Record<string, unknown>,
  fields: ReadonlyArray<MaskedField>,
  policy: MaskingPolicy = DEFAULT_POLICY,
  clear: ReadonlySet<string> = new Set(),
): Record<string, unknown> {
  return recordMasker(fields, policy, clear)(record);
}

/**
 * maskRecord with the per-field decisions (class, rule, clear right) taken once for many records of the same fields:
 * what a data call or an export batch uses. The returned function masks one record in place, exactly as maskRecord.
 * `alsoVisible`: the other fields the consumer may read (the grant's, beyond those a call asked for with `fields=`). An
 * ID number among them, masked by keeping its ends, hides a personal date in every record: otherwise a call asking for
 * the date alone would return what the record beside its ID number hides, and two calls would put them together.
 */
export function recordMasker(
  fields: ReadonlyArray<MaskedField>,
  policy: MaskingPolicy = DEFAULT_POLICY,
  clear: ReadonlySet<string> = new Set(),
  alsoVisible: ReadonlyArray<MaskedField> = [],
): (record: Record<string, unknown>) => Record<string, unknown> {
  const { decrypt, secret } = policy;
  // only an ID number that shows some of its characters narrows the guess; a hashed or suppressed one does not
  const idShown = policy.rules.idNumber.strategy === 'keepEnds';
  const idElsewhere = idShown && alsoVisible.some((f) => !clear.has(f.code) && fieldClass(f) === 'idNumber');
  const idCodes: string[] = [];
  const steps: { code: string; c: FieldClass; rule: MaskRule; besideId: boolean }[] = [];
  for (const f of fields) {
    const c = fieldClass(f);
    if (c === null || clear.has(f.code)) continue;
    if (c === 'idNumber') idCodes.push(f.code);
    const rule = policy.rules[c];
    const besideId = c === 'personalDate' && rule.strategy !== 'hash' && rule.strategy !== 'suppress';
    steps.push({ code: f.code, c, rule, besideId });
  }
  return (record) => {
    for (const f of fields) {
      const v = record[f.code];
      if (!isCiphertext(v)) continue;
      if (!decrypt)
        throw new Error('an encrypted value reached masking without the keyring (maskingPolicy(ctx))');
      record[f.code] = typed(f.type, decrypt(v) as string);
    }
    const idMasked = idElsewhere || (idShown && idCodes.some((code) => record[code] != null));
    for (const s of steps) {
      if (!(s.code in record)) continue;
      const rule = s.besideId && idMasked ? DATE_BESIDE_ID : s.rule;
      record[s.code] = applyRule(rule, record[s.code], secret, s.c);
    }
    return record;
  };
}
