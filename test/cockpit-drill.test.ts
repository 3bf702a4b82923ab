import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('a filter naming no department, or not a number, is a coded error on its field', async () => {
    for (const url of [
      '/api/sharing/requests?box=all&overdue=true&orgId=999999',
      '/api/ingest/freshness?orgId=999999',
      '/api/inventory/duties?orgId=999999',
      '/api/usage?org=999999',
    ]) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(400);
      expect(r.json().code, url).toBe('VALIDATION_FAILED');
      expect(JSON.stringify(r.json()), url).toMatch(/"field":"(orgId|org)"/);
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
