import { createHmac } from 'node:crypto';
import { keyedHashBytes, prefixedHash } from '../shared/secrets.js';

/*
 * The export ledger's digests (docs/AUDIT.md "Export ledger"): what a bulk export records of every delivered row for
 * leak tracing. No I/O and no import beyond the keyed hashes, so the export's worker threads (export-worker.ts) run
 * these very functions on a batch while the export's thread masks the next one.
 */

/** The text of a delivered cell, as the ledger hashes it: what a CSV cell holds before quoting. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Bytes of a key or row digest in the ledger. */
const MAC_BYTES = 16;

/** The first 16 bytes of an HMAC-SHA256 under the platform secret: the ledger's compact, keyed digests. */
const mac16 = (secret: Buffer, s: string) => keyedHashBytes(secret, s).subarray(0, MAC_BYTES);

const keyText = (key: string) => `key\n${key}`;
const rowText = (cells: string[]) => `row\n${JSON.stringify(cells)}`;

/** The ledger's digest of a record key (the same key form the data API audits: normalised), hex. */
export const keyMac = (secret: Buffer, key: string) => mac16(secret, keyText(key)).toString('hex');

/** The ledger's digest of a delivered row: its cell texts in the export's field order, hex. */
export const rowMac = (secret: Buffer, cells: string[]) => mac16(secret, rowText(cells)).toString('hex');

/** Bytes of one cell tag (the per-field digest of migration 032). */
export const CELL_TAG_BYTES = 4;

/** Per secret and field, the bytes hashed before each cell's text: the cell-tag key and the field code. */
const tagPrefixes = new WeakMap<Buffer, Map<string, Buffer>>();

/** The full SHA-256 a cell tag is cut from (cellTag). */
function cellTagDigest(secret: Buffer, field: string, text: string): Buffer {
  let prefixes = tagPrefixes.get(secret);
  if (!prefixes) {
    prefixes = new Map();
    tagPrefixes.set(secret, prefixes);
  }
  let prefix = prefixes.get(field);
  if (!prefix) {
    const k = createHmac('sha256', secret).update('govshare cell tag/1').digest();
    prefix = Buffer.concat([k, Buffer.from(`${field}\n`, 'utf8')]);
    if (prefixes.size < 10_000) prefixes.set(field, prefix);
  }
  return prefixedHash('sha256', prefix, text);
}

/**
 * One cell's tag, hex: the first 4 bytes of SHA-256(k ‖ field ‖ "\n" ‖ cell text), k = HMAC-SHA256(platform secret,
 * "govshare cell tag/1") (32 bytes, fixed length). A keyed prefix hash is safe here because only 4 of its 32 bytes are
 * kept (no length extension), and it lets each cell cost one hash of a copied state instead of an HMAC's two and a
 * key schedule: the ledger's extra work per delivered cell stays small.
 */
export function cellTag(secret: Buffer, field: string, text: string): string {
  return cellTagDigest(secret, field, text).toString('hex', 0, CELL_TAG_BYTES);
}

/**
 * The ledger's digests of one batch as the three byte strings of its `data_export_batch` row: the key digests (16
 * bytes a row), the row digests (16) and the cell tags (4 a cell, the row's tags in field order), row after row. Each
 * digest is written in place (no hex text per row). Repeated cell values (districts, categories, masked forms) are
 * hashed once per batch, which keeps the ledger's extra cost low.
 */
export function ledgerDigests(
  secret: Buffer,
  codes: string[],
  keys: string[],
  texts: string[][],
): { keyMacs: Buffer; rowMacs: Buffer; tags: Buffer } {
  const n = texts.length;
  const keyMacs = Buffer.allocUnsafe(n * MAC_BYTES);
  const rowMacs = Buffer.allocUnsafe(n * MAC_BYTES);
  const tags = Buffer.allocUnsafe(n * codes.length * CELL_TAG_BYTES);
  const memo = codes.map(() => new Map<string, number>());
  let at = 0;
  for (let r = 0; r < n; r++) {
    keyedHashBytes(secret, keyText(keys[r])).copy(keyMacs, r * MAC_BYTES, 0, MAC_BYTES);
    const cells = texts[r];
    keyedHashBytes(secret, rowText(cells)).copy(rowMacs, r * MAC_BYTES, 0, MAC_BYTES);
    for (let i = 0; i < codes.length; i++, at += CELL_TAG_BYTES) {
      const text = cells[i];
      let t = memo[i].get(text);
      if (t === undefined) {
        t = cellTagDigest(secret, codes[i], text).readUInt32BE(0);
        if (memo[i].size < 10_000) memo[i].set(text, t);
      }
      tags.writeUInt32BE(t, at);
    }
  }
  return { keyMacs, rowMacs, tags };
}
