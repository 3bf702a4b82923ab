/*
 * `npm run bench:evaluation` (issue 12 points 3 and 5): a year of activity — BENCH_EVAL_AUDIT audit rows of data calls
 * (1 M, written in time order as the platform writes them) and BENCH_EVAL_REQUESTS share requests with a provider step each (10 k) — on the demo city, then:
 *   - the usage rollup from scratch over the year (usage.rollup job's work on first start) and one regular run;
 *   - the evaluation of every department over the year (the evaluation.run job, usage rolled first);
 *   - GET /api/usage's query for the year (daily), p50/p95 over BENCH_EVAL_REPEAT runs;
 * against a same-run baseline: the bare GROUP BY over audit_log a dashboard without the rollup would run for the same
 * year (day × app × resource counts). Prints the ratios.
 *
 * Knobs (env): BENCH_EVAL_AUDIT (1000000), BENCH_EVAL_REQUESTS (10000), BENCH_EVAL_REPEAT (20), BENCH_DATABASE_URL /
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres). PostgreSQL only.
 */
import { sql } from 'kysely';
import { closeContext } from '../src/boot.js';
import { addDays, shanghaiDate } from '../src/calendar/model.js';
import type { Actor } from '../src/context.js';
import { loadDemoCity } from '../src/demo/load.js';
import { evaluationJob, requestRun } from '../src/evaluation/service.js';
import { runUsageRollup } from '../src/usage/rollup.js';
import { usageReport } from '../src/usage/service.js';
import { scratchContext, scratchDatabase } from './scratch-db.js';
import { median, percentile } from './stats.js';

const env = process.env;
const AUDIT = Number(env.BENCH_EVAL_AUDIT || 1_000_000);
const REQUESTS = Number(env.BENCH_EVAL_REQUESTS || 10_000);
const REPEAT = Number(env.BENCH_EVAL_REPEAT || 20);
const SERVER_URL =
  env.BENCH_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

const ms = (t: number) => `${(performance.now() - t).toFixed(0)} ms`;

const scratch = await scratchDatabase(SERVER_URL);
if (!scratch) process.exit(0);
const ctx = await scratchContext(scratch.url);
try {
  await loadDemoCity(ctx, { populationRows: 500, entityRows: 200 });
  const today = shanghaiDate(new Date());
  const year = Number(today.slice(0, 4)) - 1;
  let t = performance.now();
  // a year of calls: every published resource with data, every app, weekday-heavy, 4 % refused
  await sql`CREATE TEMP TABLE bench_pick AS SELECT row_number() OVER () AS n, r.id AS resource_id, p.id AS app_id,
      p.org_id FROM resource r CROSS JOIN app p WHERE r.status = 'published' AND r.data_table IS NOT NULL`.execute(
    ctx.db,
  );
  const combos = Number(
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM bench_pick`.execute(ctx.db)).rows[0].n,
  );
  const CHUNK = 200_000;
  for (let done = 0; done < AUDIT; done += CHUNK) {
    const n = Math.min(CHUNK, AUDIT - done);
    await sql`INSERT INTO audit_log (occurred_at, actor_org_id, app_id, action, resource_id, purpose, decision,
        rows_returned, detail)
      SELECT (${`${year}-01-01`}::date + ((i - 1) * 365 / ${AUDIT}::bigint)::int)::timestamp + ((i * 7919) % 36000) * interval '1 second'
,
        b.org_id, b.app_id, CASE WHEN i % 5 = 0 THEN 'data.query' WHEN i % 7 = 0 THEN 'data.verify' ELSE 'data.get' END,
        b.resource_id, '业务办理核验', CASE WHEN i % 25 = 0 THEN 'deny' ELSE 'allow' END,
        CASE WHEN i % 25 = 0 THEN NULL ELSE 1 + i % 20 END, jsonb_build_object('ms', (i % 300) / 3.0)
      FROM generate_series(${done + 1}::bigint, ${done + n}::bigint) AS i
      JOIN bench_pick b ON b.n = 1 + (i * 31) % ${combos}`.execute(ctx.db);
  }
  // share requests with a provider step each, 80 % answered on time
  const reqs =
    await sql`INSERT INTO share_request (resource_id, consumer_org_id, app_id, requester_id, purpose, fields,
      valid_until, profile_id, status, submitted_at)
    SELECT b.resource_id, b.org_id, b.app_id, (SELECT min(id) FROM app_user), '业务办理', '{}', '2099-12-31',
      'dongguan-2020', 'approved', ${`${year}-01-01`}::date + (i % 360)::int
    FROM generate_series(1, ${REQUESTS}::int) AS i JOIN bench_pick b ON b.n = 1 + (i * 17) % ${combos}
    RETURNING id, submitted_at`.execute(ctx.db);
  await sql`INSERT INTO share_request_step (request_id, step_index, key, actor, deadline_amount, deadline_unit, article,
      started_on, due_date, decision, decided_at)
    SELECT q.id, 0, 'provider', 'provider', 5, 'WD', 'DG Art 22', q.submitted_at::date, q.submitted_at::date + 7,
      'approved', q.submitted_at + CASE WHEN q.id % 5 = 0 THEN interval '10 days' ELSE interval '2 days' END
    FROM share_request q WHERE q.profile_id = 'dongguan-2020' AND q.purpose = '业务办理'`.execute(ctx.db);
  await sql`ANALYZE`.execute(ctx.db);
  console.log(
    `seeded ${AUDIT.toLocaleString('en')} audit rows and ${reqs.rows.length.toLocaleString('en')} requests for ${year} in ${ms(t)}`,
  );

  // baseline: the bare aggregate over audit_log a dashboard without the rollup would run for the year
  const base: number[] = [];
  for (let i = 0; i < Math.min(REPEAT, 5); i++) {
    t = performance.now();
    await sql`SELECT (occurred_at AT TIME ZONE 'Asia/Shanghai')::date, app_id, resource_id, count(*),
        sum(rows_returned) FROM audit_log WHERE action LIKE 'data.%'
        AND occurred_at >= (${`${year}-01-01`}::date::timestamp AT TIME ZONE 'Asia/Shanghai')
        AND occurred_at < (${`${year + 1}-01-01`}::date::timestamp AT TIME ZONE 'Asia/Shanghai')
      GROUP BY 1, 2, 3`.execute(ctx.db);
    base.push(performance.now() - t);
  }
  const baseMed = median(base);
  console.log(`baseline bare GROUP BY over audit_log for the year: median ${baseMed.toFixed(0)} ms`);

  t = performance.now();
  const first = await runUsageRollup(ctx, { from: `${year}-01-01` });
  const rollAll = performance.now() - t;
  console.log(
    `rollup from scratch (${first.from} → ${first.to}, ${first.rows.toLocaleString('en')} rows): ${rollAll.toFixed(0)} ms`,
  );
  t = performance.now();
  await runUsageRollup(ctx);
  const rollRegular = performance.now() - t;
  console.log(`regular rollup run (yesterday and today): ${rollRegular.toFixed(0)} ms`);

  const staffRow = await ctx.db
    .selectFrom('app_user as u')
    .innerJoin('org as o', 'o.id', 'u.org_id')
    .select(['u.id', 'u.org_id'])
    .where('o.kind', '=', 'authority')
    .where(sql<boolean>`'authority_reviewer' = ANY(u.roles)`)
    .executeTakeFirstOrThrow();
  const staff: Actor = {
    id: Number(staffRow.id),
    username: 'reviewer',
    displayName: 'reviewer',
    orgId: Number(staffRow.org_id),
    orgKind: 'authority',
    sectionId: null,
    roles: ['authority_reviewer', 'auditor'],
    clientIp: null,
  };
  const run = await requestRun(ctx, staff, String(year));
  t = performance.now();
  await evaluationJob(ctx, run.id);
  const evalMs = performance.now() - t;
  const ranked = await ctx.db
    .selectFrom('eval_score')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('run_id', '=', run.id)
    .executeTakeFirstOrThrow();
  console.log(
    `evaluation of ${ranked.n} departments over ${year} (usage rolled first): ${evalMs.toFixed(0)} ms (target < 10 000 ms)`,
  );

  const q: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    t = performance.now();
    await usageReport(ctx, staff, { from: `${year}-01-01`, to: addDays(`${year + 1}-01-01`, -1) });
    q.push(performance.now() - t);
  }
  const p50 = percentile(q, 0.5);
  const p95 = percentile(q, 0.95);
  console.log(
    `GET /api/usage query, the year daily (${REPEAT} runs): p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms (target p95 < 200 ms); ratio to the bare GROUP BY ${(p50 / baseMed).toFixed(2)}×`,
  );
} finally {
  await closeContext(ctx);
  await scratch.drop();
}
