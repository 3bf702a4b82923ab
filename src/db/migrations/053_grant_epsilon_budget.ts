import { type Kysely, sql } from 'kysely';

/*
 * A grant's own privacy budget for noisy aggregate answers (issue 9 point 7): `share_grant.max_epsilon_per_day`, the
 * epsilon the grant may spend per Beijing day, null for the platform's AGGREGATE_EPSILON_PER_DAY, like the grant's
 * other daily quotas. Bounded as the platform setting is (above 0, at most 1000), so a day's aggregate_budget row still
 * holds at most 1000 / AGGREGATE_EPSILON_MIN request digests. `aggregate_budget.per_day` records the budget the day's
 * last charge was checked against (the upsert re-checks the locked row against it; null on rows written before 053).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE share_grant ADD COLUMN max_epsilon_per_day double precision
      CHECK (max_epsilon_per_day IS NULL OR (max_epsilon_per_day > 0 AND max_epsilon_per_day <= 1000))`.execute(
    db,
  );
  await sql`ALTER TABLE aggregate_budget ADD COLUMN per_day double precision`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE aggregate_budget DROP COLUMN per_day`.execute(db);
  await sql`ALTER TABLE share_grant DROP COLUMN max_epsilon_per_day`.execute(db);
}
