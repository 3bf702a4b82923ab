/*
 * `npm run bench:quality`: one quality check run over a resource of 1 M rows (issue 12 point 2), against a baseline
 * measured in the same run on the same table: the bare scans a hand-written check would need at least — one
 * `SELECT count(*) … WHERE` per rule predicate family (nulls, a regular expression) — and one `count(*)` of the table.
 *
 * The resource has 6 fields: ID-number key (GB 11643 rule), name (completeness), gender (enum), phone (mobile format +
 * uniqueness), county (completeness), a date; ~1 % of the rows are made bad for each rule. The run is the real use
 * case (runQualityCheck: defaults, one scan for all row rules, the first 1 000 failing rows per failed rule, stored).
 *
 * Knobs (env): BENCH_QUALITY_ROWS (1000000), BENCH_QUALITY_REPEAT (3), BENCH_DATABASES (postgres; add pglite for the
 * embedded database), BENCH_DATABASE_URL / DATABASE_URL (server, default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { closeContext, openContext } from '../src/boot.js';
import { dataTableDdl } from '../src/catalog/model.js';
import { loadConfig } from '../src/config.js';
import type { AppContext } from '../src/context.js';
import { createRule, runQualityCheck } from '../src/quality/checks.js';

const env = process.env;
const ROWS = Number(env.BENCH_QUALITY_ROWS || 1_000_000);
const REPEAT = Number(env.BENCH_QUALITY_REPEAT || 3);
const DATABASES = (env.BENCH_DATABASES ?? 'postgres').split(',').map((s) => s.trim());
const SERVER_URL =
  env.BENCH_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

const FIELDS = [
  {
    code: 'idNumber',
    name: '公民身份号码',
    type: 'string',
    isKey: true,
    required: true,
    validator: 'idNumber',
    masking: 'idNumber',
  },
  {
    code: 'name',
    name: '姓名',
    type: 'string',
    isKey: false,
    required: true,
    validator: null,
    masking: 'name',
  },
  {
    code: 'gender',
    name: '性别',
    type: 'string',
    isKey: false,
    required: true,
    validator: null,
    masking: 'none',
  },
  {
    code: 'phone',
    name: '联系电话',
    type: 'string',
    isKey: false,
    required: false,
    validator: 'mobilePhone',
    masking: 'phone',
  },
  {
    code: 'countyCode',
    name: '区县',
    type: 'string',
    isKey: false,
    required: true,
    validator: null,
    masking: 'none',
  },
  {
    code: 'registeredOn',
    name: '登记日期',
    type: 'date',
    isKey: false,
    required: false,
    validator: null,
    masking: 'none',
  },
] as const;

async function seed(ctx: AppContext) {
  await sql`INSERT INTO jurisdiction (code, name, level) VALUES ('446000', '临江市', 'city') ON CONFLICT DO NOTHING`.execute(
    ctx.db,
  );
  const org = await ctx.db
    .insertInto('org')
    .values({
      code: '446000-GAJ',
      name: '临江市公安局',
      short_name: '公安局',
      kind: 'department',
      jurisdiction_code: '446000',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const r = await sql<{
    id: number;
  }>`INSERT INTO resource (code, name, summary, provider_org_id, classification,
      catalog_level, share_type, share_method, open_type, update_cycle, security_level, status, published_at, last_ingest_at)
    VALUES ('44A001/000001', '人口基础信息（基准）', '质量检查基准', ${org.id}, 'base', 'city', 'conditional', 'api',
      'closed', 'daily', 'important', 'published', now(), now()) RETURNING id`.execute(ctx.db);
  const id = Number(r.rows[0].id);
  await ctx.db
    .insertInto('resource_field')
    .values(
      FIELDS.map((f, i) => ({
        resource_id: id,
        ordinal: i + 1,
        code: f.code,
        name: f.name,
        type: f.type,
        required: f.required,
        is_key: f.isKey,
        personal: f.masking !== 'none',
        sensitive: false,
        masking: f.masking,
        validator: f.validator,
        column_name: `c${i + 1}`,
      })),
    )
    .execute();
  for (const stmt of dataTableDdl(id, FIELDS as unknown as { code: string; type: 'string' }[]).split(';'))
    await sql.raw(stmt).execute(ctx.db);
  await ctx.db
    .updateTable('resource')
    .set({ data_table: `ds.r_${id}` })
    .where('id', '=', id)
    .execute();
  // ID numbers: a unique 17-digit body (region from the row number, born 1980-01-01, sequence) + the GB 11643 check
  // character computed in SQL; every 97th row gets a wrong one
  const W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = W.map((w, i) => `${w}*substr(b,${i + 1},1)::int`).join('+');
  const B = 200_000;
  for (let from = 1; from <= ROWS; from += B) {
    const to = Math.min(ROWS, from + B - 1);
    await sql
      .raw(`INSERT INTO ds.r_${id} (_key, _batch_id, _hash, c1, c2, c3, c4, c5, c6)
      SELECT k, 1, 'h', k, CASE WHEN g % 101 = 0 THEN NULL ELSE '张' || (g % 5000) END,
        CASE WHEN g % 89 = 0 THEN '未知' WHEN g % 2 = 0 THEN '男' ELSE '女' END,
        CASE WHEN g % 83 = 0 THEN '1234' ELSE '13' || lpad(g::text, 9, '0') END,
        CASE WHEN g % 79 = 0 THEN NULL ELSE '446002' END, date '2000-01-01' + (g % 5000)
      FROM (SELECT g, b || CASE WHEN g % 97 = 0 THEN 'Z' ELSE substr('10X98765432', ((${sum}) % 11) + 1, 1) END AS k
        FROM (SELECT g, lpad(((g / 1000) + 110000)::text, 6, '0') || '19800101' || lpad((g % 1000)::text, 3, '0') AS b
          FROM generate_series(${from}, ${to}) g) s0) s`)
      .execute(ctx.db);
  }
  await sql.raw(`ANALYZE ds.r_${id}`).execute(ctx.db);
  return { id, orgId: Number(org.id) };
}

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
    const version = (await admin.query('SHOW server_version')).rows[0].server_version;
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
    label = `PostgreSQL ${version} (database ${dbName})`;
  }
  const ctx = await openContext({ ...loadConfig({}), databaseUrl, dataDir: 'memory://', dbPoolSize: 5 });
  try {
    console.log(`\n== ${label}: ${ROWS.toLocaleString('en')} rows ==`);
    let t = performance.now();
    const { id, orgId } = await seed(ctx);
    console.log(`seeded in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const officer = {
      id: 0,
      username: 'bench',
      displayName: 'bench',
      orgId,
      orgKind: 'department' as const,
      sectionId: null,
      roles: ['data_officer' as const],
      clientIp: null,
    };
    await createRule(ctx, officer, id, {
      kind: 'validity',
      fieldCode: 'gender',
      params: { check: 'enum', values: ['男', '女'] },
    });
    await createRule(ctx, officer, id, { kind: 'uniqueness', fieldCode: 'phone' });
    const tbl = `ds.r_${id}`;
    const baselineSql = [
      `SELECT count(*) FROM ${tbl}`,
      `SELECT count(*) FROM ${tbl} WHERE c2 IS NULL`,
      `SELECT count(*) FROM ${tbl} WHERE c5 IS NULL`,
      `SELECT count(*) FROM ${tbl} WHERE c4 !~ '^1[3-9][0-9]{9}$'`,
      `SELECT count(*) FROM ${tbl} WHERE c3 NOT IN ('男','女')`,
    ];
    const base: number[] = [];
    const runs: number[] = [];
    let last: Awaited<ReturnType<typeof runQualityCheck>> = null;
    for (let i = 0; i < REPEAT; i++) {
      t = performance.now();
      for (const q of baselineSql) await sql.raw(q).execute(ctx.db);
      base.push(performance.now() - t);
      t = performance.now();
      last = await runQualityCheck(ctx, id, { trigger: 'manual' });
      runs.push(performance.now() - t);
    }
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const b = med(base);
    const r = med(runs);
    console.log(
      `baseline (${baselineSql.length} bare count(*) scans): median ${b.toFixed(0)} ms; quality run (${last ? `score ${last.score}, ${last.rulesFailed} rules failed` : '-'}): median ${r.toFixed(0)} ms; ratio ${(r / b).toFixed(2)}×`,
    );
  } finally {
    await closeContext(ctx);
    await dropDb?.();
  }
}

for (const d of DATABASES) await benchOne(d as 'postgres' | 'pglite');
