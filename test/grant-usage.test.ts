import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, shanghaiDate } from '../src/calendar/model.js';
import { runUsageRollup } from '../src/usage/rollup.js';
import { codeOf, createTestEnv, dataPath, grantedApp, login, type TestEnv } from './helpers.js';

/*
 * Issue 9 point 9: the grants page's per-app call charts. GET /api/usage/grants gives each grant the caller may see its
 * app's daily calls and refusals on its resource over the last days, from the usage rollup; the rollup rows are
 * crafted here (one grant's app on its resource, the same app on another resource, another app on the same
 * resource, a day outside the window) so each must land where it belongs. The consumer and the provider see the
 * grant's series; a third department does not.
 */
// biome-ignore lint/suspicious/noExplicitAny: API responses are read field by field
type Json = any;

describe('per-grant daily calls (issue 9 point 9)', () => {
  let env: TestEnv;
  let grant: {
    id: number;
    app_id: number;
    resource_id: number;
    consumer_org_id: number;
    provider_org_id: number;
  };
  let today: string;

  const userOf = async (orgId: number, not: number[] = []) => {
    const users = await env.ctx.db
      .selectFrom('app_user')
      .select(['username', 'org_id', 'roles'])
      .where('disabled', '=', false)
      .execute();
    const u = users.find(
      (x) =>
        (orgId ? Number(x.org_id) === orgId : !not.includes(Number(x.org_id))) &&
        !x.roles.some((r) => ['platform_admin', 'auditor', 'authority_reviewer'].includes(r)),
    );
    if (!u) throw new Error(`no user for org ${orgId}`);
    return { username: u.username, orgId: Number(u.org_id) };
  };
  const row = (day: string, appId: number, resourceId: number, calls: number, denied: number) => ({
    day,
    org_id: grant.consumer_org_id,
    provider_org_id: grant.provider_org_id,
    app_id: appId,
    resource_id: resourceId,
    action: 'data.get',
    purpose: 'crafted',
    calls,
    allowed: calls - denied,
    denied,
    errors: 0,
    rows_served: calls - denied,
    lat_count: 0,
    lat_sum_ms: 0,
  });

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 120, entityRows: 60 } });
    today = shanghaiDate(env.ctx.clock.now());
    const g = await env.ctx.db
      .selectFrom('share_grant as g')
      .innerJoin('resource as r', 'r.id', 'g.resource_id')
      .innerJoin('org as o', 'o.id', 'g.consumer_org_id')
      .select(['g.id', 'g.app_id', 'g.resource_id', 'g.consumer_org_id', 'r.provider_org_id'])
      .where('o.kind', '=', 'department')
      .orderBy('g.id')
      .executeTakeFirstOrThrow();
    grant = {
      id: Number(g.id),
      app_id: Number(g.app_id),
      resource_id: Number(g.resource_id),
      consumer_org_id: Number(g.consumer_org_id),
      provider_org_id: Number(g.provider_org_id),
    };
    // the demo's own usage history is replaced by the crafted rows
    await sql`DELETE FROM usage_daily`.execute(env.ctx.db);
    const other = await env.ctx.db
      .selectFrom('resource')
      .select('id')
      .where('id', '<>', grant.resource_id)
      .executeTakeFirstOrThrow();
    await env.ctx.db
      .insertInto('usage_daily')
      .values([
        row(today, grant.app_id, grant.resource_id, 7, 2),
        { ...row(today, grant.app_id, grant.resource_id, 3, 0), action: 'data.query' },
        row(addDays(today, -5), grant.app_id, grant.resource_id, 4, 1),
        row(addDays(today, -29), grant.app_id, grant.resource_id, 1, 0),
        row(addDays(today, -30), grant.app_id, grant.resource_id, 100, 100), // outside the 30 days
        row(today, grant.app_id, Number(other.id), 50, 0), // the same app, another resource
        row(today, 999_999, grant.resource_id, 60, 0), // another app, the same resource
      ] as never)
      .execute();
  }, 300_000);
  afterAll(async () => env?.close());

  const get = async (username: string, url: string) =>
    env.app.inject({ method: 'GET', url, headers: { cookie: await login(env.app, username) } });

  it('the grant gets its app’s calls and refusals on its resource, day by day, over the last 30 days', async () => {
    const r = await get('reviewer', '/api/usage/grants');
    expect(r.statusCode, r.body).toBe(200);
    const u = r.json();
    expect(u.to).toBe(today);
    expect(u.from).toBe(addDays(today, -29));
    expect(u.days).toHaveLength(30);
    const mine = u.items.find((x: Json) => x.grantId === grant.id);
    expect(mine.calls[29]).toBe(10);
    expect(mine.denied[29]).toBe(2);
    expect(mine.calls[24]).toBe(4);
    expect(mine.denied[24]).toBe(1);
    expect(mine.calls[0]).toBe(1);
    expect(mine.total).toBe(15);
    expect(mine.totalDenied).toBe(3);
    expect(mine.calls.filter((n: number) => n > 0)).toHaveLength(3);
    // the last 5 days leave out the day 5 days back; the last 6 take it in
    const five = (await get('reviewer', '/api/usage/grants?days=5')).json();
    expect(five.days).toHaveLength(5);
    expect(five.items.find((x: Json) => x.grantId === grant.id).total).toBe(10);
    const six = (await get('reviewer', '/api/usage/grants?days=6')).json();
    expect(six.items.find((x: Json) => x.grantId === grant.id).total).toBe(14);
  });

  it('the consumer and the provider see the grant; a third department does not', async () => {
    for (const orgId of [grant.consumer_org_id, grant.provider_org_id]) {
      const who = await userOf(orgId);
      const u = (await get(who.username, '/api/usage/grants')).json();
      expect(
        u.items.some((x: Json) => x.grantId === grant.id),
        who.username,
      ).toBe(true);
    }
    const third = await userOf(0, [grant.consumer_org_id, grant.provider_org_id]);
    const r = await get(third.username, '/api/usage/grants');
    expect(r.statusCode).toBe(200);
    expect(r.json().items.some((x: Json) => x.grantId === grant.id)).toBe(false);
  });

  it('each active grant has today’s use of its daily quotas (the live counters) and the platform defaults', async () => {
    const before = (await get('reviewer', '/api/usage/grants')).json();
    expect(before.quotaDefaults).toEqual({
      callsPerDay: env.ctx.config.dataApi.grantCallsPerDay,
      rowsPerCall: env.ctx.config.dataApi.grantRowsPerCall,
      verificationsPerDay: env.ctx.config.dataApi.grantCallsPerDay,
      exportRowsPerDay: env.ctx.config.dataApi.grantExportRowsPerDay ?? 1_000_000,
      epsilonPerDay: env.ctx.config.aggregate?.epsilonPerDay ?? 10,
    });
    const was = before.today.find((x: Json) => x.grantId === grant.id);
    expect(was).toBeDefined();
    // three calls counted against the grant's quota today (what the data API's guard adds per call)
    const day = Math.floor((Date.now() + 8 * 3600_000) / 86400_000);
    await env.ctx.counters.add([{ key: `gq:${grant.id}:${day}`, by: 3, ttlSeconds: 60 }]);
    const after = (await get('reviewer', '/api/usage/grants')).json();
    expect(after.today.find((x: Json) => x.grantId === grant.id)).toEqual({
      grantId: grant.id,
      calls: was.calls + 3,
      verifications: was.verifications,
      epsilon: 0,
    });
    const third = await userOf(0, [grant.consumer_org_id, grant.provider_org_id]);
    const theirs = (await get(third.username, '/api/usage/grants')).json();
    expect(theirs.today.some((x: Json) => x.grantId === grant.id)).toBe(false);
  });

  it('a grant first used today shows today’s calls at once, from the live counters; the rollup later agrees (no call counted twice)', async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: await codeOf(env, '人口基础信息'),
      fields: ['countyCode'],
      appName: '今日首次调用',
    });
    const headers = { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId };
    const url = `${dataPath(await codeOf(env, '人口基础信息'))}/records?limit=1`;
    for (let i = 0; i < 2; i++) expect((await env.app.inject({ url, headers })).statusCode).toBe(200);
    const seen = async () =>
      (await get('rsj_officer', '/api/usage/grants')).json().items.find((x: Json) => x.grantId === g.grantId);
    // no rollup has run since: the calls are in the live counters only
    const before = await seen();
    expect(before, 'the grant has a series at once').toBeDefined();
    expect(before.calls[29]).toBe(2);
    expect(before.calls.slice(0, 29).every((n: number) => n === 0)).toBe(true);
    expect(before.total).toBe(2);
    expect(before.totalDenied).toBe(0);
    // the rollup (every 10 minutes) reaches the same figure from the audit log: the larger of the two, not their sum
    await runUsageRollup(env.ctx, { from: today });
    const after = await seen();
    expect(after.calls[29]).toBe(2);
    expect(after.total).toBe(2);
    // a third call after the rollup shows at once again
    expect((await env.app.inject({ url, headers })).statusCode).toBe(200);
    expect((await seen()).calls[29]).toBe(3);
  });

  it('a bad period is a coded error', async () => {
    for (const q of ['days=0', 'days=91', 'days=abc', 'other=1']) {
      const r = await get('reviewer', `/api/usage/grants?${q}`);
      expect(r.statusCode, q).toBe(400);
      expect(r.json().code, q).toBe('VALIDATION_FAILED');
    }
  });
});
