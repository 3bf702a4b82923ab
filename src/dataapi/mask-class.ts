import type { Masking } from '../catalog/model.js';

/*
 * A field's masking class (src/dataapi/masking.ts): which rule of the policy masks it. Pure, so the console can say
 * what the data API returns for each granted field (web/src/dataapi/GrantDocs.tsx) by the very same decision.
 */

export const FIELD_CLASSES = [
  'idNumber',
  'name',
  'phone',
  'address',
  'creditCode',
  'gender',
  'personalDate',
  'other',
] as const;
export type FieldClass = (typeof FIELD_CLASSES)[number];

/** The class a legacy per-field rule name stands for (`partial` = `other`). */
export function classOfRule(rule: Masking | 'gender'): FieldClass | null {
  if (rule === 'none') return null;
  if (rule === 'partial') return 'other';
  return rule;
}

export interface MaskedField {
  code: string;
  personal: boolean;
  sensitive?: boolean;
  masking: Masking;
  type?: string;
  /** the field's name as registered (性别…), used to recognise the gender class */
  name?: string;
}

const GENDER_CODE = /^(gender|sex|xb)$/i;
const GENDER_NAME = /^(性别|性別)$/;

/** A field's class, or null when the field passes in clear (not personal, not sensitive, no rule). */
export function fieldClass(f: MaskedField): FieldClass | null {
  const protectedField = f.personal || f.sensitive === true;
  if (protectedField && (f.type === 'date' || f.type === 'datetime')) return 'personalDate';
  const byRule = classOfRule(f.masking);
  if (byRule && byRule !== 'other') return byRule;
  if (!protectedField && byRule === null) return null;
  if (GENDER_CODE.test(f.code) || (f.name !== undefined && GENDER_NAME.test(f.name))) return 'gender';
  return 'other';
}

/**
 * How many characters a `keepEnds` rule may keep at the start and at the end of a value of each class: the one limit the
 * server checks (masking-policy.ts validateRule, the route's schema) and the console's masking form offers, and every
 * default rule (masking.ts DEFAULT_CLASS_RULES) lies within it. `quarter`: the class may keep a quarter of the value's
 * length at each end instead (`first` and `last` both -1) — for values of no fixed format.
 *
 * The fixed formats are judged by their structure, the way a data bureau reads them:
 *  - 统一社会信用代码 (GB 32100, 18 characters): positions 1–8 say who registered the entity, its kind and its region
 *    (登记管理部门代码, 机构类别代码, 登记管理机关行政区划码) and identify nobody; 9–17 are the entity's organisation code,
 *    whose last character (17) is that code's check character, and 18 is the credit code's check character. Keeping
 *    the first 8 and the last 2 therefore shows the region and kind a statistic or a routing rule needs and the two check
 *    characters (computed from the rest, so they add nothing), and hides all eight characters that identify the entity.
 *    One more at either end would start showing them: so at most 8 at the start and 2 at the end.
 *  - 身份证号 (GB 11643), phone numbers and the other classes: at most 6 at each end (an ID number's first 6 are its
 *    region code, the most its start may show).
 */
export interface KeepEndsLimit {
  first: number;
  last: number;
  quarter: boolean;
}
export const KEEP_ENDS_LIMITS: Record<FieldClass, KeepEndsLimit> = {
  idNumber: { first: 6, last: 6, quarter: false },
  name: { first: 6, last: 6, quarter: true },
  phone: { first: 6, last: 6, quarter: false },
  address: { first: 6, last: 6, quarter: true },
  creditCode: { first: 8, last: 2, quarter: false },
  gender: { first: 6, last: 6, quarter: false },
  personalDate: { first: 6, last: 6, quarter: false },
  other: { first: 6, last: 6, quarter: true },
};

/** The most any class may keep at one end (the route schema's bound; the class's own limit is checked after it). */
export const KEEP_ENDS_MAX = Math.max(...Object.values(KEEP_ENDS_LIMITS).flatMap((l) => [l.first, l.last]));

/**
 * Whether a keepEnds rule's `first` / `last` are within its class's limits: whole numbers from 0 to the limit, or both -1
 * (a quarter at each end) where the class allows that.
 */
export function keepEndsAllowed(c: FieldClass, first: unknown, last: unknown): boolean {
  const lim = KEEP_ENDS_LIMITS[c];
  if (first === -1 && last === -1) return lim.quarter;
  const within = (v: unknown, max: number) =>
    typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
  return within(first, lim.first) && within(last, lim.last);
}

/**
 * A field the data API masks for a consumer (personal, sensitive, or carrying a masking rule): it may be neither a filter
 * (filter.ts: a guess at a time would reveal it) nor an aggregate's dimension, minimum or maximum, and its exact sum or
 * average is refused (aggregate.ts). Pure, so the console's aggregate panel and API docs decide by the same rule.
 */
export function maskedForConsumer(f: { personal: boolean; sensitive?: boolean; masking: Masking }): boolean {
  return f.personal || f.sensitive === true || f.masking !== 'none';
}

/**
 * Whether an aggregate measure is answered only with noise (`noise.epsilon`, or the platform's AGGREGATE_EPSILON): a sum
 * or average of a field masked for the consumer, since two exact answers whose filters differ by one record subtract to
 * that record's value. Without noise the server refuses it with AGGREGATE_DIMENSION_PERSONAL (aggregate.ts).
 */
export function measureNeedsNoise(
  fn: string,
  f: { personal: boolean; sensitive?: boolean; masking: Masking } | null | undefined,
): boolean {
  return (fn === 'sum' || fn === 'avg') && !!f && maskedForConsumer(f);
}
