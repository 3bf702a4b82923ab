import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type City, openCity } from './conformance/play.js';

/*
 * Issue 8 point 3, resubmission after a refusal, through the HTTP API under dongguan-2020: a refusal being contested
 * (DG Art 15 dispute, open) is not resubmitted (409 REFUSAL_DISPUTED, audited as a refusal); once the authority has
 * decided the dispute it is; a request is resubmitted at most 5 times, the 6th is 409 RESUBMISSION_LIMIT. 2030-03-04 is
 * a Monday; 2030's holidays are not announced (Monday to Friday, REFERENCE.md).
 */
const MARRIAGE = '婚姻登记信息'; // 市民政局, conditional
let c: City;
let id: number;

const refuse = async () => {
  const res = await c.call(await c.as('mzj_officer'), 'POST', `/api/sharing/requests/${id}/reject`, {
    reason: '业务范围不明确，请补充说明',
    legalBasis: '《婚姻登记条例》第二条',
  });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json().status).toBe('rejected');
};
const resubmit = async (note: string) =>
  c.call(await c.as('rsj_officer'), 'POST', `/api/sharing/requests/${id}/resubmit`, { note });
const view = async () =>
  (await c.call(await c.as('rsj_officer'), 'GET', `/api/sharing/requests/${id}`)).json();

beforeAll(async () => {
  c = await openCity('dongguan-2020', '2030-03-04');
  const res = await c.fileRequest(await c.as('rsj_officer'), MARRIAGE, '遗属待遇审核');
  expect(res.statusCode, res.body).toBe(201);
  id = res.json().id;
});
afterAll(async () => c?.close());

describe('resubmission after a refusal (issue 8 point 3; DG Art 15, DG Art 20)', () => {
  it('DG Art 15: while the refusal is disputed the request is not resubmitted (REFUSAL_DISPUTED, audited); after the decision it is', async () => {
    await refuse();
    const rsj = await c.as('rsj_officer');
    const raised = await c.call(rsj, 'POST', `/api/sharing/requests/${id}/dispute`, {
      reason: '遗属待遇审核须核验婚姻关系，《社会保险法》有明确规定',
    });
    expect(raised.statusCode, raised.body).toBe(201);
    const disputeId = raised.json().id;
    expect((await view()).canResubmit).toBe(true);

    const blocked = await resubmit('补充业务范围说明');
    expect(blocked.statusCode).toBe(409);
    expect(blocked.json()).toMatchObject({ code: 'REFUSAL_DISPUTED' });
    expect(blocked.json().details[0]).toMatchObject({
      field: 'id',
      reasonZh: expect.stringContaining('争议'),
    });
    expect(await view()).toMatchObject({ status: 'rejected', resubmissions: [] });
    const audited = await c.env.ctx.db
      .selectFrom('audit_log')
      .select(['decision', 'detail'])
      .where('action', '=', 'http.refused')
      .where('target_id', '=', String(id))
      .execute();
    expect(audited).toContainEqual(
      expect.objectContaining({
        decision: 'deny',
        detail: expect.objectContaining({ code: 'REFUSAL_DISPUTED' }),
      }),
    );

    const decided = await c.call(
      await c.as('reviewer'),
      'POST',
      `/api/sharing/disputes/${disputeId}/decide`,
      { outcome: 'upheld', comment: '维持不予共享决定，请补充材料后重新提交' },
    );
    expect(decided.statusCode, decided.body).toBe(200);
    const ok = await resubmit('补充：仅核验婚姻状况，用于遗属待遇资格审核');
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'pending' });
    expect(ok.json().resubmissions).toHaveLength(1);
  });

  it('the 6th resubmission is refused with RESUBMISSION_LIMIT; the request stays refused', async () => {
    // one resubmission so far; four more reach the limit of 5
    for (let i = 2; i <= 5; i++) {
      await refuse();
      const res = await resubmit(`第 ${i} 次补正材料`);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().resubmissions).toHaveLength(i);
    }
    await refuse();
    const v = await view();
    expect(v).toMatchObject({ status: 'rejected', canResubmit: false });
    const sixth = await resubmit('第 6 次补正材料');
    expect(sixth.statusCode).toBe(409);
    expect(sixth.json().code).toBe('RESUBMISSION_LIMIT');
    expect(await view()).toMatchObject({ status: 'rejected' });
    expect((await view()).resubmissions).toHaveLength(5);
    const audits = await c.env.ctx.db
      .selectFrom('audit_log')
      .select('id')
      .where('action', '=', 'share.resubmit')
      .where('target_id', '=', String(id))
      .execute();
    expect(audits).toHaveLength(5);
  });
});
