/*
 * `npm run bench`: what does governance cost on the data API?
 *
 * For each database (PostgreSQL server; PGlite in memory, for information) it loads the demo city and
 * compares, under the same load:
 *   baseline  a bare Fastify app: GET /baseline/:key = one point select on the population data table by
 *             _key (plain pg.Pool of the same size as govshare's; on PGlite through ctx.database.query)
 *   governed  the real govshare app: GET /api/v1/data/:code/records/:key with X-Api-Key
 *             (key → app → grant check → record read → audit insert in one statement, masking in JS)
 * Load: 50 keep-alive clients in a worker thread, random existing keys, 2 s warm-up + 10 s measured per
 * run, baseline and governed runs alternated, medians reported. Correctness is checked while measuring
 * (no non-200, idNumber masked, one audit row per governed call). Then bench/startup.ts.
 *
 * Knobs (env): BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_ROUNDS (3 on PostgreSQL, 2 on PGlite),
 * BENCH_CONCURRENCY (50), BENCH_POPULATION_ROWS (100000), BENCH_ENTITY_ROWS (20000),
 * BENCH_DATABASES (postgres,pglite), BENCH_STARTUP (1; 0 skips), BENCH_DATABASE_URL / DATABASE_URL (server,
 * default postgres://postgres@127.0.0.1:5432/postgres), DB_POOL_SIZE (20),
 * BENCH_PG_SYNCHRONOUS_COMMIT (unset = server default; an experiment knob, e.g. `off`).
 * Speed misses never fail the run; correctness failures set exit code 1.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { closeContext, openContext } from '../src/boot.js';
import { loadConfig } from '../src/config.js';
import type { AppContext } from '../src/context.js';
import { grantCallsToday } from '../src/dataapi/guards.js';
import { recordReadStats } from '../src/dataapi/service.js';
import { loadDemoCity } from '../src/demo/load.js';
import { buildApp } from '../src/http/app.js';
import { LoadGenerator, type LoadJob, type LoadResult } from './loadgen-client.js';
import { sampleRecords } from './sample.js';
import { dropScratchDatabase } from './scratch-db.js';
import { printStartup, runStartupBench, STARTUP_TARGETS, type StartupResult } from './startup.js';
import { cpuPerRequest, median, withCpu } from './stats.js';

const env = process.env;
function num(name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${v}"`);
  return n;
}

const SECONDS = num('BENCH_SECONDS', 10);
const WARMUP_SECONDS = num('BENCH_WARMUP_SECONDS', 2);
const CONCURRENCY = num('BENCH_CONCURRENCY', 50);
const POPULATION_ROWS = num('BENCH_POPULATION_ROWS', 100_000);
const ENTITY_ROWS = num('BENCH_ENTITY_ROWS', 20_000);
const POOL_SIZE = num('DB_POOL_SIZE', 20);
const KEY_SAMPLE = 5_000;
const DATABASES = (env.BENCH_DATABASES ?? 'postgres,pglite').split(',').map((s) => s.trim());
const RUN_STARTUP = env.BENCH_STARTUP !== '0';
const SERVER_URL =
  env.BENCH_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const SYNC_COMMIT = env.BENCH_PG_SYNCHRONOUS_COMMIT || null;
const CONSUMER_APP = '就业服务系统';
// the data-API issue's targets (issue 9: ≥ 0.8 of the baseline's req/s, p99 < 20 ms on PostgreSQL; the foundation's
// were 0.6 and 25 ms): PASS/MISS is printed against these
const TARGET = { ratio: 0.8, p99Ms: 20 };

type Kind = 'postgres' | 'pglite';
type Target = 'baseline' | 'governed';

// ---------- statistics ----------

interface RunStats {
  rps: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
  count: number;
  non200: number;
  /** CPU µs per request (whole run incl. warm-up): govshare/baseline server process, PostgreSQL, load generator */
  srvUs: number;
  dbUs: number;
  genUs: number;
}

function stats(r: LoadResult, cpu?: { processUs: number; pgTicks: number | null }): RunStats {
  const lat = Float64Array.from(r.measured.latencies).sort();
  const n = lat.length;
  const pct = (p: number) => (n ? lat[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)] : Number.NaN);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += lat[i];
  return {
    rps: n / r.measured.seconds,
    mean: n ? sum / n : Number.NaN,
    p50: pct(50),
    p99: pct(99),
    max: n ? lat[n - 1] : Number.NaN,
    count: n,
    non200: r.totalNon200,
    ...cpuPerRequest(r, cpu),
  };
}

function medianStats(runs: RunStats[]): RunStats {
  return {
    rps: median(runs.map((r) => r.rps)),
    mean: median(runs.map((r) => r.mean)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    max: Math.max(...runs.map((r) => r.max)),
    count: runs.reduce((a, r) => a + r.count, 0),
    non200: runs.reduce((a, r) => a + r.non200, 0),
    srvUs: median(runs.map((r) => r.srvUs)),
    dbUs: median(runs.map((r) => r.dbUs)),
    genUs: median(runs.map((r) => r.genUs)),
  };
}

// ---------- one database ----------

interface DbResult {
  kind: Kind;
  label: string;
  rounds: number;
  baseline: RunStats;
  governed: RunStats;
  baselineRuns: RunStats[];
  governedRuns: RunStats[];
  ratio: number;
  governedSent: number;
  auditRows: number;
  /** governed calls per record-read statement (group commit of the audit rows, see src/dataapi/store.ts) */
  callsPerStatement: number;
  maskChecked: number;
  maskFailures: number;
  sample: string | null;
  resourceCode: string;
  demoSeconds: number;
  correct: boolean;
}

async function adminQuery(sql: string): Promise<pg.QueryResult> {
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  try {
    return await admin.query(sql);
  } finally {
    await admin.end();
  }
}

const cleanups: (() => Promise<void>)[] = [];
async function runCleanups() {
  while (cleanups.length) await cleanups.pop()!().catch((e) => console.error('cleanup:', e.message));
}
process.once('SIGINT', () => {
  console.error('\ninterrupted, cleaning up…');
  void runCleanups().then(() => process.exit(130));
});

function listenPort(app: FastifyInstance): number {
  const a = app.server.address();
  if (!a || typeof a === 'string') throw new Error('no port');
  return a.port;
}

async function benchDatabase(kind: Kind, load: LoadGenerator): Promise<DbResult | null> {
  const rounds = num('BENCH_ROUNDS', kind === 'postgres' ? 3 : 2);
  let databaseUrl: string | null = null;
  let label = 'PGlite (in-memory, single in-process connection; for information)';
  const localCleanups: (() => Promise<void>)[] = [];
  const defer = (f: () => Promise<void>) => {
    localCleanups.push(f);
    cleanups.push(f);
  };

  try {
    if (kind === 'postgres') {
      const dbName = `gs_bench_${randomBytes(4).toString('hex')}`;
      let version: string;
      try {
        version = String((await adminQuery('SHOW server_version')).rows[0].server_version);
      } catch (e) {
        console.log(
          `\nPostgreSQL server at ${redact(SERVER_URL)} not reachable (${(e as Error).message}): SKIP`,
        );
        return null;
      }
      await adminQuery(`CREATE DATABASE "${dbName}"`);
      defer(() => dropScratchDatabase(SERVER_URL, dbName));
      if (SYNC_COMMIT)
        await adminQuery(`ALTER DATABASE "${dbName}" SET synchronous_commit = '${SYNC_COMMIT}'`);
      const u = new URL(SERVER_URL);
      u.pathname = `/${dbName}`;
      databaseUrl = u.toString();
      const sc =
        SYNC_COMMIT ?? String((await adminQuery('SHOW synchronous_commit')).rows[0].synchronous_commit);
      label = `PostgreSQL ${version} server (${redact(SERVER_URL)}, database ${dbName}, pool ${POOL_SIZE}, synchronous_commit=${sc}${SYNC_COMMIT ? ' [BENCH_PG_SYNCHRONOUS_COMMIT]' : ''})`;
    }

    console.log(`\n== ${label} ==`);
    // The data API's guards stay on (per-app rate limit, grant quota, unknown-key limiter, enumeration detector,
    // the purpose check: every governed call sends X-Purpose),
    // counted in the same store production uses (BENCH_REDIS_URL: Redis, else in-process); their limits are set
    // above the offered load so the run measures what checking them costs, not refusals.
    const config = {
      ...loadConfig({}),
      databaseUrl,
      dataDir: 'memory://',
      dbPoolSize: POOL_SIZE,
      redisUrl: process.env.BENCH_REDIS_URL || null,
      dataApi: {
        ...loadConfig({}).dataApi,
        // the one data-API setting a run may vary (group commit), from the environment like production's
        statementsInFlight: loadConfig(process.env).dataApi.statementsInFlight,
        appRatePerSecond: 1_000_000,
        grantCallsPerDay: 1_000_000_000,
      },
    };
    const ctx: AppContext = await openContext(config);
    defer(() => closeContext(ctx));
    const t0 = performance.now();
    const demo = await loadDemoCity(ctx, { populationRows: POPULATION_ROWS, entityRows: ENTITY_ROWS });
    const demoSeconds = (performance.now() - t0) / 1000;
    const consumer = demo.apps.find((a) => a.name === CONSUMER_APP);
    if (!consumer) throw new Error(`demo app ${CONSUMER_APP} not found`);
    const grant = (
      await ctx.database.query<{
        id: number;
        code: string;
        data_table: string;
        fields: string[];
        purpose_id: string;
      }>(
        `SELECT g.id, r.code, r.data_table, g.fields, g.purpose_id FROM share_grant g JOIN app a ON a.id = g.app_id
         JOIN resource r ON r.id = g.resource_id
         WHERE a.name = $1 AND g.status = 'active' ORDER BY g.id LIMIT 1`,
        [CONSUMER_APP],
      )
    ).rows[0];
    if (!grant) throw new Error(`no active grant for ${CONSUMER_APP}`);
    const table = grant.data_table;
    // the governed call names a record by its clear key; the bare route reads `_key` as stored (the keyed hash of
    // an ID number encrypted at rest), so hashing the key is part of what governance costs
    const sampled = await sampleRecords(ctx, table, KEY_SAMPLE);
    const keys = sampled.map((r) => r.key);
    const storedKeys = sampled.map((r) => r.stored);
    const rowCount = Number(
      (await ctx.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`, [])).rows[0].n,
    );
    console.log(
      `demo city loaded in ${demoSeconds.toFixed(1)} s; ${CONSUMER_APP} (${consumer.orgName}) granted ${grant.code} ` +
        `[${grant.fields.join(', ')}] on ${table} (${rowCount.toLocaleString('en')} rows); ${keys.length} random keys`,
    );

    // governed: the real app
    const governed = await buildApp(ctx, { logger: false });
    await governed.listen({ host: '127.0.0.1', port: 0 });
    defer(() => governed.close());

    // baseline: bare Fastify + one point select
    const baselineSql = `SELECT * FROM ${table} WHERE _key = $1`;
    let baselineQuery: (key: string) => Promise<unknown[]>;
    if (kind === 'postgres') {
      const pool = new pg.Pool({ connectionString: databaseUrl!, max: POOL_SIZE });
      pool.on('error', (e) => console.error('baseline pool:', e.message));
      defer(() => pool.end());
      baselineQuery = async (key) =>
        (await pool.query({ name: 'baseline.get', text: baselineSql, values: [key] })).rows;
    } else {
      baselineQuery = async (key) => (await ctx.database.query(baselineSql, [key])).rows;
    }
    const baseline = Fastify({ logger: false });
    baseline.get('/baseline/:key', async (req, reply) => {
      const rows = await baselineQuery((req.params as { key: string }).key);
      if (!rows.length) return reply.code(404).send({ code: 'RECORD_NOT_FOUND' });
      return rows[0];
    });
    await baseline.listen({ host: '127.0.0.1', port: 0 });
    defer(() => baseline.close());

    const jobs: Record<Target, LoadJob> = {
      baseline: {
        base: `http://127.0.0.1:${listenPort(baseline)}`,
        pathPrefix: '/baseline/',
        headers: {},
        keys: storedKeys,
        check: 'none',
      },
      governed: {
        base: `http://127.0.0.1:${listenPort(governed)}`,
        pathPrefix: `/api/v1/data/${encodeURIComponent(grant.code)}/records/`,
        // purpose checked on every call (DG Art 26): the grant's purpose id, as a consumer sends it
        headers: { 'x-api-key': consumer.apiKey, 'x-purpose': grant.purpose_id },
        keys,
        check: 'masked',
      },
    };

    const auditCount = async () =>
      Number(
        (
          await ctx.database.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM audit_log WHERE action = 'data.get'`,
            [],
          )
        ).rows[0].n,
      );

    // smoke check before measuring: both answer 200, governed masks and returns only granted fields
    const probeKey = keys[0];
    const pb = await fetch(`${jobs.baseline.base}/baseline/${encodeURIComponent(storedKeys[0])}`);
    const auditBeforeProbe = await auditCount();
    const pg0 = await fetch(
      `${jobs.governed.base}${jobs.governed.pathPrefix}${encodeURIComponent(probeKey)}`,
      {
        headers: jobs.governed.headers,
      },
    );
    const pgBody = (await pg0.json()) as { record?: Record<string, unknown> };
    await pb.arrayBuffer();
    const probeAudited = (await auditCount()) - auditBeforeProbe;
    const probeOk =
      pb.status === 200 &&
      pg0.status === 200 &&
      String(pgBody.record?.idNumber ?? '').includes('*') &&
      Object.keys(pgBody.record ?? {}).every((k) => grant.fields.includes(k)) &&
      probeAudited === 1;
    console.log(
      `probe: baseline ${pb.status}, governed ${pg0.status} ${JSON.stringify(pgBody.record)} audited ${probeAudited} → ${probeOk ? 'ok' : 'FAIL'}`,
    );

    const runs: Record<Target, RunStats[]> = { baseline: [], governed: [] };
    let governedSent = 0;
    let auditRows = 0;
    let maskChecked = 0;
    let maskFailures = 0;
    let sample: string | null = null;
    const statusSeen: Record<Target, Record<string, number>> = { baseline: {}, governed: {} };
    for (let round = 1; round <= rounds; round++) {
      for (const target of ['baseline', 'governed'] as Target[]) {
        const before = target === 'governed' ? await auditCount() : 0;
        const { result: r, ...cpu } = await withCpu(ctx, () => load.run(jobs[target]));
        const s = stats(r, cpu);
        runs[target].push(s);
        for (const [k, v] of Object.entries(r.statusCounts))
          statusSeen[target][k] = (statusSeen[target][k] ?? 0) + v;
        let auditNote = '';
        if (target === 'governed') {
          const written = (await auditCount()) - before;
          governedSent += r.total;
          auditRows += written;
          maskChecked += r.maskChecked;
          maskFailures += r.maskFailures;
          sample ??= r.sample;
          auditNote = `  audit +${written} for ${r.total} sent`;
        }
        console.log(
          `  round ${round} ${target.padEnd(8)} ${fmtRun(s)}  (${r.total} sent incl. warm-up, non-200 ${r.totalNon200})${auditNote}`,
        );
      }
    }

    const b = medianStats(runs.baseline);
    const g = medianStats(runs.governed);
    const quotaCounted = await grantCallsToday(ctx, grant.id);
    console.log(
      `guards on (${ctx.counters.kind} counters): the grant's daily quota counted ${quotaCounted} calls (governed sent ${governedSent} + probe)`,
    );
    const correct =
      probeOk &&
      b.non200 === 0 &&
      g.non200 === 0 &&
      maskFailures === 0 &&
      maskChecked > 0 &&
      auditRows === governedSent &&
      quotaCounted >= governedSent;
    if (b.non200 || g.non200)
      console.log(
        `  status codes: baseline ${JSON.stringify(statusSeen.baseline)} governed ${JSON.stringify(statusSeen.governed)}`,
      );
    return {
      kind,
      label,
      rounds,
      baseline: b,
      governed: g,
      baselineRuns: runs.baseline,
      governedRuns: runs.governed,
      ratio: g.rps / b.rps,
      governedSent,
      auditRows,
      callsPerStatement: (() => {
        const st = recordReadStats(ctx);
        return st.statements ? st.calls / st.statements : 0;
      })(),
      maskChecked,
      maskFailures,
      sample,
      resourceCode: grant.code,
      demoSeconds,
      correct,
    };
  } finally {
    while (localCleanups.length) {
      const f = localCleanups.pop()!;
      cleanups.splice(cleanups.indexOf(f), 1);
      await f().catch((e) => console.error('cleanup:', (e as Error).message));
    }
  }
}

// ---------- output ----------

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const f0 = (x: number) => (Number.isFinite(x) ? String(Math.round(x)) : '—');
function fmtRun(s: RunStats): string {
  return (
    `${Math.round(s.rps).toString().padStart(6)} req/s  mean ${f2(s.mean).padStart(6)} ms  p50 ${f2(s.p50).padStart(6)} ms  p99 ${f2(s.p99).padStart(6)} ms` +
    `  CPU µs/req srv ${f0(s.srvUs)} db ${f0(s.dbUs)} gen ${f0(s.genUs)}`
  );
}

function printDb(r: DbResult) {
  const info = r.kind === 'pglite';
  const db = (s: RunStats) => (r.kind === 'pglite' ? 'in srv' : f0(s.dbUs));
  const row = (name: string, s: RunStats) =>
    `${name.padEnd(10)}${Math.round(s.rps).toString().padStart(8)}${f2(s.mean).padStart(10)}${f2(s.p50).padStart(10)}${f2(s.p99).padStart(10)}${f1(s.max).padStart(10)}${String(s.count).padStart(10)}${String(s.non200).padStart(9)}` +
    `${f0(s.srvUs).padStart(9)}${db(s).padStart(9)}${f0(s.genUs).padStart(9)}`;
  console.log(
    `\n-- ${r.kind === 'postgres' ? 'PostgreSQL' : 'PGlite'}: median of ${r.rounds} alternating runs, ${CONCURRENCY} clients, ${WARMUP_SECONDS} s warm-up + ${SECONDS} s each --`,
  );
  console.log(`${''.padEnd(78)}${'── CPU µs per request ──'.padStart(27)}`);
  console.log(
    `${'target'.padEnd(10)}${'req/s'.padStart(8)}${'mean ms'.padStart(10)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'max ms'.padStart(10)}${'measured'.padStart(10)}${'non-200'.padStart(9)}` +
      `${'server'.padStart(9)}${'database'.padStart(9)}${'loadgen'.padStart(9)}`,
  );
  console.log(row('baseline', r.baseline));
  console.log(row('governed', r.governed));
  console.log(
    "('measured' = responses completed inside the measured windows of all runs; CPU µs/request over whole runs: " +
      `server = this Node process minus the load-generator thread${r.kind === 'postgres' ? ', database = PostgreSQL backends of the bench database + background processes' : ', PGlite runs inside it'})`,
  );
  const ratioVerdict = info ? '(info)' : r.ratio >= TARGET.ratio ? 'PASS' : 'MISS';
  const p99Verdict = info ? '(info)' : r.governed.p99 < TARGET.p99Ms ? 'PASS' : 'MISS';
  console.log(`governed/baseline req/s  ${f2(r.ratio)}   target ≥ ${TARGET.ratio}   ${ratioVerdict}`);
  console.log(
    `governed p99             ${f2(r.governed.p99)} ms   target < ${TARGET.p99Ms} ms   ${p99Verdict}`,
  );
  console.log(
    `audit rows (action=data.get) written during governed runs ${r.auditRows} / governed requests sent ${r.governedSent} (incl. warm-up)  ${r.auditRows === r.governedSent ? 'MATCH' : 'MISMATCH'}`,
  );
  console.log(
    `non-200 responses: baseline ${r.baseline.non200}, governed ${r.governed.non200}; masked idNumber checked in ${r.maskChecked} governed responses, failures ${r.maskFailures}`,
  );
  const extra = (k: 'srvUs' | 'dbUs') => r.governed[k] - r.baseline[k];
  if (Number.isFinite(extra('srvUs')))
    console.log(
      `governance cost in CPU per call: server +${f0(extra('srvUs'))} µs` +
        (r.kind === 'postgres' && Number.isFinite(extra('dbUs'))
          ? `, PostgreSQL +${f0(extra('dbUs'))} µs`
          : '') +
        ` (governed minus baseline, medians)`,
    );
  console.log(
    `group commit: ${f2(r.callsPerStatement)} governed calls per statement on average (each with its own audit row, one transaction per statement)`,
  );
  if (r.sample) console.log(`sample governed response: ${r.sample}`);
  console.log(`correctness: ${r.correct ? 'OK' : 'FAIL'}`);
}

function summaryLine(r: DbResult): string {
  const name = r.kind === 'postgres' ? 'PostgreSQL' : 'PGlite    ';
  const verdicts =
    r.kind === 'postgres'
      ? ` ${r.ratio >= TARGET.ratio ? 'PASS' : 'MISS'} (≥${TARGET.ratio}), governed p99 ${r.governed.p99 < TARGET.p99Ms ? 'PASS' : 'MISS'} (<${TARGET.p99Ms} ms)`
      : ' (info)';
  return (
    `${name} baseline ${Math.round(r.baseline.rps)} req/s p50 ${f2(r.baseline.p50)} p99 ${f2(r.baseline.p99)} ms | ` +
    `governed ${Math.round(r.governed.rps)} req/s p50 ${f2(r.governed.p50)} p99 ${f2(r.governed.p99)} ms | ` +
    `ratio ${f2(r.ratio)}${verdicts} | ` +
    `CPU/call node ${f0(r.baseline.srvUs)}→${f0(r.governed.srvUs)} µs` +
    (r.kind === 'postgres' ? `, pg ${f0(r.baseline.dbUs)}→${f0(r.governed.dbUs)} µs` : '') +
    ` | non-200 ${r.baseline.non200 + r.governed.non200} | ` +
    `audit ${r.auditRows}/${r.governedSent} | ${r.correct ? 'correct' : 'CORRECTNESS FAIL'}`
  );
}

// ---------- main ----------

async function main() {
  const cpus = os.cpus().length;
  const started = performance.now();
  console.log('govshare benchmark: governed data call vs bare point select');
  console.log(
    `machine: ${cpus} CPU core(s) (${os.cpus()[0]?.model ?? '?'}), load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; Node ${process.version}`,
  );
  console.log(
    `note: load generator (worker thread, own event loop), server and database share these ${cpus} cores, ` +
      'so absolute req/s is CPU-bound by the machine; the governed/baseline ratio is the figure to compare.',
  );
  console.log(
    `demo ${POPULATION_ROWS.toLocaleString('en')} population / ${ENTITY_ROWS.toLocaleString('en')} entities; ${CONCURRENCY} keep-alive clients; ` +
      `${WARMUP_SECONDS} s warm-up + ${SECONDS} s per run`,
  );

  const load = new LoadGenerator({
    warmupSeconds: WARMUP_SECONDS,
    seconds: SECONDS,
    concurrency: CONCURRENCY,
  });
  const results: DbResult[] = [];
  let failed = false;
  try {
    for (const kind of DATABASES as Kind[]) {
      if (kind !== 'postgres' && kind !== 'pglite') throw new Error(`BENCH_DATABASES: unknown "${kind}"`);
      const r = await benchDatabase(kind, load);
      if (r) {
        printDb(r);
        results.push(r);
        if (!r.correct) failed = true;
      }
    }
  } finally {
    await load.close();
    await runCleanups();
  }

  let startup: StartupResult | null = null;
  if (RUN_STARTUP) {
    startup = await runStartupBench();
    printStartup(startup);
  }

  const loadAvg = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  console.log('\n===== govshare bench summary =====');
  console.log(
    `${new Date().toISOString().slice(0, 16)}Z, ${cpus} cores shared by load generator + server + database, Node ${process.version}, ` +
      `load avg ${loadAvg}; ${CONCURRENCY} clients, median of alternating ${WARMUP_SECONDS}+${SECONDS} s runs; ` +
      `demo ${POPULATION_ROWS / 1000}k/${ENTITY_ROWS / 1000}k; governed = GET /api/v1/data/${results[0]?.resourceCode ?? '…'}/records/:key`,
  );
  for (const r of results) console.log(summaryLine(r));
  if (!results.some((r) => r.kind === 'postgres') && DATABASES.includes('postgres'))
    console.log('PostgreSQL skipped (server not reachable)');
  if (startup) {
    console.log(
      `Startup    first ${f2(startup.first.ms / 1000)} s (<${STARTUP_TARGETS.firstMs / 1000} s ${startup.firstPass ? 'PASS' : 'MISS'}), ` +
        `second ${f2(startup.second.ms / 1000)} s (<${STARTUP_TARGETS.secondMs / 1000} s ${startup.secondPass ? 'PASS' : 'MISS'}), ` +
        `RSS ${startup.first.rssMb} MB after first / ${startup.second.rssMb} MB after second start (PGlite)`,
    );
  }
  console.log(`total bench time ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log('==================================');
  if (failed) {
    console.log('correctness FAILED (see above): exit code 1');
    process.exitCode = 1;
  }
}

await main();
