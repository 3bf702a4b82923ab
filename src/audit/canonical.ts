/**
 * A sealed audit record's canonical text, built in Node from the row's columns in PostgreSQL's binary form — the one
 * implementation the sealer and every verifier use (issue 10 points 1 and 12). The text is, byte for byte, what
 * `CANONICAL_RECORD_JSONB` (src/audit/seal.ts) writes and what every chain so far was sealed over: the text of a jsonb
 * array of every column in a fixed order,
 *
 *   [id, "YYYY-MM-DDTHH:MI:SS.ffffffZ", actor_user_id, actor_org_id, app_id, grant_id, "action", resource_id,
 *    "target_type", "target_id", "target_label", "purpose", "decision", rows_returned, ["field", …], "client_ip", detail]
 *
 * (jsonb's text form: ", " between elements, strings escaped as PostgreSQL's escape_json, NULL as null, the time in UTC
 * with microseconds as to_char writes it, detail as jsonb prints it). test/security/audit-seal.test.ts checks the two
 * agree on awkward values and on every record of its database.
 *
 * Why here and not in SQL: building the text in the server (to_char, to_json per column, concatenation) cost ≈ 5 s of
 * server CPU per million records; the binary columns cost ≈ 2 s (`COPY … (FORMAT binary)` to /dev/null, 1 M rows), and
 * this writer turns them into texts with no object or string per record: every text of a block lands in one buffer,
 * each prefixed with the leaf's 0x00 byte, so a leaf hash is one call over a slice.
 *
 * Input: tuples as COPY's binary format writes them (int16 field count, then per field an int32 length, -1 for NULL,
 * and the bytes of the type's send function), in the order of AUDIT_RECORD_COLUMNS.
 */

/** The audit_log columns of the canonical text, in its order. */
export const AUDIT_RECORD_COLUMNS = [
  'id',
  'occurred_at',
  'actor_user_id',
  'actor_org_id',
  'app_id',
  'grant_id',
  'action',
  'resource_id',
  'target_type',
  'target_id',
  'target_label',
  'purpose',
  'decision',
  'rows_returned',
  'fields',
  'client_ip',
  'detail',
] as const;

export const AUDIT_RECORD_SEND = [
  'int8send',
  'timestamptz_send',
  'int8send',
  'int8send',
  'int8send',
  'int8send',
  'textsend',
  'int8send',
  'textsend',
  'textsend',
  'textsend',
  'textsend',
  'textsend',
  'int4send',
  'array_send',
  'textsend',
  'jsonb_send',
] as const;

/** The records of one transaction range: ids, and each record's leaf input 0x00 ‖ canonical text in one buffer. */
export interface RecordBatch {
  count: number;
  /** record ids, in the order read */
  ids: Float64Array;
  /** record i's leaf input is input[offsets[i], offsets[i + 1]): the byte 0x00, then its canonical text (UTF-8) */
  input: Buffer;
  offsets: Uint32Array;
}

export const EMPTY_BATCH: RecordBatch = {
  count: 0,
  ids: new Float64Array(0),
  input: Buffer.alloc(0),
  offsets: new Uint32Array(1),
};

/** Record i's canonical text (without the leaf's 0x00 prefix). */
export function canonicalText(batch: RecordBatch, i: number): string {
  return batch.input.toString('utf8', batch.offsets[i] + 1, batch.offsets[i + 1]);
}

/** id → canonical text of every record of a batch (archives, exports and tests; not the verification's hot path). */
export function canonicalTexts(batch: RecordBatch): Map<number, string> {
  const out = new Map<number, string>();
  for (let i = 0; i < batch.count; i++) out.set(batch.ids[i], canonicalText(batch, i));
  return out;
}

/**
 * The writer, made by a self-contained function (it uses no name from outside it but Buffer): the leaf-hash worker
 * threads run this very function's source (src/audit/leaf-hasher.ts), so the texts written there are the texts the
 * sealer writes here — one implementation.
 */
export function canonicalWriter(): (data: Buffer, copyHeader: boolean) => RecordBatch {
  const INT = 0;
  const TIME = 1;
  const TEXT = 2;
  const TEXT_ARRAY = 3;
  const JSONB = 4;

  /** How each column is written (binary input → JSON text), by position. */
  const KINDS = Uint8Array.from([
    INT,
    TIME,
    INT,
    INT,
    INT,
    INT,
    TEXT,
    INT,
    TEXT,
    TEXT,
    TEXT,
    TEXT,
    TEXT,
    INT,
    TEXT_ARRAY,
    TEXT,
    JSONB,
  ]);

  /** The send function giving each column's binary form in a SELECT (the bytes COPY's binary format carries). */
  const FIELDS = 17; // AUDIT_RECORD_COLUMNS.length (checked below)
  const TEXT_OID = 25;
  /** 2000-01-01 (PostgreSQL's epoch) in days since 1970-01-01 */
  const PG_EPOCH_DAYS = 10_957;
  const DAY_US = 86_400_000_000;
  const TWO_32 = 4_294_967_296;
  const HEX = Buffer.from('0123456789abcdef', 'latin1');
  /** The 11-byte signature, flags and header-extension length that open COPY's binary format. */
  const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

  /**
   * Writes the canonical text of every tuple of `data` (COPY binary output, with its header when `copyHeader`, or bare
   * tuples) into one batch. Throws on anything that is not the expected shape (a wrong field count, an unknown array
   * element type, a jsonb version other than 1): the caller's query is wrong, not the data.
   */
  function canonicalRecords(data: Buffer, copyHeader: boolean): RecordBatch {
    let p = 0;
    if (copyHeader) {
      if (data.length < 19 || !data.subarray(0, 11).equals(COPY_SIGNATURE))
        throw new Error('not COPY binary output');
      p = 19 + data.readUInt32BE(15);
    }
    const w = new Writer(Math.max(256, data.length + (data.length >> 2)));
    let ids = new Float64Array(Math.max(16, data.length >> 8));
    let offsets = new Uint32Array(ids.length + 1);
    let n = 0;
    while (p + 2 <= data.length) {
      const fields = data.readInt16BE(p);
      p += 2;
      if (fields === -1) break; // the trailer
      if (fields !== FIELDS) throw new Error(`an audit record has ${fields} fields, expected ${FIELDS}`);
      if (n === ids.length) {
        const bigger = new Float64Array(ids.length * 2);
        bigger.set(ids);
        ids = bigger;
        const o = new Uint32Array(ids.length + 1);
        o.set(offsets);
        offsets = o;
      }
      offsets[n] = w.pos;
      // the worst case: every byte becomes \u00XX, plus the separators and a formatted time
      let len = 0;
      for (let f = 0, q = p; f < FIELDS; f++) {
        const l = data.readInt32BE(q);
        q += 4 + (l > 0 ? l : 0);
        len = q - p;
      }
      w.reserve(6 * len + 64);
      const out = w.buf;
      let o = w.pos;
      out[o++] = 0; // the leaf prefix
      out[o++] = 0x5b; // [
      for (let f = 0; f < FIELDS; f++) {
        if (f > 0) {
          out[o++] = 0x2c;
          out[o++] = 0x20;
        }
        const l = data.readInt32BE(p);
        p += 4;
        if (l < 0) {
          o = writeNull(out, o);
          if (f === 0) ids[n] = Number.NaN;
          continue;
        }
        switch (KINDS[f]) {
          case INT:
            if (f === 0) ids[n] = intValue(data, p, l);
            o = writeInt(out, o, data, p, l);
            break;
          case TIME:
            o = writeTime(out, o, data, p, l);
            break;
          case TEXT:
            o = writeString(out, o, data, p, p + l);
            break;
          case TEXT_ARRAY:
            o = writeTextArray(out, o, data, p, l);
            break;
          default: {
            // jsonb_send: a version byte (1), then the text jsonb_out prints
            if (l < 1 || data[p] !== 1) throw new Error('unexpected jsonb binary version');
            o += data.copy(out, o, p + 1, p + l);
          }
        }
        p += l;
      }
      out[o++] = 0x5d; // ]
      w.pos = o;
      n++;
    }
    offsets[n] = w.pos;
    return {
      count: n,
      ids: ids.subarray(0, n),
      input: w.buf.subarray(0, w.pos),
      offsets: offsets.subarray(0, n + 1),
    };
  }

  function writeNull(out: Buffer, o: number): number {
    out[o] = 0x6e;
    out[o + 1] = 0x75;
    out[o + 2] = 0x6c;
    out[o + 3] = 0x6c;
    return o + 4;
  }

  /** A growing output buffer. */
  class Writer {
    buf: Buffer;
    pos = 0;
    constructor(size: number) {
      this.buf = Buffer.allocUnsafe(size);
    }
    reserve(n: number) {
      if (this.pos + n <= this.buf.length) return;
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
      this.buf.copy(bigger, 0, 0, this.pos);
      this.buf = bigger;
    }
  }

  function intValue(data: Buffer, p: number, l: number): number {
    if (l === 8) return data.readInt32BE(p) * TWO_32 + data.readUInt32BE(p + 4);
    if (l === 4) return data.readInt32BE(p);
    if (l === 2) return data.readInt16BE(p);
    throw new Error(`an integer column of ${l} bytes`);
  }

  function writeInt(out: Buffer, o: number, data: Buffer, p: number, l: number): number {
    const v = intValue(data, p, l);
    if (Number.isSafeInteger(v)) return writeDigits(out, o, v, 1);
    return o + out.write(data.readBigInt64BE(p).toString(), o, 'latin1');
  }

  /** Writes an integer's decimal digits, zero-padded to at least `width`. */
  function writeDigits(out: Buffer, o: number, v: number, width: number): number {
    if (v < 0) {
      out[o++] = 0x2d;
      v = -v;
    }
    let digits = 1;
    if (v < 2_147_483_648) {
      // int arithmetic for the usual values
      for (let x = v; x >= 10; x = (x / 10) | 0) digits++;
      if (digits < width) digits = width;
      for (let i = o + digits - 1, x = v; i >= o; i--, x = (x / 10) | 0) out[i] = 0x30 + (x % 10);
      return o + digits;
    }
    for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
    if (digits < width) digits = width;
    for (let i = o + digits - 1; i >= o; i--) {
      out[i] = 0x30 + (v % 10);
      v = Math.floor(v / 10);
    }
    return o + digits;
  }

  /**
   * timestamptz_send (microseconds since 2000-01-01 UTC) → "YYYY-MM-DDTHH:MI:SS.ffffffZ", as
   * to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') writes it: the proleptic Gregorian calendar, the year
   * zero-padded to 4 digits (more when larger; a year BC as its positive number, as YYYY does), ±infinity as null (to_char
   * gives NULL, which jsonb_build_array writes as null).
   */
  function writeTime(out: Buffer, o: number, data: Buffer, p: number, l: number): number {
    if (l !== 8) throw new Error(`a timestamp of ${l} bytes`);
    const hi = data.readInt32BE(p);
    const lo = data.readUInt32BE(p + 4);
    let days: number;
    let us: number;
    const v = hi * TWO_32 + lo;
    if (Number.isSafeInteger(v)) {
      days = Math.floor(v / DAY_US);
      us = v - days * DAY_US;
    } else {
      const big = data.readBigInt64BE(p);
      if (big === 0x7fffffffffffffffn || big === -0x8000000000000000n) return writeNull(out, o);
      const d = big / 86_400_000_000n - (big % 86_400_000_000n < 0n ? 1n : 0n);
      days = Number(d);
      us = Number(big - d * 86_400_000_000n);
    }
    // civil date from days since 1970-01-01 (H. Hinnant's algorithm)
    const z = days + PG_EPOCH_DAYS + 719_468;
    const era = Math.floor(z / 146_097);
    const doe = z - era * 146_097;
    const yoe = Math.floor(
      (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
    );
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
    const month = mp < 10 ? mp + 3 : mp - 9;
    const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    const secs = Math.floor(us / 1_000_000);
    out[o++] = 0x22;
    o = writeDigits(out, o, year <= 0 ? 1 - year : year, 4);
    out[o++] = 0x2d;
    o = writeDigits(out, o, month, 2);
    out[o++] = 0x2d;
    o = writeDigits(out, o, day, 2);
    out[o++] = 0x54; // T
    o = writeDigits(out, o, Math.floor(secs / 3600), 2);
    out[o++] = 0x3a;
    o = writeDigits(out, o, Math.floor(secs / 60) % 60, 2);
    out[o++] = 0x3a;
    o = writeDigits(out, o, secs % 60, 2);
    out[o++] = 0x2e;
    o = writeDigits(out, o, us % 1_000_000, 6);
    out[o++] = 0x5a; // Z
    out[o++] = 0x22;
    return o;
  }

  /** A string's JSON form as PostgreSQL's escape_json writes it (UTF-8 bytes pass through). */
  function writeString(out: Buffer, o: number, data: Buffer, p: number, end: number): number {
    out[o++] = 0x22;
    for (; p < end; p++) {
      const c = data[p];
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
        out[o++] = c;
        continue;
      }
      out[o++] = 0x5c;
      switch (c) {
        case 0x22:
        case 0x5c:
          out[o++] = c;
          break;
        case 0x08:
          out[o++] = 0x62; // b
          break;
        case 0x0c:
          out[o++] = 0x66; // f
          break;
        case 0x0a:
          out[o++] = 0x6e; // n
          break;
        case 0x0d:
          out[o++] = 0x72; // r
          break;
        case 0x09:
          out[o++] = 0x74; // t
          break;
        default:
          out[o++] = 0x75; // u00XX, lower-case hex
          out[o++] = 0x30;
          out[o++] = 0x30;
          out[o++] = HEX[c >> 4];
          out[o++] = HEX[c & 15];
      }
    }
    out[o++] = 0x22;
    return o;
  }

  /** array_send of a text[] → to_jsonb(array)::text: nested per dimension, elements separated by ", ". */
  function writeTextArray(out: Buffer, o: number, data: Buffer, p: number, l: number): number {
    const end = p + l;
    const ndim = data.readInt32BE(p);
    const elemType = data.readUInt32BE(p + 8);
    if (elemType !== TEXT_OID) throw new Error(`an array of type ${elemType}, expected text`);
    if (ndim === 0) {
      out[o++] = 0x5b;
      out[o++] = 0x5d;
      return o;
    }
    const dims: number[] = [];
    for (let d = 0; d < ndim; d++) dims.push(data.readInt32BE(p + 12 + 8 * d));
    const cursor = { p: p + 12 + 8 * ndim, o };
    writeDim(out, cursor, data, dims, 0);
    if (cursor.p !== end) throw new Error('a text array of unexpected length');
    return cursor.o;
  }

  function writeDim(out: Buffer, c: { p: number; o: number }, data: Buffer, dims: number[], d: number): void {
    out[c.o++] = 0x5b;
    for (let i = 0; i < dims[d]; i++) {
      if (i > 0) {
        out[c.o++] = 0x2c;
        out[c.o++] = 0x20;
      }
      if (d + 1 < dims.length) {
        writeDim(out, c, data, dims, d + 1);
        continue;
      }
      const len = data.readInt32BE(c.p);
      c.p += 4;
      if (len < 0) c.o = writeNull(out, c.o);
      else {
        c.o = writeString(out, c.o, data, c.p, c.p + len);
        c.p += len;
      }
    }
    out[c.o++] = 0x5d;
  }

  return canonicalRecords;
}

/**
 * Writes the canonical text of every tuple of `data` (COPY binary output, with its header when `copyHeader`, or bare
 * tuples) into one batch. Throws on anything that is not the expected shape (a wrong field count, an unknown array
 * element type, a jsonb version other than 1): the caller's query is wrong, not the data.
 */
export const canonicalRecords = canonicalWriter();

if (AUDIT_RECORD_COLUMNS.length !== 17 || AUDIT_RECORD_SEND.length !== 17)
  throw new Error('canonical.ts: a column was added to AUDIT_RECORD_COLUMNS but not to the writer');

/**
 * Rows of the SELECT path (each column's send() bytes, NULL as null) as bare COPY binary tuples, for
 * canonicalRecords(…, false): PGlite and reads inside a transaction take this way to the same writer.
 */
export function tuplesOf(rows: readonly (readonly (Uint8Array | null)[])[]): Buffer {
  let size = 0;
  for (const r of rows) {
    size += 2;
    for (const c of r) size += 4 + (c ? c.length : 0);
  }
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (const r of rows) {
    o = out.writeInt16BE(r.length, o);
    for (const c of r) {
      if (!c) o = out.writeInt32BE(-1, o);
      else {
        o = out.writeInt32BE(c.length, o);
        out.set(c, o);
        o += c.length;
      }
    }
  }
  return out;
}
