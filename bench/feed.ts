/*
 * `npm run bench:feed`: what does governance cost a change-feed catch-up (issue 9 point 6)?
 *
 * Loads a small demo city into a fresh PostgreSQL database, grows the population table to ROWS rows (SQL copies of the
 * demo rows with new keys, each with its change-log row, as the merge writes them), gives the population grant of a
 * demo app the change-feed right, then catches up on every change from the start over HTTP, page by page, alternating:
 *   baseline  a bare Fastify + pg route: `SELECT _seq, <granted columns> FROM <table> WHERE _seq > $1 ORDER BY _seq
 *             LIMIT 1000` as JSON; no key, grant, purpose, masking, change log or audit
 *   governed  GET /api/v1/data/:code/changes?cursor=&limit=1000 on the real app: key, grant, purpose and change-feed
 *             right decided, the page read from record_change joined to the record's version, and its audit row
 *             written, in one statement; masked by the one masking module
 * Reports changes/s (median of the rounds) and the ratio governed / baseline. Correctness is checked: every change
 * arrives once, in order, the ID number masked.
 *
 * Knobs (env): ROWS (200000; 1000000 allowed), ROUNDS (2), BENCH_KEEP_DATABASE=1 (keep the scratch database), BENCH_DATABASE_URL / DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres). Speed never fails the run; correctness failures set exit code 1.
 */
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import Fastify from 'fastify';
import pg from 'pg';
import { closeContext, openContext } from '../src/boot.js';
import { columnName } from '../src/catalog/model.js';
import { loadConfig } from '../src/config.js';
import { loadDemoCity } from '../src/demo/load.js';
import { buildApp } from '../src/http/app.js';
import { scratchDatabase } from './scratch-db.js';

const env = process.env;
const ROWS = Number(env.ROWS ?? 200_000);
const ROUNDS = Number(env.ROUNDS ?? 2);
const PAGE = 1000;
const SERVER_URL =
  env.BENCH_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

let failed = false;
function check(ok: boolean, what: string) {
  if (!ok) {
    failed = true;
    console.log(`  CHECK FAILED: ${what}`);
  }
}

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const scratch = await scratchDatabase(SERVER_URL);
  if (!scratch) return;
  const base = loadConfig({});
  const config = {
    ...base,
    databaseUrl: scratch.url,
    dataDir: 'memory://',
    dataApi: {
      ...base.dataApi,
      appRatePerSecond: 1_000_000,
      grantCallsPerDay: 1_000_000_000,
      grantRowsPerCall: PAGE,
    },
  };
  const ctx = await openContext(config);
  const pool = new pg.Pool({ connectionString: scratch.url, max: 4 });
  try {
    console.log(
      `== change feed catch-up, PostgreSQL ${scratch.version} (database ${scratch.name}), ${ROWS.toLocaleString('en')} changes ==`,
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
    const app = demo.apps.find((a) => a.name === g?.app_name);
    if (!g || !app) throw new Error('no population grant in the demo city');
    await ctx.database.query(
      'UPDATE share_grant SET can_feed = true, max_rows_per_call = NULL, max_calls_per_day = NULL WHERE id = $1',
      [g.id],
    );
    const fields = (
      await ctx.database.query<{ code: string; ordinal: number; encrypted: boolean }>(
        'SELECT code, ordinal, encrypted FROM resource_field WHERE resource_id = $1 ORDER BY ordinal',
        [g.resource_id],
      )
    ).rows;
    const cols = fields.map((f) => columnName(f.ordinal));
    const t0 = performance.now();
    const baseRows = Number((await pool.query(`SELECT count(*)::int AS n FROM ${g.data_table}`)).rows[0].n);
    const maxSeq = Number((await pool.query(`SELECT max(_seq) AS m FROM ${g.data_table}`)).rows[0].m);
    // grow the table and its change log as the merge would: one upsert change per new record, in _seq order
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
      [ROWS - baseRows, baseRows],
    );
    await pool.query(
      `INSERT INTO record_change (resource_id, rkey, op, version, batch_id)
       SELECT $1, _key, 'upsert', _version, _batch_id FROM ${g.data_table} WHERE _seq > $2 ORDER BY _seq`,
      [g.resource_id, maxSeq],
    );
    await pool.query(`VACUUM ANALYZE ${g.data_table}`);
    await pool.query('VACUUM ANALYZE record_change');
    const total = Number(
      (
        await pool.query('SELECT count(*)::int AS n FROM record_change WHERE resource_id = $1', [
          g.resource_id,
        ])
      ).rows[0].n,
    );
    check(total === ROWS, `change log holds ${total} changes for ${ROWS} records`);
    console.log(
      `table ${g.data_table} and its change log: ${total.toLocaleString('en')} changes (grown in ${((performance.now() - t0) / 1000).toFixed(1)} s); grant ${g.id} of ${g.app_name}`,
    );
    const granted = (
      await ctx.database.query<{ fields: string[] }>('SELECT fields FROM share_grant WHERE id = $1', [g.id])
    ).rows[0].fields;
    const grantedCols = fields.filter((f) => granted.includes(f.code));

    const bare = Fastify({ logger: false });
    const bareSql = `SELECT _seq, ${grantedCols.map((f) => `${columnName(f.ordinal)} AS "${f.code}"`).join(', ')}
      FROM ${g.data_table} WHERE _seq > $1 ORDER BY _seq LIMIT ${PAGE}`;
    bare.get('/baseline', async (req) => {
      const after = Number((req.query as { after?: string }).after ?? 0);
      const { rows } = await pool.query(bareSql, [after]);
      return { items: rows, next: rows.length ? String(rows[rows.length - 1]._seq) : String(after) };
    });
    await bare.listen({ host: '127.0.0.1', port: 0 });
    const governed = await buildApp(ctx, { logger: false });
    await governed.listen({ host: '127.0.0.1', port: 0 });
    const baseUrl = `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}/baseline`;
    const govUrl = `http://127.0.0.1:${(governed.server.address() as AddressInfo).port}/api/v1/data/${encodeURIComponent(g.code)}/changes`;
    const headers = { 'x-api-key': app.apiKey, 'x-purpose': g.purpose_id };

    async function runBaseline() {
      const t = performance.now();
      let after = '0';
      let n = 0;
      for (;;) {
        const body = (await (await fetch(`${baseUrl}?after=${after}`)).json()) as {
          items: unknown[];
          next: string;
        };
        n += body.items.length;
        after = body.next;
        if (body.items.length < PAGE) break;
      }
      return { n, seconds: (performance.now() - t) / 1000 };
    }
    async function runGoverned() {
      const t = performance.now();
      let cursor = '';
      let n = 0;
      let first: { key: string | null } | null = null;
      let ordered = true;
      let lastChangedAt = '';
      for (;;) {
        const res = await fetch(`${govUrl}?limit=${PAGE}${cursor ? `&cursor=${cursor}` : ''}`, { headers });
        if (res.status !== 200) {
          check(false, `governed answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
          break;
        }
        const body = (await res.json()) as {
          changes: { key: string | null; changedAt: string }[];
          cursor: string;
          hasMore: boolean;
        };
        first ??= body.changes[0] ?? null;
        for (const c of body.changes) {
          if (c.changedAt < lastChangedAt) ordered = false;
          lastChangedAt = c.changedAt;
        }
        n += body.changes.length;
        cursor = body.cursor;
        if (!body.hasMore) break;
      }
      check(
        /^\d{3}\*{11}[\dX]{4}$/.test(first?.key ?? ''),
        `ID number masked in the first change (${first?.key})`,
      );
      check(ordered, 'changes arrive in commit order');
      return { n, seconds: (performance.now() - t) / 1000 };
    }

    const rates = { baseline: [] as number[], governed: [] as number[] };
    for (let round = 1; round <= ROUNDS; round++) {
      const b = await runBaseline();
      check(b.n === total, `baseline read ${b.n} of ${total} rows`);
      const gv = await runGoverned();
      check(gv.n === total, `governed delivered ${gv.n} of ${total} changes`);
      rates.baseline.push(b.n / b.seconds);
      rates.governed.push(gv.n / gv.seconds);
      console.log(
        `round ${round}: baseline ${(b.n / b.seconds).toFixed(0)} rows/s (${b.seconds.toFixed(2)} s); ` +
          `governed ${(gv.n / gv.seconds).toFixed(0)} changes/s (${gv.seconds.toFixed(2)} s); ratio ` +
          `${(b.seconds / gv.seconds).toFixed(2)}; load ${load()}`,
      );
    }
    const audited = Number(
      (
        await pool.query(
          "SELECT count(*)::int AS n FROM audit_log WHERE action = 'data.feed' AND decision = 'allow'",
        )
      ).rows[0].n,
    );
    check(audited >= Math.ceil(total / PAGE) * ROUNDS, `${audited} audited pages`);
    const bm = median(rates.baseline);
    const gm = median(rates.governed);
    console.log(
      `\nmedian: baseline ${bm.toFixed(0)} rows/s, governed ${gm.toFixed(0)} changes/s, ratio ${(gm / bm).toFixed(2)} ` +
        `(pages of ${PAGE}, ${audited} audited pages); load ${load()}`,
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
