/*
 * `npm run bench:open`: the open-data portal's search (issue 11 speed: "portal search at 10,000 open datasets p95 < 50 ms
 * on PostgreSQL") against a bare baseline in the same run.
 *
 * Reuses the catalog bench's generator (bench/catalog-search.ts: realistic names, summaries, keywords and field names
 * segmented by jieba, inserted with their search documents), publishes every entry, and times the portal's use case
 * (opening/service.searchOpen: jieba query, open types 无条件/依申请 only, rank, total, five facets, highlights) next to
 * a bare statement on the same rows: the same tsquery over the GIN index, open types only, first page by id, no rank,
 * no facets, no highlights. Prints p50/p95 of both and their ratio.
 *
 * Knobs (env): BENCH_OPEN_ROWS (30000 catalog entries, about a third of them 无条件 and a third 依申请 → ≈ 20 000
 * listed, ≈ 10 000 unconditional), BENCH_OPEN_REPEAT (10), BENCH_DATABASES (postgres,pglite), BENCH_DATABASE_URL /
 * DATABASE_URL.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { closeContext, openContext } from '../src/boot.js';
import { queryTerms, tsqueryTerms } from '../src/catalog/search.js';
import { loadConfig } from '../src/config.js';
import { searchOpen } from '../src/opening/service.js';
import { figures, generate, insertRows, QUERIES, seedOrgs } from './catalog-search.js';

const env = process.env;
const ROWS = Number(env.BENCH_OPEN_ROWS || 30_000);
const REPEAT = Number(env.BENCH_OPEN_REPEAT || 10);
const DATABASES = (env.BENCH_DATABASES ?? 'postgres,pglite').split(',').map((s) => s.trim());
const SERVER_URL =
  env.BENCH_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const TARGET_P95_MS = 50;

async function benchOne(kind: 'postgres' | 'pglite') {
  let databaseUrl: string | null = null;
  let dropDb: (() => Promise<void>) | null = null;
  let label = 'PGlite (in memory)';
  if (kind === 'postgres') {
    const dbName = `gs_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: SERVER_URL });
    try {
      await admin.connect();
    } catch (e) {
      console.log(`PostgreSQL not reachable (${(e as Error).message}): SKIP`);
      return;
    }
    await admin.query(`CREATE DATABASE "${dbName}"`);
    await admin.end();
    dropDb = async () => {
      const a = new pg.Client({ connectionString: SERVER_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await a.end();
    };
    const u = new URL(SERVER_URL);
    u.pathname = `/${dbName}`;
    databaseUrl = u.toString();
    label = `PostgreSQL (database ${dbName})`;
  }
  const ctx = await openContext({ ...loadConfig({}), databaseUrl, dataDir: 'memory://', dbPoolSize: 5 });
  try {
    const { ids, names } = await seedOrgs(ctx);
    await insertRows(ctx, generate(ROWS, ids, names));
    await sql`UPDATE resource SET status = 'published', published_at = now()`.execute(ctx.db);
    await sql`ANALYZE resource`.execute(ctx.db);
    const counts = await sql<{
      open: number;
      onapp: number;
    }>`SELECT count(*) FILTER (WHERE open_type = 'open')::int AS open,
      count(*) FILTER (WHERE open_type = 'onApplication')::int AS onapp FROM resource`.execute(ctx.db);
    console.log(
      `\n== ${label}: ${ROWS} entries, ${counts.rows[0].open} 无条件开放 + ${counts.rows[0].onapp} 依申请开放 listed ==`,
    );
    const portal = (q: string) => searchOpen(ctx, { q, page: 1, pageSize: 20 });
    const bare = (q: string) => {
      const t = queryTerms(q);
      return sql`SELECT id, name, summary FROM resource WHERE status = 'published'
        AND open_type = ANY(${['open', 'onApplication']}::text[]) AND search_doc @@ to_tsquery('simple', ${tsqueryTerms(t)})
        ORDER BY id LIMIT 20`.execute(ctx.db);
    };
    for (const q of QUERIES) {
      await portal(q);
      await bare(q);
    }
    const p: number[] = [];
    const b: number[] = [];
    for (let k = 0; k < REPEAT; k++) {
      for (const q of QUERIES) {
        let t0 = performance.now();
        await portal(q);
        p.push(performance.now() - t0);
        t0 = performance.now();
        await bare(q);
        b.push(performance.now() - t0);
      }
    }
    const fp = figures(p);
    const fb = figures(b);
    console.log(
      `portal search (rank, total, 5 facets, highlights): p50 ${fp.p50.toFixed(1)} ms, p95 ${fp.p95.toFixed(1)} ms`,
    );
    console.log(
      `bare GIN match, first page by id:                  p50 ${fb.p50.toFixed(1)} ms, p95 ${fb.p95.toFixed(1)} ms`,
    );
    console.log(
      `ratio portal/bare: p50 ${(fp.p50 / fb.p50).toFixed(2)}×, p95 ${(fp.p95 / fb.p95).toFixed(2)}×${
        kind === 'postgres'
          ? `; target portal p95 < ${TARGET_P95_MS} ms: ${fp.p95 < TARGET_P95_MS ? 'MET' : 'MISSED'}`
          : ''
      }`,
    );
  } finally {
    await closeContext(ctx);
    await dropDb?.();
  }
}

for (const kind of DATABASES) if (kind === 'postgres' || kind === 'pglite') await benchOne(kind);
