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
