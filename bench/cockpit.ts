/*
 * `npm run bench:cockpit` (issue 12 point 6, "dashboard queries p95 < 200 ms at that volume"): the demo city plus a
 * year of activity ending today — BENCH_COCKPIT_AUDIT audit rows of data calls (1 M) rolled into usage_daily as the
 * usage.rollup job does, and BENCH_COCKPIT_REQUESTS share requests with a provider step each (10 k; one in ten still
 * pending past its due date, so the overdue-by-department count has work) — then times the authority's
 * GET /api/cockpit through the real app (buildApp + inject, session cookie, as the console calls it) for the default
 * 30 days and for 365 days, BENCH_COCKPIT_REPEAT runs each, p50/p95.
 *
 * Baselines measured in the same run:
 *   - GET /api/auth/me through the same app and session: what any signed-in GET costs (routing, session, JSON);
 *   - the bare GROUP BY over audit_log for the same 30 days (day totals), which the cockpit's volume would run
 *     without the rollup.
 * Prints the ratios. Knobs (env): BENCH_COCKPIT_AUDIT (1000000), BENCH_COCKPIT_REQUESTS (10000),
 * BENCH_COCKPIT_REPEAT (30), BENCH_DATABASE_URL / DATABASE_URL. PostgreSQL only.
 */
import os from 'node:os';
import { sql } from 'kysely';
import { closeContext } from '../src/boot.js';
import { addDays, shanghaiDate } from '../src/calendar/model.js';
import { loadDemoCity } from '../src/demo/load.js';
import { buildApp } from '../src/http/app.js';
import { runUsageRollup } from '../src/usage/rollup.js';
import { scratchContext, scratchDatabase } from './scratch-db.js';
import { loadAverage, median, percentile } from './stats.js';

const env = process.env;
const AUDIT = Number(env.BENCH_COCKPIT_AUDIT || 1_000_000);
const REQUESTS = Number(env.BENCH_COCKPIT_REQUESTS || 10_000);
const REPEAT = Number(env.BENCH_COCKPIT_REPEAT || 30);
const SERVER_URL =
  env.BENCH_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

const ms = (t: number) => `${(performance.now() - t).toFixed(0)} ms`;

const scratch = await scratchDatabase(SERVER_URL);
if (!scratch) process.exit(0);
const ctx = await scratchContext(scratch.url, { loginRateLimitPerMinute: 1000 });
let failed = false;
try {
  console.log(
    `load average at start (1/5/15 min): ${loadAverage()} on ${os.cpus().length} cores (shared machine)`,
  );
  await loadDemoCity(ctx, { populationRows: 500, entityRows: 200 });
  const today = shanghaiDate(new Date());
  const first = addDays(today, -364);
  let t = performance.now();
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
      SELECT ((${first}::date + ((i - 1) * 365 / ${AUDIT}::bigint)::int)::timestamp
          + ((i * 7919) % 36000) * interval '1 second') AT TIME ZONE 'Asia/Shanghai',
        b.org_id, b.app_id, CASE WHEN i % 5 = 0 THEN 'data.query' WHEN i % 7 = 0 THEN 'data.verify' ELSE 'data.get' END,
        b.resource_id, '业务办理核验', CASE WHEN i % 25 = 0 THEN 'deny' ELSE 'allow' END,
        CASE WHEN i % 25 = 0 THEN NULL ELSE 1 + i % 20 END, jsonb_build_object('ms', (i % 300) / 3.0)
      FROM generate_series(${done + 1}::bigint, ${done + n}::bigint) AS i
      JOIN bench_pick b ON b.n = 1 + (i * 31) % ${combos}`.execute(ctx.db);
  }
  // share requests over the year with a provider step each: 80 % answered on time, one in ten still pending
  await sql`INSERT INTO share_request (resource_id, consumer_org_id, app_id, requester_id, purpose, fields,
      valid_until, profile_id, status, submitted_at)
    SELECT b.resource_id, b.org_id, b.app_id, (SELECT min(id) FROM app_user), '业务办理', '{}', '2099-12-31',
      'dongguan-2020', CASE WHEN i % 10 = 0 THEN 'pending' ELSE 'approved' END, ${first}::date + (i % 360)::int
    FROM generate_series(1, ${REQUESTS}::int) AS i JOIN bench_pick b ON b.n = 1 + (i * 17) % ${combos}`.execute(
    ctx.db,
  );
  await sql`INSERT INTO share_request_step (request_id, step_index, key, actor, deadline_amount, deadline_unit, article,
      started_on, due_date, decision, decided_at)
    SELECT q.id, 0, 'provider', 'provider', 5, 'WD', 'DG Art 22', q.submitted_at::date, q.submitted_at::date + 7,
      CASE WHEN q.status = 'pending' THEN NULL ELSE 'approved' END,
      CASE WHEN q.status = 'pending' THEN NULL
        ELSE q.submitted_at + CASE WHEN q.id % 5 = 0 THEN interval '10 days' ELSE interval '2 days' END END
    FROM share_request q WHERE q.profile_id = 'dongguan-2020' AND q.purpose = '业务办理'`.execute(ctx.db);
  const rolled = await runUsageRollup(ctx, { from: first });
  await sql`ANALYZE`.execute(ctx.db);
  console.log(
    `seeded ${AUDIT.toLocaleString('en')} audit rows (${first} → ${today}, rolled into ${rolled.rows.toLocaleString('en')} usage_daily rows) and ${REQUESTS.toLocaleString('en')} requests in ${ms(t)}`,
  );

  const app = await buildApp(ctx, { redis: null });
  await app.ready();
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { username: 'reviewer', password: 'Demo@2026' },
  });
  const c = res.cookies.find((x) => x.name === 'gs_session');
  if (res.statusCode !== 200 || !c) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  const cookie = `gs_session=${c.value}`;
  const time = async (url: string) => {
    const runs: number[] = [];
    let body: unknown = null;
    for (let i = 0; i < REPEAT + 3; i++) {
      const s = performance.now();
      const r = await app.inject({ method: 'GET', url, headers: { cookie } });
      const d = performance.now() - s;
      if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
      if (i >= 3) runs.push(d); // three warm-up calls
      body = r.json();
    }
    return { p50: percentile(runs, 0.5), p95: percentile(runs, 0.95), body };
  };

  const me = await time('/api/auth/me');
  console.log(
    `baseline GET /api/auth/me (${REPEAT} runs): p50 ${me.p50.toFixed(1)} ms, p95 ${me.p95.toFixed(1)} ms`,
  );
  const bare: number[] = [];
  for (let i = 0; i < Math.min(REPEAT, 10); i++) {
    t = performance.now();
    await sql`SELECT (occurred_at AT TIME ZONE 'Asia/Shanghai')::date, count(*), sum(rows_returned),
        count(*) FILTER (WHERE decision = 'deny') FROM audit_log WHERE action LIKE 'data.%'
        AND occurred_at >= (${addDays(today, -29)}::date::timestamp AT TIME ZONE 'Asia/Shanghai')
      GROUP BY 1`.execute(ctx.db);
    bare.push(performance.now() - t);
  }
  const bareMed = median(bare);
  console.log(
    `baseline bare GROUP BY over audit_log for 30 days (no rollup): median ${bareMed.toFixed(0)} ms`,
  );

  for (const days of [30, 365]) {
    const r = await time(`/api/cockpit?days=${days}`);
    const b = r.body as { view: string; volume: { calls: number }; overdue: { requestsLate: number }[] };
    const late = b.overdue.reduce((s, o) => s + o.requestsLate, 0);
    if (b.view !== 'authority' || b.volume.calls <= 0 || late <= 0) {
      failed = true;
      console.log(
        `✘ the cockpit did not see the seeded volume (${b.volume.calls} calls, ${late} late requests)`,
      );
    }
    console.log(
      `GET /api/cockpit?days=${days} as the authority (${REPEAT} runs; ${b.volume.calls.toLocaleString('en')} calls, ${late} late requests): p50 ${r.p50.toFixed(0)} ms, p95 ${r.p95.toFixed(0)} ms (target p95 < 200 ms); ×${(r.p50 / me.p50).toFixed(1)} GET /api/auth/me, ×${(r.p50 / bareMed).toFixed(2)} the bare 30-day GROUP BY`,
    );
  }
  console.log(`load average at end (1/5/15 min): ${loadAverage()}`);
  await app.close();
} finally {
  await closeContext(ctx);
  await scratch.drop();
}
process.exit(failed ? 1 : 0);
