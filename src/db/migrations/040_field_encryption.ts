import { type Kysely, sql } from 'kysely';

/*
 * Encryption at rest of sensitive-personal fields (issue 10 point 3, docs/ENCRYPTION.md):
 *   field_key               — data keys, wrapped by the key-encryption key (KEK, from configuration): one row per
 *                             (scope, version); scope = the resource id (its data key), 0 = the platform's lookup-index
 *                             key. `kek_id` names the KEK that wrapped it (KEK rotation re-wraps, no data is rewritten);
 *                             `state`: active (new writes), retiring (readable, its values being re-encrypted), retired.
 *   resource_field.encrypted — the column's storage state: it holds ciphertext and has a companion `c<n>_h` lookup
 *                             index. Tables created before this migration keep clear columns (encrypted = false) until
 *                             converted; status reports them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE field_key (
      scope_id bigint NOT NULL,
      version integer NOT NULL CHECK (version > 0),
      purpose text NOT NULL CHECK (purpose IN ('data', 'index')),
      alg text NOT NULL CHECK (length(alg) <= 20),
      wrapped text NOT NULL CHECK (length(wrapped) <= 400),
      kek_id text NOT NULL CHECK (length(kek_id) <= 40),
      state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retiring', 'retired')),
      created_at timestamptz NOT NULL DEFAULT now(),
      retired_at timestamptz,
      PRIMARY KEY (scope_id, version)
    );
    ALTER TABLE resource_field ADD COLUMN encrypted boolean NOT NULL DEFAULT false;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE field_key; ALTER TABLE resource_field DROP COLUMN encrypted;`.execute(db);
}
