import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type City, openCity } from './conformance/play.js';

/*
 * Nanyang 2022, NY task 7 ("原则上10个工作日内完成授权"), deadlines that reach the authority. Dates by hand from the 2026
 * notice (REFERENCE.md): Labour Day off 5/1–5/5, Saturday 5/9 a working day. Filed Thursday 2026-04-30: WD1 5/6, WD2
 * 5/7, WD3 5/8, WD4 5/9 Sat (调休), WD5 5/11 Mon → provider due 2026-05-11; WD6 5/12, WD7 5/13, WD8 5/14, WD9 5/15,
 * WD10 5/18 Mon → the overall deadline (and a bulk grant's 10 WD) is 2026-05-18; one working day before it is Friday
 * 5/15; the day after it 5/19.
 */
const MARRIAGE = '婚姻登记信息'; // 市民政局, conditional
let c: City;
let cityReq: number;
let countyReq: number;
let bulkId: number;

type Note = { kind: string; params: Record<string, unknown> };
const count = (ns: Note[], kind: string, key: string, id: number) =>
  ns.filter((n) => n.kind === kind && n.params[key] === id).length;

beforeAll(async () => {
  c = await openCity('nanyang-2022', '2026-04-30');
  // a county-level request: a 青山县 department asks for a resource a 江城区 department provides (the demo's county
  // departments provide nothing, so one conditional city resource is handed to 江城区民政局 for this test)
  const db = c.env.ctx.db;
  const jcMzj = await db
    .selectFrom('org')
    .select('id')
    .where('code', '=', 'JC-MZJ')
    .executeTakeFirstOrThrow();
  const mzj = await db.selectFrom('org').select('id').where('code', '=', 'LJ-MZJ').executeTakeFirstOrThrow();
  const res = await db
    .selectFrom('resource')
    .select(['id', 'name'])
    .where('share_type', '=', 'conditional')
    .where('status', '=', 'published')
    .where('provider_org_id', '<>', mzj.id)
    .orderBy('id')
    .executeTakeFirstOrThrow();
  await db.updateTable('resource').set({ provider_org_id: jcMzj.id }).where('id', '=', res.id).execute();

  const a = await c.fileRequest(await c.as('rsj_officer'), MARRIAGE, '待遇婚姻核验');
  expect(a.statusCode, a.body).toBe(201);
  expect(a.json()).toMatchObject({ dueDate: '2026-05-11', overallDueDate: '2026-05-18' });
  cityReq = a.json().id;
  const b = await c.fileRequest(await c.as('qs_rsj_officer'), res.name, '县就业核验');
  expect(b.statusCode, b.body).toBe(201);
  expect(b.json()).toMatchObject({ overallDueDate: '2026-05-18' });
  expect(b.json().steps.map((s: { level: string }) => s.level)).toEqual(['county']);
  countyReq = b.json().id;

  // a bulk grant (整体授权) filed Wednesday 2026-05-06: WD1 5/7, WD2 5/8, WD3 5/9 Sat (调休), WD4 5/11 … WD8 5/15,
  // WD9 5/18, WD10 5/19 → due 2026-05-19; one working day before it 5/18; overdue and escalated on 5/20
  c.on('2026-05-06');
  const gs = await c.as('gs_officer');
  const app = await c.newApp(gs, '信用联合奖惩系统');
  const cls = await db
    .selectFrom('catalog_class')
    .select('id')
    .where('name', '=', '信用监管')
    .executeTakeFirstOrThrow();
  const filed = await c.call(gs, 'POST', '/api/sharing/bulk-grants', {
    kind: 'bulkGrant',
    classId: cls.id,
    appId: app.id,
    purpose: '信用联合奖惩业务中查询企业信用信息',
    validUntil: '2099-12-31',
  });
  expect(filed.statusCode, filed.body).toBe(201);
  expect(filed.json()).toMatchObject({ dueDate: '2026-05-19', escalatedOn: null });
  bulkId = filed.json().id;
});
afterAll(async () => c?.close());

describe('NY task 7: the overall 10 WD deadline is told to the authority responsible for the request', () => {
  it('passed on 5/19: the city authority for the city request, 江城区 for its county request, 青山县 for neither; once', async () => {
    c.on('2026-05-18');
    await c.tick();
    expect(count(await c.notifications('reviewer'), 'sharing.overallOverdue', 'requestId', cityReq)).toBe(0);
    c.on('2026-05-19');
    await c.tick();
    await c.tick();
    const city = await c.notifications('reviewer');
    const jc = await c.notifications('jc_reviewer');
    const qs = await c.notifications('qs_reviewer');
    expect(count(city, 'sharing.overallOverdue', 'requestId', cityReq)).toBe(1);
    expect(count(city, 'sharing.overallOverdue', 'requestId', countyReq)).toBe(0);
    expect(count(jc, 'sharing.overallOverdue', 'requestId', countyReq)).toBe(1);
    expect(count(jc, 'sharing.overallOverdue', 'requestId', cityReq)).toBe(0);
    expect(count(qs, 'sharing.overallOverdue', 'requestId', cityReq)).toBe(0);
    expect(count(qs, 'sharing.overallOverdue', 'requestId', countyReq)).toBe(0);
    // the consumers are told of their own request
    expect(count(await c.notifications('rsj_officer'), 'sharing.overallOverdue', 'requestId', cityReq)).toBe(
      1,
    );
    expect(
      count(await c.notifications('qs_rsj_officer'), 'sharing.overallOverdue', 'requestId', countyReq),
    ).toBe(1);
    const q = (await c.call(await c.as('rsj_officer'), 'GET', `/api/sharing/requests/${cityReq}`)).json();
    expect(q.overallOverdue).toBe(true);
  });
});

describe('NY task 7: an overdue bulk grant request is reminded and escalated like a request (issue 9 point 1)', () => {
  it('reminded on 5/18 and 5/19 (the ticks above), overdue and escalated on 5/20, each once; the authority and the consumer told', async () => {
    const bulk = (n: Note[], kind: string) => count(n, kind, 'bulkId', bulkId);
    // the ticks of 5/18 and 5/19 in the test above: the deciding authority was reminded the day before and on the day
    let city = await c.notifications('reviewer');
    expect(bulk(city, 'sharing.bulkDueSoon')).toBe(1);
    expect(bulk(city, 'sharing.bulkDueToday')).toBe(1);
    expect(bulk(city, 'sharing.bulkOverdue')).toBe(0);
    const gs = await c.as('gs_officer');
    expect((await c.call(gs, 'GET', `/api/sharing/bulk-grants/${bulkId}`)).json()).toMatchObject({
      overdue: false,
      escalatedOn: null,
    });

    c.on('2026-05-20');
    await c.tick();
    c.on('2026-05-21');
    await c.tick();
    await c.tick();
    city = await c.notifications('reviewer');
    expect(bulk(city, 'sharing.bulkDueSoon')).toBe(1);
    expect(bulk(city, 'sharing.bulkDueToday')).toBe(1);
    expect(bulk(city, 'sharing.bulkOverdue')).toBe(1);
    expect(bulk(city, 'sharing.bulkEscalated')).toBe(1);
    // the consumer hears of the escalation, not of the reminders meant for the decider
    const consumer = await c.notifications('gs_officer');
    expect(bulk(consumer, 'sharing.bulkEscalated')).toBe(1);
    expect(bulk(consumer, 'sharing.bulkDueSoon')).toBe(0);
    const view = (await c.call(gs, 'GET', `/api/sharing/bulk-grants/${bulkId}`)).json();
    expect(view).toMatchObject({ status: 'pending', overdue: true, escalatedOn: '2026-05-20' });
    const audits = await c.env.ctx.db
      .selectFrom('audit_log')
      .select(['detail'])
      .where('action', '=', 'share.escalate')
      .where('target_type', '=', 'share_bulk_grant')
      .where('target_id', '=', String(bulkId))
      .execute();
    expect(audits).toHaveLength(1);
    expect(audits[0].detail).toMatchObject({ dueDate: '2026-05-19', escalatedOn: '2026-05-20' });
  });
});
