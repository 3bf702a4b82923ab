import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, openDatabase } from '../../src/db/index.js';
import { clearRows, codeOf, createTestEnv, dataPath, grantedApp, login, type TestEnv } from '../helpers.js';

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

/*
 * Issue 10, reliability: "fill the disk mid-call: the call fails closed, with a coded error, and nothing is served
 * unaudited." The audit row is inserted by the very statement that reads the record, so a disk that is full when the
 * audit row is written fails the whole statement. Simulated (both databases) by a trigger that raises what PostgreSQL
 * raises when it cannot extend a file: SQLSTATE 53100 disk_full.
 */
describe('DB faults: the disk is full when the audit row is written', () => {
  let env: TestEnv;
  let g: Awaited<ReturnType<typeof grantedApp>>;
  let code = '';
  let key = '';
  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 50, entityRows: 20 } });
    code = await codeOf(env, '人口基础信息');
    g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: code,
      fields: ['idNumber', 'name'],
      appName: '磁盘满测试',
    });
    const { data_table } = await env.ctx.db
      .selectFrom('resource')
      .select('data_table')
      .where('code', '=', code)
      .executeTakeFirstOrThrow();
    // `_key` is the ID number's keyed hash (encrypted at rest): the clear key, decrypted as the product reads it
    key = (await clearRows(env, data_table!, { limit: 1 }))[0].key;
  });
  afterAll(async () => env?.close());

  const call = (url: string) =>
    env.app.inject({ url, headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId } });
  const audits = async () =>
    Number(
      (
        await env.ctx.database.query<{ n: string }>(`SELECT count(*) AS n FROM audit_log WHERE app_id = $1`, [
          g.appId,
        ])
      ).rows[0].n,
    );

  it('DB faults: a record read and a page answer 503 DATABASE_RESOURCES_EXHAUSTED, serve nothing and leave no audit row; service resumes when space returns', async () => {
    const ok = await call(`${dataPath(code)}/records/${key}`);
    expect(ok.statusCode, ok.body).toBe(200);
    const name = ok.json().record.name as string;
    expect(name).toBeTruthy();
    const before = await audits();
    await env.ctx.database.query(
      `CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $fn$
       BEGIN RAISE EXCEPTION 'could not extend file "base/16384/16385": No space left on device'
         USING ERRCODE = 'disk_full'; END $fn$`,
      [],
    );
    await env.ctx.database.query(
      'CREATE TRIGGER test_disk_full BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION test_disk_full()',
      [],
    );
    try {
      for (const url of [`${dataPath(code)}/records/${key}`, `${dataPath(code)}/records?limit=5`]) {
        const res = await call(url);
        expect(res.statusCode, `${url} ${res.body}`).toBe(503);
        const body = res.json();
        expect(body).toMatchObject({
          code: 'DATABASE_RESOURCES_EXHAUSTED',
          message: expect.stringContaining('审计'),
          messageEn: expect.stringContaining('audit'),
        });
        expect(Object.keys(body).sort()).toEqual(['code', 'details', 'message', 'messageEn'].sort());
        expect(res.body).not.toContain(key);
        expect(res.body).not.toContain(name);
      }
      expect(await audits()).toBe(before);
    } finally {
      await env.ctx.database.query('DROP TRIGGER test_disk_full ON audit_log', []);
      await env.ctx.database.query('DROP FUNCTION test_disk_full()', []);
    }
    const again = await call(`${dataPath(code)}/records/${key}`);
    expect(again.statusCode).toBe(200);
    expect(await audits()).toBe(before + 1);
    const last = await env.ctx.database.query<{ id: string }>(
      `SELECT id FROM audit_log WHERE app_id = $1 AND action = 'data.get' ORDER BY id DESC LIMIT 1`,
      [g.appId],
    );
    expect(Number(last.rows[0].id)).toBe(again.json().auditId);
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
