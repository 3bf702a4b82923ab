import { type Kysely, sql } from 'kysely';

/*
 * The per-recipient watermark of bulk exports (issue 10 point 2; src/dataapi/watermark.ts, docs/AUDIT.md): each export
 * records the watermark scheme its file carries (`csv-quote/1`: keyed CSV quoting), or NULL when it carries none (NDJSON,
 * XLSX, and every export made before this migration), so leak tracing compares a file's quoting only with the exports
 * that were marked. Nothing of the mark itself is stored: it is recomputed from the platform secret and the export id.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE data_export ADD COLUMN watermark text CHECK (length(watermark) <= 40)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE data_export DROP COLUMN watermark`.execute(db);
}
