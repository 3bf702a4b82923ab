import { type Kysely, sql } from 'kysely';

/*
 * Catalog search (issue 6 point 11): the GIN index on the search document without its pending list. With `fastupdate`
 * on (PostgreSQL's default) new entries wait in an unsorted list that every search scans until a vacuum merges it —
 * after a bulk import that is thousands of documents checked one by one on every query. The catalog is read far more
 * than it is written, so each write pays for its own index entries instead. Any list already pending is merged now.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER INDEX resource_search_idx SET (fastupdate = off)`.execute(db);
  await sql`SELECT gin_clean_pending_list('resource_search_idx'::regclass)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER INDEX resource_search_idx SET (fastupdate = on)`.execute(db);
}
