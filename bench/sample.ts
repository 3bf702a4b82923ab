import type { AppContext } from '../src/context.js';

/**
 * Random records of a resource table (`ds.r_<id>`) as a caller names them: `stored` is `_key` as the table keeps it, `key`
 * the record key a consumer sends to the data API — the decrypted key field when that field is encrypted at rest (then
 * `_key` is its keyed hash, docs/ENCRYPTION.md), else `_key` itself — and `values` the named fields in clear. A bench
 * that sent `_key` as the key would time misses: since encryption at rest every governed lookup of a hashed key is a
 * "no such record", and the misses soon trip the enumeration detector.
 */
export async function sampleRecords(
  ctx: AppContext,
  table: string,
  n: number,
  fields: readonly string[] = [],
): Promise<Array<{ stored: string; key: string; values: Record<string, string | null> }>> {
  const m = /^ds\.r_(\d+)$/.exec(table);
  if (!m) throw new Error(`not a resource table: ${table}`);
  const defs = (
    await ctx.database.query<{ code: string; ordinal: number; is_key: boolean; encrypted: boolean }>(
      'SELECT code, ordinal, is_key, encrypted FROM resource_field WHERE resource_id = $1 ORDER BY ordinal',
      [Number(m[1])],
    )
  ).rows;
  const keyFields = defs.filter((f) => f.is_key);
  const hashedKey = keyFields.length === 1 && keyFields[0].encrypted ? keyFields[0] : null;
  const wanted = defs.filter((f) => fields.includes(f.code) || f === hashedKey);
  const missing = fields.filter((c) => !defs.some((f) => f.code === c));
  if (missing.length) throw new Error(`${table} has no field ${missing.join(', ')}`);
  const cols = wanted.map((f) => `, c${f.ordinal}::text AS "${f.code}"`).join('');
  const { rows } = await ctx.database.query<Record<string, string | null>>(
    `SELECT _key${cols} FROM ${table} ORDER BY random() LIMIT ${Math.trunc(n)}`,
    [],
  );
  await ctx.fieldKeys.refresh(true, ctx.db);
  return rows.map((r) => {
    const values: Record<string, string | null> = {};
    for (const f of wanted)
      values[f.code] = r[f.code] === null ? null : String(ctx.fieldKeys.decrypt(r[f.code]));
    const stored = String(r._key);
    return { stored, key: hashedKey ? String(values[hashedKey.code]) : stored, values };
  });
}
