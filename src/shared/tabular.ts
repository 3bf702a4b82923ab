import { PassThrough, Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';

/*
 * One writer for every table govshare hands out as a file: the data API's bulk export, the open portal's downloads and
 * the inventory lists. Rows arrive in batches from an async generator and leave as a stream in constant memory.
 */

/** A CSV cell's text before quoting and before the CSV-injection guard. */
export function csvText(v: unknown): string {
  if (v === null || v === undefined) return '';
  return Array.isArray(v) ? v.join('、') : v instanceof Date ? v.toISOString() : String(v);
}

/**
 * One CSV cell, quoted when needed (or when `quote` says so: the export watermark; an empty cell is never quoted); a
 * leading = + - @ tab or CR is prefixed with ' so Excel reads it as text.
 */
export function csvCell(v: unknown, quote = false): string {
  return csvCellOf(csvText(v), quote);
}

/** csvCell of a cell's text (csvText), for a writer that already has it. */
function csvCellOf(text: string, quote: boolean): string {
  let s = text;
  if (s === '') return '';
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return quote || /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** A whole small table as UTF-8 CSV with a BOM, so Excel opens Chinese text correctly. */
export function toCsv(header: string[], rows: unknown[][]): string {
  return `\uFEFF${[header, ...rows].map((r) => r.map((v) => csvCell(v)).join(',')).join('\r\n')}\r\n`;
}

export type TableFormat = 'csv' | 'ndjson' | 'json' | 'xlsx';

export interface TableStreamOptions {
  format: TableFormat;
  /** for csv only: GBK for old Excel installations, UTF-8 otherwise */
  encoding?: 'utf8' | 'gbk';
  /** for UTF-8 csv: lead with a byte-order mark */
  bom?: boolean;
  /** the record keys in column order, and the header text of each */
  columns: { key: string; header: string }[];
  /**
   * for csv only: whether to quote a data cell that needs no quotes, given its column key and its text (csvText, before
   * the injection guard): the export watermark (src/dataapi/watermark.ts). The header is never marked.
   */
  csvQuote?: (key: string, text: string) => boolean;
  /**
   * for ndjson only: whether to write one space after a member's colon (`"k": v` instead of `"k":v`), given its key and
   * value: the export watermark's JSON channel (whitespace, which no JSON reader returns).
   */
  jsonSpace?: (key: string, value: unknown) => boolean;
}

/**
 * Streams batches of records as a file. JSON and NDJSON write each record whole (its keys as they are); CSV and XLSX
 * write the columns in order. When the reader goes away, the batch generator is ended (its `finally` runs).
 */
export function tableStream(
  opts: TableStreamOptions,
  batches: AsyncGenerator<Record<string, unknown>[]>,
): Readable {
  if (opts.format === 'xlsx') return xlsxStream(opts.columns, batches);
  const { columns, format } = opts;
  async function* text() {
    if (format === 'ndjson') {
      const space = opts.jsonSpace;
      const line = space
        ? (rec: Record<string, unknown>) => {
            let out = '';
            for (const [k, v] of Object.entries(rec)) {
              const value = JSON.stringify(v);
              if (value === undefined) continue; // as JSON.stringify(rec) leaves it out
              out += `${out ? ',' : ''}${JSON.stringify(k)}:${space(k, v) ? ' ' : ''}${value}`;
            }
            return `{${out}}\n`;
          }
        : (rec: Record<string, unknown>) => `${JSON.stringify(rec)}\n`;
      for await (const batch of batches) yield batch.map(line).join('');
      return;
    }
    if (format === 'json') {
      yield '[';
      let first = true;
      for await (const batch of batches) {
        if (!batch.length) continue;
        yield (first ? '' : ',') + batch.map((rec) => JSON.stringify(rec)).join(',');
        first = false;
      }
      yield ']\n';
      return;
    }
    yield `${columns.map((c) => csvCell(c.header)).join(',')}\r\n`;
    const mark = opts.csvQuote;
    const keys = columns.map((c) => c.key);
    const line = (rec: Record<string, unknown>) => {
      let out = '';
      for (let i = 0; i < keys.length; i++) {
        const text = csvText(rec[keys[i]]);
        out += (i ? ',' : '') + csvCellOf(text, mark ? mark(keys[i], text) : false);
      }
      return `${out}\r\n`;
    };
    for await (const batch of batches) {
      let chunk = '';
      for (const rec of batch) chunk += line(rec);
      yield chunk;
    }
  }
  const gbk = format === 'csv' && opts.encoding === 'gbk';
  async function* bytes() {
    if (format === 'csv' && !gbk && opts.bom) yield Buffer.from([0xef, 0xbb, 0xbf]);
    for await (const s of text()) yield gbk ? iconv.encode(s, 'gbk') : Buffer.from(s, 'utf8');
  }
  return Readable.from(bytes());
}

/** XLSX through exceljs's streaming writer: rows committed as they come, waiting for the reader (drain). */
function xlsxStream(
  columns: { key: string; header: string }[],
  batches: AsyncGenerator<Record<string, unknown>[]>,
): Readable {
  const out = new PassThrough();
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: out,
    useStyles: false,
    useSharedStrings: false,
  });
  const ws = wb.addWorksheet('data');
  (async () => {
    ws.addRow(columns.map((c) => c.header)).commit();
    for await (const batch of batches) {
      if (out.destroyed) {
        await batches.return(undefined); // the reader went away: end the generator
        return;
      }
      for (const rec of batch) ws.addRow(columns.map((c) => rec[c.key] ?? null)).commit();
      if (out.writableNeedDrain) await new Promise((res) => out.once('drain', res));
    }
    ws.commit();
    await wb.commit();
  })().catch((e) => out.destroy(e as Error));
  return out;
}
