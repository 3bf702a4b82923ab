import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type City, openCity } from './conformance/play.js';

/*
 * Issue 8 point 9 (XT Art 26, GD Art 15): a county authority reviews its own county's requests, not the whole city's.
 * Under dongguan-2020 (GD Art 15 through `parent`), 江城区's reviewer reads only requests whose consumer or provider
 * sits in 江城区, or that have a step assigned to 江城区's authority; the city's reviewer reads every request. One
 * predicate (src/sharing/visibility.ts) serves the list, the detail and its timeline, the decisions, the statistics
 * and the to-do. Filed Monday 2026-03-02 (no holiday in March 2026).
 */
const MARRIAGE = '婚姻登记信息';
let c: City;
let jcId: number;
let qsId: number;
let cityId: number;

const ids = (body: { items: { id: number }[] }) => body.items.map((r) => r.id);

async function refusals(userId: number, targetId: number) {
  return c.env.ctx.db
    .selectFrom('audit_log')
    .select(['action', 'decision', 'detail'])
    .where('action', '=', 'http.refused')
    .where('actor_user_id', '=', userId)
    .where('target_id', '=', String(targetId))
    .execute();
}

async function userId(username: string) {
  const u = await c.env.ctx.db
    .selectFrom('app_user')
    .select('id')
    .where('username', '=', username)
    .executeTakeFirstOrThrow();
  return Number(u.id);
}

beforeAll(async () => {
  c = await openCity('dongguan-2020', '2026-03-02');
  jcId = (await c.fileRequest(await c.as('jc_mzj_officer'), MARRIAGE, '江城区救助核验')).json().id;
  qsId = (await c.fileRequest(await c.as('qs_rsj_officer'), MARRIAGE, '青山县就业核验')).json().id;
  cityId = (await c.fileRequest(await c.as('rsj_officer'), MARRIAGE, '市社保婚姻核验')).json().id;
  expect([jcId, qsId, cityId].every((x) => Number.isInteger(x))).toBe(true);
});
afterAll(async () => c?.close());

describe('a county authority reads its own jurisdiction only (issue 8 point 9, GD Art 15)', () => {
  it('the list, in every box: 江城区 sees its county request, not 青山县 nor the city one; the city authority sees all', async () => {
    const jc = await c.as('jc_reviewer');
    for (const box of ['all', 'handled', 'incoming']) {
      const got = ids((await c.call(jc, 'GET', `/api/sharing/requests?box=${box}&pageSize=100`)).json());
      expect(got, box).toContain(jcId);
      expect(got, box).not.toContain(qsId);
      expect(got, box).not.toContain(cityId);
    }
    const all = (await c.call(jc, 'GET', '/api/sharing/requests?box=all&pageSize=100')).json();
    expect(all.total).toBe(all.items.length);
    const qs = ids(
      (await c.call(await c.as('qs_reviewer'), 'GET', '/api/sharing/requests?box=all&pageSize=100')).json(),
    );
    expect(qs).toContain(qsId);
    expect(qs).not.toContain(jcId);
    expect(qs).not.toContain(cityId);
    const city = ids(
      (await c.call(await c.as('reviewer'), 'GET', '/api/sharing/requests?box=all&pageSize=100')).json(),
    );
    expect(city).toEqual(expect.arrayContaining([jcId, qsId, cityId]));
  });

  it('the detail and its timeline, the risk assessment and a decision are refused with FORBIDDEN and audited as refusals', async () => {
    const jc = await c.as('jc_reviewer');
    const own = await c.call(jc, 'GET', `/api/sharing/requests/${jcId}`);
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json()).toMatchObject({ canDecide: true, resubmissions: [] });
    // the county step is named from the province profile's cross-level rule, never shown by its key
    expect(own.json().steps[0]).toMatchObject({
      key: 'localAuthorityReview',
      nameZh: '本级政务数据主管部门审核并向上级申请',
    });
    for (const [method, url, body] of [
      ['GET', `/api/sharing/requests/${cityId}`, undefined],
      ['GET', `/api/sharing/requests/${qsId}`, undefined],
      ['GET', `/api/sharing/requests/${cityId}/risk-assessments`, undefined],
      ['POST', `/api/sharing/requests/${qsId}/approve`, { comment: '同意' }],
    ] as const) {
      const res = await c.call(jc, method, url, body);
      expect(res.statusCode, url).toBe(403);
      expect(res.json().code, url).toBe('FORBIDDEN');
      expect(res.json().details[0]).toMatchObject({ field: 'id', reasonZh: expect.stringContaining('管辖') });
    }
    const jcUser = await userId('jc_reviewer');
    const city = await refusals(jcUser, cityId);
    expect(city.length).toBeGreaterThanOrEqual(1);
    expect(city[0]).toMatchObject({
      decision: 'deny',
      detail: expect.objectContaining({ code: 'FORBIDDEN', route: '/api/sharing/requests/:id' }),
    });
    expect(await refusals(jcUser, qsId)).not.toHaveLength(0);
    // the request was not decided by the refused approval
    const qs = (await c.call(await c.as('qs_reviewer'), 'GET', `/api/sharing/requests/${qsId}`)).json();
    expect(qs).toMatchObject({ status: 'pending', currentStep: 0 });
    // the city authority reads them all; a department keeps NOT_FOUND for what is not its own
    const city2 = await c.call(await c.as('reviewer'), 'GET', `/api/sharing/requests/${qsId}`);
    expect(city2.statusCode).toBe(200);
    const dept = await c.call(await c.as('gaj_officer'), 'GET', `/api/sharing/requests/${qsId}`);
    expect(dept.statusCode).toBe(404);
  });

  it('a step assigned to the county authority is enough, wherever the parties sit', async () => {
    // the requesting department moved to the city after filing: the step its county reviewed keeps it readable
    const db = c.env.ctx.db;
    const org = await db
      .selectFrom('share_request')
      .select('consumer_org_id')
      .where('id', '=', jcId)
      .executeTakeFirstOrThrow();
    const before = await db
      .selectFrom('org')
      .select('jurisdiction_code')
      .where('id', '=', org.consumer_org_id)
      .executeTakeFirstOrThrow();
    const city = await db
      .selectFrom('org')
      .select('jurisdiction_code')
      .where('kind', '=', 'authority')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    await db
      .updateTable('org')
      .set({ jurisdiction_code: city.jurisdiction_code })
      .where('id', '=', org.consumer_org_id)
      .execute();
    try {
      const jc = await c.as('jc_reviewer');
      expect((await c.call(jc, 'GET', `/api/sharing/requests/${jcId}`)).statusCode).toBe(200);
      // 青山县 has no step on it and no party in it
      const qs = await c.call(await c.as('qs_reviewer'), 'GET', `/api/sharing/requests/${jcId}`);
      expect(qs.statusCode).toBe(403);
    } finally {
      await db
        .updateTable('org')
        .set({ jurisdiction_code: before.jurisdiction_code })
        .where('id', '=', org.consumer_org_id)
        .execute();
    }
  });

  it('the statistics and the to-do count the same requests', async () => {
    const jc = await c.as('jc_reviewer');
    const stats = (await c.call(jc, 'GET', '/api/sharing/stats')).json();
    const consumers = stats.byConsumer.map((r: { org: { name: string } }) => r.org.name);
    expect(consumers).toEqual(['临江市江城区民政局']);
    expect(stats.byProvider.map((r: { requests: number }) => r.requests)).toEqual([1]);
    const city = (await c.call(await c.as('reviewer'), 'GET', '/api/sharing/stats')).json();
    expect(city.byConsumer.length).toBeGreaterThanOrEqual(3);

    const work = (await c.call(jc, 'GET', '/api/work')).json();
    const shares = work.items.filter((i: { kind: string }) => i.kind === 'shareRequest');
    expect(shares.map((i: { id: number }) => i.id)).toEqual([jcId]);
    const qsWork = (await c.call(await c.as('qs_reviewer'), 'GET', '/api/work')).json();
    expect(
      qsWork.items
        .filter((i: { kind: string }) => i.kind === 'shareRequest')
        .map((i: { id: number }) => i.id),
    ).toEqual([qsId]);
  });

  it('disputes: a county authority reads its county’s, not the others’, and does not settle them (DG Art 15: the city’s authority does); grants: its jurisdiction’s only', async () => {
    const officer = await c.as('jc_mzj_officer');
    const id = (await c.fileRequest(officer, MARRIAGE, '江城区临时救助核验')).json().id;
    const jc = await c.as('jc_reviewer');
    const refused = await c.call(jc, 'POST', `/api/sharing/requests/${id}/reject`, {
      reason: '用途与本级职责不符',
      legalBasis: '《东莞市政务数据管理办法》第十五条',
    });
    expect(refused.statusCode, refused.body).toBe(200);
    const raised = await c.call(officer, 'POST', `/api/sharing/requests/${id}/dispute`, {
      reason: '临时救助须核验婚姻状况，属法定职责',
    });
    expect(raised.statusCode, raised.body).toBe(201);
    const disputeId = raised.json().id as number;

    const listed = (who: string) =>
      c
        .as(who)
        .then(async (cookie) => (await c.call(cookie, 'GET', '/api/sharing/disputes?pageSize=100')).json());
    const jcList = await listed('jc_reviewer');
    expect(ids(jcList)).toContain(disputeId);
    expect(jcList.items.find((d: { id: number }) => d.id === disputeId).canDecide).toBe(false);
    expect(ids(await listed('qs_reviewer'))).not.toContain(disputeId);
    const qs = await c.as('qs_reviewer');
    expect((await c.call(qs, 'GET', `/api/sharing/disputes/${disputeId}`)).statusCode).toBe(404);
    const decide = await c.call(jc, 'POST', `/api/sharing/disputes/${disputeId}/decide`, {
      outcome: 'upheld',
      comment: '维持不予共享',
    });
    expect(decide.statusCode).toBe(403);
    expect(decide.json().code).toBe('FORBIDDEN');
    const jcUser = await userId('jc_reviewer');
    expect(
      (
        await c.env.ctx.db
          .selectFrom('audit_log')
          .select('detail')
          .where('action', '=', 'http.refused')
          .where('actor_user_id', '=', jcUser)
          .execute()
      ).some((r) => String((r.detail as { route?: string }).route).includes('/disputes/')),
      'the refused decision is audited',
    ).toBe(true);
    const city = (await listed('reviewer')).items.find((d: { id: number }) => d.id === disputeId);
    expect(city.canDecide).toBe(true);

    // grants: the county reads those whose consumer or provider sits in 江城区; the city reads all
    const jurisdictionOf = async (orgName: string) =>
      (
        await c.env.ctx.db
          .selectFrom('org')
          .select('jurisdiction_code')
          .where('name', '=', orgName)
          .executeTakeFirstOrThrow()
      ).jurisdiction_code;
    const jcCode = await jurisdictionOf('临江市江城区民政局');
    const grants = async (who: string) =>
      (
        (await c.call(await c.as(who), 'GET', '/api/sharing/grants')).json() as {
          id: number;
          consumerOrg: { id: number };
          resource: { providerOrgId: number };
        }[]
      ).map((g) => ({ id: g.id, consumerOrgId: g.consumerOrg.id, providerOrgId: g.resource.providerOrgId }));
    // a grant of 江城区's app (written directly: the list's scope is under test, not the workflow)
    const jcApp = await c.newApp(officer, '江城区临时救助系统');
    await c.env.ctx.database.query(
      `INSERT INTO share_grant (resource_id, consumer_org_id, app_id, fields, purpose, valid_until, agreement_required)
       SELECT r.id, a.org_id, a.id, ARRAY['certificateNo']::text[], '临时救助核验', now() + interval '1 year', false
       FROM resource r, app a WHERE r.name = $1 AND a.id = $2`,
      [MARRIAGE, jcApp.id],
    );
    const all = await grants('reviewer');
    const mine = await grants('jc_reviewer');
    expect(all.length).toBeGreaterThan(mine.length);
    expect(mine.length, 'the demo has a grant of 江城区').toBeGreaterThan(0);
    const orgs = await c.env.ctx.db.selectFrom('org').select(['id', 'jurisdiction_code']).execute();
    const codeOf = new Map(orgs.map((o) => [Number(o.id), o.jurisdiction_code]));
    const inJc = (g: { consumerOrgId: number; providerOrgId: number }) =>
      codeOf.get(g.consumerOrgId) === jcCode || codeOf.get(g.providerOrgId) === jcCode;
    expect(mine.every(inJc)).toBe(true);
    expect(mine.map((g) => g.id).sort()).toEqual(
      all
        .filter(inJc)
        .map((g) => g.id)
        .sort(),
    );
    expect((await grants('qs_reviewer')).some(inJc)).toBe(false);
  });
});
