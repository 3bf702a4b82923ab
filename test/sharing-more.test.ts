import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type City, openCity } from './conformance/play.js';
import { grantedApp, passRiskAssessment, TEST_PURPOSE } from './helpers.js';

/*
 * Issue 8 points 3, 10, 11 and 12: resubmission after a refusal, the provide-and-use agreement (DG Art 18) and the
 * use-purpose undertaking on every grant, the periodic re-evaluation of restricted resources (XT Art 23.5, SY Art 31),
 * request volume and on-time rate per department. Dates are Beijing days worked out by hand: 2030's holidays are not
 * announced, so its working days are Monday to Friday (REFERENCE.md); 2030-03-04 is a Monday. The year lies ahead of
 * the real date because the data API judges a grant's validity by the database's clock.
 */
const MARRIAGE = '婚姻登记信息'; // 市民政局 (mzj), conditional
const CENSUS = '第五次全国经济普查单位资料'; // 市统计局 (tjj), not shared
const PURPOSE = '办理遗属待遇时核验婚姻关系';

const kinds = async (c: City, user: string, kind: string, resource?: string) =>
  (await c.notifications(user)).filter(
    (n) => n.kind === kind && (resource === undefined || n.params.resource === resource),
  );

async function audits(c: City, action: string, targetId: number) {
  return c.env.ctx.db
    .selectFrom('audit_log')
    .select(['action', 'decision', 'detail', 'actor_user_id'])
    .where('action', '=', action)
    .where('target_id', '=', String(targetId))
    .execute();
}

async function dataCall(c: City, code: string, apiKey: string, purpose = encodeURIComponent(PURPOSE)) {
  return c.env.app.inject({
    method: 'GET',
    url: `/api/v1/data/${encodeURIComponent(code)}/records?limit=1`,
    headers: { 'x-api-key': apiKey, 'x-purpose': purpose },
  });
}

describe('dongguan-2020: a refused request is amended and resubmitted; the grant carries the provide-and-use agreement (DG Art 18)', () => {
  let c: City;
  beforeAll(async () => {
    c = await openCity('dongguan-2020', '2030-03-04');
  }, 600_000);
  afterAll(async () => c?.close());

  let requestId: number;
  let code: string;
  let apiKey: string;
  let fields: string[];

  it('issue 8 point 3 (DG Art 20, 24): only a refused request is resubmitted, only by its requester or its officer, and a bad amendment writes nothing', async () => {
    const rsj = await c.as('rsj_officer');
    const r = await c.resource(rsj, MARRIAGE);
    code = r.code;
    fields = r.fields;
    const a = await c.newApp(rsj, '遗属待遇审核');
    apiKey = a.apiKey;
    const filed = await c.call(rsj, 'POST', '/api/sharing/requests', {
      resourceId: r.id,
      appId: a.id,
      fields: r.fields.slice(0, 3),
      purpose: PURPOSE,
      scope: '本部门业务',
      validUntil: '2099-12-31',
    });
    expect(filed.statusCode, filed.body).toBe(201);
    requestId = filed.json().id;
    // 10 WD (GD Art 19) from Mon 3/4, the day itself not counted: 3/5…3/8 (4), 3/11…3/15 (9), 3/18 (10)
    expect(filed.json().dueDate).toBe('2030-03-18');
    const pending = await c.call(rsj, 'POST', `/api/sharing/requests/${requestId}/resubmit`, {
      note: '补充',
    });
    expect(pending.statusCode).toBe(409);
    expect(pending.json().code).toBe('REQUEST_NOT_RETURNED');

    c.on('2030-03-06');
    const mzj = await c.as('mzj_officer');
    const refused = await c.call(mzj, 'POST', `/api/sharing/requests/${requestId}/reject`, {
      reason: '业务范围不明确，请补充说明',
      legalBasis: '《婚姻登记条例》第二条',
    });
    expect(refused.statusCode, refused.body).toBe(200);
    expect(refused.json()).toMatchObject({ status: 'rejected', canResubmit: false });
    expect((await c.call(rsj, 'GET', `/api/sharing/requests/${requestId}`)).json().canResubmit).toBe(true);
    // the provider and a bystander cannot resubmit it
    for (const who of ['mzj_officer', 'gaj_officer']) {
      const res = await c.call(await c.as(who), 'POST', `/api/sharing/requests/${requestId}/resubmit`, {
        note: '补充业务范围说明',
      });
      expect(res.statusCode, who).toBe(404);
    }
    // an amendment that breaks the request rules writes nothing
    const bad = await c.call(rsj, 'POST', `/api/sharing/requests/${requestId}/resubmit`, {
      note: '补充业务范围说明',
      scope: ' ',
      fields: ['noSuchField'],
    });
    expect(bad.statusCode).toBe(400);
    expect(
      bad
        .json()
        .details.map((d: { field: string }) => d.field)
        .sort(),
    ).toEqual(['fields', 'scope']);
    const after = (await c.call(rsj, 'GET', `/api/sharing/requests/${requestId}`)).json();
    expect(after).toMatchObject({ status: 'rejected', scope: '本部门业务', resubmissions: [] });
  });

  it('issue 8 point 3 (DG Art 20; deadline GD Art 19): the resubmitted request restarts the refusing step with its 10 WD, keeps the refusal in its timeline, is audited and notifies the provider', async () => {
    c.on('2030-03-08');
    const rsj = await c.as('rsj_officer');
    const res = await c.call(rsj, 'POST', `/api/sharing/requests/${requestId}/resubmit`, {
      note: '补充：用于遗属待遇资格审核，仅核验婚姻状况',
      scope: '遗属待遇资格审核中的婚姻关系核验',
      fields: fields.slice(0, 2),
    });
    expect(res.statusCode, res.body).toBe(200);
    const q = res.json();
    // from Fri 3/8: 3/11…3/15 (5), 3/18…3/22 (10)
    expect(q).toMatchObject({
      status: 'pending',
      dueDate: '2030-03-22',
      scope: '遗属待遇资格审核中的婚姻关系核验',
      fields: fields.slice(0, 2),
      decidedAt: null,
      canResubmit: false,
    });
    expect(q.steps[0]).toMatchObject({ decision: null, startedOn: '2030-03-08', dueDate: '2030-03-22' });
    expect(q.resubmissions).toHaveLength(1);
    expect(q.resubmissions[0]).toMatchObject({
      step: 'providerReview',
      note: '补充：用于遗属待遇资格审核，仅核验婚姻状况',
      startedOn: '2030-03-08',
      dueDate: '2030-03-22',
      resubmittedBy: '吴丽娟',
    });
    expect(q.resubmissions[0].refusal).toContain('业务范围不明确');
    expect(Object.keys(q.resubmissions[0].changes).sort()).toEqual(['fields', 'scope']);
    const audit = await audits(c, 'share.resubmit', requestId);
    expect(audit).toHaveLength(1);
    expect(audit[0].detail).toMatchObject({ dueDate: '2030-03-22', changed: ['scope', 'fields'] });
    expect(await kinds(c, 'mzj_officer', 'sharing.resubmitted')).toHaveLength(1);
    // it waits in the provider's inbox again
    const inbox = (
      await c.call(await c.as('mzj_officer'), 'GET', '/api/sharing/requests?box=incoming')
    ).json();
    expect(inbox.items.map((i: { id: number }) => i.id)).toContain(requestId);
    // the restarted deadline is the one the ticker acts on: reminded one WD before 3/22, escalated after it
    c.on('2030-03-21');
    await c.tick();
    expect(await kinds(c, 'mzj_officer', 'sharing.dueSoon', MARRIAGE)).toHaveLength(1);
    c.on('2030-03-25');
    await c.tick();
    expect((await c.call(rsj, 'GET', `/api/sharing/requests/${requestId}`)).json().escalatedOn).toBe(
      '2030-03-23',
    );
  });

  it('DG Art 18: the grant carries the provide-and-use agreement, confirmed by the consumer officer (audited once); calls are served meanwhile', async () => {
    const mzj = await c.as('mzj_officer');
    const ok = await c.call(mzj, 'POST', `/api/sharing/requests/${requestId}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().status).toBe('approved');
    await passRiskAssessment(c.env.app, requestId, mzj);
    const rsj = await c.as('rsj_officer');
    const grantOf = async () =>
      (await c.call(rsj, 'GET', '/api/sharing/grants'))
        .json()
        .find((g: { requestId: number }) => g.requestId === requestId);
    const g = await grantOf();
    expect(g.status).toBe('active');
    expect(g.agreement).toMatchObject({ article: 'DG Art 18', acceptedAt: null, acceptedBy: null });
    expect(g.agreement.terms).toContain('政务数据资源提供和使用协议');
    expect(g.agreement.terms).toContain(MARRIAGE);
    expect(g.agreement.terms).toContain(PURPOSE);
    // the use-purpose undertaking the consumer accepted when filing
    expect(g.undertaking).toMatchObject({ purpose: PURPOSE, acceptedBy: '吴丽娟' });
    expect(g.undertaking.acceptedAt).toBeTruthy();

    // the agreement is recorded, not a condition of each call (DG Art 18: the departments' undertaking)
    const before = await dataCall(c, code, apiKey);
    expect(before.statusCode, before.body).toBe(200);

    // the provider's officer and the consumer's staff do not accept it for the consumer
    for (const who of ['mzj_officer', 'rsj_staff']) {
      const res = await c.call(await c.as(who), 'POST', `/api/sharing/grants/${g.id}/agreement`);
      expect(res.statusCode, who).toBe(403);
    }
    const accepted = await c.call(rsj, 'POST', `/api/sharing/grants/${g.id}/agreement`);
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json()).toMatchObject({ status: 'active', agreement: { acceptedBy: '吴丽娟' } });
    expect(accepted.json().agreement.acceptedAt).toBeTruthy();
    // accepting again changes nothing and is audited once
    await c.call(rsj, 'POST', `/api/sharing/grants/${g.id}/agreement`);
    expect(await audits(c, 'share.agreementAccepted', g.id)).toHaveLength(1);
    const served = await dataCall(c, code, apiKey);
    expect(served.statusCode, served.body).toBe(200);
  });

  it('issue 8 point 12: request volume and on-time rate per provider and consumer department; a department sees only its own row', async () => {
    // a second request, decided the day it is filed: on time (the first was decided after its due date)
    const rsj = await c.as('rsj_officer');
    const r = await c.resource(rsj, MARRIAGE);
    const a = await c.newApp(rsj, '就业困难认定');
    const filed = await c.call(rsj, 'POST', '/api/sharing/requests', {
      resourceId: r.id,
      appId: a.id,
      fields: r.fields.slice(0, 1),
      purpose: '就业困难人员认定时核验婚姻状况',
      scope: '就业困难人员认定',
      validUntil: '2099-12-31',
    });
    expect(filed.statusCode, filed.body).toBe(201);
    const mzj = await c.as('mzj_officer');
    expect(
      (await c.call(mzj, 'POST', `/api/sharing/requests/${filed.json().id}/approve`, {})).json().status,
    ).toBe('approved');
    const provider = (await c.call(mzj, 'GET', `/api/sharing/requests/${requestId}`)).json().resource
      .providerOrgId;
    const stats = (await c.call(await c.as('reviewer'), 'GET', '/api/sharing/stats')).json();
    const row = stats.byProvider.find((x: { org: { id: number } }) => x.org.id === provider);
    expect(row).toMatchObject({ requests: 2, decided: 2, onTime: 1, onTimeRate: 0.5, pending: 0 });
    const own = (await c.call(rsj, 'GET', '/api/sharing/stats')).json();
    expect(own.byProvider.every((x: { org: { id: number } }) => x.org.id !== provider)).toBe(true);
    expect(own.byConsumer).toHaveLength(1);
    expect(own.byConsumer[0].requests).toBeGreaterThanOrEqual(2);
  });
});

/** Sets a resource's publication day so its re-evaluation due date is known (due = published + 12 months). */
async function publishedOn(c: City, resourceId: number, day: string) {
  await c.env.ctx.db
    .updateTable('resource')
    .set({ published_at: new Date(`${day}T02:00:00Z`) })
    .where('id', '=', resourceId)
    .execute();
}

describe('xingtai-2024: conditional resources come due for re-evaluation and are kept or converted through the catalog review (XT Art 23.5)', () => {
  let c: City;
  beforeAll(async () => {
    c = await openCity('xingtai-2024', '2030-03-04');
  }, 600_000);
  afterAll(async () => c?.close());

  let marriage: number;

  it('XT Art 23.5: a conditional resource is due 12 months (SHARE_REEVALUATION_MONTHS) after publication, on its provider to-do with working days left; not-shared ones are not listed', async () => {
    const mzj = await c.as('mzj_officer');
    marriage = (await c.resource(mzj, MARRIAGE)).id;
    await publishedOn(c, marriage, '2029-03-20');
    const list = (await c.call(mzj, 'GET', '/api/sharing/reevaluations?dueOnly=true')).json();
    expect(list).toMatchObject({ article: 'XT Art 23.5', months: 12, shareTypes: ['conditional'] });
    const item = list.items.find((i: { resource: { id: number } }) => i.resource.id === marriage);
    // due 2030-03-20 (Wed); from Mon 3/4: 3/5…3/8 (4), 3/11…3/15 (9), 3/18…3/20 (12)
    expect(item).toMatchObject({ dueDate: '2030-03-20', workdaysLeft: 12, overdue: false, canRecord: true });
    const work = (await c.call(mzj, 'GET', '/api/work')).json();
    expect(work.items).toContainEqual(
      expect.objectContaining({
        kind: 'shareReevaluation',
        id: marriage,
        workdaysLeft: 12,
        dueDate: '2030-03-20',
      }),
    );
    // XT Art 23.5 names conditional data only: the not-shared census is not listed
    const all = (await c.call(await c.as('reviewer'), 'GET', '/api/sharing/reevaluations')).json();
    expect(all.items.some((i: { shareType: string }) => i.shareType === 'none')).toBe(false);
    expect(all.items.map((i: { resource: { id: number } }) => i.resource.id)).toContain(marriage);
  });

  it('XT Art 23.5: the ticker reminds the provider 5 WD before the due date and once overdue, each once', async () => {
    c.on('2030-03-12'); // 3/13…3/15, 3/18…3/20: 6 WD left, no reminder yet
    await c.tick();
    expect(await kinds(c, 'mzj_officer', 'sharing.reevaluationDue', MARRIAGE)).toHaveLength(0);
    c.on('2030-03-13'); // 5 WD left
    await c.tick();
    c.clock.set('2030-03-13T12:00:00+08:00');
    await c.tick();
    expect(await kinds(c, 'mzj_officer', 'sharing.reevaluationDue', MARRIAGE)).toHaveLength(1);
    c.on('2030-03-21');
    await c.tick();
    expect(await kinds(c, 'mzj_officer', 'sharing.reevaluationOverdue', MARRIAGE)).toHaveLength(1);
    const work = (await c.call(await c.as('mzj_officer'), 'GET', '/api/work')).json();
    expect(work.items).toContainEqual(
      expect.objectContaining({ kind: 'shareReevaluation', id: marriage, overdue: true, workdaysOverdue: 1 }),
    );
  });

  it('XT Art 23.5: only the provider officer evaluates; keeping the type records it, audits it and sets the next due date', async () => {
    const other = await c.call(await c.as('rsj_officer'), 'POST', '/api/sharing/reevaluations', {
      resourceId: marriage,
      conclusion: 'keep',
      comment: '仍需维持有条件共享',
    });
    expect(other.statusCode).toBe(403);
    const mzj = await c.as('mzj_officer');
    const kept = await c.call(mzj, 'POST', '/api/sharing/reevaluations', {
      resourceId: marriage,
      conclusion: 'keep',
      comment: '涉及个人隐私，仍维持有条件共享',
    });
    expect(kept.statusCode, kept.body).toBe(201);
    expect(kept.json()).toMatchObject({
      evaluatedOn: '2030-03-21',
      conclusion: 'keep',
      nextDue: '2031-03-21',
    });
    expect(await audits(c, 'share.reevaluation', kept.json().id)).toHaveLength(1);
    const list = (await c.call(mzj, 'GET', '/api/sharing/reevaluations?dueOnly=true')).json();
    expect(list.items.some((i: { resource: { id: number } }) => i.resource.id === marriage)).toBe(false);
    const history = (await c.call(mzj, 'GET', `/api/sharing/reevaluations/${marriage}`)).json();
    expect(history[0]).toMatchObject({
      conclusion: 'keep',
      shareType: 'conditional',
      article: 'XT Art 23.5',
    });
  });

  it('XT Art 23.5: converting submits a new catalog version with the new share type for review; the live type changes only when it is published', async () => {
    const mzj = await c.as('mzj_officer');
    const converted = await c.call(mzj, 'POST', '/api/sharing/reevaluations', {
      resourceId: marriage,
      conclusion: 'convert',
      targetShareType: 'unconditional',
      comment: '已具备无条件共享条件，转为无条件共享',
    });
    expect(converted.statusCode, converted.body).toBe(201);
    const versionNo = converted.json().versionNo;
    expect(versionNo).toBeGreaterThan(1);
    const res = (await c.call(mzj, 'GET', `/api/catalog/resources/${marriage}`)).json();
    expect(res.shareType).toBe('conditional');
    const v = await c.env.ctx.db
      .selectFrom('resource_version')
      .select(['status', 'snapshot'])
      .where('resource_id', '=', marriage)
      .where('version_no', '=', versionNo)
      .executeTakeFirstOrThrow();
    expect(v.status).toBe('submitted');
    expect((v.snapshot as { shareType: string }).shareType).toBe('unconditional');
    const item = (await c.call(mzj, 'GET', '/api/sharing/reevaluations'))
      .json()
      .items.find((i: { resource: { id: number } }) => i.resource.id === marriage);
    expect(item).toMatchObject({ inReview: versionNo, canRecord: false });
    // the level's reviewer publishes it: the resource is unconditional and leaves the re-evaluation list
    const published = await c.call(
      await c.as('reviewer'),
      'POST',
      `/api/catalog/resources/${marriage}/publish`,
      {
        comment: '同意转为无条件共享',
      },
    );
    expect(published.statusCode, published.body).toBe(200);
    expect((await c.call(mzj, 'GET', `/api/catalog/resources/${marriage}`)).json().shareType).toBe(
      'unconditional',
    );
    const after = (await c.call(mzj, 'GET', '/api/sharing/reevaluations')).json();
    expect(after.items.some((i: { resource: { id: number } }) => i.resource.id === marriage)).toBe(false);
  });
});

describe('shenyang-2019: not-shared and conditional resources are re-evaluated by their provider (SY Art 31); no agreement is asked', () => {
  let c: City;
  beforeAll(async () => {
    c = await openCity('shenyang-2019', '2030-03-04');
  }, 600_000);
  afterAll(async () => c?.close());

  it('SY Art 31: the not-shared census is listed for its provider and kept with a record', async () => {
    const tjj = await c.as('tjj_officer');
    const census = (await c.resource(tjj, CENSUS)).id;
    await publishedOn(c, census, '2029-03-01');
    const list = (await c.call(tjj, 'GET', '/api/sharing/reevaluations?dueOnly=true')).json();
    expect(list).toMatchObject({ article: 'SY Art 31', shareTypes: ['conditional', 'none'] });
    // due 2030-03-01, before Mon 3/4: overdue
    expect(list.items.find((i: { resource: { id: number } }) => i.resource.id === census)).toMatchObject({
      shareType: 'none',
      dueDate: '2030-03-01',
      overdue: true,
      canRecord: true,
    });
    const kept = await c.call(tjj, 'POST', '/api/sharing/reevaluations', {
      resourceId: census,
      conclusion: 'keep',
      comment: '涉及普查对象商业秘密，仍不予共享',
    });
    expect(kept.statusCode, kept.body).toBe(201);
    expect(kept.json().nextDue).toBe('2031-03-04');
    // a conversion to the same type is refused
    const same = await c.call(tjj, 'POST', '/api/sharing/reevaluations', {
      resourceId: census,
      conclusion: 'convert',
      targetShareType: 'none',
      comment: '转换为不予共享',
    });
    expect(same.statusCode).toBe(400);
    expect(same.json().details[0].field).toBe('targetShareType');
  });

  it('SY (no provide-and-use agreement in the regulation): the grant carries none and serves calls; accepting one is refused', async () => {
    const g = await grantedApp(c.env.app, {
      consumer: 'rsj_officer',
      provider: 'mzj_officer',
      resourceCode: (await c.resource(await c.as('rsj_officer'), MARRIAGE)).code,
      fields: (await c.resource(await c.as('rsj_officer'), MARRIAGE)).fields.slice(0, 2),
      appName: '遗属待遇核验',
    });
    const rsj = await c.as('rsj_officer');
    const grant = (await c.call(rsj, 'GET', '/api/sharing/grants'))
      .json()
      .find((x: { id: number }) => x.id === g.grantId);
    expect(grant).toMatchObject({ agreement: null, status: 'active' });
    expect(grant.undertaking.purpose).toBe(grant.purpose);
    const res = await c.call(rsj, 'POST', `/api/sharing/grants/${g.grantId}/agreement`);
    expect(res.statusCode).toBe(409);
    const code = (await c.resource(rsj, MARRIAGE)).code;
    expect((await dataCall(c, code, g.apiKey, TEST_PURPOSE)).statusCode).toBe(200);
  });
});

describe('guangdong-2018: the regulation sets no periodic re-evaluation, so nothing comes due', () => {
  let c: City;
  beforeAll(async () => {
    c = await openCity('guangdong-2018', '2030-03-04');
  }, 600_000);
  afterAll(async () => c?.close());

  it('GD (no periodic re-evaluation in the regulation): nothing is due, recording one is refused', async () => {
    const mzj = await c.as('mzj_officer');
    const list = (await c.call(mzj, 'GET', '/api/sharing/reevaluations')).json();
    expect(list).toMatchObject({ article: null, items: [] });
    const res = await c.call(mzj, 'POST', '/api/sharing/reevaluations', {
      resourceId: (await c.resource(mzj, MARRIAGE)).id,
      conclusion: 'keep',
      comment: '维持有条件共享',
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('CASE_NOT_IN_PROFILE');
  });
});
