/*
 * `npm run bench:export`: what does governance cost a bulk export (issue 9 point 5)?
 *
 * Loads a small demo city into a fresh PostgreSQL database, grows the population table to ROWS rows (SQL copies of the
 * demo rows with new keys), gives the population grant of a demo app the export right, then streams the whole table as
 * CSV over HTTP, alternating:
 *   baseline  a bare Fastify + pg route: the same columns read in 2 000-row batches by `_seq` keyset (the export's own
 *             read pattern), written as CSV; no key, grant, masking, ledger or audit
 *   governed  GET /api/v1/data/:code/export?format=csv on the real app: purpose, export right and row quota decided
 *             and audited in one statement, each batch re-checks the grant, is masked by the one masking module and
 *             recorded in the leak-tracing ledger in the batch's transaction (one data_export_batch row per batch,
 *             migration 047); afterwards the ledger job (src/dataapi/ledger.ts) explodes the batches into the indexed
 *             per-row ledger, timed apart, with a key lookup before and after
 * Reports rows/s (median of the rounds), the ratio governed / baseline and the process's peak RSS during each run (the
 * client, both servers and the pg pools share this process). Correctness is checked: every row arrives, the ID number
 * is masked, the ledger holds one row per exported row.
 *
 * Knobs (env): ROWS (200000; 1000000 allowed), ROUNDS (2), EXPORT_WORKERS (the export's worker threads; unset: default),
 * EXPORT_PROFILE=1 (print where the governed export's wall time went, per stage of its batches, and each busy thread's CPU), BENCH_KEEP_DATABASE=1 (keep the scratch database), BENCH_DATABASE_URL / DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres). Speed misses never fail the run; correctness failures set exit code 1.
 */
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import Fastify from 'fastify';
import pg from 'pg';
import { closeContext, openContext } from '../src/boot.js';
import { columnName } from '../src/catalog/model.js';
import { loadConfig } from '../src/config.js';
import { exportProfile, keyMac } from '../src/dataapi/export.js';
import { explodeLedgerBatches } from '../src/dataapi/ledger.js';
import { loadDemoCity } from '../src/demo/load.js';
import { buildApp } from '../src/http/app.js';
import { csvCell } from '../src/shared/tabular.js';
import { scratchDatabase } from './scratch-db.js';
import { CLK_TCK, procTicks, threadTicks } from './stats.js';

const env = process.env;
const ROWS = Number(env.ROWS ?? 200_000);
const ROUNDS = Number(env.ROUNDS ?? 2);
const SERVER_URL =
  env.BENCH_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const TARGET_ROWS_PER_S = 100_000;
const BATCH = 2000;

let failed = false;
function check(ok: boolean, what: string) {
  if (!ok) {
    failed = true;
    console.log(`  CHECK FAILED: ${what}`);
  }
}

/** Streams a GET, counting lines; samples RSS every 20 ms while it runs. */
function fetchCsv(url: string, headers: Record<string, string>) {
  return new Promise<{
    status: number;
    lines: number;
    bytes: number;
    seconds: number;
    peakRss: number;
    head: string;
  }>((resolve, reject) => {
    let peakRss = process.memoryUsage.rss();
    const timer = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, 20);
    const t0 = performance.now();
    http
      .get(url, { headers }, (res) => {
        let lines = 0;
        let bytes = 0;
        let head = '';
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (head.length < 2000) head += chunk.toString('utf8');
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
        });
        res.on('end', () => {
          clearInterval(timer);
          resolve({
            status: res.statusCode ?? 0,
            lines,
            bytes,
            seconds: (performance.now() - t0) / 1000,
            peakRss: Math.max(peakRss, process.memoryUsage.rss()),
            head,
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

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;

async function main() {
  const scratch = await scratchDatabase(SERVER_URL);
  if (!scratch) return;
  const config = {
    ...loadConfig({}),
    databaseUrl: scratch.url,
    dataDir: 'memory://',
    dataApi: {
      ...loadConfig({}).dataApi,
      grantExportRowsPerDay: 1_000_000_000,
      // the export's worker threads (EXPORT_WORKERS, src/dataapi/export-pool.ts); unset: the server's default
      ...(env.EXPORT_WORKERS ? { exportWorkers: Number(env.EXPORT_WORKERS) } : {}),
    },
  };
  const ctx = await openContext(config);
  const pool = new pg.Pool({ connectionString: scratch.url, max: 4 });
  try {
    console.log(
      `== bulk export, PostgreSQL ${scratch.version} (database ${scratch.name}), ${ROWS.toLocaleString('en')} rows ==`,
    );
    console.log(
      `load average at start (1/5/15 min): ${load()} on ${os.cpus().length} cores (shared machine)`,
    );
    const demo = await loadDemoCity(ctx, { populationRows: 2000, entityRows: 200 });
    const g = (
      await ctx.database.query<{
        id: number;
        app_name: string;
        code: string;
        data_table: string;
        purpose_id: string;
        resource_id: number;
      }>(
        `SELECT g.id, a.name AS app_name, r.code, r.data_table, g.purpose_id, r.id AS resource_id
         FROM share_grant g JOIN app a ON a.id = g.app_id JOIN resource r ON r.id = g.resource_id
         WHERE r.name = '人口基础信息' AND g.status = 'active' ORDER BY g.id LIMIT 1`,
        [],
      )
    ).rows[0];
    const app = demo.apps.find((a) => a.name === g.app_name);
    if (!g || !app) throw new Error('no population grant in the demo city');
    await ctx.database.query(
      `UPDATE share_grant SET can_export = true, max_export_rows_per_day = NULL, max_calls_per_day = NULL WHERE id = $1`,
      [g.id],
    );
    const fields = (
      await ctx.database.query<{ code: string; ordinal: number; encrypted: boolean }>(
        'SELECT code, ordinal, encrypted FROM resource_field WHERE resource_id = $1 ORDER BY ordinal',
        [g.resource_id],
      )
    ).rows;
    const cols = fields.map((f) => columnName(f.ordinal));
    // grow the table: copies of the demo rows under new keys (18 digits, like an ID number), one statement
    const t0 = performance.now();
    const base = Number((await pool.query(`SELECT count(*)::int AS n FROM ${g.data_table}`)).rows[0].n);
    await pool.query(
      `INSERT INTO ${g.data_table} (_key, _batch_id, _hash, ${cols.join(', ')})
       SELECT lpad((900000000000000000 + i)::text, 18, '0'), b._batch_id, b._hash,
         ${
           // an ID number encrypted at rest: the copy keeps the source row's ciphertext (the table must not hold clear
           // ID numbers, and the export must pay for decrypting them); `_key` only has to be new
           fields[0].encrypted ? 'b.c1' : "lpad((900000000000000000 + i)::text, 18, '0')"
         }, ${cols
           .slice(1)
           .map((c) => `b.${c}`)
           .join(', ')}
       FROM generate_series(1, $1::int) i
       JOIN (SELECT *, row_number() OVER (ORDER BY _seq) AS rn FROM ${g.data_table}) b ON b.rn = 1 + i % $2::int`,
      [ROWS - base, base],
    );
    await pool.query(`VACUUM ANALYZE ${g.data_table}`);
    const total = Number((await pool.query(`SELECT count(*)::int AS n FROM ${g.data_table}`)).rows[0].n);
    console.log(
      `table ${g.data_table}: ${total.toLocaleString('en')} rows (grown in ${((performance.now() - t0) / 1000).toFixed(1)} s); grant ${g.id} of ${g.app_name}`,
    );
    const granted = (
      await ctx.database.query<{ fields: string[] }>('SELECT fields FROM share_grant WHERE id = $1', [g.id])
    ).rows[0].fields;
    const grantedCols = fields.filter((f) => granted.includes(f.code));

    // baseline: bare Fastify + pg, the same keyset batches as CSV
    const bare = Fastify({ logger: false });
    bare.get('/baseline', async (_req, reply) => {
      const sqlText = `SELECT _seq, ${grantedCols.map((f) => `${columnName(f.ordinal)}::text AS "${f.code}"`).join(', ')}
        FROM ${g.data_table} WHERE _seq > $1 ORDER BY _seq LIMIT ${BATCH}`;
      async function* csv() {
        yield `${grantedCols.map((f) => f.code).join(',')}\r\n`;
        let after = 0;
        for (;;) {
          const { rows } = await pool.query(sqlText, [after]);
          if (!rows.length) return;
          after = Number(rows[rows.length - 1]._seq);
          yield Buffer.from(
            rows.map((r) => `${grantedCols.map((f) => csvCell(r[f.code])).join(',')}\r\n`).join(''),
          );
          if (rows.length < BATCH) return;
        }
      }
      reply.type('text/csv; charset=utf-8');
      return reply.send((await import('node:stream')).Readable.from(csv()));
    });
    await bare.listen({ host: '127.0.0.1', port: 0 });
    const governed = await buildApp(ctx, { logger: false });
    await governed.listen({ host: '127.0.0.1', port: 0 });
    const baseUrl = `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}/baseline`;
    const govUrl = `http://127.0.0.1:${(governed.server.address() as AddressInfo).port}/api/v1/data/${encodeURIComponent(g.code)}/export?format=csv`;
    const headers = { 'x-api-key': app.apiKey, 'x-purpose': g.purpose_id };

    const results = {
      baseline: [] as number[],
      governed: [] as number[],
      rssB: [] as number[],
      rssG: [] as number[],
    };
    /** CPU seconds of this database's PostgreSQL backends (Linux /proc, the server on this machine; 0 elsewhere). */
    const pgCpuSeconds = async () => {
      const { rows } = await pool.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
      );
      let ticks = 0;
      for (const r of rows) ticks += procTicks(r.pid) ?? 0;
      return ticks / CLK_TCK;
    };
    /** CPU seconds of this process's main thread alone (Linux /proc; its worker threads, EXPORT_WORKERS, excluded). */
    const mainThreadCpuSeconds = () => (threadTicks(process.pid) ?? Number.NaN) / CLK_TCK;
    /** CPU seconds of each thread of this process (Linux /proc), by thread id, with the thread's name. */
    const threadCpu = () => {
      const out = new Map<string, { name: string; s: number }>();
      try {
        for (const tid of readdirSync('/proc/self/task')) {
          const ticks = threadTicks(Number(tid));
          if (ticks === null) continue;
          const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
          out.set(tid, { name, s: ticks / CLK_TCK });
        }
      } catch {
        // not on Linux
      }
      return out;
    };
    const profiling = env.EXPORT_PROFILE === '1';
    exportProfile.on = profiling;
    for (let round = 1; round <= ROUNDS; round++) {
      const b = await fetchCsv(baseUrl, {});
      check(
        b.status === 200 && b.lines === total + 1,
        `baseline answered ${b.status} with ${b.lines - 1} rows`,
      );
      const cpu0 = process.cpuUsage();
      const main0 = mainThreadCpuSeconds();
      const pg0 = await pgCpuSeconds();
      const threads0 = profiling ? threadCpu() : new Map();
      exportProfile.reset();
      const gv = await fetchCsv(govUrl, headers);
      const threads = profiling ? threadCpu() : new Map();
      const cpu = process.cpuUsage(cpu0);
      const nodeCpu = (cpu.user + cpu.system) / 1e6;
      const mainCpu = mainThreadCpuSeconds() - main0;
      const pgCpu = (await pgCpuSeconds()) - pg0;
      check(gv.status === 200, `governed answered ${gv.status}: ${gv.head.slice(0, 200)}`);
      check(gv.lines === total + 1, `governed delivered ${gv.lines - 1} of ${total} rows`);
      const firstRow = gv.head.split('\r\n')[1] ?? '';
      check(
        /^"?\d{3}\*{11}[\dX]{4}"?,/.test(firstRow),
        `ID number masked in the first row, quoted or not by the watermark (${firstRow.slice(0, 22)})`,
      );
      results.baseline.push(total / b.seconds);
      results.governed.push(total / gv.seconds);
      results.rssB.push(b.peakRss);
      results.rssG.push(gv.peakRss);
      console.log(
        `round ${round}: baseline ${(total / b.seconds).toFixed(0)} rows/s (${b.seconds.toFixed(2)} s, ${mb(b.bytes)}, peak RSS ${mb(b.peakRss)}); ` +
          `governed ${(total / gv.seconds).toFixed(0)} rows/s (${gv.seconds.toFixed(2)} s, ${mb(gv.bytes)}, peak RSS ${mb(gv.peakRss)}); ` +
          `ratio ${(b.seconds / gv.seconds).toFixed(2)}; governed CPU: this process ${nodeCpu.toFixed(1)} s ` +
          `(${((nodeCpu * 1e6) / total).toFixed(1)} µs/row; main thread ${((mainCpu * 1e6) / total).toFixed(1)} µs/row), PostgreSQL backends ${pgCpu.toFixed(1)} s ` +
          `(${((pgCpu * 1e6) / total).toFixed(1)} µs/row); load ${load()}`,
      );
      if (profiling) {
        // stages of a batch, summed over batches (batches overlap, so the stages add up to more than the wall time)
        const per = (ms: number) => `${((ms * 1000) / total).toFixed(1)}`;
        const stages = Object.entries(exportProfile.ms)
          .map(([k, ms]) => `${k} ${per(ms)}`)
          .join(', ');
        const busy = [...threads]
          .map(([tid, t]) => ({ tid, name: t.name, s: t.s - (threads0.get(tid)?.s ?? 0) }))
          .filter((t) => t.s >= 0.05)
          .sort((a, b) => b.s - a.s)
          .map(
            (t) =>
              `${t.tid === String(process.pid) ? 'main' : `${t.name}#${t.tid}`} ${((t.s * 1e6) / total).toFixed(1)}`,
          )
          .join(', ');
        console.log(
          `  profile (µs/row; wall ${((gv.seconds * 1e6) / total).toFixed(1)}): ${exportProfile.batches} batches; ${stages}; threads' CPU: ${busy}`,
        );
      }
    }
    // the ledger as leak tracing reads it: batch rows written on the export's path, not yet exploded
    const ledger = Number((await pool.query('SELECT count(*)::int AS n FROM data_export_ledger')).rows[0].n);
    check(ledger === total * ROUNDS, `ledger holds ${ledger} rows for ${total * ROUNDS} exported`);
    // a leak-tracing lookup of one key (every export delivered it), then the ledger job off the export's path, then the
    // same lookup from the indexed rows
    const probeKey = (await pool.query(`SELECT _key FROM ${g.data_table} ORDER BY _seq DESC LIMIT 1`)).rows[0]
      ._key;
    const probe = async () => {
      const t = performance.now();
      const { rows } = await pool.query(
        'SELECT count(*)::int AS n FROM data_export_ledger WHERE key_mac = $1',
        [Buffer.from(keyMac(ctx.secret, probeKey), 'hex')],
      );
      return { n: Number(rows[0].n), ms: performance.now() - t };
    };
    const p1 = await probe();
    check(p1.n === ROUNDS, `a key found in ${p1.n} of ${ROUNDS} exports before the ledger job`);
    const tj = performance.now();
    const ex = await explodeLedgerBatches(ctx.db, { maxBatches: 1_000_000 });
    const jobS = (performance.now() - tj) / 1000;
    const p2 = await probe();
    check(p2.n === ROUNDS, `a key found in ${p2.n} of ${ROUNDS} exports after the ledger job`);
    const indexed = Number((await pool.query('SELECT count(*)::int AS n FROM data_export_row')).rows[0].n);
    check(
      indexed === total * ROUNDS && ex.rows === indexed,
      `ledger job exploded ${ex.rows}, indexed ${indexed}`,
    );
    console.log(
      `ledger job (off the export's path): ${ex.batches} batches, ${ex.rows.toLocaleString('en')} rows in ${jobS.toFixed(1)} s ` +
        `(${((jobS * 1e6) / Math.max(1, ex.rows)).toFixed(1)} µs/row); key lookup over the pending batches ${p1.ms.toFixed(0)} ms, ` +
        `over the indexed rows ${p2.ms.toFixed(1)} ms; load ${load()}`,
    );
    const bm = median(results.baseline);
    const gm = median(results.governed);
    console.log(
      `\nmedian: baseline ${bm.toFixed(0)} rows/s, governed ${gm.toFixed(0)} rows/s, ratio ${(gm / bm).toFixed(2)}; ` +
        `peak RSS baseline ${mb(Math.max(...results.rssB))}, governed ${mb(Math.max(...results.rssG))} ` +
        `(target ≥ ${TARGET_ROWS_PER_S.toLocaleString('en')} rows/s: ${gm >= TARGET_ROWS_PER_S ? 'met' : 'missed'})`,
    );
    await bare.close();
    await governed.close();
  } finally {
    await pool.end();
    await closeContext(ctx);
    if (env.BENCH_KEEP_DATABASE === '1') console.log(`kept ${scratch.url}`);
    else await scratch.drop();
  }
  if (failed) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
