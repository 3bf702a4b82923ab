import { CompiledQuery, sql } from 'kysely';
import { indexColumn, SQL_TYPES } from '../catalog/model.js';
import type { StoredField } from '../catalog/store.js';
import type { Database, Db, Tx } from '../db/index.js';

/*
 * SQL of the per-resource tables (ds.r_<id>, generated identifiers only) and of the staging area. The data API's key
 * lookup on `_key` is untouched: history lives in record_history, not in the resource table.
 */

/** A PostgreSQL array literal (text[]): NULL for null, every element quoted and escaped. */
export function pgArray(values: (string | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i) out += ',';
    const v = values[i];
    out += v === null ? 'NULL' : `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  }
  return `${out}}`;
}

export interface StagedRow {
  row: number;
  key: string;
  hash: string;
  values: (string | null)[];
}

/** COPY text format: backslash, tab and line breaks escaped. */
const COPY_SPECIAL = /[\\\t\n\r]/;
const copyText = (v: string) =>
  COPY_SPECIAL.test(v)
    ? v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
    : v;
/** Anything an array element or COPY text would escape: the usual value has none and is written as it is. */
const ELEM_SPECIAL = /[\\"\t\n\r]/;
/** One text[] element of an array literal, as COPY text: quoted, `"` and `\` escaped, NULL for null. */
const copyArrayElem = (v: string | null) =>
  v === null
    ? 'NULL'
    : ELEM_SPECIAL.test(v)
      ? copyText(`"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
      : `"${v}"`;

/** One staging row as a COPY text line (batch_id, row_no, rkey, rhash, vals). */
export function stagingCopyLine(batchId: number, r: StagedRow): string {
  const v = r.values;
  let arr = '{';
  for (let i = 0; i < v.length; i++) arr += (i ? ',' : '') + copyArrayElem(v[i]);
  return `${batchId}\t${r.row}\t${copyText(r.key)}\t${r.hash}\t${arr}}\n`;
}

/** Staging buffers whose COPY has ended, reused by the next chunks (of any import: a buffer is here only when unused). */
const spareBuffers: Buffer<ArrayBuffer>[] = [];

/**
 * The validated rows of one staging chunk. For the COPY path each row is written at once as a COPY text line into a
 * growing byte buffer, so no row object outlives its row: at 1 M rows, keeping 10 000 rows' arrays alive across
 * chunks had them promoted and collected by full GCs (a quarter of the import's Node CPU). Inside a caller's
 * transaction (the INSERT path of stageRows) the rows themselves are kept.
 */
export class StagingChunk {
  length = 0;
  private buf: Buffer<ArrayBuffer> | null;
  private used = 0;
  readonly rows: StagedRow[] = [];
  constructor(
    readonly batchId: number,
    db: Db | Tx,
  ) {
    this.buf = db.isTransaction ? null : (spareBuffers.pop() ?? Buffer.allocUnsafe(1 << 21));
  }

  /** After its COPY: the buffer goes back for the next chunk (a new 2 MB buffer per chunk grew RSS with the file). */
  release() {
    if (this.buf && spareBuffers.length < 4) spareBuffers.push(this.buf);
    this.buf = null;
  }

  push(r: StagedRow) {
    this.length++;
    if (!this.buf) {
      this.rows.push(r);
      return;
    }
    const line = stagingCopyLine(this.batchId, r);
    // at most 3 UTF-8 bytes per UTF-16 unit
    if (this.used + line.length * 3 > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + line.length * 3));
      this.buf.copy(bigger, 0, 0, this.used);
      this.buf = bigger;
    }
    this.used += this.buf.write(line, this.used);
  }

  /** The COPY text written so far (null on the INSERT path). */
  copyText(): Buffer<ArrayBuffer> | null {
    return this.buf ? this.buf.subarray(0, this.used) : null;
  }
}

const STAGING_COPY = 'COPY ingest_staging (batch_id, row_no, rkey, rhash, vals) FROM STDIN';

/**
 * Appends validated rows to the staging area, outside the merge transaction: one `COPY … FROM STDIN` per chunk
 * (pg-copy-streams on PostgreSQL, COPY from a blob on PGlite). Inside a caller's transaction (the demo loader runs
 * use cases in one) a COPY on another connection could not see the batch row: there one INSERT per chunk, each
 * column as its own text[] parameter.
 */
export async function stageRows(database: Database, db: Db | Tx, chunk: StagingChunk): Promise<void> {
  if (!chunk.length) return;
  const text = chunk.copyText();
  if (text) {
    // a failed COPY may still hold the bytes (a stream not yet drained): its buffer is dropped, not reused
    await database.copyFrom(STAGING_COPY, text);
    chunk.release();
    return;
  }
  const rows = chunk.rows;
  const width = rows[0].values.length;
  const cols = Array.from({ length: width }, (_, i) => rows.map((r) => r.values[i]));
  const params = cols.map((_, i) => `$${i + 5}::text[]`).join(', ');
  const names = cols.map((_, i) => `v${i}`);
  await db.executeQuery(
    CompiledQuery.raw(
      `INSERT INTO ingest_staging (batch_id, row_no, rkey, rhash, vals)
       SELECT $1::bigint, r, k, h, ARRAY[${names.join(', ')}]::text[]
       FROM unnest($2::int[], $3::text[], $4::text[], ${params}) AS u(r, k, h, ${names.join(', ')})`,
      [chunk.batchId, rows.map((r) => r.row), rows.map((r) => r.key), rows.map((r) => r.hash), ...cols],
    ),
  );
}

/** Keys that occur more than once in a batch's staging rows: every occurrence after the first, in row order. */
export async function stagedDuplicates(db: Db | Tx, batchId: number, limit: number) {
  // the usual batch has none: a hash aggregate that stops at the first repeated key says so, before the
  // window query that numbers every row
  const probe = await sql<{ one: number }>`
    SELECT 1 AS one FROM ingest_staging WHERE batch_id = ${batchId} GROUP BY rkey HAVING count(*) > 1 LIMIT 1`.execute(
    db,
  );
  if (!probe.rows.length) return [];
  const { rows } = await sql<{ row_no: number; first_row: number; vals: (string | null)[]; n: number }>`
    WITH d AS (
      SELECT row_no, vals, min(row_no) OVER (PARTITION BY rkey) AS first_row
      FROM ingest_staging WHERE batch_id = ${batchId})
    SELECT row_no, first_row, vals, count(*) OVER ()::int AS n FROM d WHERE row_no > first_row
    ORDER BY row_no LIMIT ${limit}`.execute(db);
  return rows;
}

export async function dropStagedRows(db: Db | Tx, batchId: number, rowNos: number[] | 'all') {
  if (rowNos === 'all') await db.deleteFrom('ingest_staging').where('batch_id', '=', batchId).execute();
  else if (rowNos.length)
    await db
      .deleteFrom('ingest_staging')
      .where('batch_id', '=', batchId)
      .where('row_no', 'in', rowNos)
      .execute();
}

/** Every later duplicate row of a batch, with the row of its first occurrence (set-based, for quarantine mode). */
export async function moveDuplicatesToQuarantine(
  trx: Db | Tx,
  batchId: number,
  resourceId: number,
  keyField: string,
) {
  const { rows } = await sql<{ n: number }>`
    WITH d AS (
      SELECT row_no, vals, min(row_no) OVER (PARTITION BY rkey) AS first_row
      FROM ingest_staging WHERE batch_id = ${batchId}),
    q AS (
      INSERT INTO ingest_quarantine (batch_id, resource_id, row_no, vals, errors)
      SELECT ${batchId}, ${resourceId}, row_no, to_jsonb(vals),
        jsonb_build_array(jsonb_build_object('row', row_no, 'field', ${keyField}::text, 'code', 'DUPLICATE_KEY',
          'reason', 'duplicate key, same as row ' || first_row, 'reasonZh', '主键重复，与第 ' || first_row || ' 行相同'))
      FROM d WHERE row_no > first_row RETURNING row_no)
    DELETE FROM ingest_staging s USING q WHERE s.batch_id = ${batchId} AND s.row_no = q.row_no
    RETURNING 1 AS n`.execute(trx);
  return rows.length;
}

type StorageField = Pick<StoredField, 'columnName' | 'type'>;

/**
 * The columns a record occupies, in the order staging rows and record_history keep them: every field's column (an
 * encrypted one as text: it holds ciphertext), then the lookup index of each encrypted field (docs/ENCRYPTION.md).
 */
export function storageColumns(
  fields: ReadonlyArray<Pick<StoredField, 'columnName' | 'type' | 'encrypted'>>,
) {
  const out: StorageField[] = fields.map((f) =>
    f.encrypted ? { columnName: f.columnName, type: 'string' } : { columnName: f.columnName, type: f.type },
  );
  for (const f of fields)
    if (f.encrypted) out.push({ columnName: indexColumn(f.columnName), type: 'string' });
  return out;
}

const colList = (fields: StorageField[]) => fields.map((f) => f.columnName).join(', ');
/** The record's values as a jsonb array of text, the form record_history keeps. */
const asJson = (fields: StorageField[], alias: string) =>
  `to_jsonb(ARRAY[${fields.map((f) => `${alias}.${f.columnName}::text`).join(', ')}]::text[])`;
const fromJson = (fields: StorageField[], alias: string) =>
  fields.map((f, i) => `(${alias}.data->>${i})::${SQL_TYPES[f.type]}`).join(', ');

/**
 * The change feed's log (issue 9 point 6, record_change): one row per record version a statement wrote or removed, from
 * its `RETURNING t._key, t._version` CTE (`$1` the batch, `$2` the resource). Callers hold the resource's row lock, so
 * the log's order is the commit order of the resource's changes.
 */
const changed = (op: 'upsert' | 'delete', from: string) => `chg AS (
    INSERT INTO record_change (resource_id, rkey, op, version, batch_id)
    SELECT $2::bigint, ${from}._key, '${op}', ${from}._version, $1::bigint FROM ${from})`;

export interface MergeCounts {
  inserted: number;
  updated: number;
  deleted: number;
}

/**
 * The set-based merge of one batch's staging rows into the resource table, inside the caller's transaction. Every
 * version it replaces or deletes is copied to record_history first (who and when come from the batch rows).
 * upsert: insert new keys, update changed ones (content hash differs), leave identical ones alone.
 * replace: as upsert, then delete every key the batch does not carry: the new snapshot replaces the old atomically.
 * delete: delete the batch's keys.
 */
export async function mergeBatch(
  trx: Tx,
  table: string,
  resourceId: number,
  logical: StoredField[],
  batchId: number,
  mode: 'upsert' | 'replace' | 'delete',
): Promise<MergeCounts> {
  const fields = storageColumns(logical);
  const run = async (text: string) =>
    (
      await trx.executeQuery<{ n: number }>(
        CompiledQuery.raw(text, text.includes('$2') ? [batchId, resourceId] : [batchId]),
      )
    ).rows;
  // the joins of a large batch with its table are hash joins: in memory, not spilled in work_mem's default 4 MB batches
  await sql`SET LOCAL work_mem = '64MB'`.execute(trx);
  const staged = `ingest_staging s WHERE s.batch_id = $1`;
  let inserted = 0;
  let updated = 0;
  let deleted = 0;
  if (mode === 'delete') {
    await run(`INSERT INTO record_history (resource_id, rkey, version, op, data, rhash, batch_id, valid_from, replaced_by_batch)
      SELECT $2, t._key, t._version, 'delete', ${asJson(fields, 't')}, t._hash, t._batch_id, t._valid_from, $1
      FROM ${table} t WHERE EXISTS (SELECT 1 FROM ${staged} AND s.rkey = t._key)`);
    const r =
      await run(`WITH d AS (DELETE FROM ${table} t WHERE EXISTS (SELECT 1 FROM ${staged} AND s.rkey = t._key)
        RETURNING t._key, t._version), ${changed('delete', 'd')}
      SELECT count(*)::int AS n FROM d`);
    return { inserted: 0, updated: 0, deleted: r[0].n };
  }
  await run(`INSERT INTO record_history (resource_id, rkey, version, op, data, rhash, batch_id, valid_from, replaced_by_batch)
    SELECT $2, t._key, t._version, 'update', ${asJson(fields, 't')}, t._hash, t._batch_id, t._valid_from, $1
    FROM ${table} t JOIN ingest_staging s ON s.batch_id = $1 AND s.rkey = t._key WHERE t._hash <> s.rhash`);
  const cols = colList(fields);
  const typed = fields.map((f, i) => `s.vals[${i + 1}]::${SQL_TYPES[f.type]}`);
  // changed keys: one UPDATE joined to the staging rows (keys are unique in a batch: checked before the merge)
  const u = await run(`WITH u AS (
    UPDATE ${table} t SET ${fields.map((f, i) => `${f.columnName} = ${typed[i]}`).join(', ')},
      _hash = s.rhash, _batch_id = $1, _version = t._version + 1, _valid_from = now()
    FROM ${staged} AND s.rkey = t._key AND t._hash <> s.rhash
    RETURNING t._key, t._version), ${changed('upsert', 'u')}
    SELECT count(*)::int AS n FROM u`);
  updated = u[0].n;
  // new keys: a plain INSERT … SELECT (no per-row conflict check; the primary key still refuses a duplicate)
  const i = await run(`WITH i AS (
    INSERT INTO ${table} AS t (_key, _hash, _batch_id, ${cols})
    SELECT s.rkey, s.rhash, $1::bigint, ${typed.join(', ')}
    FROM ${staged} AND NOT EXISTS (SELECT 1 FROM ${table} e WHERE e._key = s.rkey)
    RETURNING t._key, t._version), ${changed('upsert', 'i')}
    SELECT count(*)::int AS n FROM i`);
  inserted = i[0].n;
  if (mode === 'replace') {
    const gone = `FROM ${table} t WHERE NOT EXISTS (SELECT 1 FROM ${staged} AND s.rkey = t._key)`;
    await run(`INSERT INTO record_history (resource_id, rkey, version, op, data, rhash, batch_id, valid_from, replaced_by_batch)
      SELECT $2, t._key, t._version, 'delete', ${asJson(fields, 't')}, t._hash, t._batch_id, t._valid_from, $1 ${gone}`);
    const d = await run(`WITH d AS (DELETE FROM ${table} t WHERE t._batch_id <> $1
      AND NOT EXISTS (SELECT 1 FROM ${staged} AND s.rkey = t._key) RETURNING t._key, t._version),
      ${changed('delete', 'd')} SELECT count(*)::int AS n FROM d`);
    deleted = d[0].n;
  }
  return { inserted, updated, deleted };
}

/**
 * Undoes one batch inside the caller's transaction: rows it inserted are deleted, rows it changed get their previous
 * version back from record_history, rows it deleted come back. Only valid for the resource's latest applied batch
 * (the caller checks), so no later change is lost.
 */
export async function rollbackBatchRows(
  trx: Tx,
  table: string,
  resourceId: number,
  logical: StoredField[],
  batchId: number,
): Promise<{ removed: number; restored: number }> {
  const fields = storageColumns(logical);
  const run = async (text: string) =>
    (
      await trx.executeQuery<{ n: number }>(
        CompiledQuery.raw(text, text.includes('$2') ? [batchId, resourceId] : [batchId]),
      )
    ).rows;
  const hist = `record_history h WHERE h.resource_id = $2 AND h.replaced_by_batch = $1`;
  // the change feed's order is the commit order of the resource's changes (see `changed`)
  await run('SELECT id AS n FROM resource WHERE id = $2 AND $1::bigint IS NOT NULL FOR UPDATE');
  const removed = (
    await run(`WITH d AS (DELETE FROM ${table} t WHERE t._batch_id = $1
      AND NOT EXISTS (SELECT 1 FROM ${hist} AND h.rkey = t._key) RETURNING t._key, t._version),
      ${changed('delete', 'd')} SELECT count(*)::int AS n FROM d`)
  )[0].n;
  const setCols = fields.map((f, i) => `${f.columnName} = (h.data->>${i})::${SQL_TYPES[f.type]}`).join(', ');
  const upd = (
    await run(`WITH u AS (UPDATE ${table} t SET ${setCols}, _hash = h.rhash, _batch_id = h.batch_id,
      _version = h.version, _valid_from = h.valid_from FROM ${hist} AND h.op = 'update' AND h.rkey = t._key
      RETURNING t._key, t._version), ${changed('upsert', 'u')} SELECT count(*)::int AS n FROM u`)
  )[0].n;
  const ins = (
    await run(`WITH i AS (INSERT INTO ${table} (_key, _hash, _batch_id, _version, _valid_from, ${colList(fields)})
      SELECT h.rkey, h.rhash, h.batch_id, h.version, h.valid_from, ${fromJson(fields, 'h')} FROM ${hist} AND h.op = 'delete'
      RETURNING _key, _version), ${changed('upsert', 'i')} SELECT count(*)::int AS n FROM i`)
  )[0].n;
  return { removed, restored: upd + ins };
}

/** The current row and its earlier versions, newest first, values as text in field order. */
export async function recordVersions(
  db: Db | Tx,
  table: string,
  resourceId: number,
  logical: StoredField[],
  key: string,
) {
  const fields = storageColumns(logical);
  const cur = await db.executeQuery<{
    version: number;
    batch_id: number;
    valid_from: Date;
    data: (string | null)[];
  }>(
    CompiledQuery.raw(
      `SELECT _version AS version, _batch_id AS batch_id, _valid_from AS valid_from, ${asJson(fields, 't')} AS data
       FROM ${table} t WHERE t._key = $1`,
      [key],
    ),
  );
  const past = await db
    .selectFrom('record_history as h')
    .leftJoin('ingest_batch as b', 'b.id', 'h.replaced_by_batch')
    .select([
      'h.version',
      'h.op',
      'h.data',
      'h.batch_id',
      'h.valid_from',
      'h.valid_to',
      'h.replaced_by_batch',
    ])
    .where('h.resource_id', '=', resourceId)
    .where('h.rkey', '=', key)
    .orderBy('h.valid_to', 'desc')
    .orderBy('h.version', 'desc')
    .limit(200)
    .execute();
  return { current: cur.rows[0] ?? null, past };
}

export async function countRows(trx: Db | Tx, table: string): Promise<number> {
  const { rows } = await sql.raw<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`).execute(trx);
  return rows[0].n;
}
