import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type City, openCity } from './play.js';

/*
 * Guangdong 2018, GD Art 19: the authority, together with (会同) the provider, reviews a conditional request and answers
 * within 10 working days; the request states purpose and data items. Dates by hand from 国务院办公厅 2026 notice
 * (REFERENCE.md): Spring Festival off 2/15–2/23, Saturdays 2/14 and 2/28 working days.
 * Filed Monday 2026-02-16 (a holiday; the start day is never counted): WD1 2/24 Tue, WD2 2/25, WD3 2/26, WD4 2/27,
 * WD5 2/28 Sat (调休), WD6 3/2 Mon, WD7 3/3, WD8 3/4, WD9 3/5, WD10 3/6 Fri → due 2026-03-06; escalation on Monday 3/9.
 */
const MARRIAGE = '婚姻登记信息';
let c: City;

beforeAll(async () => {
  c = await openCity('guangdong-2018', '2026-02-16');
});
afterAll(async () => c?.close());

describe('guangdong-2018 conformance', () => {
  it('GD Art 19: a request states its purpose; one too vague is refused with the article', async () => {
    const res = await c.fileRequest(await c.as('rsj_officer'), MARRIAGE, '待遇核验一', { purpose: '核验' });
    expect(res.statusCode).toBe(400);
    expect(res.json().details[0]).toMatchObject({ field: 'purpose' });
    expect(res.json().details[0].reason).toContain('GD Art 19');
  });

  it('GD Art 19: filed in Spring Festival 2026 (2/16), due 2026-03-06; provider and authority review jointly, the grant needs both', async () => {
    const res = await c.fileRequest(await c.as('rsj_officer'), MARRIAGE, '待遇核验二');
    expect(res.statusCode, res.body).toBe(201);
    const q = res.json();
    expect(q.dueDate).toBe('2026-03-06');
    expect(q.steps[0]).toMatchObject({
      actor: 'provider',
      coActors: ['authority'],
      holders: ['provider', 'authority'],
    });
    // the authority co-reviews: it sees the request among its incoming and may decide (it got 403 before)
    c.on('2026-03-02');
    const reviewer = await c.as('reviewer');
    const incoming = (
      await c.call(reviewer, 'GET', '/api/sharing/requests?box=incoming&status=pending')
    ).json();
    expect(incoming.items.find((x: { id: number }) => x.id === q.id)?.canDecide).toBe(true);
    const p = await c.call(await c.as('mzj_officer'), 'POST', `/api/sharing/requests/${q.id}/approve`, {});
    expect(p.statusCode, p.body).toBe(200);
    expect(p.json()).toMatchObject({ status: 'pending', canDecide: false });
    expect(p.json().steps[0].holders).toEqual(['authority']);
    const again = await c.call(
      await c.as('mzj_officer'),
      'POST',
      `/api/sharing/requests/${q.id}/approve`,
      {},
    );
    expect(again.statusCode).toBe(403);
    // 待我审批 lists only what waits for the person: no longer the provider's, still the authority's
    const inbox = async (u: string) =>
      (await c.call(await c.as(u), 'GET', '/api/sharing/requests?box=incoming'))
        .json()
        .items.map((x: { id: number }) => x.id);
    expect(await inbox('mzj_officer')).not.toContain(q.id);
    expect(await inbox('reviewer')).toContain(q.id);
    const handled = (
      await c.call(await c.as('mzj_officer'), 'GET', '/api/sharing/requests?box=handled')
    ).json();
    expect(handled.items.map((x: { id: number }) => x.id)).toContain(q.id);
    const a = await c.call(reviewer, 'POST', `/api/sharing/requests/${q.id}/approve`, {});
    expect(a.json()).toMatchObject({ status: 'approved' });
    expect(a.json().grantId).toBeGreaterThan(0);
    expect(a.json().steps[0].approvals.sort()).toEqual(['authority', 'provider']);
    expect(await inbox('reviewer')).not.toContain(q.id);
  });

  it('GD Art 19: either reviewer may refuse, with a reason', async () => {
    c.on('2026-03-02');
    const q = (await c.fileRequest(await c.as('jyj_officer'), MARRIAGE, '学籍核验')).json();
    const r = await c.call(await c.as('reviewer'), 'POST', `/api/sharing/requests/${q.id}/reject`, {
      reason: '申请用途与部门职责无关',
    });
    expect(r.json()).toMatchObject({ status: 'rejected' });
  });

  it('GD Art 19: no answer by 2026-03-06 → escalated to the authority on Monday 3/9, not before', async () => {
    c.on('2026-02-16');
    const q = (await c.fileRequest(await c.as('jtj_officer'), MARRIAGE, '从业资格核验')).json();
    c.on('2026-03-06');
    await c.tick();
    const jtj = await c.as('jtj_officer');
    expect((await c.call(jtj, 'GET', `/api/sharing/requests/${q.id}`)).json().escalatedOn).toBe(null);
    c.on('2026-03-09');
    await c.tick();
    const after = (await c.call(jtj, 'GET', `/api/sharing/requests/${q.id}`)).json();
    expect(after).toMatchObject({ status: 'pending', overdue: true, escalatedOn: '2026-03-07' });
    const kinds = (await c.notifications('reviewer'))
      .filter((n) => n.params.requestId === q.id)
      .map((n) => n.kind);
    expect(kinds).toContain('sharing.escalated');
  });
});

/*
 * GD Art 15 (issue 8 point 9): a lower authority applies to the higher one for its departments. GD sets no window of its
 * own for the lower authority, so it has the GD Art 19 window: filed Monday 2026-02-16 in Spring Festival → due
 * 2026-03-06 (worked out at the top of this file). Unconditional data is fetched directly through the local node
 * ("可直接通过本地市分节点申请获取"): no county step, granted at once.
 */
describe('guangdong-2018 conformance: cross-level requests (GD Art 15)', () => {
  it('GD Art 15: a county department asks for conditional city data through its county authority first', async () => {
    c.on('2026-02-16');
    const res = await c.fileRequest(await c.as('jc_mzj_officer'), MARRIAGE, '江城区救助核验');
    expect(res.statusCode, res.body).toBe(201);
    const q = res.json();
    expect(q.dueDate).toBe('2026-03-06');
    expect(q.steps.map((s: { key: string; level: string }) => [s.key, s.level])).toEqual([
      ['localAuthorityReview', 'county'],
      ['providerReview', 'city'],
    ]);
    expect(q.steps[0]).toMatchObject({ article: 'GD Art 15', holders: ['authority'] });
    // the city's joint review (GD Art 19) waits until the county has applied: the city reviewer cannot act yet
    const reviewer = await c.as('reviewer');
    expect((await c.call(reviewer, 'POST', `/api/sharing/requests/${q.id}/approve`, {})).statusCode).toBe(
      403,
    );
    c.on('2026-03-02');
    const s1 = (
      await c.call(await c.as('jc_reviewer'), 'POST', `/api/sharing/requests/${q.id}/approve`, {})
    ).json();
    // the joint review's 10 WD run from 3/2: 3/3 … 3/16 (no holiday) → due 2026-03-16
    expect(s1).toMatchObject({ currentStep: 1, dueDate: '2026-03-16' });
    expect(s1.steps[1].holders).toEqual(['provider', 'authority']);
  });

  it('GD Art 15: unconditional city data is fetched directly, without the county step', async () => {
    c.on('2026-03-02');
    const res = await c.fileRequest(await c.as('jc_mzj_officer'), '法人单位基础信息', '江城区企业核验');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ status: 'approved', steps: [] });
  });
});
