import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type City, openCity } from './play.js';

/*
 * Nanyang 2022, NY task 7: the provider answers within 5 working days; authorisation is completed within 10 working
 * days ("原则上10个工作日内完成授权"). Dates by hand from the 2026 notice (REFERENCE.md): Labour Day off 5/1–5/5,
 * Saturday 5/9 a working day.
 * Filed Thursday 2026-04-30: WD1 5/6, WD2 5/7, WD3 5/8, WD4 5/9 Sat (调休), WD5 5/11 Mon → provider due 2026-05-11;
 * WD6 5/12, WD7 5/13, WD8 5/14, WD9 5/15, WD10 5/18 Mon → overall due 2026-05-18.
 */
const MARRIAGE = '婚姻登记信息';
let c: City;

beforeAll(async () => {
  c = await openCity('nanyang-2022', '2026-04-30');
});
afterAll(async () => c?.close());

describe('nanyang-2022 conformance', () => {
  let id: number;
  it('NY task 7: filed 2026-04-30, the provider answers by 2026-05-11 and the grant is due by 2026-05-18', async () => {
    const res = await c.fileRequest(await c.as('rsj_officer'), MARRIAGE, '待遇婚姻核验');
    expect(res.statusCode, res.body).toBe(201);
    const q = res.json();
    id = q.id;
    expect(q).toMatchObject({ dueDate: '2026-05-11', overallDueDate: '2026-05-18' });
  });

  it('NY task 7: the provider missing 5/11 is escalated on 5/12; the overall deadline passing is escalated again on 5/19', async () => {
    c.on('2026-05-12');
    await c.tick();
    const rsj = await c.as('rsj_officer');
    const a = (await c.call(rsj, 'GET', `/api/sharing/requests/${id}`)).json();
    expect(a).toMatchObject({ escalatedOn: '2026-05-12', overallOverdue: false });
    c.on('2026-05-18');
    await c.tick();
    const before = (await c.notifications('reviewer'))
      .filter((n) => n.params.requestId === id)
      .map((n) => n.kind);
    expect(before).not.toContain('sharing.overallOverdue');
    c.on('2026-05-19');
    await c.tick();
    await c.tick();
    const after = (await c.notifications('reviewer'))
      .filter((n) => n.params.requestId === id)
      .map((n) => n.kind);
    expect(after.filter((k) => k === 'sharing.overallOverdue')).toHaveLength(1);
    expect((await c.call(rsj, 'GET', `/api/sharing/requests/${id}`)).json().overallOverdue).toBe(true);
  });

  it('NY task 7: a refusal gives its legal or policy basis', async () => {
    const mzj = await c.as('mzj_officer');
    const r = await c.call(mzj, 'POST', `/api/sharing/requests/${id}/reject`, { reason: '不符合条件' });
    expect(r.json().code).toBe('LEGAL_BASIS_REQUIRED');
    const ok = await c.call(mzj, 'POST', `/api/sharing/requests/${id}/reject`, {
      reason: '不符合条件',
      legalBasis: '《婚姻登记条例》',
    });
    expect(ok.json().status).toBe('rejected');
  });

  it('NY task 7: a withdrawn request gets no deadline actions; only the requesting organisation withdraws', async () => {
    c.on('2026-04-30');
    const q = (await c.fileRequest(await c.as('jyj_officer'), MARRIAGE, '学籍婚姻核验')).json();
    expect(q.canWithdraw).toBe(true);
    const other = await c.call(
      await c.as('rsj_officer'),
      'POST',
      `/api/sharing/requests/${q.id}/withdraw`,
      {},
    );
    expect(other.statusCode).toBe(404);
    const w = await c.call(await c.as('jyj_officer'), 'POST', `/api/sharing/requests/${q.id}/withdraw`, {
      reason: '业务调整，不再需要',
    });
    expect(w.json()).toMatchObject({ status: 'withdrawn', dueDate: null });
    c.on('2026-05-20');
    await c.tick();
    const kinds = (await c.notifications('reviewer')).filter((n) => n.params.requestId === q.id);
    expect(kinds).toEqual([]);
    const again = await c.call(
      await c.as('jyj_officer'),
      'POST',
      `/api/sharing/requests/${q.id}/withdraw`,
      {},
    );
    expect(again.json().code).toBe('REQUEST_NOT_PENDING');
  });
});

/*
 * NY task 8 (issue 12): an objection raised Wednesday 2026-09-30, before National Day (10/1–10/7 off, Saturday 10/10 a
 * working day), is verified within 5 WD: 10/8, 10/9, 10/10 (调休), 10/12, 10/13 → due 2026-10-13; no clock pause.
 */
describe('nanyang-2022 conformance: objections (NY task 8)', () => {
  it('NY task 8: 5 WD across National Day; the provider cannot pause the clock', async () => {
    c.on('2026-09-30');
    const staff = await c.as('rsj_staff');
    const r = await c.resource(staff, '婚姻登记信息');
    const o = (
      await c.call(staff, 'POST', '/api/quality/objections', {
        resourceId: r.id,
        target: 'resource',
        problem: 'stale',
        description: '离婚登记信息更新滞后。',
      })
    ).json();
    expect(o).toMatchObject({ dueDate: '2026-10-13', article: 'NY task 8', pauseAllowed: false });
    const pause = await c.call(await c.as('mzj_officer'), 'POST', `/api/quality/objections/${o.id}/actions`, {
      action: 'pause',
      reason: '专家评审',
    });
    expect(pause.json().code).toBe('OBJECTION_PAUSE_NOT_ALLOWED');
  });
});
