import fs from 'node:fs';
import ExcelJS from 'exceljs';
import type { ErrorDetail } from '../shared/errors.js';
import type { ReasonCode } from './model.js';

/**
 * Streaming readers: each yields the header first, then one record at a time, so memory stays flat in the file size.
 * A problem that makes the rest of the file unreadable (bad encoding, CSV syntax, oversized row) is thrown as a
 * SourceError carrying its code and row; row-level findings are left to validation.
 */
export class SourceError extends Error {
  constructor(readonly detail: ErrorDetail & { code: ReasonCode }) {
    super(detail.reason);
  }
}

export type IngestFormat = 'csv' | 'ndjson' | 'json' | 'xlsx' | 'push';

/** A record: cells in header order, or (NDJSON/JSON) one object; `row` is the 1-based data row (header = 0). */
export type RawRecord = { row: number; cells: string[] } | { row: number; object: unknown };

/** Longest record a reader accepts (characters): a bigger one is refused as ROW_TOO_LARGE, not buffered further. */
export const MAX_RECORD_CHARS = 16 * 1024 * 1024;

export type Encoding = 'utf-8' | 'gb18030';

/**
 * Department exports from Excel are often GBK/GB18030. The first 64 KiB decide: a UTF-8 BOM or valid UTF-8 means
 * UTF-8 (decoded strictly to the end: a later invalid byte is an ENCODING error with its row), anything else GB18030
 * (a superset of GBK and GB2312).
 */
export function detectEncoding(sample: Uint8Array): Encoding {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return 'utf-8';
  // a multi-byte sequence may be cut at the sample's end: drop up to 3 trailing bytes
  for (let cut = 0; cut <= 3 && cut < sample.length; cut++) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(sample.subarray(0, sample.length - cut));
      return 'utf-8';
    } catch {
      /* try a shorter prefix */
    }
  }
  return 'gb18030';
}

/** Reads at most `n` bytes from the start of a file. */
export function readHead(file: string, n = 64 * 1024): Uint8Array {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const got = fs.readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Decodes a byte stream. An invalid byte (a file that is UTF-8 at the start and GBK later) is located by its line:
 * row = line index, the header being row 0 (exact unless an earlier cell held a quoted line break).
 */
async function* decoded(input: AsyncIterable<Buffer>, encoding: Encoding, onBytes?: (n: number) => void) {
  const dec = new TextDecoder(encoding, { fatal: encoding === 'utf-8' });
  let lines = 0;
  const count = (s: string) => {
    for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) lines++;
  };
  let chunk: Buffer | null = null;
  try {
    for await (chunk of input) {
      onBytes?.(chunk.length);
      const text = dec.decode(chunk, { stream: true });
      count(text);
      yield text;
    }
    chunk = null;
    const tail = dec.decode();
    if (tail) yield tail;
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    const prefix = chunk ? new TextDecoder(encoding).decode(chunk).split('\uFFFD')[0] : '';
    count(prefix);
    throw new SourceError({
      row: lines,
      code: 'ENCODING',
      reason: `line ${lines + 1} is not valid ${encoding}: save the whole file as UTF-8 or GBK`,
      reasonZh: `第 ${lines + 1} 行不是有效的 ${encoding} 编码，请将整个文件统一保存为 UTF-8 或 GBK`,
    });
  }
}

/**
 * CSV records in batches (one per decoded chunk), parsed by a small RFC 4180 state machine: quoted cells with "" for a
 * quote and line breaks inside, CRLF or LF, empty lines skipped, a quote inside an unquoted cell or text after a closing
 * quote or an unterminated quote is a SYNTAX error, a record longer than MAX_RECORD_CHARS is ROW_TOO_LARGE (never
 * buffered further). Hand-written because the general-purpose parser (csv-parse) capped the whole import at ~70 k
 * rows/s; this one keeps up with COPY-based staging. Batches avoid one await per row.
 */
export async function* csvRecordBatches(
  input: AsyncIterable<Buffer>,
  encoding: Encoding,
  onBytes?: (n: number) => void,
): AsyncGenerator<RawRecord[]> {
  const p = new CsvParser();
  for await (const text of decoded(input, encoding, onBytes)) {
    const out = p.push(text);
    if (out.length) yield out;
  }
  const last = p.end();
  if (last.length) yield last;
}

/** One record at a time (small inputs, tests); the pipeline reads csvRecordBatches. */
export async function* csvRecords(
  input: AsyncIterable<Buffer>,
  encoding: Encoding,
  onBytes?: (n: number) => void,
): AsyncGenerator<RawRecord> {
  for await (const batch of csvRecordBatches(input, encoding, onBytes)) yield* batch;
}

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;
// parser states
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
const QUOTE_IN_QUOTED = 3;

/** `quoted` (when the parser tracks quoting): per cell, whether it was written in quotes. */
type CsvRecord = { row: number; cells: string[]; quoted?: boolean[] };

export class CsvParser {
  /**
   * `trackQuoting`: also report, per cell, whether it was quoted (leak tracing reads the export watermark from it,
   * src/dataapi/watermark.ts); off for imports, which only need the values.
   */
  constructor(private readonly trackQuoting = false) {}
  /** per cell of the current record, whether it was quoted (tracked only with trackQuoting) */
  private quotedCells: boolean[] = [];
  private state = FIELD_START;
  private cells: string[] = [];
  /** text of the current cell carried over from earlier chunks (and unescaped quotes) */
  private pending = '';
  /** characters of the current record in earlier chunks */
  private carried = 0;
  /** the current record has a quoted cell (so `""` alone on a line is a record, an empty line is not) */
  private quotedSeen = false;
  private row = -1;

  private syntax(what: string, whatZh: string): never {
    const at = this.row + 1;
    throw new SourceError({
      row: at,
      code: 'SYNTAX',
      reason: `CSV syntax near data row ${at}: ${what}`,
      reasonZh: `第 ${at} 行附近 CSV 格式错误：${whatZh}`,
    });
  }

  private tooLarge(): never {
    const at = this.row + 1;
    throw new SourceError({
      row: at,
      code: 'ROW_TOO_LARGE',
      reason: `data row ${at} is longer than ${MAX_RECORD_CHARS} characters`,
      reasonZh: `第 ${at} 行超过 ${MAX_RECORD_CHARS} 个字符`,
    });
  }

  private endRecord(out: CsvRecord[]) {
    const cells = this.cells;
    const quoted = this.quotedSeen;
    const flags = this.quotedCells;
    this.cells = [];
    this.carried = 0;
    this.quotedSeen = false;
    if (this.trackQuoting) this.quotedCells = [];
    // an empty line is skipped
    if (cells.length === 1 && cells[0] === '' && !quoted) return;
    this.row++;
    out.push(this.trackQuoting ? { row: this.row, cells, quoted: flags } : { row: this.row, cells });
  }

  push(text: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    const n = text.length;
    let state = this.state;
    let start = 0; // where the current cell's text starts in this chunk
    let recStart = 0;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (state === FIELD_START) {
        if (c === QUOTE) {
          state = QUOTED;
          this.quotedSeen = true;
          start = i + 1;
          continue;
        }
        start = i;
        state = UNQUOTED;
      }
      if (state === UNQUOTED) {
        if (c === COMMA) {
          this.cells.push(this.pending + text.slice(start, i));
          if (this.trackQuoting) this.quotedCells.push(false);
          this.pending = '';
          state = FIELD_START;
        } else if (c === LF || c === CR) {
          this.cells.push(this.pending + text.slice(start, i));
          if (this.trackQuoting) this.quotedCells.push(false);
          this.pending = '';
          state = FIELD_START;
          if (this.carried + i - recStart > MAX_RECORD_CHARS) this.tooLarge();
          this.endRecord(out);
          recStart = i + 1;
        } else if (c === QUOTE) this.syntax('a quote inside an unquoted cell', '未加引号的单元格中出现引号');
      } else if (state === QUOTED) {
        if (c === QUOTE) {
          this.pending += text.slice(start, i);
          state = QUOTE_IN_QUOTED;
        }
      } else if (c === QUOTE) {
        // "" inside quotes: one quote, the cell goes on
        this.pending += '"';
        start = i + 1;
        state = QUOTED;
      } else if (c === COMMA) {
        this.cells.push(this.pending);
        if (this.trackQuoting) this.quotedCells.push(true);
        this.pending = '';
        state = FIELD_START;
      } else if (c === LF || c === CR) {
        this.cells.push(this.pending);
        if (this.trackQuoting) this.quotedCells.push(true);
        this.pending = '';
        state = FIELD_START;
        if (this.carried + i - recStart > MAX_RECORD_CHARS) this.tooLarge();
        this.endRecord(out);
        recStart = i + 1;
      } else this.syntax('text after a closing quote', '右引号后有多余字符');
    }
    // the chunk ends inside a cell: keep its text so far
    if (state === UNQUOTED || state === QUOTED) this.pending += text.slice(start);
    this.carried += n - recStart;
    if (this.carried > MAX_RECORD_CHARS) this.tooLarge();
    this.state = state;
    return out;
  }

  end(): CsvRecord[] {
    const out: CsvRecord[] = [];
    if (this.state === QUOTED) this.syntax('a quote is not closed', '引号未闭合');
    if (this.state === UNQUOTED || this.state === QUOTE_IN_QUOTED) {
      this.cells.push(this.pending);
      if (this.trackQuoting) this.quotedCells.push(this.state === QUOTE_IN_QUOTED);
      this.pending = '';
      this.endRecord(out);
    } else if (this.cells.length) {
      // the last line ends with a comma: one more empty cell
      this.cells.push('');
      if (this.trackQuoting) this.quotedCells.push(false);
      this.endRecord(out);
    }
    this.state = FIELD_START;
    return out;
  }
}

/** One JSON value per line; the header is implied (the resource's field codes). Lines are never joined in memory. */
export async function* ndjsonRecords(
  input: AsyncIterable<Buffer>,
  onBytes?: (n: number) => void,
): AsyncGenerator<RawRecord> {
  let row = 0;
  let carry = '';
  const dec = new TextDecoder('utf-8', { fatal: true });
  function* lines(text: string, last: boolean) {
    carry += text;
    let i = carry.indexOf('\n');
    while (i >= 0) {
      const line = carry.slice(0, i);
      carry = carry.slice(i + 1);
      yield line;
      i = carry.indexOf('\n');
    }
    if (carry.length > MAX_RECORD_CHARS)
      throw new SourceError({
        row: row + 1,
        code: 'ROW_TOO_LARGE',
        reason: `line ${row + 1} is longer than ${MAX_RECORD_CHARS} characters`,
        reasonZh: `第 ${row + 1} 行超过 ${MAX_RECORD_CHARS} 个字符`,
      });
    if (last && carry) {
      const l = carry;
      carry = '';
      yield l;
    }
  }
  const emit = (line: string): RawRecord | null => {
    const t = line.trim();
    if (!t) return null;
    row++;
    try {
      return { row, object: JSON.parse(t) };
    } catch {
      return { row, object: undefined };
    }
  };
  try {
    for await (const chunk of input) {
      onBytes?.(chunk.length);
      for (const l of lines(dec.decode(chunk, { stream: true }), false)) {
        const r = emit(l);
        if (r) yield r;
      }
    }
    for (const l of lines(dec.decode(), true)) {
      const r = emit(l);
      if (r) yield r;
    }
  } catch (e) {
    if (e instanceof SourceError) throw e;
    if (e instanceof TypeError)
      throw new SourceError({
        row: row + 1,
        code: 'ENCODING',
        reason: `line ${row + 1} is not valid UTF-8 (NDJSON is UTF-8)`,
        reasonZh: `第 ${row + 1} 行不是有效的 UTF-8 编码（NDJSON 须为 UTF-8）`,
      });
    throw e;
  }
}

function cellText(v: ExcelJS.CellValue): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) {
    // Excel dates carry no zone: exceljs reads them as UTC; a midnight value is a date
    const iso = v.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
  }
  if (typeof v === 'object') {
    const o = v as unknown as Record<string, unknown>;
    if ('result' in o) return cellText(o.result as ExcelJS.CellValue);
    if ('richText' in o && Array.isArray(o.richText))
      return (o.richText as { text: string }[]).map((t) => t.text).join('');
    if ('text' in o) return String(o.text);
    if ('error' in o) return String(o.error);
    return '';
  }
  return String(v);
}

/** Cell references A1 → [row, col] (1-based). */
function ref(a1: string): [number, number] {
  const m = /^([A-Z]+)(\d+)$/.exec(a1)!;
  let col = 0;
  for (const ch of m[1]) col = col * 26 + (ch.charCodeAt(0) - 64);
  return [Number(m[2]), col];
}

/**
 * XLSX through exceljs's streaming reader. `sheet` picks a worksheet by name or 1-based position (default: the first);
 * the sheets seen are reported through `onSheets`. Merged cells: a merged area's value sits in its top-left cell and
 * the others arrive empty; the value is copied into every cell of the area (a district merged over several rows
 * belongs to each of them). Merge areas are read from the sheet's <mergeCells> as they stream past.
 */
export async function* xlsxRecords(
  file: string,
  sheet: string | null,
  onSheets?: (names: string[]) => void,
): AsyncGenerator<RawRecord> {
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(file, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    hyperlinks: 'ignore',
    styles: 'cache', // dates are numbers with a date style
    entries: 'ignore',
  });
  const seen: string[] = [];
  let found = false;
  let index = 0;
  for await (const ws of reader as unknown as AsyncIterable<
    AsyncIterable<ExcelJS.Row> & { name?: string; id?: number }
  >) {
    index++;
    const name = ws.name ?? `Sheet${index}`;
    seen.push(name);
    const pick = sheet === null ? index === 1 : sheet === name || sheet === String(index);
    if (!pick || found) {
      for await (const _ of ws) {
        /* drain */
      }
      continue;
    }
    found = true;
    let row = -1;
    let width = 0;
    // last non-empty value per column, used for vertically merged cells (see mergedFill)
    for await (const r of ws) {
      const values = r.values as ExcelJS.CellValue[];
      const cells: string[] = [];
      for (let c = 1; c < values.length; c++) cells.push(cellText(values[c]));
      if (row === -1) width = cells.length;
      if (cells.every((c) => c.trim() === '')) continue;
      row++;
      while (cells.length < width && row > 0) cells.push('');
      yield { row, cells };
    }
  }
  onSheets?.(seen);
  if (!found)
    throw new SourceError({
      row: 0,
      code: 'SHEET_NOT_FOUND',
      reason: `the workbook has no sheet "${sheet}" (sheets: ${seen.join(', ').slice(0, 300)})`,
      reasonZh: `工作簿中没有名为“${sheet}”的工作表（现有：${seen.join('、').slice(0, 300)}）`,
    });
}
