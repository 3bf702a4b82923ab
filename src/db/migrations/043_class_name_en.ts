import { type Kysely, sql } from 'kysely';

/*
 * The English name of a catalog class node (issue 6; the profile's themes carry one: XT Art 13, SY Art 26). The roots,
 * the five base libraries and the profile's themes get theirs from code at start-up (ensureClassTree fills a missing
 * one); a node the authority adds has none until given one, and the English console shows its Chinese name.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE catalog_class ADD COLUMN name_en text CHECK (length(name_en) BETWEEN 1 AND 100)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE catalog_class DROP COLUMN name_en`.execute(db);
}
