import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobs } from '../../src/jobs/index.js';
import { tickDeadlines } from '../../src/sharing/deadlines.js';
import { passRiskAssessment } from '../helpers.js';
import { type City, openCity } from './play.js';

/*
 * Shenyang 2019 (draft), SY Art 25: a conditional request is answered by the provider within 5 working days; "逾期未答复的，
 * 视为同意共享". Dates by hand from 国务院办公厅 2026 notice (REFERENCE.md): 2026 National Day off 10/1–10/7, Saturday
 * 10/10 a working day, Sunday 10/11 off.
 * Filed Wednesday 2026-09-30 (start day not counted, 民法典 Art 201): WD1 10/8 Thu, WD2 10/9 Fri, WD3 10/10 Sat (调休),
 * WD4 10/12 Mon, WD5 10/13 Tue → due 2026-10-13; one working day left on Monday 10/12; deemed consent from 10/14.
 */
const MARRIAGE = '婚姻登记信息';
let c: City;

beforeAll(async () => {
  c = await openCity('shenyang-2019', '2026-09-30');
});
afterAll(async () => c?.close());

const mine = (items: { kind: string; params: Record<string, unknown> }[], id: number) =>
  items.filter((n) => n.params.requestId === id).map((n) => n.kind);

describe('shenyang-2019 conformance', () => {
  let id: number;
  let apiKey: string;
  it('SY Art 25: a conditional request filed 2026-09-30 is due from the provider on 2026-10-13 (National Day, 10/10 调休)', async () => {
    const rsj = await c.as('rsj_officer');
    const r = await c.resource(rsj, MARRIAGE);
    expect(r.shareType).toBe('conditional');
    const app = await c.newApp(rsj, '养老待遇资格核验');
    apiKey = app.apiKey;
    const res = await c.call(rsj, 'POST', '/api/sharing/requests', {
      resourceId: r.id,
      appId: app.id,
      fields: r.fields.slice(0, 2),
      purpose: '办理遗属待遇时核验婚姻关系',
      validUntil: '2099-12-31',
    });
    expect(res.statusCode, res.body).toBe(201);
    const q = res.json();
    id = q.id;
    expect(q.dueDate).toBe('2026-10-13');
    expect(q.steps[0]).toMatchObject({
      actor: 'provider',
      onTimeout: 'deemedConsent',
      dueDate: '2026-10-13',
    });
    // seen on 9/30: 10/8, 10/9, 10/10, 10/12, 10/13 are left
    expect(q.workdaysLeft).toBe(5);
  });

  it('SY Art 25: nothing before the last working day; on Monday 10/12 the provider is reminded once', async () => {
    c.on('2026-10-09');
    await c.tick();
    expect(mine(await c.notifications('mzj_officer'), id)).toEqual([]);
    c.on('2026-10-12');
    await c.tick();
    await c.tick();
    expect(mine(await c.notifications('mzj_officer'), id)).toEqual(['sharing.dueSoon']);
    c.on('2026-10-13');
    await c.tick();
    expect(mine(await c.notifications('mzj_officer'), id)).toEqual(['sharing.dueToday', 'sharing.dueSoon']);
    const q = (await c.call(await c.as('rsj_officer'), 'GET', `/api/sharing/requests/${id}`)).json();
    expect(q.status).toBe('pending');
    expect(q.workdaysLeft).toBe(0);
  });

  it('SY Art 25: no reply by the end of 10/13 → on 10/14 consent is deemed: request, grant and audit say so; the consumer calls the data', async () => {
    c.on('2026-10-14');
    await c.tick();
    const rsj = await c.as('rsj_officer');
    const q = (await c.call(rsj, 'GET', `/api/sharing/requests/${id}`)).json();
    expect(q).toMatchObject({ status: 'approved', deemedConsent: true });
    expect(q.steps[0].decision).toBe('deemed');
    // consent exists from the end of the due day, Beijing time
    expect(new Date(q.steps[0].decidedAt).toISOString()).toBe('2026-10-13T15:59:59.999Z');
    const grants = (await c.call(rsj, 'GET', '/api/sharing/grants')).json();
    expect(grants.find((g: { id: number }) => g.id === q.grantId)).toMatchObject({ deemedConsent: true });
    const audit = await c.env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'detail'])
      .where('target_type', '=', 'share_request')
      .where('target_id', '=', String(id))
      .where('action', '=', 'share.deemedConsent')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0].detail).toMatchObject({
      article: 'SY Art 25',
      dueDate: '2026-10-13',
      deemedOn: '2026-10-14',
    });
    expect(mine(await c.notifications('rsj_officer'), id)).toContain('sharing.deemedConsent');
    c.on('2026-10-15');
    // SY Art 42: the marriage records are important data, so the deemed grant waits for a risk assessment
    expect(grants.find((g: { id: number }) => g.id === q.grantId)).toMatchObject({ status: 'riskPending' });
    await passRiskAssessment(c.env.app, id, await c.as('reviewer'));
    const r = await c.resource(rsj, MARRIAGE);
    const data = await c.env.app.inject({
      url: `/api/v1/data/${encodeURIComponent(r.code)}/records?limit=1`,
      headers: { 'x-api-key': apiKey, 'x-purpose': encodeURIComponent('办理遗属待遇时核验婚姻关系') },
    });
    expect(data.statusCode, data.body).toBe(200);
  });

  it('SY Art 25: a platform off over the deadline deems consent on its first tick, dated at the deadline, once across two nodes', async () => {
    c.on('2026-09-30');
    const res = await c.fileRequest(await c.as('jyj_officer'), MARRIAGE, '学籍婚育核验');
    expect(res.statusCode, res.body).toBe(201);
    const late = res.json().id;
    // off until 2026-11-02; two nodes start together
    c.on('2026-11-02');
    const other = createJobs({ db: c.env.ctx.db, clock: c.clock, nodeId: 'node-2' });
    other.register('sharing.deadlines', async () => {
      await tickDeadlines(c.env.ctx);
    });
    await Promise.all([c.tick(), other.runDue(), tickDeadlines(c.env.ctx)]);
    const q = (await c.call(await c.as('jyj_officer'), 'GET', `/api/sharing/requests/${late}`)).json();
    expect(q).toMatchObject({ status: 'approved', deemedConsent: true });
    expect(new Date(q.steps[0].decidedAt).toISOString()).toBe('2026-10-13T15:59:59.999Z');
    const n = await c.env.ctx.db
      .selectFrom('audit_log')
      .select('id')
      .where('target_id', '=', String(late))
      .where('action', '=', 'share.deemedConsent')
      .execute();
    expect(n).toHaveLength(1);
    const grants = await c.env.ctx.db
      .selectFrom('share_grant')
      .select('id')
      .where('request_id', '=', late)
      .execute();
    expect(grants).toHaveLength(1);
  });

  it('SY Art 25: the provider answering in time is a consent, not a deemed one; a refusal cites a legal basis', async () => {
    c.on('2026-11-03');
    const res = await c.fileRequest(await c.as('jtj_officer'), MARRIAGE, '运输从业婚姻核验');
    const rid = res.json().id;
    const mzj = await c.as('mzj_officer');
    const noBasis = await c.call(mzj, 'POST', `/api/sharing/requests/${rid}/reject`, {
      reason: '涉及个人隐私',
    });
    expect(noBasis.statusCode).toBe(400);
    expect(noBasis.json().code).toBe('LEGAL_BASIS_REQUIRED');
    const ok = await c.call(mzj, 'POST', `/api/sharing/requests/${rid}/approve`, {});
    expect(ok.json()).toMatchObject({ status: 'approved', deemedConsent: false });
  });
});
