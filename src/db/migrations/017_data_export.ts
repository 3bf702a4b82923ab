import { type Kysely, sql } from 'kysely';

/*
 * Bulk export and its leak-tracing ledger; masking per field class (issue 9 points 5 and 8).
 *
 * - share_grant: the export right and its daily row quota (null = the platform default), set by the provider or the
 *   authority where grants are issued (approval) and edited.
 * - data_export: one row per export (allowed ones only; a refused export is an audit row and nothing else). `rows_reserved`
 *   is what the export may still deliver when it starts (counted against the grant's daily quota while it runs),
 *   `row_count` what it delivered, advanced in the transaction of each batch.
 * - data_export_row: the compact per-row ledger, keyed by export id: the record key and the exact masked row as delivered,
 *   each as the first 16 bytes of an HMAC-SHA256 under the platform secret (the ledger alone reveals nothing; whoever holds
 *   a leaked row or key finds the exports that delivered it). Written in the transaction of the batch it covers.
 * - masking_class_rule: the authority's masking strategy per field class (defaults in code when absent).
 * No foreign keys (data tables, audit_log and these stay distributable).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE share_grant
      ADD COLUMN can_export boolean NOT NULL DEFAULT false,
      ADD COLUMN max_export_rows_per_day integer CHECK (max_export_rows_per_day > 0);
    CREATE TABLE data_export (
      id bigserial PRIMARY KEY,
      app_id integer NOT NULL,
      org_id integer,
      grant_id integer NOT NULL,
      resource_id integer NOT NULL,
      purpose text,
      format text NOT NULL CHECK (format IN ('csv', 'ndjson', 'xlsx')),
      encoding text NOT NULL CHECK (encoding IN ('utf-8', 'gbk')),
      fields text[] NOT NULL,
      rows_reserved bigint NOT NULL,
      row_count bigint NOT NULL DEFAULT 0,
      max_seq bigint NOT NULL,
      status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'aborted', 'failed')),
      audit_id bigint,
      client_ip text,
      started_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    );
    CREATE INDEX data_export_grant_idx ON data_export (grant_id, started_at);
    CREATE INDEX data_export_resource_idx ON data_export (resource_id, started_at);
    CREATE TABLE data_export_row (
      export_id bigint NOT NULL,
      ordinal integer NOT NULL,
      key_mac bytea NOT NULL,
      row_mac bytea NOT NULL,
      PRIMARY KEY (export_id, ordinal)
    );
    CREATE INDEX data_export_row_key_idx ON data_export_row (key_mac);
    CREATE INDEX data_export_row_row_idx ON data_export_row (row_mac);
    CREATE TABLE masking_class_rule (
      field_class text PRIMARY KEY,
      strategy text NOT NULL,
      params jsonb NOT NULL DEFAULT '{}'::jsonb,
      updated_by integer,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE masking_class_rule;
    DROP TABLE data_export_row;
    DROP TABLE data_export;
    ALTER TABLE share_grant DROP COLUMN can_export, DROP COLUMN max_export_rows_per_day;
  `.execute(db);
}
