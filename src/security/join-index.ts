import { CompiledQuery, sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { indexColumn } from '../catalog/model.js';
import { getFields, type StoredField } from '../catalog/store.js';
import type { AppContext } from '../context.js';
import type { Db, Tx } from '../db/index.js';
import { updateChunk } from './history-walk.js';
import { indexText, normalisedText } from './index-text.js';

/*
 * The join index of a clear base-library join key (docs/ENCRYPTION.md "A base-library join key shared with other
 * resources", migration 051). A library is HASH-KEYED when one of its sources stores its join key encrypted: its
 * records and conflicts are keyed by the keyed hash of the key (`H<n>.…`), and its assembly joins on `c<n>_h`. A CLEAR
 * source of such a library keeps its values clear (its department did not flag the field) but carries a join index:
 * `c<n>_h` beside the column, the keyed hash of the value's canonical text (index-text.ts `indexText`) under the
 * resource's index-key version — exactly what an encrypted field's lookup index holds for the same value, whatever its
 * type or spelling (`resource_field.join_indexed`).
 *
 * Written here, in the caller's transaction:
 *   - when the join key of another source is converted (key-convert.ts `convertResource`, the group transaction):
 *     the column added, backfilled from the clear values, indexed, the flag set (`addJoinIndex`), audited
 *     `key.joinIndexed` on the source;
 *   - by every merge of an import (ingest/pipeline.ts) for the rows it wrote (`_batch_id` = the batch), and by a
 *     rollback (ingest/service.ts) for the rows it restored (`writeJoinIndex`) — computed in the merge's transaction
 *     with the version read under the resource's row lock, rather than carried through staging: the merge then never
 *     depends on the storage read when the import started, and a rollback restoring a version from record_history
 *     (which keeps no join index) gets its index too;
 *   - by the index-key rotation's table walk (index-rotation.ts `rehashTable`).
 * record_history and ingest_quarantine keep no join index: the library never reads them.
 */

type Keys = AppContext['fieldKeys'];
const CHUNK = 2000;

/** The keyed hash under the resource's own index-key version (loaded first if this node lacks it). */
export async function resourceIndex(
  trx: Tx | Db,
  keys: Keys,
  resourceId: number,
): Promise<(v: string) => string> {
  const r = await trx
    .selectFrom('resource')
    .select('index_key')
    .where('id', '=', resourceId)
    .executeTakeFirstOrThrow();
  await keys.ensureIndex(r.index_key, trx);
  return (v) => keys.index(v, r.index_key);
}

type JoinColumn = Pick<StoredField, 'columnName' | 'type' | 'validator'>;

/** The clear columns of `fields` that carry a join index. */
export const joinIndexedColumns = <F extends JoinColumn & Pick<StoredField, 'joinIndexed' | 'encrypted'>>(
  fields: ReadonlyArray<F>,
): F[] => fields.filter((f) => f.joinIndexed && !f.encrypted);

/**
 * (Re)computes the join index of `columns` for the rows `where` selects (an SQL condition on the table, its
 * parameters from `$2`), in chunks of 2 000 by `_seq`. Returns the number of rows written.
 */
export async function writeJoinIndex(
  trx: Tx,
  table: string,
  fields: ReadonlyArray<JoinColumn>,
  index: (v: string) => string,
  where = 'TRUE',
  params: unknown[] = [],
): Promise<number> {
  if (!fields.length) return 0;
  const columns = fields.map((f) => f.columnName);
  if (!/^ds\.r_[0-9]+$/.test(table) || columns.some((c) => !/^c[0-9]+$/.test(c)))
    throw new Error(`not a resource table or column: ${table} ${columns}`);
  let after = '0';
  let total = 0;
  for (;;) {
    const rows = (
      await trx.executeQuery<Record<string, unknown>>(
        CompiledQuery.raw(
          `SELECT _seq, ${fields.map((f) => `${normalisedText(f, f.columnName)} AS ${f.columnName}`).join(', ')} FROM ${table}
           WHERE _seq > $1 AND (${where}) ORDER BY _seq LIMIT ${CHUNK}`,
          [after, ...params],
        ),
      )
    ).rows;
    if (!rows.length) return total;
    await updateChunk(
      trx,
      table,
      rows,
      fields.map((f) => [
        indexColumn(f.columnName),
        // the hash of the value's canonical text, as ingest hashes an encrypted field's value (index-text.ts)
        rows.map((r) => {
          const v = r[f.columnName];
          return v === null || v === undefined ? null : index(indexText(f, String(v)));
        }),
      ]),
    );
    total += rows.length;
    after = String(rows[rows.length - 1]._seq);
  }
}

/** An import's merge (or rollback) wrote rows of a resource: their join index, under the resource's version. */
export async function joinIndexAfterWrite(
  trx: Tx,
  keys: Keys,
  resourceId: number,
  table: string,
  fields: StoredField[],
  where: string,
  params: unknown[],
): Promise<number> {
  const columns = joinIndexedColumns(fields);
  if (!columns.length) return 0;
  return writeJoinIndex(trx, table, columns, await resourceIndex(trx, keys, resourceId), where, params);
}

/**
 * A clear source's join key gets its join index (the caller holds the resource row and its table): the column added,
 * backfilled from every row's clear value, indexed, the flag set; audited `key.joinIndexed` on the resource.
 */
export async function addJoinIndex(
  trx: Tx,
  keys: Keys,
  resourceId: number,
  table: string,
  field: StoredField,
  detail: Record<string, unknown>,
): Promise<number> {
  const h = indexColumn(field.columnName);
  await sql.raw(`ALTER TABLE ${table} ADD COLUMN ${h} text`).execute(trx);
  const rows = await writeJoinIndex(trx, table, [field], await resourceIndex(trx, keys, resourceId));
  await sql.raw(`CREATE INDEX r_${resourceId}_${h} ON ${table} (${h})`).execute(trx);
  await trx
    .updateTable('resource_field')
    .set({ join_indexed: true })
    .where('resource_id', '=', resourceId)
    .where('ordinal', '=', field.ordinal)
    .execute();
  await appendAudit(trx, {
    action: 'key.joinIndexed',
    decision: 'allow',
    resourceId,
    targetType: 'resource',
    targetId: resourceId,
    detail: { field: field.code, rows, ...detail },
  });
  return rows;
}

/**
 * A library's record and conflict keys rewritten by `map` (clear key → its keyed hash, when the library becomes
 * hash-keyed), set-based through a temporary mapping table. Returns the number of records rekeyed.
 */
export async function rekeyLibrary(trx: Tx, libraryId: number, map: (k: string) => string): Promise<number> {
  const { rows } = await sql<{ k: string }>`
    SELECT key AS k FROM base_library_record WHERE library_id = ${libraryId}
    UNION SELECT key FROM base_library_conflict WHERE library_id = ${libraryId}`.execute(trx);
  if (!rows.length) return 0;
  await sql`CREATE TEMP TABLE library_key_map (old text PRIMARY KEY, new text NOT NULL) ON COMMIT DROP`.execute(
    trx,
  );
  for (let i = 0; i < rows.length; i += 5000) {
    const part = rows.slice(i, i + 5000).map((r) => r.k);
    await trx.executeQuery(
      CompiledQuery.raw(
        'INSERT INTO library_key_map (old, new) SELECT * FROM unnest($1::text[], $2::text[])',
        [part, part.map(map)],
      ),
    );
  }
  const recs = await sql`UPDATE base_library_record b SET key = m.new FROM library_key_map m
    WHERE b.library_id = ${libraryId} AND b.key = m.old`.execute(trx);
  await sql`UPDATE base_library_conflict c SET key = m.new FROM library_key_map m
    WHERE c.library_id = ${libraryId} AND c.key = m.old`.execute(trx);
  await sql`DROP TABLE library_key_map`.execute(trx);
  return Number(recs.numAffectedRows ?? 0);
}

/**
 * The base libraries joining the resource on one of `codes`, by id (ascending), each with all its sources (the resource
 * among them, ascending by resource) and the field each is joined on (`field` undefined if the source lost it). Read by
 * the conversion (which libraries turn hash-keyed) and its reverse (which turn clear-keyed).
 */
export async function librariesJoining(
  db: Tx,
  resourceId: number,
  codes: string[],
): Promise<Map<number, { resourceId: number; keyField: string; field: StoredField | undefined }[]>> {
  const out = new Map<number, { resourceId: number; keyField: string; field: StoredField | undefined }[]>();
  if (!codes.length) return out;
  const { rows } = await sql<{ library_id: number; resource_id: number; key_field: string }>`
    SELECT DISTINCT library_id, resource_id, key_field FROM base_library_source
    WHERE library_id IN (SELECT library_id FROM base_library_source
      WHERE resource_id = ${resourceId} AND key_field = ANY (${codes}::text[]))
    ORDER BY library_id, resource_id`.execute(db);
  const fieldsOf = new Map<number, StoredField[]>();
  for (const r of rows) {
    const id = Number(r.resource_id);
    if (!fieldsOf.has(id)) fieldsOf.set(id, await getFields(db, id));
    const libraryId = Number(r.library_id);
    const sources = out.get(libraryId) ?? [];
    sources.push({
      resourceId: id,
      keyField: r.key_field,
      field: fieldsOf.get(id)?.find((x) => x.code === r.key_field),
    });
    out.set(libraryId, sources);
  }
  return out;
}
