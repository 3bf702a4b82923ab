import type { Actor } from '../context.js';
import { hasRole } from '../context.js';
import type { CatalogLevel, LegalBasisKind, Profile } from '../profiles/model.js';
import { LEGAL_BASIS_KINDS } from '../profiles/model.js';

export { LEGAL_BASIS_KINDS };

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
export type SecurityLevel = (typeof SECURITY_LEVELS)[number];

/** 1272 guideline 格式: 电子文件, 电子表格, 数据库, 图形图像, 流媒体, 自描述格式, 服务接口. */
export const FORMATS = [
  'electronicFile',
  'spreadsheet',
  'database',
  'image',
  'streamingMedia',
  'selfDescribing',
  'serviceApi',
] as const;
export type ResourceFormat = (typeof FORMATS)[number];

/**
 * 1272 guideline 信息项数据类型: 字符型C, 数值型N, 货币型Y, 日期型D, 日期时间型T, 逻辑型L, 备注型M, 通用型G, 双精度型B,
 * 整型I, 浮点型F. Each letter is stored as one storage type (the data table column type, FieldType): the one mapping.
 * 通用型 G (a general object) is kept as text (a reference or encoded content).
 */
export const DATA_TYPES = ['C', 'N', 'Y', 'D', 'T', 'L', 'M', 'G', 'B', 'I', 'F'] as const;
export type DataTypeLetter = (typeof DATA_TYPES)[number];
export const DATA_TYPE_STORAGE: Record<DataTypeLetter, FieldType> = {
  C: 'string',
  N: 'decimal',
  Y: 'decimal',
  D: 'date',
  T: 'datetime',
  L: 'boolean',
  M: 'string',
  G: 'string',
  B: 'decimal',
  I: 'integer',
  F: 'decimal',
};
/** The letter a field registered with a storage type only gets. */
export const STORAGE_DEFAULT_LETTER: Record<FieldType, DataTypeLetter> = {
  string: 'C',
  integer: 'I',
  decimal: 'N',
  date: 'D',
  datetime: 'T',
  boolean: 'L',
};

const LEVEL_RANK: Record<SecurityLevel, number> = { general: 0, important: 1, core: 2 };

/**
 * GB/T 43697 就高从严: a resource is graded at the highest level of its fields; the reason names the fields at that level
 * (none when every field is general).
 */
export function resourceSecurityLevel(
  fields: ReadonlyArray<{ code: string; name: string; securityLevel?: SecurityLevel }>,
): {
  level: SecurityLevel;
  reason: { level: SecurityLevel; fields: { code: string; name: string }[]; article: string };
} {
  let level: SecurityLevel = 'general';
  for (const f of fields)
    if (LEVEL_RANK[f.securityLevel ?? 'general'] > LEVEL_RANK[level]) level = f.securityLevel!;
  const at = level === 'general' ? [] : fields.filter((f) => (f.securityLevel ?? 'general') === level);
  return {
    level,
    reason: { level, fields: at.map((f) => ({ code: f.code, name: f.name })), article: 'GB/T 43697-2024' },
  };
}

export interface FieldDef {
  code: string;
  name: string;
  /** storage type (data table column); derived from dataType when only the letter is given */
  type: FieldType;
  /** 1272 信息项数据类型 letter (always set by normaliseField; optional so src/ingest's field shape is unchanged) */
  dataType?: DataTypeLetter;
  length?: number | null;
  required: boolean;
  isKey: boolean;
  personal: boolean;
  sensitive: boolean;
  /** GB/T 35273 敏感个人信息; implies personal */
  sensitivePersonal?: boolean;
  /** GB/T 43697 一般 / 重要 / 核心 */
  securityLevel?: SecurityLevel;
  masking: Masking;
  validator?: Validator | null;
  /** code table (值域): the only values the field may take, checked on ingest (ENUM_VALUE); null/absent = any */
  allowedValues?: string[] | null;
}

/**
 * A field as a department submits it: the flags and masking may be omitted and are then derived (normaliseField).
 */
export type FieldInput = Omit<
  FieldDef,
  | 'type'
  | 'dataType'
  | 'required'
  | 'isKey'
  | 'personal'
  | 'sensitive'
  | 'sensitivePersonal'
  | 'securityLevel'
  | 'masking'
> & {
  type?: FieldType;
  dataType?: DataTypeLetter | null;
  required?: boolean;
  isKey?: boolean;
  personal?: boolean;
  sensitive?: boolean;
  sensitivePersonal?: boolean;
  securityLevel?: SecurityLevel;
  masking?: Masking;
};

/*
 * GB/T 35273 §3.2 / PIPL Art 28 and 51: a citizen ID number or a mobile phone number is personal information, and a
 * unified social credit code identifies an entity. The validator says what a field holds, so it decides the flags
 * and the masking: a department cannot register such a field as plain text the data API then serves in clear.
 */
export const VALIDATOR_IMPLIES: Record<
  Validator,
  { personal: boolean; sensitive: boolean; sensitivePersonal: boolean; masking: Masking }
> = {
  // GB/T 35273 Annex B lists 身份证件号码 among sensitive personal information
  idNumber: { personal: true, sensitive: false, sensitivePersonal: true, masking: 'idNumber' },
  mobilePhone: { personal: true, sensitive: false, sensitivePersonal: false, masking: 'phone' },
  creditCode: { personal: false, sensitive: true, sensitivePersonal: false, masking: 'creditCode' },
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
  // 1272 data type letter ↔ storage type: one mapping (DATA_TYPE_STORAGE); an incompatible pair is refused
  let type: FieldType | undefined = f.type;
  let dataType: DataTypeLetter | undefined = f.dataType ?? undefined;
  if (dataType && type && DATA_TYPE_STORAGE[dataType] !== type)
    errors.push({
      field: `fields[${i}].dataType`,
      reason: `field "${f.name}": data type ${dataType} is stored as ${DATA_TYPE_STORAGE[dataType]}, not ${type} (1272 guideline)`,
      reasonZh: `信息项“${f.name}”：数据类型 ${dataType} 与存储类型 ${type} 不一致（政务信息资源目录编制指南）`,
    });
  if (dataType && !type) type = DATA_TYPE_STORAGE[dataType];
  if (!dataType && type) dataType = STORAGE_DEFAULT_LETTER[type];
  if (!type || !dataType) {
    errors.push({
      field: `fields[${i}].dataType`,
      reason: `field "${f.name}" needs a data type (1272 guideline)`,
      reasonZh: `信息项“${f.name}”须填写数据类型（政务信息资源目录编制指南）`,
    });
    type = 'string';
    dataType = 'C';
  }
  // GB/T 35273: sensitive personal information is personal information
  const sensitivePersonal = (f.sensitivePersonal ?? false) || (implied?.sensitivePersonal ?? false);
  if (sensitivePersonal && f.personal === false)
    errors.push({
      field: `fields[${i}].personal`,
      reason: `field "${f.name}" is sensitive personal information, hence personal information (GB/T 35273 §3.2)`,
      reasonZh: `信息项“${f.name}”属于敏感个人信息，必然属于个人信息（GB/T 35273 第3.2条）`,
    });
  const personal = (f.personal ?? false) || (implied?.personal ?? false) || sensitivePersonal;
  const sensitive = (f.sensitive ?? false) || (implied?.sensitive ?? false);
  const securityLevel: SecurityLevel = f.securityLevel ?? 'general';
  const masking = defaultMasking(f.masking, implied?.masking, {
    personal,
    sensitive,
    sensitivePersonal,
    securityLevel,
  });
  return {
    field: {
      ...f,
      type,
      dataType,
      sensitivePersonal,
      securityLevel,
      required: f.required ?? false,
      isKey: f.isKey ?? false,
      personal,
      sensitive,
      masking,
      validator: f.validator ?? null,
      allowedValues: f.allowedValues?.length ? f.allowedValues.map((v) => v.trim()) : null,
    },
    errors,
  };
}

/**
 * The masking rule a field gets (src/dataapi/masking.ts applies it): the one given, else the validator's, else `partial`
 * for personal, sensitive, sensitive-personal or important/core fields (GB/T 35273, GB/T 43697: never served in clear),
 * else none. A protected field given `none` is raised to its default.
 */
export function defaultMasking(
  given: Masking | undefined,
  implied: Masking | undefined,
  f: { personal: boolean; sensitive: boolean; sensitivePersonal: boolean; securityLevel: SecurityLevel },
): Masking {
  const protectedField = f.personal || f.sensitive || f.sensitivePersonal || f.securityLevel !== 'general';
  const m = given ?? implied ?? 'none';
  if (m === 'none' && protectedField) return implied ?? 'partial';
  return m;
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
  /** the classification tree node (类/项/目/细目); derived from classification + topic when omitted */
  classId?: number | null;
  topic?: string;
  /** 1272 格式; default database */
  format?: ResourceFormat;
  /** 关联资源代码: codes of existing entries the caller may see */
  relatedCodes?: string[];
  /** the information system the data comes from (the provider's own, src/inventory) */
  infoSystemId?: number | null;
  catalogLevel: (typeof CATALOG_LEVELS)[number];
  shareType: (typeof SHARE_TYPES)[number];
  shareConditions?: string | null;
  legalBasis?: string | null;
  legalBasisKind?: LegalBasisKind | null;
  shareMethod: (typeof SHARE_METHODS)[number];
  openType: (typeof OPEN_TYPES)[number];
  updateCycle: (typeof UPDATE_CYCLES)[number];
  /** derived: the highest level of the fields (GB/T 43697); a different value sent is refused */
  securityLevel?: (typeof SECURITY_LEVELS)[number];
  keywords?: string[];
  sectionId?: number | null;
  fields: FieldInput[];
}

export const FIELD_CODE = /^[a-z][a-zA-Z0-9]{0,39}$/;

/** Rules a resource registration must satisfy beyond its JSON schema. Returns every violation, not just the first. */
export function checkResourceInput(input: ResourceInput, profile: Profile): ErrorDetail[] {
  return [...checkShareRules(input, profile), ...checkShape(input)];
}

export interface ShareRuleInput {
  classification: ResourceInput['classification'];
  shareType: ResourceInput['shareType'];
  shareConditions?: string | null;
  legalBasis?: string | null;
  legalBasisKind?: LegalBasisKind | null;
  openType: ResourceInput['openType'];
  catalogLevel?: ResourceInput['catalogLevel'];
  sectionId?: number | null;
}

/**
 * The consistency rules of point 2, every one from the active profile and citing its article: a conditional or
 * not-shared entry states its conditions and (where the profile says so) a legal basis of an accepted kind; not-shared
 * is never open; a base-library entry is unconditional (GD Art 17, SY Art 26) or restricted only with a legal basis
 * approved in review (DG Art 21).
 */
export function checkShareRules(input: ShareRuleInput, profile: Profile): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const blank = (s: string | null | undefined) => !s || s.trim() === '';
  const c = profile.catalog;
  const restricted = input.shareType !== 'unconditional';
  if (restricted && profile.sharing.conditionalNeedsLegalBasis && blank(input.legalBasis)) {
    const art = profile.sharing.conditionalBasisArticle ?? profile.sharing.conditional.article;
    errors.push({
      field: 'legalBasis',
      reason: `conditional or not-shared resources need a legal basis (${art})`,
      reasonZh: `有条件共享、不予共享的资源须提供法律法规依据（${art}）`,
    });
  }
  if (restricted && !blank(input.legalBasis) && !input.legalBasisKind) {
    errors.push({
      field: 'legalBasisKind',
      reason: `say what kind of act the legal basis is (law, administrative regulation, local regulation, rule or other) (${c.basisKindArticle ?? c.conditionsArticle})`,
      reasonZh: `须注明依据类别（法律、行政法规、地方性法规、规章或其他）（${c.basisKindArticle ?? c.conditionsArticle}）`,
    });
  }
  if (input.legalBasisKind === 'other' && c.basisOtherRefusedFor.includes(input.shareType)) {
    const art = c.basisKindArticle ?? c.conditionsArticle;
    errors.push({
      field: 'legalBasisKind',
      reason: `a refusal basis must be a law, regulation or rule, not an internal document (${art})`,
      reasonZh: `不共享或有条件共享的依据须为法律、法规或规章，不得以部门内部管理办法作为依据（${art}）`,
    });
  }
  if (restricted && blank(input.shareConditions)) {
    errors.push({
      field: 'shareConditions',
      reason:
        input.shareType === 'conditional'
          ? `a conditional resource states its share conditions (${c.conditionsArticle})`
          : `a not-shared resource states why it is not shared (${c.conditionsArticle})`,
      reasonZh:
        input.shareType === 'conditional'
          ? `有条件共享的资源须明确共享条件（${c.conditionsArticle}）`
          : `不予共享的资源须说明不予共享的理由（${c.conditionsArticle}）`,
    });
  }
  if (input.shareType === 'none' && input.openType !== 'closed') {
    errors.push({
      field: 'openType',
      reason: `a not-shared resource cannot be open (${c.noneClosedArticle})`,
      reasonZh: `不予共享的资源不得开放（${c.noneClosedArticle}）`,
    });
  }
  if (input.classification === 'base' && restricted) {
    const b = c.baseLibrary;
    if (b.restricted === 'never')
      errors.push({
        field: 'shareType',
        reason: `base-library data items are shared unconditionally, without exception (${b.article})`,
        reasonZh: `基础库的基础数据项一律无条件共享（${b.article}）`,
      });
    else if (blank(input.legalBasis) || !input.legalBasisKind || input.legalBasisKind === 'other')
      errors.push({
        field: 'legalBasis',
        reason: `a base-library entry is unconditional unless a law, regulation or rule provides otherwise, approved in review (${b.article})`,
        reasonZh: `基础库数据项除有法律、法规或规章规定并经审核外，应无条件共享（${b.article}）`,
      });
  }
  if (input.catalogLevel === 'section' && !input.sectionId) {
    const art = c.levels.section.article;
    errors.push({
      field: 'sectionId',
      reason: `a section-level entry names its section, whose head reviews it (${art})`,
      reasonZh: `科室级目录须注明所属科室，由科室负责人审核确定（${art}）`,
    });
  }
  return errors;
}

/** Codes that send a violation of checkShareRules out as LEGAL_BASIS_REQUIRED rather than CATALOG_RULE_VIOLATED. */
export function shareRuleErrorCode(
  problems: ErrorDetail[],
): 'LEGAL_BASIS_REQUIRED' | 'CATALOG_RULE_VIOLATED' {
  return problems.some((p) => p.field === 'legalBasis') ? 'LEGAL_BASIS_REQUIRED' : 'CATALOG_RULE_VIOLATED';
}

/**
 * DG Art 19, XT Art 23, GD Art 18, SY Art 23: a conditional or not-shared entry without an approved negative-list
 * entry is shared as if unconditional. `approvedNegativeEntry` comes from the negative list (the lists feature);
 * a profile without the rule (Nanyang) keeps the registered type.
 */
export function effectiveShareType(
  resource: { shareType: (typeof SHARE_TYPES)[number] },
  approvedNegativeEntry: boolean,
  profile?: Pick<Profile, 'catalog'>,
): (typeof SHARE_TYPES)[number] {
  if (resource.shareType === 'unconditional' || approvedNegativeEntry) return resource.shareType;
  if (profile && !profile.catalog.unlistedIsUnconditional) return resource.shareType;
  return 'unconditional';
}

/** Longest code-table value and most values per field (the column holds at most 500, migration 026). */
export const MAX_ALLOWED_VALUES = 500;
export const MAX_ALLOWED_VALUE_CHARS = 100;

/**
 * A field's code table: string or integer fields only, every value non-empty, unique, within the field's length
 * (and an integer for an integer field), so each value can be loaded.
 */
function checkAllowedValues(f: FieldDef, i: number): ErrorDetail[] {
  const at = `fields[${i}].allowedValues`;
  const values = f.allowedValues ?? [];
  const bad = (reason: string, reasonZh: string): ErrorDetail[] => [{ field: at, reason, reasonZh }];
  if (f.type !== 'string' && f.type !== 'integer')
    return bad('a code table applies to string or integer fields', '值域代码表仅适用于字符串或整数字段');
  if (values.length > MAX_ALLOWED_VALUES)
    return bad(`at most ${MAX_ALLOWED_VALUES} values`, `值域最多 ${MAX_ALLOWED_VALUES} 个取值`);
  const seen = new Set<string>();
  for (const v of values) {
    if (v === '' || v.length > MAX_ALLOWED_VALUE_CHARS)
      return bad(
        `every value is 1 to ${MAX_ALLOWED_VALUE_CHARS} characters`,
        `每个取值须为 1 至 ${MAX_ALLOWED_VALUE_CHARS} 个字符`,
      );
    if (f.type === 'string' && f.length && Array.from(v).length > f.length)
      return bad(
        `value "${v}" is longer than the field (${f.length})`,
        `取值“${v}”超过信息项长度（${f.length}）`,
      );
    if (f.type === 'integer' && !/^-?(0|[1-9]\d{0,17})$/.test(v))
      return bad(`value "${v}" is not an integer`, `取值“${v}”不是整数`);
    if (seen.has(v)) return bad(`value "${v}" appears twice`, `取值“${v}”重复`);
    seen.add(v);
  }
  return [];
}

/** Field codes, uniqueness, key and validator rules: the same under every profile. */
export function checkShape(input: ResourceInput): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const normalised = normaliseResourceInput(input);
  errors.push(...normalised.errors);
  const level = resourceSecurityLevel(normalised.input.fields).level;
  if (input.securityLevel && input.securityLevel !== level)
    errors.push({
      field: 'securityLevel',
      reason: `the resource's security level is the highest of its fields' (${level}), not ${input.securityLevel} (GB/T 43697-2024)`,
      reasonZh: `资源的安全级别按其信息项的最高级别确定（就高从严，GB/T 43697-2024），不能填为其他级别`,
    });
  const codes = new Set<string>();
  normalised.input.fields.forEach((f, i) => {
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
    if (f.allowedValues) errors.push(...checkAllowedValues(f, i));
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

export const SQL_TYPES: Record<FieldType, string> = {
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

/** The companion column of an encrypted column: its keyed hash, for equality lookups (docs/ENCRYPTION.md). */
export function indexColumn(column: string): string {
  return `${column}_h`;
}

/**
 * A field's column(s): a sensitive-personal field is stored as ciphertext (text, whatever its type) beside its keyed
 * hash; every other field in its SQL type.
 */
export function columnDdl(
  resourceId: number,
  column: string,
  f: Pick<FieldDef, 'type' | 'sensitivePersonal'>,
): { columns: string[]; indexes: string[] } {
  if (!f.sensitivePersonal) return { columns: [`${column} ${SQL_TYPES[f.type]}`], indexes: [] };
  const h = indexColumn(column);
  return {
    columns: [`${column} text`, `${h} text`],
    indexes: [`CREATE INDEX r_${resourceId}_${h} ON ${dataTableName(resourceId)} (${h})`],
  };
}

export function dataTableDdl(
  resourceId: number,
  fields: ReadonlyArray<Pick<FieldDef, 'code' | 'type' | 'sensitivePersonal'>>,
): string {
  const parts = fields.map((f, i) => columnDdl(resourceId, columnName(i + 1), f));
  const cols = parts.flatMap((p) => p.columns).join(',\n  ');
  const indexes = parts.flatMap((p) => p.indexes.map((x) => `;\n${x}`)).join('');
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
CREATE INDEX r_${resourceId}_seq ON ${dataTableName(resourceId)} (_seq)${indexes}`;
}

// ---- who may do what (DG Art 11: catalog levels decide review and visibility) ----

export type ResourceStatus = 'draft' | 'submitted' | 'returned' | 'published' | 'retired';
export const RESOURCE_STATUSES: readonly ResourceStatus[] = [
  'draft',
  'submitted',
  'returned',
  'published',
  'retired',
];

export interface VisibilityTarget {
  catalogLevel: string;
  providerOrgId: number;
  sectionId?: number | null;
  status?: string;
}

/** Supervisors who see every entry (the authority reviews and audits the whole catalog, DG Art 10). */
export function seesAllSectionEntries(actor: Actor): boolean {
  return hasRole(actor, 'platform_admin', 'authority_reviewer', 'auditor');
}

/**
 * Who sees an entry. A published entry: everyone when the profile's level says 'all', else only its department
 * (DG Art 11: section-level entries are visible inside the department). An entry not yet published (draft,
 * submitted, returned) or retired: its department, and the authority, which reviews and supervises.
 */
export function canSeeResource(
  actor: Actor,
  r: VisibilityTarget,
  profile?: Pick<Profile, 'catalog'>,
): boolean {
  if (actor.orgId === r.providerOrgId) return true;
  if (seesAllSectionEntries(actor)) return true;
  if (r.status && r.status !== 'published') return false;
  const level = r.catalogLevel as CatalogLevel;
  const visibleTo = profile
    ? (profile.catalog.levels[level]?.visibleTo ?? 'department')
    : level === 'section'
      ? 'department'
      : 'all';
  return visibleTo === 'all';
}

/** Published catalog levels visible to other departments under the profile (for list queries). */
export function levelsVisibleToAll(profile: Pick<Profile, 'catalog'>): CatalogLevel[] {
  return (Object.keys(profile.catalog.levels) as CatalogLevel[]).filter(
    (l) => profile.catalog.levels[l].visibleTo === 'all',
  );
}

/**
 * Who reviews (审核确定) a version of an entry, from the profile's level rule (DG Art 11): the authority's reviewer; the
 * department (a data officer of the provider other than the one who submitted it: four eyes without a new role); or
 * the head of the entry's section. Nobody reviews their own submission.
 */
export function canReviewVersion(
  actor: Actor,
  r: { catalogLevel: string; providerOrgId: number; sectionId: number | null },
  submittedBy: number | null,
  profile: Pick<Profile, 'catalog'>,
): boolean {
  if (submittedBy !== null && actor.id === submittedBy) return false;
  const rule = profile.catalog.levels[r.catalogLevel as CatalogLevel];
  if (!rule) return false;
  switch (rule.reviewer) {
    case 'authority':
      return hasRole(actor, 'authority_reviewer');
    case 'department':
      return actor.orgId === r.providerOrgId && hasRole(actor, 'data_officer');
    case 'sectionHead':
      return (
        actor.orgId === r.providerOrgId &&
        hasRole(actor, 'section_head') &&
        r.sectionId !== null &&
        actor.sectionId === r.sectionId
      );
  }
}

/** The provider's data officer edits, submits and proposes new versions of its entries (DG Art 10). */
export function canEditResource(actor: Actor, r: { providerOrgId: number }): boolean {
  return actor.orgId === r.providerOrgId && hasRole(actor, 'data_officer');
}

/** Retiring a published entry: its provider's data officer or the entry's reviewer, with a reason. */
export function canRetireResource(
  actor: Actor,
  r: { catalogLevel: string; providerOrgId: number; sectionId: number | null },
  profile: Pick<Profile, 'catalog'>,
): boolean {
  return canEditResource(actor, r) || canReviewVersion(actor, r, null, profile);
}

// ---- versions: snapshots, diff, additive field changes ----

export const SNAPSHOT_KEYS = [
  'name',
  'summary',
  'classification',
  'classId',
  'topic',
  'format',
  'relatedCodes',
  'infoSystemId',
  'catalogLevel',
  'sectionId',
  'shareType',
  'shareConditions',
  'legalBasis',
  'legalBasisKind',
  'shareMethod',
  'openType',
  'updateCycle',
  'securityLevel',
  'keywords',
] as const;
export const FIELD_KEYS = [
  'name',
  'type',
  'dataType',
  'length',
  'required',
  'isKey',
  'securityLevel',
  'personal',
  'sensitive',
  'sensitivePersonal',
  'masking',
  'validator',
] as const;

export type Snapshot = Omit<NormalisedResourceInput, 'fields'> & { fields: FieldDef[] };

export interface DiffRow {
  /** 'shareType', or 'fields.<code>' (field added/removed) or 'fields.<code>.<attribute>' */
  path: string;
  kind: 'added' | 'removed' | 'changed';
  field?: string;
  /** the field's name (信息项名称) in the newer version, for display */
  fieldName?: string;
  attribute?: string;
  before: unknown;
  after: unknown;
}

function norm(v: unknown): unknown {
  if (v === undefined || v === '') return null;
  return v;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

/** Field-by-field difference between two versions (null before = everything added). */
export function diffSnapshots(before: Snapshot | null, after: Snapshot): DiffRow[] {
  const rows: DiffRow[] = [];
  for (const k of SNAPSHOT_KEYS) {
    const a = before ? (before as unknown as Record<string, unknown>)[k] : null;
    const b = (after as unknown as Record<string, unknown>)[k];
    const empty = Array.isArray(b) && b.length === 0;
    if (before === null ? norm(b) !== null && !empty : !same(a, b))
      rows.push({
        path: k,
        kind: before === null ? 'added' : 'changed',
        attribute: k,
        before: norm(a),
        after: norm(b),
      });
  }
  const old = new Map((before?.fields ?? []).map((f) => [f.code, f]));
  const neu = new Map(after.fields.map((f) => [f.code, f]));
  for (const f of after.fields) {
    const o = old.get(f.code);
    if (!o) {
      rows.push({
        path: `fields.${f.code}`,
        kind: 'added',
        field: f.code,
        fieldName: f.name,
        before: null,
        after: f,
      });
      continue;
    }
    for (const k of FIELD_KEYS)
      if (!same(o[k], f[k]))
        rows.push({
          path: `fields.${f.code}.${k}`,
          kind: 'changed',
          field: f.code,
          fieldName: f.name,
          attribute: k,
          before: norm(o[k]),
          after: norm(f[k]),
        });
  }
  for (const o of before?.fields ?? [])
    if (!neu.has(o.code))
      rows.push({
        path: `fields.${o.code}`,
        kind: 'removed',
        field: o.code,
        fieldName: o.name,
        before: o,
        after: null,
      });
  return rows;
}

/**
 * A published entry's data table keeps its columns (c1…cN by ordinal): a new version may change a field's wording and
 * flags, and add fields at the end (new columns), but not remove, reorder or retype one. Migrating data for such a
 * change is the aggregation feature's job; until then it is refused naming each field.
 */
export function checkAdditiveFields(
  live: ReadonlyArray<FieldDef>,
  next: ReadonlyArray<FieldDef>,
): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  live.forEach((f, i) => {
    const n = next[i];
    if (!n || n.code !== f.code) {
      const moved = next.findIndex((x) => x.code === f.code);
      errors.push({
        field: `fields[${i}]`,
        reason:
          moved < 0
            ? `field "${f.code}" cannot be removed from a published resource yet: the aggregation feature will migrate its data`
            : `field "${f.code}" cannot move from position ${i + 1} to ${moved + 1}; add new fields at the end`,
        reasonZh:
          moved < 0
            ? `已发布资源暂不能删除信息项“${f.name}”，待数据汇聚功能迁移数据后再调整`
            : `已发布资源的信息项“${f.name}”不能调整顺序，新增信息项请加在末尾`,
      });
    } else if (n.type !== f.type) {
      errors.push({
        field: `fields[${i}].type`,
        reason: `field "${f.code}" cannot change type from ${f.type} to ${n.type} yet: the aggregation feature will migrate its data`,
        reasonZh: `已发布资源暂不能修改信息项“${f.name}”的类型，待数据汇聚功能迁移数据后再调整`,
      });
    }
  });
  return errors;
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
