import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type City, openCity } from './conformance/play.js';

/*
 * Issue 12 point 2: rectification tasks. XT Art 22 "…通知数源部门在10个工作日内整改"; the dates are worked out by hand
 * from the 2026 notice (no holiday in March 2026), counted from the day after the task is opened (民法典 Art 201).
 */
const OPEN = '2026-03-02'; // Monday

const kinds = async (city: City, username: string, id: number) =>
  (await city.notifications(username)).filter((n) => n.params.rectificationId === id).map((n) => n.kind);

async function openTask(city: City, body: Record<string, unknown>) {
  return city.call(await city.as('reviewer'), 'POST', '/api/quality/rectifications', {
    title: '人口基础信息完整性整改',
    description: '抽检发现 3% 的记录缺少现住址。',
    ...body,
  });
}

describe('rectification under xingtai-2024 (XT Art 22: 10 WD)', () => {
  let city: City;
  beforeAll(async () => {
    city = await openCity('xingtai-2024', OPEN);
  });
  afterAll(async () => city?.close());

  it('XT Art 22: the authority opens a task after a failed check; due 10 WD later; reminded, then escalated; closed with evidence', async () => {
    const reviewer = await city.as('reviewer');
    const population = await city.resource(reviewer, '人口基础信息');
    // only the authority opens one
    const refused = await city.call(await city.as('rsj_officer'), 'POST', '/api/quality/rectifications', {
      resourceId: population.id,
      title: 'x',
      description: 'y',
    });
    expect(refused.statusCode).toBe(403);

    const res = await openTask(city, { resourceId: population.id });
    expect(res.statusCode, res.body).toBe(200);
    const t = res.json();
    // Mar 3–6 (4), 9–13 (9), 16 (10)
    expect(t).toMatchObject({ status: 'open', source: 'check', dueDate: '2026-03-16', article: 'XT Art 22' });
    expect(await kinds(city, 'gaj_officer', t.id)).toContain('quality.rectificationOpened');
    const work = (await city.call(await city.as('gaj_officer'), 'GET', '/api/work')).json();
    expect(work.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'rectification', id: t.id, workdaysLeft: 10 }),
      ]),
    );

    city.on('2026-03-13'); // Friday, one working day before
    await city.tick();
    expect(await kinds(city, 'gaj_officer', t.id)).toContain('quality.rectificationDueSoon');
    expect(await kinds(city, 'reviewer', t.id)).not.toContain('quality.rectificationEscalated');
    city.on('2026-03-17');
    await city.tick();
    await city.tick();
    expect(
      (await kinds(city, 'gaj_officer', t.id)).filter((k) => k === 'quality.rectificationOverdue'),
    ).toHaveLength(1);
    expect(await kinds(city, 'reviewer', t.id)).toContain('quality.rectificationEscalated');
    const late = (await city.call(reviewer, 'GET', `/api/quality/rectifications/${t.id}`)).json();
    expect(late).toMatchObject({ overdue: true, escalatedOn: '2026-03-17', workdaysOverdue: 1 });

    // another department neither sees nor closes it
    const rsj = await city.as('rsj_officer');
    expect((await city.call(rsj, 'GET', `/api/quality/rectifications/${t.id}`)).statusCode).toBe(404);
    const gaj = await city.as('gaj_officer');
    const closed = await city.call(gaj, 'POST', `/api/quality/rectifications/${t.id}/close`, {
      evidence: '已补录现住址 1 203 条，并在采集系统中将现住址设为必填。',
    });
    expect(closed.statusCode, closed.body).toBe(200);
    expect(closed.json()).toMatchObject({ status: 'closed', closedOn: '2026-03-17', canClose: false });
    expect(await kinds(city, 'reviewer', t.id)).toContain('quality.rectificationClosed');
    const again = await city.call(gaj, 'POST', `/api/quality/rectifications/${t.id}/close`, {
      evidence: 'x',
    });
    expect(again.json().code).toBe('RECTIFICATION_STATE_INVALID');
    expect(late.events.map((e: { kind: string }) => e.kind)).toEqual([
      'opened',
      'dueSoon',
      'overdue',
      'escalated',
    ]);
    const audit = await city.env.ctx.db
      .selectFrom('audit_log')
      .select('action')
      .where('target_type', '=', 'quality_rectification')
      .where('target_id', '=', String(t.id))
      .orderBy('id')
      .execute();
    expect(audit.map((a) => a.action)).toEqual([
      'quality.rectification_opened',
      'quality.rectification_escalated',
      'quality.rectification_closed',
    ]);
  });

  it('XT Art 21–22: from a confirmed objection (XT sets no objection deadline: no due date, still answered)', async () => {
    city.on('2026-04-01');
    const staff = await city.as('rsj_staff');
    const population = await city.resource(staff, '人口基础信息');
    const o = (
      await city.call(staff, 'POST', '/api/quality/objections', {
        resourceId: population.id,
        target: 'resource',
        problem: 'missing',
        description: '新生儿落户信息缺失。',
      })
    ).json();
    expect(o).toMatchObject({ dueDate: null, article: 'XT Art 21' });
    // not confirmed yet: no task from it
    const early = await openTask(city, { objectionId: o.id });
    expect(early.statusCode).toBe(400);
    expect(early.json().details[0].field).toBe('objectionId');
    const gaj = await city.as('gaj_officer');
    await city.call(gaj, 'POST', `/api/quality/objections/${o.id}/actions`, {
      action: 'correct',
      resolution: '已补录',
    });
    const t = await openTask(city, { objectionId: o.id });
    expect(t.statusCode, t.body).toBe(200);
    expect(t.json()).toMatchObject({
      source: 'objection',
      objectionId: o.id,
      resource: { id: population.id },
    });
  });
});

describe('rectification under dongguan-2020 (no rectification deadline in DG)', () => {
  let city: City;
  beforeAll(async () => {
    city = await openCity('dongguan-2020', OPEN);
  });
  afterAll(async () => city?.close());

  it('the same code opens the task without a due date; the ticker leaves it alone', async () => {
    const population = await city.resource(await city.as('reviewer'), '人口基础信息');
    const t = (await openTask(city, { resourceId: population.id })).json();
    expect(t).toMatchObject({ dueDate: null, article: null, status: 'open' });
    city.on('2026-06-01');
    await city.tick();
    expect(await kinds(city, 'gaj_officer', t.id)).toEqual(['quality.rectificationOpened']);
  });
});
