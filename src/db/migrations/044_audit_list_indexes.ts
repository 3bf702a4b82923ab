import { type Kysely, sql } from 'kysely';

/*
 * The auditor's list at province scale (issue 10 point 12). `listAudit` now pages newest first by (occurred_at, id)
 * and counts at most 10 001 matching rows; these indexes let each of its filters read its newest rows in that order
 * and stop, in every monthly partition (an index on the partitioned parent is created on every partition, present and
 * future, by PostgreSQL itself — the same statement on PGlite and on the server):
 *
 *   audit_log_time_id_idx      (occurred_at DESC, id DESC)             — the unfiltered list and a time range; it
 *                                                                        replaces audit_log_time_idx (occurred_at DESC)
 *   audit_log_app_time_idx     (app_id, occurred_at DESC, id DESC)     — one app's calls
 *   audit_log_org_time_idx     (actor_org_id, occurred_at DESC, id DESC) — one department's
 *   audit_log_user_time_idx    (actor_user_id, occurred_at DESC, id DESC) — one person's
 *   audit_log_grant_time_idx   (grant_id, occurred_at DESC, id DESC)   — a grant's calls (drill-down from a grant)
 *   audit_log_resource_time_idx (resource_id, occurred_at DESC, id DESC) — a resource's
 *   audit_log_deny_time_idx    (occurred_at DESC, id DESC) WHERE decision = 'deny' — the refusals
 *
 * The id-keyed columns are partial (IS NOT NULL): most rows have no app, or no person, and those never match the
 * filter. audit_log_action_time_idx (action, occurred_at) and audit_log_target_idx (target_id) already serve the
 * action and record-key filters; audit_log_resource_idx (resource_id, id DESC) stays for the resource's own views.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE INDEX audit_log_time_id_idx ON audit_log (occurred_at DESC, id DESC);
    DROP INDEX audit_log_time_idx;
    CREATE INDEX audit_log_app_time_idx ON audit_log (app_id, occurred_at DESC, id DESC) WHERE app_id IS NOT NULL;
    CREATE INDEX audit_log_org_time_idx ON audit_log (actor_org_id, occurred_at DESC, id DESC)
      WHERE actor_org_id IS NOT NULL;
    CREATE INDEX audit_log_user_time_idx ON audit_log (actor_user_id, occurred_at DESC, id DESC)
      WHERE actor_user_id IS NOT NULL;
    CREATE INDEX audit_log_grant_time_idx ON audit_log (grant_id, occurred_at DESC, id DESC) WHERE grant_id IS NOT NULL;
    CREATE INDEX audit_log_resource_time_idx ON audit_log (resource_id, occurred_at DESC, id DESC)
      WHERE resource_id IS NOT NULL;
    CREATE INDEX audit_log_deny_time_idx ON audit_log (occurred_at DESC, id DESC) WHERE decision = 'deny';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE INDEX audit_log_time_idx ON audit_log (occurred_at DESC);
    DROP INDEX audit_log_time_id_idx, audit_log_app_time_idx, audit_log_org_time_idx, audit_log_user_time_idx,
      audit_log_grant_time_idx, audit_log_resource_time_idx, audit_log_deny_time_idx;
  `.execute(db);
}
