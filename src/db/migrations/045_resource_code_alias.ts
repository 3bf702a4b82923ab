import { type Kysely, sql } from 'kysely';
import { GBT_CODE_PATTERN, recodeLegacyResources } from '../../catalog/classes.js';
import { type Db, inTx } from '../index.js';

/*
 * Entries registered before migration 008 kept their foundation codes (`<org code>-NNN`: `LJ-GAJ-002`, the first demo's
 * `446000-GAJ-001`); issue 6 point 1 wants one scheme, GB/T 21063.5, for all, and codes never reused. Each such entry
 * gets its provider's next code here (catalog/classes nextResourceCode, the one generator) and its old code becomes an
 * alias: kept for ever (an alias is never a GB/T 21063.5 code, so never issued again) and resolved where a code is
 * looked up (the data API, related codes, search). Data directories created since 008 have nothing to recode.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE resource_code_alias (
      code text PRIMARY KEY CHECK (code !~ ${sql.lit(GBT_CODE_PATTERN)} AND length(code) BETWEEN 1 AND 100),
      resource_id bigint NOT NULL REFERENCES resource(id),
      replaced_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX resource_code_alias_resource_idx ON resource_code_alias (resource_id);
  `.execute(db);
  await inTx(db as unknown as Db, recodeLegacyResources);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE resource_code_alias`.execute(db);
}
