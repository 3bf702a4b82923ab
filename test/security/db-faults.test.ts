import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, openDatabase } from '../../src/db/index.js';
import { createTestEnv, login, type TestEnv } from '../helpers.js';

describe('DB faults: the classifier of connection-class errors', () => {
  it('DB faults: isDatabaseUnavailable knows SQLSTATE 08xxx, 57P01-03, 53300, socket errors and pool timeouts', () => {
    const withCode = (code: string) => Object.assign(new Error('x'), { code });
    for (const code of [
      '08000',
      '08003',
      '08006',
      '57P01',
      '57P02',
      '57P03',
      '53300',
      'ECONNREFUSED',
      'ECONNRESET',
    ])
      expect(isDatabaseUnavailable(withCode(code)), code).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: withCode('57P01') }))).toBe(true);
    for (const code of ['23505', '22P02', '42P01', '40001'])
      expect(isDatabaseUnavailable(withCode(code)), code).toBe(false);
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable(null)).toBe(false);
  });

  it('DB faults: a PostgreSQL server that does not answer fails fast as unavailable (connectionTimeoutMillis)', async () => {
    // 127.0.0.1:9 (discard) refuses at once; the pool must reject rather than hang or crash
    const db = await openDatabase({
      databaseUrl: 'postgres://postgres@127.0.0.1:9/x',
      dataDir: '',
      connectTimeoutMs: 1000,
    });
    // no timed assertion (brief: none in tests): a pool that hung would run into the test's time limit instead
    const err = await db.query('SELECT 1', []).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isDatabaseUnavailable(err)).toBe(true);
    await db.close();
  });
});

describe.skipIf(!process.env.DATABASE_URL)('DB faults: PostgreSQL backends terminated under load', () => {
  let env: TestEnv;
  let officer: string;
  let killer: pg.Client;
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);

  beforeAll(async () => {
    process.on('uncaughtException', onUncaught);
    env = await createTestEnv({ demo: { populationRows: 50, entityRows: 20 } });
    officer = await login(env.app, 'rsj_officer');
    killer = new pg.Client({ connectionString: env.ctx.config.databaseUrl! });
    await killer.connect();
  });
  afterAll(async () => {
    process.off('uncaughtException', onUncaught);
    await killer?.end();
    await env?.close();
  });

  const terminate = () =>
    killer.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );

  it('DB faults: 20 clients creating apps while backends are terminated get 201 or 503 DATABASE_UNAVAILABLE; the process survives and service resumes', async () => {
    const statuses = new Map<number, number>();
    let unavailable = 0;
    for (let round = 0; round < 10; round++) {
      const calls = Array.from({ length: 20 }, (_, i) =>
        env.app.inject({
          method: 'POST',
          url: '/api/apps',
          headers: { cookie: officer },
          payload: { name: `故障测试 ${round}-${i}` },
        }),
      );
      const kills = (async () => {
        for (let k = 0; k < 3; k++) {
          await terminate();
          await new Promise((r) => setTimeout(r, 3 * k));
        }
      })();
      const [results] = await Promise.all([Promise.all(calls), kills]);
      for (const res of results) {
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect([201, 503], res.body).toContain(res.statusCode);
        if (res.statusCode === 503) {
          expect(res.json()).toMatchObject({ code: 'DATABASE_UNAVAILABLE', messageEn: expect.any(String) });
          unavailable++;
        }
      }
      if (unavailable > 0 && round >= 2) break;
    }
    expect(unavailable, JSON.stringify([...statuses])).toBeGreaterThan(0);
    // idle connections killed after the load: the pool's own error path
    await terminate();
    await new Promise((r) => setTimeout(r, 50));
    // the database answers again: so does the service, without a restart
    let ok = 0;
    for (let i = 0; i < 5; i++) {
      const res = await env.app.inject({
        method: 'POST',
        url: '/api/apps',
        headers: { cookie: officer },
        payload: { name: `恢复测试 ${i}` },
      });
      if (res.statusCode === 201) ok++;
    }
    expect(ok).toBeGreaterThan(0);
    expect((await env.app.inject({ url: '/api/health' })).statusCode).toBe(200);
    expect(uncaught).toEqual([]);
  });
});
