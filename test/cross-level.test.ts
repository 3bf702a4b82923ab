import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type City, openCity } from './conformance/play.js';

/*
 * Cross-level requests under a city profile that has no rule of its own (issue 8 point 9): Dongguan's 办法 is built on
 * the province's (DG Art 1, profile `parent: guangdong-2018`), so a county department of 临江市 asks for city data
 * through its own county authority as GD Art 15 says, then the city's DG path runs. Dates by hand (no holiday in March
 * 2026; Qingming is 4/4–4/6): filed Monday 2026-03-02 → county review (GD Art 19's 10 WD) 3/3 … 3/16 → due 2026-03-16;
 * forwarded 3/16 → provider 10 WD 3/17 … 3/30 → due 2026-03-30, escalated the day after (DG Art 15/35).
 */
const MARRIAGE = '婚姻登记信息';
let c: City;

beforeAll(async () => {
  c = await openCity('dongguan-2020', '2026-03-02');
});
afterAll(async () => c?.close());

describe('cross-level requests under dongguan-2020 (the province rule through `parent`, GD Art 15)', () => {
  it('GD Art 15 via DG Art 1: a county request gets the county step from the province profile; a city request none', async () => {
    const county = (await c.fileRequest(await c.as('jc_mzj_officer'), MARRIAGE, '江城区救助核验')).json();
    expect(county.dueDate).toBe('2026-03-16');
    expect(
      county.steps.map((s: { key: string; article: string; level: string }) => [s.key, s.article, s.level]),
    ).toEqual([
      ['localAuthorityReview', 'GD Art 15', 'county'],
      ['providerReview', 'DG Art 20; deadline GD Art 19', 'city'],
    ]);
    const city = (await c.fileRequest(await c.as('rsj_officer'), MARRIAGE, '社保婚姻核验')).json();
    expect(city.steps.map((s: { key: string }) => s.key)).toEqual(['providerReview']);
    // a county's own request for county-level work is not cross-level either: 青山县 sees nothing of 江城区's
    const qs = (
      await c.call(await c.as('qs_reviewer'), 'GET', '/api/sharing/requests?box=incoming&pageSize=100')
    ).json();
    expect(qs.items.map((r: { id: number }) => r.id)).not.toContain(county.id);
  });

  it('DG Art 15/35 on a cross-level request: the city authority, not the county one, overrides a late city provider', async () => {
    c.on('2026-03-02');
    const q = (await c.fileRequest(await c.as('jc_mzj_officer'), MARRIAGE, '江城区养老核验')).json();
    c.on('2026-03-16');
    const s1 = (
      await c.call(await c.as('jc_reviewer'), 'POST', `/api/sharing/requests/${q.id}/approve`, {
        comment: '同意报送',
      })
    ).json();
    expect(s1).toMatchObject({ currentStep: 1, dueDate: '2026-03-30' });
    c.on('2026-03-31');
    await c.tick();
    const late = (await c.call(await c.as('jc_mzj_officer'), 'GET', `/api/sharing/requests/${q.id}`)).json();
    expect(late.escalatedOn).toBe('2026-03-31');
    // the escalation is for the city's authority: in its to-do, told, and the only one that may decide in place
    const override = { approve: true, comment: '数源部门逾期未答复，由数据主管部门代为同意' };
    const jcTry = await c.call(
      await c.as('jc_reviewer'),
      'POST',
      `/api/sharing/requests/${q.id}/override`,
      override,
    );
    expect(jcTry.statusCode).toBe(403);
    expect(
      (await c.notifications('jc_reviewer')).filter(
        (n) => n.params.requestId === q.id && n.kind === 'sharing.escalated',
      ),
    ).toEqual([]);
    expect(
      (await c.notifications('reviewer')).some(
        (n) => n.params.requestId === q.id && n.kind === 'sharing.escalated',
      ),
    ).toBe(true);
    const done = await c.call(
      await c.as('reviewer'),
      'POST',
      `/api/sharing/requests/${q.id}/override`,
      override,
    );
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json().status).toBe('approved');
  });
});
