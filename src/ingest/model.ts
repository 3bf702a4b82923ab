import { hash } from 'node:crypto';
import type { FieldDef } from '../catalog/model.js';
import type { ErrorDetail } from '../shared/errors.js';
import { isValidCreditCode, isValidIdNumber, isValidMobilePhone } from './checksums.js';

/**
 * Department exports from Excel are often GBK/GB18030, not UTF-8. Strict UTF-8 first (a UTF-8 BOM is dropped);
 * bytes that are not valid UTF-8 are read as GB18030, a superset of GBK and GB2312.
 */
export function decodeCsv(bytes: Uint8Array): { text: string; encoding: 'utf-8' | 'gb18030' } {
  try {
    return {
      text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes),
      encoding: 'utf-8',
    };
  } catch {
    return { text: new TextDecoder('gb18030').decode(bytes), encoding: 'gb18030' };
  }
}

export interface ParsedBatch {
  /** One entry per accepted row: normalised text values in field order (null = empty). */
  rows: (string | null)[][];
  keys: string[];
  hashes: string[];
  errors: ErrorDetail[];
  errorCount: number;
}

/** Hard cap on one cell when the field sets no length (a 10 MB cell would otherwise reach regexes and the database). */
export const MAX_CELL_CHARS = 10_000;

/** At most this many row errors are returned; the count is always exact. */
export const MAX_REPORTED_ERRORS = 1000;

const INTEGER = /^[+-]?\d{1,18}$/;
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const DATE = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$/;
const TRUE = new Set(['true', '1', '是', 'y', 'yes', 't']);
const FALSE = new Set(['false', '0', '否', 'n', 'no', 'f']);

/** 0–9 of an ASCII digit, else -1 (no regex, no slice: dates are checked on every row of a bulk upload). */
const digit = (s: string, i: number) => {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
};

/** A date already written YYYY-MM-DD (the usual case) is checked without regex or Date and returned as it is. */
function canonicalDate(s: string): string | null | undefined {
  if (s.length !== 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return undefined;
  let y = 0;
  for (let i = 0; i < 4; i++) {
    const x = digit(s, i);
    if (x < 0) return undefined;
    y = y * 10 + x;
  }
  const m1 = digit(s, 5);
  const m2 = digit(s, 6);
  const d1 = digit(s, 8);
  const d2 = digit(s, 9);
  if (m1 < 0 || m2 < 0 || d1 < 0 || d2 < 0) return undefined;
  const mo = m1 * 10 + m2;
  const day = d1 * 10 + d2;
  // years below 100 take the general path (Date.UTC reads them as 19xx, so they are refused there)
  if (y < 100) return undefined;
  if (mo < 1 || mo > 12 || day < 1) return null;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = mo === 2 ? (leap ? 29 : 28) : mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
  return day <= days ? s : null;
}

export function normaliseDate(s: string): string | null {
  const fast = canonicalDate(s);
  if (fast !== undefined) return fast;
  const m = DATE.exec(s);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dt = new Date(Date.UTC(y, mo - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) return null;
  return `${m[1]}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Checks one value against its field; returns the normalised text or an error reason. */
/** Stable reason codes of row-level findings; the console labels each (web/src/shared/i18n.ts). */
export const REASON_CODES = [
  'REQUIRED',
  'TOO_LONG',
  'BAD_ID_NUMBER',
  'BAD_CREDIT_CODE',
  'BAD_PHONE',
  'NOT_INTEGER',
  'NOT_DECIMAL',
  'BAD_DATE',
  'BAD_DATETIME',
  'NOT_BOOLEAN',
  'DUPLICATE_KEY',
  'KEY_MISSING',
  'UNKNOWN_COLUMN',
  'DUPLICATE_COLUMN',
  'MISSING_COLUMN',
  'RAGGED_ROW',
  'ROW_TOO_LARGE',
  'SYNTAX',
  'ENCODING',
  'EMPTY_FILE',
  'BAD_RECORD',
  'SHEET_NOT_FOUND',
  'ENUM_VALUE',
  'VALUE_RESERVED',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];
export type Problem = { code: ReasonCode; reason: string; reasonZh: string };
export const problem = (code: ReasonCode, reason: string, reasonZh: string): Problem => ({
  code,
  reason,
  reasonZh,
});

/** A field's code table as a Set, built once per field list (fields are read once per import). */
const codeTables = new WeakMap<readonly string[], Set<string>>();
function inCodeTable(values: readonly string[], v: string): boolean {
  let set = codeTables.get(values);
  if (!set) {
    set = new Set(values);
    codeTables.set(values, set);
  }
  return set.has(v);
}

function enumProblem(values: readonly string[]): Problem {
  const shown = values.slice(0, 10).join(', ') + (values.length > 10 ? ', …' : '');
  const shownZh = values.slice(0, 10).join('、') + (values.length > 10 ? '等' : '');
  return problem(
    'ENUM_VALUE',
    `not one of the field's allowed values (${shown})`,
    `不在该信息项的值域内（${shownZh}）`,
  );
}

function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // a high surrogate followed by a low one is one character
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

export function normaliseValue(f: FieldDef, raw: string): { value: string | null } | Problem {
  const r = normaliseTyped(f, raw);
  // the code table is checked on the normalised value (an integer 007 is 7); an empty optional value passes
  if (f.allowedValues?.length && 'value' in r && r.value !== null && !inCodeTable(f.allowedValues, r.value))
    return enumProblem(f.allowedValues);
  return r;
}

/**
 * An ID number or credit code as stored, indexed and looked up: trimmed, upper case (an ID number's check character x is
 * stored X). Any other value as given. The one place this rule is written: ingest, the lookup hashes
 * (security/index-text.ts) and the data API's filters and verification (dataapi/filter.ts) call it.
 */
export function codeForm(validator: string | null | undefined, s: string): string {
  return validator === 'idNumber' || validator === 'creditCode' ? s.trim().toUpperCase() : s;
}

function normaliseTyped(f: FieldDef, raw: string): { value: string | null } | Problem {
  // cheap guard before trimming and regexes; a declared length is checked exactly (in characters) below
  const declared = f.type === 'string' && f.length ? f.length : null;
  if (raw.length > Math.max(MAX_CELL_CHARS, (declared ?? 0) * 2))
    return problem(
      'TOO_LONG',
      `longer than ${declared ?? MAX_CELL_CHARS} characters`,
      `超过 ${declared ?? MAX_CELL_CHARS} 个字符`,
    );
  const s = raw.trim();
  if (s === '')
    return f.required || f.isKey
      ? problem(
          f.isKey ? 'KEY_MISSING' : 'REQUIRED',
          f.isKey ? 'the record key is empty (XT Art 15)' : 'required value is empty',
          f.isKey ? '记录主键为空（邢台办法第十五条）' : '必填项为空',
        )
      : { value: null };
  switch (f.type) {
    case 'string':
      // characters, not UTF-16 units; a string no longer in units than the limit is within it
      if (f.length && s.length > f.length && codePoints(s) > f.length)
        return problem('TOO_LONG', `longer than ${f.length} characters`, `超过 ${f.length} 个字符`);
      if (f.validator === 'idNumber' && !isValidIdNumber(s.toUpperCase()))
        return problem(
          'BAD_ID_NUMBER',
          'not a valid citizen ID number (GB 11643 check digit)',
          '不是有效的公民身份号码（GB 11643 校验位不符）',
        );
      if (f.validator === 'creditCode' && !isValidCreditCode(s.toUpperCase()))
        return problem(
          'BAD_CREDIT_CODE',
          'not a valid unified social credit code (GB 32100 check character)',
          '不是有效的统一社会信用代码（GB 32100 校验码不符）',
        );
      if (f.validator === 'mobilePhone' && !isValidMobilePhone(s))
        return problem('BAD_PHONE', 'not a valid mobile phone number', '不是有效的手机号码');
      return { value: codeForm(f.validator, s) };
    case 'integer':
      return INTEGER.test(s)
        ? { value: String(BigInt(s)) }
        : problem('NOT_INTEGER', 'not an integer', '不是整数');
    case 'decimal':
      return DECIMAL.test(s) ? { value: s } : problem('NOT_DECIMAL', 'not a number', '不是数值');
    case 'date': {
      const d = normaliseDate(s);
      return d ? { value: d } : problem('BAD_DATE', 'not a date (YYYY-MM-DD)', '不是有效日期（YYYY-MM-DD）');
    }
    case 'datetime': {
      const t = Date.parse(s);
      return Number.isNaN(t)
        ? problem('BAD_DATETIME', 'not a date-time (ISO 8601)', '不是有效日期时间（ISO 8601）')
        : { value: new Date(t).toISOString() };
    }
    case 'boolean': {
      const l = s.toLowerCase();
      if (TRUE.has(l)) return { value: 'true' };
      if (FALSE.has(l)) return { value: 'false' };
      return problem('NOT_BOOLEAN', 'not a boolean (true/false/是/否)', '不是布尔值（是/否）');
    }
  }
}

/**
 * Maps a CSV header to field positions. Columns may be named by field code or Chinese name;
 * unknown columns and missing required fields are errors, so a file meant for another resource is refused whole.
 */
export function mapHeader(
  header: string[],
  fields: FieldDef[],
  keysOnly = false,
): { map: number[]; errors: ErrorDetail[] } {
  const errors: ErrorDetail[] = [];
  const map = fields.map(() => -1);
  header.forEach((h, col) => {
    const name = h.trim();
    const idx = fields.findIndex((f) => f.code === name || f.name === name);
    if (idx < 0)
      errors.push({
        row: 0,
        field: name,
        code: 'UNKNOWN_COLUMN',
        reason: 'column matches no field of this resource',
        reasonZh: '列名与本资源的信息项不匹配',
      });
    else if (map[idx] >= 0)
      errors.push({
        row: 0,
        field: fields[idx].code,
        code: 'DUPLICATE_COLUMN',
        reason: 'column appears twice',
        reasonZh: '列重复出现',
      });
    else map[idx] = col;
  });
  fields.forEach((f, i) => {
    if (map[i] < 0 && (keysOnly ? f.isKey : f.required || f.isKey))
      errors.push({
        row: 0,
        field: f.code,
        code: 'MISSING_COLUMN',
        reason: f.isKey ? 'the key identifier column is missing (XT Art 15)' : 'required column is missing',
        reasonZh: f.isKey ? '缺少主键标识列（邢台办法第十五条）' : '缺少必填列',
      });
  });
  return { map, errors };
}

export function recordHash(values: (string | null)[]): string {
  // one-shot crypto.hash: half the time of createHash().update().digest() on a short record, same digest
  return hash('sha256', JSON.stringify(values), 'base64url').slice(0, 22);
}

/** Validates every row; keys must be unique within the batch. Row numbers are 1-based data rows (the header is row 0). */
export function validateRows(records: string[][], map: number[], fields: FieldDef[]): ParsedBatch {
  const out: ParsedBatch = { rows: [], keys: [], hashes: [], errors: [], errorCount: 0 };
  const keyIdx = fields.map((f, i) => (f.isKey ? i : -1)).filter((i) => i >= 0);
  const seen = new Map<string, number>();
  const fail = (row: number, field: string | undefined, p: Problem) => {
    out.errorCount++;
    if (out.errors.length < MAX_REPORTED_ERRORS) out.errors.push({ row, field, ...p });
  };
  for (let r = 0; r < records.length; r++) {
    const rec = records[r];
    const rowNo = r + 1;
    const values: (string | null)[] = new Array(fields.length);
    let ok = true;
    for (let i = 0; i < fields.length; i++) {
      const col = map[i];
      const res = normaliseValue(fields[i], col >= 0 ? (rec[col] ?? '') : '');
      if ('reason' in res) {
        fail(rowNo, fields[i].code, res);
        ok = false;
      } else values[i] = res.value;
    }
    if (!ok) continue;
    const key = keyIdx.map((i) => values[i]).join('|');
    const first = seen.get(key);
    if (first !== undefined) {
      fail(
        rowNo,
        fields[keyIdx[0]].code,
        problem('DUPLICATE_KEY', `duplicate key, same as row ${first}`, `主键重复，与第 ${first} 行相同`),
      );
      continue;
    }
    seen.set(key, rowNo);
    out.rows.push(values);
    out.keys.push(key);
    out.hashes.push(recordHash(values));
  }
  return out;
}
