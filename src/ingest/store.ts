import { CompiledQuery, sql } from 'kysely';
import type { FieldType } from '../catalog/model.js';
import type { StoredField } from '../catalog/store.js';
import type { Tx } from '../db/index.js';

const CAST: Record<FieldType, string> = {
  string: 'text',
  integer: 'bigint',
  decimal: 'numeric',
  date: 'date',
  datetime: 'timestamptz',
  boolean: 'boolean',
};

/** Rows per statement: big enough to amortise round trips, small enough for PGlite's single connection. */
const CHUNK = 5000;

/**
 * Upserts validated rows by record key inside the caller's transaction. Unchanged rows (same content hash)
 * are left alone; changed rows get their version bumped. Returns how many rows were inserted and updated.
 */
export async function upsertRows(
  trx: Tx,
  table: string,
  fields: StoredField[],
  batchId: number,
  rows: (string | null)[][],
  keys: string[],
  hashes: string[],
): Promise<{ inserted: number; updated: number }> {
  const cols = fields.map((f) => f.columnName);
  const params = fields.map((_, i) => `$${i + 4}::text[]`);
  const selectCols = fields.map((f, i) => `v${i}::${CAST[f.type]}`);
  const text = `INSERT INTO ${table} AS t (_key, _hash, _batch_id, ${cols.join(', ')})
SELECT k, h, $3::bigint, ${selectCols.join(', ')}
FROM unnest($1::text[], $2::text[], ${params.join(', ')}) AS u(k, h, ${fields.map((_, i) => `v${i}`).join(', ')})
ON CONFLICT (_key) DO UPDATE SET ${cols.map((c) => `${c} = excluded.${c}`).join(', ')},
  _hash = excluded._hash, _batch_id = excluded._batch_id, _version = t._version + 1, _valid_from = now()
WHERE t._hash <> excluded._hash
RETURNING (t._version = 1) AS inserted`;
  let inserted = 0;
  let updated = 0;
  for (let o = 0; o < rows.length; o += CHUNK) {
    const part = rows.slice(o, o + CHUNK);
    const columns = fields.map((_, i) => part.map((r) => r[i]));
    const { rows: out } = await trx.executeQuery<{ inserted: boolean }>(
      CompiledQuery.raw(text, [keys.slice(o, o + CHUNK), hashes.slice(o, o + CHUNK), batchId, ...columns]),
    );
    for (const r of out) r.inserted ? inserted++ : updated++;
  }
  return { inserted, updated };
}

export async function countRows(trx: Tx, table: string): Promise<number> {
  const { rows } = await sql.raw<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`).execute(trx);
  return rows[0].n;
}
