import { afterAll, describe, expect, it } from 'vitest';
import { type City, openCity } from './conformance/play.js';

/*
 * Profile fields that code acted on but no test exercised (docs/PROFILE-FIELDS.md, "Gaps"): each case lets the rule's
 * situation happen through the HTTP API and the ticker, and checks what the platform did. Dates: March 2026 has no
 * public holiday (国办发明电〔2025〕7号), so working days there are Monday–Friday.
 */
const MARRIAGE = '婚姻登记信息';
const ENTITIES = '法人单位基础信息';

/** `username`'s notifications of `kind` about request `requestId` (the demo city's own requests run their deadlines too) */
const kinds = async (c: City, username: string, kind: string, requestId: number) =>
  (await c.notifications(username)).filter((n) => n.kind === kind && n.params.requestId === requestId);

describe('guangdong-2018: the cross-level step (GD Art 15) and what a request must state (GD Art 19)', () => {
  let c: City;
  afterAll(async () => c?.close());

  it('sharing.crossLevel.step.onTimeout = remind: the county step past its 10 WD reminds its county authority once, and is not escalated', async () => {
    c = await openCity('guangdong-2018', '2026-03-02');
    const filed = await c.fileRequest(await c.as('jc_mzj_officer'), MARRIAGE, '江城区救助核验（逾期）');
    expect(filed.statusCode, filed.body).toBe(201);
    const q = filed.json();
    expect(q.steps[0]).toMatchObject({ key: 'localAuthorityReview', level: 'county' });
    // 10 WD from Monday 2 March, counted from the next working day: 3–6, 9–13, 16 March
    expect(q.dueDate).toBe('2026-03-16');
    c.on('2026-03-17');
    await c.tick();
    await c.tick();
    expect(await kinds(c, 'jc_reviewer', 'sharing.overdue', q.id)).toHaveLength(1);
    // the other county's and the city's reviewers are not the step's holders
    expect(await kinds(c, 'qs_reviewer', 'sharing.overdue', q.id)).toHaveLength(0);
    const after = (await c.call(await c.as('jc_mzj_officer'), 'GET', `/api/sharing/requests/${q.id}`)).json();
    expect(after).toMatchObject({ status: 'pending', currentStep: 0 });
    expect(after.escalatedOn ?? null).toBeNull();
    expect(await kinds(c, 'reviewer', 'sharing.escalated', q.id)).toHaveLength(0);
    // the request's audit cites the cross-level rule's article
    const audit = await c.env.ctx.db
      .selectFrom('audit_log')
      .select('detail')
      .where('action', '=', 'share.request')
      .where('target_id', '=', String(q.id))
      .executeTakeFirstOrThrow();
    expect((audit.detail as { crossLevel?: { article: string } }).crossLevel?.article).toBe('GD Art 15');
  });

  it('sharing.conditional.requestMustState includes fields: a request naming no data item is refused citing GD Art 19', async () => {
    const res = await c.fileRequest(await c.as('rsj_officer'), MARRIAGE, '社保核验（无信息项）', {
      fields: [],
    });
    expect(res.statusCode).toBe(400);
    const detail = res.json().details.find((d: { field: string }) => d.field === 'fields');
    expect(detail.reasonZh).toContain('广东办法第十九条');
  });
});

describe('xingtai-2024: the authority supplies unconditional data within 3 WD (XT Art 24)', () => {
  let c: City;
  afterAll(async () => c?.close());

  it('sharing.unconditional.steps[].deadline and onTimeout = remind: due in 3 WD; past it the authority is reminded once, nothing escalates', async () => {
    c = await openCity('xingtai-2024', '2026-03-02');
    const filed = await c.fileRequest(await c.as('mzj_officer'), ENTITIES, '社会组织登记核验（逾期）');
    expect(filed.statusCode, filed.body).toBe(201);
    const q = filed.json();
    expect(q.steps.map((s: { key: string }) => s.key)).toEqual(['authorityDelivery']);
    // 3 WD from Monday 2 March: 3, 4, 5 March
    expect(q.dueDate).toBe('2026-03-05');
    c.on('2026-03-04');
    await c.tick();
    expect(await kinds(c, 'reviewer', 'sharing.dueSoon', q.id)).toHaveLength(1);
    c.on('2026-03-06');
    await c.tick();
    await c.tick();
    expect(await kinds(c, 'reviewer', 'sharing.overdue', q.id)).toHaveLength(1);
    const after = (await c.call(await c.as('mzj_officer'), 'GET', `/api/sharing/requests/${q.id}`)).json();
    expect(after.status).toBe('pending');
    expect(after.escalatedOn ?? null).toBeNull();
    expect(await kinds(c, 'reviewer', 'sharing.escalated', q.id)).toHaveLength(0);
  });
});

describe('dongguan-2020: disputes are settled by the authority, never referred (DG Art 15; sharing.disputes.resolvedBy)', () => {
  let c: City;
  afterAll(async () => c?.close());

  it('a referral to the city government is refused with CASE_NOT_IN_PROFILE; the authority decides', async () => {
    c = await openCity('dongguan-2020', '2026-03-02');
    const q = (await c.fileRequest(await c.as('rsj_officer'), MARRIAGE, '社保婚姻核验（争议）')).json();
    const refused = await c.call(await c.as('mzj_officer'), 'POST', `/api/sharing/requests/${q.id}/reject`, {
      reason: '涉及个人隐私',
      legalBasis: '《婚姻登记条例》',
    });
    expect(refused.statusCode, refused.body).toBe(200);
    const raised = await c.call(await c.as('rsj_officer'), 'POST', `/api/sharing/requests/${q.id}/dispute`, {
      reason: '养老待遇审核须核验婚姻关系',
    });
    expect(raised.statusCode, raised.body).toBe(201);
    const id = raised.json().id;
    const reviewer = await c.as('reviewer');
    const referred = await c.call(reviewer, 'POST', `/api/sharing/disputes/${id}/decide`, {
      outcome: 'referred',
      comment: '报市政府决定',
    });
    expect(referred.statusCode).toBe(409);
    expect(referred.json().code).toBe('CASE_NOT_IN_PROFILE');
    expect((await c.call(reviewer, 'GET', `/api/sharing/disputes/${id}`)).json().status).toBe('open');
    const decided = await c.call(reviewer, 'POST', `/api/sharing/disputes/${id}/decide`, {
      outcome: 'overturned',
      comment: '依法予以共享',
    });
    expect(decided.statusCode, decided.body).toBe(200);
    expect(decided.json()).toMatchObject({ status: 'overturned', decidedLevel: 'authority' });
  });

  it('sharing.unconditional.article: unconditional data is granted at once, and the grant’s audit cites DG Art 19, 23', async () => {
    const filed = await c.fileRequest(await c.as('mzj_officer'), ENTITIES, '社会组织登记核验（无条件）');
    expect(filed.statusCode, filed.body).toBe(201);
    const q = filed.json();
    expect(q.status).toBe('approved');
    const audit = await c.env.ctx.db
      .selectFrom('audit_log')
      .select('detail')
      .where('action', '=', 'share.grant')
      .where('grant_id', '=', q.grantId)
      .executeTakeFirstOrThrow();
    expect(audit.detail).toMatchObject({ reason: 'unconditional', article: 'DG Art 19, 23' });
  });

  it('the rules page reads the cross-level rule in force: DG has none of its own and takes GD Art 15 through `parent`', async () => {
    const p = (await c.call(await c.as('reviewer'), 'GET', '/api/profile')).json();
    expect(p.sharing.crossLevel ?? null).toBeNull();
    // the province whose rules fill the gaps, by name (the page shows no profile ids)
    expect(p.parentName).toEqual({ zh: '广东省（2018）', en: expect.any(String) });
    expect(p.crossLevelInForce).toMatchObject({
      article: 'GD Art 15',
      step: { key: 'localAuthorityReview' },
    });
  });
});
