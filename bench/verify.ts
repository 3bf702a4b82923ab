/*
 * `npm run bench:verify`: the verification call (核验, issue 9; DG Art 19) under load, against a bare baseline.
 *
 * PostgreSQL only (a fresh `gs_bench_<rand>` database, bench/scratch-db.ts). Loads the demo city
 * (BENCH_POPULATION_ROWS population rows), gives 就业服务系统's population grant the verification right, and puts two
 * servers under the same load (bench/loadgen.mjs in a worker thread, BENCH_CONCURRENCY keep-alive clients, random
 * bodies from 5 000 real keys, nine in ten with the record's true name and one in ten with a wrong one):
 *   baseline  a bare Fastify app: POST /baseline/verify {key, match:{name}} = one point select of the name by `_key`
 *             (named prepared statement, plain pg.Pool of govshare's size), compared in JS, {match} as JSON
 *   governed  the real app: POST /api/v1/data/:code/verify with X-Api-Key and X-Purpose: guards, key → app → grant with
 *             the verification right → record compared in SQL → audit row (`data.verify`), one statement
 * Runs alternated, BENCH_ROUNDS × (BENCH_WARMUP_SECONDS + BENCH_SECONDS), medians of req/s, p50 and p99 and the ratio
 * governed / baseline, with the load average and the CPU microseconds a call of the server process and of PostgreSQL
 * (bench/stats.ts `cpuPerRequest`, as `npm run bench` prints them: the robust figures on a loaded machine). Checked:
 * no non-200, a boolean `match` in sampled answers, one `data.verify` audit row per governed call (warm-up included).
 * Correctness failures set exit code 1.
 */
import os from 'node:os';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { closeContext } from '../src/boot.js';
import { loadConfig } from '../src/config.js';
import { loadDemoCity } from '../src/demo/load.js';
import { buildApp } from '../src/http/app.js';
import { LoadGenerator, type LoadJob, type LoadResult } from './loadgen-client.js';
import { sampleRecords } from './sample.js';
import { scratchContext, scratchDatabase } from './scratch-db.js';
import { cpuPerRequest, loadAverage, median, percentile, withCpu } from './stats.js';

const env = process.env;
const num = (name: string, fallback: number) => Number(env[name] || fallback);
const SECONDS = num('BENCH_SECONDS', 10);
const WARMUP_SECONDS = num('BENCH_WARMUP_SECONDS', 2);
const ROUNDS = num('BENCH_ROUNDS', 3);
const CONCURRENCY = num('BENCH_CONCURRENCY', 50);
const POPULATION_ROWS = num('BENCH_POPULATION_ROWS', 100_000);
const POOL_SIZE = num('DB_POOL_SIZE', 20);
const SERVER_URL =
  env.BENCH_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const CONSUMER_APP = '就业服务系统';

const port = (app: FastifyInstance) => (app.server.address() as { port: number }).port;

const scratch = await scratchDatabase(SERVER_URL);
if (!scratch) process.exit(0);
const ctx = await scratchContext(scratch.url, {
  dbPoolSize: POOL_SIZE,
  // the guards stay on, with limits above the offered load: one body in ten is a deliberate miss, which the enumeration
  // detector would otherwise (rightly) take for guessing and suspend the app after a few dozen calls
  dataApi: {
    ...loadConfig({}).dataApi,
    // the one data-API setting a run may vary (group commit), from the environment like production's
    statementsInFlight: loadConfig(process.env).dataApi.statementsInFlight,
    appRatePerSecond: 1_000_000,
    grantCallsPerDay: 1_000_000_000,
    keyFailuresPerMinute: 1_000_000,
    enumerationMisses: 1_000_000,
  },
});
const pool = new pg.Pool({ connectionString: scratch.url, max: POOL_SIZE });
const loadgen = new LoadGenerator({
  warmupSeconds: WARMUP_SECONDS,
  seconds: SECONDS,
  concurrency: CONCURRENCY,
});
let failed = false;
const check = (ok: boolean, what: string) => {
  if (!ok) {
    failed = true;
    console.log(`  CHECK FAILED: ${what}`);
  }
};
try {
  console.log(`== verification call (核验), PostgreSQL ${scratch.version} (database ${scratch.name}) ==`);
  console.log(
    `load average at start (1/5/15 min): ${loadAverage()} on ${os.cpus().length} cores (shared machine)`,
  );
  const demo = await loadDemoCity(ctx, { populationRows: POPULATION_ROWS, entityRows: 2000 });
  const consumer = demo.apps.find((a) => a.name === CONSUMER_APP);
  const g = (
    await pool.query(
      `SELECT g.id, r.code, r.data_table, g.purpose_id,
         (SELECT 'c' || f.ordinal FROM resource_field f WHERE f.resource_id = r.id AND f.code = 'name') AS name_col
       FROM share_grant g JOIN app a ON a.id = g.app_id JOIN resource r ON r.id = g.resource_id
       WHERE a.name = $1 AND r.name = '人口基础信息' AND g.status = 'active' ORDER BY g.id LIMIT 1`,
      [CONSUMER_APP],
    )
  ).rows[0];
  if (!consumer || !g) throw new Error('no population grant of 就业服务系统 in the demo city');
  await pool.query(
    'UPDATE share_grant SET can_verify = true, max_verify_per_day = NULL, max_calls_per_day = NULL WHERE id = $1',
    [g.id],
  );
  // governed calls name the record by its clear ID number; the bare route reads `_key` as stored (its keyed hash)
  const sample = await sampleRecords(ctx, g.data_table, 5000, ['name']);
  const body = (key: string, name: string | null, i: number) =>
    JSON.stringify({ key, match: { name: i % 10 === 9 ? `${name}甲` : name } });
  const bodies = sample.map((r, i) => body(r.key, r.values.name, i));
  const storedBodies = sample.map((r, i) => body(r.stored, r.values.name, i));

  const baseline = Fastify({ logger: false });
  const baseSql = `SELECT ${g.name_col} AS name FROM ${g.data_table} WHERE _key = $1`;
  baseline.post('/baseline/verify', async (req) => {
    const b = req.body as { key: string; match: { name: string } };
    const { rows } = await pool.query({ name: 'baseline.verify', text: baseSql, values: [b.key] });
    return { match: rows.length === 1 && rows[0].name === b.match.name };
  });
  await baseline.listen({ host: '127.0.0.1', port: 0 });
  const governed = await buildApp(ctx, { logger: false });
  await governed.listen({ host: '127.0.0.1', port: 0 });
  const jobs: Record<'baseline' | 'governed', LoadJob> = {
    baseline: {
      base: `http://127.0.0.1:${port(baseline)}`,
      pathPrefix: '/baseline/verify',
      headers: {},
      keys: storedBodies,
      check: 'verify',
      method: 'POST',
    },
    governed: {
      base: `http://127.0.0.1:${port(governed)}`,
      pathPrefix: `/api/v1/data/${encodeURIComponent(g.code)}/verify`,
      headers: { 'x-api-key': consumer.apiKey, 'x-purpose': g.purpose_id },
      keys: bodies,
      check: 'verify',
      method: 'POST',
    },
  };
  const audited = async () =>
    Number(
      (await pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'data.verify'`)).rows[0].n,
    );
  // before measuring: both answer a true name with a match and a wrong one without (a bench timing misses would
  // measure the wrong path)
  for (const t of ['baseline', 'governed'] as const) {
    const job = jobs[t];
    const answers: boolean[] = [];
    for (const b of [job.keys[0], job.keys[9]]) {
      const res = await fetch(`${job.base}${job.pathPrefix}`, {
        method: 'POST',
        headers: { ...job.headers, 'content-type': 'application/json' },
        body: b,
      });
      answers.push(((await res.json()) as { match?: boolean }).match === true);
    }
    check(answers[0] && !answers[1], `${t}: a true name matches and a wrong one does not (got ${answers})`);
  }
  const stats = { baseline: [] as LoadResult[], governed: [] as LoadResult[] };
  const cpu = {
    baseline: [] as ReturnType<typeof cpuPerRequest>[],
    governed: [] as ReturnType<typeof cpuPerRequest>[],
  };
  let sent = 2;
  const before = (await audited()) - 2;
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of ['baseline', 'governed'] as const) {
      const { result: r, ...used } = await withCpu(ctx, () => loadgen.run(jobs[t]));
      stats[t].push(r);
      const c = cpuPerRequest(r, used);
      cpu[t].push(c);
      if (t === 'governed') sent += r.total;
      check(r.totalNon200 === 0, `${t}: non-200 answers ${JSON.stringify(r.statusCounts)}`);
      check(r.maskFailures === 0, `${t}: ${r.maskFailures} answers without a boolean match (${r.sample})`);
      const m = r.measured;
      console.log(
        `round ${round} ${t.padEnd(8)} ${Math.round(m.count / m.seconds)} req/s p50 ${percentile(m.latencies, 0.5).toFixed(1)} ms ` +
          `p99 ${percentile(m.latencies, 0.99).toFixed(1)} ms; CPU µs/call server ${c.srvUs.toFixed(0)} ` +
          `PostgreSQL ${c.dbUs.toFixed(0)} load generator ${c.genUs.toFixed(0)}; load ${loadAverage()}`,
      );
    }
  }
  check((await audited()) - before === sent, `audit rows data.verify = governed calls sent (${sent})`);
  const row = (t: 'baseline' | 'governed') => ({
    rps: median(stats[t].map((r) => r.measured.count / r.measured.seconds)),
    p50: median(stats[t].map((r) => percentile(r.measured.latencies, 0.5))),
    p99: median(stats[t].map((r) => percentile(r.measured.latencies, 0.99))),
    srvUs: median(cpu[t].map((c) => c.srvUs)),
    dbUs: median(cpu[t].map((c) => c.dbUs)),
  });
  const b = row('baseline');
  const gv = row('governed');
  console.log(
    `\nmedians (${ROUNDS} rounds, ${CONCURRENCY} clients): baseline ${Math.round(b.rps)} req/s p50 ${b.p50.toFixed(1)} ` +
      `p99 ${b.p99.toFixed(1)} ms; governed ${Math.round(gv.rps)} req/s p50 ${gv.p50.toFixed(1)} p99 ${gv.p99.toFixed(1)} ms; ` +
      `governed/baseline req/s ${(gv.rps / b.rps).toFixed(2)}, p99 ×${(gv.p99 / b.p99).toFixed(1)}; ` +
      `CPU µs/call server ${b.srvUs.toFixed(0)} → ${gv.srvUs.toFixed(0)}, PostgreSQL ${b.dbUs.toFixed(0)} → ${gv.dbUs.toFixed(0)}; load ${loadAverage()}`,
  );
  await baseline.close();
  await governed.close();
} finally {
  await loadgen.close();
  await pool.end();
  await closeContext(ctx);
  await scratch.drop();
}
if (failed) process.exitCode = 1;
