import { type Kysely, sql } from 'kysely';

/*
 * Catalog search speed (issue 6 point 11): the name-and-keyword part of the search document as its own small column.
 *
 * Relevance ranks entries whose name or keywords match every query token first, then by cover density. Both used to
 * read the whole document (≈ 750 bytes: name, summary, field names, code, provider) for every matching row, with a
 * weight-restricted tsquery. The weight-A lexemes alone are ≈ 130 bytes; testing and ranking them is several times
 * cheaper and gives the same first key. Generated from `search_doc` by the database (ts_filter is immutable), so every
 * writer of the document — registration, editing, import, the benchmark's bulk insert — keeps it right without code.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE resource ADD COLUMN search_name tsvector GENERATED ALWAYS AS (ts_filter(search_doc, '{a}')) STORED`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE resource DROP COLUMN search_name`.execute(db);
}
