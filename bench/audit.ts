/*
 * `npm run bench:audit`: what the sealed, partitioned audit log costs and how it scales (issue 10 point 12 and the
 * security issue's speed items). PostgreSQL server only (a fresh gs_bench_<rand> database, dropped after).
 *
 *   A  governed call, sealing off vs on: the demo city, GET /api/v1/data/:code/records/:key under 50 keep-alive
 *      clients (bench/loadgen-client.ts), alternating runs with no sealer and with the sealer running every
 *      BENCH_SEAL_INTERVAL_MS (1000; production default 5000) in the same process; medians, ratio on/off.
 *   B  verification of 1 000 000 audit records (BENCH_VERIFY_ROWS): rows written by 1 000-row transactions, sealed,
 *      then `verifyAudit` timed (default worker threads, and in-thread: workers 0); baseline: one SELECT of the
 *      canonical texts built in SQL (as the verifier did before) and a bare hash of each. Target < 10 s. Ratio
 *      verify/baseline; wall and CPU time (this process, all threads; PostgreSQL backends of the bench database).
 *   C  recent-audit queries at scale: the auditor's first page (`listAudit`: last 24 h; an app's last 7 days; the
 *      unfiltered newest page) timed at BENCH_AUDIT_SMALL_ROWS (200 000) and again after the table grew to
 *      BENCH_AUDIT_LARGE_ROWS (5 000 000) spread over 12 monthly partitions (written set-based, one INSERT … SELECT per
 *      month: `fillBulk`); ratio large/small per query. The list counts
 *      at most 10 001 rows; the exact count(*) the list used to make is timed alongside as the same-run baseline, and
 *      the deepest page a list may reach by `page` (10 000 rows in), and keyset (cursor) pages 6 and 11 months deep
 *      (unfiltered and one app), with the plan of the cursor page's row read. The table's size (heap and indexes, bytes
 *      a row) is printed at both sizes; the large fill is skipped when the small size's bytes a row say it would leave
 *      less than 8 GB free. BENCH_AUDIT_INDEX_AFTER_FILL=1 drops the secondary indexes before the large fill and
 *      builds them after it (sorted builds: smaller and faster to make than indexes grown row by row).
 *
 * Knobs: BENCH_SECONDS (8), BENCH_WARMUP_SECONDS (2), BENCH_ROUNDS (2), BENCH_CONCURRENCY (50),
 * BENCH_POPULATION_ROWS (20000), BENCH_PARTS (A,B,C), BENCH_DATABASE_URL / DATABASE_URL.
 * Speed misses never fail the run; correctness failures (non-200, verification not ok) set exit code 1.
 */
import fs from 'node:fs';
import os from 'node:os';
import { sql } from 'kysely';
import { defaultVerifyWorkers, sealPending, verifyAudit } from '../src/audit/seal.js';
import { DEFAULT_HASH_ALG, leafHash } from '../src/audit/seal-model.js';
import { listAudit } from '../src/audit/store.js';
import { closeContext, openContext } from '../src/boot.js';
import { loadConfig } from '../src/config.js';
import type { AppContext } from '../src/context.js';
import { loadDemoCity } from '../src/demo/load.js';
import { buildApp } from '../src/http/app.js';
import { LoadGenerator, type LoadResult } from './loadgen-client.js';
import { sampleRecords } from './sample.js';
import { scratchDatabase } from './scratch-db.js';

const env = process.env;
const num = (name: string, fallback: number) => {
  const v = Number(env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const SECONDS = num('BENCH_SECONDS', 8);
const WARMUP = num('BENCH_WARMUP_SECONDS', 2);
const ROUNDS = num('BENCH_ROUNDS', 2);
const CONCURRENCY = num('BENCH_CONCURRENCY', 50);
const POPULATION = num('BENCH_POPULATION_ROWS', 20_000);
const SEAL_INTERVAL = num('BENCH_SEAL_INTERVAL_MS', 1000);
const VERIFY_ROWS = num('BENCH_VERIFY_ROWS', 1_000_000);
const SMALL_ROWS = num('BENCH_AUDIT_SMALL_ROWS', 200_000);
const LARGE_ROWS = num('BENCH_AUDIT_LARGE_ROWS', 5_000_000);
// part C: build audit_log's secondary indexes after the large fill instead of keeping them during it (1), for sizes
// whose incrementally grown indexes would not fit the disk; see partC
const INDEX_AFTER_FILL = env.BENCH_AUDIT_INDEX_AFTER_FILL === '1';
const PARTS = (env.BENCH_PARTS ?? 'A,B,C').split(',').map((s) => s.trim().toUpperCase());
const SERVER_URL =
  env.BENCH_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

let failed = false;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function runStats(r: LoadResult) {
  const lat = Array.from(r.measured.latencies).sort((a, b) => a - b);
  return {
    rps: r.measured.count / r.measured.seconds,
    p50: lat[Math.floor(lat.length * 0.5)] ?? Number.NaN,
    p99: lat[Math.floor(lat.length * 0.99)] ?? Number.NaN,
    non200: r.totalNon200,
  };
}

/** A: the governed call with the sealer off and on. */
async function partA(ctx: AppContext): Promise<void> {
  console.log(`\n== A: governed record read, sealing off vs on (every ${SEAL_INTERVAL} ms) ==`);
  const demo = await loadDemoCity(ctx, { populationRows: POPULATION, entityRows: 2000 });
  const consumer = demo.apps.find((a) => a.name === '就业服务系统');
  if (!consumer) throw new Error('demo app not found');
  const grant = (
    await ctx.database.query<{ code: string; data_table: string; purpose_id: string }>(
      `SELECT r.code, r.data_table, g.purpose_id FROM share_grant g JOIN app a ON a.id = g.app_id
       JOIN resource r ON r.id = g.resource_id WHERE a.name = $1 AND g.status = 'active' ORDER BY g.id LIMIT 1`,
      ['就业服务系统'],
    )
  ).rows[0];
  // clear record keys, as a consumer sends them (bench/sample.ts)
  const keys = (await sampleRecords(ctx, grant.data_table, 5000)).map((r) => r.key);
  await sealPending(ctx, Number.MAX_SAFE_INTEGER);
  const app = await buildApp(ctx, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const load = new LoadGenerator({ warmupSeconds: WARMUP, seconds: SECONDS, concurrency: CONCURRENCY });
  const job = {
    base: `http://127.0.0.1:${port}`,
    pathPrefix: `/api/v1/data/${encodeURIComponent(grant.code)}/records/`,
    headers: { 'x-api-key': consumer.apiKey, 'x-purpose': grant.purpose_id },
    keys,
    check: 'masked' as const,
  };
  const runs: Record<'off' | 'on', ReturnType<typeof runStats>[]> = { off: [], on: [] };
  let sealedDuring = 0;
  let blocksDuring = 0;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const mode of ['off', 'on'] as const) {
        let stop = false;
        let sealer: Promise<void> = Promise.resolve();
        if (mode === 'on')
          sealer = (async () => {
            while (!stop) {
              const r = await sealPending(ctx);
              sealedDuring += r.records;
              blocksDuring += r.blocks;
              await new Promise((res) => setTimeout(res, SEAL_INTERVAL));
            }
          })();
        const r = await load.run(job);
        stop = true;
        await sealer;
        const s = runStats(r);
        runs[mode].push(s);
        if (s.non200) failed = true;
        console.log(
          `  round ${round} sealing ${mode.padEnd(3)} ${Math.round(s.rps).toString().padStart(6)} req/s  p50 ${s.p50.toFixed(2)} ms  p99 ${s.p99.toFixed(2)} ms  non-200 ${s.non200}`,
        );
      }
    }
  } finally {
    await load.close();
    await app.close();
  }
  const off = { rps: median(runs.off.map((r) => r.rps)), p99: median(runs.off.map((r) => r.p99)) };
  const on = { rps: median(runs.on.map((r) => r.rps)), p99: median(runs.on.map((r) => r.p99)) };
  const pending = (await sealPending(ctx, Number.MAX_SAFE_INTEGER)).records;
  console.log(
    `  median: off ${Math.round(off.rps)} req/s p99 ${off.p99.toFixed(2)} ms | on ${Math.round(on.rps)} req/s p99 ${on.p99.toFixed(2)} ms` +
      ` → on/off throughput ${(on.rps / off.rps).toFixed(2)}, p99 ×${(on.p99 / off.p99).toFixed(2)}`,
  );
  console.log(
    `  the sealer sealed ${sealedDuring} records in ${blocksDuring} blocks while the load ran; ${pending} were left for the final seal`,
  );
}

/** Writes `rows` audit rows in 1 000-row transactions (each its own xid, as real calls), spread over `months`. */
async function fill(ctx: AppContext, rows: number, months: number, perTx = 1000): Promise<number> {
  const t0 = performance.now();
  const client = ctx.database;
  for (let done = 0; done < rows; done += perTx) {
    const n = Math.min(perTx, rows - done);
    await client.query(
      `INSERT INTO audit_log (occurred_at, actor_org_id, app_id, grant_id, action, resource_id, target_type, target_id,
         target_label, purpose, decision, rows_returned, fields, client_ip, detail)
       SELECT now() - (random() * $2::int * 30) * interval '1 day', 1 + i % 40, 1 + i % 300, 1 + i % 900,
         CASE WHEN i % 5 = 0 THEN 'data.verify' ELSE 'data.get' END, 1 + i % 50, 'record',
         md5(i::text || $1::text), '4460********' || lpad((i % 10000)::text, 4, '0'), '办理业务时核验当事人身份',
         CASE WHEN i % 23 = 0 THEN 'deny' ELSE 'allow' END, 1, ARRAY['idNumber','name'], '10.0.' || (i % 250) || '.1',
         jsonb_build_object('ms', (i % 97) / 10.0, 'purposeId', 'p' || (i % 900))
       FROM generate_series($1::int, $1::int + $3::int - 1) AS i`,
      [done, months, n],
    );
  }
  return (performance.now() - t0) / 1000;
}

/**
 * Part C's fill, set-based: `rows` audit rows spread evenly over the last `months` 30-day months, one
 * `INSERT … SELECT generate_series` per month (oldest first), each month's rows in time order (row j of n at a random
 * instant inside the j-th n-th of its month: uniform over the month, as `fill`'s random spread, with no sort), so
 * each statement writes one partition and the time-ordered indexes grow at their right edge, as the live log does.
 * The columns are `fill`'s expressions of the row number `i` (continued from `start`): 40 orgs, 300 apps, 900
 * grants, 50 resources, 1 in 5 `data.verify`, 1 in 23 refused, an md5 target per row. One transaction per month, so
 * one `seal_xid` each: part C never seals and `listAudit` does not read seal state.
 */
async function fillBulk(ctx: AppContext, rows: number, months: number, start: number): Promise<void> {
  const client = ctx.database;
  let i0 = start;
  for (let m = months - 1; m >= 0; m--) {
    const n = Math.floor(rows / months) + (m < rows % months ? 1 : 0);
    if (n === 0) continue;
    const t0 = performance.now();
    await client.query(
      `INSERT INTO audit_log (occurred_at, actor_org_id, app_id, grant_id, action, resource_id, target_type, target_id,
         target_label, purpose, decision, rows_returned, fields, client_ip, detail)
       SELECT now() - ($2::int + 1) * interval '30 days' + ((i - $1::bigint) + random()) / $3::int * interval '30 days',
         1 + i % 40, 1 + i % 300, 1 + i % 900,
         CASE WHEN i % 5 = 0 THEN 'data.verify' ELSE 'data.get' END, 1 + i % 50, 'record',
         md5(i::text || $1::text), '4460********' || lpad((i % 10000)::text, 4, '0'), '办理业务时核验当事人身份',
         CASE WHEN i % 23 = 0 THEN 'deny' ELSE 'allow' END, 1, ARRAY['idNumber','name'], '10.0.' || (i % 250) || '.1',
         jsonb_build_object('ms', (i % 97) / 10.0, 'purposeId', 'p' || (i % 900))
       FROM generate_series($1::bigint, $1::bigint + $3::int - 1) AS i`,
      [i0, m, n],
    );
    i0 += n;
    if (rows >= 1_000_000)
      console.log(
        `    month ${m} back: ${n.toLocaleString('en')} rows in ${((performance.now() - t0) / 1000).toFixed(0)} s (load average ${os.loadavg()[0].toFixed(1)})`,
      );
  }
}

/**
 * The baseline's text: the canonical text built by the server, as the verifier read it before (concatenated from each
 * column's JSON form; the same bytes as CANONICAL_RECORD_JSONB in src/audit/seal.ts).
 */
const SQL_CANONICAL = sql<string>`('[' || a.id || ', "'
  || to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '", '
  || coalesce(a.actor_user_id::text, 'null') || ', ' || coalesce(a.actor_org_id::text, 'null') || ', '
  || coalesce(a.app_id::text, 'null') || ', ' || coalesce(a.grant_id::text, 'null') || ', '
  || to_json(a.action)::text || ', ' || coalesce(a.resource_id::text, 'null') || ', '
  || coalesce(to_json(a.target_type)::text, 'null') || ', ' || coalesce(to_json(a.target_id)::text, 'null') || ', '
  || coalesce(to_json(a.target_label)::text, 'null') || ', ' || coalesce(to_json(a.purpose)::text, 'null') || ', '
  || to_json(a.decision)::text || ', ' || coalesce(a.rows_returned::text, 'null') || ', '
  || coalesce(to_jsonb(a.fields)::text, 'null') || ', ' || coalesce(to_json(a.client_ip)::text, 'null') || ', '
  || a.detail::text || ']')`;

const TICK_S = 1 / 100; // USER_HZ

/**
 * CPU seconds of the PostgreSQL backends serving the bench database while `fn` runs: their /proc ticks sampled every
 * 50 ms (connections opened and closed inside `fn`, like verification's COPY connections, are counted up to their last
 * sample). null when the server's processes are not visible (another host, a container).
 */
async function withServerCpu<T>(
  ctx: AppContext,
  fn: () => Promise<T>,
): Promise<{ value: T; serverS: number | null }> {
  const seen = new Map<number, { first: number; last: number }>();
  let visible = true;
  const sample = async () => {
    const { rows } = await ctx.database.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'",
      [],
    );
    for (const { pid } of rows) {
      let t: number;
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        t = Number(f[11]) + Number(f[12]);
      } catch {
        visible = false;
        continue;
      }
      const e = seen.get(pid);
      if (e) e.last = t;
      else seen.set(pid, { first: t, last: t });
    }
  };
  await sample();
  // a backend first seen mid-run started inside fn: count it from zero
  const before = new Set(seen.keys());
  let stop = false;
  const sampler = (async () => {
    while (!stop) {
      await new Promise((r) => setTimeout(r, 50));
      await sample().catch(() => undefined);
    }
  })();
  try {
    const value = await fn();
    await sample();
    return {
      value,
      serverS: visible
        ? [...seen].reduce((sum, [pid, e]) => sum + (e.last - (before.has(pid) ? e.first : 0)), 0) * TICK_S
        : null,
    };
  } finally {
    stop = true;
    await sampler;
  }
}

/** B: verify 1 000 000 records vs one SELECT + a bare hash of each. */
async function partB(ctx: AppContext): Promise<void> {
  console.log(`\n== B: verification of ${VERIFY_ROWS.toLocaleString('en')} audit records ==`);
  const before = Number(
    (await sql<{ n: string }>`SELECT count(*) AS n FROM audit_log`.execute(ctx.db)).rows[0].n,
  );
  const fillS = await fill(ctx, VERIFY_ROWS, 1);
  const t0 = performance.now();
  const sealed = await sealPending(ctx, Number.MAX_SAFE_INTEGER);
  const sealS = (performance.now() - t0) / 1000;
  console.log(
    `  wrote ${VERIFY_ROWS.toLocaleString('en')} rows in ${fillS.toFixed(1)} s (table had ${before}); sealed ${sealed.records} records in ${sealed.blocks} blocks in ${sealS.toFixed(1)} s (${Math.round(sealed.records / sealS)} records/s)`,
  );
  await sql`VACUUM ANALYZE audit_log`.execute(ctx.db);
  // baseline: the canonical texts built by the server, by one SELECT, each hashed once (no Merkle tree, no chain,
  // no signature)
  const runs: Record<'base' | 'verify' | 'inThread', { s: number; cpu: number; server: number | null }[]> = {
    base: [],
    verify: [],
    inThread: [],
  };
  let checked = 0;
  const timed = async <T>(fn: () => Promise<T>) => {
    const t = performance.now();
    const c = process.cpuUsage();
    const { value, serverS } = await withServerCpu(ctx, fn);
    const u = process.cpuUsage(c);
    return { value, s: (performance.now() - t) / 1000, cpu: (u.user + u.system) / 1e6, server: serverS };
  };
  const fmt = (r: { s: number; cpu: number; server: number | null }) =>
    `${r.s.toFixed(2)} s (CPU: this process ${r.cpu.toFixed(2)} s, server ${r.server == null ? '?' : r.server.toFixed(2)} s)`;
  for (let round = 0; round < 2; round++) {
    // the baseline in a function of its own: its million texts are garbage before verification starts (they stayed
    // live across verifyAudit before, and every major GC of the verification walked them)
    const baseline = async () => {
      const { rows } = await sql<{
        canon: string;
      }>`SELECT ${SQL_CANONICAL} AS canon FROM audit_log a`.execute(ctx.db);
      let x = 0;
      for (const r of rows) x ^= leafHash(DEFAULT_HASH_ALG, r.canon)[0];
      if (x === 256) console.log('');
      return rows.length;
    };
    const b0 = await timed(baseline);
    runs.base.push(b0);
    const v0 = await timed(() => verifyAudit(ctx));
    runs.verify.push(v0);
    const v1 = await timed(() => verifyAudit(ctx, {}, { workers: 0 }));
    runs.inThread.push(v1);
    checked = v0.value.recordsChecked;
    for (const r of [v0.value, v1.value])
      if (!r.ok) {
        failed = true;
        console.log(`  VERIFY FAILED: ${r.findingCount} findings`);
      }
    console.log(
      `  round ${round + 1} (load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(
          ' ',
        )}):\n    baseline (1 SELECT of SQL-built texts + ${DEFAULT_HASH_ALG} per row, ${b0.value} rows) ${fmt(b0)}\n` +
        `    verifyAudit (${v0.value.blocksChecked} blocks, ${checked} records; ${defaultVerifyWorkers()} hash worker(s)) ${fmt(v0)}\n` +
        `    verifyAudit in this thread (workers 0) ${fmt(v1)}`,
    );
  }
  const v = median(runs.verify.map((r) => r.s));
  const t = median(runs.inThread.map((r) => r.s));
  const b = median(runs.base.map((r) => r.s));
  const cpu = (xs: { cpu: number; server: number | null }[]) =>
    `${median(xs.map((r) => r.cpu)).toFixed(2)} + ${xs.every((r) => r.server != null) ? median(xs.map((r) => r.server as number)).toFixed(2) : '?'} s`;
  console.log(
    `  median: verify ${v.toFixed(2)} s for ${checked.toLocaleString('en')} records (${Math.round(checked / v).toLocaleString('en')} records/s), in-thread ${t.toFixed(2)} s, baseline ${b.toFixed(2)} s → ratio ${(v / b).toFixed(2)} (in-thread ${(t / b).toFixed(2)}); CPU process + server: verify ${cpu(runs.verify)}, in-thread ${cpu(runs.inThread)}, baseline ${cpu(runs.base)}; target < 10 s for 1 000 000: ${v * (1_000_000 / checked) < 10 ? 'PASS' : 'MISS'}`,
  );
}

/** A cursor position `months` back (any (time, id) is a valid position: the page is the rows before it). */
const deep = (months: number) => ({
  at: new Date(Date.now() - months * 30 * 86400_000).toISOString(),
  id: Number.MAX_SAFE_INTEGER,
});

/** The plan of a cursor page's row read (the inner query of `listAudit` with `after`), printed once. */
async function explainCursorPage(ctx: AppContext, appId: number | null) {
  const { at, id } = deep(6);
  const plan = await sql<{ 'QUERY PLAN': string }>`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
    SELECT a.* FROM audit_log a
    WHERE ${appId ? sql`a.app_id = ${appId} AND` : sql``} (a.occurred_at, a.id) < (${at}::timestamptz, ${id}::bigint)
      AND a.occurred_at <= ${at}::timestamptz
    ORDER BY a.occurred_at DESC, a.id DESC LIMIT 21`.execute(ctx.db);
  console.log(`  plan of a cursor page 6 months deep${appId ? ` (app ${appId})` : ''}:`);
  for (const r of plan.rows) console.log(`    ${r['QUERY PLAN']}`);
}

async function timeQueries(ctx: AppContext, label: string): Promise<Record<string, number>> {
  const day = new Date(Date.now() - 86400_000).toISOString();
  const week = new Date(Date.now() - 7 * 86400_000).toISOString();
  const queries: Record<string, () => Promise<unknown>> = {
    'last 24 h, first page': () => listAudit(ctx.db, { from: day, page: 1, pageSize: 20 }),
    "one app's last 7 days": () => listAudit(ctx.db, { appId: 17, from: week, page: 1, pageSize: 20 }),
    'newest page, no filter': () => listAudit(ctx.db, { page: 1, pageSize: 20 }),
    'record key hash, all time': () =>
      listAudit(ctx.db, { targetHashes: ['0123abcd'], page: 1, pageSize: 20 }),
    'deepest page (10 000 in)': () => listAudit(ctx.db, { page: 501, pageSize: 20 }),
    // keyset paging (nextCursor): a page half a year and eleven months deep, millions of rows in, no filter and one app
    'cursor page, 6 months deep': () => listAudit(ctx.db, { page: 1, pageSize: 20, after: deep(6) }),
    'cursor page, 11 months deep': () => listAudit(ctx.db, { page: 1, pageSize: 20, after: deep(11) }),
    "one app's cursor page, 6 mo": () =>
      listAudit(ctx.db, { appId: 17, page: 1, pageSize: 20, after: deep(6) }),
    // baseline in the same run: what the list paid before the capped count (an exact count of the table)
    'baseline: exact count(*)': () => sql`SELECT count(*) FROM audit_log`.execute(ctx.db),
  };
  const out: Record<string, number> = {};
  for (const [name, q] of Object.entries(queries)) {
    await q();
    const ts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await q();
      ts.push(performance.now() - t0);
    }
    out[name] = median(ts);
    console.log(`  ${label.padEnd(12)} ${name.padEnd(28)} median of 5: ${out[name].toFixed(1)} ms`);
  }
  return out;
}

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;
/** Free bytes on the file system the bench runs from (the server's data when the server is this host). */
const freeDisk = () => {
  const st = fs.statfsSync(process.cwd());
  return st.bavail * st.bsize;
};
/** Part C never leaves less than this free: a full disk stops every database of the server. */
const MIN_FREE = 8e9;

/** audit_log's size over its partitions: heap with TOAST, indexes, and both a row. */
async function footprint(ctx: AppContext, rows: number) {
  const { rows: r } = await sql<{ heap: string; idx: string }>`
    SELECT coalesce(sum(pg_table_size(relid)), 0)::text AS heap, coalesce(sum(pg_indexes_size(relid)), 0)::text AS idx
    FROM pg_partition_tree('audit_log') WHERE isleaf`.execute(ctx.db);
  const heap = Number(r[0].heap);
  const idx = Number(r[0].idx);
  const perRow = (heap + idx) / Math.max(rows, 1);
  return {
    perRow,
    heapPerRow: heap / Math.max(rows, 1),
    text: `heap ${gb(heap)} (${Math.round(heap / Math.max(rows, 1))} B a row), indexes ${gb(idx)} (${Math.round(idx / Math.max(rows, 1))} B a row)`,
  };
}

/**
 * Drops audit_log's indexes other than its primary key (on the partitioned table, so on every partition) and returns
 * the statements that create them again, as `pg_indexes` gives them.
 */
async function dropSecondaryIndexes(ctx: AppContext): Promise<string[]> {
  const { rows } = await sql<{ name: string; def: string }>`
    SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i
    WHERE i.schemaname = current_schema() AND i.tablename = 'audit_log'
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname AND c.conrelid = 'audit_log'::regclass)
    ORDER BY i.indexname`.execute(ctx.db);
  for (const r of rows) await sql.raw(`DROP INDEX ${r.name}`).execute(ctx.db);
  return rows.map((r) => r.def);
}

/** C: recent-audit queries at small and large table size. */
async function partC(ctx: AppContext): Promise<void> {
  console.log('\n== C: recent-audit queries (auditor console first page) as the table grows ==');
  const count = async () =>
    Number((await sql<{ n: string }>`SELECT count(*) AS n FROM audit_log`.execute(ctx.db)).rows[0].n);
  // 12 months of partitions back
  await sql`SELECT audit_log_add_month((now() - (i || ' months')::interval)::date) FROM generate_series(0, 12) AS i`.execute(
    ctx.db,
  );
  let n = await count();
  if (n < SMALL_ROWS) await fillBulk(ctx, SMALL_ROWS - n, 12, n);
  await sql`ANALYZE audit_log`.execute(ctx.db);
  n = await count();
  const small = await timeQueries(ctx, `${(n / 1e6).toFixed(2)} M rows`);
  // the disk the large table would take, from the small one's bytes a row (heap, TOAST and indexes), against the free
  // space of the file system the bench runs on (the server's when it is this host): a fill that would fill the disk
  // is refused rather than started (a full disk stops every database of the server)
  // (with BENCH_AUDIT_INDEX_AFTER_FILL the fill needs the heap's share; each index build checks the disk again)
  const smallSize = await footprint(ctx, n);
  const need = (INDEX_AFTER_FILL ? smallSize.heapPerRow : smallSize.perRow) * (LARGE_ROWS - n) * 1.1;
  const free = freeDisk();
  console.log(
    `  at ${n.toLocaleString('en')} rows: ${smallSize.text}; growing to ${LARGE_ROWS.toLocaleString('en')} needs ≈ ${gb(need)} (+10 %${INDEX_AFTER_FILL ? ', heap only' : ''}), ${gb(free)} free here`,
  );
  if (need > free - MIN_FREE) {
    console.log(`  SKIP the large size: it would leave less than ${gb(MIN_FREE)} free on this disk`);
    return;
  }
  const dropped = INDEX_AFTER_FILL ? await dropSecondaryIndexes(ctx) : [];
  const t0 = performance.now();
  await fillBulk(ctx, LARGE_ROWS - n, 12, n);
  console.log(
    `  grew the table by ${(LARGE_ROWS - n).toLocaleString('en')} rows in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  if (dropped.length) {
    const t1 = performance.now();
    // one session for every build, with room to sort a partition in memory
    // one build at a time, each on every partition (pg_indexes gives the parent's as `ON ONLY`, which would create
    // the parent's index alone), with room to sort a partition in memory; stopped before one would fill the disk
    let built = 0;
    let last = 0;
    for (const def of dropped) {
      if (freeDisk() - last * 1.2 < MIN_FREE) {
        console.log(`  STOP building indexes: ${gb(freeDisk())} free; ${dropped.length - built} not built`);
        failed = true;
        break;
      }
      const before = freeDisk();
      await ctx.db.transaction().execute(async (trx) => {
        await sql`SET LOCAL maintenance_work_mem = '1GB'`.execute(trx);
        await sql.raw(def.replace(' ON ONLY ', ' ON ')).execute(trx);
      });
      last = Math.max(last, before - freeDisk());
      built++;
    }
    console.log(
      `  built ${built} indexes after the fill in ${((performance.now() - t1) / 1000).toFixed(0)} s (BENCH_AUDIT_INDEX_AFTER_FILL=1: denser than indexes grown row by row, see bench/README.md)`,
    );
  }
  await sql`VACUUM ANALYZE audit_log`.execute(ctx.db);
  n = await count();
  console.log(`  at ${n.toLocaleString('en')} rows: ${(await footprint(ctx, n)).text}`);
  const large = await timeQueries(ctx, `${(n / 1e6).toFixed(2)} M rows`);
  await explainCursorPage(ctx, null);
  await explainCursorPage(ctx, 17);
  const parts = await sql<{
    n: number;
  }>`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'audit_log'::regclass`.execute(ctx.db);
  console.log(`  ${parts.rows[0].n} partitions; ratio large/small per query:`);
  for (const k of Object.keys(small)) console.log(`    ${k.padEnd(28)} ×${(large[k] / small[k]).toFixed(2)}`);
}

async function main() {
  const scratch = await scratchDatabase(SERVER_URL);
  if (!scratch) return;
  console.log(
    `PostgreSQL ${scratch.version}, scratch database ${scratch.name}; parts ${PARTS.join(',')}; ${os.cpus().length} cores, load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  const ctx = await openContext({
    ...loadConfig({}),
    databaseUrl: scratch.url,
    dataDir: 'memory://',
    sealKeyFile: null,
    sealIntervalMs: 0,
    dataApi: { ...loadConfig({}).dataApi, appRatePerSecond: 1_000_000, grantCallsPerDay: 1_000_000_000 },
  });
  try {
    if (PARTS.includes('A')) await partA(ctx);
    if (PARTS.includes('B')) await partB(ctx);
    if (PARTS.includes('C')) await partC(ctx);
  } finally {
    await closeContext(ctx);
    await scratch.drop();
  }
  if (failed) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
