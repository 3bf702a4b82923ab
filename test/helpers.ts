import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { openContext } from '../src/boot.js';
import type { Config } from '../src/config.js';
import { loadConfig } from '../src/config.js';
import type { AppContext } from '../src/context.js';
import { type DemoSummary, loadDemoCity } from '../src/demo/load.js';
import { buildApp } from '../src/http/app.js';
import { idNumberCheckChar } from '../src/ingest/checksums.js';

export interface TestEnv {
  ctx: AppContext;
  app: FastifyInstance;
  demo: DemoSummary | null;
  close(): Promise<void>;
}

/**
 * A fresh platform per test file: an in-memory PGlite, or — when DATABASE_URL is set — a new database on
 * that PostgreSQL server, dropped afterwards. Same migrations and SQL on both.
 */
export async function createTestEnv(
  opts: {
    demo?: { populationRows: number; entityRows: number } | false;
    profile?: string;
    config?: Partial<Config>;
    redis?: Redis | null;
  } = {},
): Promise<TestEnv> {
  const serverUrl = process.env.DATABASE_URL;
  let databaseUrl: string | null = null;
  let dbName: string | null = null;
  if (serverUrl) {
    dbName = `gs_t_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${dbName}"`);
    await admin.end();
    const u = new URL(serverUrl);
    u.pathname = `/${dbName}`;
    databaseUrl = u.toString();
  }
  const config = {
    ...loadConfig({}),
    databaseUrl,
    dataDir: 'memory://',
    profile: opts.profile ?? 'dongguan-2020',
    dbPoolSize: 5,
    loginRateLimitPerMinute: 1000,
    ...opts.config,
  };
  const ctx = await openContext(config);
  const demo =
    opts.demo === false
      ? null
      : await loadDemoCity(ctx, opts.demo ?? { populationRows: 2000, entityRows: 500 });
  const app = await buildApp(ctx, { redis: opts.redis ?? null });
  await app.ready();
  return {
    ctx,
    app,
    demo,
    close: async () => {
      await app.close();
      await ctx.database.close();
      if (dbName && serverUrl) {
        const admin = new pg.Client({ connectionString: serverUrl });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
        await admin.end();
      }
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
