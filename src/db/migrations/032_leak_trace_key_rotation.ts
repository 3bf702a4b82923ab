import { type Kysely, sql } from 'kysely';

/*
 * Leak tracing by file (issue 10 point 2): the export ledger gains one compact per-cell digest per delivered row, so a
 * leaked file with some columns dropped (or reordered) still matches the rows it came from.
 *
 * data_export_row.cell_tags: for each field of the export, in the export's field order, the first 4 bytes of
 * HMAC-SHA256(platform secret, "cell\n" ‖ field code ‖ "\n" ‖ the delivered cell's text) — 4 bytes × fields per row,
 * written by the same INSERT as the row's key and row digests (no extra statement, no extra index). Rows written
 * before this migration keep NULL and are matched by their whole-row digest only.
 *
 * API key rotation with overlap (issue 10 point 7): app.prev_key_hash (SHA-256 of the replaced key, unique like
 * key_hash) is accepted by the data API until app.prev_key_until; after that only the new key works. The governed
 * statement's join on the app accepts either (both unique-indexed), so rotation adds no query to a call.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE data_export_row ADD COLUMN cell_tags bytea`.execute(db);
  await sql`ALTER TABLE app ADD COLUMN prev_key_hash text UNIQUE, ADD COLUMN prev_key_until timestamptz`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE app DROP COLUMN prev_key_hash, DROP COLUMN prev_key_until`.execute(db);
  await sql`ALTER TABLE data_export_row DROP COLUMN cell_tags`.execute(db);
}
