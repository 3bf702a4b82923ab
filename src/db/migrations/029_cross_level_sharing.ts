import { type Kysely, sql } from 'kysely';

/*
 * Cross-level share requests (issue 8 point 9; XT Art 26, GD Art 15): inside one installation holding several
 * jurisdiction levels, a county department's request for a city (or province) resource goes through its own county
 * authority first, then the higher level's path. Each authority step names the authority organisation that acts on it
 * (its reviewers decide it, its to-do lists it, its reviewers are reminded); `level` is the jurisdiction level of that
 * step ('county', 'city', 'province'), shown on the request's timeline. Null on both: a request filed before this
 * migration, whose authority steps any authority reviewer may decide as before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE share_request_step
      ADD COLUMN authority_org_id bigint,
      ADD COLUMN level text CHECK (level IN ('province','city','county','town'))
  `.execute(db);
  await sql`CREATE INDEX share_request_step_authority_idx ON share_request_step (authority_org_id)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS share_request_step_authority_idx`.execute(db);
  await sql`ALTER TABLE share_request_step DROP COLUMN authority_org_id, DROP COLUMN level`.execute(db);
}
