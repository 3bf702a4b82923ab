import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type City, openCity } from './play.js';

/*
 * Xingtai 2024 (draft), XT Art 24: the authority reviews within 3 WD and forwards, the provider replies within 5 WD of
 * receiving it, the authority delivers within 3 WD of the reply. Dates by hand from 国办发明电〔2024〕12号
 * (REFERENCE.md): 2025 National Day off 10/1–10/8; Sunday 9/28 and Saturday 10/11 working days.
 * Filed Monday 2025-09-29: WD1 9/30, WD2 10/9 Thu, WD3 10/10 Fri → authority review due 2025-10-10.
 * Reviewed 10/9: WD1 10/10, WD2 10/11 Sat (调休), WD3 10/13, WD4 10/14, WD5 10/15 → provider due 2025-10-15.
 * Replied 10/15: WD1 10/16, WD2 10/17, WD3 10/20 Mon → delivery due 2025-10-20.
 */
const MARRIAGE = '婚姻登记信息';
let c: City;

beforeAll(async () => {
  c = await openCity('xingtai-2024', '2025-09-29');
});
afterAll(async () => c?.close());

describe('xingtai-2024 conformance', () => {
  it('XT Art 24: three steps across National Day 2025, each counted from the day the previous output arrived', async () => {
    const rsj = await c.as('rsj_officer');
    const res = await c.fileRequest(rsj, MARRIAGE, '社保婚姻核验');
    expect(res.statusCode, res.body).toBe(201);
    const q = res.json();
    expect(q.dueDate).toBe('2025-10-10');
    const reviewer = await c.as('reviewer');
    const mzj = await c.as('mzj_officer');
    c.on('2025-10-09');
    const s1 = (await c.call(reviewer, 'POST', `/api/sharing/requests/${q.id}/approve`, {})).json();
    expect(s1).toMatchObject({ currentStep: 1, dueDate: '2025-10-15' });
    expect(s1.steps[1].holders).toEqual(['provider']);
    // the provider is told it is its turn (in-app notification)
    const turn = (await c.notifications('mzj_officer')).filter((n) => n.params.requestId === q.id);
    expect(turn.map((n) => n.kind)).toEqual(['sharing.yourTurn']);
    c.on('2025-10-15');
    const s2 = (await c.call(mzj, 'POST', `/api/sharing/requests/${q.id}/approve`, {})).json();
    expect(s2).toMatchObject({ currentStep: 2, dueDate: '2025-10-20' });
    c.on('2025-10-20');
    const s3 = (await c.call(reviewer, 'POST', `/api/sharing/requests/${q.id}/approve`, {})).json();
    expect(s3).toMatchObject({ status: 'approved', deemedConsent: false });
    const told = (await c.notifications('rsj_officer')).filter((n) => n.params.requestId === q.id);
    expect(told.map((n) => n.kind)).toContain('sharing.approved');
  });

  it('XT Art 24: a late authority review is reminded (onTimeout remind), not escalated', async () => {
    c.on('2025-09-29');
    const q = (await c.fileRequest(await c.as('jyj_officer'), MARRIAGE, '学籍婚姻核验')).json();
    c.on('2025-10-13');
    await c.tick();
    const kinds = (await c.notifications('reviewer'))
      .filter((n) => n.params.requestId === q.id)
      .map((n) => n.kind);
    expect(kinds).toContain('sharing.overdue');
    expect(kinds).not.toContain('sharing.escalated');
    const r = (await c.call(await c.as('jyj_officer'), 'GET', `/api/sharing/requests/${q.id}`)).json();
    expect(r).toMatchObject({ status: 'pending', overdue: true, escalatedOn: null });
  });

  it('XT Art 24 / Art 41: a provider that misses its 5 WD is put before the authority the next day', async () => {
    c.on('2025-09-29');
    const q = (await c.fileRequest(await c.as('jtj_officer'), MARRIAGE, '从业婚姻核验')).json();
    c.on('2025-10-09');
    await c.call(await c.as('reviewer'), 'POST', `/api/sharing/requests/${q.id}/approve`, {});
    c.on('2025-10-15');
    await c.tick();
    expect(
      (await c.call(await c.as('jtj_officer'), 'GET', `/api/sharing/requests/${q.id}`)).json().escalatedOn,
    ).toBe(null);
    c.on('2025-10-16');
    await c.tick();
    const r = (await c.call(await c.as('jtj_officer'), 'GET', `/api/sharing/requests/${q.id}`)).json();
    expect(r.escalatedOn).toBe('2025-10-16');
  });

  it('XT Art 24: a refusal states a reason (no legal basis demanded)', async () => {
    c.on('2025-10-20');
    const q = (await c.fileRequest(await c.as('swj_officer'), MARRIAGE, '纳税婚姻核验')).json();
    const r = await c.call(await c.as('reviewer'), 'POST', `/api/sharing/requests/${q.id}/reject`, {
      reason: '与申请部门职责无关',
    });
    expect(r.json()).toMatchObject({ status: 'rejected' });
  });
});

/*
 * XT Art 22 (issue 12): a rectification task opened Wednesday 2026-09-30, before National Day (10/1–10/7 off, Saturday
 * 10/10 a working day): WD1 10/8 … WD10 10/20 (10/8, 10/9, 10/10, 10/12–10/16, 10/19, 10/20) → due 2026-10-20.
 */
describe('xingtai-2024 conformance: rectification (XT Art 22)', () => {
  it('XT Art 22: the authority gives the provider 10 WD across National Day', async () => {
    c.on('2026-09-30');
    const reviewer = await c.as('reviewer');
    const r = await c.resource(reviewer, '婚姻登记信息');
    const t = await c.call(reviewer, 'POST', '/api/quality/rectifications', {
      resourceId: r.id,
      title: '婚姻登记信息时效整改',
      description: '抽查发现离婚登记信息平均滞后 20 天。',
    });
    expect(t.statusCode, t.body).toBe(200);
    expect(t.json()).toMatchObject({ dueDate: '2026-10-20', article: 'XT Art 22', status: 'open' });
  });
});

/*
 * XT Art 26 (issue 8 point 9): a cross-level need goes "通过本级数据主管部门向上级数据主管部门申请". 江城区民政局 (a county
 * department) asks for the city's 婚姻登记信息: 江城区's authority reviews first within 3 WD, then the city's XT Art 24
 * path. Filed Monday 2025-09-29 (National Day 2025: 10/1–10/8 off, Sat 10/11 a working day):
 * county review WD1 9/30, WD2 10/9, WD3 10/10 → due 2025-10-10; forwarded 10/9 → city review WD1 10/10, WD2 10/11 Sat,
 * WD3 10/13 → due 2025-10-13; reviewed 10/13 → provider WD1 10/14 … WD5 10/20 → due 2025-10-20; replied 10/20 →
 * delivery WD1 10/21, WD2 10/22, WD3 10/23 → due 2025-10-23.
 */
describe('xingtai-2024 conformance: cross-level requests (XT Art 26)', () => {
  const incoming = async (cookie: string) =>
    (await c.call(cookie, 'GET', '/api/sharing/requests?box=incoming&pageSize=100'))
      .json()
      .items.map((r: { id: number }) => r.id);

  it('XT Art 26: a county department asks through its county authority, then the city path runs; each authority sees only its own step', async () => {
    c.on('2025-09-29');
    const res = await c.fileRequest(await c.as('jc_mzj_officer'), MARRIAGE, '江城区婚姻核验');
    expect(res.statusCode, res.body).toBe(201);
    const q = res.json();
    expect(q.dueDate).toBe('2025-10-10');
    expect(q.steps.map((s: { key: string; level: string }) => [s.key, s.level])).toEqual([
      ['localAuthorityReview', 'county'],
      ['authorityReview', 'city'],
      ['providerReview', 'city'],
      ['authorityDelivery', 'city'],
    ]);
    expect(q.steps[0]).toMatchObject({
      article: 'XT Art 26',
      authorityOrg: { name: '临江市江城区政务服务数据管理局' },
      holders: ['authority'],
    });
    expect(q.steps[1].authorityOrg.name).toBe('临江市政务服务数据管理局');
    const approve = `/api/sharing/requests/${q.id}/approve`;
    const [reviewer, jc, qs] = [await c.as('reviewer'), await c.as('jc_reviewer'), await c.as('qs_reviewer')];
    // the county's step waits for 江城区 only: not for the city, not for the other county
    expect(await incoming(jc)).toContain(q.id);
    expect(await incoming(reviewer)).not.toContain(q.id);
    expect(await incoming(qs)).not.toContain(q.id);
    expect((await c.call(reviewer, 'POST', approve, {})).statusCode).toBe(403);
    expect((await c.call(qs, 'POST', approve, {})).statusCode).toBe(403);
    c.on('2025-10-09');
    const s1 = (await c.call(jc, 'POST', approve, { comment: '属本区履职需要，报市数据主管部门' })).json();
    expect(s1).toMatchObject({ currentStep: 1, dueDate: '2025-10-13' });
    // now the city authority holds it, is told so, and the county no longer can act on it
    expect(await incoming(reviewer)).toContain(q.id);
    expect(await incoming(jc)).not.toContain(q.id);
    expect((await c.call(jc, 'POST', approve, {})).statusCode).toBe(403);
    const told = (await c.notifications('reviewer')).filter((n) => n.params.requestId === q.id);
    expect(told.map((n) => n.kind)).toContain('sharing.yourTurn');
    expect((await c.notifications('qs_reviewer')).filter((n) => n.params.requestId === q.id)).toEqual([]);
    c.on('2025-10-13');
    expect((await c.call(reviewer, 'POST', approve, {})).json()).toMatchObject({
      currentStep: 2,
      dueDate: '2025-10-20',
    });
    c.on('2025-10-20');
    expect((await c.call(await c.as('mzj_officer'), 'POST', approve, {})).json()).toMatchObject({
      currentStep: 3,
      dueDate: '2025-10-23',
    });
    const done = (await c.call(reviewer, 'POST', approve, {})).json();
    expect(done.status).toBe('approved');
    // the timeline shows both levels and who decided at each
    expect(done.steps[0]).toMatchObject({ level: 'county', decision: 'approved', decidedBy: '彭志华' });
    expect(done.steps[1]).toMatchObject({ level: 'city', decision: 'approved', decidedBy: '林晓燕' });
    // the audit names the cross-level path of the request
    const filed = await c.env.ctx.db
      .selectFrom('audit_log')
      .select('detail')
      .where('action', '=', 'share.request')
      .where('target_id', '=', String(q.id))
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(filed.detail)).toContain('XT Art 26');
  });

  it('XT Art 26 with Art 24: even unconditional city data goes through the county authority, then the city supplies it', async () => {
    c.on('2025-10-20');
    const res = await c.fileRequest(await c.as('qs_rsj_officer'), '法人单位基础信息', '青山县就业核验');
    expect(res.statusCode, res.body).toBe(201);
    const q = res.json();
    expect(q.steps.map((s: { key: string; level: string }) => [s.key, s.level])).toEqual([
      ['localAuthorityReview', 'county'],
      ['authorityDelivery', 'city'],
    ]);
    expect(await incoming(await c.as('qs_reviewer'))).toContain(q.id);
    expect(await incoming(await c.as('jc_reviewer'))).not.toContain(q.id);
  });
});
