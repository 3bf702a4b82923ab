import { CompiledQuery, sql } from 'kysely';
import type { Tx } from '../db/index.js';

/*
 * The walks over what a resource stores — its table (`tableChunks` + `updateChunk`), record_history and
 * ingest_quarantine — that rewrite it, shared by keys.encrypt / keys.decrypt (key-convert.ts) and keys.rotateIndex
 * (index-rotation.ts). Each caller gives the per-row transform; every walk writes a chunk back with one
 * `UPDATE … FROM unnest(...)`, not one statement per row, inside the caller's transaction and under its locks (the
 * pause). History and quarantine are read through one cursor, CHUNK rows per FETCH (history in primary-key order, so a
 * chunk is one key range); the cursor sees the rows as they were when it was declared, and each row is written once, by
 * its primary key. The table is read by keyset on `_seq`.
 */

const CHUNK = 2000;

/** A record_history row as the transform sees it. */
export type HistoryRow = {
  data: (string | null)[];
  rhash: string;
  /** the `normal` expressions' values (jsonb_build_array of them), when the walk was given some; else null */
  normal: (string | null)[] | null;
};

type StoredHistoryRow = HistoryRow & { rkey: string; version: number; replaced_by_batch: string };
/** A row's primary key after resource_id: a chunk is one range of it, which keeps the UPDATE's join to that range. */
const keyOf = (h: StoredHistoryRow) => [h.rkey, h.version, String(h.replaced_by_batch)];

/**
 * record_history of the resource: every row's `data` (and `rhash`, unless the transform leaves it undefined) replaced
 * by `change`. `normal`: SQL expressions over `data` read alongside (e.g. a clear field's value as ingest normalised
 * it, normalisedText), handed to the transform as `normal`. Returns the number of rows rewritten.
 */
export async function rewriteHistory(
  trx: Tx,
  resourceId: number,
  normal: string[] | null,
  change: (h: HistoryRow) => { data: unknown[]; rhash?: string },
): Promise<number> {
  const cols = `rkey, version, replaced_by_batch, data, rhash, ${normal ? `jsonb_build_array(${normal.join(', ')})` : 'NULL'} AS normal`;
  let total = 0;
  // one cursor, one plan for the whole walk: a keyset query per chunk is planned again each time, and with the
  // resource's history rows not yet in the statistics (just imported) it was a bitmap scan of every row left + sort
  await sql
    .raw(
      `DECLARE history_walk NO SCROLL CURSOR FOR SELECT ${cols} FROM record_history
       WHERE resource_id = ${Number(resourceId)} ORDER BY rkey, version, replaced_by_batch`,
    )
    .execute(trx);
  for (;;) {
    const rows = (await sql.raw<StoredHistoryRow>(`FETCH ${CHUNK} FROM history_walk`).execute(trx)).rows;
    if (!rows.length) break;
    const out = rows.map((h) => change(h));
    await trx.executeQuery(
      CompiledQuery.raw(
        `UPDATE record_history h SET data = u.d::jsonb, rhash = COALESCE(u.r, h.rhash)
         FROM unnest($2::text[], $3::int[], $4::bigint[], $5::text[], $6::text[]) AS u(rkey, version, batch, d, r)
         WHERE h.resource_id = $1 AND h.rkey = u.rkey AND h.version = u.version AND h.replaced_by_batch = u.batch
           AND (h.rkey, h.version, h.replaced_by_batch) BETWEEN ($7::text, $8::int, $9::bigint) AND ($10::text, $11::int, $12::bigint)`,
        [
          resourceId,
          rows.map((h) => h.rkey),
          rows.map((h) => h.version),
          rows.map((h) => String(h.replaced_by_batch)),
          out.map((o) => JSON.stringify(o.data)),
          out.map((o) => o.rhash ?? null),
          ...keyOf(rows[0]),
          ...keyOf(rows[rows.length - 1]),
        ],
      ),
    );
    total += rows.length;
  }
  await sql.raw('CLOSE history_walk').execute(trx);
  return total;
}

/**
 * ingest_quarantine of the resource: every row's `vals` replaced by `change`, which answers undefined to leave a row
 * as it is. Returns the number of rows rewritten.
 */
export async function rewriteQuarantine(
  trx: Tx,
  resourceId: number,
  change: (vals: unknown) => unknown | undefined,
): Promise<number> {
  let total = 0;
  await sql
    .raw(
      `DECLARE quarantine_walk NO SCROLL CURSOR FOR SELECT id, vals FROM ingest_quarantine
       WHERE resource_id = ${Number(resourceId)}`,
    )
    .execute(trx);
  for (;;) {
    const rows = (
      await sql.raw<{ id: string; vals: unknown }>(`FETCH ${CHUNK} FROM quarantine_walk`).execute(trx)
    ).rows;
    if (!rows.length) break;
    const ids: string[] = [];
    const vals: string[] = [];
    for (const q of rows) {
      const v = change(q.vals);
      if (v === undefined) continue;
      ids.push(String(q.id));
      vals.push(JSON.stringify(v));
    }
    if (ids.length)
      await trx.executeQuery(
        CompiledQuery.raw(
          `UPDATE ingest_quarantine q SET vals = u.v::jsonb FROM unnest($1::bigint[], $2::text[]) AS u(id, v)
           WHERE q.id = u.id`,
          [ids, vals],
        ),
      );
    total += ids.length;
  }
  await sql.raw('CLOSE quarantine_walk').execute(trx);
  return total;
}

/**
 * The resource table's rows in `_seq` order, CHUNK at a time (keyset on `_seq`, the table's own index): `columns` are
 * the SQL select items besides `_seq`. The caller may rewrite each chunk (updateChunk) before asking for the next.
 */
export async function* tableChunks(
  trx: Tx,
  table: string,
  columns: string[],
): AsyncGenerator<Record<string, unknown>[]> {
  let after = '0';
  for (;;) {
    const rows = (
      await trx.executeQuery<Record<string, unknown>>(
        CompiledQuery.raw(
          `SELECT _seq, ${columns.join(', ')} FROM ${table} WHERE _seq > $1 ORDER BY _seq LIMIT ${CHUNK}`,
          [after],
        ),
      )
    ).rows;
    if (!rows.length) return;
    yield rows;
    after = String(rows[rows.length - 1]._seq);
  }
}

/**
 * Writes a chunk of tableChunks back in one `UPDATE … FROM unnest`: each `[column, values]` sets that (text) column to
 * the row's value, rows matched by `_seq`.
 */
export async function updateChunk(
  trx: Tx,
  table: string,
  rows: Record<string, unknown>[],
  set: [column: string, values: (string | null)[]][],
): Promise<void> {
  await trx.executeQuery(
    CompiledQuery.raw(
      `UPDATE ${table} t SET ${set.map(([c], k) => `${c} = u.x${k}`).join(', ')}
       FROM unnest($1::bigint[], ${set.map((_, k) => `$${k + 2}::text[]`).join(', ')})
         AS u(seq, ${set.map((_, k) => `x${k}`).join(', ')})
       WHERE t._seq = u.seq`,
      [rows.map((r) => String(r._seq)), ...set.map(([, v]) => v)],
    ),
  );
}
