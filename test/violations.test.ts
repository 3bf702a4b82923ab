import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shanghaiDate } from '../src/calendar/model.js';
import { type ManualClock, manualClock } from '../src/shared/clock.js';
import { detectViolations } from '../src/supervision/violations.js';
import { codeOf, createTestEnv, dataPath, grantedApp, login, type TestEnv } from './helpers.js';

/*
 * Issue 12 point 4: violations detected (XT Art 41, SY Art 47). Each type the profile names is found from the state
 * that makes it (crafted through the API where the platform offers one), is one finding however often the job runs,
 * carries its evidence, reaches the department's officer and the authority, and closes — by the authority after the
 * department's rectification, or by itself when its cause is gone. Under a profile without such an article the job
 * does nothing. The platform clock starts at the real time (audit rows carry the database's time) and is moved forward.
 */
const DAY = 86_400_000;
type Env = TestEnv;
// biome-ignore lint/suspicious/noExplicitAny: API responses are read field by field
type Json = any;

async function call(env: Env, cookie: string, method: 'GET' | 'POST', url: string, payload?: unknown) {
  return env.app.inject({ method, url, headers: { cookie }, payload: payload as object });
}

async function findings(env: Env, type: string) {
  return env.ctx.db.selectFrom('violation').selectAll().where('type', '=', type).orderBy('id').execute();
}

async function notes(env: Env, username: string, kind: string) {
  return env.ctx.db
    .selectFrom('notification as n')
    .innerJoin('app_user as u', 'u.id', 'n.user_id')
    .select(['n.params'])
    .where('u.username', '=', username)
    .where('n.kind', '=', kind)
    .execute() as Promise<{ params: Json }[]>;
}

async function audits(env: Env, action: string, targetId: number) {
  return env.ctx.db
    .selectFrom('audit_log')
    .selectAll()
    .where('action', '=', action)
    .where('target_id', '=', String(targetId))
    .execute();
}

async function officerOf(env: Env, orgId: number) {
  const u = await env.ctx.db
    .selectFrom('app_user')
    .select('username')
    .where('org_id', '=', orgId)
    .where(sql<boolean>`'data_officer' = ANY(roles)`)
    .orderBy('id')
    .executeTakeFirstOrThrow();
  return u.username;
}

describe('violations under xingtai-2024 (XT Art 41)', () => {
  let env: Env;
  let clock: ManualClock;
  let reviewer: string;
  let auditor: string;
  let rsj: string;
  let gaj: string;
  let POPULATION = '';

  beforeAll(async () => {
    clock = manualClock(new Date());
    env = await createTestEnv({
      profile: 'xingtai-2024',
      clock,
      demo: { populationRows: 120, entityRows: 60 },
    });
    POPULATION = await codeOf(env, '人口基础信息');
    [reviewer, auditor, rsj, gaj] = await Promise.all(
      ['reviewer', 'auditor', 'rsj_officer', 'gaj_officer'].map((u) => login(env.app, u)),
    );
  }, 300_000);
  afterAll(async () => env?.close());

  it('XT Art 41.4: data used outside its purpose — purpose-mismatch refusals make one finding per app, with the audit ids; closed by the authority after rectification', async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber', 'name'],
      appName: '社保资格认证',
    });
    clock.set(new Date()); // the demo load took its time; audit rows carry the database's time
    const misuse = () =>
      env.app.inject({
        url: `${dataPath(POPULATION)}/records?limit=2`,
        headers: { 'x-api-key': g.apiKey, 'x-purpose': encodeURIComponent('招商引资客户画像') },
      });
    expect((await misuse()).json().code).toBe('PURPOSE_MISMATCH');
    const r1 = await detectViolations(env.ctx);
    expect(r1.applicable).toBe(true);
    expect((await misuse()).statusCode).toBe(403);
    await detectViolations(env.ctx);
    const ofApp = async () =>
      (await findings(env, 'purposeMisuse')).filter((x) => x.subject === `app:${g.appId}`);
    const list = await ofApp();
    expect(list.length).toBe(1); // one per ongoing violation, not one per run
    const v = list[0];
    expect(v).toMatchObject({ subject: `app:${g.appId}`, article: 'XT Art 41.4', status: 'open', hits: 2 });
    const rsjOrg = await env.ctx.db
      .selectFrom('app')
      .select('org_id')
      .where('id', '=', g.appId)
      .executeTakeFirstOrThrow();
    expect(Number(v.org_id)).toBe(Number(rsjOrg.org_id));
    const denies = await env.ctx.db
      .selectFrom('audit_log')
      .select('id')
      .where('app_id', '=', g.appId)
      .where('decision', '=', 'deny')
      .where(sql<boolean>`detail->>'reason' = 'PURPOSE_MISMATCH'`)
      .orderBy('id', 'desc')
      .execute();
    expect(v.evidence).toMatchObject({
      appId: g.appId,
      refusals: 2,
      resourceIds: [g.resourceId],
      auditIds: denies.map((d) => Number(d.id)),
    });
    // sent to the department and the authority; audited
    const found = (u: string) =>
      notes(env, u, 'supervision.violationFound').then((ns) =>
        ns.filter((n) => n.params.violationId === Number(v.id)),
      );
    expect((await found('rsj_officer')).length).toBe(1);
    expect((await found('reviewer'))[0].params).toMatchObject({ article: 'XT Art 41.4' });
    expect((await audits(env, 'supervision.violationFound', Number(v.id))).length).toBe(1);
    // the department sees its own; another department does not; the auditor sees all
    const own = (await call(env, rsj, 'GET', '/api/violations?type=purposeMisuse')).json();
    expect(own.items.find((x: Json) => x.id === Number(v.id))).toMatchObject({
      canAcknowledge: true,
      canClose: false,
    });
    expect(own.items.every((x: Json) => x.org.id === Number(v.org_id))).toBe(true);
    const others = (await call(env, gaj, 'GET', '/api/violations?type=purposeMisuse')).json();
    expect(others.items.some((x: Json) => x.id === Number(v.id))).toBe(false);
    const all = (await call(env, auditor, 'GET', '/api/violations?type=purposeMisuse')).json();
    expect(all.total).toBe((await findings(env, 'purposeMisuse')).length);
    // acknowledge → rectify → close: each by its party, each audited
    const url = (a: string) => `/api/violations/${v.id}/${a}`;
    expect((await call(env, gaj, 'POST', url('acknowledge'), {})).statusCode).toBe(404);
    expect((await call(env, reviewer, 'POST', url('acknowledge'), {})).statusCode).toBe(403);
    expect((await call(env, rsj, 'POST', url('acknowledge'), {})).json().status).toBe('acknowledged');
    expect((await call(env, rsj, 'POST', url('close'), { note: 'x' })).statusCode).toBe(403);
    const noNote = await call(env, rsj, 'POST', url('rectify'), { note: ' ' });
    expect(noNote.statusCode).toBe(400);
    expect(noNote.json().details[0].field).toBe('note');
    const rect = await call(env, rsj, 'POST', url('rectify'), {
      note: '已停用该应用的非授权调用并培训开发人员',
    });
    expect(rect.json().status).toBe('rectified');
    expect((await notes(env, 'reviewer', 'supervision.violationRectified')).length).toBeGreaterThanOrEqual(1);
    clock.set(new Date()); // closed after the refusals it saw (they carry the database's time)
    expect((await call(env, reviewer, 'POST', url('close'), { note: '整改属实' })).json().status).toBe(
      'closed',
    );
    expect((await notes(env, 'rsj_officer', 'supervision.violationClosed')).length).toBe(1);
    for (const a of ['Acknowledged', 'Rectified', 'Closed'])
      expect((await audits(env, `supervision.violation${a}`, Number(v.id))).length).toBe(1);
    // the refusals the authority has closed do not reopen it; a new one does, as a new finding
    await detectViolations(env.ctx);
    expect((await ofApp()).length).toBe(1);
    await new Promise((r) => setTimeout(r, 5)); // the next refusal is stamped after the close
    await misuse();
    await detectViolations(env.ctx);
    const after = await ofApp();
    expect(after.map((x) => [x.status, x.close_reason])).toEqual([
      ['closed', 'authority'],
      ['open', null],
    ]);
    expect(after[1].evidence).toMatchObject({ refusals: 1 });
  });

  it('XT Art 41.3: data not supplied or stale — a resource past its update cycle is one finding; it closes itself when data arrives', async () => {
    const r = await env.ctx.db
      .selectFrom('resource')
      .select(['id', 'provider_org_id', 'update_cycle'])
      .where('status', '=', 'published')
      .where('data_table', 'is not', null)
      .where('update_cycle', '=', 'monthly')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const now = clock.now();
    // its last import 100 days ago: due 1 month after it
    await env.ctx.db
      .updateTable('resource')
      .set({ last_ingest_at: new Date(now.getTime() - 100 * DAY) })
      .where('id', '=', r.id)
      .execute();
    await detectViolations(env.ctx);
    await detectViolations(env.ctx);
    const mine = (await findings(env, 'dataStale')).filter((x) => x.subject === `resource:${r.id}`);
    expect(mine.length).toBe(1);
    expect(mine[0]).toMatchObject({ article: 'XT Art 41.3', status: 'open', hits: 2 });
    expect(Number(mine[0].org_id)).toBe(Number(r.provider_org_id));
    expect((mine[0].evidence as Json).daysOverdue).toBeGreaterThanOrEqual(68);
    expect((mine[0].evidence as Json).updateCycle).toBe('monthly');
    const officer = await officerOf(env, Number(r.provider_org_id));
    expect(
      (await notes(env, officer, 'supervision.violationFound')).some(
        (n) => n.params.violationId === Number(mine[0].id),
      ),
    ).toBe(true);
    // an import lands: the cause is gone, the finding closes itself, recorded and audited
    await env.ctx.db.updateTable('resource').set({ last_ingest_at: now }).where('id', '=', r.id).execute();
    await detectViolations(env.ctx);
    const closed = await env.ctx.db
      .selectFrom('violation')
      .selectAll()
      .where('id', '=', mine[0].id)
      .executeTakeFirstOrThrow();
    expect(closed).toMatchObject({ status: 'closed', close_reason: 'resolved' });
    expect((await audits(env, 'supervision.violationResolved', Number(mine[0].id))).length).toBe(1);
    expect(
      (await notes(env, officer, 'supervision.violationResolved')).some(
        (n) => n.params.violationId === Number(mine[0].id),
      ),
    ).toBe(true);
  });

  it('XT Art 41.2: catalog not updated in time — an update duty past its due date is a finding; done, it closes itself', async () => {
    const changeDate = shanghaiDate(new Date(clock.now().getTime() - 60 * DAY));
    const d = await call(env, gaj, 'POST', '/api/inventory/duties', {
      changeKind: 'functional',
      whatChanged: '新增户籍迁移网上办理职能',
      basis: '市政府机构职能调整通知',
      changeDate,
    });
    expect(d.statusCode, d.body).toBe(201);
    const duty = d.json();
    await detectViolations(env.ctx);
    await detectViolations(env.ctx);
    const mine = (await findings(env, 'catalogStale')).filter((x) => x.subject === `duty:${duty.id}`);
    expect(mine.length).toBe(1);
    expect(mine[0]).toMatchObject({ article: 'XT Art 41.2', status: 'open' });
    expect(mine[0].evidence).toMatchObject({ dutyId: duty.id, changeDate, dueDate: duty.dueDate });
    expect((await notes(env, 'gaj_officer', 'supervision.violationFound')).length).toBeGreaterThan(0);
    const done = await call(env, gaj, 'POST', `/api/inventory/duties/${duty.id}/done`, {
      note: '目录已更新',
    });
    expect(done.statusCode, done.body).toBe(200);
    await detectViolations(env.ctx);
    const after = await findings(env, 'catalogStale');
    expect(after.find((x) => x.id === mine[0].id)).toMatchObject({
      status: 'closed',
      close_reason: 'resolved',
    });
  });

  it('XT Art 41.5: requests not answered in time — the late step is a finding of whoever holds it (authority, then provider)', async () => {
    const list = await call(env, rsj, 'GET', `/api/catalog/resources?q=${encodeURIComponent(POPULATION)}`);
    const population = list.json().items.find((x: Json) => x.code === POPULATION);
    const app = (await call(env, rsj, 'POST', '/api/apps', { name: '就业补贴审核' })).json().app;
    const req = await call(env, rsj, 'POST', '/api/sharing/requests', {
      resourceId: population.id,
      appId: app.id,
      fields: ['idNumber', 'name'],
      purpose: '就业补贴资格审核',
      scope: '本部门就业补贴发放',
      validUntil: '2099-12-31',
    });
    expect(req.statusCode, req.body).toBe(201);
    const id = req.json().id as number;
    await detectViolations(env.ctx);
    expect((await findings(env, 'requestLate')).filter((x) => x.subject.startsWith(`step:${id}:`))).toEqual(
      [],
    );
    // 3 WD for the authority's review: ten days later it is late
    clock.set(new Date(clock.now().getTime() + 10 * DAY));
    await detectViolations(env.ctx);
    await detectViolations(env.ctx);
    let mine = (await findings(env, 'requestLate')).filter((x) => x.subject.startsWith(`step:${id}:`));
    expect(mine.length).toBe(1);
    const authority = await env.ctx.db
      .selectFrom('org')
      .select('id')
      .where('kind', '=', 'authority')
      .executeTakeFirstOrThrow();
    expect(mine[0]).toMatchObject({ subject: `step:${id}:0`, article: 'XT Art 41.5', status: 'open' });
    expect(Number(mine[0].org_id)).toBe(Number(authority.id));
    expect(mine[0].evidence).toMatchObject({ requestId: id, step: 'authorityReview', actor: 'authority' });
    expect((mine[0].evidence as Json).daysOverdue).toBeGreaterThan(0);
    // the authority answers: its finding closes itself; the provider's step then runs late in turn
    expect((await call(env, reviewer, 'POST', `/api/sharing/requests/${id}/approve`, {})).statusCode).toBe(
      200,
    );
    await detectViolations(env.ctx);
    clock.set(new Date(clock.now().getTime() + 14 * DAY));
    await detectViolations(env.ctx);
    mine = (await findings(env, 'requestLate')).filter((x) => x.subject.startsWith(`step:${id}:`));
    expect(mine.map((x) => [x.subject, x.status, x.close_reason])).toEqual([
      [`step:${id}:0`, 'closed', 'resolved'],
      [`step:${id}:1`, 'open', null],
    ]);
    expect(Number(mine[1].org_id)).toBe(Number(population.provider.id ?? population.providerOrgId));
  });

  it('XT Art 41: a department cannot run the detection; the authority can, and the list names the articles', async () => {
    expect((await call(env, gaj, 'POST', '/api/violations/detect')).statusCode).toBe(403);
    const run = await call(env, reviewer, 'POST', '/api/violations/detect');
    expect(run.statusCode, run.body).toBe(200);
    expect(run.json().applicable).toBe(true);
    const list = (await call(env, reviewer, 'GET', '/api/violations?status=live')).json();
    expect(list.applicable).toBe(true);
    expect(list.rules.map((r: Json) => r.type)).toEqual([
      'catalogStale',
      'dataStale',
      'requestLate',
      'purposeMisuse',
      'openApplicationLate',
    ]);
    expect(list.items.every((x: Json) => x.status !== 'closed')).toBe(true);
  });

  it('the cockpit (issue 12 point 6): the authority sees overdue items and live violations by department, an officer its own, an auditor the anomalies; XLSX export', async () => {
    const live = await env.ctx.db
      .selectFrom('violation')
      .select(['org_id', 'type'])
      .where('status', '<>', 'closed')
      .execute();
    const city = (await call(env, reviewer, 'GET', '/api/cockpit?days=30')).json();
    expect(city.view).toBe('authority');
    expect(city.violations.reduce((s: number, v: Json) => s + v.n, 0)).toBe(live.length);
    for (const o of city.overdue)
      expect(o.violations).toBe(live.filter((v) => Number(v.org_id) === o.orgId).length);
    const mine = (await call(env, gaj, 'GET', '/api/cockpit')).json();
    expect(mine.view).toBe('department');
    const gajOrg = (
      await env.ctx.db
        .selectFrom('app_user')
        .select('org_id')
        .where('username', '=', 'gaj_officer')
        .executeTakeFirstOrThrow()
    ).org_id;
    expect(mine.overdue.orgId).toBe(Number(gajOrg));
    expect(mine.violations.reduce((s: number, v: Json) => s + v.n, 0)).toBe(
      live.filter((v) => Number(v.org_id) === Number(gajOrg)).length,
    );
    const aud = (await call(env, auditor, 'GET', '/api/cockpit')).json();
    expect(aud.view).toBe('auditor');
    expect(Array.isArray(aud.alerts)).toBe(true);
    const x = await call(env, reviewer, 'GET', '/api/cockpit/export.xlsx?days=30&lang=zh');
    expect(x.statusCode).toBe(200);
    expect(x.headers['content-type']).toContain('spreadsheetml');
    expect(x.rawPayload.subarray(0, 2).toString()).toBe('PK');
  });
});

describe('violations under shenyang-2019 (SY Art 47)', () => {
  let env: Env;
  let clock: ManualClock;

  beforeAll(async () => {
    clock = manualClock(new Date());
    env = await createTestEnv({
      profile: 'shenyang-2019',
      clock,
      demo: { populationRows: 120, entityRows: 60 },
      config: { openRegistrationsPerHour: 50 },
    });
  }, 300_000);
  afterAll(async () => env?.close());

  it('SY Art 47.7: an open-data application not answered within SY Art 34’s 10 days is a finding of the provider; answered, it closes itself', async () => {
    const r = await env.ctx.db
      .selectFrom('resource')
      .select(['id', 'provider_org_id'])
      .where('status', '=', 'published')
      .where('open_type', '=', 'onApplication')
      .where('catalog_level', '!=', 'section')
      .where('data_table', 'is not', null)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const contact = 'wang@example.com';
    const reg = await env.app.inject({
      method: 'POST',
      url: '/api/open/account/register',
      payload: { contact, password: 'Open@2026pass', displayName: '王小明', accountType: 'citizen' },
    });
    expect(reg.statusCode, reg.body).toBe(200);
    const li = await env.app.inject({
      method: 'POST',
      url: '/api/open/account/login',
      payload: { contact, password: 'Open@2026pass' },
    });
    const cookie = `gs_open=${li.cookies.find((c) => c.name === 'gs_open')!.value}`;
    const filed = await call(env, cookie, 'POST', '/api/open/applications', {
      resourceId: Number(r.id),
      purpose: '开展本市企业信用状况学术研究',
      scenario: '高校课题组统计分析，不对外提供明细',
      securityMeasures: '专机存放，课题组成员实名访问，研究结束后删除',
    });
    expect(filed.statusCode, filed.body).toBe(200);
    const a = filed.json();
    clock.set(new Date(clock.now().getTime() + 20 * DAY));
    await detectViolations(env.ctx);
    await detectViolations(env.ctx);
    const mine = await findings(env, 'openApplicationLate');
    expect(mine.length).toBe(1);
    expect(mine[0]).toMatchObject({
      subject: `openApplication:${a.id}`,
      article: 'SY Art 47.7',
      status: 'open',
    });
    expect(Number(mine[0].org_id)).toBe(Number(r.provider_org_id));
    expect(mine[0].evidence).toMatchObject({
      applicationId: a.id,
      dueDate: a.dueDate,
      replyArticle: 'SY Art 34',
    });
    const officer = await officerOf(env, Number(r.provider_org_id));
    expect((await notes(env, officer, 'supervision.violationFound')).length).toBe(1);
    const oc = await login(env.app, officer);
    const dec = await call(env, oc, 'POST', `/api/opening/applications/${a.id}/decision`, {
      decision: 'approve',
      grantDays: 30,
    });
    expect(dec.statusCode, dec.body).toBe(200);
    await detectViolations(env.ctx);
    expect((await findings(env, 'openApplicationLate'))[0]).toMatchObject({
      status: 'closed',
      close_reason: 'resolved',
    });
  });

  it('SY Art 47.9, 29: the profile names each type with its article; the console reads them from the list', async () => {
    const reviewer = await login(env.app, 'reviewer');
    const list = (await call(env, reviewer, 'GET', '/api/violations')).json();
    expect(list.rules).toContainEqual({ type: 'purposeMisuse', article: 'SY Art 47.9, 29' });
    expect(list.rules).toContainEqual({ type: 'dataStale', article: 'SY Art 47.3' });
  });
});

describe('violations under dongguan-2020 (no such article)', () => {
  let env: Env;
  beforeAll(async () => {
    env = await createTestEnv({ profile: 'dongguan-2020', demo: { populationRows: 60, entityRows: 30 } });
  }, 300_000);
  afterAll(async () => env?.close());

  it('a profile without XT Art 41 / SY Art 47 detects nothing, even with stale data; the API says so', async () => {
    await env.ctx.db
      .updateTable('resource')
      .set({ last_ingest_at: new Date(Date.now() - 400 * DAY) })
      .where('status', '=', 'published')
      .execute();
    const r = await detectViolations(env.ctx);
    expect(r).toMatchObject({ applicable: false, created: 0 });
    const n = await env.ctx.db
      .selectFrom('violation')
      .select(sql<number>`count(*)::int`.as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(0);
    const reviewer = await login(env.app, 'reviewer');
    const list = (await call(env, reviewer, 'GET', '/api/violations')).json();
    expect(list).toMatchObject({ applicable: false, rules: [], total: 0 });
    const run = await call(env, reviewer, 'POST', '/api/violations/detect');
    expect(run.statusCode).toBe(409);
    expect(run.json().details[0].field).toBe('profile');
  });
});
