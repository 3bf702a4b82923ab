import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type City, openCity } from './conformance/play.js';

/*
 * Issue 12 point 1: objections (疑义/异议). Dates are worked out by hand from the State Council 2026 notice (no holiday
 * in March 2026): counted from the day after the objection is raised (民法典 Art 201).
 */
const RAISE = '2026-03-02'; // Monday

async function raise(city: City, username: string, extra: Record<string, unknown> = {}) {
  const cookie = await city.as(username);
  const r = await city.resource(cookie, '人口基础信息');
  return city.call(cookie, 'POST', '/api/quality/objections', {
    resourceId: r.id,
    target: 'record',
    recordKey: '441900199001011234',
    problem: 'wrong',
    description: '该居民户籍地址已于 2025 年迁出，平台数据仍为旧址。',
    evidence: '迁移证编号 QY-2025-0088',
    ...extra,
  });
}

const act = async (city: City, username: string, id: number, body: Record<string, unknown>) =>
  city.call(await city.as(username), 'POST', `/api/quality/objections/${id}/actions`, body);

/** the notification kinds a person received about one objection (the demo city has objections of its own) */
const kinds = async (city: City, username: string, id: number) =>
  (await city.notifications(username)).filter((n) => n.params.objectionId === id).map((n) => n.kind);

describe('objections under dongguan-2020 (DG Art 28: 10 WD, testing and expert time not counted)', () => {
  let city: City;
  beforeAll(async () => {
    city = await openCity('dongguan-2020', RAISE);
  });
  afterAll(async () => city?.close());

  it('DG Art 28: raised by a consumer, due 10 WD later; the provider pauses for expert review, the due date moves by the paused working days; reminders and escalation follow the moved date', async () => {
    const res = await raise(city, 'rsj_staff');
    expect(res.statusCode, res.body).toBe(200);
    const o = res.json();
    expect(o.status).toBe('submitted');
    expect(o.article).toBe('DG Art 28');
    // Mar 3–6 (4), 9–13 (9), 16 (10)
    expect(o.dueDate).toBe('2026-03-16');
    expect(await kinds(city, 'gaj_officer', o.id)).toContain('quality.objectionRaised');
    // the home page's to-do of the provider lists it with the working days left
    const work = (await city.call(await city.as('gaj_officer'), 'GET', '/api/work')).json();
    const item = work.items.find(
      (w: { kind: string; id: number }) => w.kind === 'objection' && w.id === o.id,
    );
    expect(item).toMatchObject({ dueDate: '2026-03-16', workdaysLeft: 10, overdue: false });

    // only the provider's data officer answers
    expect((await act(city, 'rsj_staff', o.id, { action: 'start' })).statusCode).toBe(403);
    expect((await act(city, 'gaj_officer', o.id, { action: 'resume' })).json().code).toBe(
      'OBJECTION_STATE_INVALID',
    );
    expect((await act(city, 'gaj_officer', o.id, { action: 'start' })).json().status).toBe('verifying');
    // a pause names its reason
    expect((await act(city, 'gaj_officer', o.id, { action: 'pause' })).statusCode).toBe(400);

    city.on('2026-03-04'); // Wednesday
    const paused = await act(city, 'gaj_officer', o.id, { action: 'pause', reason: '送户籍档案鉴定' });
    expect(paused.statusCode, paused.body).toBe(200);
    expect(paused.json()).toMatchObject({ status: 'paused', pausedOn: '2026-03-04' });
    expect(await kinds(city, 'rsj_staff', o.id)).toContain('quality.objectionPaused');

    // the original due date passes while paused: no reminder, no escalation (the clock stands still)
    city.on('2026-03-13');
    await city.tick();
    city.on('2026-03-17');
    await city.tick();
    expect(await kinds(city, 'gaj_officer', o.id)).not.toContain('quality.objectionDueSoon');
    expect(await kinds(city, 'reviewer', o.id)).not.toContain('quality.objectionEscalated');

    // resumed on Tue 17th: the paused working days after Mar 4 up to Mar 17 are 5, 6, 9–13, 16, 17 = 9
    const resumed = await act(city, 'gaj_officer', o.id, { action: 'resume' });
    expect(resumed.statusCode, resumed.body).toBe(200);
    // Mar 16 + 9 WD: 17,18,19,20,23,24,25,26,27
    expect(resumed.json()).toMatchObject({ status: 'verifying', dueDate: '2026-03-27', pausedWorkdays: 9 });
    expect(await kinds(city, 'rsj_staff', o.id)).toContain('quality.objectionResumed');

    city.on('2026-03-26'); // one working day before the moved due date
    await city.tick();
    expect(await kinds(city, 'gaj_officer', o.id)).toContain('quality.objectionDueSoon');
    city.on('2026-03-27');
    await city.tick();
    expect(await kinds(city, 'gaj_officer', o.id)).toContain('quality.objectionDueToday');
    expect(await kinds(city, 'reviewer', o.id)).not.toContain('quality.objectionEscalated');

    // past it: overdue for the provider, before the authority, and the objector hears of it
    city.on('2026-03-30');
    await city.tick();
    await city.tick();
    expect(
      (await kinds(city, 'gaj_officer', o.id)).filter((k) => k === 'quality.objectionOverdue'),
    ).toHaveLength(1);
    expect(await kinds(city, 'reviewer', o.id)).toContain('quality.objectionEscalated');
    expect(await kinds(city, 'rsj_staff', o.id)).toContain('quality.objectionEscalated');
    const late = (
      await city.call(await city.as('reviewer'), 'GET', `/api/quality/objections/${o.id}`)
    ).json();
    expect(late).toMatchObject({ overdue: true, escalatedOn: '2026-03-28', workdaysOverdue: 1 });
    // the authority's reviewer sees a masked key; the two parties the key itself
    expect(late.recordKey).not.toBe('441900199001011234');
    expect(late.recordKey).toMatch(/\*/);
    const reviewerWork = (await city.call(await city.as('reviewer'), 'GET', '/api/work')).json();
    expect(
      reviewerWork.items.some((w: { kind: string; id: number }) => w.kind === 'objection' && w.id === o.id),
    ).toBe(true);
    // the timeline records the actions once each
    const kindsInTimeline = late.events.map((e: { kind: string }) => e.kind);
    expect(kindsInTimeline).toEqual([
      'raised',
      'start',
      'pause',
      'resume',
      'dueSoon',
      'dueToday',
      'overdue',
      'escalated',
    ]);

    // resolved: corrected; a batch of the resource that predates the objection is not its correction
    const batch = await city.env.ctx.db
      .selectFrom('ingest_batch')
      .select('id')
      .where('resource_id', '=', late.resource.id)
      .where('status', '=', 'committed')
      .executeTakeFirst();
    if (batch) {
      const wrong = await act(city, 'gaj_officer', o.id, {
        action: 'correct',
        resolution: '已更正户籍地址',
        batchId: Number(batch.id),
      });
      expect(wrong.statusCode).toBe(400);
      expect(wrong.json().details[0].field).toBe('batchId');
    }
    const done = await act(city, 'gaj_officer', o.id, {
      action: 'correct',
      resolution: '已核实并更正户籍地址',
    });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toMatchObject({ status: 'corrected', resolvedOn: '2026-03-30', canVerify: false });
    expect(await kinds(city, 'rsj_staff', o.id)).toContain('quality.objectionCorrected');
    // escalated, so the authority hears the outcome too
    expect(await kinds(city, 'reviewer', o.id)).toContain('quality.objectionCorrected');
    expect((await act(city, 'gaj_officer', o.id, { action: 'reject', reason: 'x' })).json().code).toBe(
      'OBJECTION_STATE_INVALID',
    );
    const audit = await city.env.ctx.db
      .selectFrom('audit_log')
      .select('action')
      .where('target_type', '=', 'quality_objection')
      .where('target_id', '=', String(o.id))
      .execute();
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining([
        'quality.objection_raised',
        'quality.objection_pause',
        'quality.objection_resume',
        'quality.objection_escalated',
        'quality.objection_correct',
      ]),
    );
  });

  it('a rejection gives its reason and reaches the objector; the lists show mine / to verify; others see nothing', async () => {
    city.on('2026-04-01');
    const o = (
      await raise(city, 'rsj_staff', { target: 'resource', recordKey: null, problem: 'stale' })
    ).json();
    expect(o.recordKey).toBeNull();
    expect((await act(city, 'gaj_officer', o.id, { action: 'reject' })).statusCode).toBe(400);
    const r = await act(city, 'gaj_officer', o.id, {
      action: 'reject',
      reason: '数据已按日更新，无过期情况',
    });
    expect(r.json()).toMatchObject({ status: 'rejected', resolution: '数据已按日更新，无过期情况' });
    expect(await kinds(city, 'rsj_staff', o.id)).toContain('quality.objectionRejected');

    const mine = (
      await city.call(await city.as('rsj_staff'), 'GET', '/api/quality/objections?box=mine')
    ).json();
    expect(mine.items.map((i: { id: number }) => i.id)).toContain(o.id);
    const toVerify = (
      await city.call(
        await city.as('gaj_officer'),
        'GET',
        '/api/quality/objections?box=toVerify&status=rejected',
      )
    ).json();
    expect(toVerify.items.map((i: { id: number }) => i.id)).toEqual([o.id]);
    // a third department sees neither the list entry nor the objection
    const mzj = await city.as('mzj_officer');
    const all = (await city.call(mzj, 'GET', '/api/quality/objections')).json();
    expect(all.items.map((i: { id: number }) => i.id)).not.toContain(o.id);
    expect((await city.call(mzj, 'GET', `/api/quality/objections/${o.id}`)).statusCode).toBe(404);
  });

  it('the demo city starts with open and closed objections (corrected, rejected, verifying, paused, submitted)', async () => {
    const rows = await city.env.ctx.db
      .selectFrom('quality_objection')
      .select('status')
      .where('objector_user_id', 'not in', [-1])
      .orderBy('id')
      .limit(5)
      .execute();
    expect(rows.map((r) => r.status)).toEqual(['corrected', 'rejected', 'verifying', 'paused', 'submitted']);
  });

  it('bounded, validated input; a provider does not object to its own data; refusals are audited', async () => {
    expect((await raise(city, 'gaj_officer')).statusCode).toBe(403);
    expect((await raise(city, 'rsj_staff', { description: 'x'.repeat(2001) })).statusCode).toBe(400);
    expect((await raise(city, 'rsj_staff', { recordKey: '' })).json().details[0].field).toBe('recordKey');
    const badField = await raise(city, 'rsj_staff', { target: 'field', fieldCode: 'nope' });
    expect(badField.statusCode).toBe(400);
    expect(badField.json().details[0].field).toBe('fieldCode');
    const refused = await city.env.ctx.db
      .selectFrom('audit_log')
      .select('action')
      .where('decision', '=', 'deny')
      .where(sql<boolean>`detail->>'route' = '/api/quality/objections'`)
      .execute();
    expect(refused.length).toBeGreaterThan(0);
  });
});

describe('objections under nanyang-2022 (NY task 8: 5 WD, no pause) — the same code, the profile decides', () => {
  let city: City;
  beforeAll(async () => {
    city = await openCity('nanyang-2022', RAISE);
  });
  afterAll(async () => city?.close());

  it('NY task 8: due 5 WD later; no clock pause; reminded one working day before and escalated after', async () => {
    const o = (await raise(city, 'rsj_staff')).json();
    // Mar 3, 4, 5, 6, 9
    expect(o).toMatchObject({ dueDate: '2026-03-09', article: 'NY task 8', pauseAllowed: false });
    const pause = await act(city, 'gaj_officer', o.id, { action: 'pause', reason: '专家评审' });
    expect(pause.statusCode).toBe(409);
    expect(pause.json().code).toBe('OBJECTION_PAUSE_NOT_ALLOWED');
    expect(pause.json().details[0].reasonZh).toContain('南阳方案任务八');
    city.on('2026-03-06'); // Friday: one working day left
    await city.tick();
    expect(await kinds(city, 'gaj_officer', o.id)).toContain('quality.objectionDueSoon');
    city.on('2026-03-10');
    await city.tick();
    expect(await kinds(city, 'reviewer', o.id)).toContain('quality.objectionEscalated');
  });
});
