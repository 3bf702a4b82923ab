/**
 * Quality rules (issue 12 point 2): the five dimensions the regulations name — XT Art 20 "完整、准确、一致、及时"
 * (complete, accurate, consistent, timely), DG Art 28 / GD Art 21 (complete, accurate, timely, usable), NY task 8
 * (multi-source comparison) — as rules per resource and field. Pure: vocabulary, defaults derived from the catalog
 * fields, input bounds, the SQL predicates (built from generated column names and bound parameters only, never from
 * user text), scoring and who may do what.
 */
import { type RawBuilder, sql } from 'kysely';
import { type Actor, hasRole } from '../context.js';
import { AppError } from '../shared/errors.js';

export const RULE_KINDS = ['completeness', 'validity', 'uniqueness', 'timeliness', 'consistency'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
export const VALIDITY_CHECKS = ['idNumber', 'creditCode', 'mobilePhone', 'enum', 'length'] as const;
export type ValidityCheck = (typeof VALIDITY_CHECKS)[number];

/**
 * Configuration: each kind's default weight in the resource score and default threshold (score below which the rule
 * has failed). Every rule carries its own copy, which the provider's data officer or the authority may change.
 */
export const KIND_DEFAULTS: Record<RuleKind, { weight: number; threshold: number }> = {
  completeness: { weight: 3, threshold: 100 },
  validity: { weight: 3, threshold: 100 },
  uniqueness: { weight: 2, threshold: 100 },
  timeliness: { weight: 2, threshold: 100 },
  consistency: { weight: 2, threshold: 95 },
};

/** First failing records kept per rule and run (the list one click away); the counts are always complete. */
export const MAX_FAILURES_KEPT = 1000;
export const MAX_RULES_PER_RESOURCE = 100;
const MAX_ENUM_VALUES = 200;
const MAX_ENUM_CHARS = 100;

export interface RuleParams {
  check?: ValidityCheck;
  values?: string[];
  min?: number;
  max?: number;
  /** consistency: the other resource and its field */
  resourceId?: number;
  fieldCode?: string;
}

export interface RuleInput {
  kind: RuleKind;
  fieldCode?: string | null;
  params?: RuleParams;
  threshold?: number;
  weight?: number;
  enabled?: boolean;
}

export interface RuleField {
  code: string;
  type: string;
  required: boolean;
  isKey: boolean;
  validator?: string | null;
  columnName: string;
}

export interface DefaultRule {
  kind: RuleKind;
  fieldCode: string;
  params: RuleParams;
  threshold: number;
  weight: number;
}

/**
 * Defaults from the catalog fields: a required field must be filled (completeness 100 %), a field with an ID-number,
 * credit-code or mobile validator gets its checksum/format rule, and a resource with an update cycle is checked for
 * timeliness (XT Art 20, DG Art 17). Uniqueness of the record key is enforced by the data table itself; uniqueness of
 * another field and cross-source consistency are added by people, who know which fields must agree.
 */
export function defaultRules(fields: readonly RuleField[], updateCycle: string): DefaultRule[] {
  const out: DefaultRule[] = [];
  for (const f of fields) {
    if (f.required && !f.isKey)
      out.push({ kind: 'completeness', fieldCode: f.code, params: {}, ...KIND_DEFAULTS.completeness });
    if (f.validator === 'idNumber' || f.validator === 'creditCode' || f.validator === 'mobilePhone')
      out.push({
        kind: 'validity',
        fieldCode: f.code,
        params: { check: f.validator },
        ...KIND_DEFAULTS.validity,
      });
  }
  if (updateCycle !== 'irregular')
    out.push({ kind: 'timeliness', fieldCode: '', params: {}, ...KIND_DEFAULTS.timeliness });
  return out;
}

const bad = (field: string, reason: string, reasonZh: string) =>
  new AppError('VALIDATION_FAILED', [{ field, reason, reasonZh }]);

function boundedNumber(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw bad(field, `a number from ${min} to ${max}`, `须为 ${min} 至 ${max} 之间的数值`);
  return Math.round(v * 100) / 100;
}

/**
 * Checks a rule as people send it against the resource's fields; returns the normalised rule. Anything outside the
 * bounds is a VALIDATION_FAILED naming the field. `otherKeyKind` answers whether another resource shares the key kind
 * (consistency); the caller looks it up.
 */
export function normaliseRule(
  input: RuleInput,
  fields: readonly RuleField[],
): {
  kind: RuleKind;
  fieldCode: string;
  params: RuleParams;
  threshold: number;
  weight: number;
  enabled: boolean;
} {
  if (!RULE_KINDS.includes(input.kind)) throw bad('kind', 'unknown rule kind', '未知的规则类型');
  const kind = input.kind;
  const code = input.fieldCode ?? '';
  const field = code ? fields.find((f) => f.code === code) : undefined;
  if (code && !field) throw bad('fieldCode', 'no such field in this resource', '本资源没有该信息项');
  if ((kind === 'completeness' || kind === 'validity' || kind === 'consistency') && !field)
    throw bad('fieldCode', 'this rule checks a field: name it', '该规则须指定信息项');
  if (kind === 'timeliness' && code)
    throw bad(
      'fieldCode',
      'timeliness applies to the whole resource',
      '及时性规则适用于整个资源，不指定信息项',
    );
  const p = input.params ?? {};
  const params: RuleParams = {};
  if (kind === 'validity') {
    if (!p.check || !VALIDITY_CHECKS.includes(p.check))
      throw bad('params.check', 'choose a validity check', '须选择有效性校验方式');
    params.check = p.check;
    if (
      (p.check === 'idNumber' || p.check === 'creditCode' || p.check === 'mobilePhone') &&
      field?.type !== 'string'
    )
      throw bad('params.check', 'this check applies to a text field', '该校验仅适用于字符型信息项');
    if (p.check === 'enum') {
      if (!Array.isArray(p.values) || p.values.length < 1 || p.values.length > MAX_ENUM_VALUES)
        throw bad(
          'params.values',
          `1 to ${MAX_ENUM_VALUES} allowed values`,
          `允许值须为 1 至 ${MAX_ENUM_VALUES} 个`,
        );
      for (const v of p.values)
        if (typeof v !== 'string' || v.length < 1 || v.length > MAX_ENUM_CHARS)
          throw bad(
            'params.values',
            `each value 1 to ${MAX_ENUM_CHARS} characters`,
            `每个允许值 1 至 ${MAX_ENUM_CHARS} 个字符`,
          );
      params.values = [...new Set(p.values)];
    }
    if (p.check === 'length') {
      if (field?.type !== 'string')
        throw bad('params.check', 'length applies to a text field', '长度校验仅适用于字符型信息项');
      params.min = Math.trunc(boundedNumber(p.min ?? 0, 'params.min', 0, 10_000));
      params.max = Math.trunc(boundedNumber(p.max ?? 10_000, 'params.max', 0, 10_000));
      if (params.min > params.max) throw bad('params.min', 'min exceeds max', '最小长度大于最大长度');
    }
  }
  if (kind === 'consistency') {
    if (!Number.isInteger(p.resourceId) || (p.resourceId as number) < 1)
      throw bad('params.resourceId', 'name the resource to compare with', '须指定比对的资源');
    if (typeof p.fieldCode !== 'string' || p.fieldCode.length < 1 || p.fieldCode.length > 64)
      throw bad('params.fieldCode', "name the other resource's field", '须指定比对资源的信息项');
    params.resourceId = p.resourceId;
    params.fieldCode = p.fieldCode;
  }
  const d = KIND_DEFAULTS[kind];
  return {
    kind,
    fieldCode: code,
    params,
    threshold:
      input.threshold === undefined ? d.threshold : boundedNumber(input.threshold, 'threshold', 0, 100),
    weight: input.weight === undefined ? d.weight : boundedNumber(input.weight, 'weight', 0, 100),
    enabled: input.enabled ?? true,
  };
}

/** The key kind of a resource (for consistency): its single key field's validator, or null. */
export function keyKind(fields: readonly RuleField[]): string | null {
  const keys = fields.filter((f) => f.isKey);
  return keys.length === 1 && keys[0].validator ? keys[0].validator : null;
}

// ---- SQL: generated identifiers only ----

// a data column, or the lookup index of an encrypted one (`c<n>_h`, docs/ENCRYPTION.md)
const COLUMN = /^c\d{1,4}(_h)?$/;

/** A data column reference `t.cN`; anything else is a programming error, never user text. */
export function col(alias: 't' | 'o', columnName: string): RawBuilder<unknown> {
  if (!COLUMN.test(columnName)) throw new Error(`not a generated column name: ${columnName}`);
  return sql.raw(`${alias}.${columnName}`);
}

export function tableRef(resourceId: number): RawBuilder<unknown> {
  if (!Number.isInteger(resourceId) || resourceId < 1) throw new Error(`bad resource id ${resourceId}`);
  return sql.raw(`ds.r_${resourceId}`);
}

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const CREDIT_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';

/**
 * GB 11643-1999 in SQL, the same rule as `isValidIdNumber` (src/ingest/checksums.ts; test/quality-checks.test.ts runs
 * both over the same values): 17 digits + check character, birth year 1900–2100, a real date, ISO 7064 MOD 11-2.
 * CASE orders the evaluation, so a malformed value never reaches a cast.
 */
export function idNumberSql(x: string): string {
  const sum = ID_WEIGHTS.map((w, i) => `${w}*substr(${x},${i + 1},1)::int`).join('+');
  return `(CASE WHEN ${x} ~ '^[0-9]{17}[0-9X]$' THEN
    CASE WHEN substr(${x},7,4)::int BETWEEN 1900 AND 2100 AND substr(${x},11,2)::int BETWEEN 1 AND 12 THEN
      substr(${x},13,2)::int BETWEEN 1 AND extract(day FROM make_date(substr(${x},7,4)::int, substr(${x},11,2)::int, 1) + interval '1 month - 1 day')::int
      AND substr('10X98765432', ((${sum}) % 11) + 1, 1) = substr(${x},18,1)
    ELSE false END
  ELSE false END)`;
}

/** GB 32100-2015 in SQL, the same rule as `isValidCreditCode`. */
export function creditCodeSql(x: string): string {
  const sum = CREDIT_WEIGHTS.map(
    (w, i) => `${w}*(strpos('${CREDIT_CHARSET}', substr(${x},${i + 1},1))-1)`,
  ).join('+');
  return `(CASE WHEN ${x} ~ '^[0-9A-HJ-NP-RTUWXY]{18}$' THEN substr('${CREDIT_CHARSET}', ((31 - ((${sum}) % 31)) % 31) + 1, 1) = substr(${x},18,1) ELSE false END)`;
}

export function mobileSql(x: string): string {
  return `(${x} ~ '^1[3-9][0-9]{9}$')`;
}

export interface StoredRule {
  id: number;
  kind: RuleKind;
  fieldCode: string;
  params: RuleParams;
  threshold: number;
  weight: number;
}

/**
 * A row rule as two predicates over the data table row `t`: which rows it checks and which of those fail. Timeliness
 * has none (it judges the resource, not its rows); consistency needs the other table's column (`other`).
 */
export function rulePredicates(
  rule: StoredRule,
  resourceId: number,
  column: string | null,
  other?: { resourceId: number; column: string },
): { checked: RawBuilder<unknown>; failing: RawBuilder<unknown>; join?: RawBuilder<unknown> } | null {
  const c = column ? col('t', column) : sql.raw('t._key');
  const cText = column ? `t.${column}` : 't._key';
  switch (rule.kind) {
    case 'timeliness':
      return null;
    case 'completeness':
      return { checked: sql`true`, failing: sql`(${c} IS NULL OR btrim(${c}::text) = '')` };
    case 'validity': {
      const nn = sql`${c} IS NOT NULL`;
      switch (rule.params.check) {
        case 'idNumber':
          return { checked: nn, failing: sql`NOT ${sql.raw(idNumberSql(cText))}` };
        case 'creditCode':
          return { checked: nn, failing: sql`NOT ${sql.raw(creditCodeSql(cText))}` };
        case 'mobilePhone':
          return { checked: nn, failing: sql`NOT ${sql.raw(mobileSql(cText))}` };
        case 'enum':
          return { checked: nn, failing: sql`NOT (${c}::text = ANY(${rule.params.values ?? []}::text[]))` };
        case 'length':
          return {
            checked: nn,
            failing: sql`char_length(${c}::text) NOT BETWEEN ${rule.params.min ?? 0}::int AND ${rule.params.max ?? 10000}::int`,
          };
        default:
          throw new Error(`unknown validity check ${rule.params.check}`);
      }
    }
    case 'uniqueness': {
      // the duplicated values once (GROUP BY), hash-joined to the rows: an `IN (subquery)` inside a FILTER was
      // planned as a per-row subplan (minutes at 1 M rows)
      const d = `u${Math.trunc(rule.id)}`;
      const v = sql.raw(column ?? '_key');
      return {
        checked: sql`${c} IS NOT NULL`,
        failing: sql`${sql.raw(d)}.v IS NOT NULL`,
        join: sql`LEFT JOIN (SELECT ${v} AS v FROM ${tableRef(resourceId)} WHERE ${v} IS NOT NULL GROUP BY 1 HAVING count(*) > 1) ${sql.raw(d)} ON ${sql.raw(d)}.v = ${c}`,
      };
    }
    case 'consistency': {
      if (!other) throw new Error('consistency needs the other column');
      const o = col('o', other.column);
      return {
        checked: sql`EXISTS (SELECT 1 FROM ${tableRef(other.resourceId)} o WHERE o._key = t._key)`,
        failing: sql`EXISTS (SELECT 1 FROM ${tableRef(other.resourceId)} o WHERE o._key = t._key AND ${o}::text IS DISTINCT FROM ${c}::text)`,
      };
    }
  }
}

/** A rule's score: the share of checked rows that pass, in percent (nothing to check = 100). */
export function ruleScore(checked: number, failing: number): number {
  if (checked <= 0) return 100;
  return Math.floor((10_000 * (checked - failing)) / checked) / 100;
}

/** The resource score: rule scores weighted by their weights (no weighted rule = 100). */
export function resourceScore(results: ReadonlyArray<{ score: number; weight: number }>): number {
  const w = results.reduce((s, r) => s + r.weight, 0);
  if (w <= 0) return 100;
  return Math.round((100 * results.reduce((s, r) => s + r.score * r.weight, 0)) / w) / 100;
}

// ---- who may do what ----

function isAuthorityStaff(actor: Actor) {
  return actor.orgKind === 'authority' && hasRole(actor, 'platform_admin', 'authority_reviewer');
}

/** The authority supervises every resource's quality (XT Art 22, DG Art 35); auditors read. */
export function seesAllQuality(actor: Actor): boolean {
  return isAuthorityStaff(actor) || hasRole(actor, 'auditor');
}

/** The provider's data officers see their own resources' scores and failing records (DG Art 28: 数源部门负责). */
export function canReadQuality(actor: Actor, providerOrgId: number): boolean {
  return seesAllQuality(actor) || (actor.orgId === providerOrgId && hasRole(actor, 'data_officer'));
}

/** Rules are set by the provider's data officers and the authority; auditors only read. */
export function canEditRules(actor: Actor, providerOrgId: number): boolean {
  return isAuthorityStaff(actor) || (actor.orgId === providerOrgId && hasRole(actor, 'data_officer'));
}
