import { type Kysely, sql } from 'kysely';

/*
 * Rotation of the platform's lookup-index key (docs/ENCRYPTION.md "Rotating the lookup-index key"). The index key (the
 * keyed hash behind every `c<n>_h`, every hashed `_key`, the keyed `_hash`) gets versions: `field_key` rows of scope 0,
 * purpose 'index', version n (active = the one new resources get; retiring = still used by resources not yet
 * converted; retired = kept for leak tracing of exports delivered before). A stored hash names its version (`H<n>.`).
 * `resource.index_key` is the version of the index key the resource's stored hashes are under: switched by the
 * rotation job in the same transaction that rewrites them, and read by every by-key lookup of the resource.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE resource ADD COLUMN index_key integer NOT NULL DEFAULT 1 CHECK (index_key > 0)`.execute(
    db,
  );
}

/**
 * Back to one index key. Only before any rotation: once a resource's hashes are under a later version (`H2.…`), the
 * earlier code (which knows one index key and writes `H1.`) could not look them up, so the down path refuses.
 */
export async function down(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM field_key WHERE scope_id = 0 AND purpose = 'index' AND version > 1`.execute(
    db,
  );
  if (rows[0].n > 0)
    throw new Error(
      'the lookup-index key was rotated: stored hashes are under a later version, cannot go back',
    );
  await sql`ALTER TABLE resource DROP COLUMN index_key`.execute(db);
}
