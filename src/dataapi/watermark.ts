import { createHmac } from 'node:crypto';
import { prefixedHash } from '../shared/secrets.js';

/*
 * The per-recipient watermark of CSV exports (issue 10 point 2): keyed CSV quoting. RFC 4180 lets a cell that needs no
 * quotes be written either bare (`abc`) or quoted (`"abc"`); both read back as the identical value. For every cell of a
 * watermarked export that is not empty and needs no quotes, one keyed bit of (export, field, cell text) decides which
 * form is written:
 *
 *   bit = lowest bit of the first byte of SHA-256(k ‖ export id ‖ "\n" ‖ field code ‖ "\n" ‖ cell text)
 *   k   = HMAC-SHA256(platform secret, "govshare csv watermark/1")        (32 bytes, fixed length)
 *
 * The bit depends only on the cell itself, so reordering rows or columns, dropping columns or keeping a part of the file
 * leaves every remaining cell's bit readable. Empty cells are never quoted (a quoted empty cell is an empty string, a
 * bare one NULL for PostgreSQL COPY), and cells that need quotes (a comma, quote or line break) carry no bit. The secret
 * never leaves the server: without it the quoting pattern is indistinguishable from coin flips.
 *
 * Detection (src/audit/leak-file.ts): the uploaded CSV's quoting is read per cell (src/ingest/parse.ts CsvParser with
 * quoting tracked) and compared with each candidate export's prediction, counted once per distinct (field, text) —
 * repeated values carry the same bit and are no new evidence. A file that is not from the export matches about half;
 * the one it came from matches all. A binomial test gives the chance that a file not from the export matches as well.
 */

/** The scheme as recorded on each watermarked export (data_export.watermark). */
export const WATERMARK_SCHEME = 'csv-quote/1';
/**
 * NDJSON's channel: one space after a member's colon (`"k": v`) or none (`"k":v`), by the same keyed bit of (export,
 * field, cell text). Whitespace is never part of a JSON value, so every member carries a bit, empty and null ones too.
 */
export const JSON_WATERMARK_SCHEME = 'json-space/1';

/** Every member of an NDJSON record carries the mark. */
export const anyText = (_text: string) => true;

/**
 * Per secret and export, the message's fixed start k ‖ export id ‖ "\n". Each cell's bit is the JavaScript SHA-256 of
 * it and the cell (src/shared/digest.ts, equal to node:crypto's for every input): a native hash object copied per cell
 * cost ≈ 2 µs more, paid on the export thread for every distinct marked cell.
 */
const bases = new WeakMap<Buffer, Map<number, Buffer>>();

function exportBase(secret: Buffer, exportId: number): Buffer {
  let m = bases.get(secret);
  if (!m) {
    m = new Map();
    bases.set(secret, m);
  }
  let b = m.get(exportId);
  if (!b) {
    const k = createHmac('sha256', secret).update('govshare csv watermark/1').digest();
    b = Buffer.concat([k, Buffer.from(`${exportId}\n`)]);
    if (m.size > 1000) m.clear();
    m.set(exportId, b);
  }
  return b;
}

/** Whether a cell's text can carry the bit: not empty, and free to be written bare (no comma, quote or line break). */
export function carriesMark(text: string): boolean {
  return text !== '' && !/[",\r\n]/.test(text);
}

/** The keyed bit of one cell: true = written quoted. Deterministic for (secret, export, field, text). */
export function quoteBit(secret: Buffer, exportId: number, field: string, text: string): boolean {
  return (prefixedHash('sha256', exportBase(secret, exportId), `${field}\n`, text)[0] & 1) === 1;
}

/**
 * The writer's decision for an export: (field, cell text) → quote it? Repeated values (districts, masked forms) are
 * hashed once (a bounded memo per field).
 */
export function quoteMarker(
  secret: Buffer,
  exportId: number,
  eligible: (text: string) => boolean = carriesMark,
): (field: string, text: string) => boolean {
  const memo = new Map<string, Map<string, boolean>>();
  return (field, text) => {
    if (!eligible(text)) return false;
    let m = memo.get(field);
    if (!m) {
      m = new Map();
      memo.set(field, m);
    }
    let b = m.get(text);
    if (b === undefined) {
      b = quoteBit(secret, exportId, field, text);
      if (m.size >= 5000) m.clear();
      m.set(text, b);
    }
    return b;
  };
}

/** ln n! for n = 0..N, by running sums (N up to the distinct cells checked). */
function logFactorials(n: number): Float64Array {
  const f = new Float64Array(n + 1);
  for (let i = 2; i <= n; i++) f[i] = f[i - 1] + Math.log(i);
  return f;
}

/** P(X ≥ k) for X ~ Binomial(n, ½): the chance that a file not from the export matches at least this well. */
export function binomialTail(n: number, k: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  const lf = logFactorials(n);
  const ln2n = n * Math.LN2;
  // log-sum-exp of the terms from k to n
  const terms: number[] = [];
  let max = Number.NEGATIVE_INFINITY;
  for (let i = k; i <= n; i++) {
    const t = lf[n] - lf[i] - lf[n - i] - ln2n;
    terms.push(t);
    if (t > max) max = t;
  }
  let s = 0;
  for (const t of terms) s += Math.exp(t - max);
  return Math.min(1, Math.exp(max + Math.log(s)));
}

/** Distinct cells compared at most (enough for any verdict; bounds the memory of the test). */
export const WATERMARK_MAX_DISTINCT = 100_000;
/** A verdict needs at least this many distinct marked cells (≈ 2⁻²⁰ chance of a full match by accident). */
export const WATERMARK_MIN_CELLS = 20;
/** …and a chance below this that a file not from the export matches as well (30 candidates: ≈ 3·10⁻⁵ overall). */
export const WATERMARK_MAX_P = 1e-6;
/** …and at least this share of matches (a partly re-quoted file still carries the mark in the rest). */
export const WATERMARK_MIN_RATE = 0.75;

export type WatermarkVerdict =
  | 'match' // the quoting is this export's: strong evidence the file came from it
  | 'noMatch' // enough cells, no significant agreement
  | 'tooFewCells' // too few marked cells to decide
  | 'normalised' // the file's quoting is uniform (re-saved by Excel or another tool): no watermark evidence
  | 'notWatermarked' // this export carried no watermark (not CSV, or made before the watermark)
  | 'unreadable'; // the file is not CSV, or its quoting could not be read strictly

export interface WatermarkEvidence {
  verdict: WatermarkVerdict;
  /** marked cells compared (every occurrence) */
  cellsChecked: number;
  /** distinct (field, text) compared: the independent bits */
  distinctChecked: number;
  /** distinct ones whose quoting matched the prediction */
  matches: number;
  matchRate: number | null;
  /** P(a file not from this export matches at least this well) */
  pValue: number | null;
}

export const noEvidence = (verdict: WatermarkVerdict): WatermarkEvidence => ({
  verdict,
  cellsChecked: 0,
  distinctChecked: 0,
  matches: 0,
  matchRate: null,
  pValue: null,
});

/** An observed cell of the file: its field (as the export names it), text (as delivered) and whether it was quoted. */
export interface QuotedCell {
  field: string;
  text: string;
  quoted: boolean;
}

/** Whether a file's marked cells are all written the same way (all quoted or all bare): nothing to read. */
export function quotingUniform(
  cells: Iterable<{ text: string; quoted: boolean }>,
  eligible: (text: string) => boolean = carriesMark,
): boolean {
  let q = 0;
  let b = 0;
  for (const c of cells) {
    if (!eligible(c.text)) continue;
    if (c.quoted) q++;
    else b++;
    if (q > 0 && b > 0) return false;
  }
  return true;
}

/**
 * Compares a file's quoting with an export's keyed prediction. A distinct (field, text) matches when every occurrence
 * is quoted as predicted. `uniform`: the whole file's quoting was uniform (computed once over all its cells): no
 * evidence ("normalised") once there are enough cells to decide at all; fewer than WATERMARK_MIN_CELLS distinct cells
 * are "tooFewCells" whatever their quoting (two rows of a file are uniformly quoted by chance often enough to matter).
 */
export function watermarkEvidence(
  secret: Buffer,
  exportId: number,
  cells: Iterable<QuotedCell>,
  uniform: boolean,
  eligible: (text: string) => boolean = carriesMark,
): WatermarkEvidence {
  const seen = new Map<string, boolean>();
  let checked = 0;
  for (const c of cells) {
    if (!eligible(c.text)) continue;
    checked++;
    const k = `${c.field}\n${c.text}`;
    const prev = seen.get(k);
    if (prev === undefined && seen.size >= WATERMARK_MAX_DISTINCT) continue;
    if (prev === false) continue;
    seen.set(k, quoteBit(secret, exportId, c.field, c.text) === c.quoted);
  }
  const n = seen.size;
  let k = 0;
  for (const v of seen.values()) if (v) k++;
  // a few cells are often quoted alike by chance: too few to decide comes before "normalised"
  if (n < WATERMARK_MIN_CELLS)
    return {
      ...noEvidence('tooFewCells'),
      cellsChecked: checked,
      distinctChecked: n,
      matches: k,
      matchRate: n ? k / n : null,
    };
  if (uniform) return noEvidence('normalised');
  const pValue = binomialTail(n, k);
  const rate = k / n;
  return {
    verdict: pValue < WATERMARK_MAX_P && rate >= WATERMARK_MIN_RATE ? 'match' : 'noMatch',
    cellsChecked: checked,
    distinctChecked: n,
    matches: k,
    matchRate: rate,
    pValue,
  };
}
