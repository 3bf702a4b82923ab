import { sql } from 'kysely';
import type { Db } from '../db/index.js';

/*
 * The export ledger's lookup rows, built off the export's path (migration 047, bench/README.md "export.ts").
 *
 * Each served batch of a bulk export writes one `data_export_batch` row in its own transaction (store.ts
 * EXPORT_LEDGER_SQL): the evidence exists with the data. This job explodes committed batches into the per-row,
 * per-digest indexed `data_export_row` and marks each batch exploded (its byte strings dropped) in the same statement,
 * so at any snapshot a batch's rows are in exactly one of the two places. Leak tracing reads the view
 * `data_export_ledger` (both places), so it finds an export whether or not its batches were exploded yet; exploding
 * only makes the lookup an index search instead of a scan of the pending batches.
 *
 * Batches are taken oldest first, a few per transaction, with FOR UPDATE SKIP LOCKED: two nodes running the job at
 * once (a lease taken over) share the work instead of colliding, and a run that dies leaves its batches pending for
 * the next.
 */
export const LEDGER_EXPLODE_JOB = 'export.ledger';

/** Batches exploded per transaction (≈ 2 000 rows each). */
export const LEDGER_EXPLODE_CHUNK = 8;

/**
 * Batches one run of the job explodes (≈ 2 M rows, 20–40 s here); a run that reaches it leaves the rest for a run at
 * once (the job asks the jobs module to bring its next run forward) rather than a whole interval later.
 */
export const LEDGER_RUN_BATCHES = 1000;

/**
 * Explodes pending batches, oldest first, until none is left or `maxBatches` were done; returns what it did, and
 * `behind` when it stopped at `maxBatches` (batches may still be waiting).
 */
export async function explodeLedgerBatches(
  db: Db,
  opts: { maxBatches?: number } = {},
): Promise<{ batches: number; rows: number; behind: boolean }> {
  const max = opts.maxBatches ?? LEDGER_RUN_BATCHES;
  let batches = 0;
  let rows = 0;
  while (batches < max) {
    const r = await sql<{ n: number; rows: number }>`
      WITH b AS (
        SELECT export_id, first_ordinal, row_count, tag_bytes, key_macs, row_macs, cell_tags FROM data_export_batch
        WHERE exploded_at IS NULL
        ORDER BY created_at, export_id, first_ordinal
        LIMIT ${Math.min(LEDGER_EXPLODE_CHUNK, max - batches)}
        FOR UPDATE SKIP LOCKED),
      ins AS (
        INSERT INTO data_export_row (export_id, ordinal, key_mac, row_mac, cell_tags)
        SELECT b.export_id, b.first_ordinal + o - 1, substring(b.key_macs FROM o * 16 - 15 FOR 16),
          substring(b.row_macs FROM o * 16 - 15 FOR 16),
          substring(b.cell_tags FROM (o - 1) * b.tag_bytes + 1 FOR b.tag_bytes)
        FROM b CROSS JOIN LATERAL generate_series(1, b.row_count) AS o),
      done AS (
        UPDATE data_export_batch d SET exploded_at = now(), key_macs = NULL, row_macs = NULL, cell_tags = NULL
        FROM b WHERE d.export_id = b.export_id AND d.first_ordinal = b.first_ordinal
        RETURNING d.row_count)
      SELECT count(*)::int AS n, coalesce(sum(row_count), 0)::int AS rows FROM done
    `.execute(db);
    const n = Number(r.rows[0]?.n ?? 0);
    if (n === 0) break;
    batches += n;
    rows += Number(r.rows[0].rows);
  }
  return { batches, rows, behind: batches >= max };
}
