import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type City, openCity } from './conformance/play.js';
import { passRiskAssessment } from './helpers.js';

/*
 * Issue 8 points 6–8: disputes (DG Art 15, SY Art 28), supply stops (SY Art 27) and emergencies (XT Art 23.7, NY task 7).
 * Each exists only where the profile names it. Dates are Beijing days worked out by hand (no holiday in
 * March 2030: 3/4 is a Monday). The year lies ahead of the real date because the data API judges a grant's end by
 * the database's clock; 2030's holidays are not announced, so working days are Monday to Friday (REFERENCE.md).
 */
const MARRIAGE = '婚姻登记信息'; // 市民政局, conditional (on the demo's negative list)
const CENSUS = '第五次全国经济普查单位资料'; // 市统计局, not shared (on the negative list)
const PURPOSE = '办理遗属待遇时核验婚姻关系';

async function request(c: City, resource: string, app: string) {
  const rsj = await c.as('rsj_officer');
  const r = await c.resource(rsj, resource);
  const a = await c.newApp(rsj, app);
  const res = await c.call(rsj, 'POST', '/api/sharing/requests', {
    resourceId: r.id,
    appId: a.id,
    fields: r.fields.slice(0, 2),
    purpose: PURPOSE,
    scope: '本部门社会保险待遇审核业务',
    validUntil: '2099-12-31',
  });
  return { res, resource: r, apiKey: a.apiKey };
}

async function dataCall(c: City, code: string, apiKey: string) {
  return c.env.app.inject({
    method: 'GET',
    url: `/api/v1/data/${encodeURIComponent(code)}/records?limit=1`,
    headers: { 'x-api-key': apiKey, 'x-purpose': encodeURIComponent(PURPOSE) },
  });
}

const kinds = async (c: City, user: string, kind: string) =>
  (await c.notifications(user)).filter((n) => n.kind === kind);

async function auditActions(c: City, targetType: string, id: number) {
  const rows = await c.env.ctx.db
    .selectFrom('audit_log')
    .select(['action', 'detail'])
    .where('target_type', '=', targetType)
    .where('target_id', '=', String(id))
    .orderBy('id')
    .execute();
  return rows.map((r) => r.action);
}

describe('shenyang-2019: disputes go to the authority, then the city government (SY Art 28); stops are filed in advance (SY Art 27)', () => {
  let c: City;
  beforeAll(async () => {
    c = await openCity('shenyang-2019', '2030-03-04');
  });
  afterAll(async () => c?.close());

  let requestId: number;
  let disputeId: number;
  let apiKey: string;
  let code: string;

  it('SY Art 28: the consumer contests a refusal; only a refused request, only once at a time, only by its parties', async () => {
    const { res, resource, apiKey: key } = await request(c, MARRIAGE, '遗属待遇审核');
    expect(res.statusCode, res.body).toBe(201);
    requestId = res.json().id;
    apiKey = key;
    code = resource.code;
    const rsj = await c.as('rsj_officer');
    // not refused yet: nothing to contest
    const early = await c.call(rsj, 'POST', `/api/sharing/requests/${requestId}/dispute`, {
      reason: '我局依法需要核验婚姻关系',
    });
    expect(early.statusCode).toBe(409);
    expect(early.json().code).toBe('CASE_STATE_INVALID');
    const mzj = await c.as('mzj_officer');
    const refused = await c.call(mzj, 'POST', `/api/sharing/requests/${requestId}/reject`, {
      reason: '涉及个人隐私',
      legalBasis: '《婚姻登记条例》',
    });
    expect(refused.statusCode, refused.body).toBe(200);
    // another department cannot contest it
    const other = await c.call(
      await c.as('gaj_officer'),
      'POST',
      `/api/sharing/requests/${requestId}/dispute`,
      {
        reason: '我们也需要',
      },
    );
    expect(other.statusCode).toBe(404);
    const raised = await c.call(rsj, 'POST', `/api/sharing/requests/${requestId}/dispute`, {
      reason: '遗属待遇审核须核验婚姻关系，《社会保险法》第十七条有明确规定',
    });
    expect(raised.statusCode, raised.body).toBe(201);
    disputeId = raised.json().id;
    expect(raised.json()).toMatchObject({ status: 'open', article: 'SY Art 28', canDecide: false });
    const twice = await c.call(rsj, 'POST', `/api/sharing/requests/${requestId}/dispute`, {
      reason: '再次提出争议',
    });
    expect(twice.json().code).toBe('CASE_STATE_INVALID');
    // the authority and the provider hear of it
    expect(await kinds(c, 'reviewer', 'sharing.disputeRaised')).toHaveLength(1);
    expect(await kinds(c, 'mzj_officer', 'sharing.disputeRaised')).toHaveLength(1);
    // it waits on the reviewer's home page
    const work = (await c.call(await c.as('reviewer'), 'GET', '/api/work')).json();
    expect(work.items).toContainEqual(
      expect.objectContaining({ kind: 'dispute', id: disputeId, stepZh: '待协调处理' }),
    );
    // a bystander does not see it
    expect(
      (await c.call(await c.as('gaj_officer'), 'GET', `/api/sharing/disputes/${disputeId}`)).statusCode,
    ).toBe(404);
  });

  it('SY Art 28: the provider cannot decide; the authority refers what it cannot settle to the city government, then records its decision: shared', async () => {
    const mzj = await c.as('mzj_officer');
    const self = await c.call(mzj, 'POST', `/api/sharing/disputes/${disputeId}/decide`, {
      outcome: 'upheld',
      comment: '维持',
    });
    expect(self.statusCode).toBe(403);
    const reviewer = await c.as('reviewer');
    const view = (await c.call(reviewer, 'GET', `/api/sharing/disputes/${disputeId}`)).json();
    expect(view).toMatchObject({ canDecide: true, canRefer: true });
    const referred = await c.call(reviewer, 'POST', `/api/sharing/disputes/${disputeId}/decide`, {
      outcome: 'referred',
      comment: '双方意见分歧较大，协调不成，报市政府决定',
    });
    expect(referred.statusCode, referred.body).toBe(200);
    expect(referred.json()).toMatchObject({
      status: 'referred',
      referredOn: '2030-03-04',
      canRefer: false,
      canDecide: true,
    });
    expect(await kinds(c, 'rsj_officer', 'sharing.disputeReferred')).toHaveLength(1);
    // still refused: no data before the decision
    expect((await dataCall(c, code, apiKey)).statusCode).toBe(403);

    c.on('2030-03-11');
    const decided = await c.call(reviewer, 'POST', `/api/sharing/disputes/${disputeId}/decide`, {
      outcome: 'overturned',
      comment: '市政府决定：依法予以共享',
    });
    expect(decided.statusCode, decided.body).toBe(200);
    expect(decided.json()).toMatchObject({
      status: 'overturned',
      decidedLevel: 'government',
      canDecide: false,
    });
    const q = (await c.call(await c.as('rsj_officer'), 'GET', `/api/sharing/requests/${requestId}`)).json();
    expect(q.status).toBe('approved');
    expect(q.grantId).toBe(decided.json().grantId);
    // important data (SY Art 42): the grant is active once the authority records a passing risk assessment
    expect((await dataCall(c, code, apiKey)).json().code).toBe('RISK_ASSESSMENT_REQUIRED');
    await passRiskAssessment(c.env.app, requestId, reviewer);
    expect((await dataCall(c, code, apiKey)).statusCode).toBe(200);
    expect(await kinds(c, 'rsj_officer', 'sharing.disputeOverturned')).toHaveLength(1);
    expect(await auditActions(c, 'share_dispute', disputeId)).toEqual([
      'share.dispute.raise',
      'share.dispute.refer',
      'share.dispute.decide',
    ]);
    const again = await c.call(reviewer, 'POST', `/api/sharing/disputes/${disputeId}/decide`, {
      outcome: 'upheld',
      comment: '再次处理',
    });
    expect(again.json().code).toBe('CASE_STATE_INVALID');
  });

  it('SY Art 27: a stop is filed in advance with its justification: not for today; the authority receives it; new requests are refused; the grant ends on the day', async () => {
    const mzj = await c.as('mzj_officer');
    const r = await c.resource(mzj, MARRIAGE);
    const today = await c.call(mzj, 'POST', '/api/sharing/supply-stops', {
      resourceId: r.id,
      reason: '婚姻登记系统迁移至省级平台',
      effectiveOn: '2030-03-11',
    });
    expect(today.statusCode).toBe(400);
    expect(today.json().details[0]).toMatchObject({ field: 'effectiveOn' });
    expect(today.json().details[0].reasonZh).toContain('沈阳条例第二十七条');
    // only the provider's officer
    const stranger = await c.call(await c.as('gaj_officer'), 'POST', '/api/sharing/supply-stops', {
      resourceId: r.id,
      reason: '不是我们的资源',
      effectiveOn: '2030-03-14',
    });
    expect(stranger.statusCode).toBe(403);
    const filed = await c.call(mzj, 'POST', '/api/sharing/supply-stops', {
      resourceId: r.id,
      reason: '婚姻登记系统迁移至省级平台，由省平台统一提供',
      effectiveOn: '2030-03-14',
    });
    expect(filed.statusCode, filed.body).toBe(201);
    const stop = filed.json();
    expect(stop).toMatchObject({
      status: 'filed',
      effectiveOn: '2030-03-14',
      article: 'SY Art 27',
      grantsAffected: 1,
    });
    expect(await kinds(c, 'reviewer', 'sharing.supplyStopFiled')).toHaveLength(1);
    expect(await kinds(c, 'rsj_officer', 'sharing.supplyStopFiled')).toHaveLength(1);
    const late = await request(c, MARRIAGE, '又一个应用');
    expect(late.res.statusCode).toBe(409);
    expect(late.res.json().code).toBe('SUPPLY_STOPPED');
    // the grant is cut back to the start of 3/12, Beijing time; until then calls go on
    expect((await dataCall(c, code, apiKey)).statusCode).toBe(200);
    c.on('2030-03-14');
    await c.tick();
    expect((await dataCall(c, code, apiKey)).statusCode).toBe(403);
    const after = (await c.call(mzj, 'GET', '/api/sharing/supply-stops')).json();
    expect(after.items.find((s: { id: number }) => s.id === stop.id)).toMatchObject({ status: 'effective' });
    const grants = (await c.call(await c.as('rsj_officer'), 'GET', '/api/sharing/grants')).json();
    expect(grants.filter((g: { resource: { id: number } }) => g.resource.id === r.id)).toEqual([
      expect.objectContaining({ status: 'revoked' }),
    ]);
    expect(await kinds(c, 'rsj_officer', 'sharing.supplyStopped')).toHaveLength(1);
    expect(await auditActions(c, 'supply_stop', stop.id)).toEqual([
      'share.supplyStop.file',
      'share.supplyStop.effective',
    ]);
  });

  it('SY has no emergency procedure: declaring one is refused and audited', async () => {
    const reviewer = await c.as('reviewer');
    const r = await c.resource(reviewer, '人口基础信息');
    const res = await c.call(reviewer, 'POST', '/api/sharing/emergencies', {
      reason: '防汛应急',
      resourceIds: [r.id],
      endsAt: '2030-03-22T00:00:00+08:00',
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('CASE_NOT_IN_PROFILE');
    const refusal = await c.env.ctx.db
      .selectFrom('audit_log')
      .select(['detail'])
      .where('decision', '=', 'deny')
      .where('action', '=', 'http.refused')
      .execute();
    expect(refusal.map((r) => r.detail)).toContainEqual(
      expect.objectContaining({ code: 'CASE_NOT_IN_PROFILE', route: '/api/sharing/emergencies' }),
    );
  });
});

describe('xingtai-2024: emergencies reclassify (XT Art 23.7); no dispute procedure; a stop needs no advance filing', () => {
  let c: City;
  beforeAll(async () => {
    c = await openCity('xingtai-2024', '2030-03-04');
  });
  afterAll(async () => c?.close());

  it('XT has no dispute procedure: contesting is refused', async () => {
    const { res } = await request(c, MARRIAGE, '遗属待遇审核');
    expect(res.statusCode, res.body).toBe(201);
    const out = await c.call(
      await c.as('rsj_officer'),
      'POST',
      `/api/sharing/requests/${res.json().id}/dispute`,
      {
        reason: '我们需要这些数据',
      },
    );
    expect(out.statusCode).toBe(409);
    expect(out.json().code).toBe('CASE_NOT_IN_PROFILE');
  });

  it('XT Art 23.7: under an emergency a conditional resource is shared as unconditional; the grant lapses when the emergency ends', async () => {
    const reviewer = await c.as('reviewer');
    const r = await c.resource(reviewer, MARRIAGE);
    const census = await c.resource(reviewer, CENSUS);
    // not shared (on the negative list with its basis, XT Art 23): no request before the emergency
    expect((await request(c, CENSUS, '普查资料')).res.json().code).toBe('NOT_SHAREABLE');
    // only the authority declares
    const officer = await c.call(await c.as('rsj_officer'), 'POST', '/api/sharing/emergencies', {
      reason: '防汛救灾',
      resourceIds: [r.id],
      endsAt: '2030-03-07T18:00:00+08:00',
    });
    expect(officer.statusCode).toBe(403);
    const tooLong = await c.call(reviewer, 'POST', '/api/sharing/emergencies', {
      reason: '防汛救灾',
      resourceIds: [r.id],
      endsAt: '2030-12-31T18:00:00+08:00',
    });
    expect(tooLong.statusCode).toBe(400);
    const declared = await c.call(reviewer, 'POST', '/api/sharing/emergencies', {
      reason: '特大暴雨，转移安置受灾群众须核对婚姻关系和受灾单位',
      resourceIds: [r.id, census.id],
      endsAt: '2030-03-07T18:00:00+08:00',
    });
    expect(declared.statusCode, declared.body).toBe(201);
    const e = declared.json();
    expect(e).toMatchObject({ status: 'active', mode: 'reclassify', article: 'XT Art 23.7' });
    expect(await kinds(c, 'mzj_officer', 'sharing.emergencyDeclared')).toHaveLength(1);

    // XT Art 23.7: conditional and not-shared data are shared as unconditional while it lasts
    expect((await request(c, CENSUS, '受灾单位核查')).res.statusCode).toBe(201);
    const { res, apiKey, resource } = await request(c, MARRIAGE, '受灾群众安置');
    expect(res.statusCode, res.body).toBe(201);
    const q = res.json();
    // XT Art 24: unconditional data is supplied by the authority (one step), not the provider's conditional review
    expect(q.steps.map((s: { key: string }) => s.key)).toEqual(['authorityDelivery']);
    const approved = await c.call(reviewer, 'POST', `/api/sharing/requests/${q.id}/approve`, {});
    expect(approved.statusCode, approved.body).toBe(200);
    const grant = (await c.call(await c.as('rsj_officer'), 'GET', '/api/sharing/grants'))
      .json()
      .find((g: { id: number }) => g.id === approved.json().grantId);
    // the grant ends with the emergency, not on the requested 2099-12-31
    expect(new Date(grant.validUntil).toISOString()).toBe('2030-03-07T10:00:00.000Z');
    // important data: an emergency does not waive the risk assessment (XT Art 31)
    await passRiskAssessment(c.env.app, q.id, reviewer);
    const call = await dataCall(c, resource.code, apiKey);
    expect(call.statusCode, call.body).toBe(200);

    c.clock.set('2030-03-07T18:00:01+08:00');
    await c.tick();
    expect((await dataCall(c, resource.code, apiKey)).statusCode).toBe(403);
    const list = (await c.call(reviewer, 'GET', '/api/sharing/emergencies')).json();
    expect(list.find((x: { id: number }) => x.id === e.id)).toMatchObject({ status: 'ended', grants: 1 });
    expect(await auditActions(c, 'share_emergency', e.id)).toEqual([
      'share.emergency.declare',
      'share.emergency.end',
    ]);
    // after it, the resource follows its own share type again: the conditional review
    const again = await request(c, MARRIAGE, '灾后复核');
    expect(again.res.json().steps.map((s: { key: string }) => s.key)).not.toEqual(['authorityDelivery']);
  });

  it('XT names no advance filing: a provider may stop supplying today; cancelling an effective stop resumes supply', async () => {
    const mzj = await c.as('mzj_officer');
    const r = await c.resource(mzj, MARRIAGE);
    const filed = await c.call(mzj, 'POST', '/api/sharing/supply-stops', {
      resourceId: r.id,
      reason: '数据源系统下线',
      effectiveOn: '2030-03-07',
    });
    expect(filed.statusCode, filed.body).toBe(201);
    expect(filed.json()).toMatchObject({ status: 'effective', article: null });
    expect((await request(c, MARRIAGE, '新应用')).res.json().code).toBe('SUPPLY_STOPPED');
    const cancelled = await c.call(mzj, 'POST', `/api/sharing/supply-stops/${filed.json().id}/cancel`);
    expect(cancelled.json()).toMatchObject({ status: 'cancelled', canCancel: false });
    expect((await request(c, MARRIAGE, '恢复后的应用')).res.statusCode).toBe(201);
  });
});

describe('nanyang-2022: the green channel (NY task 7)', () => {
  let c: City;
  beforeAll(async () => {
    c = await openCity('nanyang-2022', '2030-03-04');
  });
  afterAll(async () => c?.close());

  it('NY task 7: during an emergency every step of a request is due the day it starts; a cancelled stop gives grants their own end back', async () => {
    const reviewer = await c.as('reviewer');
    const r = await c.resource(reviewer, MARRIAGE);
    const normal = await request(c, MARRIAGE, '平时的应用');
    expect(normal.res.json().dueDate > '2030-03-04').toBe(true);
    const declared = await c.call(reviewer, 'POST', '/api/sharing/emergencies', {
      reason: '突发公共卫生事件，流调须核对婚姻关系',
      resourceIds: [r.id],
      endsAt: '2030-03-12T18:00:00+08:00',
    });
    expect(declared.json()).toMatchObject({ mode: 'greenChannel', article: 'NY task 7' });
    const green = await request(c, MARRIAGE, '应急流调');
    expect(green.res.statusCode, green.res.body).toBe(201);
    expect(green.res.json()).toMatchObject({ dueDate: '2030-03-04', workdaysLeft: 0 });
    const ended = await c.call(reviewer, 'POST', `/api/sharing/emergencies/${declared.json().id}/end`);
    expect(ended.json()).toMatchObject({ status: 'ended' });

    // approve the first request, then a stop filed and withdrawn leaves its grant's end untouched
    const mzj = await c.as('mzj_officer');
    const ok = await c.call(mzj, 'POST', `/api/sharing/requests/${normal.res.json().id}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    const grantEnd = async () =>
      (await c.call(await c.as('rsj_officer'), 'GET', '/api/sharing/grants'))
        .json()
        .find((g: { id: number }) => g.id === ok.json().grantId).validUntil;
    const before = await grantEnd();
    const stop = await c.call(mzj, 'POST', '/api/sharing/supply-stops', {
      resourceId: r.id,
      reason: '系统升级暂停',
      effectiveOn: '2030-03-22',
    });
    expect(stop.json().grantsAffected).toBe(1);
    expect(await grantEnd()).not.toBe(before);
    await c.call(mzj, 'POST', `/api/sharing/supply-stops/${stop.json().id}/cancel`);
    expect(await grantEnd()).toBe(before);
  });
});
