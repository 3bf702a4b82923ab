import { type Kysely, sql } from 'kysely';

/*
 * Issue 7 (aggregation), speed and enumerations:
 * - ingest_staging becomes UNLOGGED and loses its foreign key: it is filled by COPY and emptied by the merge, and is
 *   never the only copy of anything (an interrupted import restarts from its spooled file and first clears what it
 *   staged; crash recovery truncating the table changes nothing). No WAL for the staged rows, no per-row key check.
 * - resource_field.allowed_values: an optional code table (the values a field may take, e.g. 性别 男/女), checked on
 *   ingest (ENUM_VALUE). At most 500 values; each value is bounded by the catalog's validation.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE ingest_staging DROP CONSTRAINT IF EXISTS ingest_staging_batch_id_fkey;
    ALTER TABLE ingest_staging SET UNLOGGED;
    ALTER TABLE resource_field ADD COLUMN allowed_values jsonb
      CHECK (allowed_values IS NULL OR (jsonb_typeof(allowed_values) = 'array'
        AND jsonb_array_length(allowed_values) BETWEEN 1 AND 500));
  `.execute(db);
}
