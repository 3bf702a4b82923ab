import { sql } from 'kysely';
import { addDays, shanghaiDate } from '../calendar/model.js';
import type { AppContext } from '../context.js';
import { inTx, type Tx } from '../db/index.js';

/*
 * Usage monitoring's pre-aggregate (issue 12 point 3, NY task 10). audit_log records every governed data call (the
 * same statement that serves it writes its row: action data.get/list/query/verify/export, the app, the consumer
 * department, the grant's purpose, allow/deny, rows served, and since migration 024 the statement's latency in
 * detail.ms). Refused data-API requests caught before the governed statement (malformed calls, rate limits, quotas)
 * are `http.refused` rows with the route; they are the "errors" column, counted with their tally.
 *
 * How it stays correct: the rollup works on whole Beijing days. A run deletes the usage_daily rows of the days it covers
 * and inserts them again from audit_log, in one transaction under an advisory lock, so re-running a day gives the
 * same rows (idempotent) and two nodes never interleave. The watermark (platform_state 'usage.rollup') is the last
 * day rolled; each run re-rolls from the day before the watermark up to today, so rows committed late (a transaction
 * that started before midnight, a refusal tally raised after the last run) are picked up on the next run.
 */
export const USAGE_ROLLUP_JOB = 'usage.rollup';
const WATERMARK_KEY = 'usage.rollup';
/** Upper bounds (ms) of the latency buckets l0…l11; l12 is everything slower. */
export const LATENCY_BOUNDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] as const;
export const BUCKETS = LATENCY_BOUNDS.length + 1;
/** A day's rows are re-rolled this many days back from the watermark. */
const REROLL_DAYS = 1;
/** Days rolled per transaction. */
const CHUNK_DAYS = 31;

const dayStart = (day: string) => sql`(${day}::date::timestamp AT TIME ZONE 'Asia/Shanghai')`;

function bucketFilters() {
  const parts: ReturnType<typeof sql>[] = [];
  for (let i = 0; i < BUCKETS; i++) {
    const lo = i === 0 ? null : LATENCY_BOUNDS[i - 1];
    const hi = i < LATENCY_BOUNDS.length ? LATENCY_BOUNDS[i] : null;
    const cond = [lo === null ? null : `x.ms > ${lo}`, hi === null ? null : `x.ms <= ${hi}`]
      .filter(Boolean)
      .join(' AND ');
    parts.push(sql.raw(`count(*) FILTER (WHERE x.ms IS NOT NULL AND ${cond})`));
  }
  return sql.join(parts);
}

const ANALYZE_AFTER_ROWS = 5000;

const BUCKET_COLUMNS = sql.raw(Array.from({ length: BUCKETS }, (_, i) => `l${i}`).join(', '));

/** Rebuilds usage_daily for the Beijing days from…to (inclusive) from audit_log. Returns the rows written. */
export async function rollDays(trx: Tx, from: string, to: string): Promise<number> {
  await sql`SELECT pg_advisory_xact_lock(748211024)`.execute(trx);
  await trx.deleteFrom('usage_daily').where('day', '>=', from).where('day', '<=', to).execute();
  const r = await sql`
    INSERT INTO usage_daily (day, org_id, provider_org_id, app_id, resource_id, action, purpose, calls, allowed, denied,
      errors, rows_served, lat_count, lat_sum_ms, ${BUCKET_COLUMNS})
    SELECT x.day, x.org_id, coalesce(r.provider_org_id, 0), x.app_id, x.resource_id, x.action, x.purpose,
      sum(x.n), coalesce(sum(x.n) FILTER (WHERE x.allowed), 0), coalesce(sum(x.n) FILTER (WHERE x.denied), 0),
      coalesce(sum(x.n) FILTER (WHERE x.error), 0), coalesce(sum(x.rows) FILTER (WHERE x.allowed), 0),
      count(x.ms), coalesce(sum(x.ms), 0), ${bucketFilters()}
    FROM (
      SELECT (a.occurred_at AT TIME ZONE 'Asia/Shanghai')::date AS day, coalesce(a.actor_org_id, 0) AS org_id,
        coalesce(a.app_id, 0) AS app_id, coalesce(a.resource_id, 0) AS resource_id,
        CASE WHEN a.action = 'http.refused' THEN 'data.refused' ELSE a.action END AS action,
        left(coalesce(a.purpose, ''), 200) AS purpose,
        CASE WHEN a.action = 'http.refused' THEN coalesce(t.count, 1) ELSE 1 END AS n,
        a.action <> 'http.refused' AND a.decision = 'allow' AS allowed,
        a.action <> 'http.refused' AND a.decision = 'deny' AS denied,
        a.action = 'http.refused' AS error,
        a.rows_returned AS rows,
        CASE WHEN a.detail ? 'ms' THEN (a.detail->>'ms')::double precision END AS ms
      FROM audit_log a LEFT JOIN audit_refusal_tally t ON t.audit_id = a.id AND a.action = 'http.refused'
      WHERE a.occurred_at >= ${dayStart(from)} AND a.occurred_at < ${dayStart(addDays(to, 1))}
        AND (a.action LIKE 'data.%' OR (a.action = 'http.refused' AND a.detail->>'route' LIKE '/api/v1/data/%'))
    ) x LEFT JOIN resource r ON r.id = x.resource_id
    GROUP BY x.day, x.org_id, r.provider_org_id, x.app_id, x.resource_id, x.action, x.purpose`.execute(trx);
  return Number(r.numAffectedRows ?? 0);
}

/**
 * The job: rolls from the day before the watermark (or the first audited day) to today, then moves the watermark.
 * `from` forces a re-roll from that day (an operator after a restore; tests).
 */
export async function runUsageRollup(
  ctx: AppContext,
  opts: { from?: string } = {},
): Promise<{ from: string; to: string; rows: number }> {
  const bounds = await sql<{ first: Date | null; last: Date | null }>`
    SELECT min(occurred_at) AS first, max(occurred_at) AS last FROM audit_log`.execute(ctx.db);
  const { first, last } = bounds.rows[0];
  const today = shanghaiDate(ctx.clock.now());
  // audit rows carry the database's time; a platform on a training or test clock may be behind it
  const lastDay = last ? shanghaiDate(new Date(last)) : today;
  const to = lastDay > today ? lastDay : today;
  const mark = await ctx.db
    .selectFrom('platform_state')
    .select('value')
    .where('key', '=', WATERMARK_KEY)
    .executeTakeFirst()
    .then((r) => (r?.value as { through?: string } | undefined)?.through ?? null);
  let from =
    opts.from ?? (mark ? addDays(mark, -REROLL_DAYS) : first ? shanghaiDate(new Date(first)) : today);
  if (from > to) from = to;
  // a long range (the first run over an existing log) is rolled CHUNK_DAYS at a time, each chunk in its own
  // transaction: each is idempotent on its own, and the watermark moves only after the last
  let rows = 0;
  for (let start = from; start <= to; start = addDays(start, CHUNK_DAYS)) {
    const end = addDays(start, CHUNK_DAYS - 1) < to ? addDays(start, CHUNK_DAYS - 1) : to;
    rows += await inTx(ctx.db, (trx) => rollDays(trx, start, end));
  }
  // a large roll (the first run over an existing log, a forced re-roll) changes the table's size many times over: fresh
  // statistics let the usage reports hash-aggregate it instead of sorting it on disk (PGlite has no autovacuum)
  if (rows > ANALYZE_AFTER_ROWS) await sql`ANALYZE usage_daily`.execute(ctx.db);
  const value = JSON.stringify({ through: to, rolledAt: new Date().toISOString() });
  await ctx.db
    .insertInto('platform_state')
    .values({ key: WATERMARK_KEY, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: new Date() }))
    .execute();
  return { from, to, rows };
}

/** Stands for "slower than the last bound" (shown as > 5000 ms). */
export const SLOWER = LATENCY_BOUNDS[LATENCY_BOUNDS.length - 1] + 1;

/** The latency below which a share q of the histogram's calls fall: the upper bound of that bucket (ms). */
export function percentile(buckets: number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (!total) return null;
  const target = q * total;
  let cum = 0;
  for (let i = 0; i < buckets.length; i++) {
    cum += buckets[i];
    if (cum >= target) return i < LATENCY_BOUNDS.length ? LATENCY_BOUNDS[i] : SLOWER;
  }
  return SLOWER;
}
