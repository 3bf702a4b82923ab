import { type Kysely, sql } from 'kysely';

/*
 * Opening (issue 11): usage counters of the public portal per dataset and day (views, previews, downloads, API
 * calls), incremented in the transaction that writes the access's audit record, so charts can be drawn from them.
 * resource_id first and no foreign key: distributable with the resource's data (Citus) and independent of other
 * features' migrations.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE open_usage (
      resource_id bigint NOT NULL,
      day date NOT NULL,
      views integer NOT NULL DEFAULT 0,
      previews integer NOT NULL DEFAULT 0,
      downloads integer NOT NULL DEFAULT 0,
      api_calls integer NOT NULL DEFAULT 0,
      PRIMARY KEY (resource_id, day)
    );
    CREATE INDEX resource_open_idx ON resource (open_type, status);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE open_usage; DROP INDEX resource_open_idx;`.execute(db);
}
