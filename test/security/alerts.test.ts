import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creditCodeCheckChar } from '../../src/ingest/checksums.js';
import { evaluateAlerts } from '../../src/security/alerts.js';
import { type ManualClock, manualClock } from '../../src/shared/clock.js';
import { codeOf, createTestEnv, dataPath, grantedApp, login, type TestEnv } from '../helpers.js';

/*
 * Anomaly alerts (issue 10 point 5; SY Art 43: abnormal access is monitored and warned; NY task 11: 安全预警). Each of the
 * four rules fires on a crafted pattern and stays quiet on a normal one; the volume, off-hours and denial patterns are
 * written into audit_log as the data API would have (the job reads nothing else), the enumeration pattern is real calls.
 * The platform clock is Thursday 2026-11-26 09:40 Beijing time, a working day.
 */
const NOW = '2026-11-26T09:40:00+08:00';
const at = (minutesBefore: number) => new Date(new Date(NOW).getTime() - minutesBefore * 60_000);
let ENTITIES = '';

describe('anomaly alerts (SY Art 43, NY task 11)', () => {
  let env: TestEnv;
  let clock: ManualClock;
  let admin: string;
  let reviewer: string;
  let auditor: string;
  let officer: string;

  beforeAll(async () => {
    clock = manualClock(NOW);
    env = await createTestEnv({
      demo: { populationRows: 100, entityRows: 80 },
      clock,
      config: {
        dataApi: {
          appRatePerSecond: 1000,
          grantCallsPerDay: 100_000,
          grantRowsPerCall: 1000,
          keyFailuresPerMinute: 1000,
          enumerationMisses: 8,
        },
      },
    });
    ENTITIES = await codeOf(env, '法人单位基础信息');
    [admin, reviewer, auditor, officer] = await Promise.all(
      ['admin', 'reviewer', 'auditor', 'rsj_officer'].map((u) => login(env.app, u)),
    );
  });
  afterAll(async () => env?.close());

  async function newApp(name: string): Promise<number> {
    const r = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: officer },
      payload: { name },
    });
    expect(r.statusCode).toBe(201);
    return r.json().app.id as number;
  }

  /** `n` served calls of an app at one instant, `rows` rows each (what the data API's statement writes). */
  async function served(appId: number, when: Date, n: number, rows = 1) {
    await sql`
      INSERT INTO audit_log (occurred_at, app_id, action, decision, rows_returned, target_type)
      SELECT ${when}, ${appId}, 'data.get', 'allow', ${rows}, 'record' FROM generate_series(1, ${n})`.execute(
      env.ctx.db,
    );
  }

  async function denied(appId: number, when: Date, n: number) {
    await sql`
      INSERT INTO audit_log (occurred_at, app_id, action, decision, target_type, detail)
      SELECT ${when}, ${appId}, 'data.get', 'deny', 'record', '{"reason":"FIELD_NOT_GRANTED"}'::jsonb
      FROM generate_series(1, ${n})`.execute(env.ctx.db);
  }

  async function alertsOf(appId: number) {
    return env.ctx.db.selectFrom('security_alert').selectAll().where('app_id', '=', appId).execute();
  }

  async function setRule(code: string, patch: Record<string, unknown>, cookie = admin) {
    return env.app.inject({
      method: 'PATCH',
      url: `/api/security/alert-rules/${code}`,
      headers: { cookie },
      payload: patch,
    });
  }

  it('volume: an app far above its own norm is alerted; one as busy but within its norm, or new and below the floor, is not', async () => {
    expect(
      (await setRule('volume', { threshold: 50, factor: 5, windowMinutes: 60, baselineDays: 7 })).statusCode,
    ).toBe(200);
    const spiky = await newApp('批量比对（突增）');
    const busy = await newApp('窗口受理（常态繁忙）');
    const fresh = await newApp('新上线应用');
    // a week of history: 20 calls an hour for one, 40 for the other, during the working day
    for (let day = 1; day <= 6; day++)
      for (const h of [2, 3, 4]) {
        await served(spiky, at(day * 1440 + h * 60), 20);
        await served(busy, at(day * 1440 + h * 60), 40);
      }
    // the last hour: both made 150 calls; the new app 30
    await served(spiky, at(10), 150);
    await served(busy, at(10), 150);
    await served(fresh, at(10), 30);
    await evaluateAlerts(env.ctx);
    const [a] = await alertsOf(spiky);
    expect(a).toMatchObject({ rule_code: 'volume', status: 'open', suspended: false });
    expect(a.evidence).toMatchObject({ calls: 150, normPerHour: 20, limit: 100, windowMinutes: 60 });
    expect(await alertsOf(busy)).toHaveLength(0);
    expect(await alertsOf(fresh)).toHaveLength(0);

    // one ongoing anomaly is one alert: evaluating again counts a second hit
    await evaluateAlerts(env.ctx);
    const again = await alertsOf(spiky);
    expect(again).toHaveLength(1);
    expect(again[0].hits).toBe(2);

    // switched off, the rule raises nothing for a new spike
    const other = await newApp('批量比对（规则关闭）');
    await served(other, at(5), 500);
    expect((await setRule('volume', { enabled: false })).statusCode).toBe(200);
    await evaluateAlerts(env.ctx);
    expect(await alertsOf(other)).toHaveLength(0);
    expect((await setRule('volume', { enabled: true })).statusCode).toBe(200);
  });

  it('off hours: bulk rows served before the working day starts are alerted; the same rows in working hours are not', async () => {
    expect((await setRule('offHours', { threshold: 1000, windowMinutes: 180 })).statusCode).toBe(200);
    const night = await newApp('夜间批量拉取');
    const day = await newApp('日间批量拉取');
    // 07:10 Beijing (before 08:30) and 09:10 (working hours), 1500 rows each
    await served(night, at(150), 3, 500);
    await served(day, at(30), 3, 500);
    await evaluateAlerts(env.ctx);
    const [a] = await alertsOf(night);
    expect(a).toMatchObject({ rule_code: 'offHours' });
    expect(a.evidence).toMatchObject({
      rows: 1500,
      workStart: '08:30',
      workEnd: '18:00',
      hours: ['2026-11-26 07:00'],
    });
    expect(await alertsOf(day)).toHaveLength(0);
  });

  it('repeated denials: an app or a person refused again and again is alerted; a few refusals are not', async () => {
    const prober = await newApp('越权字段试探');
    const clumsy = await newApp('偶尔出错的应用');
    await denied(prober, at(3), 35);
    await denied(clumsy, at(3), 5);
    // a person's refusals aggregated by the refusal tally: one audit row standing for 40
    const user = await env.ctx.db
      .selectFrom('app_user')
      .select(['id', 'org_id'])
      .where('username', '=', 'mzj_officer')
      .executeTakeFirstOrThrow();
    const auditId = await sql<{ id: number }>`
      INSERT INTO audit_log (occurred_at, actor_user_id, actor_org_id, action, decision, detail)
      VALUES (${at(2)}, ${user.id}, ${user.org_id}, 'http.refused', 'deny', '{"code":"FORBIDDEN"}'::jsonb) RETURNING id`.execute(
      env.ctx.db,
    );
    await sql`
      INSERT INTO audit_refusal_tally (bucket, principal, client_ip, method, route, code, count, audit_id)
      VALUES (${at(2)}, ${`user:${user.id}`}, '10.0.0.9', 'GET', '/api/audit', 'FORBIDDEN', 40, ${auditId.rows[0].id})`.execute(
      env.ctx.db,
    );
    await evaluateAlerts(env.ctx);
    const [a] = await alertsOf(prober);
    expect(a).toMatchObject({ rule_code: 'denials' });
    expect(a.evidence).toMatchObject({ refusals: 35, codes: ['FIELD_NOT_GRANTED'] });
    expect(await alertsOf(clumsy)).toHaveLength(0);
    const byUser = await env.ctx.db
      .selectFrom('security_alert')
      .selectAll()
      .where('user_id', '=', user.id)
      .execute();
    expect(byUser).toHaveLength(1);
    expect(byUser[0].evidence).toMatchObject({ refusals: 40 });
  });

  function missingKeys(n: number): string[] {
    return Array.from({ length: n }, (_, i) => {
      const body = `91441900MA5X${String(100000 + i).slice(1)}`;
      return body + creditCodeCheckChar(body);
    });
  }

  it('enumeration: lookups that mostly miss suspend the app; lookups of existing keys do not; with the rule off nothing happens', async () => {
    const table = (
      await env.ctx.db
        .selectFrom('resource')
        .select('data_table')
        .where('code', '=', ENTITIES)
        .executeTakeFirstOrThrow()
    ).data_table!;
    const { rows } = await env.ctx.database.query<{ k: string }>(
      `SELECT _key AS k FROM ${table} ORDER BY _seq LIMIT 20`,
      [],
    );
    const grant = (name: string) =>
      grantedApp(env.app, {
        consumer: 'rsj_officer',
        provider: 'scj_officer',
        resourceCode: ENTITIES,
        fields: ['creditCode', 'entityName'],
        appName: name,
      });
    const call = (g: { apiKey: string; purposeId: string }, key: string) =>
      env.app.inject({
        url: `${dataPath(ENTITIES)}/records/${key}`,
        headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
      });

    const honest = await grant('企业信息核对（正常）');
    for (const k of rows.map((r) => r.k)) expect((await call(honest, k)).statusCode).toBe(200);
    expect(await alertsOf(honest.appId)).toHaveLength(0);

    const guesser = await grant('企业信息核对（猜测）');
    let stoppedAt = -1;
    for (const [i, k] of missingKeys(30).entries()) {
      const r = await call(guesser, k);
      if (r.statusCode === 403) {
        expect(r.json().code).toBe('APP_SUSPENDED');
        stoppedAt = i;
        break;
      }
    }
    expect(stoppedAt).toBe(8);
    const [a] = await alertsOf(guesser.appId);
    expect(a).toMatchObject({ rule_code: 'enumeration', suspended: true });
    expect(a.evidence).toMatchObject({ misses: 8, lookups: 8 });

    expect((await setRule('enumeration', { enabled: false })).statusCode).toBe(200);
    const quiet = await grant('企业信息核对（规则关闭）');
    for (const k of missingKeys(20)) expect((await call(quiet, k)).statusCode).toBe(404);
    expect(await alertsOf(quiet.appId)).toHaveLength(0);
    expect((await setRule('enumeration', { enabled: true })).statusCode).toBe(200);
  });

  it('auto-suspend blocks the next call; the authority reinstates; every alert action is audited and duties are separated (GB/T 39477)', async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'scj_officer',
      resourceCode: ENTITIES,
      fields: ['creditCode', 'entityName'],
      appName: '企业信息批量比对',
    });
    const page = () =>
      env.app.inject({
        url: `${dataPath(ENTITIES)}/records?limit=5`,
        headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
      });
    expect((await page()).statusCode).toBe(200);

    // only the administrator configures rules; the auditor and the reviewer cannot
    expect((await setRule('denials', { autoSuspend: true }, auditor)).statusCode).toBe(403);
    expect((await setRule('denials', { autoSuspend: true }, reviewer)).statusCode).toBe(403);
    expect((await setRule('denials', { autoSuspend: true, threshold: 30 })).statusCode).toBe(200);
    await denied(g.appId, at(1), 31);
    await evaluateAlerts(env.ctx);
    const [a] = await alertsOf(g.appId);
    expect(a).toMatchObject({ rule_code: 'denials', suspended: true });
    const blocked = await page();
    expect(blocked.statusCode).toBe(403);
    expect(blocked.json().code).toBe('APP_SUSPENDED');

    // the board: the auditor reads it but cannot act; a data officer cannot reinstate; the reviewer acknowledges
    const board = await env.app.inject({
      url: '/api/security/alerts?status=open',
      headers: { cookie: auditor },
    });
    expect(board.statusCode).toBe(200);
    expect(board.json().items.some((i: { id: number }) => i.id === Number(a.id))).toBe(true);
    expect(board.json().canAct).toBe(false);
    const ack = (cookie: string) =>
      env.app.inject({
        method: 'POST',
        url: `/api/security/alerts/${a.id}/acknowledge`,
        headers: { cookie },
        payload: { note: '已联系应用负责人' },
      });
    expect((await ack(auditor)).statusCode).toBe(403);
    expect((await ack(reviewer)).statusCode).toBe(200);
    const reinstate = (cookie: string) =>
      env.app.inject({ method: 'POST', url: `/api/security/apps/${g.appId}/reinstate`, headers: { cookie } });
    expect((await reinstate(officer)).statusCode).toBe(403);
    expect((await reinstate(auditor)).statusCode).toBe(403);
    expect((await reinstate(reviewer)).statusCode).toBe(200);
    expect((await page()).statusCode).toBe(200);
    // the alert stays (suspended once): the same ongoing anomaly does not suspend the app again
    await evaluateAlerts(env.ctx);
    expect((await page()).statusCode).toBe(200);
    const close = await env.app.inject({
      method: 'POST',
      url: `/api/security/alerts/${a.id}/close`,
      headers: { cookie: reviewer },
      payload: { note: '系测试程序误调用，已整改' },
    });
    expect(close.statusCode).toBe(200);
    const closedAgain = await env.app.inject({
      method: 'POST',
      url: `/api/security/alerts/${a.id}/close`,
      headers: { cookie: reviewer },
      payload: {},
    });
    expect(closedAgain.statusCode).toBe(409);

    const audit = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'actor_user_id', 'target_id'])
      .where((w) => w.or([w('app_id', '=', g.appId), w('action', '=', 'security.alertRuleChanged')]))
      .where('action', 'like', 'security.%')
      .orderBy('id')
      .execute();
    const actions = audit.map((r) => r.action);
    for (const x of [
      'security.alertRuleChanged',
      'security.alertRaised',
      'security.appSuspended',
      'security.alertAcknowledged',
      'security.appReinstated',
      'security.alertClosed',
    ])
      expect(actions).toContain(x);
    // the authority's staff and the auditors are told, and so is the app's department
    const told = await env.ctx.db
      .selectFrom('notification as n')
      .innerJoin('app_user as u', 'u.id', 'n.user_id')
      .select(['u.username', 'n.kind'])
      .where('n.app_id', '=', g.appId)
      .where('n.kind', 'like', 'security.%')
      .execute();
    expect(told.map((t) => t.username)).toEqual(
      expect.arrayContaining(['admin', 'reviewer', 'auditor', 'rsj_officer']),
    );
    expect(told.every((t) => t.kind === 'security.alertSuspended')).toBe(true);
    expect((await setRule('denials', { autoSuspend: false })).statusCode).toBe(200);
  });

  it('a data officer sees only the alerts of their department; rule values are validated', async () => {
    const mine = await env.app.inject({
      url: '/api/security/alerts',
      headers: { cookie: await login(env.app, 'gaj_officer') },
    });
    expect(mine.statusCode).toBe(200);
    expect(mine.json().total).toBe(0);
    expect((await setRule('offHours', { workStart: '19:00', workEnd: '08:00' })).statusCode).toBe(400);
    expect((await setRule('volume', { threshold: 0 })).statusCode).toBe(400);
  });
});
