import { sql } from 'kysely';
import { getFields, getResourceRow, type StoredField } from '../catalog/store.js';
import type { Db, Tx } from '../db/index.js';

/** This feature's SQL: the open entry, its rows in `_seq` order, the usage counters. */

export type OpenResourceRow = NonNullable<Awaited<ReturnType<typeof getResourceRow>>>;

export async function getResource(db: Db | Tx, id: number): Promise<OpenResourceRow | undefined> {
  return getResourceRow(db, id);
}

export async function fieldsOf(db: Db | Tx, id: number): Promise<StoredField[]> {
  return getFields(db, id);
}

/** The data table's name as the catalog stored it (`ds.r_<id>`); checked so it can be placed in SQL. */
function tableRef(dataTable: string) {
  if (!/^[a-z_]+\.[a-z0-9_]+$|^[a-z0-9_]+$/.test(dataTable)) throw new Error(`bad data table ${dataTable}`);
  return sql.raw(dataTable);
}

/**
 * One batch of rows after `afterSeq`, in `_seq` order (keyset paging: constant memory for any table size). Each row
 * is keyed by field code; `_seq` comes back for the next batch and never leaves the service.
 */
export async function rowsAfter(
  db: Db | Tx,
  dataTable: string,
  fields: ReadonlyArray<Pick<StoredField, 'code' | 'columnName'>>,
  afterSeq: number,
  limit: number,
  where?: ReturnType<typeof sql>,
): Promise<{ seq: number; record: Record<string, unknown> }[]> {
  if (!fields.length) return [];
  const cols = sql.join(
    fields.map((f) => sql`${sql.ref(f.columnName)} AS ${sql.ref(f.code)}`),
    sql`, `,
  );
  const { rows } = await sql<Record<string, unknown>>`SELECT _seq, ${cols} FROM ${tableRef(dataTable)}
    WHERE _seq > ${afterSeq}${where ? sql` AND ${where}` : sql``} ORDER BY _seq LIMIT ${limit}`.execute(db);
  return rows.map((r) => {
    const { _seq, ...record } = r;
    return { seq: Number(_seq), record };
  });
}

/** Rows `offset … offset+limit` matching `where` (CKAN datastore_search paging), and their total. */
export async function rowsPage(
  db: Db | Tx,
  dataTable: string,
  fields: ReadonlyArray<Pick<StoredField, 'code' | 'columnName'>>,
  offset: number,
  limit: number,
  where: ReturnType<typeof sql> | null,
): Promise<{ total: number; records: Record<string, unknown>[] }> {
  const cols = sql.join(
    fields.map((f) => sql`${sql.ref(f.columnName)} AS ${sql.ref(f.code)}`),
    sql`, `,
  );
  const cond = where ?? sql`true`;
  const [page, count] = await Promise.all([
    sql<Record<string, unknown>>`SELECT ${cols} FROM ${tableRef(dataTable)} WHERE ${cond}
      ORDER BY _seq LIMIT ${limit} OFFSET ${offset}`.execute(db),
    sql<{ n: number }>`SELECT count(*)::int AS n FROM ${tableRef(dataTable)} WHERE ${cond}`.execute(db),
  ]);
  return { total: count.rows[0]?.n ?? 0, records: page.rows };
}

export type UsageKind = 'views' | 'previews' | 'downloads' | 'api_calls';

/** Adds one to a dataset's counter of the day (in the caller's transaction, next to the audit record). */
export async function countUsage(
  trx: Db | Tx,
  resourceId: number,
  day: string,
  kind: UsageKind,
): Promise<void> {
  const col = sql.ref(kind);
  await sql`INSERT INTO open_usage (resource_id, day, ${col}) VALUES (${resourceId}, ${day}::date, 1)
    ON CONFLICT (resource_id, day) DO UPDATE SET ${col} = open_usage.${col} + 1`.execute(trx);
}

/** A dataset's totals (all days) and its last 30 days, for the dataset page's chart. */
export async function usageOf(db: Db | Tx, resourceId: number, sinceDay: string) {
  const [totals, days] = await Promise.all([
    sql<{ views: number; previews: number; downloads: number; api_calls: number }>`
      SELECT coalesce(sum(views), 0)::int AS views, coalesce(sum(previews), 0)::int AS previews,
        coalesce(sum(downloads), 0)::int AS downloads, coalesce(sum(api_calls), 0)::int AS api_calls
      FROM open_usage WHERE resource_id = ${resourceId}`.execute(db),
    sql<{ day: string; views: number; downloads: number; api_calls: number; previews: number }>`
      SELECT to_char(day, 'YYYY-MM-DD') AS day, views, previews, downloads, api_calls
      FROM open_usage WHERE resource_id = ${resourceId} AND day >= ${sinceDay}::date ORDER BY day`.execute(
      db,
    ),
  ]);
  const t = totals.rows[0];
  return {
    views: t?.views ?? 0,
    previews: t?.previews ?? 0,
    downloads: t?.downloads ?? 0,
    apiCalls: t?.api_calls ?? 0,
    days: days.rows.map((d) => ({
      day: d.day,
      views: d.views,
      previews: d.previews,
      downloads: d.downloads,
      apiCalls: d.api_calls,
    })),
  };
}

/** Newest open entries, and per department and per topic the number of listed entries (the portal's home). */
export async function homeFacts(db: Db | Tx, openTypes: readonly string[], newest: number) {
  const types = [...openTypes];
  const [latest, departments, topics, total] = await Promise.all([
    sql<{ id: number }>`SELECT r.id FROM resource r WHERE r.status = 'published'
      AND r.open_type = ANY(${types}::text[]) ORDER BY r.published_at DESC NULLS LAST, r.id DESC
      LIMIT ${newest}`.execute(db),
    sql<{ id: number; name: string; n: number }>`SELECT o.id, o.name, count(*)::int AS n FROM resource r
      JOIN org o ON o.id = r.provider_org_id WHERE r.status = 'published' AND r.open_type = ANY(${types}::text[])
      GROUP BY o.id, o.name ORDER BY n DESC, o.name`.execute(db),
    sql<{ topic: string; n: number }>`SELECT r.topic, count(*)::int AS n FROM resource r
      WHERE r.status = 'published' AND r.open_type = ANY(${types}::text[]) GROUP BY r.topic`.execute(db),
    sql<{ n: number; rows: number }>`SELECT count(*)::int AS n, coalesce(sum(row_count), 0)::bigint AS rows
      FROM resource r WHERE r.status = 'published' AND r.open_type = ANY(${types}::text[])`.execute(db),
  ]);
  return {
    latestIds: latest.rows.map((r) => Number(r.id)),
    departments: departments.rows.map((d) => ({ id: Number(d.id), name: d.name, count: d.n })),
    topics: topics.rows,
    total: total.rows[0]?.n ?? 0,
    rows: Number(total.rows[0]?.rows ?? 0),
  };
}

/**
 * Portal-wide usage since a day (issue 11 point 9): per department and per dataset totals, and the daily series, over
 * the datasets the portal lists (published, public open types, levels visible to all).
 */
export async function portalUsage(
  db: Db | Tx,
  sinceDay: string,
  openTypes: readonly string[],
  levels: readonly string[],
) {
  const listed = sql`r.status = 'published' AND r.open_type IN (${sql.join([...openTypes])})
    AND r.catalog_level IN (${sql.join([...levels])})`;
  const [byOrg, byDataset, byDay] = await Promise.all([
    sql<{ org_id: number; org_name: string; views: number; downloads: number; api_calls: number }>`
      SELECT r.provider_org_id AS org_id, o.name AS org_name, sum(u.views)::int AS views,
        sum(u.downloads)::int AS downloads, sum(u.api_calls)::int AS api_calls
      FROM open_usage u JOIN resource r ON r.id = u.resource_id JOIN org o ON o.id = r.provider_org_id
      WHERE u.day >= ${sinceDay}::date AND ${listed}
      GROUP BY r.provider_org_id, o.name ORDER BY sum(u.views + u.downloads + u.api_calls) DESC, o.name`.execute(
      db,
    ),
    sql<{ id: number; name: string; org_name: string; views: number; downloads: number; api_calls: number }>`
      SELECT r.id, r.name, o.name AS org_name, sum(u.views)::int AS views, sum(u.downloads)::int AS downloads,
        sum(u.api_calls)::int AS api_calls
      FROM open_usage u JOIN resource r ON r.id = u.resource_id JOIN org o ON o.id = r.provider_org_id
      WHERE u.day >= ${sinceDay}::date AND ${listed}
      GROUP BY r.id, r.name, o.name ORDER BY sum(u.views + u.downloads + u.api_calls) DESC, r.id LIMIT 10`.execute(
      db,
    ),
    sql<{ day: string; views: number; downloads: number; api_calls: number }>`
      SELECT to_char(u.day, 'YYYY-MM-DD') AS day, sum(u.views)::int AS views, sum(u.downloads)::int AS downloads,
        sum(u.api_calls)::int AS api_calls
      FROM open_usage u JOIN resource r ON r.id = u.resource_id
      WHERE u.day >= ${sinceDay}::date AND ${listed}
      GROUP BY u.day ORDER BY u.day`.execute(db),
  ]);
  const counts = (x: { views: number; downloads: number; api_calls: number }) => ({
    views: x.views,
    downloads: x.downloads,
    apiCalls: x.api_calls,
  });
  return {
    departments: byOrg.rows.map((r) => ({ org: { id: Number(r.org_id), name: r.org_name }, ...counts(r) })),
    datasets: byDataset.rows.map((r) => ({ id: Number(r.id), name: r.name, org: r.org_name, ...counts(r) })),
    days: byDay.rows.map((r) => ({ day: r.day, ...counts(r) })),
  };
}
