import { type Kysely, sql } from 'kysely';

/** Holiday notices imported by an administrator (REFERENCE.md: a year not yet shipped must be importable). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE holiday_year (
      year integer PRIMARY KEY,
      source text NOT NULL,
      off_days date[] NOT NULL,
      working_weekend_days date[] NOT NULL,
      imported_by bigint REFERENCES app_user(id),
      imported_at timestamptz NOT NULL DEFAULT now()
    );
  `.execute(db);
}
