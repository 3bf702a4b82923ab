import { type Kysely, sql } from 'kysely';

/*
 * The privacy budget of noisy aggregate queries (issue 9 point 7, docs/SECURITY.md "Aggregates"): per grant and
 * Beijing day, the epsilon its noisy answers have spent and the digests of the requests already answered today (a
 * repeated request over unchanged data returns the same noise, so it is not charged again). Bounded: every charged
 * request costs at least AGGREGATE_EPSILON_MIN, so a day's row holds at most AGGREGATE_EPSILON_PER_DAY /
 * AGGREGATE_EPSILON_MIN digests. Keyed by grant (a Citus deployment co-locates it with share_grant).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE aggregate_budget (
      grant_id bigint NOT NULL,
      day date NOT NULL,
      spent double precision NOT NULL CHECK (spent >= 0),
      requests text[] NOT NULL DEFAULT '{}',
      PRIMARY KEY (grant_id, day)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE aggregate_budget`.execute(db);
}
