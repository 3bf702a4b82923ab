import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, login, type TestEnv } from './helpers.js';

describe('working-day calendar administration', () => {
  let env: TestEnv;
  let admin: string;
  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 100, entityRows: 20 } });
    admin = await login(env.app, 'admin');
  });
  afterAll(async () => env?.close());

  it('REFERENCE.md: an unannounced year falls back to Mon–Fri and is flagged', async () => {
    const due = (
      await env.app.inject({
        url: '/api/calendar/due?start=2026-12-28&amount=5&unit=WD',
        headers: { cookie: admin },
      })
    ).json();
    // 12-29,30,31 (2026) then 2027-01-01 (Fri, a holiday in every year but not yet announced) and 01-04
    expect(due).toEqual({ start: '2026-12-28', dueDate: '2027-01-04', yearKnown: false });
    const years = (await env.app.inject({ url: '/api/calendar/years', headers: { cookie: admin } })).json();
    expect(years.knownYears).toEqual([2025, 2026]);
  });

  it('the 2026 calendar page shows Spring Festival as holidays and 2/14 as an adjusted working Saturday', async () => {
    const view = (
      await env.app.inject({ url: '/api/calendar/years/2026', headers: { cookie: admin } })
    ).json();
    expect(view.days).toHaveLength(365);
    const day = (d: string) => view.days.find((x: { date: string }) => x.date === d);
    expect(day('2026-02-14')).toEqual({ date: '2026-02-14', workday: true, kind: 'adjustedWorkday' });
    expect(day('2026-02-16')).toMatchObject({ workday: false, kind: 'holiday' });
    expect(day('2026-02-28')).toMatchObject({ kind: 'adjustedWorkday' });
    expect(day('2026-03-01')).toMatchObject({ kind: 'weekend' });
  });

  it('only the platform admin imports a notice; bad notices are refused with a reason', async () => {
    const officer = await login(env.app, 'gaj_officer');
    const notice = {
      year: 2027,
      source: '国务院办公厅关于2027年部分节假日安排的通知（测试数据）',
      offDays: ['2027-01-01'],
      workingWeekendDays: [],
    };
    const denied = await env.app.inject({
      method: 'POST',
      url: '/api/calendar/years',
      headers: { cookie: officer },
      payload: notice,
    });
    expect(denied.statusCode).toBe(403);
    const bad = await env.app.inject({
      method: 'POST',
      url: '/api/calendar/years',
      headers: { cookie: admin },
      payload: { ...notice, workingWeekendDays: ['2027-01-05'] },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details[0].reason).toMatch(/not a Saturday or Sunday/);
  });

  it('after the import, deadlines across the new year use it and are no longer provisional; the import is audited', async () => {
    const notice = {
      year: 2027,
      source: '国务院办公厅关于2027年部分节假日安排的通知（测试数据）',
      offDays: ['2027-01-01', '2027-01-04'],
      workingWeekendDays: ['2027-01-09'],
    };
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/calendar/years',
      headers: { cookie: admin },
      payload: notice,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().knownYears).toEqual([2025, 2026, 2027]);
    const due = (
      await env.app.inject({
        url: '/api/calendar/due?start=2026-12-28&amount=5&unit=WD',
        headers: { cookie: admin },
      })
    ).json();
    // 12-29,30,31, then 01-01 and 01-04 are off: 01-05, 01-06
    expect(due).toEqual({ start: '2026-12-28', dueDate: '2027-01-06', yearKnown: true });
    const audit = await env.ctx.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'calendar.import')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0].target_id).toBe('2027');
  });
});
