import { sql } from 'kysely';
import { getFields, type StoredField } from '../catalog/store.js';
import type { AppContext } from '../context.js';
import type { Tx } from '../db/index.js';
import { addJoinIndex, rekeyLibrary, resourceIndex } from './join-index.js';
import { tableOf } from './key-service.js';

/*
 * A library definition saved (created or edited, src/baselib/service.ts `saveLibrary`) so that the library is
 * HASH-KEYED (one of its sources stores its join key encrypted) while a CLEAR source has no join index: a source just
 * added, a source whose key was clear before migration 051 (or before the join index existed for it), or every clear
 * source of a library that the save itself turns hash-keyed by adding an encrypted source. docs/ENCRYPTION.md "A
 * base-library join key shared with other resources".
 *
 * Done in the SAVE'S OWN TRANSACTION, not as a queued job: the definition and the join indexes it needs commit together,
 * so there is never a committed definition whose assembly would be refused for a missing index (the assembly's refusal
 * stays as the safety net, loadPlan). The cost is the backfill of the source's table inside the save (the same work and
 * pause as the group conversion's part for that source, `addJoinIndex`).
 *
 * Concurrency: the rows of every source of the old and new definition are locked `FOR UPDATE` in id order (as the
 * conversion `keys.encrypt` and the index-key rotation's walk take them, which orders the save with their groups and
 * with every import merge / rollback of those resources), and only then are the fields read: a conversion that makes
 * the library hash-keyed has either committed (the save sees it and indexes the clear sources) or has not begun (it then
 * sees the new definition after its own locks). The tables that get an index are taken `ACCESS EXCLUSIVE` in id order.
 * An import of such a source running meanwhile: its merge holds the row, so the save waits for it and backfills the rows
 * it merged; a merge after the save reads `join_indexed` with the row held and writes the index of its rows itself
 * (ingest/pipeline.ts `joinIndexAfterWrite`); an import that staged before the save is unaffected (staging holds no join
 * index, the merge computes it).
 *
 * Index-key version: each join index is computed under its own resource's version (`resourceIndex`), as merges and the
 * rotation's walk compute it, so the walk can convert it later. The sources read by hash are on one version except
 * during an index-key rotation (a source created under the new version, or one the walk has not reached); the assembly
 * refuses then (INDEX_KEY_ROTATING) until the walk has put the library's sources — one group now — on one version.
 */

type Keys = AppContext['fieldKeys'];

/** A hashed library key, `H<version>.…`; a clear ID number or credit code never contains a dot. */
const HASHED = /^H[0-9]+\./;

export interface LibraryJoinIndexed {
  joinIndexed: { resourceId: number; field: string; rows: number }[];
  /** records re-keyed clear → hash (the save turned a library holding clear keys hash-keyed) */
  rekeyed?: number;
}

/**
 * Locks the resources `resourceIds` (the sources of the library's old and new definitions) in id order. Call before the
 * definition is rewritten and before `joinIndexLibrary` reads their fields.
 */
export async function lockLibrarySources(trx: Tx, resourceIds: number[]): Promise<void> {
  const ids = [...new Set(resourceIds)].sort((a, b) => a - b);
  if (ids.length)
    await sql`SELECT id FROM resource WHERE id = ANY (${ids}::bigint[]) ORDER BY id FOR UPDATE`.execute(trx);
}

/**
 * After the library's (new) definition was written, in the save's transaction, with its sources locked
 * (`lockLibrarySources`): if the library is hash-keyed, every clear source whose join key has no join index gets one
 * (`addJoinIndex`: column, backfill, index, flag; audited `key.joinIndexed` with the library), and a library still
 * holding clear keys (the save turned it hash-keyed) has its records and conflicts re-keyed clear → hash, as the group
 * conversion does (`rekeyLibrary`), so a resolved conflict keeps its state. A clear-keyed library: nothing.
 */
export async function joinIndexLibrary(
  trx: Tx,
  keys: Keys,
  libraryId: number,
  detail: Record<string, unknown>,
): Promise<LibraryJoinIndexed | null> {
  const { rows } = await sql<{ resource_id: number; key_field: string }>`
    SELECT DISTINCT resource_id, key_field FROM base_library_source WHERE library_id = ${libraryId}
    ORDER BY resource_id`.execute(trx);
  const sources: { resourceId: number; field: StoredField }[] = [];
  for (const r of rows) {
    const field = (await getFields(trx, Number(r.resource_id))).find((f) => f.code === r.key_field);
    if (field) sources.push({ resourceId: Number(r.resource_id), field });
  }
  const hashed = sources.filter((s) => s.field.encrypted);
  if (!hashed.length) return null;
  // clear keys left from when the library was clear-keyed: hashed under the version of its encrypted source (its keys'
  // version; the rotation's walk maps them from there with the group). Before the tables are taken: an assembly step of
  // the library holding its records and waiting for a source table would otherwise deadlock with the save
  const clear = await sql<{ k: string }>`
    SELECT key AS k FROM base_library_record WHERE library_id = ${libraryId} AND key !~ '^H[0-9]+[.]'
    UNION ALL SELECT key FROM base_library_conflict WHERE library_id = ${libraryId} AND key !~ '^H[0-9]+[.]'
    LIMIT 1`.execute(trx);
  let rekeyed: number | undefined;
  if (clear.rows.length) {
    const index = await resourceIndex(trx, keys, hashed[0].resourceId);
    rekeyed = await rekeyLibrary(trx, libraryId, (k) => (HASHED.test(k) ? k : index(k)));
  }
  const missing = sources.filter((s) => !s.field.encrypted && !s.field.joinIndexed);
  const tables = new Map<number, string>();
  for (const s of missing) tables.set(s.resourceId, await tableOf(trx, s.resourceId));
  if (missing.length)
    await sql
      .raw(`LOCK TABLE ${[...new Set(tables.values())].join(', ')} IN ACCESS EXCLUSIVE MODE`)
      .execute(trx);
  const joinIndexed: LibraryJoinIndexed['joinIndexed'] = [];
  for (const s of missing) {
    // one resource, one key field per library (resolveSources picks it); indexed once
    if (joinIndexed.some((j) => j.resourceId === s.resourceId && j.field === s.field.code)) continue;
    const n = await addJoinIndex(trx, keys, s.resourceId, tables.get(s.resourceId) as string, s.field, {
      libraryId,
      ...detail,
    });
    joinIndexed.push({ resourceId: s.resourceId, field: s.field.code, rows: n });
  }
  return rekeyed === undefined ? { joinIndexed } : { joinIndexed, rekeyed };
}
