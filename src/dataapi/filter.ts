import { codeForm } from '../ingest/model.js';
import { indexText } from '../security/index-text.js';
import { AppError, type ErrorDetail } from '../shared/errors.js';
import { isUnsafeIdentifier } from '../shared/text.js';
import { maskedForConsumer } from './mask-class.js';
import type { MetaField, ResourceMeta } from './store.js';

/*
 * The filter language of the governed query (issue 9 point 3): an object of field code → condition, all ANDed.
 *   {"kind": {"eq": "初次登记"}, "district": {"in": ["江城区", "临江区"]},
 *    "registeredOn": {"gte": "2024-01-01", "lt": "2025-01-01"}, "employer": {"prefix": "临江市"}}
 * Operators: eq, in (≤ 100 values), range (gt, gte, lt, lte, combinable), prefix (text fields). Only fields the
 * grant allows (checked inside the governed statement) and that are not masked for this consumer (checked here:
 * a filter on a masked field would let a caller learn the hidden value one guess at a time). The SQL is built from
 * generated column names and placeholders only; every value is a parameter cast to the column's type.
 */

// a condition value: text, number or boolean (anyOf, not a type union: Ajv's strict mode warns on those)
export const scalar = {
  anyOf: [{ type: 'string', maxLength: 200 }, { type: 'number' }, { type: 'boolean' }],
} as const;

/** The request schema of a filter (`where`), shared by the query and aggregate routes. */
export function whereSchema(description: string) {
  return {
    type: 'object',
    maxProperties: 20,
    description,
    additionalProperties: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        eq: scalar,
        in: { type: 'array', minItems: 1, maxItems: 100, items: scalar },
        gt: scalar,
        gte: scalar,
        lt: scalar,
        lte: scalar,
        prefix: { type: 'string', minLength: 1, maxLength: 200 },
      },
    },
  } as const;
}

export type Condition = {
  eq?: unknown;
  in?: unknown[];
  gt?: unknown;
  gte?: unknown;
  lt?: unknown;
  lte?: unknown;
  prefix?: unknown;
};
export type Filter = Record<string, Condition>;

const MAX_CONDITIONS = 20;
const MAX_IN = 100;
const MAX_VALUE = 200;
const RANGE = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
const CAST: Record<string, string> = {
  string: 'text',
  integer: 'bigint',
  decimal: 'numeric',
  date: 'date',
  datetime: 'timestamptz',
  boolean: 'boolean',
};

/** A field a consumer sees masked: personal or sensitive, or carrying a masking rule (the one rule: mask-class.ts). */
export { maskedForConsumer };

function bad(field: string, reason: string, reasonZh: string, value?: unknown): AppError {
  const d: ErrorDetail = { field: `where.${field}`.slice(0, 60), reason, reasonZh };
  if (value !== undefined) d.value = String(value).slice(0, 40);
  return new AppError('FILTER_INVALID', [d]);
}

/**
 * A calendar date PostgreSQL accepts: `Date.parse` rolls `2024-02-30` over to March 1st, the database's `::date` refuses
 * it (a 500 with no field at fault), so the day must be one of the month's.
 */
function calendarDate(s: string): boolean {
  const m = /^([1-9]\d{3})-(\d{2})-(\d{2})/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/** An ISO 8601 date and time (offset optional) with a real day, hour, minute and second: what `::timestamptz` reads. */
const DATETIME =
  /^[1-9]\d{3}-\d{2}-\d{2}([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

/** A value of the field's type, as text for a `$n::type` parameter; a coded 400 when it is not one. */
function typed(f: MetaField, v: unknown): string {
  if (v === null || typeof v === 'object')
    throw bad(f.code, 'values are strings, numbers or booleans', '条件值须为字符串、数字或布尔值');
  const s = String(v);
  if (s.length > MAX_VALUE || isUnsafeIdentifier(s))
    throw bad(
      f.code,
      `a value has at most ${MAX_VALUE} printable characters`,
      `条件值最多 ${MAX_VALUE} 个可打印字符`,
    );
  const ok =
    f.type === 'integer'
      ? /^-?\d{1,18}$/.test(s)
      : f.type === 'decimal'
        ? /^-?\d{1,30}(\.\d{1,30})?$/.test(s)
        : f.type === 'date'
          ? /^[1-9]\d{3}-\d{2}-\d{2}$/.test(s) && calendarDate(s)
          : f.type === 'datetime'
            ? DATETIME.test(s) && calendarDate(s)
            : f.type === 'boolean'
              ? s === 'true' || s === 'false'
              : true;
  if (!ok) throw bad(f.code, `not a value of type ${f.type}`, `不是 ${f.type} 类型的值`, s);
  return s;
}

export interface CompiledFilter {
  /** `AND …` conditions on the data table alias `t`, placeholders from `firstParam` on */
  sql: string;
  params: unknown[];
  /** the fields filtered on, for the grant check in the statement */
  fields: string[];
  /** the statement's shape (operators per field, value counts), to name its prepared statement */
  shape: string;
}

/** FIELD_ENCRYPTED: an operator an encrypted column cannot answer without decrypting the table. */
function encryptedOnly(code: string, op: string): AppError {
  return new AppError('FIELD_ENCRYPTED', [
    {
      field: `where.${code}`.slice(0, 60),
      reason: `field ${code} is encrypted at rest: ${op} is not possible, only eq and in`,
      reasonZh: `字段 ${code} 加密存储，只能按等值（eq、in）查询`,
    },
  ]);
}

/**
 * `index`: the keyed hash of a value (FieldKeys.index); an encrypted field is compared on its lookup index column
 * (`<column>_h`), so eq and in work without decrypting the table, and ranges and prefixes are refused (FIELD_ENCRYPTED).
 */
export function compileFilter(
  meta: ResourceMeta,
  where: unknown,
  firstParam: number,
  index?: (v: string) => string,
): CompiledFilter {
  if (where === undefined || where === null) return { sql: '', params: [], fields: [], shape: '' };
  if (typeof where !== 'object' || Array.isArray(where))
    throw new AppError('FILTER_INVALID', [
      {
        field: 'where',
        reason: 'an object of field code → condition',
        reasonZh: '条件须为“字段代码 → 条件”对象',
      },
    ]);
  const entries = Object.entries(where as Record<string, unknown>);
  if (entries.length > MAX_CONDITIONS)
    throw new AppError('FILTER_INVALID', [
      {
        field: 'where',
        reason: `at most ${MAX_CONDITIONS} fields`,
        reasonZh: `最多 ${MAX_CONDITIONS} 个字段条件`,
      },
    ]);
  const parts: string[] = [];
  const params: unknown[] = [];
  const shape: string[] = [];
  const next = (v: string) => {
    params.push(v);
    return `$${firstParam + params.length - 1}`;
  };
  for (const [code, cond] of entries) {
    const f = meta.fields.find((x) => x.code === code);
    if (!f) throw bad(code, 'no such field in this resource', '该资源无此字段');
    // ranges and prefixes on ciphertext: refused for what they are, before the masking rule is asked
    if (f.encrypted && cond && typeof cond === 'object')
      for (const op of Object.keys(cond)) if (op !== 'eq' && op !== 'in') throw encryptedOnly(code, op);
    if (maskedForConsumer(f))
      throw new AppError('FILTER_FIELD_MASKED', [
        {
          field: `where.${code}`,
          reason: `field ${code} is masked for this consumer and cannot be filtered on`,
          reasonZh: `字段 ${code} 对本应用脱敏，不能作为查询条件`,
        },
      ]);
    if (!cond || typeof cond !== 'object' || Array.isArray(cond) || Object.keys(cond).length === 0)
      throw bad(
        code,
        'a condition is an object with eq, in, gt, gte, lt, lte or prefix',
        '条件须为含 eq、in、gt、gte、lt、lte 或 prefix 的对象',
      );
    const enc = f.encrypted === true;
    if (enc && !index) throw new Error('an encrypted field needs the lookup index to be filtered on');
    const col = enc ? `t.${f.columnName}_h` : `t.${f.columnName}`;
    const cast = enc ? 'text' : (CAST[f.type] ?? 'text');
    // an encrypted field: the hash of the value's canonical text (security/index-text.ts), as ingest stored it
    const val = (x: unknown) => (enc ? index!(indexText(f, typed(f, x))) : typed(f, x));
    for (const [op, v] of Object.entries(cond as Record<string, unknown>)) {
      if (enc && op !== 'eq' && op !== 'in') throw encryptedOnly(code, op);
      if (op === 'eq') {
        parts.push(`${col} = ${next(val(v))}::${cast}`);
      } else if (op === 'in') {
        if (!Array.isArray(v) || v.length === 0 || v.length > MAX_IN)
          throw bad(code, `in takes 1 to ${MAX_IN} values`, `in 须有 1 至 ${MAX_IN} 个值`);
        const list = v.map((x) => next(val(x)));
        parts.push(`${col} IN (${list.map((p) => `${p}::${cast}`).join(', ')})`);
        shape.push(`${code}:in${v.length}`);
        continue;
      } else if (op in RANGE) {
        if (f.type === 'boolean') throw bad(code, 'a boolean has no range', '布尔字段不能按范围查询');
        parts.push(`${col} ${RANGE[op as keyof typeof RANGE]} ${next(typed(f, v))}::${cast}`);
      } else if (op === 'prefix') {
        if (f.type !== 'string')
          throw bad(code, 'prefix applies to text fields only', '前缀匹配仅适用于文本字段');
        const s = typed(f, v);
        if (s.length === 0) throw bad(code, 'an empty prefix', '前缀不能为空');
        // starts_with: no LIKE pattern, so % and _ in the value are plain characters
        parts.push(`starts_with(${col}, ${next(s)}::text)`);
      } else {
        throw bad(code, `unknown operator ${op.slice(0, 20)}`, `未知运算符 ${op.slice(0, 20)}`);
      }
      shape.push(`${code}:${op}`);
    }
  }
  return {
    sql: parts.map((p) => ` AND ${p}`).join(''),
    params,
    fields: entries.map(([c]) => c),
    shape: shape.join(','),
  };
}

/** An opaque page cursor: the last row's `_seq`, base64url-wrapped (it reveals no record key). */
export function encodeCursor(seq: number | string): string {
  return Buffer.from(`s1:${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string | undefined | null): string | null {
  if (!cursor) return null;
  const m = /^s1:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m)
    throw new AppError('VALIDATION_FAILED', [
      { field: 'cursor', reason: 'not a cursor this API issued', reasonZh: '游标无效' },
    ]);
  return m[1];
}

const MAX_MATCH = 10;

/**
 * The condition of a verification (核验): every named field equals the given value (ID numbers and credit codes compared
 * upper-case, as stored). Names the match fields so the statement checks they are granted. Masked fields may be
 * matched: answering match / no match on them is what verification is for, and misses feed the enumeration detector.
 * Each value is the call's own element of an array placeholder (`($12::text[])[req.n]`), so the verifications of one
 * shape share a statement (group commit, src/dataapi/service.ts).
 */
export function compileMatch(
  meta: ResourceMeta,
  match: Record<string, unknown>,
  firstParam: number,
  index?: (v: string) => string,
): { sql: string; params: unknown[]; fields: string[] } {
  const entries = Object.entries(match);
  if (entries.length > MAX_MATCH)
    throw new AppError('VALIDATION_FAILED', [
      { field: 'match', reason: `at most ${MAX_MATCH} fields`, reasonZh: `最多核验 ${MAX_MATCH} 个字段` },
    ]);
  const params: unknown[] = [];
  const parts = entries.map(([code, v]) => {
    const f = meta.fields.find((x) => x.code === code);
    if (!f)
      throw new AppError('VALIDATION_FAILED', [
        {
          field: `match.${code}`.slice(0, 60),
          reason: 'no such field in this resource',
          reasonZh: '该资源无此字段',
        },
      ]);
    let s: string;
    try {
      s = typed(f, v);
    } catch (e) {
      const d = e instanceof AppError ? e.details[0] : undefined;
      throw new AppError('VALIDATION_FAILED', [
        { ...(d ?? { reason: 'bad value', reasonZh: '取值不合法' }), field: `match.${code}`.slice(0, 60) },
      ]);
    }
    s = codeForm(f.validator, s);
    if (f.encrypted) {
      // an encrypted field is matched on the keyed hash of the value's canonical text (security/index-text.ts: `007`
      // and `7`, `1.5` and `1.50` are one value, as the clear column's typed comparison has it): the table is not
      // decrypted
      if (!index) throw new Error('an encrypted field needs the lookup index to be matched');
      params.push(index(indexText(f, s)));
      return `t.${f.columnName}_h = ($${firstParam + params.length - 1}::text[])[req.n]`;
    }
    params.push(s);
    return `t.${f.columnName} = ($${firstParam + params.length - 1}::text[])[req.n]::${CAST[f.type] ?? 'text'}`;
  });
  return { sql: parts.length ? parts.join(' AND ') : 'true', params, fields: entries.map(([c]) => c) };
}
