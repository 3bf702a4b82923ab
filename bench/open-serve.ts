/*
 * `npm run bench:open-serve`: the open-data portal's serving figures (issue 11 "Speed": "dataset page served in
 * < 100 ms; full download of a 1 M-row dataset streamed in constant memory; datastore_search p99 under 50 clients
 * compared with the internal data API in the same run"). Portal search is bench/open-portal.ts.
 *
 * For each database (a fresh gs_bench_<rand> PostgreSQL database, created and dropped; PGlite in memory):
 *
 * 1. Dataset page. A database of its own with BENCH_OPEN_ROWS generated catalog entries (bench/catalog-search.ts's
 *    generator; ≈ a third 无条件开放), every entry published with 8 fields. `GET /api/open/datasets/:id` (the portal
 *    page's JSON: entry, fields, view counted, 30-day usage) on the real app, random listed ids, BENCH_PAGE_CLIENTS
 *    keep-alive clients, against a bare Fastify + pg route selecting the same catalog row (joined to its department)
 *    by id. When the console is built (GOVSHARE_WEB_DIR / web/dist), `GET /open/dataset/:id` (the SPA's HTML, not
 *    server-rendered: index.html with a CSP nonce) is timed too.
 * 2. datastore_search vs the data API. The demo city; its first unconditionally open table whose key field is not
 *    masked (建筑业企业资质信息) is grown to BENCH_DOWNLOAD_SMALL rows by SQL copies under new keys; the demo app
 *    就业服务系统 is granted it (a share_grant row written directly). Under BENCH_CONCURRENCY keep-alive clients
 *    (bench/loadgen.mjs, worker thread): CKAN `GET /api/3/action/datastore_search?resource_id=<id>-csv&filters=
 *    {"<key>":"…"}` (no key, as an anonymous CKAN client) vs `GET /api/v1/data/<code>/records/:key` (X-Api-Key +
 *    X-Purpose), both one record by its key, runs alternated, medians of BENCH_ROUNDS.
 * 3. Downloads. `GET /api/open/datasets/:id/download?format=…` (BENCH_DOWNLOAD_FORMATS) of the same table at
 *    BENCH_DOWNLOAD_SMALL rows and again after growing it to BENCH_DOWNLOAD_ROWS, over HTTP; baseline: a bare Fastify
 *    route streaming `COPY (SELECT <columns> FROM <table> ORDER BY _seq) TO STDOUT (FORMAT csv, HEADER)` through
 *    pg-copy-streams (PostgreSQL; on PGlite, which has no COPY TO STDOUT over a wire, the bare route reads 2 000-row
 *    `_seq` keyset batches). RSS: this process's (server, client and, on PGlite, the database share it; the client only
 *    counts bytes and lines), sampled every 50 ms; "growth" = peak during the download − RSS when it started.
 *
 * Correctness (exit code 1 when any fails; a speed miss never does): every page / datastore / data API response 200
 * with the right shape (sampled), audit rows written = requests sent (open.api, data.get), every download delivers
 * exactly the table's row count (CSV/GBK lines − header; JSON objects), the baseline too.
 *
 * Knobs (env): BENCH_OPEN_ROWS (30000), BENCH_PAGE_CLIENTS (10), BENCH_CONCURRENCY (50), BENCH_SECONDS (10),
 * BENCH_WARMUP_SECONDS (2), BENCH_ROUNDS (2), BENCH_DOWNLOAD_SMALL (100000; PGlite 20000), BENCH_DOWNLOAD_ROWS
 * (1000000; PGlite 100000), BENCH_DOWNLOAD_FORMATS (csv,csv-gbk,json), BENCH_PARTS (page,datastore,download),
 * BENCH_DATABASES (postgres,pglite), BENCH_DATABASE_URL / DATABASE_URL, DB_POOL_SIZE (20).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { closeContext, openContext } from '../src/boot.js';
import { columnName, levelsVisibleToAll } from '../src/catalog/model.js';
import { type Config, loadConfig } from '../src/config.js';
import type { AppContext } from '../src/context.js';
import { loadDemoCity } from '../src/demo/load.js';
import { buildApp } from '../src/http/app.js';
import { csvCell } from '../src/shared/tabular.js';
import { generate, insertRows, seedOrgs } from './catalog-search.js';
import { LoadGenerator, type LoadJob, type LoadResult } from './loadgen-client.js';
import { scratchDatabase } from './scratch-db.js';
import { cpuPerRequest, withCpu } from './stats.js';

const env = process.env;
function num(name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${v}"`);
  return n;
}

type Kind = 'postgres' | 'pglite';
const OPEN_ROWS = num('BENCH_OPEN_ROWS', 30_000);
const PAGE_CLIENTS = num('BENCH_PAGE_CLIENTS', 10);
const CONCURRENCY = num('BENCH_CONCURRENCY', 50);
const SECONDS = num('BENCH_SECONDS', 10);
const WARMUP_SECONDS = num('BENCH_WARMUP_SECONDS', 2);
const ROUNDS = num('BENCH_ROUNDS', 2);
const POOL_SIZE = num('DB_POOL_SIZE', 20);
const smallRows = (k: Kind) => num('BENCH_DOWNLOAD_SMALL', k === 'postgres' ? 100_000 : 20_000);
const largeRows = (k: Kind) => num('BENCH_DOWNLOAD_ROWS', k === 'postgres' ? 1_000_000 : 100_000);
const FORMATS = (env.BENCH_DOWNLOAD_FORMATS ?? 'csv,csv-gbk,json').split(',').map((s) => s.trim());
const PARTS = new Set((env.BENCH_PARTS ?? 'page,datastore,download').split(',').map((s) => s.trim()));
const DATABASES = (env.BENCH_DATABASES ?? 'postgres,pglite').split(',').map((s) => s.trim());
const SERVER_URL =
  env.BENCH_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const CONSUMER_APP = '就业服务系统';
const TARGET = { pageP95Ms: 100 };
const KEY_SAMPLE = 5000;

let failed = false;
function check(ok: boolean, what: string) {
  if (!ok) {
    failed = true;
    console.log(`  CHECK FAILED: ${what}`);
  }
  return ok;
}

interface RunStats {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  sent: number;
  non200: number;
  checked: number;
  badShape: number;
}

function stats(r: LoadResult): RunStats {
  const lat = Float64Array.from(r.measured.latencies).sort();
  const n = lat.length;
  const pct = (p: number) => (n ? lat[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)] : Number.NaN);
  return {
    rps: n / r.measured.seconds,
    p50: pct(50),
    p95: pct(95),
    p99: pct(99),
    max: n ? lat[n - 1] : Number.NaN,
    sent: r.total,
    non200: r.totalNon200,
    checked: r.maskChecked,
    badShape: r.maskFailures,
  };
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
function medianStats(runs: RunStats[]): RunStats {
  const m = (k: keyof RunStats) => median(runs.map((r) => r[k]));
  const sum = (k: keyof RunStats) => runs.reduce((a, r) => a + r[k], 0);
  return {
    rps: m('rps'),
    p50: m('p50'),
    p95: m('p95'),
    p99: m('p99'),
    max: Math.max(...runs.map((r) => r.max)),
    sent: sum('sent'),
    non200: sum('non200'),
    checked: sum('checked'),
    badShape: sum('badShape'),
  };
}
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const fmt = (s: RunStats) =>
  `${Math.round(s.rps).toString().padStart(6)} req/s  p50 ${f2(s.p50).padStart(7)} ms  p95 ${f2(s.p95).padStart(7)} ms  p99 ${f2(s.p99).padStart(7)} ms  max ${f1(s.max).padStart(7)} ms`;

/** Alternates the targets for ROUNDS rounds; returns the medians and checks status and shape. */
async function alternate(
  load: LoadGenerator,
  jobs: Record<string, LoadJob>,
  between?: (name: string, r: LoadResult) => Promise<void>,
  /** the served app's context: each run also prints the CPU a request cost the server and PostgreSQL */
  ctx?: AppContext,
): Promise<Record<string, RunStats>> {
  const runs: Record<string, RunStats[]> = Object.fromEntries(Object.keys(jobs).map((k) => [k, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, job] of Object.entries(jobs)) {
      const { result: r, ...used } = ctx
        ? await withCpu(ctx, () => load.run(job))
        : { result: await load.run(job), processUs: 0, pgTicks: null };
      const s = stats(r);
      runs[name].push(s);
      const c = ctx ? cpuPerRequest(r, used) : null;
      const cpu = c ? `  CPU µs/req srv ${Math.round(c.srvUs)} db ${Math.round(c.dbUs)}` : '';
      console.log(
        `  round ${round} ${name.padEnd(16)} ${fmt(s)}${cpu}  (${r.total} sent, non-200 ${r.totalNon200}${r.totalNon200 ? ` ${JSON.stringify(r.statusCounts)}` : ''})`,
      );
      if (round === 1 && r.sample) console.log(`    sample: ${r.sample.slice(0, 200).replace(/\s+/g, ' ')}…`);
      await between?.(name, r);
    }
  }
  const out: Record<string, RunStats> = {};
  for (const [name, rs] of Object.entries(runs)) {
    out[name] = medianStats(rs);
    check(out[name].non200 === 0, `${name}: ${out[name].non200} non-200 responses`);
    check(
      jobs[name].check === 'none' || (out[name].checked > 0 && out[name].badShape === 0),
      `${name}: ${out[name].badShape} of ${out[name].checked} sampled responses had the wrong shape`,
    );
  }
  return out;
}

// ---------- databases ----------

interface Db {
  label: string;
  databaseUrl: string | null;
  drop: () => Promise<void>;
}

async function freshDatabase(kind: Kind): Promise<Db | null> {
  if (kind === 'pglite')
    return { label: 'PGlite (in memory, in this process)', databaseUrl: null, drop: async () => {} };
  const scratch = await scratchDatabase(SERVER_URL);
  if (!scratch) return null;
  return {
    label: `PostgreSQL ${scratch.version} (database ${scratch.name})`,
    databaseUrl: scratch.url,
    drop: scratch.drop,
  };
}

function benchConfig(databaseUrl: string | null): Config {
  const c = loadConfig({});
  return {
    ...c,
    webDir: env.GOVSHARE_WEB_DIR || c.webDir,
    databaseUrl,
    dataDir: 'memory://',
    dbPoolSize: POOL_SIZE,
    // the limits stay on (their cost is measured) but above the offered load
    openRateLimitPerMinute: 1_000_000_000,
    openDownloadsPerMinute: 1_000_000_000,
    openKeyCallsPerMinute: 1_000_000_000,
    openKeyDownloadsPerMinute: 1_000_000_000,
    dataApi: { ...c.dataApi, appRatePerSecond: 1_000_000, grantCallsPerDay: 1_000_000_000 },
  };
}

const port = (app: FastifyInstance) => (app.server.address() as AddressInfo).port;

/** A bare point select: a pg.Pool of govshare's size on PostgreSQL, the context's connection on PGlite. */
function bareQuery(ctx: AppContext, databaseUrl: string | null, cleanups: (() => Promise<void>)[]) {
  if (databaseUrl) {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: POOL_SIZE });
    pool.on('error', (e) => console.error('baseline pool:', e.message));
    cleanups.push(() => pool.end());
    return {
      pool,
      query: async (name: string, text: string, values: unknown[]) =>
        (await pool.query({ name, text, values })).rows,
    };
  }
  return {
    pool: null,
    query: async (_name: string, text: string, values: unknown[]) =>
      (await ctx.database.query(text, values)).rows,
  };
}

// ---------- 1. dataset page ----------

interface PageResult {
  listed: number;
  unconditional: number;
  api: RunStats;
  baseline: RunStats;
  html: RunStats | null;
}

async function benchPage(kind: Kind, load: LoadGenerator): Promise<PageResult | null> {
  const db = await freshDatabase(kind);
  if (!db) return null;
  const cleanups: (() => Promise<void>)[] = [];
  const ctx = await openContext(benchConfig(db.databaseUrl));
  try {
    console.log(`\n== dataset page, ${db.label}: ${OPEN_ROWS.toLocaleString('en')} catalog entries ==`);
    const t0 = performance.now();
    const { ids, names } = await seedOrgs(ctx);
    await insertRows(ctx, generate(OPEN_ROWS, ids, names));
    await sql`UPDATE resource SET status = 'published', published_at = now() - (id % 400) * interval '1 day',
      row_count = (id * 7919) % 100000`.execute(ctx.db);
    // eight fields per entry (the page lists them; personal ones marked as masked)
    await sql`INSERT INTO resource_field (resource_id, ordinal, code, name, type, length, required, is_key, personal,
        sensitive, masking, validator, column_name)
      SELECT r.id, g, 'f' || g, '字段' || g, CASE WHEN g = 3 THEN 'date' ELSE 'string' END, 50, g = 1, g = 1, g = 4,
        false, CASE WHEN g = 4 THEN 'name' ELSE 'none' END, NULL, 'c' || g
      FROM resource r, generate_series(1, 8) g`.execute(ctx.db);
    await sql`ANALYZE`.execute(ctx.db);
    const levels = levelsVisibleToAll(ctx.profile);
    const listedRows = await sql<{ id: number; open_type: string }>`SELECT id, open_type FROM resource
      WHERE status = 'published' AND open_type IN ('open', 'onApplication')
        AND catalog_level = ANY(${levels}::text[])`.execute(ctx.db);
    const listed = listedRows.rows.map((r) => String(r.id));
    const unconditional = listedRows.rows.filter((r) => r.open_type === 'open').length;
    console.log(
      `loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${listed.length} listed on the portal (${unconditional} 无条件开放), pages of random listed ids`,
    );
    const app = await buildApp(ctx, { logger: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => app.close());
    const bare = bareQuery(ctx, db.databaseUrl, cleanups);
    const baseline = Fastify({ logger: false });
    const baselineSql = `SELECT r.*, o.name AS provider_name FROM resource r JOIN org o ON o.id = r.provider_org_id
      WHERE r.id = $1`;
    baseline.get('/baseline/:id', async (req, reply) => {
      const rows = await bare.query('page.baseline', baselineSql, [
        Number((req.params as { id: string }).id),
      ]);
      if (!rows.length) return reply.code(404).send({});
      const { search_doc: _d, ...row } = rows[0] as Record<string, unknown>;
      return { ...row, id: Number(row.id) };
    });
    await baseline.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => baseline.close());
    const html = fs.existsSync(`${ctx.config.webDir}/index.html`);
    const jobs: Record<string, LoadJob> = {
      'page baseline': {
        base: `http://127.0.0.1:${port(baseline)}`,
        pathPrefix: '/baseline/',
        headers: {},
        keys: listed,
        check: 'dataset',
        concurrency: PAGE_CLIENTS,
      },
      'page API': {
        base: `http://127.0.0.1:${port(app)}`,
        pathPrefix: '/api/open/datasets/',
        headers: {},
        keys: listed,
        check: 'dataset',
        concurrency: PAGE_CLIENTS,
      },
    };
    if (html)
      jobs['page HTML (SPA)'] = {
        base: `http://127.0.0.1:${port(app)}`,
        pathPrefix: '/open/dataset/',
        headers: {},
        keys: listed,
        check: 'html',
        concurrency: PAGE_CLIENTS,
      };
    else
      console.log(`(no ${ctx.config.webDir}/index.html: the SPA's HTML is not timed; set GOVSHARE_WEB_DIR)`);
    const viewsBefore = Number(
      (await sql<{ n: number }>`SELECT coalesce(sum(views), 0)::int AS n FROM open_usage`.execute(ctx.db))
        .rows[0].n,
    );
    let apiSent = 0;
    const r = await alternate(load, jobs, async (name, lr) => {
      if (name === 'page API') apiSent += lr.total;
    });
    const views = Number(
      (await sql<{ n: number }>`SELECT coalesce(sum(views), 0)::int AS n FROM open_usage`.execute(ctx.db))
        .rows[0].n,
    );
    check(
      views - viewsBefore === apiSent,
      `views counted ${views - viewsBefore} for ${apiSent} page requests`,
    );
    console.log(`views counted ${views - viewsBefore} for ${apiSent} page API requests sent`);
    return {
      listed: listed.length,
      unconditional,
      api: r['page API'],
      baseline: r['page baseline'],
      html: r['page HTML (SPA)'] ?? null,
    };
  } finally {
    while (cleanups.length)
      await cleanups.pop()!().catch((e) => console.error('cleanup:', (e as Error).message));
    await closeContext(ctx);
    await db.drop();
  }
}

// ---------- 2 + 3. datastore_search vs data API, downloads ----------

interface DownloadRun {
  target: string;
  rows: number;
  delivered: number;
  bytes: number;
  seconds: number;
  rssStart: number;
  rssPeak: number;
}
interface DataResult {
  table: string;
  name: string;
  datastore: RunStats | null;
  dataApi: RunStats | null;
  downloads: DownloadRun[];
}

/** GETs a URL, counting bytes and records (CSV: lines − header; JSON: objects); samples RSS every 50 ms. */
function download(url: string, format: string, rows: number, target: string): Promise<DownloadRun> {
  return new Promise((resolve, reject) => {
    const rssStart = process.memoryUsage.rss();
    let rssPeak = rssStart;
    const timer = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    }, 50);
    const t0 = performance.now();
    const sep = format === 'json' ? 0x7b : 0x0a; // '{' opens each (flat) record; '\n' ends each CSV line
    http
      .get(url, (res) => {
        let marks = 0;
        let bytes = 0;
        let head = '';
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (head.length < 300) head += chunk.toString('latin1');
          for (let i = chunk.indexOf(sep); i !== -1; i = chunk.indexOf(sep, i + 1)) marks++;
        });
        res.on('end', () => {
          clearInterval(timer);
          if (res.statusCode !== 200)
            console.log(`  ${target}: HTTP ${res.statusCode} ${head.slice(0, 200)}`);
          resolve({
            target,
            rows,
            delivered: res.statusCode === 200 ? (format === 'json' ? marks : marks - 1) : -1,
            bytes,
            seconds: (performance.now() - t0) / 1000,
            rssStart,
            rssPeak: Math.max(rssPeak, process.memoryUsage.rss()),
          });
        });
        res.on('error', reject);
      })
      .on('error', (e) => {
        clearInterval(timer);
        reject(e);
      });
  });
}

const MB = (b: number) => b / 1024 / 1024;

async function benchData(kind: Kind, load: LoadGenerator): Promise<DataResult | null> {
  const db = await freshDatabase(kind);
  if (!db) return null;
  const cleanups: (() => Promise<void>)[] = [];
  const ctx = await openContext(benchConfig(db.databaseUrl));
  try {
    console.log(`\n== datastore_search / data API / downloads, ${db.label} ==`);
    let t0 = performance.now();
    const demo = await loadDemoCity(ctx, { populationRows: 2000, entityRows: 20_000 });
    console.log(`demo city loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const levels = levelsVisibleToAll(ctx.profile);
    // the first unconditionally open table whose (single, text) key field is not masked: CKAN filters may use it
    const t = (
      await ctx.database.query<{
        id: number;
        code: string;
        name: string;
        data_table: string;
        key_code: string;
        key_ordinal: number;
      }>(
        `SELECT r.id, r.code, r.name, r.data_table, f.code AS key_code, f.ordinal AS key_ordinal
         FROM resource r JOIN resource_field f ON f.resource_id = r.id AND f.is_key
         WHERE r.status = 'published' AND r.open_type = 'open' AND r.data_table IS NOT NULL
           AND r.catalog_level = ANY($1::text[]) AND f.type = 'string' AND NOT f.personal AND NOT f.sensitive
           AND f.masking = 'none'
           AND (SELECT count(*) FROM resource_field k WHERE k.resource_id = r.id AND k.is_key) = 1
         ORDER BY r.id LIMIT 1`,
        [levels],
      )
    ).rows[0];
    if (!t) throw new Error('the demo city has no unconditionally open table with an unmasked key');
    const fields = (
      await ctx.database.query<{ code: string; ordinal: number }>(
        'SELECT code, ordinal FROM resource_field WHERE resource_id = $1 ORDER BY ordinal',
        [t.id],
      )
    ).rows;
    const count = async () =>
      Number(
        (await ctx.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.data_table}`, []))
          .rows[0].n,
      );
    /** Grows the table to `rows` by copies of the demo rows under new keys (one statement). */
    const grow = async (rows: number) => {
      const g0 = performance.now();
      const have = await count();
      if (rows > have) {
        const cols = fields.map((f) => columnName(f.ordinal));
        const values = fields.map((f) =>
          f.ordinal === t.key_ordinal
            ? `'ZZB' || lpad((${have} + i)::text, 9, '0')`
            : `b.${columnName(f.ordinal)}`,
        );
        await ctx.database.query(
          `INSERT INTO ${t.data_table} (_key, _batch_id, _hash, ${cols.join(', ')})
           SELECT 'ZZB' || lpad((${have} + i)::text, 9, '0'), b._batch_id, b._hash, ${values.join(', ')}
           FROM generate_series(1, $1::int) i
           JOIN (SELECT *, row_number() OVER (ORDER BY _seq) AS rn FROM ${t.data_table} WHERE _key NOT LIKE 'ZZB%') b
             ON b.rn = 1 + i % (SELECT count(*) FROM ${t.data_table} WHERE _key NOT LIKE 'ZZB%')`,
          [rows - have],
        );
        await ctx.database.query(`VACUUM ANALYZE ${t.data_table}`, []);
      }
      const n = await count();
      await ctx.database.query('UPDATE resource SET row_count = $2 WHERE id = $1', [t.id, n]);
      console.log(
        `${t.name} (${t.data_table}): ${n.toLocaleString('en')} rows (grown in ${((performance.now() - g0) / 1000).toFixed(1)} s)`,
      );
      return n;
    };

    const app = await buildApp(ctx, { logger: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => app.close());
    const base = `http://127.0.0.1:${port(app)}`;
    const out: DataResult = {
      table: t.data_table,
      name: t.name,
      datastore: null,
      dataApi: null,
      downloads: [],
    };
    let rows = await grow(smallRows(kind));

    if (PARTS.has('datastore')) {
      // the consumer app is granted the open table (written directly: the bench measures the call, not the workflow)
      const consumer = demo.apps.find((a) => a.name === CONSUMER_APP);
      if (!consumer) throw new Error(`demo app ${CONSUMER_APP} not found`);
      const grant = (
        await ctx.database.query<{ id: number; purpose_id: string }>(
          `INSERT INTO share_grant (resource_id, consumer_org_id, app_id, fields, purpose, valid_until,
             agreement_required)
           SELECT $1, a.org_id, a.id, $2::text[], '核验建筑业企业资质', now() + interval '1 year', false
           FROM app a WHERE a.name = $3 RETURNING id, purpose_id`,
          [t.id, fields.map((f) => f.code), CONSUMER_APP],
        )
      ).rows[0];
      const keys = (
        await ctx.database.query<{ _key: string }>(
          `SELECT _key FROM ${t.data_table} ORDER BY random() LIMIT ${KEY_SAMPLE}`,
          [],
        )
      ).rows.map((r) => r._key);
      const jobs: Record<string, LoadJob> = {
        datastore_search: {
          base,
          pathPrefix: `/api/3/action/datastore_search?resource_id=${t.id}-csv&filters=`,
          headers: {},
          keys: keys.map((k) => JSON.stringify({ [t.key_code]: k })),
          check: 'ckanOne',
          concurrency: CONCURRENCY,
        },
        'data API': {
          base,
          pathPrefix: `/api/v1/data/${encodeURIComponent(t.code)}/records/`,
          headers: { 'x-api-key': consumer.apiKey, 'x-purpose': grant.purpose_id },
          keys,
          check: 'record',
          concurrency: CONCURRENCY,
        },
      };
      // probe both before measuring
      for (const [name, j] of Object.entries(jobs)) {
        const res = await fetch(`${j.base}${j.pathPrefix}${encodeURIComponent(j.keys[0])}`, {
          headers: j.headers,
        });
        const body = await res.text();
        check(res.status === 200, `probe ${name}: HTTP ${res.status} ${body.slice(0, 300)}`);
      }
      const audits = async (action: string) =>
        Number(
          (
            await ctx.database.query<{ n: number }>(
              'SELECT count(*)::int AS n FROM audit_log WHERE action = $1',
              [action],
            )
          ).rows[0].n,
        );
      const before = { ds: await audits('open.api'), api: await audits('data.get') };
      const sent = { ds: 0, api: 0 };
      console.log(
        `-- one record by its key (${t.key_code}) on ${rows.toLocaleString('en')} rows, ${CONCURRENCY} clients --`,
      );
      const r = await alternate(
        load,
        jobs,
        async (name, lr) => {
          if (name === 'datastore_search') sent.ds += lr.total;
          else sent.api += lr.total;
        },
        ctx,
      );
      const written = {
        ds: (await audits('open.api')) - before.ds,
        api: (await audits('data.get')) - before.api,
      };
      console.log(
        `audit rows: open.api ${written.ds} for ${sent.ds} datastore_search sent; data.get ${written.api} for ${sent.api} data API calls sent`,
      );
      check(written.ds === sent.ds, `open.api audit rows ${written.ds} ≠ ${sent.ds} sent`);
      check(written.api === sent.api, `data.get audit rows ${written.api} ≠ ${sent.api} sent`);
      out.datastore = r.datastore_search;
      out.dataApi = r['data API'];
    }

    if (PARTS.has('download')) {
      // baseline: COPY … TO STDOUT through pg-copy-streams (PostgreSQL) / keyset batches (PGlite), bare Fastify
      const cols = fields.map((f) => `${columnName(f.ordinal)} AS "${f.code}"`).join(', ');
      const bare = bareQuery(ctx, db.databaseUrl, cleanups);
      const baseline = Fastify({ logger: false });
      baseline.get('/copy', async (_req, reply) => {
        reply.type('text/csv; charset=utf-8');
        if (bare.pool) {
          const client = await bare.pool.connect();
          const s = client.query(
            copyTo(
              `COPY (SELECT ${cols} FROM ${t.data_table} ORDER BY _seq) TO STDOUT WITH (FORMAT csv, HEADER)`,
            ),
          );
          let released = false;
          const release = (e?: Error) => {
            if (!released) client.release(e);
            released = true;
          };
          s.on('end', () => release());
          s.on('error', (e) => release(e));
          reply.raw.on('close', () => release());
          return reply.send(s);
        }
        async function* csv() {
          yield `${fields.map((f) => f.code).join(',')}\r\n`;
          let after = 0;
          for (;;) {
            const batch = await bare.query(
              'copy.batch',
              `SELECT _seq, ${cols} FROM ${t.data_table} WHERE _seq > $1 ORDER BY _seq LIMIT 2000`,
              [after],
            );
            if (!batch.length) return;
            after = Number((batch[batch.length - 1] as { _seq: number })._seq);
            yield batch
              .map(
                (r) => `${fields.map((f) => csvCell((r as Record<string, unknown>)[f.code])).join(',')}\r\n`,
              )
              .join('');
            if (batch.length < 2000) return;
          }
        }
        return reply.send(Readable.from(csv()));
      });
      await baseline.listen({ host: '127.0.0.1', port: 0 });
      cleanups.push(() => baseline.close());
      const baselineName = bare.pool ? 'COPY TO STDOUT' : 'bare keyset CSV';
      for (const target of [smallRows(kind), largeRows(kind)]) {
        if (target !== smallRows(kind)) rows = await grow(target);
        const runs: [string, string, string][] = [
          [baselineName, `http://127.0.0.1:${port(baseline)}/copy`, 'csv'],
          ...FORMATS.map((f): [string, string, string] => [
            `download ${f}`,
            `${base}/api/open/datasets/${t.id}/download?format=${f}`,
            f,
          ]),
        ];
        for (const [name, url, format] of runs) {
          t0 = performance.now();
          const d = await download(url, format, rows, name);
          check(d.delivered === rows, `${name} at ${rows} rows delivered ${d.delivered}`);
          out.downloads.push(d);
          console.log(
            `  ${name.padEnd(18)} ${rows.toLocaleString('en').padStart(10)} rows  ${(d.rows / d.seconds).toFixed(0).padStart(8)} rows/s  ${(MB(d.bytes) / d.seconds).toFixed(1).padStart(6)} MB/s  ${MB(d.bytes).toFixed(1).padStart(7)} MB  ${d.seconds.toFixed(2).padStart(6)} s  RSS ${MB(d.rssStart).toFixed(0)} → peak ${MB(d.rssPeak).toFixed(0)} MB (+${MB(d.rssPeak - d.rssStart).toFixed(0)})  delivered ${d.delivered}`,
          );
        }
      }
    }
    return out;
  } finally {
    while (cleanups.length)
      await cleanups.pop()!().catch((e) => console.error('cleanup:', (e as Error).message));
    await closeContext(ctx);
    await db.drop();
  }
}

// ---------- main ----------

const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

async function main() {
  const started = performance.now();
  console.log('govshare bench: open portal serving (dataset page, datastore_search vs data API, downloads)');
  console.log(
    `${new Date().toISOString().slice(0, 16)}Z; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${loadavg()}; Node ${process.version}; ` +
      `${WARMUP_SECONDS} s warm-up + ${SECONDS} s per run, ${ROUNDS} alternating rounds, medians`,
  );
  const load = new LoadGenerator({ warmupSeconds: WARMUP_SECONDS, seconds: SECONDS });
  const summary: string[] = [];
  try {
    for (const kind of DATABASES as Kind[]) {
      if (kind !== 'postgres' && kind !== 'pglite') throw new Error(`BENCH_DATABASES: unknown "${kind}"`);
      const name = kind === 'postgres' ? 'PostgreSQL' : 'PGlite';
      if (PARTS.has('page')) {
        const p = await benchPage(kind, load);
        if (p) {
          const verdict = kind === 'postgres' ? (p.api.p95 < TARGET.pageP95Ms ? 'MET' : 'MISSED') : '(info)';
          summary.push(
            `${name} dataset page (${p.listed} listed, ${p.unconditional} 无条件; ${PAGE_CLIENTS} clients): API ${fmt(p.api)} | baseline ${fmt(p.baseline)} | ratio p50 ${f2(p.api.p50 / p.baseline.p50)}× p95 ${f2(p.api.p95 / p.baseline.p95)}×, req/s ${f2(p.api.rps / p.baseline.rps)} | target p95 < ${TARGET.pageP95Ms} ms ${verdict}`,
          );
          if (p.html) summary.push(`${name} dataset page HTML (SPA index.html): ${fmt(p.html)}`);
        }
      }
      if (PARTS.has('datastore') || PARTS.has('download')) {
        const d = await benchData(kind, load);
        if (d?.datastore && d.dataApi)
          summary.push(
            `${name} one record by key, ${CONCURRENCY} clients: datastore_search ${fmt(d.datastore)} | data API ${fmt(d.dataApi)} | datastore/data API p99 ${f2(d.datastore.p99 / d.dataApi.p99)}×, req/s ${f2(d.datastore.rps / d.dataApi.rps)}`,
          );
        for (const x of d?.downloads ?? [])
          summary.push(
            `${name} ${x.target.padEnd(18)} ${x.rows.toLocaleString('en').padStart(10)} rows ${(x.rows / x.seconds).toFixed(0).padStart(8)} rows/s ${(MB(x.bytes) / x.seconds).toFixed(1).padStart(6)} MB/s, RSS start ${MB(x.rssStart).toFixed(0)} MB, peak ${MB(x.rssPeak).toFixed(0)} MB (+${MB(x.rssPeak - x.rssStart).toFixed(0)})`,
          );
        if (d) {
          // constant memory: the growth of RSS during a download does not grow with the rows
          for (const f of FORMATS) {
            const runs = d.downloads.filter((x) => x.target === `download ${f}`);
            if (runs.length === 2) {
              const [s, l] = runs;
              summary.push(
                `${name} download ${f}: RSS growth during the download ${MB(s.rssPeak - s.rssStart).toFixed(0)} MB at ${s.rows.toLocaleString('en')} rows → ${MB(l.rssPeak - l.rssStart).toFixed(0)} MB at ${l.rows.toLocaleString('en')}; peak ${MB(s.rssPeak).toFixed(0)} → ${MB(l.rssPeak).toFixed(0)} MB`,
              );
            }
          }
        }
      }
    }
  } finally {
    await load.close();
  }
  console.log('\n===== open-serve summary =====');
  console.log(`${new Date().toISOString().slice(0, 16)}Z, load average ${loadavg()}`);
  for (const s of summary) console.log(s);
  console.log(
    `total ${((performance.now() - started) / 1000).toFixed(0)} s; correctness ${failed ? 'FAILED' : 'OK'}`,
  );
  if (failed) process.exitCode = 1;
}

await main();
