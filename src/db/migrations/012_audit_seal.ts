import { type Kysely, sql } from 'kysely';

/**
 * Sealed audit (issue 10, DG Art 28/33, XT Art 34; X-Road's signed, hash-chained message log is the bar).
 *
 * Every audit row carries the id of the transaction that wrote it (`seal_xid`, xid8: 64-bit, never wraps). A block
 * seals exactly the rows whose transaction ids lie in [from_xid, to_xid), where to_xid is the oldest transaction
 * still running when the block was sealed: every such row has committed (or rolled back and is invisible), so a
 * block's content is final and no row can arrive later inside a sealed range without being an insertion. Blocks
 * chain by hash and are signed with the sealing node's key (audit_seal_key holds the public keys).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE audit_log ADD COLUMN seal_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
    CREATE INDEX audit_log_seal_idx ON audit_log (seal_xid);
    CREATE TABLE audit_seal_key (
      key_id text PRIMARY KEY,
      algorithm text NOT NULL,
      public_key text NOT NULL,
      node text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE audit_block (
      seq bigint PRIMARY KEY,
      from_xid bigint NOT NULL,
      to_xid bigint NOT NULL,
      record_count integer NOT NULL,
      first_id bigint,
      last_id bigint,
      record_ids bigint[] NOT NULL,
      leaf_hashes bytea NOT NULL,
      merkle_root text NOT NULL,
      prev_hash text NOT NULL,
      block_hash text NOT NULL UNIQUE,
      hash_alg text NOT NULL,
      key_id text NOT NULL REFERENCES audit_seal_key(key_id),
      signature text NOT NULL,
      sealed_at timestamptz NOT NULL
    );
    CREATE TRIGGER audit_block_no_update BEFORE UPDATE OR DELETE ON audit_block
      FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
  `.execute(db);
}
