/*
 * `npm run bench:ingest`: CSV ingest of population rows with full validation (issue 7 "Speed and memory").
 *
 * For each database (PostgreSQL: a fresh `gs_bench_<rand>` database, created and dropped here; PGlite: on a data
 * directory in a fresh temp dir, removed afterwards, as `npm start` runs it; BENCH_PGLITE_DATA=memory for memory://) and
 * each size, a separate child process (so its peak RSS is its own) imports a population CSV (written by the parent, so
 * generating it leaves nothing in the measured process; ID number with a valid
 * GB 11643 check digit as key, name, gender, birth date, mobile phone, address), creates the resource through the
 * catalog's registration code, and times the real import (src/ingest/pipeline.ts runImport: stream → decode →
 * parse → validate every cell → stage → one set-based merge with history, in one transaction). In the same run it
 * times a plain COPY of the same file into a table of the same column types (PostgreSQL: server-side
 * `COPY … FROM '<file>'`; PGlite: `COPY … FROM '/dev/blob'` into another PGlite of the same data dir kind). Peak RSS is
 * sampled every 50 ms during the import, with PGlite's WASM memory (one ArrayBuffer that only grows) at the peak.
 * CPU time next to wall time: Node's (process.cpuUsage) and, on PostgreSQL, the server's (its processes for the bench
 * database, from /proc, when the server runs on this host) during the import and during the COPY: on a shared machine
 * the wall-clock rates follow the load, the CPU seconds much less.
 *
 * Then (PostgreSQL) the data API's latency while an import runs: a small demo city in another scratch database, calls by
 * key (GET …/records/:key) from BENCH_INGEST_DURING_CLIENTS (10) keep-alive clients, 5 s idle, then in 5 s windows
 * back to back while a BENCH_INGEST_DURING_ROWS (1000000; 0 skips) import runs in the same process; p50/p99 idle and
 * during, and the ratio of the p99s.
 *
 * Knobs (env): BENCH_INGEST_ROWS (100000,1000000), BENCH_DATABASES (postgres,pglite), BENCH_DATABASE_URL /
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), BENCH_PGLITE_DATA (disk; memory),
 * BENCH_INGEST_TRACE=1 (the import's RSS, V8 heap, buffers and WASM memory on stderr about once a second). Target (PostgreSQL): ingest ≥ ½ of COPY's rate; peak RSS flat in the
 * file size (the table prints the RSS at the import's start next to the peak).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { closeContext, openContext } from '../src/boot.js';
import { loadConfig } from '../src/config.js';
import type { AppContext } from '../src/context.js';
import { loadDemoCity } from '../src/demo/load.js';
import { buildApp } from '../src/http/app.js';
import { idNumberCheckChar } from '../src/ingest/checksums.js';
import { runImport } from '../src/ingest/pipeline.js';
import { LoadGenerator } from './loadgen-client.js';
import { benchOrg, benchResource, spoolBatch } from './resource.js';
import { sampleRecords } from './sample.js';
import { type ScratchDatabase, scratchDatabase } from './scratch-db.js';
import { CLK_TCK, pgTicks, pgTicksSince } from './stats.js';

const env = process.env;
const SIZES = (env.BENCH_INGEST_ROWS ?? '100000,1000000').split(',').map(Number);
const DATABASES = (env.BENCH_DATABASES ?? 'postgres,pglite').split(',').map((s) => s.trim());
const SERVER_URL =
  env.BENCH_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
/** the data API's latency while an import runs: rows of that import (0 skips), clients, seconds per window */
const DURING_ROWS = Number(env.BENCH_INGEST_DURING_ROWS ?? 1_000_000);
const DURING_CLIENTS = Number(env.BENCH_INGEST_DURING_CLIENTS ?? 10);
const DURING_WINDOW = 5;
/** BENCH_INGEST_TRACE=1: the import's memory (RSS, V8 heap, buffers, WASM) on stderr about once a second */
const TRACE = env.BENCH_INGEST_TRACE === '1';
/** PGlite's storage: `disk` (a data directory, as `npm start` runs it) or `memory` (memory://) */
const PGLITE_DATA = env.BENCH_PGLITE_DATA === 'memory' ? 'memory' : 'disk';

/**
 * PGlite's WASM memories (weakly held, so a closed instance's can be collected): each PGlite is one WebAssembly.Memory
 * that grows and never shrinks; its size is part of the process's RSS once touched.
 */
const wasmMemories: WeakRef<WebAssembly.Memory>[] = [];
{
  const Memory = WebAssembly.Memory;
  WebAssembly.Memory = class extends Memory {
    constructor(d: WebAssembly.MemoryDescriptor) {
      super(d);
      wasmMemories.push(new WeakRef(this));
    }
  } as typeof WebAssembly.Memory;
}
/** Resets the kernel's peak RSS of this process (Linux: `5` into clear_refs); false where that is not possible. */
function resetPeakRss(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
/** VmHWM, the process's peak RSS since the last reset, in bytes. */
function peakRss(): number | null {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : null;
}
const wasmBytes = () => {
  let n = 0;
  for (const r of wasmMemories) n += r.deref()?.buffer.byteLength ?? 0;
  return n;
};

const SURNAMES = '张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗';
const GIVEN = [
  '伟',
  '芳',
  '娜',
  '敏',
  '静',
  '强',
  '磊',
  '洋',
  '艳',
  '勇',
  '军',
  '杰',
  '秀英',
  '桂芳',
  '建国',
];
const STREETS = ['滨江路', '人民路', '解放路', '中山路', '建设路', '和平路'];

/**
 * Writes the file 1 MB at a time, waiting for each write to drain: without that the whole file (87 MB at 1 M rows) sat
 * in the write stream's queue as Buffers, and the garbage it left in this process was counted in the import's peak RSS.
 */
async function writeCsv(file: string, rows: number) {
  const out = fs.createWriteStream(file);
  const put = (s: string) =>
    out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r()));
  let buf = 'idNumber,name,gender,birthDate,phone,address\n';
  for (let i = 0; i < rows; i++) {
    const day = new Date(Date.UTC(1950, 0, 1) + Math.floor(i / 1000) * 86_400_000);
    const ymd = day.toISOString().slice(0, 10).replaceAll('-', '');
    const body = `446002${ymd}${String(i % 1000).padStart(3, '0')}`;
    const id = body + idNumberCheckChar(body);
    const name = SURNAMES[i % SURNAMES.length] + GIVEN[i % GIVEN.length];
    const gender = i % 2 ? '男' : '女';
    const phone = `13${String(800_000_000 + (i % 100_000_000)).padStart(9, '0')}`;
    buf += `${id},${name},${gender},${day.toISOString().slice(0, 10)},${phone},临江市江城区${STREETS[i % 6]}${(i % 999) + 1}号\n`;
    if (buf.length > 1 << 20) {
      await put(buf);
      buf = '';
    }
  }
  await put(buf);
  return new Promise<void>((r) => out.end(r));
}

const FIELDS = [
  {
    code: 'idNumber',
    name: '公民身份号码',
    type: 'string' as const,
    isKey: true,
    validator: 'idNumber' as const,
  },
  {
    code: 'name',
    name: '姓名',
    type: 'string' as const,
    length: 50,
    required: true,
    personal: true,
    masking: 'name' as const,
  },
  { code: 'gender', name: '性别', type: 'string' as const, length: 2 },
  { code: 'birthDate', name: '出生日期', type: 'date' as const, personal: true },
  { code: 'phone', name: '手机号码', type: 'string' as const, validator: 'mobilePhone' as const },
  {
    code: 'address',
    name: '住址',
    type: 'string' as const,
    length: 200,
    personal: true,
    masking: 'address' as const,
  },
];
/** PostgreSQL CPU seconds between two pgTicks samples (a backend started in between counts from zero). */
async function pgCpuSince(ctx: AppContext, before: Map<number, number> | null): Promise<number | null> {
  const d = await pgTicksSince(ctx, before);
  return d === null ? null : d / CLK_TCK;
}

const COPY_DDL =
  'CREATE TABLE bench_copy (id text, name text, gender text, birth date, phone text, address text)';

/**
 * One measurement in this process: prints one JSON line. `during`: instead of RSS and COPY, the data API's latency by
 * key (GET …/records/:key, DURING_CLIENTS keep-alive clients, bench/loadgen.mjs in a worker thread) measured idle and
 * then while the import runs, in the same process as the import (as the job runner shares the server's process).
 */
async function one(kind: string, rows: number, during = false, given?: string, givenLiteDir?: string) {
  // the table's runs get their file from the parent, so generating it leaves no garbage in the measured process
  const dir = given ? path.dirname(given) : fs.mkdtempSync(path.join(os.tmpdir(), 'gs-bench-ingest-'));
  const file = given ?? path.join(dir, 'population.csv');
  if (!given) await writeCsv(file, rows);
  // PGlite as `npm start` runs it: a data directory (fresh, removed in `finally`), or memory://. The table's runs get
  // it from the parent already initialised (initdb, migrations) by another process, as a server restarted on its data
  // directory finds it: a first start's initdb leaves ≈ 400 MB of garbage and a second WASM heap in the process.
  const liteDir =
    givenLiteDir ??
    (kind === 'pglite' && PGLITE_DATA === 'disk'
      ? fs.mkdtempSync(path.join(os.tmpdir(), 'gs-bench-pglite-'))
      : null);
  let scratch: ScratchDatabase | null = null;
  if (kind === 'postgres') {
    scratch = await scratchDatabase(SERVER_URL);
    if (!scratch) throw new Error('PostgreSQL not reachable');
  }
  const ctx = await openContext({
    ...loadConfig({}),
    databaseUrl: scratch?.url ?? null,
    dataDir: liteDir ? path.join(liteDir, 'data') : 'memory://',
    dbPoolSize: during ? 20 : 4,
    dataApi: { ...loadConfig({}).dataApi, appRatePerSecond: 1_000_000, grantCallsPerDay: 1_000_000_000 },
  });
  try {
    // p99 mode: a small demo city gives the data API a granted table and a consumer's key to call it by
    const demo = during ? await loadDemoCity(ctx, { populationRows: 20_000, entityRows: 2000 }) : null;
    const orgId = await benchOrg(ctx);
    const resourceId = await benchResource(ctx, orgId, '人口基础信息（基准）', FIELDS);
    const id = await spoolBatch(ctx, resourceId, `bench-${Date.now()}.csv`, 'population.csv', (spool) =>
      fs.copyFileSync(file, spool),
    );
    let calls: {
      job: import('./loadgen-client.js').LoadJob;
      loadgen: LoadGenerator;
      close: () => Promise<void>;
    } | null = null;
    let idle: Float64Array | null = null;
    if (demo) {
      const consumer = demo.apps.find((a) => a.name === '就业服务系统')!;
      const g = (
        await sql<{ code: string; data_table: string; purpose_id: string }>`
          SELECT r.code, r.data_table, g.purpose_id FROM share_grant g JOIN app a ON a.id = g.app_id
          JOIN resource r ON r.id = g.resource_id WHERE a.name = '就业服务系统' AND g.status = 'active'
          ORDER BY g.id LIMIT 1`.execute(ctx.db)
      ).rows[0];
      // clear record keys, as a consumer sends them (bench/sample.ts)
      const keys = (await sampleRecords(ctx, g.data_table, 5000)).map((r) => r.key);
      const app = await buildApp(ctx, { logger: false });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const loadgen = new LoadGenerator({
        warmupSeconds: 0,
        seconds: DURING_WINDOW,
        concurrency: DURING_CLIENTS,
      });
      const job = {
        base: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`,
        pathPrefix: `/api/v1/data/${encodeURIComponent(g.code)}/records/`,
        headers: { 'x-api-key': consumer.apiKey, 'x-purpose': g.purpose_id },
        keys,
        check: 'record' as const,
      };
      calls = {
        job,
        loadgen,
        close: async () => {
          await loadgen.close();
          await app.close();
        },
      };
      // idle: the same calls with no import running (a warm-up window first)
      await loadgen.run(job);
      idle = (await loadgen.run(job)).measured.latencies;
    }
    // during: windows of calls back to back until the import ends
    const duringLat: Float64Array[] = [];
    // each window's import phase (where it ended) and its own p99: the tail by phase, not only overall
    const windowPhases: string[] = [];
    let phase = 'reading';
    let duringNon200 = 0;
    let importDone = false;
    const caller = (async () => {
      if (!calls) return;
      while (!importDone) {
        const started = phase;
        const r = await calls.loadgen.run(calls.job);
        duringLat.push(r.measured.latencies);
        windowPhases.push(started === phase ? phase : `${started}→${phase}`);
        duringNon200 += r.totalNon200;
      }
    })();
    const rssBefore = process.memoryUsage().rss;
    // the kernel's high-water mark, reset here: PGlite runs a statement as one synchronous WASM call, during which
    // the 50 ms sampler below cannot run (the merge is one such call), so its peak is read from VmHWM afterwards
    const hwmReset = resetPeakRss();
    let peak = rssBefore;
    let atPeak = process.memoryUsage();
    let wasmAtPeak = wasmBytes();
    const wasmBefore = wasmAtPeak;
    const t00 = performance.now();
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      if (TRACE && Math.round(performance.now() - t00) % 1000 < 50)
        console.error(
          `mem ${((performance.now() - t00) / 1000).toFixed(1)} s: rss ${Math.round(m.rss / 1e6)} heapUsed ${Math.round(m.heapUsed / 1e6)} heapTotal ${Math.round(m.heapTotal / 1e6)} external ${Math.round(m.external / 1e6)} arrayBuffers ${Math.round(m.arrayBuffers / 1e6)} wasm ${Math.round(wasmBytes() / 1e6)} MB`,
        );
      if (m.rss > peak) {
        peak = m.rss;
        atPeak = m;
        wasmAtPeak = wasmBytes();
      }
    }, 50);
    const pg0 = during ? null : await pgTicks(ctx);
    const cpu0 = process.cpuUsage();
    const load0 = os.loadavg()[0];
    const t0 = performance.now();
    let readMs = 0;
    const out = await runImport(ctx, id, (p) => {
      phase = p.phase;
      if (p.phase === 'merging' && !readMs) {
        readMs = performance.now() - t0;
        if (TRACE) console.error(`merging from ${(readMs / 1000).toFixed(1)} s`);
      }
    });
    const ingestMs = performance.now() - t0;
    importDone = true;
    await caller;
    const cpu = process.cpuUsage(cpu0);
    const ingestPgCpu = await pgCpuSince(ctx, pg0);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    const hwm = hwmReset ? peakRss() : null;
    const wasmAfter = wasmBytes();
    if (out.status !== 'committed' || out.inserted !== rows)
      throw new Error(`import ${out.status}: ${JSON.stringify(out.errors.slice(0, 3))}`);

    if (calls && idle) {
      await calls.close();
      const all = new Float64Array(duringLat.reduce((a, l) => a + l.length, 0));
      let at = 0;
      for (const l of duringLat) {
        all.set(l, at);
        at += l.length;
      }
      const pct = (a: Float64Array, q: number) => {
        const x = Float64Array.from(a).sort();
        return +x[Math.min(x.length - 1, Math.floor(q * x.length))].toFixed(1);
      };
      console.log(
        JSON.stringify({
          kind,
          rows,
          during: true,
          clients: DURING_CLIENTS,
          ingestRowsPerSec: Math.round(rows / (ingestMs / 1000)),
          ingestSec: +(ingestMs / 1000).toFixed(1),
          idleCalls: idle.length,
          idleRps: Math.round(idle.length / DURING_WINDOW),
          idleP50: pct(idle, 0.5),
          idleP99: pct(idle, 0.99),
          duringCalls: all.length,
          duringRps: Math.round(all.length / (duringLat.length * DURING_WINDOW)),
          duringP50: pct(all, 0.5),
          duringP99: pct(all, 0.99),
          p99Ratio: +(pct(all, 0.99) / pct(idle, 0.99)).toFixed(1),
          windows: duringLat.map((l, i) => ({
            phase: windowPhases[i],
            rps: Math.round(l.length / DURING_WINDOW),
            p99: l.length ? pct(l, 0.99) : null,
          })),
          non200: duringNon200,
          loadAvg1m: +Math.max(load0, os.loadavg()[0]).toFixed(1),
        }),
      );
      return;
    }
    let copyMs: number;
    let copyPgCpu: number | null = null;
    if (kind === 'postgres') {
      await sql.raw(COPY_DDL).execute(ctx.db);
      fs.chmodSync(dir, 0o755);
      fs.chmodSync(file, 0o644);
      const before = await pgTicks(ctx);
      const t1 = performance.now();
      await sql.raw(`COPY bench_copy FROM '${file}' WITH (FORMAT csv, HEADER true)`).execute(ctx.db);
      copyMs = performance.now() - t1;
      copyPgCpu = await pgCpuSince(ctx, before);
    } else {
      // the same data dir kind as the import's PGlite
      const lite = await PGlite.create(liteDir ? path.join(liteDir, 'copy') : 'memory://');
      if (!givenLiteDir) await lite.exec(COPY_DDL);
      const blob = new Blob([fs.readFileSync(file)]);
      const t1 = performance.now();
      await lite.query("COPY bench_copy FROM '/dev/blob' WITH (FORMAT csv, HEADER true)", [], { blob });
      copyMs = performance.now() - t1;
      await lite.close();
    }
    console.log(
      JSON.stringify({
        kind,
        rows,
        mb: +(fs.statSync(file).size / 1e6).toFixed(1),
        ingestRowsPerSec: Math.round(rows / (ingestMs / 1000)),
        copyRowsPerSec: Math.round(rows / (copyMs / 1000)),
        ratio: +(copyMs / ingestMs).toFixed(2),
        ingestSec: +(ingestMs / 1000).toFixed(1),
        readStageSec: +(readMs / 1000).toFixed(1),
        copySec: +(copyMs / 1000).toFixed(1),
        peakRssMb: Math.round(Math.max(peak, hwm ?? 0) / 1e6),
        // sampled every 50 ms / the kernel's VmHWM since the import's start (null where /proc cannot be reset)
        sampledPeakRssMb: Math.round(peak / 1e6),
        hwmRssMb: hwm === null ? null : Math.round(hwm / 1e6),
        // RSS when the import starts (file written, context open, resource created): the peak minus this is the import's
        rssBeforeMb: Math.round(rssBefore / 1e6),
        // what the peak was made of: V8 heap in use and reserved, buffers outside it
        atPeakMb: {
          heapUsed: Math.round(atPeak.heapUsed / 1e6),
          heapTotal: Math.round(atPeak.heapTotal / 1e6),
          external: Math.round(atPeak.external / 1e6),
          arrayBuffers: Math.round(atPeak.arrayBuffers / 1e6),
          // PGlite's WASM memory (inside arrayBuffers), and what it was when the import started
          wasm: Math.round(wasmAtPeak / 1e6),
          wasmBefore: Math.round(wasmBefore / 1e6),
          wasmAfter: Math.round(wasmAfter / 1e6),
        },
        // the Node process's own CPU time during the import (parse, validate, COPY text): on a shared machine the
        // wall-clock rates above depend on the load, this does not
        nodeCpuSec: +((cpu.user + cpu.system) / 1e6).toFixed(1),
        // PostgreSQL's CPU time (its processes for the bench database, from /proc) during the import and during the
        // COPY: with Node's, the load-independent cost of each (null on PGlite, which runs inside Node)
        pgCpuSec: ingestPgCpu,
        copyPgCpuSec: copyPgCpu,
        loadAvg1m: +Math.max(load0, os.loadavg()[0]).toFixed(1),
      }),
    );
  } finally {
    await closeContext(ctx);
    if (!given) fs.rmSync(dir, { recursive: true, force: true });
    if (liteDir && !givenLiteDir) fs.rmSync(liteDir, { recursive: true, force: true });
    await scratch?.drop();
  }
}

/** A PGlite data directory's first start, in a process of its own: `<dir>/data` migrated, `<dir>/copy` with COPY's table. */
async function initLite(dir: string) {
  await closeContext(
    await openContext({
      ...loadConfig({}),
      databaseUrl: null,
      dataDir: path.join(dir, 'data'),
      dbPoolSize: 4,
    }),
  );
  const lite = await PGlite.create(path.join(dir, 'copy'));
  await lite.exec(COPY_DDL);
  await lite.close();
}

if (process.argv[2] === '--init-pglite') {
  await initLite(process.argv[3]);
  process.exit(0);
}
if (process.argv[2] === '--one' || process.argv[2] === '--during') {
  await one(
    process.argv[3],
    Number(process.argv[4]),
    process.argv[2] === '--during',
    process.argv[5],
    process.argv[6],
  );
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
if (DATABASES.includes('pglite'))
  console.log(`PGlite: ${PGLITE_DATA === 'disk' ? 'data directory on disk (as npm start)' : 'memory://'}`);
console.log(
  'database  rows       file MB  ingest rows/s  COPY rows/s  ingest/COPY  ingest s  read+stage s  node CPU s  PG CPU s  COPY PG CPU s  peak RSS MB  RSS before MB  WASM MB  load 1m',
);
for (const kind of DATABASES)
  for (const rows of SIZES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gs-bench-ingest-'));
    const file = path.join(dir, 'population.csv');
    await writeCsv(file, rows);
    const liteDir = kind === 'pglite' && PGLITE_DATA === 'disk' ? path.join(dir, 'pglite') : null;
    if (liteDir) {
      const init = spawnSync(process.execPath, ['--import', 'tsx', self, '--init-pglite', liteDir], {
        encoding: 'utf8',
      });
      if (init.status !== 0) throw new Error(`PGlite init failed: ${init.stderr.slice(-1500)}`);
    }
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', self, '--one', kind, String(rows), file, ...(liteDir ? [liteDir] : [])],
      { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', TRACE ? 'inherit' : 'pipe'] },
    );
    fs.rmSync(dir, { recursive: true, force: true });
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    if (!line) {
      console.log(`${kind} ${rows}: failed: ${(r.stderr || r.stdout || '').slice(-1500)}`);
      continue;
    }
    const m = JSON.parse(line);
    if (TRACE) console.error(line);
    console.log(
      `${m.kind.padEnd(9)} ${String(m.rows).padEnd(10)} ${String(m.mb).padEnd(8)} ${String(m.ingestRowsPerSec).padEnd(14)} ${String(m.copyRowsPerSec).padEnd(12)} ${String(m.ratio).padEnd(12)} ${String(m.ingestSec).padEnd(9)} ${String(m.readStageSec).padEnd(13)} ${String(m.nodeCpuSec).padEnd(11)} ${String(m.pgCpuSec ?? '-').padEnd(9)} ${String(m.copyPgCpuSec ?? '-').padEnd(14)} ${String(m.peakRssMb).padEnd(12)} ${String(m.rssBeforeMb).padEnd(14)} ${String(m.kind === 'pglite' ? `${m.atPeakMb.wasmBefore}→${m.atPeakMb.wasmAfter}` : '-').padEnd(8)} ${m.loadAvg1m}`,
    );
  }

if (DURING_ROWS > 0 && DATABASES.includes('postgres')) {
  console.log(
    `\ndata API by key (GET …/records/:key, ${DURING_CLIENTS} keep-alive clients, same process) idle vs during a ${DURING_ROWS.toLocaleString('en')}-row import (PostgreSQL):`,
  );
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', self, '--during', 'postgres', String(DURING_ROWS)],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    },
  );
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) console.log(`failed: ${(r.stderr || r.stdout).slice(-1500)}`);
  else {
    const m = JSON.parse(line);
    console.log(
      `idle   ${m.idleRps} req/s p50 ${m.idleP50} ms p99 ${m.idleP99} ms (${m.idleCalls} calls)\n` +
        `during ${m.duringRps} req/s p50 ${m.duringP50} ms p99 ${m.duringP99} ms (${m.duringCalls} calls, non-200 ${m.non200}); ` +
        `p99 during / idle ×${m.p99Ratio}; import ${m.ingestRowsPerSec} rows/s (${m.ingestSec} s); load 1m ${m.loadAvg1m}\n` +
        `windows (${DURING_WINDOW} s each; import phase, req/s, p99 ms): ${m.windows.map((w: { phase: string; rps: number; p99: number }) => `${w.phase} ${w.rps} ${w.p99}`).join(' · ')}`,
    );
  }
}
