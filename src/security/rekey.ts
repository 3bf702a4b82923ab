import { CompiledQuery, sql } from 'kysely';
import { feedKeyRef } from '../dataapi/feed.js';
import type { Tx } from '../db/index.js';

/*
 * Rekeying a resource (docs/ENCRYPTION.md "Converting a record key"): rewrites every stored record key of one resource
 * from one form to another, with everything keyed by it, in the caller's transaction. The caller holds the resource
 * row (`FOR UPDATE`) and its table (`ACCESS EXCLUSIVE`), so no merge, read, export or feed call of the resource runs
 * meanwhile. Used by the conversion of a clear record-key field (key-convert.ts: clear key → its keyed hash `H1.…`), by
 * its reverse (`keys.decrypt` of a record key: keyed hash → clear key, the pseudonyms kept follow the keys back), and the
 * rotation of the lookup-index key (index-rotation.ts: old hash `H<n>.` → new hash `H<n+1>.` for every resource whose key
 * is hashed; it rewrites the libraries' keys itself, across the group).
 *
 * Set-based: the mapping goes into a temporary table `rekey_map (old, new, ref)`, then one `UPDATE … FROM` per place:
 *   - the resource table's `_key`;
 *   - record_history.rkey and record_change.rkey (the change feed: its `seq` cursors are untouched and no change row is
 *     added, so a consumer's cursor from before goes on with no spurious change);
 *   - record_key_ref (migration 046): the feed's key pseudonym `keyRef` is a keyed hash of the stored key; each new key
 *     keeps the pseudonym of the key it replaces (carried over if that one already had a kept pseudonym);
 *   - the records and conflicts of the base libraries named by the caller (those whose keys are this resource's keys);
 *     base_library_source holds field codes, no keys.
 * Not rewritten: the export ledger's key digests (data_export_row / data_export_batch). They are evidence of what an
 * export delivered, digested when it was delivered; leak tracing by key looks up the digest of the clear key and of
 * its keyed hash (dataapi/export.ts leakTrace), so an export from before the rekeying and one from after are both found.
 * Quality objections keep the key the objector typed (not a stored key).
 *
 * Every new key must differ from every old one (a unique index on `_key` is checked row by row): true of a clear key
 * and its `H1.` hash, and of two HMAC outputs under different keys.
 */

/** Rows sent to the mapping table per statement. */
const CHUNK = 5000;

export interface Rekey {
  resourceId: number;
  /** the resource's data table (`ds.r_<id>`) */
  table: string;
  /** the new stored form of an old stored key */
  map: (old: string) => string;
  /** the platform secret (the feed's key pseudonym) */
  secret: Buffer;
  /** base libraries whose record and conflict keys are this resource's keys: rekeyed with the same mapping */
  libraries?: number[];
  /**
   * Optional timing of the rekeying's parts (bench/encryption.ts), in ms: `collect` (reading every stored key),
   * `hash` (the new keys and pseudonyms computed in Node), `load` (the mapping table filled and analysed), `update`
   * (the `UPDATE … FROM`s and the pseudonyms); `unhash`, for keys.decrypt only (key-convert.ts clearKeys): every stored
   * hash traced back to its clear key, before the rekeying. Absent: nothing is timed.
   */
  timing?: (part: RekeyPart, ms: number) => void;
}

export type RekeyPart = 'unhash' | 'collect' | 'hash' | 'load' | 'update';

/** Rewrites the resource's stored keys and everything keyed by them; returns how many distinct keys were mapped. */
export async function rekeyResource(trx: Tx, r: Rekey): Promise<number> {
  if (!/^ds\.r_[0-9]+$/.test(r.table)) throw new Error(`not a resource table: ${r.table}`);
  const lap = lapTimer(r.timing);
  // every key the resource ever stored: current records, replaced or deleted versions, changes
  const { rows } = await sql<{ k: string }>`
    SELECT _key AS k FROM ${sql.raw(r.table)}
    UNION SELECT rkey FROM record_history WHERE resource_id = ${r.resourceId}
    UNION SELECT rkey FROM record_change WHERE resource_id = ${r.resourceId}`.execute(trx);
  lap?.('collect');
  await sql`CREATE TEMP TABLE rekey_map (old text PRIMARY KEY, new text NOT NULL, ref text NOT NULL) ON COMMIT DROP`.execute(
    trx,
  );
  for (let i = 0; i < rows.length; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK).map((x) => x.k);
    lap?.('load');
    const mapped = [part, part.map(r.map), part.map((k) => feedKeyRef(r.secret, r.resourceId, k))];
    lap?.('hash');
    await trx.executeQuery(
      CompiledQuery.raw(
        'INSERT INTO rekey_map (old, new, ref) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])',
        mapped,
      ),
    );
  }
  await sql`ANALYZE rekey_map`.execute(trx);
  lap?.('load');
  await sql.raw(`UPDATE ${r.table} t SET _key = m.new FROM rekey_map m WHERE t._key = m.old`).execute(trx);
  await sql`UPDATE record_history h SET rkey = m.new FROM rekey_map m
    WHERE h.resource_id = ${r.resourceId} AND h.rkey = m.old`.execute(trx);
  await sql`UPDATE record_change c SET rkey = m.new FROM rekey_map m
    WHERE c.resource_id = ${r.resourceId} AND c.rkey = m.old`.execute(trx);
  // the feed's pseudonyms: one kept from an earlier rekeying follows its key; every other key keeps the one it had
  await sql`UPDATE record_key_ref k SET rkey = m.new FROM rekey_map m
    WHERE k.resource_id = ${r.resourceId} AND k.rkey = m.old`.execute(trx);
  await sql`INSERT INTO record_key_ref (resource_id, rkey, ref)
    SELECT ${r.resourceId}, m.new, m.ref FROM rekey_map m ON CONFLICT (resource_id, rkey) DO NOTHING`.execute(
    trx,
  );
  if (r.libraries?.length) {
    await sql`UPDATE base_library_record b SET key = m.new FROM rekey_map m
      WHERE b.library_id = ANY (${r.libraries}::bigint[]) AND b.key = m.old`.execute(trx);
    await sql`UPDATE base_library_conflict c SET key = m.new FROM rekey_map m
      WHERE c.library_id = ANY (${r.libraries}::bigint[]) AND c.key = m.old`.execute(trx);
  }
  await sql`DROP TABLE rekey_map`.execute(trx);
  lap?.('update');
  return rows.length;
}

/** Adds the time since the previous lap to `part` (undefined without a timing callback: nothing is timed). */
function lapTimer(timing: Rekey['timing']) {
  if (!timing) return undefined;
  let t = performance.now();
  return (part: RekeyPart) => {
    const now = performance.now();
    timing(part, now - t);
    t = now;
  };
}
