import { labelOf } from '../shared/labels.js';
import {
  CATALOG_LEVELS,
  CLASSIFICATIONS,
  DATA_TYPES,
  FIELD_TYPES,
  FORMATS,
  LEGAL_BASIS_KINDS,
  MASKINGS,
  OPEN_TYPES,
  SECURITY_LEVELS,
  SHARE_METHODS,
  SHARE_TYPES,
  STORAGE_DEFAULT_LETTER,
  UPDATE_CYCLES,
  VALIDATORS,
} from './model.js';

/*
 * The catalog's Excel/CSV layout (issue 6 point 12), modelled on the workbook departments fill in under the national
 * guideline (发改高技〔2017〕1272号《政务信息资源目录编制指南（试行）》): one sheet of resources (信息资源), one of data
 * items (信息项) joined to it by the resource's 序号. Row 1 of each sheet is its title, row 2 the Chinese headers, data
 * from row 3. A CSV carries the same columns flat: one line per data item, the resource's columns repeated (the first
 * line of a 序号 is the one read).
 *
 * Every column is ONE line of RESOURCE_COLUMNS / FIELD_COLUMNS: its header, the registration-input property it fills
 * (`ResourceInput` / `FieldInput`, validated afterwards by the same schema and rules as POST /api/catalog/resources)
 * and its codec (cell text ⇄ value). A new catalog property is a new line here.
 */

export const TEMPLATE_TITLE =
  '政务信息资源目录（依据《政务信息资源目录编制指南（试行）》发改高技〔2017〕1272号）';
export const RESOURCE_SHEET = '信息资源';
export const FIELD_SHEET = '信息项';
export const CSV_SHEET = 'CSV';
/** The first data row of a sheet (row 1 title, row 2 headers). */
export const FIRST_DATA_ROW = 3;

/** Bounds of one import and one export (UPLOAD_MAX_BYTES bounds the file itself). */
export const IMPORT_MAX_RESOURCES = 500;
export const IMPORT_MAX_FIELD_ROWS = 20_000;
export const EXPORT_MAX_RESOURCES = 5_000;

export interface CellProblem {
  reason: string;
  reasonZh: string;
}
export type Parsed = { value: unknown } | { problem: CellProblem };

export interface Codec {
  /** cell text (trimmed, never empty) → value; an empty cell is `undefined` (the schema default or "derive") */
  parse(text: string): Parsed;
  format(value: unknown): string;
  /** allowed cell values, for the sheet's drop-down list (data validation) */
  list?: string[];
}

const text: Codec = { parse: (t) => ({ value: t }), format: (v) => (v == null ? '' : String(v)) };

/** An enumeration written as its Chinese label; the API value (e.g. `conditional`) is accepted too. */
function enumOf(
  kind: string,
  values: readonly string[],
  opts: { blank?: string; aliases?: Record<string, string> } = {},
): Codec {
  const label = (v: string) => labelOf(`${kind}.${v}`) ?? v;
  const byText = new Map<string, string>();
  for (const v of values) {
    byText.set(v.toLowerCase(), v);
    byText.set(label(v), v);
    // the label without its note: 身份证号（GB 11643） is also accepted as 身份证号, 其他（如规范性文件） as 其他
    byText.set(label(v).replace(/（[^）]*）$/, ''), v);
  }
  for (const [text, v] of Object.entries(opts.aliases ?? {})) if (!byText.has(text)) byText.set(text, v);
  const list = [...values.map(label), ...(opts.blank ? [opts.blank] : [])];
  return {
    list,
    parse: (t) => {
      if (opts.blank && t === opts.blank) return { value: null };
      const v = byText.get(t) ?? byText.get(t.toLowerCase());
      return v !== undefined
        ? { value: v }
        : {
            problem: {
              reason: `"${t}" is not one of: ${list.join(', ')}`,
              reasonZh: `“${t}”不是可选值（${list.join('、')}）之一`,
            },
          };
    },
    format: (v) => (v == null || v === '' ? '' : label(String(v))),
  };
}

const YES = ['是', 'Y', 'y', 'yes', 'true', '1', 'TRUE'];
const NO = ['否', 'N', 'n', 'no', 'false', '0', 'FALSE'];
const bool: Codec = {
  list: ['是', '否'],
  parse: (t) =>
    YES.includes(t)
      ? { value: true }
      : NO.includes(t)
        ? { value: false }
        : { problem: { reason: `"${t}" is not 是/否 (yes/no)`, reasonZh: `“${t}”应填“是”或“否”` } },
  format: (v) => (v === true ? '是' : v === false ? '否' : ''),
};

const integer: Codec = {
  parse: (t) =>
    /^\d{1,9}$/.test(t)
      ? { value: Number(t) }
      : { problem: { reason: `"${t}" is not a whole number`, reasonZh: `“${t}”不是整数` } },
  format: (v) => (v == null ? '' : String(v)),
};

/** Several words in one cell, separated by 、，, ; or ；. */
const words: Codec = {
  parse: (t) => ({
    value: t
      .split(/[、,，;；]/)
      .map((s) => s.trim())
      .filter(Boolean),
  }),
  format: (v) => (Array.isArray(v) ? v.join('、') : ''),
};

/** A section of the importing department, by name; the import resolves it to `sectionId`. */
const sectionName: Codec = { parse: (t) => ({ value: t }), format: (v) => (v == null ? '' : String(v)) };

export interface Column {
  header: string;
  /** the registration-input property the column fills; null: export-only (ignored on import) or a join column */
  prop: string | null;
  codec: Codec;
  width: number;
  /** the column must be filled on import (the schema says so too; this marks the header in the template) */
  required?: boolean;
  /** what the export writes: the value's key in the exported row, when it is not `prop` */
  exportKey?: string;
}

/** 信息资源 sheet. `seq` joins the 信息项 sheet; code, provider and status are written by export and ignored on import. */
export const RESOURCE_COLUMNS: Column[] = [
  { header: '序号', prop: null, exportKey: 'seq', codec: integer, width: 6, required: true },
  { header: '信息资源代码', prop: null, exportKey: 'code', codec: text, width: 22 },
  { header: '信息资源名称', prop: 'name', codec: text, width: 28, required: true },
  { header: '信息资源摘要', prop: 'summary', codec: text, width: 40, required: true },
  {
    header: '资源分类',
    prop: 'classification',
    codec: enumOf('classification', CLASSIFICATIONS),
    width: 10,
    required: true,
  },
  { header: '主题', prop: 'topic', codec: text, width: 14 },
  { header: '信息资源格式', prop: 'format', codec: enumOf('format', FORMATS), width: 12 },
  {
    header: '目录层级',
    prop: 'catalogLevel',
    codec: enumOf('catalogLevel', CATALOG_LEVELS),
    width: 10,
    required: true,
  },
  { header: '所属科室', prop: 'sectionName', exportKey: 'sectionName', codec: sectionName, width: 14 },
  { header: '信息资源提供方', prop: null, exportKey: 'providerName', codec: text, width: 20 },
  {
    header: '共享类型',
    prop: 'shareType',
    codec: enumOf('shareType', SHARE_TYPES),
    width: 12,
    required: true,
  },
  { header: '共享条件', prop: 'shareConditions', codec: text, width: 30 },
  { header: '法律法规依据', prop: 'legalBasis', codec: text, width: 30 },
  {
    header: '依据类别',
    prop: 'legalBasisKind',
    codec: enumOf('legalBasisKind', LEGAL_BASIS_KINDS),
    width: 12,
  },
  { header: '共享方式', prop: 'shareMethod', codec: enumOf('shareMethod', SHARE_METHODS), width: 10 },
  { header: '开放类型', prop: 'openType', codec: enumOf('openType', OPEN_TYPES), width: 12 },
  {
    header: '更新周期',
    prop: 'updateCycle',
    codec: enumOf('updateCycle', UPDATE_CYCLES),
    width: 10,
    required: true,
  },
  // GB/T 43697: derived from the data items (the highest of their levels), so export-only
  {
    header: '安全级别',
    prop: null,
    exportKey: 'securityLevel',
    codec: enumOf('securityLevel', SECURITY_LEVELS),
    width: 10,
  },
  { header: '关键字', prop: 'keywords', codec: words, width: 20 },
  { header: '关联资源代码', prop: 'relatedCodes', codec: words, width: 24 },
  { header: '状态', prop: null, exportKey: 'status', codec: enumOf('resStatus', []), width: 8 },
];

/** 信息项 sheet: one row per data item, in order; 资源序号 (or, when blank, 信息资源名称) names its resource. */
export const FIELD_COLUMNS: Column[] = [
  { header: '资源序号', prop: null, exportKey: 'seq', codec: integer, width: 8, required: true },
  { header: '信息资源名称', prop: null, exportKey: 'resourceName', codec: text, width: 24 },
  { header: '信息项名称', prop: 'name', codec: text, width: 18, required: true },
  { header: '信息项标识', prop: 'code', codec: text, width: 16, required: true },
  {
    header: '数据类型',
    prop: 'dataType',
    // the 1272 letters by their names (字符型 …); a storage type's name (字符串, 日期 …) is read as its usual letter
    codec: enumOf('dataType', DATA_TYPES, {
      aliases: Object.fromEntries(
        FIELD_TYPES.map((t) => [labelOf(`fieldType.${t}`) ?? t, STORAGE_DEFAULT_LETTER[t]]),
      ),
    }),
    width: 10,
    required: true,
  },
  { header: '数据长度', prop: 'length', codec: integer, width: 8 },
  { header: '是否必填', prop: 'required', codec: bool, width: 8 },
  { header: '是否主键', prop: 'isKey', codec: bool, width: 8 },
  { header: '个人信息', prop: 'personal', codec: bool, width: 8 },
  { header: '敏感个人信息', prop: 'sensitivePersonal', codec: bool, width: 10 },
  { header: '敏感信息', prop: 'sensitive', codec: bool, width: 8 },
  {
    header: '安全级别',
    prop: 'securityLevel',
    codec: enumOf('securityLevel', SECURITY_LEVELS),
    width: 10,
  },
  { header: '脱敏规则', prop: 'masking', codec: enumOf('masking', MASKINGS), width: 14 },
  {
    header: '校验规则',
    prop: 'validator',
    codec: enumOf('validator', VALIDATORS, { blank: '无' }),
    width: 16,
  },
];

/** The CSV layout: the resource columns, then the data-item columns except the two join columns. */
export const CSV_FIELD_COLUMNS = FIELD_COLUMNS.slice(2);
export const CSV_HEADER = [...RESOURCE_COLUMNS, ...CSV_FIELD_COLUMNS].map((c) => c.header);

/** The example row of the downloadable template (a realistic 1272 entry that passes every profile's rules). */
export const EXAMPLE_RESOURCE: Record<string, unknown> = {
  seq: 1,
  name: '婚姻登记信息',
  summary: '本单位婚姻登记机关办理的结婚、离婚登记信息，用于户籍变更、住房保障等事项的身份核验。',
  classification: 'department',
  topic: '婚姻登记',
  catalogLevel: 'department',
  shareType: 'conditional',
  shareConditions: '仅限办理户籍、住房保障、社会救助事项的部门，按事项核验使用',
  legalBasis: '《婚姻登记条例》',
  legalBasisKind: 'adminRegulation',
  shareMethod: 'api',
  openType: 'closed',
  updateCycle: 'daily',
  format: 'database',
  keywords: ['婚姻', '结婚登记'],
};
export const EXAMPLE_FIELDS: Record<string, unknown>[] = [
  {
    name: '公民身份号码',
    code: 'idNumber',
    dataType: 'C',
    length: 18,
    isKey: true,
    validator: 'idNumber',
    securityLevel: 'important',
  },
  {
    name: '姓名',
    code: 'personName',
    dataType: 'C',
    length: 50,
    required: true,
    personal: true,
    masking: 'name',
  },
  { name: '婚姻状况', code: 'maritalStatus', dataType: 'C', length: 10, required: true },
  { name: '登记日期', code: 'registeredOn', dataType: 'D' },
].map((f) => ({ seq: 1, resourceName: EXAMPLE_RESOURCE.name, ...f }));

/**
 * A cell's text as the import reads it. Formulas are never evaluated: the formula itself is the text (and then
 * usually fails validation); a hyperlink is its display text; rich text is concatenated; a date is YYYY-MM-DD.
 */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.formula === 'string') return `=${o.formula}`;
    if (typeof o.sharedFormula === 'string') return `=${o.sharedFormula}`;
    if (Array.isArray(o.richText)) return o.richText.map((r) => (r as { text?: string }).text ?? '').join('');
    if ('hyperlink' in o || 'text' in o) return cellText(o.text);
    if ('error' in o) return String(o.error);
    return '';
  }
  return String(v);
}
