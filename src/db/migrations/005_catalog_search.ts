import { type Kysely, sql } from 'kysely';

/**
 * Chinese full-text catalog search (issue 6 point 11). `search_doc` holds jieba-segmented tokens (cutForSearch) of
 * name and keywords (weight A), summary (B), field names (C), code and provider name (D), space-joined and parsed with
 * the `simple` configuration, so a 2-character word is a lexeme of its own and a GIN index finds it. The document is
 * built in JS at write time (src/catalog/search.ts); rows written before this migration are filled in at start-up
 * (backfillSearchDocuments, idempotent: only rows whose document is NULL). Codes are searched by prefix,
 * case-insensitively, through the expression index.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE resource ADD COLUMN search_doc tsvector;
    CREATE INDEX resource_search_idx ON resource USING gin (search_doc);
    CREATE INDEX resource_code_lower_idx ON resource (lower(code) text_pattern_ops);
  `.execute(db);
}
