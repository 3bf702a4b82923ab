import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, login, type TestEnv } from '../helpers.js';

/** Issue 10 points 6 and 11: incidents reach who they must, and close only when everyone the regulation names was told. */
async function report(env: TestEnv, cookie: string) {
  const res = await env.app.inject({
    method: 'POST',
    url: '/api/security/incidents',
    headers: { cookie },
    payload: {
      title: '人口库接口疑似泄露',
      category: 'leak',
      severity: 'major',
      description: '监测到某应用在非工作时间批量读取人口基础信息。',
      detectedAt: new Date(Date.now() - 3600_000).toISOString(),
    },
  });
  expect(res.statusCode).toBe(200);
  return res.json().id as number;
}

const event = (env: TestEnv, cookie: string, id: number, payload: object) =>
  env.app.inject({
    method: 'POST',
    url: `/api/security/incidents/${id}/events`,
    headers: { cookie },
    payload: { at: new Date().toISOString(), ...payload },
  });

const close = (env: TestEnv, cookie: string, id: number) =>
  env.app.inject({
    method: 'POST',
    url: `/api/security/incidents/${id}/close`,
    headers: { cookie },
    payload: { report: '已封禁相关应用密钥，完成溯源并整改。' },
  });

describe('incidents under dongguan-2020', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 200, entityRows: 100 } });
  });
  afterAll(async () => env?.close());

  it('DG Art 32: the authority is told at once in the platform; closing waits for the cyberspace administration notice', async () => {
    const officer = await login(env.app, 'gaj_officer');
    const id = await report(env, officer);
    const told = await env.ctx.db
      .selectFrom('notification as n')
      .innerJoin('app_user as u', 'u.id', 'n.user_id')
      .select('u.username')
      .where('n.kind', '=', 'security.incidentReported')
      .execute();
    const names = told.map((t) => t.username);
    expect(names).toEqual(expect.arrayContaining(['admin', 'reviewer', 'auditor', 'gaj_officer']));
    expect(names).not.toContain('rsj_officer');

    const reviewer = await login(env.app, 'reviewer');
    let detail = (
      await env.app.inject({ url: `/api/security/incidents/${id}`, headers: { cookie: reviewer } })
    ).json();
    expect(detail.notices).toEqual([
      { recipient: 'authority', done: true },
      { recipient: 'cyberspace', done: false },
    ]);
    const early = await close(env, reviewer, id);
    expect(early.statusCode).toBe(409);
    expect(early.json().code).toBe('INCIDENT_NOTICE_PENDING');
    expect(early.json().details[0].reasonZh).toContain('东莞办法第三十二条');
    expect(early.json().details[0].reasonZh).toContain('网信部门');

    // another department's officer neither sees nor acts on it
    const rsj = await login(env.app, 'rsj_officer');
    expect(
      (await env.app.inject({ url: `/api/security/incidents/${id}`, headers: { cookie: rsj } })).statusCode,
    ).toBe(404);
    expect((await event(env, rsj, id, { kind: 'response', text: '插手' })).statusCode).toBe(403);
    // a notice must name who was told
    expect((await event(env, officer, id, { kind: 'notice', text: '已报告' })).statusCode).toBe(400);

    expect((await event(env, officer, id, { kind: 'response', text: '已停用相关应用密钥' })).statusCode).toBe(
      200,
    );
    const notice = await event(env, officer, id, {
      kind: 'notice',
      recipient: 'cyberspace',
      channel: '书面报告',
      text: '已向市委网信办书面报告',
    });
    expect(notice.statusCode).toBe(200);
    // only the authority closes
    expect((await close(env, officer, id)).statusCode).toBe(403);
    const closed = await close(env, reviewer, id);
    expect(closed.statusCode).toBe(200);
    detail = closed.json();
    expect(detail.status).toBe('closed');
    expect(detail.events.map((e: { kind: string }) => e.kind)).toEqual(['notice', 'response', 'notice']);
    expect((await event(env, officer, id, { kind: 'response', text: '补充' })).statusCode).toBe(409);

    const actions = await env.ctx.db
      .selectFrom('audit_log')
      .select('action')
      .where('target_type', '=', 'security_incident')
      .where('target_id', '=', String(id))
      .orderBy('id')
      .execute();
    expect(actions.map((a) => a.action)).toEqual([
      'security.incident_reported',
      'security.incident_response',
      'security.incident_notice',
      'security.incident_closed',
    ]);
  });
});

describe('incidents under other profiles', () => {
  it('SY Art 44: the affected users must be told before closing; XT names nobody, so an incident closes with its report', async () => {
    const sy = await createTestEnv({
      profile: 'shenyang-2019',
      demo: { populationRows: 100, entityRows: 50 },
    });
    try {
      const id = await report(sy, await login(sy.app, 'gaj_officer'));
      const reviewer = await login(sy.app, 'reviewer');
      const res = await close(sy, reviewer, id);
      expect(res.statusCode).toBe(409);
      expect(
        res
          .json()
          .details.map((d: { reasonZh: string }) => d.reasonZh)
          .join(),
      ).toContain('受影响的用户');
      await event(sy, reviewer, id, {
        kind: 'notice',
        recipient: 'affectedUsers',
        channel: '短信',
        text: '已短信告知',
      });
      expect((await close(sy, reviewer, id)).statusCode).toBe(200);
    } finally {
      await sy.close();
    }
    const xt = await createTestEnv({
      profile: 'xingtai-2024',
      demo: { populationRows: 100, entityRows: 50 },
    });
    try {
      const id = await report(xt, await login(xt.app, 'gaj_officer'));
      const reviewer = await login(xt.app, 'reviewer');
      const detail = (
        await xt.app.inject({ url: `/api/security/incidents/${id}`, headers: { cookie: reviewer } })
      ).json();
      expect(detail.notices).toEqual([]);
      expect((await close(xt, reviewer, id)).statusCode).toBe(200);
    } finally {
      await xt.close();
    }
  });
});
