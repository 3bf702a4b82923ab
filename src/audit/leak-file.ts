import { parse as parseCsv } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { sql } from 'kysely';
import { checkXlsxBounds, zipInflatedSize } from '../catalog/excel.js';
import type { Actor, AppContext } from '../context.js';
import { CELL_TAG_BYTES, cellTag, cellText } from '../dataapi/export.js';
import {
  anyText,
  carriesMark,
  JSON_WATERMARK_SCHEME,
  noEvidence,
  quotingUniform,
  WATERMARK_SCHEME,
  type WatermarkEvidence,
  watermarkEvidence,
} from '../dataapi/watermark.js';
import { decodeCsv } from '../ingest/model.js';
import { CsvParser, SourceError } from '../ingest/parse.js';
import { AppError } from '../shared/errors.js';
import { appendAudit } from './store.js';

/*
 * Leak tracing by file (溯源, issue 10 point 2; DG Art 28, 33). An auditor uploads a leaked file — CSV (UTF-8 or
 * GBK/GB18030), XLSX, JSON or NDJSON; possibly partial, with rows reordered or columns dropped or reordered — and
 * govshare ranks the exports, and the recipients behind them (app, consumer department, grant), that could have
 * produced it, with the evidence.
 *
 * How: the file's header names the columns (field codes, as every export writes them). For each export whose fields
 * include some of those columns, each file row is reduced to the tags of its identified cells in the export's field
 * order (the per-cell digests of the ledger, migration 032) and the export's ledger rows are searched for that
 * projection (through the view `data_export_ledger`, migration 047: the exploded per-row ledger and the batches not
 * exploded yet): a hit means the export delivered a row with exactly those values in those columns. Each identified
 * column is also checked alone (which of the file's values in that column the export delivered there). The file is
 * parsed in memory and dropped; the search is audited (`audit.leakTrace`) with a summary only (format, size, counts,
 * the best export) — nothing of the file's content is stored.
 */

/** At most this many data rows of a leaked file are searched (the rest are counted and ignored). */
export const LEAK_FILE_MAX_ROWS = 20_000;
/** At most this many columns; longer cells are cut (they cannot match a delivered cell anyway). */
export const LEAK_FILE_MAX_COLUMNS = 200;
const MAX_CELL = 4000;
/** Exports considered per search (most shared columns first, then newest) and exports answered. */
export const LEAK_FILE_MAX_CANDIDATES = 30;
const XLSX_MAX_INFLATED = 64 * 1024 * 1024;

export type LeakFileFormat = 'csv' | 'xlsx' | 'json' | 'ndjson';

export interface LeakTable {
  format: LeakFileFormat;
  encoding: string | null;
  headers: string[];
  rows: string[][];
  /** data rows in the file beyond LEAK_FILE_MAX_ROWS */
  skippedRows: number;
  /**
   * CSV only, aligned with `rows`: per cell, whether the file wrote it in quotes (the export watermark's channel); null
   * when the file is not CSV or not strict RFC 4180 (its quoting cannot be read reliably).
   */
  quoted: boolean[][] | null;
}

function unreadable(reason: string, reasonZh: string): AppError {
  return new AppError('VALIDATION_FAILED', [{ field: 'file', reason, reasonZh }]);
}

/** Undoes the CSV-injection guard of a delivered cell (csvCell prefixes ' to a leading = + - @ tab or CR). */
function deliveredText(cell: string): string {
  return /^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
}

function xlsxText(v: ExcelJS.CellValue): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') {
    if ('richText' in v) return v.richText.map((t) => t.text).join('');
    if ('text' in v) return String(v.text);
    if ('result' in v) return v.result === undefined ? '' : xlsxText(v.result as ExcelJS.CellValue);
    return JSON.stringify(v);
  }
  return String(v);
}

/** The index just past a JSON string starting at i (a quote), or -1. */
function stringEnd(line: string, i: number): number {
  for (let j = i + 1; j < line.length; j++) {
    const c = line[j];
    if (c === '\\') j++;
    else if (c === '"') return j + 1;
  }
  return -1;
}

const isWs = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';

/** The index just past a JSON value starting at i (string, object, array or literal), or -1. */
function valueEnd(line: string, i: number): number {
  const c = line[i];
  if (c === '"') return stringEnd(line, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < line.length; j++) {
      const d = line[j];
      if (d === '"') {
        j = stringEnd(line, j) - 1;
        if (j < 0) return -1;
      } else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  let j = i;
  while (j < line.length && line[j] !== ',' && line[j] !== '}' && !isWs(line[j])) j++;
  return j > i ? j : -1;
}

/**
 * Per top-level member of one NDJSON line (an object), whether whitespace follows its colon: the NDJSON watermark's
 * channel (src/dataapi/watermark.ts). Null when the line is not a flat scan of one object.
 */
export function memberSpacing(line: string): Map<string, boolean> | null {
  const out = new Map<string, boolean>();
  let i = 0;
  const ws = () => {
    while (isWs(line[i])) i++;
  };
  ws();
  if (line[i] !== '{') return null;
  i++;
  ws();
  if (line[i] === '}') return out;
  for (;;) {
    ws();
    if (line[i] !== '"') return null;
    const end = stringEnd(line, i);
    if (end < 0) return null;
    let key: string;
    try {
      key = JSON.parse(line.slice(i, end)) as string;
    } catch {
      return null;
    }
    i = end;
    ws();
    if (line[i] !== ':') return null;
    i++;
    const spaced = isWs(line[i]);
    ws();
    const v = valueEnd(line, i);
    if (v < 0) return null;
    out.set(key, spaced);
    i = v;
    ws();
    if (line[i] === ',') {
      i++;
      continue;
    }
    return line[i] === '}' ? out : null;
  }
}

function fromRecords(
  format: 'json' | 'ndjson',
  records: unknown[],
  spacing?: (Map<string, boolean> | null)[],
): LeakTable {
  const headers: string[] = [];
  const index = new Map<string, number>();
  const isRecord = (r: unknown): r is Record<string, unknown> =>
    !!r && typeof r === 'object' && !Array.isArray(r);
  const objs = records.filter(isRecord);
  const spaces = spacing ? spacing.filter((_, i) => isRecord(records[i])) : null;
  if (objs.length === 0) throw unreadable('the JSON holds no records (objects)', 'JSON 中没有记录（对象）');
  const kept = objs.slice(0, LEAK_FILE_MAX_ROWS);
  for (const o of kept)
    for (const k of Object.keys(o))
      if (!index.has(k) && headers.length < LEAK_FILE_MAX_COLUMNS) {
        index.set(k, headers.length);
        headers.push(k);
      }
  // a value nested thousands deep overflows the stack of JSON.stringify: a refusal naming the file, not a 500
  const cell = (v: unknown) => {
    try {
      return cellText(v).slice(0, MAX_CELL);
    } catch {
      throw unreadable('a value in the JSON is nested too deeply', 'JSON 中某个值的嵌套层级过深');
    }
  };
  const rows = kept.map((o) => headers.map((h) => (h in o ? cell(o[h]) : '')));
  // NDJSON: each member's spacing, when every kept line could be scanned
  const keptSpaces = spaces?.slice(0, kept.length) ?? [];
  const quoted =
    spaces && keptSpaces.every((m) => m !== null)
      ? keptSpaces.map((m) => headers.map((h) => m?.get(h) ?? false))
      : null;
  return { format, encoding: 'utf-8', headers, rows, skippedRows: objs.length - kept.length, quoted };
}

/** Reads a leaked file into a header and rows of cell texts, as the ledger hashed them. */
export async function readLeakFile(bytes: Buffer): Promise<LeakTable> {
  if (bytes.length === 0) throw unreadable('the file is empty', '文件为空');
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
    if (zipInflatedSize(bytes) > XLSX_MAX_INFLATED)
      throw unreadable(
        'the workbook inflates to more than 64 MiB (or is not a valid .xlsx)',
        '工作簿解压后超过 64 MiB（或不是有效的 .xlsx 文件）',
      );
    // the parts' real inflated size (a zip bomb declares small sizes), before ExcelJS builds anything; only that:
    // a leak's rows past LEAK_FILE_MAX_ROWS are skipped and counted, not refused
    checkXlsxBounds(
      bytes,
      {
        inflated: XLSX_MAX_INFLATED,
        otherXmlPart: Number.POSITIVE_INFINITY,
        cells: Number.POSITIVE_INFINITY,
        rows: Number.POSITIVE_INFINITY,
      },
      {
        tooLarge: unreadable,
        invalid: () => unreadable('not a readable .xlsx workbook', '无法读取该 .xlsx 工作簿'),
      },
    );
    const wb = new ExcelJS.Workbook();
    try {
      await wb.xlsx.load(bytes as unknown as ArrayBuffer);
    } catch {
      throw unreadable('not a readable .xlsx workbook', '无法读取该 .xlsx 工作簿');
    }
    const ws = wb.worksheets[0];
    if (!ws) throw unreadable('the workbook has no sheet', '工作簿中没有工作表');
    const grid: string[][] = [];
    ws.eachRow({ includeEmpty: false }, (row) => {
      const cells: string[] = [];
      row.eachCell({ includeEmpty: true }, (c, col) => {
        if (col <= LEAK_FILE_MAX_COLUMNS) cells[col - 1] = xlsxText(c.value).slice(0, MAX_CELL);
      });
      grid.push(Array.from(cells, (c) => c ?? ''));
    });
    return tableOf('xlsx', null, grid);
  }
  const { text, encoding } = decodeCsv(bytes);
  const body = text.replace(/^\uFEFF/, '');
  const first = body.trimStart()[0];
  if (first === '[' || first === '{') {
    try {
      if (first === '[') {
        const v = JSON.parse(body);
        if (Array.isArray(v)) return fromRecords('json', v);
      }
    } catch {
      /* not one JSON document: NDJSON below */
    }
    const records: unknown[] = [];
    const spacing: (Map<string, boolean> | null)[] = [];
    for (const line of body.split(/\r?\n/)) {
      if (!line.trim()) continue;
      try {
        records.push(JSON.parse(line));
      } catch {
        // a partial leak may cut the last line; any other bad line makes it not NDJSON
        continue;
      }
      spacing.push(memberSpacing(line));
      if (records.length > LEAK_FILE_MAX_ROWS) break;
    }
    return fromRecords('ndjson', records, spacing);
  }
  const csvEncoding = encoding === 'utf-8' ? 'utf-8' : 'gbk';
  // strict RFC 4180 first, with each cell's quoting (the watermark is read from it); a file that is not strict CSV is
  // read leniently below, and carries no readable watermark
  const strict = strictCsv(body);
  const countLines = () => body.split('\n').filter((l) => l.trim()).length;
  if (strict) {
    const t = tableOf(
      'csv',
      csvEncoding,
      strict.grid.map((r) => r.map(deliveredText)),
      strict.quoted,
    );
    // rows past the cap were not parsed: count them roughly by line (a quoted newline may count twice)
    return strict.truncated ? { ...t, skippedRows: Math.max(0, countLines() - 1 - t.rows.length) } : t;
  }
  let grid: string[][];
  try {
    grid = parseCsv(body, {
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      to: LEAK_FILE_MAX_ROWS + 1,
    }) as string[][];
  } catch {
    throw unreadable(
      'not a readable CSV, XLSX, JSON or NDJSON file',
      '无法识别的文件（支持 CSV、XLSX、JSON、NDJSON）',
    );
  }
  const lines = countLines();
  const t = tableOf(
    'csv',
    csvEncoding,
    grid.map((r) => r.map(deliveredText)),
  );
  // rows past the cap were not parsed: count them roughly by line (a quoted newline may count twice)
  return { ...t, skippedRows: Math.max(0, lines - 1 - t.rows.length) };
}

/**
 * The file through the ingest CSV parser with quoting tracked, or null when it is not strict RFC 4180. Fed in slices and
 * stopped after the rows that are compared (a large upload is not held as cells beyond the cap); `truncated` says so.
 */
function strictCsv(body: string): { grid: string[][]; quoted: boolean[][]; truncated: boolean } | null {
  const p = new CsvParser(true);
  const grid: string[][] = [];
  const quoted: boolean[][] = [];
  const take = (recs: { cells: string[]; quoted?: boolean[] }[]) => {
    for (const r of recs) {
      grid.push(r.cells);
      quoted.push(r.quoted ?? []);
    }
  };
  const SLICE = 1 << 20;
  try {
    for (let at = 0; at < body.length && grid.length <= LEAK_FILE_MAX_ROWS; at += SLICE)
      take(p.push(body.slice(at, at + SLICE)));
    if (grid.length > LEAK_FILE_MAX_ROWS) return { grid, quoted, truncated: true };
    take(p.end());
  } catch (e) {
    if (e instanceof SourceError) return null;
    throw e;
  }
  return { grid, quoted, truncated: false };
}

function tableOf(
  format: LeakFileFormat,
  encoding: string | null,
  grid: string[][],
  quoting?: boolean[][],
): LeakTable {
  if (grid.length === 0) throw unreadable('the file has no rows', '文件中没有数据行');
  const headers = grid[0].slice(0, LEAK_FILE_MAX_COLUMNS).map((h) => h.trim());
  const data = grid.slice(1, LEAK_FILE_MAX_ROWS + 1);
  const rows = data.map((r) => headers.map((_, i) => (r[i] ?? '').slice(0, MAX_CELL)));
  const quoted = quoting
    ? quoting.slice(1, LEAK_FILE_MAX_ROWS + 1).map((q) => headers.map((_, i) => q[i] ?? false))
    : null;
  return { format, encoding, headers, rows, skippedRows: Math.max(0, grid.length - 1 - data.length), quoted };
}

interface Candidate {
  id: number;
  app_id: number;
  app_name: string | null;
  org_id: number | null;
  org_name: string | null;
  grant_id: number;
  resource_id: number;
  resource_code: string | null;
  resource_name: string | null;
  purpose: string | null;
  format: string;
  fields: string[];
  row_count: number;
  started_at: Date;
  status: string;
  watermark: string | null;
}

const hexList = (tags: Iterable<string>) => [...tags];

/** The ledger's tags at these 1-based byte positions, concatenated: an SQL expression of trusted integers only. */
function projectionSql(positions: number[]) {
  return positions.map((p) => `substring(cell_tags from ${p} for ${CELL_TAG_BYTES})`).join(' || ');
}

export interface LeakFileSummary {
  filename?: string | null;
}

/**
 * Ranks the exports (and the apps behind them) that could have produced a leaked file, with the evidence. Audited.
 */
export async function traceLeakFile(ctx: AppContext, actor: Actor, bytes: Buffer) {
  const table = await readLeakFile(bytes);
  const { headers, rows } = table;
  const usedAt = rows.flatMap((r, i) => (r.some((c) => c !== '') ? [i] : []));
  const used = usedAt.map((i) => rows[i]);
  // the watermark's channel: each used row's quoting, and whether the whole file's quoting is uniform (re-saved)
  // (CSV: quoted cells; NDJSON: members with a space after the colon)
  const scheme =
    table.format === 'csv' ? WATERMARK_SCHEME : table.format === 'ndjson' ? JSON_WATERMARK_SCHEME : null;
  const eligible = table.format === 'ndjson' ? anyText : carriesMark;
  const quoting = table.quoted ? usedAt.map((i) => (table.quoted as boolean[][])[i]) : null;
  const uniform = quoting
    ? quotingUniform(
        used.flatMap((r, i) =>
          r.flatMap((text, c) => (text.length >= MAX_CELL ? [] : [{ text, quoted: quoting[i][c] }])),
        ),
        eligible,
      )
    : true;
  const norm = headers.map((h) => h.trim());
  const named = [...new Set(norm.filter(Boolean))];
  const candidates = named.length
    ? (
        await sql<Candidate>`
          SELECT e.id, e.app_id, app.name AS app_name, e.org_id, org.name AS org_name, e.grant_id, e.resource_id,
            res.code AS resource_code, res.name AS resource_name, e.purpose, e.format, e.fields, e.row_count,
            e.started_at, e.status, e.watermark
          FROM data_export e
          LEFT JOIN app ON app.id = e.app_id LEFT JOIN org ON org.id = e.org_id
          LEFT JOIN resource res ON res.id = e.resource_id
          WHERE e.fields && ${named}::text[] AND e.row_count > 0
          ORDER BY cardinality(ARRAY(SELECT unnest(e.fields) INTERSECT SELECT unnest(${named}::text[]))) DESC,
            e.started_at DESC, e.id DESC
          LIMIT ${LEAK_FILE_MAX_CANDIDATES}
        `.execute(ctx.db)
      ).rows
    : [];

  const results = [];
  for (const e of candidates) {
    // the file's columns that are fields of this export, in the export's field order
    const mapped = e.fields
      .map((f, pos) => ({ field: f, pos, col: norm.indexOf(f) }))
      .filter((m) => m.col >= 0);
    if (mapped.length === 0) continue;
    const positions = mapped.map((m) => m.pos * CELL_TAG_BYTES + 1);
    // each file row as the tags of its identified cells; rows whose identified cells are all empty prove nothing
    const projections = used.map((r) =>
      mapped.every((m) => r[m.col] === '')
        ? null
        : mapped.map((m) => cellTag(ctx.secret, m.field, r[m.col])).join(''),
    );
    const wanted = new Set(projections.filter((p): p is string => p !== null));
    const hits = wanted.size
      ? await sql<{ p: string; n: number }>`
          SELECT encode(t.p, 'hex') AS p, count(*)::int AS n
          FROM (SELECT ${sql.raw(projectionSql(positions))} AS p
                FROM data_export_ledger WHERE export_id = ${e.id} AND cell_tags IS NOT NULL) t
          WHERE t.p IN (SELECT decode(h, 'hex') FROM unnest(${hexList(wanted)}::text[]) h)
          GROUP BY t.p
        `.execute(ctx.db)
      : { rows: [] };
    const found = new Set(hits.rows.map((h) => h.p));
    const explained = new Set<number>();
    projections.forEach((p, i) => {
      if (p !== null && found.has(p)) explained.add(i);
    });
    // each identified column alone: which of the file's values did this export deliver in that column?
    const columns = [];
    for (const m of mapped) {
      const tags = new Map<string, number>();
      for (const r of used)
        if (r[m.col] !== '') {
          const t = cellTag(ctx.secret, m.field, r[m.col]);
          tags.set(t, (tags.get(t) ?? 0) + 1);
        }
      let rowsMatched = 0;
      if (tags.size) {
        const got = await sql<{ t: string }>`
          SELECT DISTINCT encode(t.t, 'hex') AS t
          FROM (SELECT substring(cell_tags from ${m.pos * CELL_TAG_BYTES + 1}::int for ${CELL_TAG_BYTES}::int) AS t
                FROM data_export_ledger WHERE export_id = ${e.id} AND cell_tags IS NOT NULL) t
          WHERE t.t IN (SELECT decode(h, 'hex') FROM unnest(${hexList(tags.keys())}::text[]) h)
        `.execute(ctx.db);
        for (const g of got.rows) rowsMatched += tags.get(g.t) ?? 0;
      }
      const filled = used.filter((r) => r[m.col] !== '').length;
      columns.push({ field: m.field, fileRows: filled, rowsMatched });
    }
    // the watermark: the file's quoting of this export's columns against the export's keyed prediction
    let watermark: WatermarkEvidence;
    if (e.watermark !== WATERMARK_SCHEME && e.watermark !== JSON_WATERMARK_SCHEME)
      watermark = noEvidence('notWatermarked');
    else if (!quoting || e.watermark !== scheme) watermark = noEvidence('unreadable');
    else {
      const q = quoting;
      watermark = watermarkEvidence(
        ctx.secret,
        Number(e.id),
        (function* () {
          for (let i = 0; i < used.length; i++)
            for (const m of mapped) {
              const text = used[i][m.col];
              if (text.length < MAX_CELL) yield { field: m.field, text, quoted: q[i][m.col] };
            }
        })(),
        uniform,
        eligible,
      );
    }
    results.push({
      e,
      explained,
      columns,
      watermark,
      missingColumns: named.filter((h) => !e.fields.includes(h)),
    });
  }
  const marked = (r: { watermark: WatermarkEvidence }) => (r.watermark.verdict === 'match' ? 1 : 0);
  // a matching watermark first (it names the one export the file was written from), then rows explained
  results.sort(
    (a, b) =>
      marked(b) - marked(a) ||
      b.explained.size - a.explained.size ||
      a.missingColumns.length - b.missingColumns.length ||
      b.columns.reduce((s, c) => s + c.rowsMatched, 0) - a.columns.reduce((s, c) => s + c.rowsMatched, 0) ||
      b.e.started_at.getTime() - a.e.started_at.getTime() ||
      Number(b.e.id) - Number(a.e.id),
  );
  const exportsOut = results
    .filter((r) => r.explained.size > 0 || r.columns.some((c) => c.rowsMatched > 0) || marked(r) === 1)
    .map((r) => ({
      exportId: Number(r.e.id),
      app: { id: r.e.app_id, name: r.e.app_name },
      consumerOrg: r.e.org_id === null ? null : { id: r.e.org_id, name: r.e.org_name },
      grantId: r.e.grant_id,
      resource: { id: r.e.resource_id, code: r.e.resource_code, name: r.e.resource_name },
      purpose: r.e.purpose,
      format: r.e.format,
      fields: r.e.fields,
      rowCount: Number(r.e.row_count),
      startedAt: r.e.started_at,
      status: r.e.status,
      rowsExplained: r.explained.size,
      share: used.length ? r.explained.size / used.length : 0,
      matchedColumns: r.columns.filter((c) => c.rowsMatched > 0).map((c) => c.field),
      columns: r.columns,
      columnsNotInExport: r.missingColumns,
      watermark: r.watermark,
      sampleRows: [...r.explained].slice(0, 10).map((i) => usedAt[i] + 2),
      fieldNames: {} as Record<string, string>,
    }));
  // recipients: an app (with its consumer department) ranked by the file rows any of its exports explains
  const byApp = new Map<number, { exps: typeof results; rows: Set<number> }>();
  for (const r of results) {
    if (r.explained.size === 0 && marked(r) === 0) continue;
    const a = byApp.get(r.e.app_id) ?? { exps: [], rows: new Set<number>() };
    a.exps.push(r);
    for (const i of r.explained) a.rows.add(i);
    byApp.set(r.e.app_id, a);
  }
  const recipients = [...byApp.values()]
    .map((a) => ({
      app: { id: a.exps[0].e.app_id, name: a.exps[0].e.app_name },
      consumerOrg:
        a.exps[0].e.org_id === null ? null : { id: a.exps[0].e.org_id, name: a.exps[0].e.org_name },
      grantIds: [...new Set(a.exps.map((x) => x.e.grant_id))],
      exportIds: a.exps.map((x) => Number(x.e.id)),
      rowsExplained: a.rows.size,
      share: used.length ? a.rows.size / used.length : 0,
      watermarkMatch: a.exps.some((x) => marked(x) === 1),
    }))
    .sort((x, y) => Number(y.watermarkMatch) - Number(x.watermarkMatch) || y.rowsExplained - x.rowsExplained);

  // the fields by their names (the console shows no codes)
  const resIds = [...new Set(exportsOut.map((x) => x.resource.id))];
  const names = resIds.length
    ? await ctx.db
        .selectFrom('resource_field')
        .select(['resource_id', 'code', 'name'])
        .where('resource_id', 'in', resIds)
        .execute()
    : [];
  const fieldName = new Map(names.map((n) => [`${n.resource_id}\n${n.code}`, n.name]));
  // the export's fields and the file's columns it did not contain (a field of the resource it did not deliver, named
  // like every field; a column that is no field of the resource keeps the file's own header text)
  for (const x of exportsOut)
    x.fieldNames = Object.fromEntries(
      [...x.fields, ...x.columnsNotInExport].map((f) => [f, fieldName.get(`${x.resource.id}\n${f}`) ?? f]),
    );
  const top = exportsOut[0];
  await appendAudit(ctx.db, {
    actorUserId: actor.id,
    actorOrgId: actor.orgId,
    action: 'audit.leakTrace',
    decision: 'allow',
    targetType: 'data_export',
    targetId: top ? top.exportId : null,
    appId: top ? top.app.id : null,
    rowsReturned: exportsOut.length,
    clientIp: actor.clientIp,
    // a summary only: nothing of the file's content
    detail: {
      byFile: true,
      format: table.format,
      bytes: bytes.length,
      fileRows: used.length,
      fileColumns: headers.length,
      candidates: candidates.length,
      topShare: top ? Math.round(top.share * 1000) / 1000 : 0,
      watermarkMatches: exportsOut.filter((x) => x.watermark.verdict === 'match').length,
    },
  });
  return {
    file: {
      format: table.format,
      encoding: table.encoding,
      rows: used.length,
      skippedRows: table.skippedRows,
      columns: headers,
    },
    recipients,
    exports: exportsOut,
    candidatesSearched: candidates.length,
    truncated: candidates.length >= LEAK_FILE_MAX_CANDIDATES,
  };
}
