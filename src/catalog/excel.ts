import { createRequire } from 'node:module';
import { inflateRawSync } from 'node:zlib';
import type { Ajv as AjvInstance, ErrorObject } from 'ajv';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { appendAudit } from '../audit/store.js';
import type { Actor, AppContext } from '../context.js';
import { inTx } from '../db/index.js';
import { boundIntegers, trimKeyword } from '../http/ajv.js';
import { decodeCsv } from '../ingest/model.js';
import { checkUploadSize } from '../ingest/service.js';
import { AppError, type ErrorDetail } from '../shared/errors.js';
import { toCsv } from '../shared/tabular.js';
import {
  canRegisterResource,
  checkShape,
  checkShareRules,
  levelsVisibleToAll,
  type ResourceInput,
  seesAllSectionEntries,
  shareRuleErrorCode,
} from './model.js';
import { resourceInputSchema } from './routes.js';
import { FACET_KEYS, type SearchInput, searchResources } from './search.js';
import { type ListResourcesQuery, registerResource } from './service.js';
import {
  type Column,
  CSV_FIELD_COLUMNS,
  CSV_HEADER,
  CSV_SHEET,
  cellText,
  EXAMPLE_FIELDS,
  EXAMPLE_RESOURCE,
  EXPORT_MAX_RESOURCES,
  FIELD_COLUMNS,
  FIELD_SHEET,
  FIRST_DATA_ROW,
  IMPORT_MAX_FIELD_ROWS,
  IMPORT_MAX_RESOURCES,
  RESOURCE_COLUMNS,
  RESOURCE_SHEET,
  TEMPLATE_TITLE,
} from './template.js';

/*
 * Catalog import and export in the 1272 template layout (issue 6 point 12). Import: every resource is validated
 * exactly as POST /api/catalog/resources validates its body (the same JSON schema with the same Ajv options, then the
 * profile's share rules and the shape rules), every problem is reported with sheet, row, column, cell value, code and
 * zh/en reason, and only a file without any problem is registered — all of it in one transaction, through the
 * registration use case itself (drafts, or submitted for review). Export: any view of the catalog search (same
 * filters and visibility), bounded, audited.
 */

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** One problem of an import, located where the officer can find it. */
export interface ImportProblem extends ErrorDetail {
  sheet: string;
  row: number | undefined;
  column: string | null;
  value: string | null;
  code: string;
}

// ---- validation: the registration route's schema, compiled with the options Fastify uses (src/http/app.ts) ----

type Validate = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };
let validateInput: Validate | null = null;
const localizeZh = createRequire(import.meta.url)('ajv-i18n/localize/zh') as (errors: unknown[]) => void;

function schemaValidator(): Validate {
  if (!validateInput) {
    const Ajv = createRequire(import.meta.url)('ajv') as new (o: object) => AjvInstance;
    const ajv = trimKeyword(
      new Ajv({
        coerceTypes: 'array',
        useDefaults: true,
        removeAdditional: false,
        allErrors: true,
        strict: false,
      }),
    );
    const { submit: _s, ...properties } = resourceInputSchema.properties;
    validateInput = ajv.compile(boundIntegers({ ...resourceInputSchema, properties })) as Validate;
  }
  return validateInput;
}

// ---- reading a file into located rows ----

interface Loc {
  sheet: string;
  row: number;
}
interface SheetRow extends Loc {
  cells: Map<string, string>;
}

/** Sum of the uncompressed sizes in a zip's central directory: an .xlsx that would inflate past the bound is refused. */
export function zipInflatedSize(buf: Uint8Array): number {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65_535); i--) {
    if (v.getUint32(i, true) !== 0x06054b50) continue;
    const count = v.getUint16(i + 10, true);
    let p = v.getUint32(i + 16, true);
    let total = 0;
    for (let k = 0; k < count; k++) {
      if (p + 46 > buf.length || v.getUint32(p, true) !== 0x02014b50) return Number.POSITIVE_INFINITY;
      const size = v.getUint32(p + 24, true);
      if (size === 0xffffffff) return Number.POSITIVE_INFINITY;
      total += size;
      p += 46 + v.getUint16(p + 28, true) + v.getUint16(p + 30, true) + v.getUint16(p + 32, true);
    }
    return total;
  }
  return Number.POSITIVE_INFINITY;
}
const XLSX_MAX_INFLATED = 64 * 1024 * 1024;

/**
 * What an .xlsx may hold before ExcelJS is let to build it in memory (it materialises every cell, style and string):
 * the parts' real inflated size (not the sizes the zip declares), the size of each XML part other than the sheets and
 * the shared strings (styles, workbook, comments…: a template's are a few kB), and the sheets' `<row>` and `<c>`
 * elements and the shared strings' `<si>` entries, counted in the XML text. The largest import the template allows
 * (IMPORT_MAX_RESOURCES + IMPORT_MAX_FIELD_ROWS rows, every column filled, 8 columns of slack) passes; a "zip bomb"
 * or a sheet of millions of (even empty, styled) cells is refused after at most XLSX_MAX_INFLATED bytes of inflating.
 */
export const XLSX_LIMITS = {
  inflated: XLSX_MAX_INFLATED,
  otherXmlPart: 4 * 1024 * 1024,
  cells:
    (IMPORT_MAX_RESOURCES + FIRST_DATA_ROW) * (RESOURCE_COLUMNS.length + 8) +
    (IMPORT_MAX_FIELD_ROWS + FIRST_DATA_ROW) * (FIELD_COLUMNS.length + 8),
  rows: 2 * (IMPORT_MAX_RESOURCES + IMPORT_MAX_FIELD_ROWS + FIRST_DATA_ROW),
};

const notXlsx = (why: string) =>
  new AppError('CATALOG_IMPORT_INVALID', [
    {
      reason: `not a readable .xlsx workbook (${why})`,
      reasonZh: '无法读取该 .xlsx 工作簿，请使用导入模板另存为 Excel 工作簿',
    },
  ]);

/** Occurrences of the element `name` (any namespace prefix) opening in an XML text. */
function countElements(xml: string, name: string): number {
  const re = new RegExp(`<(?:[A-Za-z_][\\w.-]*:)?${name}[\\s/>]`, 'g');
  let n = 0;
  while (re.exec(xml)) n++;
  return n;
}

/**
 * Inflates every part of an .xlsx one at a time under a running bound (zlib stops at the bound, whatever the zip
 * declares), counts rows, cells and shared strings, and keeps nothing: CATALOG_IMPORT_TOO_LARGE before any bound is
 * passed, CATALOG_IMPORT_INVALID for what is not a zip this reader (and so ExcelJS) can read.
 */
export function checkXlsxBounds(
  bytes: Uint8Array,
  limits = XLSX_LIMITS,
  /** the reader's own refusals (the catalog import's by default; the leak-trace upload has its own code) */
  refuse: { tooLarge: (reason: string, reasonZh: string) => AppError; invalid: (why: string) => AppError } = {
    tooLarge,
    invalid: notXlsx,
  },
): { cells: number; rows: number } {
  const notXlsx = refuse.invalid;
  const tooLarge = refuse.tooLarge;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65_535); i--)
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw notXlsx('no zip directory');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  let left = limits.inflated;
  let cells = 0;
  let rows = 0;
  let strings = 0;
  const over = () =>
    tooLarge(
      `the workbook inflates to more than ${limits.inflated >> 20} MiB`,
      `工作簿解压后超过 ${limits.inflated >> 20} MiB`,
    );
  for (let k = 0; k < count; k++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) throw notXlsx('damaged zip directory');
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
    if (flags & 1) throw notXlsx('encrypted part');
    if (size === 0xffffffff || local === 0xffffffff) throw over(); // zip64: only for parts past 4 GiB
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== 0x04034b50) throw notXlsx('damaged zip entry');
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    if (start + size > buf.length) throw notXlsx('truncated zip entry');
    const raw = buf.subarray(start, start + size);
    let data: Buffer;
    if (method === 0) data = raw;
    else if (method === 8) {
      try {
        data = inflateRawSync(raw, { maxOutputLength: Math.max(1, left) });
      } catch (e) {
        if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) throw over();
        throw notXlsx(`part ${name.slice(0, 100)} does not inflate`);
      }
    } else throw notXlsx(`compression method ${method}`);
    if (data.length > left) throw over();
    left -= data.length;
    const lower = name.toLowerCase();
    const sheet = /^xl\/worksheets\/[^/]+\.xml$/.test(lower);
    const shared = /^xl\/sharedstrings\.xml$/.test(lower);
    if (!sheet && !shared && /\.(xml|rels|vml)$/.test(lower) && data.length > limits.otherXmlPart)
      throw tooLarge(
        `part ${name.slice(0, 100)} of the workbook is larger than ${limits.otherXmlPart >> 20} MiB`,
        `工作簿中的部件 ${name.slice(0, 100)} 超过 ${limits.otherXmlPart >> 20} MiB`,
      );
    if (!sheet && !shared) continue;
    const xml = data.toString('latin1'); // element names are ASCII: one char per byte, no decoding cost
    if (shared) strings += countElements(xml, 'si');
    else {
      cells += countElements(xml, 'c');
      rows += countElements(xml, 'row');
    }
    if (cells > limits.cells || strings > limits.cells)
      throw tooLarge(
        `the workbook has more than ${limits.cells} cells; an import holds at most ${IMPORT_MAX_RESOURCES} resources and ${IMPORT_MAX_FIELD_ROWS} data items`,
        `工作簿单元格超过 ${limits.cells} 个；单次导入最多 ${IMPORT_MAX_RESOURCES} 个信息资源、${IMPORT_MAX_FIELD_ROWS} 个信息项，请拆分文件`,
      );
    if (rows > limits.rows)
      throw tooLarge(
        `the workbook has more than ${limits.rows} rows; an import holds at most ${IMPORT_MAX_RESOURCES} resources and ${IMPORT_MAX_FIELD_ROWS} data items`,
        `工作簿超过 ${limits.rows} 行；单次导入最多 ${IMPORT_MAX_RESOURCES} 个信息资源、${IMPORT_MAX_FIELD_ROWS} 个信息项，请拆分文件`,
      );
  }
  return { cells, rows };
}

function tooLarge(reason: string, reasonZh: string): AppError {
  return new AppError('CATALOG_IMPORT_TOO_LARGE', [{ reason, reasonZh }]);
}

function rowsOf(ws: ExcelJS.Worksheet, sheet: string, max: number): { rows: SheetRow[]; headers: string[] } {
  // rows holding values (a formatted or validated but empty row does not count)
  const filled = ws.actualRowCount - (FIRST_DATA_ROW - 1);
  if (filled > max)
    throw tooLarge(
      `sheet ${sheet} has ${filled} rows; at most ${max} per import`,
      `工作表“${sheet}”有 ${filled} 行，单次导入最多 ${max} 行，请拆分文件`,
    );
  const headerRow = ws.getRow(FIRST_DATA_ROW - 1);
  const headers: string[] = [];
  headerRow.eachCell({ includeEmpty: true }, (c, col) => {
    headers[col] = cellText(c.value).trim();
  });
  const rows: SheetRow[] = [];
  for (let r = FIRST_DATA_ROW; r <= ws.rowCount; r++) {
    const row = ws.getRow(r);
    const cells = new Map<string, string>();
    row.eachCell({ includeEmpty: false }, (c, col) => {
      const h = headers[col];
      const t = cellText(c.value).trim();
      if (h && t) cells.set(h, t);
    });
    if (cells.size) rows.push({ sheet, row: r, cells });
  }
  return { rows, headers: headers.filter(Boolean) };
}

interface Sheets {
  format: 'xlsx' | 'csv';
  resources: SheetRow[];
  fields: SheetRow[];
  problems: ImportProblem[];
}

function missingColumns(sheet: string, headers: string[], columns: Column[]): ImportProblem[] {
  return columns
    .filter((c) => c.required && !headers.includes(c.header))
    .map((c) => ({
      sheet,
      row: FIRST_DATA_ROW - 1,
      column: c.header,
      value: null,
      code: 'VALIDATION_FAILED',
      reason: `the header row has no column "${c.header}" (download the template)`,
      reasonZh: `表头缺少“${c.header}”列（请下载导入模板）`,
    }));
}

async function readXlsx(bytes: Uint8Array): Promise<Sheets> {
  if (zipInflatedSize(bytes) > XLSX_MAX_INFLATED)
    throw tooLarge(
      'the workbook inflates to more than 64 MiB (or is not a valid .xlsx)',
      '工作簿解压后超过 64 MiB（或不是有效的 .xlsx 文件）',
    );
  // the real sizes and counts, before ExcelJS materialises anything
  checkXlsxBounds(bytes);
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(Buffer.from(bytes) as unknown as ArrayBuffer);
  } catch (e) {
    throw new AppError('CATALOG_IMPORT_INVALID', [
      {
        reason: `not a readable .xlsx workbook (${(e as Error).message.slice(0, 200)})`,
        reasonZh: '无法读取该 .xlsx 工作簿，请使用导入模板另存为 Excel 工作簿',
      },
    ]);
  }
  const rs = wb.getWorksheet(RESOURCE_SHEET) ?? wb.worksheets[0];
  const fs = wb.getWorksheet(FIELD_SHEET) ?? wb.worksheets[1];
  if (!rs || !fs)
    throw new AppError('CATALOG_IMPORT_INVALID', [
      {
        reason: `the workbook needs the sheets "${RESOURCE_SHEET}" and "${FIELD_SHEET}"`,
        reasonZh: `工作簿须包含“${RESOURCE_SHEET}”和“${FIELD_SHEET}”两个工作表`,
      },
    ]);
  const r = rowsOf(rs, RESOURCE_SHEET, IMPORT_MAX_RESOURCES);
  const f = rowsOf(fs, FIELD_SHEET, IMPORT_MAX_FIELD_ROWS);
  return {
    format: 'xlsx',
    resources: r.rows,
    fields: f.rows,
    problems: [
      ...missingColumns(RESOURCE_SHEET, r.headers, RESOURCE_COLUMNS),
      ...missingColumns(
        FIELD_SHEET,
        f.headers,
        FIELD_COLUMNS.filter((c) => c.prop),
      ),
    ],
  };
}

/** A CSV in the flat layout: one line per data item, lines of one 序号 (or one name) form a resource. */
function readCsv(bytes: Uint8Array): Sheets {
  const { text } = decodeCsv(bytes);
  let records: string[][];
  try {
    records = parse(text, { relax_column_count: true, skip_empty_lines: true, bom: true });
  } catch (e) {
    throw new AppError('CATALOG_IMPORT_INVALID', [
      {
        sheet: CSV_SHEET,
        reason: `CSV syntax: ${(e as Error).message.slice(0, 200)}`,
        reasonZh: `CSV 格式错误：${(e as Error).message.slice(0, 200)}`,
      } as ErrorDetail,
    ]);
  }
  if (records.length - 1 > IMPORT_MAX_FIELD_ROWS)
    throw tooLarge(
      `the file has ${records.length - 1} lines; at most ${IMPORT_MAX_FIELD_ROWS} per import`,
      `文件有 ${records.length - 1} 行，单次导入最多 ${IMPORT_MAX_FIELD_ROWS} 行，请拆分文件`,
    );
  // the header is the first line; a title line above it (as in the workbook) is skipped
  let h = 0;
  if (records[0] && !records[0].some((c) => c.trim() === RESOURCE_COLUMNS[2].header) && records.length > 1)
    h = 1;
  const headers = (records[h] ?? []).map((c) => c.trim());
  const resources: SheetRow[] = [];
  const fields: SheetRow[] = [];
  const seen = new Set<string>();
  const seqHeader = RESOURCE_COLUMNS[0].header;
  const nameHeader = RESOURCE_COLUMNS[2].header;
  for (let i = h + 1; i < records.length; i++) {
    const cells = new Map<string, string>();
    records[i].forEach((c, k) => {
      const t = c.trim();
      if (headers[k] && t) cells.set(headers[k], t);
    });
    if (!cells.size) continue;
    const key = cells.get(seqHeader) ?? `name:${cells.get(nameHeader) ?? ''}`;
    const line = i + 1;
    if (!seen.has(key)) {
      seen.add(key);
      resources.push({ sheet: CSV_SHEET, row: line, cells });
    }
    // the data-item columns of every line; the join columns come from the resource columns
    const fc = new Map<string, string>();
    for (const c of CSV_FIELD_COLUMNS) if (cells.has(c.header)) fc.set(c.header, cells.get(c.header)!);
    if (cells.has(seqHeader)) fc.set(FIELD_COLUMNS[0].header, cells.get(seqHeader)!);
    else if (cells.has(nameHeader)) fc.set(FIELD_COLUMNS[1].header, cells.get(nameHeader)!);
    if (CSV_FIELD_COLUMNS.some((c) => fc.has(c.header)))
      fields.push({ sheet: CSV_SHEET, row: line, cells: fc });
  }
  if (resources.length > IMPORT_MAX_RESOURCES)
    throw tooLarge(
      `the file describes ${resources.length} resources; at most ${IMPORT_MAX_RESOURCES} per import`,
      `文件包含 ${resources.length} 个信息资源，单次导入最多 ${IMPORT_MAX_RESOURCES} 个，请拆分文件`,
    );
  const all = [...RESOURCE_COLUMNS, ...CSV_FIELD_COLUMNS].filter((c) => c.required && c.prop);
  return {
    format: 'csv',
    resources,
    fields,
    problems: missingColumns(CSV_SHEET, headers, all).map((p) => ({ ...p, row: h + 1 })),
  };
}

// ---- rows → registration inputs, with every problem located ----

interface Candidate {
  loc: Loc;
  cells: Map<string, string>;
  input: Record<string, unknown>;
  sectionName: string | null;
  fields: { loc: Loc; cells: Map<string, string> }[];
}

function fill(
  columns: Column[],
  cells: Map<string, string>,
  loc: Loc,
  out: Record<string, unknown>,
  problems: ImportProblem[],
) {
  for (const c of columns) {
    if (!c.prop) continue;
    const t = cells.get(c.header);
    if (t === undefined) continue;
    const p = c.codec.parse(t);
    if ('problem' in p)
      problems.push({ ...loc, column: c.header, value: t, code: 'VALIDATION_FAILED', ...p.problem });
    else out[c.prop] = p.value;
  }
}

function candidates(s: Sheets): { list: Candidate[]; problems: ImportProblem[] } {
  const problems: ImportProblem[] = [];
  const list: Candidate[] = [];
  const bySeq = new Map<string, Candidate>();
  const byName = new Map<string, Candidate>();
  const seqH = RESOURCE_COLUMNS[0].header;
  for (const r of s.resources) {
    const input: Record<string, unknown> = {};
    fill(RESOURCE_COLUMNS, r.cells, r, input, problems);
    const c: Candidate = {
      loc: { sheet: r.sheet, row: r.row },
      cells: r.cells,
      input,
      sectionName: (input.sectionName as string | undefined) ?? null,
      fields: [],
    };
    delete input.sectionName;
    const seq = r.cells.get(seqH);
    if (seq !== undefined) {
      if (bySeq.has(seq))
        problems.push({
          ...c.loc,
          column: seqH,
          value: seq,
          code: 'VALIDATION_FAILED',
          reason: `序号 ${seq} is used by row ${bySeq.get(seq)!.loc.row} already`,
          reasonZh: `序号 ${seq} 与第 ${bySeq.get(seq)!.loc.row} 行重复`,
        });
      else bySeq.set(seq, c);
    }
    const name = r.cells.get(RESOURCE_COLUMNS[2].header);
    if (name && !byName.has(name)) byName.set(name, c);
    list.push(c);
  }
  for (const f of s.fields) {
    const seq = f.cells.get(FIELD_COLUMNS[0].header);
    const name = f.cells.get(FIELD_COLUMNS[1].header);
    const owner = seq !== undefined ? bySeq.get(seq) : name !== undefined ? byName.get(name) : undefined;
    if (!owner) {
      problems.push({
        sheet: f.sheet,
        row: f.row,
        column: seq !== undefined || name === undefined ? FIELD_COLUMNS[0].header : FIELD_COLUMNS[1].header,
        value: seq ?? name ?? null,
        code: 'VALIDATION_FAILED',
        reason:
          (seq ?? name)
            ? `no resource row with 序号 / name "${seq ?? name}"`
            : 'say which resource the data item belongs to (资源序号)',
        reasonZh:
          (seq ?? name) ? `找不到序号或名称为“${seq ?? name}”的信息资源` : '须填写所属信息资源的资源序号',
      });
      continue;
    }
    owner.fields.push({ loc: { sheet: f.sheet, row: f.row }, cells: f.cells });
  }
  for (const c of list) {
    c.input.fields = c.fields.map((f) => {
      const out: Record<string, unknown> = {};
      fill(FIELD_COLUMNS, f.cells, f.loc, out, problems);
      return out;
    });
  }
  return { list, problems };
}

/** Where a registration problem (`fields[2].code`, `legalBasis`, Ajv's `/fields/2/code`) sits in the file. */
function locate(c: Candidate, path: string): { loc: Loc; column: string | null; value: string | null } {
  const m = /^\/?fields(?:\[|\/)(\d+)\]?(?:[./](\w+))?/.exec(path);
  if (m) {
    const f = c.fields[Number(m[1])];
    const col = FIELD_COLUMNS.find((x) => x.prop === m[2]) ?? null;
    if (f)
      return {
        loc: f.loc,
        column: col?.header ?? null,
        value: col ? (f.cells.get(col.header) ?? null) : null,
      };
  }
  const prop = path.replace(/^\//, '').split(/[./[]/)[0];
  if (prop === 'fields') {
    const key = FIELD_COLUMNS.find((x) => x.prop === 'isKey')!;
    return { loc: c.fields[0]?.loc ?? c.loc, column: c.fields.length ? key.header : null, value: null };
  }
  const col = RESOURCE_COLUMNS.find((x) => x.prop === (prop === 'sectionId' ? 'sectionName' : prop)) ?? null;
  return { loc: c.loc, column: col?.header ?? null, value: col ? (c.cells.get(col.header) ?? null) : null };
}

function located(c: Candidate, code: string, d: ErrorDetail): ImportProblem {
  const { loc, column, value } = locate(c, d.field ?? '');
  return {
    sheet: loc.sheet,
    row: loc.row,
    column,
    value,
    code,
    field: d.field,
    reason: d.reason,
    reasonZh: d.reasonZh,
  };
}

/**
 * The registration route's checks: its JSON schema, the profile's share rules and the shape rules. The share rules
 * read only resource-level values, so they run even when the schema found something else (the officer sees every
 * problem of the row at once); the shape rules need well-typed fields and run only after the schema passed.
 */
function checkCandidate(ctx: AppContext, c: Candidate): ImportProblem[] {
  const validate = schemaValidator();
  const out: ImportProblem[] = [];
  const schemaOk = validate(c.input);
  if (!schemaOk) {
    const errs = validate.errors ?? [];
    const zh = errs.map((e) => ({ ...e }));
    localizeZh(zh);
    errs.forEach((e, i) => {
      const p = e.params as { missingProperty?: string; additionalProperty?: string };
      const extra = p.missingProperty ?? p.additionalProperty;
      const path = `${e.instancePath}${extra ? `/${extra}` : ''}`;
      out.push(
        located(c, 'VALIDATION_FAILED', {
          field: path
            .replace(/^\//, '')
            .replace(/\/(\d+)/g, '[$1]')
            .replace(/\//g, '.'),
          reason: e.message ?? 'invalid',
          reasonZh: e.keyword === 'x-trim' ? '不能为空白' : (zh[i].message ?? undefined),
        }),
      );
    });
  }
  const input = c.input as unknown as ResourceInput;
  const rules = checkShareRules(input, ctx.profile);
  const code = shareRuleErrorCode(rules);
  out.push(...rules.map((d) => located(c, code, d)));
  if (schemaOk) out.push(...checkShape(input).map((d) => located(c, 'VALIDATION_FAILED', d)));
  return out;
}

const SHEET_ORDER = [RESOURCE_SHEET, FIELD_SHEET, CSV_SHEET];
const sortProblems = (a: ImportProblem, b: ImportProblem) =>
  SHEET_ORDER.indexOf(a.sheet) - SHEET_ORDER.indexOf(b.sheet) || (a.row ?? 0) - (b.row ?? 0);

/**
 * Imports a department's catalog from an .xlsx (1272 template) or a CSV (UTF-8, UTF-8 BOM, GBK/GB18030). Either every
 * resource is registered (as a draft, or submitted) in one transaction, or nothing is and CATALOG_IMPORT_INVALID lists
 * every problem with sheet, row, column, value and code.
 */
export async function importCatalog(
  ctx: AppContext,
  actor: Actor,
  bytes: Uint8Array,
  opts: { submit?: boolean; filename?: string | null } = {},
) {
  if (!canRegisterResource(actor))
    throw new AppError('FORBIDDEN', [
      {
        reason: 'only a data officer registers resources (DG Art 9)',
        reasonZh: '只有数据专员可以登记资源（DG Art 9）',
      },
    ]);
  checkUploadSize(ctx, bytes.byteLength);
  const isZip =
    bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 3 && bytes[3] === 4;
  const sheets = isZip ? await readXlsx(bytes) : readCsv(bytes);
  if (sheets.problems.length) throw new AppError('CATALOG_IMPORT_INVALID', sheets.problems);
  const { list, problems } = candidates(sheets);
  if (!list.length)
    throw new AppError('CATALOG_IMPORT_INVALID', [
      {
        sheet: sheets.format === 'csv' ? CSV_SHEET : RESOURCE_SHEET,
        reason: 'the file has no resource rows',
        reasonZh: '文件中没有信息资源行',
      } as ErrorDetail,
    ]);
  // sections by name, of the importing department only
  const sections = await ctx.db
    .selectFrom('section')
    .select(['id', 'name'])
    .where('org_id', '=', actor.orgId)
    .execute();
  const sectionCol = RESOURCE_COLUMNS.find((c) => c.prop === 'sectionName')!;
  for (const c of list) {
    if (!c.sectionName) continue;
    const s = sections.find((x) => x.name === c.sectionName);
    if (s) c.input.sectionId = s.id;
    else
      problems.push({
        ...c.loc,
        column: sectionCol.header,
        value: c.sectionName,
        code: 'VALIDATION_FAILED',
        field: 'sectionId',
        reason: `"${c.sectionName}" is not a section of your organisation`,
        reasonZh: `“${c.sectionName}”不是本单位的科室`,
      });
  }
  // one line per cell: a cell that could not be read is not reported again as "missing" by the schema
  const at = new Set(problems.map((p) => `${p.sheet}|${p.row}|${p.column}`));
  for (const c of list)
    for (const p of checkCandidate(ctx, c)) {
      const k = `${p.sheet}|${p.row}|${p.column}`;
      if (p.column && at.has(k)) continue;
      at.add(k);
      problems.push(p);
    }
  if (problems.length) throw new AppError('CATALOG_IMPORT_INVALID', problems.sort(sortProblems));

  const created = await inTx(ctx.db, async (trx) => {
    const txCtx = { ...ctx, db: trx };
    const out: { id: number; code: string; name: string; status: string; row: number }[] = [];
    for (const c of list) {
      try {
        const r = await registerResource(txCtx, actor, c.input as unknown as ResourceInput, {
          submit: opts.submit,
        });
        out.push({ id: r.id, code: r.code, name: r.name, status: r.status, row: c.loc.row });
      } catch (e) {
        if (!(e instanceof AppError)) throw e;
        throw new AppError(
          'CATALOG_IMPORT_INVALID',
          (e.details.length ? e.details : [{ reason: e.messageEn, reasonZh: e.message }]).map((d) =>
            located(c, e.code, d),
          ),
        );
      }
    }
    await appendAudit(trx, {
      action: 'catalog.import',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      targetType: 'catalog',
      clientIp: actor.clientIp,
      detail: {
        format: sheets.format,
        filename: opts.filename?.slice(0, 255) ?? null,
        resources: out.length,
        fields: list.reduce((n, c) => n + c.fields.length, 0),
        submitted: !!opts.submit,
        codes: out.map((o) => o.code),
      },
    });
    return out;
  });
  return { format: sheets.format, created };
}

// ---- writing workbooks ----

function styleHeader(ws: ExcelJS.Worksheet, columns: Column[], title: string) {
  ws.columns = columns.map((c) => ({ width: c.width }));
  ws.addRow([title]);
  ws.mergeCells(1, 1, 1, columns.length);
  ws.getRow(1).font = { bold: true, size: 13 };
  const h = ws.addRow(columns.map((c) => c.header));
  h.font = { bold: true };
  h.eachCell((cell, col) => {
    cell.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFDDEBF7' } };
    if (columns[col - 1].required) cell.font = { bold: true, color: { argb: 'FFC00000' } };
  });
  ws.views = [{ state: 'frozen', ySplit: 2 }];
}

function addLists(ws: ExcelJS.Worksheet, columns: Column[], rows: number) {
  columns.forEach((c, i) => {
    if (!c.codec.list?.length || !c.prop) return;
    const letter = ws.getColumn(i + 1).letter;
    const formula = `"${c.codec.list.join(',')}"`;
    (
      ws as unknown as { dataValidations: { add(range: string, v: ExcelJS.DataValidation): void } }
    ).dataValidations.add(`${letter}${FIRST_DATA_ROW}:${letter}${FIRST_DATA_ROW + rows}`, {
      type: 'list',
      allowBlank: true,
      formulae: [formula],
      showErrorMessage: true,
      errorTitle: c.header,
      error: `请从下拉列表中选择：${c.codec.list.join('、')}`,
    });
  });
}

/** Rows as written: the resource's properties (+ seq, code, provider, status, section name) and its fields. */
export interface ExportResource {
  values: Record<string, unknown>;
  fields: Record<string, unknown>[];
}

const cellOf = (c: Column, v: Record<string, unknown>) => c.codec.format(v[c.exportKey ?? c.prop ?? '']);

/** The 1272 workbook: 信息资源 + 信息项 sheets with drop-down lists, and a sheet explaining the columns. */
export async function writeWorkbook(resources: ExportResource[], title = TEMPLATE_TITLE): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'govshare';
  const rs = wb.addWorksheet(RESOURCE_SHEET);
  const fs = wb.addWorksheet(FIELD_SHEET);
  styleHeader(rs, RESOURCE_COLUMNS, title);
  styleHeader(fs, FIELD_COLUMNS, `${title} — 信息项`);
  let fieldRows = 0;
  for (const r of resources) {
    rs.addRow(RESOURCE_COLUMNS.map((c) => cellOf(c, r.values)));
    for (const f of r.fields) {
      fs.addRow(FIELD_COLUMNS.map((c) => cellOf(c, f)));
      fieldRows++;
    }
  }
  addLists(rs, RESOURCE_COLUMNS, Math.max(resources.length, IMPORT_MAX_RESOURCES));
  addLists(fs, FIELD_COLUMNS, Math.max(fieldRows, 2_000));
  const help = wb.addWorksheet('填写说明');
  help.columns = [{ width: 16 }, { width: 12 }, { width: 70 }];
  help.addRow(['列', '必填', '说明 / 可选值']).font = { bold: true };
  for (const [sheet, cols] of [
    [RESOURCE_SHEET, RESOURCE_COLUMNS],
    [FIELD_SHEET, FIELD_COLUMNS],
  ] as const)
    for (const c of cols)
      help.addRow([
        `${sheet}：${c.header}`,
        c.required ? '是' : '',
        c.prop === null && c.header !== '序号' && c.header !== '资源序号' && c.header !== '信息资源名称'
          ? '导出时填写，导入时忽略（资源代码由平台按 GB/T 21063.5 生成）'
          : (c.codec.list?.join('、') ?? ''),
      ]);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** The downloadable template: headers, drop-down lists and one filled example. */
export function templateWorkbook(): Promise<Buffer> {
  return writeWorkbook([{ values: EXAMPLE_RESOURCE, fields: EXAMPLE_FIELDS }]);
}

/** The import's problem list as a workbook the officer can fix the file from. */
export async function problemWorkbook(problems: Partial<ImportProblem>[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('导入错误报告');
  ws.columns = [
    { header: '工作表', width: 10 },
    { header: '行号', width: 8 },
    { header: '列', width: 16 },
    { header: '单元格内容', width: 24 },
    { header: '错误代码', width: 22 },
    { header: '错误说明', width: 60 },
    { header: 'Reason', width: 60 },
  ];
  ws.getRow(1).font = { bold: true };
  for (const p of problems)
    ws.addRow([
      p.sheet ?? '',
      p.row ?? '',
      p.column ?? '',
      p.value ?? '',
      p.code ?? '',
      p.reasonZh ?? p.reason ?? '',
      p.reason ?? '',
    ]);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

// ---- export ----

export type ExportQuery = Omit<ListResourcesQuery, 'page' | 'pageSize'>;

/**
 * The catalog search's view (same filters, facets, status and visibility: catalog/search `searchResources`, so an
 * entry the caller cannot see never appears) as resources + fields, in the search's order. Bounded by
 * EXPORT_MAX_RESOURCES (a larger view is refused, not cut); audited with the filter and row count in the same
 * transaction as the reads.
 */
export async function exportCatalog(ctx: AppContext, actor: Actor, f: ExportQuery, format: 'xlsx' | 'csv') {
  const filters: SearchInput['filters'] = {};
  for (const k of FACET_KEYS) if (f[k]?.length) filters[k] = f[k];
  if (f.providerOrgId) filters.provider = [...(filters.provider ?? []), f.providerOrgId];
  return inTx(ctx.db, async (trx) => {
    const r = await searchResources(trx, {
      q: f.q,
      filters,
      classCode: f.classCode,
      sort: f.sort,
      page: 1,
      pageSize: EXPORT_MAX_RESOURCES,
      status: f.status,
      ownOrgId: seesAllSectionEntries(actor) ? null : actor.orgId,
      visibleLevels: levelsVisibleToAll(ctx.profile),
    });
    if (r.total > EXPORT_MAX_RESOURCES)
      throw new AppError('CATALOG_EXPORT_TOO_LARGE', [
        {
          reason: `${r.total} entries match; an export holds at most ${EXPORT_MAX_RESOURCES}: narrow the filters`,
          reasonZh: `符合条件的目录 ${r.total} 条，单次导出最多 ${EXPORT_MAX_RESOURCES} 条，请缩小筛选范围`,
        },
      ]);
    const ids = r.rows.map((x) => Number(x.id));
    const extra = ids.length
      ? await trx
          .selectFrom('resource as r')
          .leftJoin('section as s', 's.id', 'r.section_id')
          .select(['r.id', 'r.topic', 'r.legal_basis_kind', 's.name as section_name'])
          .where('r.id', 'in', ids)
          .execute()
      : [];
    const byId = new Map(extra.map((e) => [Number(e.id), e]));
    const fieldRows = ids.length
      ? await trx
          .selectFrom('resource_field')
          .selectAll()
          .where('resource_id', 'in', ids)
          .orderBy('resource_id')
          .orderBy('ordinal')
          .execute()
      : [];
    const fieldsOf = new Map<number, typeof fieldRows>();
    for (const fr of fieldRows) {
      const k = Number(fr.resource_id);
      fieldsOf.set(k, [...(fieldsOf.get(k) ?? []), fr]);
    }
    const resources: ExportResource[] = r.rows.map((row, i) => {
      const id = Number(row.id);
      const e = byId.get(id);
      const values = {
        seq: i + 1,
        code: row.code,
        name: row.name,
        summary: row.summary,
        classification: row.classification,
        topic: e?.topic ?? row.topic,
        catalogLevel: row.catalog_level,
        sectionName: e?.section_name ?? null,
        providerName: row.provider_name,
        shareType: row.share_type,
        shareConditions: row.share_conditions,
        legalBasis: row.legal_basis,
        legalBasisKind: e?.legal_basis_kind ?? null,
        shareMethod: row.share_method,
        openType: row.open_type,
        updateCycle: row.update_cycle,
        format: row.format,
        securityLevel: row.security_level,
        keywords: row.keywords,
        relatedCodes: row.related_codes,
        status: row.status,
      };
      const fields = (fieldsOf.get(id) ?? []).map((fr) => ({
        seq: i + 1,
        resourceName: row.name,
        name: fr.name,
        code: fr.code,
        type: fr.type,
        dataType: fr.data_type,
        length: fr.length,
        required: fr.required,
        isKey: fr.is_key,
        personal: fr.personal,
        sensitive: fr.sensitive,
        sensitivePersonal: fr.sensitive_personal,
        securityLevel: fr.security_level,
        masking: fr.masking,
        validator: fr.validator,
      }));
      return { values, fields };
    });
    const { page: _p, pageSize: _ps, ...filter } = f as ListResourcesQuery;
    await appendAudit(trx, {
      action: 'catalog.export',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      targetType: 'catalog',
      clientIp: actor.clientIp,
      rowsReturned: resources.length,
      detail: { format, rows: resources.length, filter },
    });
    if (format === 'xlsx') return writeWorkbook(resources);
    const lines: unknown[][] = [];
    for (const res of resources) {
      const head = RESOURCE_COLUMNS.map((c) => cellOf(c, res.values));
      const fs = res.fields.length ? res.fields : [{}];
      for (const fv of fs) lines.push([...head, ...CSV_FIELD_COLUMNS.map((c) => cellOf(c, fv))]);
    }
    return Buffer.from(toCsv(CSV_HEADER, lines), 'utf8');
  });
}
