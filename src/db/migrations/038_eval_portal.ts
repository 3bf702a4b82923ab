import { type Kysely, sql } from 'kysely';

/*
 * Evaluation results on the open portal (issue 12 point 5, DG Art 36 / SY Art 12: "results published (to all
 * departments, and optionally on the open portal)"): a published run the authority puts on the portal, and when.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE eval_run ADD COLUMN on_portal boolean NOT NULL DEFAULT false;
    ALTER TABLE eval_run ADD COLUMN portal_at timestamptz;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE eval_run DROP COLUMN portal_at; ALTER TABLE eval_run DROP COLUMN on_portal`.execute(
    db,
  );
}
