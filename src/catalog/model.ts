import type { Actor } from '../context.js';
import { hasRole } from '../context.js';
import type { Profile } from '../profiles/model.js';
import type { ErrorDetail } from '../shared/errors.js';

export const FIELD_TYPES = ['string', 'integer', 'decimal', 'date', 'datetime', 'boolean'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];
export const MASKINGS = ['none', 'idNumber', 'name', 'phone', 'address', 'creditCode', 'partial'] as const;
export type Masking = (typeof MASKINGS)[number];
export const VALIDATORS = ['idNumber', 'creditCode', 'mobilePhone'] as const;
export type Validator = (typeof VALIDATORS)[number];
export const SHARE_TYPES = ['unconditional', 'conditional', 'none'] as const;
export const OPEN_TYPES = ['open', 'onApplication', 'closed'] as const;
export const SHARE_METHODS = ['api', 'table', 'file'] as const;
export const CATALOG_LEVELS = ['city', 'department', 'section'] as const;
export const CLASSIFICATIONS = ['base', 'theme', 'department'] as const;
export const UPDATE_CYCLES = [
  'realtime',
  'daily',
  'weekly',
  'monthly',
  'quarterly',
  'yearly',
  'irregular',
] as const;
export const SECURITY_LEVELS = ['general', 'important', 'core'] as const;

export interface FieldDef {
  code: string;
  name: string;
  type: FieldType;
  length?: number | null;
  required: boolean;
  isKey: boolean;
  personal: boolean;
  sensitive: boolean;
  masking: Masking;
  validator?: Validator | null;
}

/**
 * A field as a department submits it: the flags and masking may be omitted and are then derived (normaliseField).
 */
export type FieldInput = Omit<FieldDef, 'required' | 'isKey' | 'personal' | 'sensitive' | 'masking'> & {
  required?: boolean;
  isKey?: boolean;
  personal?: boolean;
  sensitive?: boolean;
  masking?: Masking;
};

/*
 * GB/T 35273 §3.2 / PIPL Art 28 and 51: a citizen ID number or a mobile phone number is personal information, and a
 * unified social credit code identifies an entity. The validator says what a field holds, so it decides the flags
 * and the masking: a department cannot register such a field as plain text the data API then serves in clear.
 */
export const VALIDATOR_IMPLIES: Record<
  Validator,
  { personal: boolean; sensitive: boolean; masking: Masking }
> = {
  idNumber: { personal: true, sensitive: false, masking: 'idNumber' },
  mobilePhone: { personal: true, sensitive: false, masking: 'phone' },
  creditCode: { personal: false, sensitive: true, masking: 'creditCode' },
};

/** Derives the flags and masking a field must carry; returns the field as stored and the violations. */
export function normaliseField(f: FieldInput, i: number): { field: FieldDef; errors: ErrorDetail[] } {
  const errors: ErrorDetail[] = [];
  const implied = f.validator ? VALIDATOR_IMPLIES[f.validator] : undefined;
  if (implied) {
    const later = 'a grant carrying a right to clear values is a separate, later feature';
    if (f.masking === 'none')
      errors.push({
        field: `fields[${i}].masking`,
        reason: `a field validated as ${f.validator} is always masked (${implied.masking}); masking "none" is refused (${later})`,
        reasonZh: `校验规则为 ${f.validator} 的字段必须脱敏（${implied.masking}），不得设为不脱敏（明文授权将另行支持）`,
      });
    if (implied.personal && f.personal === false)
      errors.push({
        field: `fields[${i}].personal`,
        reason: `a field validated as ${f.validator} is personal information (GB/T 35273)`,
        reasonZh: `校验规则为 ${f.validator} 的字段属于个人信息（GB/T 35273）`,
      });
    if (implied.sensitive && f.sensitive === false)
      errors.push({
        field: `fields[${i}].sensitive`,
        reason: `a field validated as ${f.validator} is sensitive`,
        reasonZh: `校验规则为 ${f.validator} 的字段属于敏感信息`,
      });
  }
  const personal = (f.personal ?? false) || (implied?.personal ?? false);
  const sensitive = (f.sensitive ?? false) || (implied?.sensitive ?? false);
  let masking: Masking = f.masking ?? implied?.masking ?? 'none';
  // a personal or sensitive field is never served in clear
  if (masking === 'none' && (personal || sensitive)) masking = implied?.masking ?? 'partial';
  return {
    field: {
      ...f,
      required: f.required ?? false,
      isKey: f.isKey ?? false,
      personal,
      sensitive,
      masking,
      validator: f.validator ?? null,
    },
    errors,
  };
}

export type NormalisedResourceInput = Omit<ResourceInput, 'fields'> & { fields: FieldDef[] };

export function normaliseResourceInput(input: ResourceInput): {
  input: NormalisedResourceInput;
  errors: ErrorDetail[];
} {
  const out = input.fields.map((f, i) => normaliseField(f, i));
  return { input: { ...input, fields: out.map((o) => o.field) }, errors: out.flatMap((o) => o.errors) };
}

export interface ResourceInput {
  name: string;
  summary: string;
  classification: (typeof CLASSIFICATIONS)[number];
  topic?: string;
  catalogLevel: (typeof CATALOG_LEVELS)[number];
  shareType: (typeof SHARE_TYPES)[number];
  shareConditions?: string | null;
  legalBasis?: string | null;
  shareMethod: (typeof SHARE_METHODS)[number];
  openType: (typeof OPEN_TYPES)[number];
  updateCycle: (typeof UPDATE_CYCLES)[number];
  securityLevel: (typeof SECURITY_LEVELS)[number];
  keywords?: string[];
  sectionId?: number | null;
  fields: FieldInput[];
}

export const FIELD_CODE = /^[a-z][a-zA-Z0-9]{0,39}$/;

/** Rules a resource registration must satisfy beyond its JSON schema. Returns every violation, not just the first. */
export function checkResourceInput(input: ResourceInput, profile: Profile): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const blank = (s: string | null | undefined) => !s || s.trim() === '';
  if (input.shareType !== 'unconditional' && profile.sharing.conditionalNeedsLegalBasis) {
    // DG Art 19, XT Art 23, SY Art 23, GD Art 18: without a legal basis the resource is shared unconditionally
    if (blank(input.legalBasis))
      errors.push({
        field: 'legalBasis',
        reason: 'conditional or not-shared resources need a legal basis (DG Art 19)',
        reasonZh: '有条件共享、不予共享的资源须提供法律法规依据（东莞办法第十九条）',
      });
  }
  if (input.shareType === 'conditional' && blank(input.shareConditions)) {
    // DG Art 19: the provider states the concrete conditions
    errors.push({
      field: 'shareConditions',
      reason: 'a conditional resource states its share conditions (DG Art 19)',
      reasonZh: '有条件共享的资源须明确共享条件（东莞办法第十九条）',
    });
  }
  if (input.shareType === 'none' && input.openType !== 'closed') {
    errors.push({
      field: 'openType',
      reason: 'a not-shared resource cannot be open (catalog guideline)',
      reasonZh: '不予共享的资源不得开放（目录编制指南）',
    });
  }
  errors.push(...normaliseResourceInput(input).errors);
  const codes = new Set<string>();
  input.fields.forEach((f, i) => {
    const at = `fields[${i}].code`;
    if (!FIELD_CODE.test(f.code))
      errors.push({
        field: at,
        reason: `field code "${f.code}" must match ${FIELD_CODE.source}`,
        reasonZh: `字段编码“${f.code}”须为小写字母开头的英文字母数字`,
      });
    if (codes.has(f.code))
      errors.push({
        field: at,
        reason: `duplicate field code "${f.code}"`,
        reasonZh: `字段编码“${f.code}”重复`,
      });
    codes.add(f.code);
    if (f.isKey && f.type !== 'string' && f.type !== 'integer') {
      errors.push({
        field: `fields[${i}].type`,
        reason: 'a key field is a string or an integer',
        reasonZh: '主键字段须为字符串或整数',
      });
    }
    if (f.validator && f.type !== 'string') {
      errors.push({
        field: `fields[${i}].validator`,
        reason: 'validators apply to string fields',
        reasonZh: '校验规则仅适用于字符串字段',
      });
    }
  });
  if (!input.fields.some((f) => f.isKey)) {
    // XT Art 15: records carry a key identifier (ID number, credit code…)
    errors.push({
      field: 'fields',
      reason: 'at least one field is the record key (XT Art 15)',
      reasonZh: '至少一个信息项须为记录主键（邢台办法第十五条）',
    });
  }
  return errors;
}

const SQL_TYPES: Record<FieldType, string> = {
  string: 'text',
  integer: 'bigint',
  decimal: 'numeric',
  date: 'date',
  datetime: 'timestamptz',
  boolean: 'boolean',
};

/** Data tables get generated identifiers only: user text never becomes SQL. */
export function dataTableName(resourceId: number): string {
  return `ds.r_${resourceId}`;
}

export function columnName(ordinal: number): string {
  return `c${ordinal}`;
}

export function dataTableDdl(
  resourceId: number,
  fields: ReadonlyArray<Pick<FieldDef, 'code' | 'type'>>,
): string {
  const cols = fields.map((f, i) => `${columnName(i + 1)} ${SQL_TYPES[f.type]}`).join(',\n  ');
  // _key is the distribution key for Citus; no foreign keys from data tables.
  // _seq pages the data API: a cursor must not reveal the (personal) record key.
  return `CREATE TABLE ${dataTableName(resourceId)} (
  _key text PRIMARY KEY,
  _seq bigint GENERATED ALWAYS AS IDENTITY,
  _version integer NOT NULL DEFAULT 1,
  _valid_from timestamptz NOT NULL DEFAULT now(),
  _batch_id bigint NOT NULL,
  _hash text NOT NULL,
  ${cols}
);
CREATE INDEX r_${resourceId}_seq ON ${dataTableName(resourceId)} (_seq)`;
}

// ---- who may do what (DG Art 11: catalog levels decide visibility) ----

/** City- and department-level entries are visible to every department; section-level ones only inside the provider (DG Art 11). */
export function canSeeResource(actor: Actor, r: { catalogLevel: string; providerOrgId: number }): boolean {
  if (r.catalogLevel !== 'section') return true;
  if (actor.orgId === r.providerOrgId) return true;
  return hasRole(actor, 'platform_admin', 'authority_reviewer', 'auditor');
}

export function seesAllSectionEntries(actor: Actor): boolean {
  return hasRole(actor, 'platform_admin', 'authority_reviewer', 'auditor');
}

/** A department registers its own resources (DG Art 9: the provider compiles its catalog). */
export function canRegisterResource(actor: Actor): boolean {
  return hasRole(actor, 'data_officer');
}

/** Only the provider (数源部门) loads data into its resource (一数一源, DG Art 15). */
export function canLoadData(actor: Actor, r: { providerOrgId: number }): boolean {
  return actor.orgId === r.providerOrgId && hasRole(actor, 'data_officer');
}

export function canPreviewData(actor: Actor, r: { providerOrgId: number }): boolean {
  return actor.orgId === r.providerOrgId && hasRole(actor, 'data_officer', 'section_head');
}
