import { type Kysely, sql } from 'kysely';

/*
 * audit_log_resource_idx (resource_id, id DESC), from the foundation, served the resource's audit list when that list
 * paged by id. Since migration 044 every reader of audit_log by resource (the auditor's list and its export, newest
 * first by (occurred_at, id)) uses audit_log_resource_time_idx (resource_id, occurred_at DESC, id DESC), and no query
 * orders one resource's records by id alone. Every governed data call paid for it: one index entry more per audit
 * row, on the hot path (issue 9's speed target). The plans of the auditor's queries do not change (bench:audit part C
 * prints them).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS audit_log_resource_idx`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX IF NOT EXISTS audit_log_resource_idx ON audit_log (resource_id, id DESC)`.execute(
    db,
  );
}
