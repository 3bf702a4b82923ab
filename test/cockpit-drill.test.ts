import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays } from '../src/calendar/model.js';
import { alertRules, raiseAlert } from '../src/security/alerts.js';
import { type ManualClock, manualClock } from '../src/shared/clock.js';
import { detectViolations } from '../src/supervision/violations.js';
import { createTestEnv, login, type TestEnv } from './helpers.js';

/*
 * Issue 12 point 6: "drill-down to the list behind every number". For the demo city, 40 days after it was loaded (so
 * the pending request's step, the catalog update duties and the daily resources are late), every figure of the
 * authority's cockpit equals the total of the filtered list endpoint its link opens: requests late by department,
 * stale data, late update duties, live violations by department and by type, calls and rows served. A department
 * filter naming no department is a coded VALIDATION_FAILED on its field, never an empty list.
 */
// biome-ignore lint/suspicious/noExplicitAny: API responses are read field by field
type Json = any;
const DAY = 86_400_000;

describe('cockpit drill-down: each number equals the list it links to (issue 12 point 6)', () => {
  let env: TestEnv;
  let clock: ManualClock;
  let reviewer: string;
  const get = async (url: string) => {
    const r = await env.app.inject({ method: 'GET', url, headers: { cookie: reviewer } });
    return r;
  };
  const ok = async (url: string): Promise<Json> => {
    const r = await get(url);
    expect(r.statusCode, `${url}: ${r.body}`).toBe(200);
    return r.json();
  };

  beforeAll(async () => {
    clock = manualClock(new Date());
    env = await createTestEnv({ clock, demo: { populationRows: 120, entityRows: 60 } });
    reviewer = await login(env.app, 'reviewer');
    clock.set(new Date(clock.now().getTime() + 40 * DAY));
    await detectViolations(env.ctx);
  }, 300_000);
  afterAll(async () => env?.close());

  it('overdue by department: requests, stale data, duties and violations each match their filtered list', async () => {
    const c = await ok('/api/cockpit?days=30');
    expect(c.view).toBe('authority');
    const late = c.overdue.reduce((s: number, o: Json) => s + o.requestsLate, 0);
    // the demo's second request waits on its provider: 40 days on, it is late (else this test proves nothing)
    expect(late).toBeGreaterThan(0);
    expect(c.overdue.reduce((s: number, o: Json) => s + o.dataStale, 0)).toBeGreaterThan(0);
    for (const o of c.overdue) {
      const req = await ok(`/api/sharing/requests?box=all&overdue=true&orgId=${o.orgId}&pageSize=200`);
      expect(req.total, `${o.name} requests`).toBe(o.requestsLate);
      expect(req.items.every((x: Json) => x.status === 'pending')).toBe(true);
      const fresh = await ok(`/api/ingest/freshness?overdueOnly=true&orgId=${o.orgId}`);
      expect(fresh.length, `${o.name} stale`).toBe(o.dataStale);
      expect(fresh.every((x: Json) => x.provider.id === o.orgId && x.overdue)).toBe(true);
      const duties = await ok(`/api/inventory/duties?status=open&overdueOnly=true&orgId=${o.orgId}`);
      expect(duties.total, `${o.name} duties`).toBe(o.dutiesLate);
      const viol = await ok(`/api/violations?orgId=${o.orgId}&status=live`);
      expect(viol.total, `${o.name} violations`).toBe(o.violations);
    }
    // no department is left out of the table: the unfiltered overdue lists add up to the table's columns
    const all = await ok('/api/sharing/requests?box=all&overdue=true&pageSize=1');
    expect(all.total).toBe(late);
    const stale = await ok('/api/ingest/freshness?overdueOnly=true');
    expect(stale.length).toBe(c.overdue.reduce((s: number, o: Json) => s + o.dataStale, 0));
    const duties = await ok('/api/inventory/duties?status=open&overdueOnly=true&pageSize=1');
    expect(duties.total).toBe(c.overdue.reduce((s: number, o: Json) => s + o.dutiesLate, 0));
    // a department with nothing late gets an empty list, not everyone's
    const quiet = await env.ctx.db
      .selectFrom('org')
      .select('id')
      .where('kind', '=', 'department')
      .where(
        'id',
        'not in',
        c.overdue.map((o: Json) => o.orgId),
      )
      .executeTakeFirst();
    if (quiet) {
      const q = await ok(`/api/sharing/requests?box=all&overdue=true&orgId=${quiet.id}`);
      expect(q.total).toBe(0);
    }
  });

  it('violations by type, calls and rows served match their lists', async () => {
    const c = await ok('/api/cockpit?days=30');
    for (const v of c.violations) {
      const l = await ok(`/api/violations?type=${v.type}&status=live`);
      expect(l.total, v.type).toBe(v.n);
    }
    const total = c.violations.reduce((s: number, v: Json) => s + v.n, 0);
    expect((await ok('/api/violations?status=live')).total).toBe(total);
    const u = await ok(`/api/usage?from=${c.from}&to=${c.to}`);
    expect(u.totals.calls).toBe(c.volume.calls);
    expect(u.totals.rowsServed).toBe(c.volume.rowsServed);
    expect(u.totals.denied).toBe(c.volume.denied);
  });

  it('the on-time rate: its figures equal the requests whose provider step fell due in the period', async () => {
    // the demo's requests were answered (or fell due) around its load, 40 days ago: a 90-day period holds them
    const c = await ok('/api/cockpit?days=90');
    expect(c.onTime.onTime + c.onTime.late, 'provider steps due in the period').toBeGreaterThan(0);
    expect(c.onTime.late).toBeGreaterThan(0);
    const period = `box=all&dueFrom=${c.from}&dueTo=${c.to}`;
    const on = await ok(`/api/sharing/requests?${period}&timeliness=onTime&pageSize=200`);
    const late = await ok(`/api/sharing/requests?${period}&timeliness=late&pageSize=200`);
    const all = await ok(`/api/sharing/requests?${period}&pageSize=200`);
    expect(on.total).toBe(c.onTime.onTime);
    expect(late.total).toBe(c.onTime.late);
    expect(all.total).toBe(c.onTime.onTime + c.onTime.late);
    // the listed requests' provider steps are the ones counted: due in the period, late ones decided after or not yet
    for (const r of late.items) {
      const s = r.steps.find((x: Json) => x.actor === 'provider' && x.dueDate >= c.from && x.dueDate <= c.to);
      expect(s, `request ${r.id}`).toBeTruthy();
    }
    // by provider: the department's own cockpit opens the list with its providerOrgId, and the parts add up
    let sum = 0;
    for (const o of c.onTime.byOrg) {
      const l = await ok(`/api/sharing/requests?${period}&providerOrgId=${o.orgId}&pageSize=1`);
      expect(l.total, `provider ${o.orgId}`).toBe(o.onTime + o.late);
      sum += l.total;
    }
    expect(sum).toBe(all.total);
    const officer = await login(env.app, 'gaj_officer');
    const own = (
      await env.app.inject({ method: 'GET', url: '/api/cockpit?days=90', headers: { cookie: officer } })
    ).json();
    expect(own.view).toBe('department');
    const ownList = await ok(
      `/api/sharing/requests?${period}&providerOrgId=${own.overdue.orgId}&timeliness=late`,
    );
    expect(ownList.total).toBe(own.onTime.late);
    // half a period is refused with a coded error on its field, as is a timeliness without one
    for (const url of [
      `/api/sharing/requests?box=all&dueFrom=${c.from}`,
      '/api/sharing/requests?box=all&timeliness=late',
    ]) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(400);
      expect(r.json().code, url).toBe('VALIDATION_FAILED');
    }
  });

  it("the quality trend: each month's runs and mean score equal the runs list of that month", async () => {
    const c = await ok('/api/cockpit?days=30');
    expect(c.quality.length).toBeGreaterThan(0);
    let runs = 0;
    for (const q of c.quality) {
      const l = await ok(`/api/quality/runs?from=${q.from}&to=${q.to}&pageSize=200`);
      expect(l.total, q.month).toBe(q.runs);
      expect(l.meanScore, q.month).toBe(q.score);
      expect(q.from.slice(0, 7)).toBe(q.month);
      expect(q.to.slice(0, 7)).toBe(q.month);
      runs += q.runs;
    }
    // the whole year's link (first month's start to today) lists every run the trend counts
    const year = await ok(`/api/quality/runs?from=${c.quality[0].from}&to=${c.quality.at(-1).to}&pageSize=1`);
    expect(year.total).toBe(runs);
    // a department's trend is its own resources': the same list filtered by provider
    const officer = await login(env.app, 'gaj_officer');
    const own = (
      await env.app.inject({ method: 'GET', url: '/api/cockpit?days=30', headers: { cookie: officer } })
    ).json();
    for (const q of own.quality) {
      const l = await ok(`/api/quality/runs?from=${q.from}&to=${q.to}&orgId=${own.overdue.orgId}`);
      expect(l.total, `own ${q.month}`).toBe(q.runs);
      expect(l.meanScore, `own ${q.month}`).toBe(q.score);
      // and the officer's own list answers the same without naming the department
      const mine = (
        await env.app.inject({
          method: 'GET',
          url: `/api/quality/runs?from=${q.from}&to=${q.to}`,
          headers: { cookie: officer },
        })
      ).json();
      expect(mine.total).toBe(q.runs);
    }
  });

  it('the security alerts: each rule × status count equals the alerts list filtered by both', async () => {
    const rules = await alertRules(env.ctx);
    const users = await env.ctx.db
      .selectFrom('app_user')
      .select('id')
      .where('username', 'in', ['gaj_staff', 'scj_staff', 'rsj_staff'])
      .orderBy('id')
      .execute();
    // three alerts on people (no app to suspend): two of one rule, one of another, one of them acknowledged
    const raised = [];
    for (const [i, u] of users.entries()) {
      const rule = i < 2 ? 'offHours' : 'denials';
      raised.push(
        await raiseAlert(env.ctx, rules.get(rule)!, { rule, userId: Number(u.id), evidence: { n: i } }),
      );
    }
    const auditor = await login(env.app, 'auditor');
    // the authority's staff act on alerts; the auditor reads them
    const ack = await env.app.inject({
      method: 'POST',
      url: `/api/security/alerts/${raised[0].alertId}/acknowledge`,
      headers: { cookie: reviewer },
      payload: { note: 'checking' },
    });
    expect(ack.statusCode, ack.body).toBe(200);
    const c = (
      await env.app.inject({ method: 'GET', url: '/api/cockpit?days=30', headers: { cookie: auditor } })
    ).json();
    expect(c.view).toBe('auditor');
    expect(c.alerts.length).toBeGreaterThanOrEqual(3);
    for (const a of c.alerts) {
      const l = (
        await env.app.inject({
          method: 'GET',
          url: `/api/security/alerts?rule=${a.rule}&status=${a.status}&pageSize=1`,
          headers: { cookie: auditor },
        })
      ).json();
      expect(l.total, `${a.rule} ${a.status}`).toBe(a.n);
    }
    // both statuses of the rule are rows of their own
    expect(
      c.alerts.find((a: Json) => a.rule === 'offHours' && a.status === 'open')?.n,
    ).toBeGreaterThanOrEqual(1);
    expect(
      c.alerts.find((a: Json) => a.rule === 'offHours' && a.status === 'acknowledged')?.n,
    ).toBeGreaterThanOrEqual(1);
    const bad = await env.app.inject({
      method: 'GET',
      url: '/api/security/alerts?rule=nope',
      headers: { cookie: auditor },
    });
    expect(bad.statusCode).toBe(400);
  });

  it('the demo has a year of history: the 365-day cockpit agrees with 使用监测, and the quality trend has its months', async () => {
    const { runUsageRollup } = await import('../src/usage/rollup.js');
    await runUsageRollup(env.ctx);
    const c = await ok('/api/cockpit?days=365');
    // calls on at least 300 of the 365 days (weekends have a few too), the earliest in the period's first weeks
    expect(c.volume.series.length).toBeGreaterThan(300);
    expect(c.volume.series[0].day < addDays(c.from, 30)).toBe(true);
    const u = await ok(`/api/usage?from=${c.from}&to=${c.to}`);
    expect(u.totals.calls).toBe(c.volume.calls);
    expect(u.totals.rowsServed).toBe(c.volume.rowsServed);
    // each quarter of the year on its own adds up to the year
    let calls = 0;
    for (let start = c.from; start <= c.to; start = addDays(start, 91)) {
      const end = addDays(start, 90) < c.to ? addDays(start, 90) : c.to;
      calls += (await ok(`/api/usage?from=${start}&to=${end}`)).totals.calls;
    }
    expect(calls).toBe(c.volume.calls);
    // the demo's monthly quality checks give the twelve-month trend ten or more months (40 days after its load)
    expect(c.quality.length).toBeGreaterThanOrEqual(10);
  });

  it('a filter naming no department, or not a number, is a coded error on its field', async () => {
    for (const url of [
      '/api/sharing/requests?box=all&overdue=true&orgId=999999',
      '/api/ingest/freshness?orgId=999999',
      '/api/inventory/duties?orgId=999999',
      '/api/usage?org=999999',
      '/api/quality/runs?from=2026-01-01&to=2026-01-31&orgId=999999',
      '/api/sharing/requests?box=all&dueFrom=2026-01-01&dueTo=2026-01-31&providerOrgId=999999',
    ]) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(400);
      expect(r.json().code, url).toBe('VALIDATION_FAILED');
      expect(JSON.stringify(r.json()), url).toMatch(/"field":"(orgId|org|providerOrgId)"/);
    }
    for (const url of [
      '/api/sharing/requests?box=all&orgId=abc',
      '/api/sharing/requests?box=all&overdue=maybe',
      '/api/ingest/freshness?orgId=0',
    ]) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(400);
      expect(r.json().code, url).toBe('VALIDATION_FAILED');
    }
  });
});
