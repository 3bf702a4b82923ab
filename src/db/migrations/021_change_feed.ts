import { type Kysely, sql } from 'kysely';

/*
 * The change feed of the governed data API (issue 9 point 6).
 *
 * - share_grant.can_feed: the change-feed right, set by the provider or the authority where grants are issued and edited.
 * - record_change: one row per record version the aggregation's merge writes (upsert: inserted or changed, delete:
 *   removed), in the order the merges committed (merges of one resource are serialised by the resource's row lock, so
 *   `seq` grows in commit order per resource and a cursor never skips a change that commits later). Only the key,
 *   the version and the batch: the values are read, masked, from the resource table or record_history when delivered.
 *   Existing rows are backfilled as upserts in `_seq` order.
 * - feed_subscription: push delivery of a grant's changes to the consumer, webhook (signed HMAC-SHA256 under a secret
 *   derived from the platform secret and `secret_salt`, so the table alone does not reveal it) or NATS JetStream.
 *   `cursor_seq` is the last change acknowledged by the target.
 * - feed_delivery: the last delivery attempts per subscription (bounded: trimmed on each attempt).
 * No foreign keys (data tables, audit_log and these stay distributable). Text columns bounded.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE share_grant ADD COLUMN can_feed boolean NOT NULL DEFAULT false;
    CREATE TABLE record_change (
      resource_id bigint NOT NULL,
      seq bigint GENERATED ALWAYS AS IDENTITY,
      rkey text NOT NULL,
      op text NOT NULL CHECK (op IN ('upsert', 'delete')),
      version integer NOT NULL,
      batch_id bigint NOT NULL,
      changed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (resource_id, seq)
    );
    CREATE TABLE feed_subscription (
      id bigserial PRIMARY KEY,
      grant_id integer NOT NULL,
      app_id integer NOT NULL,
      resource_id integer NOT NULL,
      target text NOT NULL CHECK (target IN ('webhook', 'nats')),
      url text CHECK (length(url) <= 2000),
      subject text CHECK (length(subject) <= 300),
      purpose text CHECK (length(purpose) <= 2000),
      secret_salt text NOT NULL CHECK (length(secret_salt) <= 100),
      cursor_seq bigint NOT NULL DEFAULT 0,
      pending_to bigint,
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'stopped', 'deleted')),
      delivered integer NOT NULL DEFAULT 0,
      failures integer NOT NULL DEFAULT 0,
      last_error text CHECK (length(last_error) <= 500),
      last_error_code text CHECK (length(last_error_code) <= 60),
      last_attempt_at timestamptz,
      last_delivery_at timestamptz,
      created_by integer,
      created_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    );
    CREATE INDEX feed_subscription_grant_idx ON feed_subscription (grant_id);
    CREATE INDEX feed_subscription_resource_idx ON feed_subscription (resource_id) WHERE status = 'active';
    CREATE TABLE feed_delivery (
      id bigserial PRIMARY KEY,
      subscription_id bigint NOT NULL,
      cursor_from bigint NOT NULL,
      cursor_to bigint NOT NULL,
      changes integer NOT NULL,
      attempt integer NOT NULL,
      status text NOT NULL CHECK (status IN ('delivered', 'failed')),
      http_status integer,
      error text CHECK (length(error) <= 500),
      audit_id bigint,
      at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX feed_delivery_sub_idx ON feed_delivery (subscription_id, id);
    DO $$
    DECLARE r record;
    BEGIN
      FOR r IN SELECT id, data_table FROM resource WHERE data_table IS NOT NULL ORDER BY id LOOP
        IF to_regclass(r.data_table) IS NOT NULL THEN
          EXECUTE format('INSERT INTO record_change (resource_id, rkey, op, version, batch_id, changed_at)
            SELECT %s, _key, ''upsert'', _version, _batch_id, _valid_from FROM %s ORDER BY _seq', r.id, r.data_table);
        END IF;
      END LOOP;
    END $$;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE feed_delivery;
    DROP TABLE feed_subscription;
    DROP TABLE record_change;
    ALTER TABLE share_grant DROP COLUMN can_feed;
  `.execute(db);
}
