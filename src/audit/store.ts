import { type RawBuilder, sql } from 'kysely';
import { fieldNamesOf } from '../catalog/store.js';
import type { Db, Tx } from '../db/index.js';
import { AppError } from '../shared/errors.js';
import { keyedHash } from '../shared/secrets.js';

export interface AuditEntryInput {
  actorUserId?: number | null;
  actorOrgId?: number | null;
  appId?: number | null;
  grantId?: number | null;
  action: string;
  resourceId?: number | null;
  targetType?: string | null;
  targetId?: string | number | null;
  /** readable (masked) form of a target whose id is stored hashed */
  targetLabel?: string | null;
  purpose?: string | null;
  decision: 'allow' | 'deny';
  rowsReturned?: number | null;
  fields?: string[] | null;
  clientIp?: string | null;
  detail?: Record<string, unknown>;
}

/**
 * The columns of an audit record, in this order, as every writer fills them: appendAudit (one record, any feature), the
 * data API's governed statements (one record per call, written by the statement that answers it: src/dataapi/store.ts)
 * and datastore_search's page statement (src/opening/store.ts). `id`, `occurred_at` and the seal's columns take the
 * table's defaults (the data API reserves its ids first, so it names `id` before these).
 */
export const AUDIT_COLUMNS =
  'actor_user_id, actor_org_id, app_id, grant_id, action, resource_id, target_type, target_id, target_label, purpose, decision, rows_returned, fields, client_ip, detail';

/**
 * The INSERT of one audit record returning its id, as a statement or a part of one (a CTE): `rowsReturned`, when given,
 * replaces `e.rowsReturned` with an expression of the statement it sits in (the rows of the page it answers).
 */
export function auditRecordInsert(
  e: AuditEntryInput,
  rowsReturned?: RawBuilder<unknown>,
): RawBuilder<{ id: number }> {
  return sql<{ id: number }>`INSERT INTO audit_log (${sql.raw(AUDIT_COLUMNS)})
    VALUES (${e.actorUserId ?? null}, ${e.actorOrgId ?? null}, ${e.appId ?? null}, ${e.grantId ?? null}, ${e.action},
      ${e.resourceId ?? null}, ${e.targetType ?? null}, ${e.targetId == null ? null : String(e.targetId)},
      ${e.targetLabel ?? null}, ${e.purpose ?? null}, ${e.decision}, ${rowsReturned ?? e.rowsReturned ?? null},
      ${e.fields ?? null}::text[], ${e.clientIp ?? null}, ${JSON.stringify(e.detail ?? {})}::jsonb)
    RETURNING id`;
}

/** Appends one audit record inside the caller's transaction, so the action and its record commit together. */
export async function appendAudit(trx: Tx | Db, e: AuditEntryInput): Promise<number> {
  const { rows } = await auditRecordInsert(e).execute(trx);
  if (!rows[0]) throw new Error('audit record not written');
  return Number(rows[0].id);
}

export interface AuditFilter {
  action?: string;
  resourceId?: number;
  appId?: number;
  /** the acting department (the consumer's organisation for a data call) */
  orgId?: number;
  /** the acting person */
  userId?: number;
  /** every call a grant served (drill-down from a grant) */
  grantId?: number;
  decision?: 'allow' | 'deny';
  /** keyed hashes of a record key the auditor searches for (target_id never holds the clear key) */
  targetHashes?: string[];
  from?: string;
  to?: string;
  page: number;
  pageSize: number;
  /** keyset paging: the rows after this position (newest first), whatever their depth; `page` is then not used */
  after?: AuditPosition;
}

/** A row's place in the list's order: its time (UTC, to the microsecond, as PostgreSQL keeps it) and id. */
export interface AuditPosition {
  at: string;
  id: number;
}

/**
 * How far the auditor's list counts and pages by page number (issue 10 point 12: the log holds ≈ 1 B rows a year): the
 * window, `AUDIT_LIST_WINDOW` (config `auditListWindow`, default 10 000). The count stops at window + 1 matching rows
 * (`more`: more than `total` match, shown as "超过 10 000 条") and a page may start at most the window's rows in, so a
 * page costs the same at 0.1 M rows and at 100 M; older records continue by cursor (`nextCursor`).
 */
export const AUDIT_LIST_WINDOW = 10_000;

/**
 * The list's opaque cursor (`nextCursor` / `cursor=`): the last row's position, keyed-hashed so a changed or made-up
 * cursor is refused rather than read. It names no record key, only a time and an audit id.
 */
export function encodeAuditCursor(secret: Buffer, p: AuditPosition): string {
  const body = `a1|${p.at}|${p.id}`;
  return Buffer.from(`${body}|${keyedHash(secret, `audit-cursor:${body}`).slice(0, 24)}`).toString(
    'base64url',
  );
}

export function decodeAuditCursor(secret: Buffer, cursor: string): AuditPosition {
  const m = /^(a1\|(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|(\d{1,15}))\|([0-9a-f]{24})$/.exec(
    Buffer.from(cursor, 'base64url').toString(),
  );
  if (!m || keyedHash(secret, `audit-cursor:${m[1]}`).slice(0, 24) !== m[4])
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'cursor',
        reason: 'not a cursor of the audit list this server issued: start again from the first page',
        reasonZh: '审计列表游标无效（不是本系统给出的游标），请从第一页重新查看',
      },
    ]);
  return { at: m[2], id: Number(m[3]) };
}

/**
 * The auditor's filtered audit list, newest first by (occurred_at, id) — the partitions' own order, so the newest page
 * reads the newest rows of each partition's index and stops. `window` bounds the count and how far a page may start.
 */
export async function listAudit(db: Db, f: AuditFilter, window = AUDIT_LIST_WINDOW) {
  const countCap = window;
  const offset = f.after ? 0 : (f.page - 1) * f.pageSize;
  if (offset > window)
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'page',
        reason: `a page starts at most ${window} records in: continue with the previous page's nextCursor, or narrow the filters (time range, app, person)`,
        reasonZh: `按页码最多翻到第 ${window} 条记录，请用"更早的记录"继续查看，或缩小筛选范围（时间、应用、人员）`,
      },
    ]);
  let q = db.selectFrom('audit_log as a');
  if (f.action) q = q.where('a.action', '=', f.action);
  if (f.resourceId) q = q.where('a.resource_id', '=', f.resourceId);
  if (f.appId) q = q.where('a.app_id', '=', f.appId);
  if (f.orgId) q = q.where('a.actor_org_id', '=', f.orgId);
  if (f.userId) q = q.where('a.actor_user_id', '=', f.userId);
  if (f.grantId) q = q.where('a.grant_id', '=', f.grantId);
  if (f.decision) q = q.where('a.decision', '=', f.decision);
  if (f.targetHashes) q = q.where('a.target_id', 'in', f.targetHashes);
  if (f.from) q = q.where('a.occurred_at', '>=', new Date(f.from));
  if (f.to) q = q.where('a.occurred_at', '<', new Date(f.to));
  // a bounded count: at most countCap + 1 matching rows are looked at, never the whole table
  const { n } = await db
    .selectFrom(
      q
        .select(sql<number>`1`.as('one'))
        .limit(countCap + 1)
        .as('c'),
    )
    .select(sql<number>`count(*)::int`.as('n'))
    .executeTakeFirstOrThrow();
  // keyset paging: the rows after the cursor's (time, id) — a range read of the same (occurred_at DESC, id DESC) index
  // orders (migration 044), so a page 1 M rows deep reads one page of rows, not the million before it
  const after = f.after;
  const pq = after
    ? q
        .where(sql<boolean>`(a.occurred_at, a.id) < (${after.at}::timestamptz, ${after.id}::bigint)`)
        // the same bound on the time alone: PostgreSQL prunes the months newer than the cursor by it (not by the row)
        .where('a.occurred_at', '<=', sql<Date>`${after.at}::timestamptz`)
    : q;
  // the page's rows first (index order, limit), then their names: the joins run for the page only. One row more than
  // the page says whether a next page exists (nextCursor), without a second query.
  const page = pq
    .selectAll('a')
    .orderBy('a.occurred_at', 'desc')
    .orderBy('a.id', 'desc')
    .limit(f.pageSize + 1)
    .offset(offset)
    .as('a');
  const rows = await db
    .selectFrom(page)
    .leftJoin('app_user as u', 'u.id', 'a.actor_user_id')
    .leftJoin('org as o', 'o.id', 'a.actor_org_id')
    .leftJoin('app as p', 'p.id', 'a.app_id')
    .leftJoin('resource as r', 'r.id', 'a.resource_id')
    // a refused request repeated within its minute is one row here; the tally holds how often it happened
    .leftJoin('audit_refusal_tally as t', 't.audit_id', 'a.id')
    .select([
      'a.id',
      'a.occurred_at',
      'a.actor_user_id',
      'u.username',
      'u.display_name',
      'a.actor_org_id',
      'o.name as org_name',
      'a.app_id',
      'p.name as app_name',
      'a.grant_id',
      'a.action',
      'a.resource_id',
      'r.code as resource_code',
      'r.name as resource_name',
      'a.target_type',
      'a.target_id',
      'a.target_label',
      'a.purpose',
      'a.decision',
      'a.rows_returned',
      'a.fields',
      // a base library's reads name its own fields (no resource): names from its definition, never codes
      sql<string[] | null>`CASE WHEN a.resource_id IS NULL AND a.target_type = 'base_library'
        THEN (SELECT array_agg(coalesce(bf.name, c.code) ORDER BY c.n)
          FROM unnest(a.fields) WITH ORDINALITY AS c(code, n)
          LEFT JOIN base_library_field bf ON bf.library_id::text = a.target_id AND bf.code = c.code)
        ELSE ${fieldNamesOf('a.resource_id', 'a.fields')} END`.as('field_names'),
      'a.client_ip',
      'a.detail',
      't.count as repeat_count',
      // the exact time for the cursor (a JS Date keeps milliseconds only; ties within a millisecond must not be skipped)
      sql<string>`to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('at_exact'),
    ])
    .orderBy('a.occurred_at', 'desc')
    .orderBy('a.id', 'desc')
    .execute();
  const hasNext = rows.length > f.pageSize;
  if (hasNext) rows.length = f.pageSize;
  const last = rows[rows.length - 1];
  return {
    /** the position after this page's last row (for its cursor), null on the last page */
    next: hasNext ? ({ at: last.at_exact, id: Number(last.id) } as AuditPosition) : null,
    /** matching records, counted up to countCap */
    total: Math.min(n, countCap),
    /** more than `total` records match (the count stopped at countCap) */
    more: n > countCap,
    items: rows.map((r) => ({
      id: r.id,
      occurredAt: r.occurred_at,
      actor: r.actor_user_id
        ? { id: r.actor_user_id, username: r.username, displayName: r.display_name }
        : null,
      org: r.actor_org_id ? { id: r.actor_org_id, name: r.org_name } : null,
      app: r.app_id ? { id: r.app_id, name: r.app_name } : null,
      grantId: r.grant_id,
      action: r.action,
      resource: r.resource_id ? { id: r.resource_id, code: r.resource_code, name: r.resource_name } : null,
      targetType: r.target_type,
      targetId: r.target_id,
      targetLabel: r.target_label,
      purpose: r.purpose,
      decision: r.decision,
      rowsReturned: r.rows_returned,
      fields: r.fields,
      fieldNames: r.field_names,
      clientIp: r.client_ip,
      detail: r.detail,
      /** how many identical refusals (same minute, caller, address, route, code) this row stands for */
      repeatCount: r.repeat_count ?? 1,
    })),
  };
}

/** What the auditor can filter by, with names: departments, people, apps and resources that appear in the log. */
export async function auditFilterOptions(db: Db) {
  const [orgs, users, apps, resources] = await Promise.all([
    db.selectFrom('org').select(['id', 'name']).orderBy('name').execute(),
    db
      .selectFrom('app_user as u')
      .innerJoin('org as o', 'o.id', 'u.org_id')
      .select(['u.id', 'u.display_name as name', 'o.short_name as orgName'])
      .orderBy('o.short_name')
      .orderBy('u.display_name')
      .execute(),
    db
      .selectFrom('app as p')
      .innerJoin('org as o', 'o.id', 'p.org_id')
      .select(['p.id', 'p.name', 'o.short_name as orgName'])
      .orderBy('o.short_name')
      .orderBy('p.name')
      .execute(),
    db.selectFrom('resource').select(['id', 'name', 'code']).orderBy('code').execute(),
  ]);
  return { orgs, users, apps, resources };
}

export const SAVED_QUERIES_PER_USER = 30;

export function listSavedQueries(db: Db, userId: number) {
  return db
    .selectFrom('audit_saved_query')
    .select(['id', 'name', 'filter', 'created_at as createdAt'])
    .where('user_id', '=', userId)
    .orderBy('name')
    .execute();
}
