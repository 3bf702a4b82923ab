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
