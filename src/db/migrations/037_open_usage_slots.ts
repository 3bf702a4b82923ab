import { type Kysely, sql } from 'kysely';

/*
 * open_usage gets a `slot` in its key (issue 11 speed). Every preview, download, CKAN datastore_search and page view
 * adds one to its dataset's counter of the day in the transaction that audits it; with one row per dataset and day,
 * every call on a popular dataset waited for the previous call's commit (the row lock is held until then):
 * bench/open-serve.ts measured datastore_search at ≈ 105 req/s under 50 clients, one commit at a time. An increment
 * now lands on one of OPEN_USAGE_SLOTS rows (chosen at random), so concurrent calls rarely meet on a row; readers sum
 * the slots of a day. Existing rows are slot 0.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE open_usage ADD COLUMN slot smallint NOT NULL DEFAULT 0;
    ALTER TABLE open_usage DROP CONSTRAINT open_usage_pkey;
    ALTER TABLE open_usage ADD PRIMARY KEY (resource_id, day, slot);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TEMP TABLE open_usage_sum AS SELECT resource_id, day, sum(views)::int AS views,
      sum(previews)::int AS previews, sum(downloads)::int AS downloads, sum(api_calls)::int AS api_calls
      FROM open_usage GROUP BY resource_id, day;
    DELETE FROM open_usage;
    ALTER TABLE open_usage DROP CONSTRAINT open_usage_pkey;
    ALTER TABLE open_usage DROP COLUMN slot;
    INSERT INTO open_usage (resource_id, day, views, previews, downloads, api_calls) SELECT * FROM open_usage_sum;
    DROP TABLE open_usage_sum;
    ALTER TABLE open_usage ADD PRIMARY KEY (resource_id, day);
  `.execute(db);
}
