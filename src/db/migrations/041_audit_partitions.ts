import { type Kysely, sql } from 'kysely';

/*
 * Audit at province scale (issue 10 point 12): ≈ 1 B audit rows a year.
 *
 *   audit_log          — now PARTITION BY RANGE (occurred_at), one partition per Beijing calendar month
 *                        (audit_log_yYYYYmMM) and a DEFAULT partition for strays (a clock far off, a month not created
 *                        yet). The primary key is (id, occurred_at), as a partitioned table's must include the
 *                        partition column; ids stay unique because every partition draws them from one sequence
 *                        (audit_log_id_seq2, owned by audit_log.id, so pg_get_serial_sequence('audit_log', 'id') still
 *                        answers it). Distributable (Citus): no foreign key, id remains the natural distribution column.
 *                        Existing rows are copied with their id and seal_xid, so the sealed chain still verifies.
 *                        The append-only row trigger is declared on the parent (cloned by PostgreSQL onto every
 *                        partition, present and future); a TRUNCATE statement trigger is not inherited, so
 *                        audit_log_add_month() puts one on each partition it creates.
 *   audit_archive      — one row per archive file (`govshare audit archive`, GET /api/audit/archive): the block range
 *                        it holds, the last block's hash (the anchor the next archive and the remaining chain link
 *                        to), its transaction bound and the file's SHA-256. Append-only.
 *   audit_retention    — one row per retention drop: the partitions dropped, the archive that held them, the anchor
 *                        block (the last block wholly inside the dropped months; the blocks up to it leave
 *                        audit_block) and the ids of records dropped from the blocks straddling the boundary, which
 *                        verification of the remaining chain expects to be absent. Append-only.
 *   audit_block        — may lose a block only when it is at or below a retention anchor (trigger); never updated.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE audit_log RENAME TO audit_log_unpartitioned;
    DROP INDEX audit_log_time_idx;
    DROP INDEX audit_log_resource_idx;
    DROP INDEX audit_log_target_idx;
    DROP INDEX audit_log_seal_idx;
    DROP INDEX audit_log_action_time_idx;
    ALTER TABLE audit_log_unpartitioned RENAME CONSTRAINT audit_log_pkey TO audit_log_unpartitioned_pkey;
    CREATE TABLE audit_log (
      id bigint NOT NULL,
      occurred_at timestamptz NOT NULL DEFAULT now(),
      actor_user_id bigint,
      actor_org_id bigint,
      app_id bigint,
      grant_id bigint,
      action text NOT NULL,
      resource_id bigint,
      target_type text,
      target_id text,
      purpose text,
      decision text NOT NULL CHECK (decision IN ('allow','deny')),
      rows_returned integer,
      fields text[],
      client_ip text,
      detail jsonb NOT NULL DEFAULT '{}',
      target_label text,
      seal_xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
      PRIMARY KEY (id, occurred_at)
    ) PARTITION BY RANGE (occurred_at);
    CREATE SEQUENCE audit_log_id_seq2 AS bigint OWNED BY audit_log.id;
    ALTER TABLE audit_log ALTER COLUMN id SET DEFAULT nextval('audit_log_id_seq2');
    CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log_default
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

    -- one Beijing calendar month's partition; false (nothing done) when it exists or when rows of that month already
    -- sit in the default partition (they stay there: moving them would be an update of the audit log)
    CREATE FUNCTION audit_log_add_month(m date) RETURNS boolean LANGUAGE plpgsql AS $fn$
    DECLARE
      first date := date_trunc('month', m)::date;
      lo timestamptz := (first::timestamp AT TIME ZONE 'Asia/Shanghai');
      hi timestamptz := ((first + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai');
      name text := 'audit_log_y' || to_char(first, 'YYYY') || 'm' || to_char(first, 'MM');
    BEGIN
      IF to_regclass(name) IS NOT NULL THEN RETURN false; END IF;
      IF EXISTS (SELECT 1 FROM audit_log_default WHERE occurred_at >= lo AND occurred_at < hi) THEN RETURN false; END IF;
      EXECUTE format('CREATE TABLE %I PARTITION OF audit_log FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
      EXECUTE format('CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON %I
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()', name);
      RETURN true;
    END
    $fn$;

    -- months from the oldest row (at most 5 years back) or a year back, to three months ahead
    SELECT audit_log_add_month(d::date) FROM generate_series(
      date_trunc('month', greatest(least(
        coalesce((SELECT min(occurred_at) FROM audit_log_unpartitioned), now()), now() - interval '12 months'),
        now() - interval '60 months') AT TIME ZONE 'Asia/Shanghai'),
      date_trunc('month', (now() AT TIME ZONE 'Asia/Shanghai') + interval '3 months'),
      interval '1 month') AS d;

    INSERT INTO audit_log (id, occurred_at, actor_user_id, actor_org_id, app_id, grant_id, action, resource_id,
      target_type, target_id, purpose, decision, rows_returned, fields, client_ip, detail, target_label, seal_xid)
    SELECT id, occurred_at, actor_user_id, actor_org_id, app_id, grant_id, action, resource_id,
      target_type, target_id, purpose, decision, rows_returned, fields, client_ip, detail, target_label, seal_xid
    FROM audit_log_unpartitioned;
    SELECT setval('audit_log_id_seq2', coalesce((SELECT max(id) FROM audit_log_unpartitioned), 0) + 1, false);
    DROP TABLE audit_log_unpartitioned;

    CREATE INDEX audit_log_time_idx ON audit_log (occurred_at DESC);
    CREATE INDEX audit_log_resource_idx ON audit_log (resource_id, id DESC);
    CREATE INDEX audit_log_target_idx ON audit_log (target_id) WHERE target_id IS NOT NULL;
    CREATE INDEX audit_log_seal_idx ON audit_log (seal_xid);
    CREATE INDEX audit_log_action_time_idx ON audit_log (action, occurred_at);

    CREATE TABLE audit_archive (
      id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
      until_at timestamptz NOT NULL,
      from_seq bigint NOT NULL,
      to_seq bigint NOT NULL,
      to_xid bigint NOT NULL,
      last_block_hash text NOT NULL CHECK (length(last_block_hash) <= 128),
      block_count integer NOT NULL,
      record_count bigint NOT NULL,
      file_name text NOT NULL CHECK (length(file_name) <= 300),
      file_sha256 text NOT NULL CHECK (length(file_sha256) = 64),
      file_bytes bigint NOT NULL,
      created_by bigint,
      via text NOT NULL CHECK (via IN ('cli', 'api')),
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (to_seq)
    );
    CREATE TABLE audit_retention (
      id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
      dropped_before timestamptz NOT NULL,
      partitions text[] NOT NULL,
      archive_id bigint NOT NULL,
      anchor_seq bigint NOT NULL,
      anchor_hash text NOT NULL CHECK (length(anchor_hash) <= 128),
      archived_ids bigint[] NOT NULL DEFAULT '{}',
      blocks_removed integer NOT NULL,
      dropped_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TRIGGER audit_archive_no_update BEFORE UPDATE OR DELETE ON audit_archive
      FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
    CREATE TRIGGER audit_retention_no_update BEFORE UPDATE OR DELETE ON audit_retention
      FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

    CREATE FUNCTION audit_block_guard() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      IF TG_OP = 'DELETE' AND OLD.seq <= (SELECT coalesce(max(anchor_seq), 0) FROM audit_retention) THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'audit_block is append-only' USING ERRCODE = 'insufficient_privilege';
    END
    $fn$;
    DROP TRIGGER audit_block_no_update ON audit_block;
    CREATE TRIGGER audit_block_no_update BEFORE UPDATE OR DELETE ON audit_block
      FOR EACH ROW EXECUTE FUNCTION audit_block_guard();
  `.execute(db);
}
