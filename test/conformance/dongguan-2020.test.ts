import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type City, openCity } from './play.js';

/*
 * Dongguan 2020: the provider consents to a conditional request (DG Art 20) within the provincial 10 working days
 * (GD Art 19); the request states purpose and business scope (DG Art 26); a refusal cites a law, regulation or rule
 * (DG Art 24); a late provider is put before the authority (DG Art 15/35). Dates by hand from the 2026 notice
 * (REFERENCE.md): off 9/25–9/27 and 10/1–10/7, Saturday 10/10 a working day.
 * Filed Thursday 2026-09-24: WD1 9/28, WD2 9/29, WD3 9/30, WD4 10/8, WD5 10/9, WD6 10/10 Sat (调休), WD7 10/12,
 * WD8 10/13, WD9 10/14, WD10 10/15 → due 2026-10-15; escalation on 10/16.
 */
const MARRIAGE = '婚姻登记信息';
let c: City;

beforeAll(async () => {
  c = await openCity('dongguan-2020', '2026-09-24');
});
afterAll(async () => c?.close());

describe('dongguan-2020 conformance', () => {
  it('DG Art 26: a conditional request without its business scope is refused, naming the field', async () => {
    const res = await c.fileRequest(await c.as('rsj_officer'), MARRIAGE, '社保婚姻核验一', { scope: null });
    expect(res.statusCode).toBe(400);
    expect(res.json().details.map((d: { field: string }) => d.field)).toEqual(['scope']);
  });

  it('DG Art 20 / GD Art 19: filed 2026-09-24, the provider is due 2026-10-15; late → escalated on 10/16', async () => {
    const res = await c.fileRequest(await c.as('rsj_officer'), MARRIAGE, '社保婚姻核验二');
    expect(res.statusCode, res.body).toBe(201);
    const q = res.json();
    expect(q).toMatchObject({ dueDate: '2026-10-15', scope: '本部门社会保险待遇审核业务' });
    c.on('2026-10-15');
    await c.tick();
    const rsj = await c.as('rsj_officer');
    expect((await c.call(rsj, 'GET', `/api/sharing/requests/${q.id}`)).json().escalatedOn).toBe(null);
    c.on('2026-10-16');
    await c.tick();
    expect((await c.call(rsj, 'GET', `/api/sharing/requests/${q.id}`)).json().escalatedOn).toBe('2026-10-16');
    // the authority now sees it among its incoming requests
    const incoming = (
      await c.call(await c.as('reviewer'), 'GET', '/api/sharing/requests?box=incoming')
    ).json();
    expect(incoming.items.map((x: { id: number }) => x.id)).toContain(q.id);
    // DG Art 15/35: the authority may now decide in place of the provider that let the deadline pass; recorded as such
    const reviewer = await c.as('reviewer');
    expect((await c.call(reviewer, 'GET', `/api/sharing/requests/${q.id}`)).json().canOverride).toBe(true);
    const bare = await c.call(reviewer, 'POST', `/api/sharing/requests/${q.id}/approve`, {});
    expect(bare.statusCode).toBe(403);
    const o = await c.call(reviewer, 'POST', `/api/sharing/requests/${q.id}/override`, {
      approve: true,
      comment: '数源部门逾期未答复，经督办后由数据主管部门代为同意',
    });
    expect(o.statusCode, o.body).toBe(200);
    expect(o.json()).toMatchObject({ status: 'approved', canOverride: false });
    expect(o.json().steps[0]).toMatchObject({ decision: 'approved', approvals: ['provider'] });
    const audit = await c.env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'detail'])
      .where('target_type', '=', 'share_request')
      .where('target_id', '=', String(q.id))
      .where('action', '=', 'share.override')
      .executeTakeFirstOrThrow();
    expect(audit.detail).toMatchObject({ override: true, escalatedOn: '2026-10-16', party: 'provider' });
  });

  it('DG Art 15/35: a request not escalated is not overridden, and only the authority overrides', async () => {
    const filed = await c.fileRequest(await c.as('jyj_officer'), MARRIAGE, '学籍婚姻核验三');
    expect(filed.statusCode, filed.body).toBe(201);
    const q = filed.json();
    const early = await c.call(await c.as('reviewer'), 'POST', `/api/sharing/requests/${q.id}/override`, {
      approve: true,
      comment: '代为同意',
    });
    expect(early.json().code).toBe('REQUEST_NOT_PENDING');
    // a department decides through approve/reject, never by override
    const officer = await c.call(
      await c.as('jyj_officer'),
      'POST',
      `/api/sharing/requests/${q.id}/override`,
      {
        approve: true,
        comment: '代为同意',
      },
    );
    expect(officer.statusCode, officer.body).toBe(403);
  });

  it('DG Art 24: a refusal without a legal basis is refused; with one it stands', async () => {
    const q = (await c.fileRequest(await c.as('jyj_officer'), MARRIAGE, '学籍婚姻核验')).json();
    const mzj = await c.as('mzj_officer');
    const r = await c.call(mzj, 'POST', `/api/sharing/requests/${q.id}/reject`, { reason: '涉及隐私' });
    expect(r.json().code).toBe('LEGAL_BASIS_REQUIRED');
    const ok = await c.call(mzj, 'POST', `/api/sharing/requests/${q.id}/reject`, {
      reason: '涉及隐私',
      legalBasis: '《婚姻登记条例》',
    });
    expect(ok.json().status).toBe('rejected');
    const told = (await c.notifications('jyj_officer')).filter((n) => n.params.requestId === q.id);
    expect(told.map((n) => n.kind)).toEqual(['sharing.rejected']);
    expect(told[0].params.comment).toContain('《婚姻登记条例》');
  });

  it('DG Art 19: a conditional resource whose negative-list entry is not approved yet is shared unconditionally; once approved, it needs consent', async () => {
    const BIRTH = '出生医学证明信息';
    const rsj = await c.as('rsj_officer');
    expect((await c.resource(rsj, BIRTH)).shareType).toBe('conditional');
    const before = await c.fileRequest(rsj, BIRTH, '生育待遇核验');
    expect(before.statusCode, before.body).toBe(201);
    expect(before.json()).toMatchObject({ status: 'approved', steps: [] });
    const reviewer = await c.as('reviewer');
    const list = (await c.call(reviewer, 'GET', '/api/inventory/negative-list?status=proposed')).json();
    const entry = list.items.find((e: { resource: { name: string } }) => e.resource.name === BIRTH);
    const decided = await c.call(reviewer, 'POST', `/api/inventory/negative-list/${entry.id}/decide`, {
      approve: true,
      comment: '依据充分',
    });
    expect(decided.statusCode, decided.body).toBe(200);
    const after = await c.fileRequest(await c.as('jyj_officer'), BIRTH, '入学出生证明核验');
    expect(after.json()).toMatchObject({ status: 'pending' });
    expect(after.json().steps[0].actor).toBe('provider');
  });
});

/*
 * DG Art 28 (issue 12): an objection raised Wednesday 2026-09-30, before National Day (10/1–10/7 off, Saturday 10/10 a
 * working day): WD1 10/8, WD2 10/9, WD3 10/10 (调休), WD4 10/12, WD5 10/13, WD6 10/14, WD7 10/15, WD8 10/16, WD9 10/19,
 * WD10 10/20 → due 2026-10-20. Paused Monday 10/12 for an expert review, resumed Wednesday 10/14: 10/13 and 10/14 are
 * not counted → due 10/20 + 2 WD = 2026-10-22.
 */
describe('dongguan-2020 conformance: objections (DG Art 28)', () => {
  it('DG Art 28: 10 WD across National Day; the expert-review pause moves the due date by the paused working days', async () => {
    c.on('2026-09-30');
    const staff = await c.as('rsj_staff');
    const r = await c.resource(staff, MARRIAGE);
    const raised = await c.call(staff, 'POST', '/api/quality/objections', {
      resourceId: r.id,
      target: 'resource',
      problem: 'stale',
      description: '离婚登记信息更新滞后。',
    });
    expect(raised.statusCode, raised.body).toBe(200);
    const o = raised.json();
    expect(o).toMatchObject({ dueDate: '2026-10-20', article: 'DG Art 28', pauseAllowed: true });
    const officer = await c.as('mzj_officer');
    c.on('2026-10-12');
    const paused = await c.call(officer, 'POST', `/api/quality/objections/${o.id}/actions`, {
      action: 'pause',
      reason: '提请专家评审登记档案',
    });
    expect(paused.json().status).toBe('paused');
    c.on('2026-10-14');
    const resumed = await c.call(officer, 'POST', `/api/quality/objections/${o.id}/actions`, {
      action: 'resume',
    });
    expect(resumed.json()).toMatchObject({ status: 'verifying', dueDate: '2026-10-22', pausedWorkdays: 2 });
  });
});
