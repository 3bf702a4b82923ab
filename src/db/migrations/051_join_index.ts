import { type Kysely, sql } from 'kysely';

/*
 * Join index of a clear base-library join key (docs/ENCRYPTION.md "A base-library join key shared with other
 * resources"). A library is hash-keyed when one of its sources stores its join key encrypted (its keys are then the
 * keyed hash `H<n>.…` of the key); each CLEAR source of such a library carries a join index: `c<n>_h` beside its clear
 * column, the keyed hash of the value under the resource's index-key version, exactly what an encrypted field has —
 * the value itself stays clear (its department did not flag it). `resource_field.join_indexed` says the column has one:
 * ingest writes it, the index-key rotation recomputes it, and assembly joins the source on it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE resource_field ADD COLUMN join_indexed boolean NOT NULL DEFAULT false`.execute(db);
}

/**
 * Without the flag. Only while no column carries a join index: the earlier code would then assemble a hash-keyed
 * library joining its clear sources on their clear values, which meet none of the library's hashed keys, and an import
 * would leave the `c<n>_h` columns stale; so the down path refuses.
 */
export async function down(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM resource_field WHERE join_indexed`.execute(db);
  if (rows[0].n > 0)
    throw new Error(
      'join indexes are in use (a clear source of a hash-keyed base library): the earlier code cannot maintain them, cannot go back',
    );
  await sql`ALTER TABLE resource_field DROP COLUMN join_indexed`.execute(db);
}
