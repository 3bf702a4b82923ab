import { type Kysely, sql } from 'kysely';

/*
 * Bulk export's leak-tracing ledger written per batch (issue 9 point 5, bench/README.md "export.ts"). The per-row
 * ledger `data_export_row` with its two random `bytea` indexes (key_mac, row_mac) cost 17–22 µs a row in PostgreSQL on
 * the export's path, the floor of the export's speed. Now:
 *
 * - data_export_batch: one row per served batch (≈ 2 000 rows), written in the batch's own transaction, before the batch
 *   is sent (the evidence exists with the data, never after): the key digests (16 bytes a row), the row digests (16)
 *   and the cell tags (`tag_bytes` a row, migration 032), each concatenated in the batch's row order; the batch's rows
 *   are ordinals first_ordinal … first_ordinal + row_count - 1 of its export.
 * - the ledger job (src/dataapi/ledger.ts, the jobs module) explodes committed batches into `data_export_row` (indexed
 *   per digest, as before) and marks each batch exploded in the same transaction, its byte strings dropped (they live on
 *   in `data_export_row`): a batch is in exactly one of the two places at any snapshot.
 * - data_export_ledger: the ledger as leak tracing reads it, one row per delivered row, from either place (indexed rows
 *   plus the batches not exploded yet, cut per row). A filter on export_id, key_mac or row_mac is pushed into both
 *   branches (the indexes serve the first).
 *
 * The byte strings are random: STORAGE EXTERNAL spares PostgreSQL a compression attempt that cannot pay.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE data_export_batch (
      export_id bigint NOT NULL,
      first_ordinal integer NOT NULL CHECK (first_ordinal >= 1),
      row_count integer NOT NULL CHECK (row_count >= 1),
      tag_bytes integer NOT NULL CHECK (tag_bytes >= 0),
      key_macs bytea,
      row_macs bytea,
      cell_tags bytea,
      created_at timestamptz NOT NULL DEFAULT now(),
      exploded_at timestamptz,
      PRIMARY KEY (export_id, first_ordinal),
      CHECK (exploded_at IS NOT NULL OR (length(key_macs) = row_count * 16 AND length(row_macs) = row_count * 16
        AND length(cell_tags) = row_count * tag_bytes))
    );
    ALTER TABLE data_export_batch ALTER COLUMN key_macs SET STORAGE EXTERNAL,
      ALTER COLUMN row_macs SET STORAGE EXTERNAL, ALTER COLUMN cell_tags SET STORAGE EXTERNAL;
    CREATE INDEX data_export_batch_pending_idx ON data_export_batch (created_at) WHERE exploded_at IS NULL;
    CREATE VIEW data_export_ledger AS
      SELECT x.export_id, x.ordinal, x.key_mac, x.row_mac, x.cell_tags FROM data_export_row x
      UNION ALL
      SELECT b.export_id, b.first_ordinal + o - 1, substring(b.key_macs FROM o * 16 - 15 FOR 16),
        substring(b.row_macs FROM o * 16 - 15 FOR 16),
        substring(b.cell_tags FROM (o - 1) * b.tag_bytes + 1 FOR b.tag_bytes)
      FROM data_export_batch b CROSS JOIN LATERAL generate_series(1, b.row_count) AS o
      WHERE b.exploded_at IS NULL;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    INSERT INTO data_export_row (export_id, ordinal, key_mac, row_mac, cell_tags)
      SELECT export_id, ordinal, key_mac, row_mac, cell_tags FROM data_export_ledger l
      WHERE NOT EXISTS (SELECT 1 FROM data_export_row x WHERE x.export_id = l.export_id AND x.ordinal = l.ordinal);
    DROP VIEW data_export_ledger;
    DROP TABLE data_export_batch;
  `.execute(db);
}
