import { type Expression, type SqlBool, sql } from 'kysely';
import { addDays, shanghaiDate } from '../calendar/model.js';
import { type Actor, type AppContext, hasRole } from '../context.js';
import { epsilonPerDay, roundEpsilon } from '../dataapi/aggregate.js';
import { grantsUsedToday } from '../dataapi/guards.js';
import { assertOrgFilter } from '../orgs/store.js';
import { AppError } from '../shared/errors.js';
import { BUCKETS, LATENCY_BOUNDS, percentile } from './rollup.js';

/*
 * Reading usage (issue 12 point 3, NY task 10) from usage_daily only, never from audit_log: a department sees the calls
 * it made (as consumer) and the calls on its resources (as provider); the authority, the auditor and the platform
 * administrator see every department.
 */
export interface UsageQuery {
  org?: number;
  app?: number;
  resource?: number;
  action?: string;
  from?: string;
  to?: string;
  granularity?: 'day' | 'month';
}

export const MAX_RANGE_DAYS = 731;

export function seesAllUsage(actor: Actor): boolean {
  return actor.orgKind === 'authority' || hasRole(actor, 'auditor', 'platform_admin');
}

const bucketCols = Array.from({ length: BUCKETS }, (_, i) => `l${i}`);
const sumBuckets = sql.raw(bucketCols.map((c) => `sum(u.${c})::bigint AS ${c}`).join(', '));

type Agg = {
  calls: number | string;
  allowed: number | string;
  denied: number | string;
  errors: number | string;
  rows_served: number | string;
  lat_count: number | string;
  lat_sum_ms: number | string;
} & Record<string, number | string>;

function stats(r: Agg) {
  const buckets = bucketCols.map((c) => Number(r[c] ?? 0));
  const latCount = Number(r.lat_count);
  return {
    calls: Number(r.calls),
    allowed: Number(r.allowed),
    denied: Number(r.denied),
    errors: Number(r.errors),
    rowsServed: Number(r.rows_served),
    latency: {
      measured: latCount,
      avgMs: latCount ? Math.round((Number(r.lat_sum_ms) / latCount) * 100) / 100 : null,
      p50: percentile(buckets, 0.5),
      p95: percentile(buckets, 0.95),
      p99: percentile(buckets, 0.99),
    },
  };
}

/** The additive columns of usage_daily besides the latency buckets. */
const AGG_COLUMNS = [
  'calls',
  'allowed',
  'denied',
  'errors',
  'rows_served',
  'lat_count',
  'lat_sum_ms',
] as const;

/** Rows' additive columns summed (the totals from the series). */
function sumAgg(rows: Agg[]): Agg {
  const out: Agg = {
    calls: 0,
    allowed: 0,
    denied: 0,
    errors: 0,
    rows_served: 0,
    lat_count: 0,
    lat_sum_ms: 0,
  };
  for (const r of rows)
    for (const c of [...AGG_COLUMNS, ...bucketCols]) out[c] = Number(out[c] ?? 0) + Number(r[c] ?? 0);
  return out;
}

const SUMS = sql.raw(`sum(u.calls)::bigint AS calls, sum(u.allowed)::bigint AS allowed,
  sum(u.denied)::bigint AS denied, sum(u.errors)::bigint AS errors, sum(u.rows_served)::bigint AS rows_served,
  sum(u.lat_count)::bigint AS lat_count, sum(u.lat_sum_ms) AS lat_sum_ms`);

export async function usageReport(ctx: AppContext, actor: Actor, q: UsageQuery) {
  const to = q.to ?? shanghaiDate(ctx.clock.now());
  const from = q.from ?? addDays(to, -29);
  if (from > to)
    throw new AppError('VALIDATION_FAILED', [
      { field: 'from', reason: 'from is after to', reasonZh: '起始日期晚于截止日期' },
    ]);
  const days = Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000) + 1;
  if (days > MAX_RANGE_DAYS)
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'from',
        reason: `at most ${MAX_RANGE_DAYS} days`,
        reasonZh: `查询范围最长 ${MAX_RANGE_DAYS} 天`,
      },
    ]);
  await assertOrgFilter(ctx.db, q.org, 'org');
  const granularity = q.granularity ?? 'day';
  const conds: Expression<SqlBool>[] = [
    sql<SqlBool>`u.day >= ${from}::date`,
    sql<SqlBool>`u.day <= ${to}::date`,
  ];
  if (!seesAllUsage(actor))
    conds.push(sql<SqlBool>`(u.org_id = ${actor.orgId} OR u.provider_org_id = ${actor.orgId})`);
  if (q.org) conds.push(sql<SqlBool>`(u.org_id = ${q.org} OR u.provider_org_id = ${q.org})`);
  if (q.app) conds.push(sql<SqlBool>`u.app_id = ${q.app}`);
  if (q.resource) conds.push(sql<SqlBool>`u.resource_id = ${q.resource}`);
  if (q.action) conds.push(sql<SqlBool>`u.action = ${q.action}`);
  const where = sql.join(conds, sql` AND `);
  const period = granularity === 'month' ? sql`to_char(d.day, 'YYYY-MM')` : sql`to_char(d.day, 'YYYY-MM-DD')`;
  const sumsOf = (alias: string) =>
    sql.raw(
      [...AGG_COLUMNS, ...bucketCols]
        .map((c) => `sum(${alias}.${c})${c === 'lat_sum_ms' ? '' : '::bigint'} AS ${c}`)
        .join(', '),
    );

  /*
   * Every statement first aggregates usage_daily's own narrow columns by hashing (no DISTINCT aggregate, no joined
   * text in the grouping), then joins names to the few rows it keeps. The key (day, org, app, resource, action,
   * purpose) gives a department × app × resource × call type × purpose at most one row a day, so its active days
   * are its row count. The totals are the series summed: one scan fewer (a year daily went from 5 scans and
   * sorts spilled to disk to 3 hashed scans; bench/evaluation.ts).
   */
  const [series, byResource, byApp, rows] = await Promise.all([
    sql<Agg & { period: string; active_days: number }>`
      SELECT ${period} AS period, count(*)::int AS active_days, ${sumsOf('d')}
      FROM (SELECT u.day, ${SUMS}, ${sumBuckets} FROM usage_daily u WHERE ${where} GROUP BY u.day) d
      GROUP BY 1 ORDER BY 1`.execute(ctx.db),
    sql<Agg & { resource_id: number; name: string | null; code: string | null; provider: string | null }>`
      SELECT x.*, r.name, r.code, o.short_name AS provider
      FROM (SELECT u.resource_id, ${SUMS}, ${sumBuckets} FROM usage_daily u WHERE ${where} AND u.resource_id <> 0
        GROUP BY u.resource_id ORDER BY sum(u.calls) DESC, u.resource_id LIMIT 10) x
        LEFT JOIN resource r ON r.id = x.resource_id LEFT JOIN org o ON o.id = r.provider_org_id
      ORDER BY x.calls DESC, x.resource_id`.execute(ctx.db),
    sql<Agg & { app_id: number; name: string | null; org: string | null }>`
      SELECT x.*, p.name, o.short_name AS org
      FROM (SELECT u.app_id, ${SUMS}, ${sumBuckets} FROM usage_daily u WHERE ${where} AND u.app_id <> 0
        GROUP BY u.app_id ORDER BY sum(u.calls) DESC, u.app_id LIMIT 10) x
        LEFT JOIN app p ON p.id = x.app_id LEFT JOIN org o ON o.id = p.org_id
      ORDER BY x.calls DESC, x.app_id`.execute(ctx.db),
    sql<
      Agg & {
        org_id: number;
        org: string | null;
        app_id: number;
        app: string | null;
        resource_id: number;
        resource: string | null;
        provider: string | null;
        action: string;
        purpose: string;
        active_days: number;
      }
    >`
      SELECT x.*, co.short_name AS org, p.name AS app, r.name AS resource, po.short_name AS provider
      FROM (SELECT u.org_id, u.app_id, u.resource_id, u.provider_org_id, u.action, u.purpose,
          count(*)::int AS active_days, ${SUMS}, ${sumBuckets}
        FROM usage_daily u WHERE ${where}
        GROUP BY u.org_id, u.app_id, u.resource_id, u.provider_org_id, u.action, u.purpose
        ORDER BY sum(u.calls) DESC, u.org_id, u.app_id, u.resource_id, u.action, u.purpose LIMIT 200) x
        LEFT JOIN org co ON co.id = x.org_id LEFT JOIN app p ON p.id = x.app_id
        LEFT JOIN resource r ON r.id = x.resource_id LEFT JOIN org po ON po.id = x.provider_org_id
      ORDER BY x.calls DESC, x.org_id, x.app_id, x.resource_id, x.action, x.purpose`.execute(ctx.db),
  ]);
  const t = sumAgg(series.rows);
  return {
    from,
    to,
    granularity,
    days,
    latencyBoundsMs: [...LATENCY_BOUNDS],
    totals: {
      ...stats(t),
      activeDays: series.rows.reduce((n, r) => n + Number(r.active_days), 0),
      perDay: Math.round((Number(t.calls) / days) * 100) / 100,
    },
    series: series.rows.map((r) => ({ period: r.period, ...stats(r) })),
    topResources: byResource.rows.map((r) => ({
      resource: { id: Number(r.resource_id), name: r.name, code: r.code, provider: r.provider },
      ...stats(r),
    })),
    topApps: byApp.rows.map((r) => ({
      app: { id: Number(r.app_id), name: r.name, org: r.org },
      ...stats(r),
    })),
    items: rows.rows.map((r) => ({
      org: r.org_id ? { id: Number(r.org_id), name: r.org } : null,
      app: r.app_id ? { id: Number(r.app_id), name: r.app } : null,
      resource: r.resource_id ? { id: Number(r.resource_id), name: r.resource, provider: r.provider } : null,
      action: r.action,
      purpose: r.purpose || null,
      activeDays: r.active_days,
      /** frequency: calls per day over the range */
      perDay: Math.round((Number(r.calls) / days) * 100) / 100,
      ...stats(r),
    })),
  };
}

/** What the filters offer the caller: the departments, apps and resources in its visible usage. */
export async function usageOptions(ctx: AppContext, actor: Actor) {
  const all = seesAllUsage(actor);
  const mine = sql<SqlBool>`(u.org_id = ${actor.orgId} OR u.provider_org_id = ${actor.orgId})`;
  const vis = all ? sql<SqlBool>`true` : mine;
  const [orgs, apps, resources] = await Promise.all([
    sql<{ id: number; name: string }>`SELECT o.id, o.short_name AS name FROM org o WHERE o.kind <> 'authority'
      AND (${all} OR o.id IN (SELECT u.org_id FROM usage_daily u WHERE ${vis}
        UNION SELECT u.provider_org_id FROM usage_daily u WHERE ${vis})) ORDER BY o.short_name LIMIT 500`.execute(
      ctx.db,
    ),
    sql<{ id: number; name: string }>`SELECT p.id, p.name FROM app p
      WHERE p.id IN (SELECT u.app_id FROM usage_daily u WHERE ${vis}) ORDER BY p.name LIMIT 500`.execute(
      ctx.db,
    ),
    sql<{ id: number; name: string }>`SELECT r.id, r.name FROM resource r
      WHERE r.id IN (SELECT u.resource_id FROM usage_daily u WHERE ${vis}) ORDER BY r.name LIMIT 1000`.execute(
      ctx.db,
    ),
  ]);
  return {
    orgs: orgs.rows.map((r) => ({ id: Number(r.id), name: r.name })),
    apps: apps.rows.map((r) => ({ id: Number(r.id), name: r.name })),
    resources: resources.rows.map((r) => ({ id: Number(r.id), name: r.name })),
  };
}

export const GRANT_USAGE_MAX_DAYS = 90;

/**
 * Per-grant daily calls and refusals (issue 9 point 9: the grants page's per-app call charts), from usage_daily: a
 * grant's calls are its app's calls on its resource (the rollup's app × resource); today's calls are at least what the
 * live quota counters say (`today`), so the chart is true before the next rollup. The caller sees the grants
 * GET /api/sharing/grants lists: a department those it holds as consumer and those on its resources as provider; the
 * platform admin, the authority's reviewer and the auditor all. Days without a call are zeros.
 */
export async function grantUsage(ctx: AppContext, actor: Actor, q: { days?: number }) {
  const days = q.days ?? 30;
  if (!Number.isInteger(days) || days < 1 || days > GRANT_USAGE_MAX_DAYS)
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'days',
        reason: `1 to ${GRANT_USAGE_MAX_DAYS} days`,
        reasonZh: `天数须为 1 至 ${GRANT_USAGE_MAX_DAYS}`,
      },
    ]);
  const to = shanghaiDate(ctx.clock.now());
  const from = addDays(to, -(days - 1));
  const all = hasRole(actor, 'platform_admin', 'auditor', 'authority_reviewer');
  const scope = all
    ? sql<SqlBool>`true`
    : sql<SqlBool>`(g.consumer_org_id = ${actor.orgId} OR r.provider_org_id = ${actor.orgId})`;
  const rows = await sql<{ grant_id: number; day: string; calls: string; denied: string }>`
    SELECT g.id AS grant_id, to_char(u.day, 'YYYY-MM-DD') AS day, sum(u.calls)::bigint AS calls,
      sum(u.denied)::bigint AS denied
    FROM share_grant g JOIN resource r ON r.id = g.resource_id
      JOIN usage_daily u ON u.app_id = g.app_id AND u.resource_id = g.resource_id
    WHERE ${scope} AND u.day >= ${from}::date AND u.day <= ${to}::date
    GROUP BY g.id, u.day ORDER BY g.id, u.day`.execute(ctx.db);
  const dayList = Array.from({ length: days }, (_, i) => addDays(from, i));
  const index = new Map(dayList.map((d, i) => [d, i]));
  const items = new Map<
    number,
    { grantId: number; calls: number[]; denied: number[]; total: number; totalDenied: number }
  >();
  for (const r of rows.rows) {
    const id = Number(r.grant_id);
    let e = items.get(id);
    if (!e) {
      e = {
        grantId: id,
        calls: dayList.map(() => 0),
        denied: dayList.map(() => 0),
        total: 0,
        totalDenied: 0,
      };
      items.set(id, e);
    }
    const i = index.get(r.day);
    if (i === undefined) continue;
    e.calls[i] = Number(r.calls);
    e.denied[i] = Number(r.denied);
    e.total += Number(r.calls);
    e.totalDenied += Number(r.denied);
  }
  // today's use of each active grant's daily quotas (the live counters the data API checks) and the platform's
  // defaults for a grant that sets no quota of its own: the grants page's quota column shows numbers and usage bars
  const active = await sql<{ id: number }>`
    SELECT g.id FROM share_grant g JOIN resource r ON r.id = g.resource_id
    WHERE ${scope} AND g.status = 'active' ORDER BY g.id`.execute(ctx.db);
  const activeIds = active.rows.map((r) => Number(r.id));
  const counted = await grantsUsedToday(ctx, activeIds);
  // and the epsilon each grant's noisy aggregate answers spent today (the privacy budget, aggregate.ts): the platform
  // clock's day, the day the budget is charged to (a training clock moves both)
  const spent =
    activeIds.length === 0
      ? []
      : await ctx.db
          .selectFrom('aggregate_budget')
          .select(['grant_id', 'spent'])
          .where('grant_id', 'in', activeIds)
          .where('day', '=', shanghaiDate(ctx.clock.now()))
          .execute();
  const epsilonOf = new Map(spent.map((r) => [Number(r.grant_id), roundEpsilon(Number(r.spent))]));
  const today = counted.map((u) => ({ ...u, epsilon: epsilonOf.get(u.grantId) ?? 0 }));
  // today's bar from the same live counters: the rollup runs every 10 minutes, so a grant first used today had no bar
  // (and a busy one a stale bar) until it ran. The counters count the calls and verifications checked against the
  // grant's daily quotas; the rollup also counts what they do not (exports, the feed, refusals before the grant was
  // known), so today's figure is the larger of the two. Only while the platform's day is the counters' day (a
  // training clock moved away from it keeps the rollup's figure).
  const last = dayList.length - 1;
  if (shanghaiDate(new Date()) === to)
    for (const u of today) {
      const live = u.calls + u.verifications;
      let e = items.get(u.grantId);
      if (!e && live > 0) {
        e = {
          grantId: u.grantId,
          calls: dayList.map(() => 0),
          denied: dayList.map(() => 0),
          total: 0,
          totalDenied: 0,
        };
        items.set(u.grantId, e);
      }
      if (!e || live <= e.calls[last]) continue;
      e.total += live - e.calls[last];
      e.calls[last] = live;
    }
  const lim = ctx.config.dataApi;
  const quotaDefaults = {
    callsPerDay: lim.grantCallsPerDay,
    rowsPerCall: lim.grantRowsPerCall,
    verificationsPerDay: lim.grantCallsPerDay,
    exportRowsPerDay: lim.grantExportRowsPerDay ?? 1_000_000,
    epsilonPerDay: epsilonPerDay(ctx),
  };
  return { from, to, days: dayList, items: [...items.values()], today, quotaDefaults };
}
