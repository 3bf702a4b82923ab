import { type Kysely, sql } from 'kysely';

/*
 * The governed data API, complete (issue 9). A grant carries the purpose it was approved for and an id for it that
 * consumers send as `X-Purpose` (DG Art 26, XT Art 25, SY Art 29, GD Art 21), and its rights: reading records (false =
 * a verification-only grant), verification (核验, DG Art 19), the verification calls per day. No foreign keys are added
 * (share_grant stays distributable).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE share_grant
      ADD COLUMN purpose_id text NOT NULL
        DEFAULT ('pur_' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16)),
      ADD COLUMN can_read boolean NOT NULL DEFAULT true,
      ADD COLUMN can_verify boolean NOT NULL DEFAULT false,
      ADD COLUMN max_verify_per_day integer CHECK (max_verify_per_day > 0);
    CREATE INDEX share_grant_purpose_idx ON share_grant (purpose_id);
    ALTER TABLE resource ADD COLUMN verification_enabled boolean NOT NULL DEFAULT false;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE resource DROP COLUMN verification_enabled;
    ALTER TABLE share_grant DROP COLUMN purpose_id, DROP COLUMN can_read, DROP COLUMN can_verify,
      DROP COLUMN max_verify_per_day;
  `.execute(db);
}
