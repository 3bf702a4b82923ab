import { type Kysely, sql } from 'kysely';

/*
 * Rekeying a resource's records (docs/ENCRYPTION.md "Converting a record key"): the change feed gives every change a
 * stable pseudonym of its record key, `keyRef` (src/dataapi/feed.ts), which a syncing consumer matches upserts and
 * deletes by. It is a keyed hash of the key as stored (`_key` / `record_change.rkey`). When a conversion rewrites the
 * stored keys (a clear record key becoming its keyed hash), record_key_ref keeps, per new stored key, the pseudonym the
 * consumers already know (computed from the old key), so the feed's keyRef does not change for any record. A key never
 * rekeyed has no row (its keyRef is computed as before). `ref` is that pseudonym (a keyed hash), never the key.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE record_key_ref (
      resource_id bigint NOT NULL,
      rkey text NOT NULL,
      ref text NOT NULL CHECK (length(ref) <= 64),
      PRIMARY KEY (resource_id, rkey)
    )
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE record_key_ref`.execute(db);
}
