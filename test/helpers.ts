import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { closeContext, openContext } from '../src/boot.js';
import { columnName } from '../src/catalog/model.js';
import type { Config } from '../src/config.js';
import { loadConfig } from '../src/config.js';
import type { AppContext } from '../src/context.js';
import { type DemoSummary, loadDemoCity } from '../src/demo/load.js';
import { buildApp } from '../src/http/app.js';
import { idNumberCheckChar } from '../src/ingest/checksums.js';
import type { Clock } from '../src/shared/clock.js';

export interface TestEnv {
  ctx: AppContext;
  app: FastifyInstance;
  demo: DemoSummary | null;
  close(): Promise<void>;
}

/**
 * The test platforms' key-encryption key unless a test configures its own: the data keys a template's demo load wrapped
 * must unwrap in every test process, and a second node on a clone's database must unwrap them too (with nothing
 * configured an in-memory database gets a random KEK per process).
 */
const TEST_KEK = Buffer.alloc(32, 0x5a).toString('base64');

/** This run's templates: test/global-setup.ts names the run (its pid) and removes them at the end. */
const TEMPLATE_RUN = process.env.GS_TEST_RUN ?? String(process.pid);
const templateDir = path.join(os.tmpdir(), `gs-tpl-${TEMPLATE_RUN}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The one template of `hash` in this run: the first caller (of any test process) builds it while holding a lock
 * directory; the others wait for its summary file. `build` returns what the callers need besides the database.
 */
async function oneTemplate<T>(hash: string, build: () => Promise<T>): Promise<T> {
  fs.mkdirSync(templateDir, { recursive: true });
  const done = path.join(templateDir, `${hash}.json`);
  const lock = path.join(templateDir, `${hash}.lock`);
  for (const until = Date.now() + 600_000; Date.now() < until; ) {
    if (fs.existsSync(done)) return JSON.parse(fs.readFileSync(done, 'utf8')) as T;
    try {
      fs.mkdirSync(lock);
    } catch {
      await sleep(100);
      continue;
    }
    try {
      const value = await build();
      fs.writeFileSync(`${done}.tmp`, JSON.stringify(value));
      fs.renameSync(`${done}.tmp`, done);
      return value;
    } catch (e) {
      fs.rmSync(lock, { recursive: true, force: true });
      throw e;
    }
  }
  throw new Error(`test template ${hash} not built within 10 minutes`);
}

async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/**
 * A fresh platform per test file: an in-memory PGlite, or — when DATABASE_URL is set — a new database on
 * that PostgreSQL server, dropped afterwards. Same migrations and SQL on both.
 *
 * Migrating and loading the demo city costs seconds per environment, so an environment without its own clock, Redis
 * or NATS is cloned from a template of this run built once per (profile, demo size, configuration, date): PGlite from
 * the data-directory tarball the first builder dumped, PostgreSQL with CREATE DATABASE … TEMPLATE. A clone is what a
 * restarted node sees of its database, so the platform opens it as it opens any existing database.
 */
export async function createTestEnv(
  opts: {
    demo?: { populationRows: number; entityRows: number } | false;
    profile?: string;
    config?: Partial<Config>;
    redis?: Redis | null;
    /** the platform clock (src/shared/clock.ts manualClock): tests drive dates with it */
    clock?: Clock;
    /** reuse this database (a second "node" on the first env's PostgreSQL database); not dropped on close */
    databaseUrl?: string;
  } = {},
): Promise<TestEnv> {
  const serverUrl = process.env.DATABASE_URL;
  const cloneable =
    !opts.databaseUrl &&
    !opts.clock &&
    !opts.redis &&
    !opts.config?.redisUrl &&
    !opts.config?.natsUrl &&
    process.env.GS_TEST_TEMPLATES !== '0';
  const config: Config = {
    ...loadConfig({}),
    databaseUrl: null,
    dataDir: 'memory://',
    sealKeyFile: null,
    sealIntervalMs: 0,
    profile: opts.profile ?? 'dongguan-2020',
    dbPoolSize: 5,
    loginRateLimitPerMinute: 1000,
    ...(!opts.config?.fieldKek && !opts.config?.fieldKekFile ? { fieldKek: TEST_KEK } : {}),
    ...opts.config,
  };
  const demoSize = opts.demo === false ? null : (opts.demo ?? { populationRows: 2000, entityRows: 500 });
  const loadDemo = (ctx: AppContext) => (demoSize ? loadDemoCity(ctx, demoSize) : Promise.resolve(null));
  const newName = (kind: 't' | 'tpl', tag = randomBytes(4).toString('hex')) =>
    `gs_${kind}_${kind === 'tpl' ? TEMPLATE_RUN : process.pid}_${tag}`;
  const urlOf = (name: string) => {
    const u = new URL(serverUrl as string);
    u.pathname = `/${name}`;
    return u.toString();
  };

  let dbName: string | null = null;
  let ctx: AppContext;
  let demo: DemoSummary | null;
  if (opts.databaseUrl) {
    ctx = await openContext({ ...config, databaseUrl: opts.databaseUrl }, { clock: opts.clock });
    demo = await loadDemo(ctx);
  } else if (!cloneable) {
    if (serverUrl) {
      dbName = newName('t');
      await adminQuery(serverUrl, `CREATE DATABASE "${dbName}"`);
    }
    ctx = await openContext({ ...config, databaseUrl: dbName ? urlOf(dbName) : null }, { clock: opts.clock });
    demo = await loadDemo(ctx);
  } else {
    const shanghaiDate = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const hash = createHash('sha256')
      .update(JSON.stringify([serverUrl ? 'pg' : 'pglite', demoSize, config, shanghaiDate]))
      .digest('hex')
      .slice(0, 16);
    if (serverUrl) {
      const template = newName('tpl', hash);
      demo = await oneTemplate(hash, async () => {
        await adminQuery(serverUrl, `CREATE DATABASE "${template}"`);
        const built = await openContext({ ...config, databaseUrl: urlOf(template) });
        try {
          return await loadDemo(built);
        } finally {
          await closeContext(built);
        }
      });
      dbName = newName('t');
      await adminQuery(serverUrl, `CREATE DATABASE "${dbName}" TEMPLATE "${template}"`);
      ctx = await openContext({ ...config, databaseUrl: urlOf(dbName) });
    } else {
      const tarball = path.join(templateDir, `${hash}.tar`);
      let own: AppContext | null = null;
      demo = await oneTemplate(hash, async () => {
        own = await openContext(config);
        const summary = await loadDemo(own);
        const dump = await (own.database.dumpDataDir as () => Promise<Blob>)();
        fs.writeFileSync(tarball, Buffer.from(await dump.arrayBuffer()));
        return summary;
      });
      // the builder goes on with the database it built; the others start from its tarball
      ctx = own ?? (await openContext(config, { loadDataDir: new Blob([fs.readFileSync(tarball)]) }));
    }
  }
  const app = await buildApp(ctx, { redis: opts.redis ?? null });
  await app.ready();
  return {
    ctx,
    app,
    demo,
    close: async () => {
      await app.close();
      await closeContext(ctx);
      if (dbName && serverUrl)
        await adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    },
  };
}

/** Signs in through the real login route and returns the cookie header for later requests. */
export async function login(app: FastifyInstance, username: string, password = 'Demo@2026'): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
  if (res.statusCode !== 200) throw new Error(`login ${username} failed: ${res.statusCode} ${res.body}`);
  const c = res.cookies.find((x) => x.name === 'gs_session');
  if (!c) throw new Error('no session cookie');
  return `gs_session=${c.value}`;
}

/** A checksum-valid citizen ID number of 江城区 (446002), unique for seq 0…11 999 (GB 11643). */
export function testIdNumber(seq: number): string {
  const month = String(1 + Math.floor(seq / 1000)).padStart(2, '0');
  const body = `4460021990${month}10${String(seq % 1000).padStart(3, '0')}`;
  return body + idNumberCheckChar(body);
}

/**
 * A consumer officer registers an app and requests `fields` of a resource; every step is approved by whoever
 * the profile names (the authority's reviewer or the provider's officer). Returns the app, its key and the grant.
 */
export async function grantedApp(
  app: FastifyInstance,
  opts: {
    consumer: string;
    provider: string;
    resourceCode: string;
    fields: string[];
    appName: string;
    quota?: {
      callsPerDay?: number;
      rowsPerCall?: number;
      verificationsPerDay?: number;
      verify?: boolean;
      readRecords?: boolean;
      export?: boolean;
      exportRowsPerDay?: number;
      feed?: boolean;
    };
  },
): Promise<{ appId: number; apiKey: string; grantId: number; resourceId: number; purposeId: string }> {
  const consumer = await login(app, opts.consumer);
  const deciders = [await login(app, opts.provider), await login(app, 'reviewer')];
  const created = await app.inject({
    method: 'POST',
    url: '/api/apps',
    headers: { cookie: consumer },
    payload: { name: opts.appName },
  });
  const { app: a, apiKey } = created.json() as { app: { id: number }; apiKey: string };
  const list = await app.inject({
    url: `/api/catalog/resources?q=${encodeURIComponent(opts.resourceCode)}`,
    headers: { cookie: consumer },
  });
  const resource = list.json().items.find((r: { code: string }) => r.code === opts.resourceCode);
  const res = await app.inject({
    method: 'POST',
    url: '/api/sharing/requests',
    headers: { cookie: consumer },
    payload: {
      resourceId: resource.id,
      appId: a.id,
      fields: opts.fields,
      purpose: '办理业务时核验当事人身份',
      scope: '本部门行政审批业务办理',
      validUntil: '2099-12-31',
    },
  });
  let request = res.json();
  if (res.statusCode !== 201) throw new Error(`request failed: ${res.body}`);
  for (let guard = 0; request.status === 'pending' && guard < 10; guard++) {
    for (const cookie of deciders) {
      const r = await app.inject({
        method: 'POST',
        url: `/api/sharing/requests/${request.id}/approve`,
        headers: { cookie },
        payload: opts.quota ? { quota: opts.quota } : {},
      });
      if (r.statusCode === 200) {
        request = r.json();
        break;
      }
    }
  }
  if (request.status !== 'approved') throw new Error(`request ${request.id} not approved: ${request.status}`);
  await passRiskAssessment(app, request.id, deciders[0]);
  const grants = (await app.inject({ url: '/api/sharing/grants', headers: { cookie: consumer } })).json();
  const grant = grants.find((g: { id: number }) => g.id === request.grantId);
  // the provide-and-use agreement the profile requires (DG Art 18): the consumer's officer accepts it
  if (grant.agreement && !grant.agreement.acceptedAt) {
    const ok = await app.inject({
      method: 'POST',
      url: `/api/sharing/grants/${grant.id}/agreement`,
      headers: { cookie: consumer },
    });
    if (ok.statusCode !== 200) throw new Error(`agreement not accepted: ${ok.body}`);
  }
  return {
    appId: a.id,
    apiKey,
    grantId: request.grantId,
    resourceId: resource.id,
    purposeId: grant.purposeId,
  };
}

/**
 * An important/core resource's grant waits for a passing risk assessment where the profile asks for one (DG Art 19,
 * XT Art 31, SY Art 42, NY task 11): the provider (or the authority) records one, as it would in the request drawer.
 * Nothing happens where none is required or one already passed.
 */
export async function passRiskAssessment(
  app: FastifyInstance,
  requestId: number,
  cookie: string,
): Promise<void> {
  const risk = await app.inject({
    url: `/api/sharing/requests/${requestId}/risk-assessments`,
    headers: { cookie },
  });
  if (risk.statusCode !== 200 || !risk.json().required || risk.json().passed) return;
  const r = await app.inject({
    method: 'POST',
    url: `/api/sharing/requests/${requestId}/risk-assessments`,
    headers: { cookie },
    payload: { assessor: '数据安全评估小组', assessedOn: '2024-01-02', conclusion: 'pass', measures: '' },
  });
  if (r.statusCode !== 200) throw new Error(`risk assessment failed: ${r.body}`);
}

/** A demo account's user id, looked up by its login name. */
export async function userIdOf(env: TestEnv, username: string): Promise<number> {
  const u = await env.ctx.db
    .selectFrom('app_user')
    .select('id')
    .where('username', '=', username)
    .executeTakeFirstOrThrow();
  return u.id;
}

/** A demo entry's catalog code (GB/T 21063.5, issued at load), looked up by its name. */
export async function codeOf(env: TestEnv, name: string): Promise<string> {
  const r = await env.ctx.db
    .selectFrom('resource')
    .select('code')
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
  return r.code;
}

/** A resource's data table and its fields' column names by field code (for tests that read or write the table itself). */
export async function resourceColumns(
  env: TestEnv,
  code: string,
): Promise<{ table: string; col: Record<string, string> }> {
  const r = await env.ctx.db
    .selectFrom('resource')
    .select(['id', 'data_table'])
    .where('code', '=', code)
    .executeTakeFirstOrThrow();
  const f = await env.ctx.db
    .selectFrom('resource_field')
    .select(['code', 'ordinal'])
    .where('resource_id', '=', r.id)
    .execute();
  return { table: r.data_table!, col: Object.fromEntries(f.map((x) => [x.code, columnName(x.ordinal)])) };
}

/** The purpose text every grantedApp() request states, as data calls send it in X-Purpose (percent-encoded). */
export const TEST_PURPOSE = encodeURIComponent('办理业务时核验当事人身份');

/** The data API path of a resource code (the code holds a `/`). */
export function dataPath(code: string): string {
  return `/api/v1/data/${encodeURIComponent(code)}`;
}

/**
 * A resource table's rows as the provider loaded them, read the way the product reads them: every column decrypted
 * with the platform's keyring (`ctx.fieldKeys.decrypt`, the function the masking path uses; docs/ENCRYPTION.md).
 * `_key` is the record key as stored — the keyed hash when the key field is sensitive-personal — and `key` the clear
 * record key a caller gives the data API (the decrypted key field then, else `_key`). `where` is raw SQL on the table.
 */
export async function clearRows(
  env: Pick<TestEnv, 'ctx'>,
  table: string,
  opts: { where?: string; params?: unknown[]; limit?: number; orderBy?: string } = {},
): Promise<Array<Record<string, string | null> & { _key: string; key: string }>> {
  const m = /^ds\.r_(\d+)$/.exec(table);
  if (!m) throw new Error(`not a resource table: ${table}`);
  const fields = await env.ctx.db
    .selectFrom('resource_field')
    .select(['code', 'ordinal', 'is_key', 'encrypted'])
    .where('resource_id', '=', Number(m[1]))
    .orderBy('ordinal')
    .execute();
  const cols = fields.map((f) => `c${f.ordinal}::text AS "${f.code}"`).join(', ');
  const { rows } = await env.ctx.database.query<Record<string, string | null>>(
    `SELECT _key, ${cols} FROM ${table}${opts.where ? ` WHERE ${opts.where}` : ''} ORDER BY ${opts.orderBy ?? '_seq'}${
      opts.limit ? ` LIMIT ${opts.limit}` : ''
    }`,
    opts.params ?? [],
  );
  await env.ctx.fieldKeys.refresh(true, env.ctx.db);
  const keyFields = fields.filter((f) => f.is_key);
  const hashedKey = keyFields.length === 1 && keyFields[0].encrypted;
  return rows.map((r) => {
    const out: Record<string, string | null> = { _key: r._key };
    for (const f of fields) {
      const v = r[f.code];
      out[f.code] = v === null ? null : String(env.ctx.fieldKeys.decrypt(v));
    }
    const key = hashedKey ? (out[keyFields[0].code] as string) : (r._key as string);
    return { ...out, _key: r._key as string, key };
  });
}
