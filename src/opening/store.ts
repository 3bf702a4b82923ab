import { sql } from 'kysely';
import { auditRecordInsert } from '../audit/store.js';
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

/** What datastore_search's audit record says besides the page's row count (appendAudit's columns). */
export interface PageAudit {
  actorUserId: number | null;
  actorOrgId: number | null;
  action: string;
  resourceId: number;
  fields: string[];
  clientIp: string | null;
  purpose: string | null;
  detail: Record<string, unknown>;
}

/**
 * Rows `offset … offset+limit` matching `where` (CKAN datastore_search paging) and their total, with the call's audit
 * record (`rows_returned` = the page's rows) and one on the dataset's API-call counter of `day`, in ONE statement: one
 * round trip and one commit instead of BEGIN, page, count, audit, counter and COMMIT (bench/open-serve.ts: each round
 * trip costs the serving thread a socket write and a wait). The page and the audit record commit together or not at
 * all; an empty page still answers one row (`_seq` null) carrying the total and the audit id.
 */
export async function auditedRowsPage(
  db: Db | Tx,
  dataTable: string,
  fields: ReadonlyArray<Pick<StoredField, 'code' | 'columnName'>>,
  offset: number,
  limit: number,
  where: ReturnType<typeof sql> | null,
  audit: PageAudit,
  day: string,
): Promise<{ total: number; auditId: number; records: Record<string, unknown>[] }> {
  const cols = sql.join(
    fields.map((f) => sql`${sql.ref(f.columnName)} AS ${sql.ref(f.code)}`),
    sql`, `,
  );
  const cond = where ?? sql`true`;
  const { rows } = await sql<
    Record<string, unknown> & { _seq: string | null; _total: number; _audit_id: number }
  >`
    WITH page AS MATERIALIZED (
      SELECT _seq, ${cols} FROM ${tableRef(dataTable)} WHERE ${cond} ORDER BY _seq LIMIT ${limit} OFFSET ${offset}
    ),
    total AS (SELECT count(*)::int AS n FROM ${tableRef(dataTable)} WHERE ${cond}),
    ins AS (${auditRecordInsert(
      {
        ...audit,
        targetType: 'resource',
        targetId: audit.resourceId,
        decision: 'allow',
      },
      sql`(SELECT count(*) FROM page)`,
    )}),
    used AS (${usageIncrement(audit.resourceId, day, 'api_calls')} RETURNING 1)
    SELECT (SELECT n FROM total) AS _total, (SELECT id FROM ins) AS _audit_id, (SELECT count(*) FROM used) AS _used,
      page.*
    FROM (SELECT 1) one LEFT JOIN page ON true
    ORDER BY page._seq`.execute(db);
  const first = rows[0];
  if (!first?._audit_id) throw new Error('datastore page: no audit record written');
  const records = rows
    .filter((r) => r._seq !== null)
    .map((r) => Object.fromEntries(fields.map((f) => [f.code, r[f.code]])));
  return { total: Number(first._total), auditId: Number(first._audit_id), records };
}

export type UsageKind = 'views' | 'previews' | 'downloads' | 'api_calls';

/** Adds one to a dataset's counter of the day (in the caller's transaction, next to the audit record). */
export async function countUsage(
  trx: Db | Tx,
  resourceId: number,
  day: string,
  kind: UsageKind,
): Promise<void> {
  await usageIncrement(resourceId, day, kind).execute(trx);
}

/** The upsert adding one to a counter of the day, in one of the dataset's slots (a statement or a CTE's body). */
function usageIncrement(resourceId: number, day: string, kind: UsageKind, slot = usageSlot()) {
  const col = sql.ref(kind);
  return sql`INSERT INTO open_usage (resource_id, day, slot, ${col}) VALUES (${resourceId}, ${day}::date, ${slot}, 1)
    ON CONFLICT (resource_id, day, slot) DO UPDATE SET ${col} = open_usage.${col} + 1`;
}

/**
 * Rows per dataset and day that increments spread over (migration 037). The row stays locked until the incrementing
 * transaction commits, so with one row every call on a popular dataset waited for the previous commit.
 */
export const OPEN_USAGE_SLOTS = 16;
const usageSlot = () => Math.floor(Math.random() * OPEN_USAGE_SLOTS);

/**
 * Counts a view of the dataset page and reads its usage (totals of all days, the days since `sinceDay`) in one
 * statement: one round trip and one commit instead of an upsert followed by two reads. The statement's snapshot does
 * not see its own upsert, so today's row comes from the upsert's RETURNING and the stored rows of the other days
 * from the table (today's other slots included): the figures include this view.
 */
export async function countViewAndUsage(db: Db | Tx, resourceId: number, day: string, sinceDay: string) {
  const slot = usageSlot();
  const { rows } = await sql<{
    day: string;
    views: number;
    previews: number;
    downloads: number;
    api_calls: number;
    t_views: number;
    t_previews: number;
    t_downloads: number;
    t_api_calls: number;
  }>`WITH up AS (${usageIncrement(resourceId, day, 'views', slot)}
      RETURNING day, views, previews, downloads, api_calls),
    u AS (
      SELECT day, views, previews, downloads, api_calls FROM open_usage
      WHERE resource_id = ${resourceId} AND NOT (day = ${day}::date AND slot = ${slot})
      UNION ALL SELECT day, views, previews, downloads, api_calls FROM up),
    d AS (
      SELECT day, sum(views)::int AS views, sum(previews)::int AS previews, sum(downloads)::int AS downloads,
        sum(api_calls)::int AS api_calls FROM u GROUP BY day),
    t AS (
      SELECT day, views, previews, downloads, api_calls, sum(views) OVER () AS t_views,
        sum(previews) OVER () AS t_previews, sum(downloads) OVER () AS t_downloads,
        sum(api_calls) OVER () AS t_api_calls FROM d)
    SELECT to_char(day, 'YYYY-MM-DD') AS day, views, previews, downloads, api_calls, t_views::int AS t_views,
      t_previews::int AS t_previews, t_downloads::int AS t_downloads, t_api_calls::int AS t_api_calls
    FROM t WHERE day >= ${sinceDay}::date ORDER BY day`.execute(db);
  // today's row is always there (it was just written), so the totals come along
  const t = rows[0];
  return {
    views: t?.t_views ?? 0,
    previews: t?.t_previews ?? 0,
    downloads: t?.t_downloads ?? 0,
    apiCalls: t?.t_api_calls ?? 0,
    days: rows.map((d) => ({
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
