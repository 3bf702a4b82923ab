import { type Kysely, sql } from 'kysely';

/*
 * Usable but not visible (可用不可见, DG Art 33; 隐私计算, XT Art 35) and the clear-value right (issue 9 points 7 and 8).
 *
 * - share_grant.access_mode: 'rows' (records under the grant's other rights) or 'aggregate' (counts, sums, averages,
 *   min/max and distributions over the resource, grouped by granted fields, small cells suppressed: never a row).
 * - share_grant.clear_fields: the granted personal or sensitive fields this grant may see in clear; every other
 *   protected field is masked by the one masking implementation (src/dataapi/masking.ts). Bounded (≤ 200 codes).
 * Set where grants are issued (approval) and edited (PATCH /api/sharing/grants/:id), audited with before and after.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE share_grant
      ADD COLUMN access_mode text NOT NULL DEFAULT 'rows' CHECK (access_mode IN ('rows', 'aggregate')),
      ADD COLUMN clear_fields text[] NOT NULL DEFAULT '{}'::text[]
        CHECK (cardinality(clear_fields) <= 200 AND length(array_to_string(clear_fields, ',')) <= 8200);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE share_grant DROP COLUMN access_mode, DROP COLUMN clear_fields;`.execute(db);
}
