import { sql } from 'kysely';
import { getFields, type StoredField } from '../catalog/store.js';
import type { AppContext } from '../context.js';
import type { Tx } from '../db/index.js';
import { indexText } from './index-text.js';
import { addJoinIndex, rekeyLibrary, resourceIndex } from './join-index.js';
import { dropJoinIndex, fieldClearMap, joinIndexNeeded, libraryClearMap } from './join-reverse.js';
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
 *
 * The other way (since 2026-12-01): a save that leaves the library CLEAR-KEYED while it holds hashed keys re-keys them
 * back to clear with the reverse conversion's mapping (join-reverse.ts), and a save drops the join index of a source no
 * hash-keyed library joins any more (the reverse's rule). Lock order with the assembly: the library row first on both
 * sides (the save's first statement; assemble.ts `holdLibrary` in every step).
 */

type Keys = AppContext['fieldKeys'];

/** A hashed library key, `H<version>.…`; a clear ID number or credit code never contains a dot. */
const HASHED = /^H[0-9]+\./;

export interface LibraryJoinIndexed {
  joinIndexed: { resourceId: number; field: string; rows: number }[];
  /** records re-keyed clear → hash (the save turned a library holding clear keys hash-keyed) */
  rekeyed?: number;
  /** records re-keyed hash → clear (the save turned a library holding hashed keys clear-keyed) */
  rekeyedClear?: number;
  /** join indexes dropped: no hash-keyed library joins the source on that field any more */
  joinIndexDropped?: { resourceId: number; field: string }[];
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

/** A source of the library's definition before the save: the resource and the field the library joined it on. */
export interface PreviousSource {
  resourceId: number;
  keyField: string;
}

/**
 * After the library's (new) definition was written, in the save's transaction, with its sources locked
 * (`lockLibrarySources`; `previous` = the old definition's sources):
 *   - HASH-KEYED (a source stores the join key encrypted): every clear source whose join key has no join index gets one
 *     (`addJoinIndex`: column, backfill, index, flag; audited `key.joinIndexed` with the library), and a library still
 *     holding clear keys (the save turned it hash-keyed) has its records and conflicts re-keyed clear → hash, as the
 *     group conversion does (`rekeyLibrary`), so a resolved conflict keeps its state;
 *   - CLEAR-KEYED while its records or conflicts hold `H<n>.…` keys (the save dropped or replaced its only encrypted
 *     source): re-keyed index(clear) → clear with the reverse conversion's mapping (join-reverse.ts `libraryClearMap`:
 *     the clear sources' values, table and record_history, of the old and new definitions; plus the clear values of
 *     the encrypted sources the save removed, decrypted), KEY_DECRYPTION_UNMAPPED if a key has no clear form anywhere;
 *   - either way: the join index of a clear source of the old or new definition is dropped when no hash-keyed library
 *     joins it on that field any more (join-reverse.ts `joinIndexNeeded`, `dropJoinIndex`: audited
 *     `key.joinIndexDropped`) — a source removed from a hash-keyed library, or every clear source of a library turned
 *     clear-keyed.
 * The re-keying comes before any source table is taken (`ACCESS EXCLUSIVE`, id order, for the indexes added or
 * dropped). Every assembly step takes the library row first (assemble.ts `holdLibrary`), which the save holds
 * `FOR UPDATE` from its first statement, so the save and a step never hold each other's rows.
 */
export async function joinIndexLibrary(
  trx: Tx,
  keys: Keys,
  libraryId: number,
  detail: Record<string, unknown>,
  previous: PreviousSource[] = [],
): Promise<LibraryJoinIndexed | null> {
  const { rows } = await sql<{ resource_id: number; key_field: string }>`
    SELECT DISTINCT resource_id, key_field FROM base_library_source WHERE library_id = ${libraryId}
    ORDER BY resource_id`.execute(trx);
  const fieldsOf = new Map<number, StoredField[]>();
  const fieldOf = async (resourceId: number, code: string) => {
    if (!fieldsOf.has(resourceId)) fieldsOf.set(resourceId, await getFields(trx, resourceId));
    return fieldsOf.get(resourceId)?.find((f) => f.code === code);
  };
  const sources: { resourceId: number; field: StoredField }[] = [];
  for (const r of rows) {
    const field = await fieldOf(Number(r.resource_id), r.key_field);
    if (field) sources.push({ resourceId: Number(r.resource_id), field });
  }
  // the old definition's sources the new one no longer joins on that field
  const removed: { resourceId: number; field: StoredField }[] = [];
  for (const p of previous) {
    if (sources.some((s) => s.resourceId === p.resourceId && s.field.code === p.keyField)) continue;
    if (removed.some((s) => s.resourceId === p.resourceId && s.field.code === p.keyField)) continue;
    const field = await fieldOf(p.resourceId, p.keyField);
    if (field) removed.push({ resourceId: p.resourceId, field });
  }
  const hashed = sources.filter((s) => s.field.encrypted);
  const tables = new Map<number, string>();
  const tableFor = async (resourceId: number) => {
    if (!tables.has(resourceId)) tables.set(resourceId, await tableOf(trx, resourceId));
    return tables.get(resourceId) as string;
  };
  let rekeyed: number | undefined;
  let rekeyedClear: number | undefined;
  if (hashed.length) {
    // clear keys left from when the library was clear-keyed: hashed under the version of its encrypted source (its
    // keys' version; the rotation's walk maps them from there with the group). Before the tables are taken
    const clear = await sql<{ k: string }>`
      SELECT key AS k FROM base_library_record WHERE library_id = ${libraryId} AND key !~ '^H[0-9]+[.]'
      UNION ALL SELECT key FROM base_library_conflict WHERE library_id = ${libraryId} AND key !~ '^H[0-9]+[.]'
      LIMIT 1`.execute(trx);
    if (clear.rows.length) {
      const index = await resourceIndex(trx, keys, hashed[0].resourceId);
      // the hash of the key's canonical text (index-text.ts), as the encrypted source's lookup index holds it
      const f = hashed[0].field;
      rekeyed = await rekeyLibrary(trx, libraryId, (k) => (HASHED.test(k) ? k : index(indexText(f, k))));
    }
  } else {
    // clear-keyed now: hashed keys left from when it was hash-keyed are mapped back to clear (nothing is rewritten
    // before every key has its clear form)
    const left = await sql<{ k: string }>`
      SELECT key AS k FROM base_library_record WHERE library_id = ${libraryId} AND key ~ '^H[0-9]+[.]'
      UNION ALL SELECT key FROM base_library_conflict WHERE library_id = ${libraryId} AND key ~ '^H[0-9]+[.]'
      LIMIT 1`.execute(trx);
    if (left.rows.length) {
      // every index-key version the keys are under held by this node (indexAll hashes under the versions held)
      const versions = await sql<{ v: string }>`
        SELECT DISTINCT substring(key from '^H([0-9]+)[.]') AS v FROM base_library_record
        WHERE library_id = ${libraryId} AND key ~ '^H[0-9]+[.]'
        UNION SELECT substring(key from '^H([0-9]+)[.]') FROM base_library_conflict
        WHERE library_id = ${libraryId} AND key ~ '^H[0-9]+[.]'`.execute(trx);
      for (const r of versions.rows) await keys.ensureIndex(Number(r.v), trx);
      const clearSources = [...sources, ...removed].filter((s) => !s.field.encrypted);
      for (const s of clearSources) await tableFor(s.resourceId);
      const unhash = new Map<string, string>();
      // an encrypted source the save removed: its values decrypted (live and history) give their hashes' clear form
      for (const s of removed.filter((x) => x.field.encrypted))
        for (const [h, c] of await fieldClearMap(
          trx,
          keys,
          s.resourceId,
          await tableFor(s.resourceId),
          s.field,
        ))
          if (!unhash.has(h)) unhash.set(h, c);
      const map = await libraryClearMap(trx, keys, { libraryId, sources: clearSources }, unhash, tables);
      rekeyedClear = await rekeyLibrary(trx, libraryId, (k) => map.get(k) ?? k);
    }
  }
  // join indexes: added where the library is hash-keyed, dropped where no hash-keyed library needs them any more
  const missing = hashed.length ? sources.filter((s) => !s.field.encrypted && !s.field.joinIndexed) : [];
  const drop: { resourceId: number; field: StoredField }[] = [];
  for (const s of [...sources, ...removed]) {
    if (s.field.encrypted || !s.field.joinIndexed) continue;
    if (drop.some((d) => d.resourceId === s.resourceId && d.field.code === s.field.code)) continue;
    if (!(await joinIndexNeeded(trx, s.resourceId, s.field.code, { resourceId: 0, fields: [] }, [])))
      drop.push(s);
  }
  const altered = [...new Set([...missing, ...drop].map((s) => s.resourceId))].sort((a, b) => a - b);
  if (altered.length) {
    const names = [];
    for (const id of altered) names.push(await tableFor(id));
    await sql.raw(`LOCK TABLE ${names.join(', ')} IN ACCESS EXCLUSIVE MODE`).execute(trx);
  }
  const joinIndexed: LibraryJoinIndexed['joinIndexed'] = [];
  for (const s of missing) {
    // one resource, one key field per library (resolveSources picks it); indexed once
    if (joinIndexed.some((j) => j.resourceId === s.resourceId && j.field === s.field.code)) continue;
    const n = await addJoinIndex(trx, keys, s.resourceId, await tableFor(s.resourceId), s.field, {
      libraryId,
      ...detail,
    });
    joinIndexed.push({ resourceId: s.resourceId, field: s.field.code, rows: n });
  }
  for (const s of drop)
    await dropJoinIndex(trx, s.resourceId, await tableFor(s.resourceId), s.field, { libraryId, ...detail });
  if (!hashed.length && rekeyedClear === undefined && !drop.length) return null;
  return {
    joinIndexed,
    ...(rekeyed === undefined ? {} : { rekeyed }),
    ...(rekeyedClear === undefined ? {} : { rekeyedClear }),
    ...(drop.length
      ? { joinIndexDropped: drop.map((d) => ({ resourceId: d.resourceId, field: d.field.code })) }
      : {}),
  };
}
