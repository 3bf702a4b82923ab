import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf, createTestEnv, dataPath, grantedApp, login, type TestEnv } from '../helpers.js';

/*
 * Issue 10 point 7 (account security: API key rotation with overlap; XT Art 34: key rotation is an audited admin action):
 * a rotated key keeps working for the overlap beside the new one, then stops; a second rotation ends the first overlap;
 * only the app's department may rotate; every rotation is audited.
 */
describe('API key rotation with overlap', () => {
  let env: TestEnv;
  let code = '';
  let g: { apiKey: string; purposeId: string; grantId: number; appId: number };
  let officer = '';

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 30, entityRows: 10 } });
    code = await codeOf(env, '人口基础信息');
    g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: code,
      fields: ['name', 'gender'],
      appName: '密钥轮换测试应用',
    });
    officer = await login(env.app, 'rsj_officer');
  }, 400_000);
  afterAll(async () => env?.close());

  const call = (key: string) =>
    env.app.inject({
      url: `${dataPath(code)}/records?limit=1`,
      headers: { 'x-api-key': key, 'x-purpose': g.purposeId },
    });
  const rotate = (cookie: string, appId: number, overlapHours?: number) =>
    env.app.inject({
      method: 'POST',
      url: `/api/apps/${appId}/rotate-key`,
      headers: { cookie },
      payload: overlapHours === undefined ? {} : { overlapHours },
    });

  it('XT Art 34: during the overlap both keys work; after it the old key is refused and the refusal audited', async () => {
    expect((await call(g.apiKey)).statusCode).toBe(200);
    const res = await rotate(officer, g.appId, 2);
    expect(res.statusCode, res.body).toBe(200);
    const { apiKey: fresh, previousKeyUntil } = res.json();
    expect(fresh).not.toBe(g.apiKey);
    expect(new Date(previousKeyUntil).getTime()).toBeGreaterThan(Date.now() + 3600_000);
    expect((await call(g.apiKey)).statusCode).toBe(200);
    expect((await call(fresh)).statusCode).toBe(200);
    // the overlap ends (moved into the past, as the clock would)
    await env.ctx.db
      .updateTable('app')
      .set({ prev_key_until: new Date(Date.now() - 1000) })
      .where('id', '=', g.appId)
      .execute();
    const old = await call(g.apiKey);
    expect(old.statusCode).toBe(401);
    expect(old.json().code).toBe('API_KEY_INVALID');
    expect((await call(fresh)).statusCode).toBe(200);
    const denied = await env.ctx.db
      .selectFrom('audit_log')
      .select(['decision', 'detail'])
      .where('action', '=', 'data.list')
      .where('decision', '=', 'deny')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(denied.detail).toMatchObject({ reason: 'API_KEY_INVALID' });
    const audit = await env.ctx.db
      .selectFrom('audit_log')
      .select(['app_id', 'detail', 'decision'])
      .where('action', '=', 'app.keyRotate')
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ app_id: g.appId, decision: 'allow' });
    expect(audit.detail).toMatchObject({ overlapHours: 2 });
    g.apiKey = fresh;
  });

  it('a second rotation ends the first overlap at once; overlap 0 stops the old key immediately', async () => {
    const first = (await rotate(officer, g.appId, 5)).json().apiKey;
    const second = (await rotate(officer, g.appId, 5)).json().apiKey;
    // the key replaced two rotations ago no longer works; the one replaced last does, for its overlap
    expect((await call(g.apiKey)).statusCode).toBe(401);
    expect((await call(first)).statusCode).toBe(200);
    expect((await call(second)).statusCode).toBe(200);
    const third = await rotate(officer, g.appId, 0);
    expect(third.json().previousKeyUntil).toBeNull();
    expect((await call(second)).statusCode).toBe(401);
    expect((await call(third.json().apiKey)).statusCode).toBe(200);
  });

  it('the change feed accepts the replaced key during the overlap like the data query, and refuses it after (audited)', async () => {
    const f = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: code,
      fields: ['name', 'gender'],
      appName: '变更订阅密钥轮换应用',
      quota: { feed: true },
    });
    const feed = (key: string) =>
      env.app.inject({
        url: `${dataPath(code)}/changes?limit=5`,
        headers: { 'x-api-key': key, 'x-purpose': f.purposeId },
      });
    expect((await feed(f.apiKey)).statusCode).toBe(200);
    const res = await rotate(officer, f.appId, 3);
    expect(res.statusCode, res.body).toBe(200);
    const fresh = res.json().apiKey as string;
    const old = await feed(f.apiKey);
    expect(old.statusCode, old.body).toBe(200);
    expect(old.json().changes.length).toBeGreaterThan(0);
    expect((await feed(fresh)).statusCode).toBe(200);
    // the page with the replaced key is audited as the app's feed call
    const audited = await env.ctx.db
      .selectFrom('audit_log')
      .select(['app_id', 'decision'])
      .where('action', '=', 'data.feed')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(audited).toMatchObject({ app_id: f.appId, decision: 'allow' });
    await env.ctx.db
      .updateTable('app')
      .set({ prev_key_until: new Date(Date.now() - 1000) })
      .where('id', '=', f.appId)
      .execute();
    const after = await feed(f.apiKey);
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('API_KEY_INVALID');
    const denied = await env.ctx.db
      .selectFrom('audit_log')
      .select(['detail'])
      .where('action', '=', 'data.feed')
      .where('decision', '=', 'deny')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(denied.detail).toMatchObject({ reason: 'API_KEY_INVALID' });
    expect((await feed(fresh)).statusCode).toBe(200);
  });

  it("GB/T 39477: another department's officer cannot rotate the key (refused and audited); a revoked app gets no key", async () => {
    const other = await login(env.app, 'mzj_officer');
    const res = await rotate(other, g.appId, 1);
    expect(res.statusCode).toBe(403);
    const refused = await env.ctx.db
      .selectFrom('audit_log')
      .select('detail')
      .where('decision', '=', 'deny')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(refused.detail).toMatchObject({ route: '/api/apps/:id/rotate-key' });
    const tooLong = await rotate(officer, g.appId, 10_000);
    expect(tooLong.statusCode).toBe(400);
    await env.app.inject({
      method: 'POST',
      url: `/api/apps/${g.appId}/revoke`,
      headers: { cookie: officer },
    });
    expect((await rotate(officer, g.appId, 1)).statusCode).toBe(409);
  });
});
