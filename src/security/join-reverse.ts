import { CompiledQuery, sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { indexColumn } from '../catalog/model.js';
import type { StoredField } from '../catalog/store.js';
import type { AppContext } from '../context.js';
import type { Tx } from '../db/index.js';
import { AppError } from '../shared/errors.js';
import { indexText, normalisedText } from './index-text.js';
import { librariesJoining } from './join-index.js';

/*
 * The reverse of "A base-library join key shared with other resources" (docs/ENCRYPTION.md): resource A's record key
 * (or a non-key field of A, or one part of A's composite record key), stored encrypted, has its sensitive-personal flag
 * turned off (job `keys.decrypt`, key-convert.ts `decryptResource`) while base libraries join A and other resources S
 * on it (a non-key field or a part of a composite key: any library joining A on it, A its only source or not — no
 * record rekeying carries those keys, the libraries being keyed by the field's values, not by A's record keys). A's
 * part of a library's mapping comes from its clear record keys (`clearKeys`), or, for a field keyed apart from the
 * records (key-convert.ts `keyedApart`), from the field's decrypted values (`fieldClearMap`). In the job's one group transaction:
 *   - a library L none of whose other sources stores its join key encrypted becomes CLEAR-KEYED again: its records and
 *     conflicts are re-keyed index(clear) → clear (join-index.ts `rekeyLibrary`; a conflict keeps its id, state and
 *     resolution). The mapping comes from A's clear keys (key-convert.ts `clearKeys`, read before anything is
 *     rewritten) and from every S's clear values (its table and its record_history versions), each hashed under every
 *     index-key version held. A key of L no source holds (its clear form nowhere) refuses the job
 *     (KEY_DECRYPTION_UNMAPPED, nothing changed), as for A's own keys;
 *   - a library L that stays HASH-KEYED (another source stores the key encrypted) is not touched; A, now one of its
 *     clear sources, gets a join index (join-index.ts `addJoinIndex`);
 *   - the join index of a clear source S of a library that became clear-keyed is dropped when no hash-keyed library
 *     joins S on that field any more (`dropJoinIndex`, audited `key.joinIndexDropped`); kept otherwise.
 * The caller holds every resource row of the group (`FOR UPDATE`, id order) and their tables (`ACCESS EXCLUSIVE`).
 */

type Keys = AppContext['fieldKeys'];

export interface SharedLibrary {
  libraryId: number;
  /** the resource's own field the library joins it on */
  ownField: string;
  /** the library's other sources, each with the field the library joins it on */
  sources: { resourceId: number; field: StoredField }[];
  /** another source stores the join key encrypted: the library stays hash-keyed */
  staysHashed: boolean;
}

/**
 * The base libraries joining the resource on one of `codes` (fields being decrypted) and at least one other resource —
 * or, for a field in `alone` (a non-key join field or one part of a composite record key: no record rekeying carries
 * its libraries' keys), any library —,
 * each with whether it stays hash-keyed once those fields of the resource are clear.
 */
export async function sharedLibraries(
  db: Tx,
  resourceId: number,
  codes: string[],
  alone: string[] = [],
): Promise<SharedLibrary[]> {
  const out: SharedLibrary[] = [];
  for (const [libraryId, all] of await librariesJoining(db, resourceId, codes)) {
    const sources: SharedLibrary['sources'] = [];
    let ownField = '';
    for (const r of all) {
      if (r.resourceId === resourceId) {
        ownField = r.keyField;
        continue;
      }
      if (r.field) sources.push({ resourceId: r.resourceId, field: r.field });
    }
    if (!sources.length && !alone.includes(ownField)) continue;
    out.push({ libraryId, ownField, sources, staysHashed: sources.some((s) => s.field.encrypted) });
  }
  return out;
}

/** The resources the job locks: the resource and the other sources of every library that becomes clear-keyed. */
export const sharedGroup = (resourceId: number, libs: SharedLibrary[]) =>
  [
    ...new Set([
      resourceId,
      ...libs.filter((l) => !l.staysHashed).flatMap((l) => l.sources.map((s) => s.resourceId)),
    ]),
  ].sort((a, b) => a - b);

/**
 * For a library becoming clear-keyed: each of its keys (records and conflicts) → its clear form, from the resource's
 * own clear keys (`unhash`: stored hash → clear key) and the other sources' clear values (table and record_history),
 * hashed under every index-key version held. A key left without a clear form refuses: KEY_DECRYPTION_UNMAPPED.
 */
export async function libraryClearMap(
  trx: Tx,
  keys: Keys,
  lib: Pick<SharedLibrary, 'libraryId' | 'sources'>,
  unhash: Map<string, string>,
  tables: Map<number, string>,
): Promise<Map<string, string>> {
  const { rows } = await sql<{ k: string }>`
    SELECT key AS k FROM base_library_record WHERE library_id = ${lib.libraryId}
    UNION SELECT key FROM base_library_conflict WHERE library_id = ${lib.libraryId}`.execute(trx);
  const wanted = new Set(rows.map((r) => r.k));
  const out = new Map<string, string>();
  for (const [h, c] of unhash) if (wanted.has(h)) out.set(h, c);
  for (const s of lib.sources) {
    // the clear form is the value's canonical text (index-text.ts): what a clear-keyed assembly keys it by, and what
    // its hash was made from
    const add = (v: unknown) => {
      if (v === null || v === undefined) return;
      const clear = indexText(s.field, String(v));
      for (const h of keys.indexAll(clear)) if (wanted.has(h) && !out.has(h)) out.set(h, clear);
    };
    if (out.size === wanted.size) break;
    const table = tables.get(s.resourceId) as string;
    const col = s.field.columnName;
    if (!/^ds\.r_[0-9]+$/.test(table) || !/^c[0-9]+$/.test(col))
      throw new Error(`not a resource table or column: ${table} ${col}`);
    // the value as ingest normalised it (`normalisedText`), and as record_history keeps it (deleted records)
    const live = await trx.executeQuery<{ v: string | null }>(
      CompiledQuery.raw(`SELECT DISTINCT ${normalisedText(s.field, col)} AS v FROM ${table}`),
    );
    for (const r of live.rows) add(r.v);
    const hist = await trx.executeQuery<{ v: string | null }>(
      CompiledQuery.raw(
        `SELECT DISTINCT data->>${s.field.ordinal - 1} AS v FROM record_history WHERE resource_id = $1`,
        [s.resourceId],
      ),
    );
    for (const r of hist.rows) add(r.v);
  }
  const missing = [...wanted].filter((k) => !out.has(k)).length;
  if (missing)
    throw new AppError('KEY_DECRYPTION_UNMAPPED', [
      {
        field: 'libraryId',
        reason: `base library ${lib.libraryId}: ${missing} key(s) cannot be traced back to a clear key (no source holds it in its records or record_history); assemble the library again (it removes the conflicts of keys no source holds)`,
        reasonZh: `基础库 ${lib.libraryId} 有 ${missing} 个记录键无法还原为明文（各来源的现有记录与历史版本中均无对应值），请先重新归集该库（归集会移除已无来源的记录键的冲突）`,
      },
    ]);
  return out;
}

/**
 * An encrypted join field of a resource (a non-key field at keys.decrypt, before anything is rewritten; a source a
 * library save removes, security/library-join.ts): each keyed hash of each of its clear values (live rows and
 * record_history versions, decrypted; hashed under every index-key version held) → that clear value. What
 * `libraryClearMap` takes as the resource's part of a library's mapping, in place of the record keys' `clearKeys`.
 */
export async function fieldClearMap(
  trx: Tx,
  keys: Keys,
  resourceId: number,
  table: string,
  field: StoredField,
): Promise<Map<string, string>> {
  const col = field.columnName;
  if (!/^ds\.r_[0-9]+$/.test(table) || !/^c[0-9]+$/.test(col))
    throw new Error(`not a resource table or column: ${table} ${col}`);
  const out = new Map<string, string>();
  const add = (v: unknown) => {
    if (v === null || v === undefined) return;
    const plain = keys.decrypt(v) as string | null;
    if (plain === null || plain === undefined) return;
    const clear = indexText(field, String(plain));
    for (const h of keys.indexAll(clear)) if (!out.has(h)) out.set(h, clear);
  };
  const live = await trx.executeQuery<{ v: string | null }>(
    CompiledQuery.raw(`SELECT DISTINCT ${col} AS v FROM ${table}`),
  );
  for (const r of live.rows) add(r.v);
  const hist = await trx.executeQuery<{ v: string | null }>(
    CompiledQuery.raw(
      `SELECT DISTINCT data->>${field.ordinal - 1} AS v FROM record_history WHERE resource_id = $1`,
      [resourceId],
    ),
  );
  for (const r of hist.rows) add(r.v);
  return out;
}

/**
 * Whether a hash-keyed library (other than those in `becomingClear`) joins the resource on `field`, counting the
 * resource `decrypted` (whose `decryptedFields` are turning clear) as a clear source.
 */
export async function joinIndexNeeded(
  trx: Tx,
  resourceId: number,
  field: string,
  decrypted: { resourceId: number; fields: string[] },
  becomingClear: number[],
): Promise<boolean> {
  const { rows } = await sql<{ library_id: number }>`
    SELECT DISTINCT library_id FROM base_library_source
    WHERE resource_id = ${resourceId} AND key_field = ${field}
      AND NOT (library_id = ANY (${becomingClear}::bigint[]))`.execute(trx);
  for (const r of rows) {
    const { rows: enc } = await sql<{ x: number }>`
      SELECT 1 AS x FROM base_library_source s
      JOIN resource_field f ON f.resource_id = s.resource_id AND f.code = s.key_field
      WHERE s.library_id = ${r.library_id} AND f.encrypted
        AND NOT (s.resource_id = ${decrypted.resourceId} AND s.key_field = ANY (${decrypted.fields}::text[]))
      LIMIT 1`.execute(trx);
    if (enc.length) return true;
  }
  return false;
}

/**
 * A clear source's join index dropped (no hash-keyed library joins it on that field any more; the caller holds the
 * resource row and its table): the column and its index dropped, the flag cleared; audited `key.joinIndexDropped`.
 */
export async function dropJoinIndex(
  trx: Tx,
  resourceId: number,
  table: string,
  field: StoredField,
  detail: Record<string, unknown>,
): Promise<void> {
  if (!/^ds\.r_[0-9]+$/.test(table) || !/^c[0-9]+$/.test(field.columnName))
    throw new Error(`not a resource table or column: ${table} ${field.columnName}`);
  await sql.raw(`ALTER TABLE ${table} DROP COLUMN IF EXISTS ${indexColumn(field.columnName)}`).execute(trx);
  await trx
    .updateTable('resource_field')
    .set({ join_indexed: false })
    .where('resource_id', '=', resourceId)
    .where('ordinal', '=', field.ordinal)
    .execute();
  await appendAudit(trx, {
    action: 'key.joinIndexDropped',
    decision: 'allow',
    resourceId,
    targetType: 'resource',
    targetId: resourceId,
    detail: { field: field.code, ...detail },
  });
}
