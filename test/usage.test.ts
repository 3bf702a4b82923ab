import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shanghaiDate } from '../src/calendar/model.js';
import { runUsageRollup } from '../src/usage/rollup.js';
import { clearRows, codeOf, createTestEnv, dataPath, login, type TestEnv } from './helpers.js';

/*
 * Issue 12 point 3, NY task 10 (使用监测: call type, count, frequency, scenario/effect, denials, errors, latency): the
 * daily rollup against the raw audit rows of a crafted set of calls on two Beijing days (one a minute after midnight,
 * so it belongs to the second day), real calls through the data API (denials included), the idempotent re-roll, and
 * who sees what.
 */
const DAY_A = '2025-03-10';
const DAY_B = '2025-03-11';
const PURPOSE = '办理不动产登记时核验身份';

describe('usage monitoring (NY task 10)', () => {
  let env: TestEnv;
  let resourceId: number;
  let providerOrg: number;
  let consumerOrg: number;
  let appId: number;
  let otherOrgUser: string;
  let consumerUser: string;

  async function craft(
    at: string,
    action: string,
    decision: 'allow' | 'deny',
    rows: number | null,
    ms?: number,
    purpose: string | null = PURPOSE,
  ) {
    const detail = ms === undefined ? {} : { ms };
    const r = await sql<{
      id: number;
    }>`INSERT INTO audit_log (occurred_at, actor_org_id, app_id, action, resource_id,
        purpose, decision, rows_returned, detail)
      VALUES (${at}::timestamptz, ${consumerOrg}, ${appId}, ${action}, ${resourceId}, ${purpose}, ${decision}, ${rows},
        ${JSON.stringify(detail)}::jsonb) RETURNING id`.execute(env.ctx.db);
    return Number(r.rows[0].id);
  }

  async function usage(cookie: string, query: string) {
    const res = await env.app.inject({ url: `/api/usage?${query}`, headers: { cookie } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  }

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 300, entityRows: 50 } });
    const db = env.ctx.db;
    const code = await codeOf(env, '人口基础信息');
    const res = await db
      .selectFrom('resource')
      .select(['id', 'provider_org_id'])
      .where('code', '=', code)
      .executeTakeFirstOrThrow();
    resourceId = Number(res.id);
    providerOrg = Number(res.provider_org_id);
    const consumer = await db
      .selectFrom('app_user as u')
      .innerJoin('org as o', 'o.id', 'u.org_id')
      .select(['u.username', 'u.org_id'])
      .where('o.kind', '=', 'department')
      .where('u.org_id', '<>', providerOrg)
      .where(sql<boolean>`'data_officer' = ANY(u.roles)`)
      .orderBy('u.org_id')
      .executeTakeFirstOrThrow();
    consumerOrg = Number(consumer.org_id);
    consumerUser = consumer.username;
    const other = await db
      .selectFrom('app_user as u')
      .innerJoin('org as o', 'o.id', 'u.org_id')
      .select(['u.username'])
      .where('o.kind', '=', 'department')
      .where('u.org_id', 'not in', [providerOrg, consumerOrg])
      .where(sql<boolean>`'data_officer' = ANY(u.roles)`)
      .orderBy('u.org_id')
      .executeTakeFirstOrThrow();
    otherOrgUser = other.username;
    const app = await db.selectFrom('app').select('id').orderBy('id').executeTakeFirstOrThrow();
    appId = Number(app.id);

    // day A (Beijing): two record lookups served
    await craft('2025-03-10T02:00:00Z', 'data.get', 'allow', 1, 3);
    await craft('2025-03-10T15:59:00Z', 'data.get', 'allow', 1, 40);
    // day B: 00:01 Beijing is still 10 March in UTC; one denied lookup, two queries, one denial without a purpose
    await craft('2025-03-10T16:01:00Z', 'data.get', 'deny', null, 0.5);
    await craft('2025-03-11T03:00:00Z', 'data.query', 'allow', 20, 150);
    await craft('2025-03-11T04:00:00Z', 'data.query', 'allow', 30, 700);
    await craft('2025-03-11T05:00:00Z', 'data.get', 'deny', null, undefined, null);
    // a refused data-API request (rate limit), repeated three times within its minute: one audit row, tally 3
    const refused = await sql<{
      id: number;
    }>`INSERT INTO audit_log (occurred_at, actor_org_id, app_id, action,
        decision, detail) VALUES ('2025-03-11T06:00:00Z', NULL, NULL, 'http.refused', 'deny',
        ${JSON.stringify({ code: 'RATE_LIMITED', method: 'GET', route: '/api/v1/data/:code/records/:key' })}::jsonb)
      RETURNING id`.execute(db);
    await sql`INSERT INTO audit_refusal_tally (bucket, principal, client_ip, method, route, code, count, audit_id)
      VALUES ('2025-03-11T06:00:00Z', 'anon', '10.0.0.1', 'GET', '/api/v1/data/:code/records/:key', 'RATE_LIMITED', 3,
        ${refused.rows[0].id})`.execute(db);
    // not a data call: never counted
    await sql`INSERT INTO audit_log (occurred_at, actor_org_id, action, decision) VALUES ('2025-03-11T07:00:00Z',
      ${consumerOrg}, 'catalog.publish', 'allow')`.execute(db);
  });
  afterAll(async () => env?.close());

  it('NY task 10: the daily rollup equals the raw audit rows, per Beijing day, call type and purpose', async () => {
    await runUsageRollup(env.ctx);
    const rows = await env.ctx.db
      .selectFrom('usage_daily')
      .selectAll()
      .where('day', '>=', DAY_A)
      .where('day', '<=', DAY_B)
      .orderBy('day')
      .orderBy('action')
      .orderBy('purpose')
      .execute();
    const brief = rows.map((r) => [
      r.day,
      r.action,
      r.purpose,
      Number(r.calls),
      Number(r.allowed),
      Number(r.denied),
      Number(r.errors),
      Number(r.rows_served),
      Number(r.lat_count),
    ]);
    expect(brief).toEqual([
      [DAY_A, 'data.get', PURPOSE, 2, 2, 0, 0, 2, 2],
      [DAY_B, 'data.get', '', 1, 0, 1, 0, 0, 0],
      [DAY_B, 'data.get', PURPOSE, 1, 0, 1, 0, 0, 1],
      [DAY_B, 'data.query', PURPOSE, 2, 2, 0, 0, 50, 2],
      [DAY_B, 'data.refused', '', 3, 0, 0, 3, 0, 0],
    ]);
    const a = rows[0];
    expect(Number(a.provider_org_id)).toBe(providerOrg);
    expect(Number(a.org_id)).toBe(consumerOrg);
    // 3 ms in (2, 5], 40 ms in (20, 50]
    expect([Number(a.l2), Number(a.l5)]).toEqual([1, 1]);

    // the same totals from the raw log, counted independently
    const raw = await sql<{ calls: number; denied: number; rows: number }>`SELECT count(*)::int AS calls,
        count(*) FILTER (WHERE decision = 'deny')::int AS denied, coalesce(sum(rows_returned), 0)::int AS rows
      FROM audit_log WHERE action LIKE 'data.%' AND occurred_at >= '2025-03-09T16:00:00Z'
        AND occurred_at < '2025-03-11T16:00:00Z'`.execute(env.ctx.db);
    const auditor = await login(env.app, 'auditor');
    const month = await usage(auditor, `from=${DAY_A}&to=${DAY_B}&granularity=month`);
    expect(month.series).toHaveLength(1);
    expect(month.series[0].period).toBe('2025-03');
    expect(month.totals.calls - month.totals.errors).toBe(raw.rows[0].calls);
    expect(month.totals.denied).toBe(raw.rows[0].denied);
    expect(month.totals.rowsServed).toBe(raw.rows[0].rows);
    expect(month.totals.errors).toBe(3);
    // latencies 0.5, 3, 40, 150, 700 ms: the median is in (20, 50], p95 in (500, 1000]
    expect(month.totals.latency.p50).toBe(50);
    expect(month.totals.latency.p95).toBe(1000);
    const daily = await usage(auditor, `from=${DAY_A}&to=${DAY_B}`);
    expect(daily.series.map((s: { period: string; calls: number }) => [s.period, s.calls])).toEqual([
      [DAY_A, 2],
      [DAY_B, 7],
    ]);
    expect(daily.topResources[0].resource.id).toBe(resourceId);
    const getRow = daily.items.find(
      (i: { action: string; purpose: string | null }) => i.action === 'data.get' && i.purpose === PURPOSE,
    );
    expect(getRow).toMatchObject({ calls: 3, allowed: 2, denied: 1, activeDays: 2, perDay: 1.5 });
  });

  it('NY task 10: a re-run gives the same rows; a late row of yesterday is picked up, an older day on request', async () => {
    const snapshot = async () =>
      (
        await env.ctx.db
          .selectFrom('usage_daily')
          .selectAll()
          .orderBy(['day', 'org_id', 'app_id', 'resource_id', 'action', 'purpose'])
          .execute()
      ).map((r) => JSON.stringify(r));
    await runUsageRollup(env.ctx);
    const first = await snapshot();
    await runUsageRollup(env.ctx);
    expect(await snapshot()).toEqual(first);
    await runUsageRollup(env.ctx, { from: '2025-01-01' });
    expect(await snapshot()).toEqual(first);
    // an old day is only re-rolled when asked: the regular run covers the day before its watermark onwards
    await craft('2025-03-10T03:00:00Z', 'data.get', 'allow', 1, 3);
    await runUsageRollup(env.ctx);
    expect(await snapshot()).toEqual(first);
    // yesterday is inside the regular run's window (the day before the watermark): a late row is counted
    const before = await sql<{ n: number }>`SELECT coalesce(sum(calls), 0)::int AS n FROM usage_daily
      WHERE day = (now() AT TIME ZONE 'Asia/Shanghai')::date - 1`.execute(env.ctx.db);
    await sql`INSERT INTO audit_log (occurred_at, actor_org_id, app_id, action, resource_id, purpose, decision,
        rows_returned) VALUES (now() - interval '1 day', ${consumerOrg}, ${appId}, 'data.verify', ${resourceId},
        ${PURPOSE}, 'allow', 0)`.execute(env.ctx.db);
    await runUsageRollup(env.ctx);
    const after = await sql<{ n: number }>`SELECT coalesce(sum(calls), 0)::int AS n FROM usage_daily
      WHERE day = (now() AT TIME ZONE 'Asia/Shanghai')::date - 1`.execute(env.ctx.db);
    expect(after.rows[0].n).toBe(before.rows[0].n + 1);
    await runUsageRollup(env.ctx, { from: DAY_A });
    const dayA = await env.ctx.db
      .selectFrom('usage_daily')
      .select('calls')
      .where('day', '=', DAY_A)
      .executeTakeFirstOrThrow();
    expect(Number(dayA.calls)).toBe(3);
  });

  it('NY task 10: real data calls are rolled up with their latency; denials counted', async () => {
    const db = env.ctx.db;
    // today (Beijing): the demo's history ends yesterday
    const today = shanghaiDate(new Date());
    const grant = await db
      .selectFrom('share_grant')
      .select(['app_id', 'resource_id', 'purpose_id'])
      .where('status', '=', 'active')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const demoApp = await db
      .selectFrom('app')
      .select('name')
      .where('id', '=', grant.app_id)
      .executeTakeFirstOrThrow();
    const key = env.demo!.apps.find((a) => a.name === demoApp.name)!.apiKey;
    const res = await db
      .selectFrom('resource')
      .select(['code', 'data_table'])
      .where('id', '=', grant.resource_id)
      .executeTakeFirstOrThrow();
    // the clear record keys (an ID number key is stored as its keyed hash, its column encrypted: decrypted here)
    const keys = (await clearRows(env, res.data_table!, { limit: 3 })).map((r) => ({ k: r.key }));
    let ok = 0;
    for (const k of keys) {
      const r = await env.app.inject({
        url: `${dataPath(res.code)}/records/${encodeURIComponent(k.k)}`,
        headers: { 'x-api-key': key, 'x-purpose': String(grant.purpose_id) },
      });
      if (r.statusCode === 200) ok++;
    }
    expect(ok).toBe(3);
    // no purpose named: refused under a profile that limits use to the purpose, or wrong purpose: refused
    const denied = await env.app.inject({
      url: `${dataPath(res.code)}/records/${encodeURIComponent(keys[0].k)}`,
      headers: { 'x-api-key': key, 'x-purpose': 'not-a-purpose' },
    });
    expect(denied.statusCode).toBeGreaterThanOrEqual(400);
    await runUsageRollup(env.ctx);
    const raw = await sql<{ allowed: number; denied: number; timed: number }>`SELECT
        count(*) FILTER (WHERE decision = 'allow')::int AS allowed, count(*) FILTER (WHERE decision = 'deny')::int AS denied,
        count(*) FILTER (WHERE detail ? 'ms')::int AS timed
      FROM audit_log WHERE action = 'data.get' AND app_id = ${grant.app_id}
        AND occurred_at >= (${today}::date::timestamp AT TIME ZONE 'Asia/Shanghai')`.execute(db);
    expect(raw.rows[0].allowed).toBeGreaterThanOrEqual(3);
    expect(raw.rows[0].timed).toBe(raw.rows[0].allowed + raw.rows[0].denied);
    const agg = await sql<{
      allowed: number;
      denied: number;
      lat: number;
    }>`SELECT sum(allowed)::int AS allowed,
        sum(denied)::int AS denied, sum(lat_count)::int AS lat FROM usage_daily
      WHERE action = 'data.get' AND app_id = ${grant.app_id} AND day = ${today}::date`.execute(db);
    expect(agg.rows[0]).toEqual({
      allowed: raw.rows[0].allowed,
      denied: raw.rows[0].denied,
      lat: raw.rows[0].timed,
    });
  });

  it('NY task 10: a department sees its calls as consumer and as provider, not others; auditor and authority all', async () => {
    const range = `from=${DAY_A}&to=${DAY_B}&resource=${resourceId}`;
    const auditor = await usage(await login(env.app, 'auditor'), range);
    const reviewer = await usage(await login(env.app, 'reviewer'), range);
    const consumer = await usage(await login(env.app, consumerUser), range);
    const providerUser = (
      await env.ctx.db
        .selectFrom('app_user')
        .select('username')
        .where('org_id', '=', providerOrg)
        .where(sql<boolean>`'data_officer' = ANY(roles)`)
        .executeTakeFirstOrThrow()
    ).username;
    const provider = await usage(await login(env.app, providerUser), range);
    const other = await usage(await login(env.app, otherOrgUser), range);
    expect(auditor.totals.calls).toBeGreaterThan(0);
    expect(reviewer.totals.calls).toBe(auditor.totals.calls);
    expect(consumer.totals.calls).toBe(auditor.totals.calls);
    expect(provider.totals.calls).toBe(auditor.totals.calls);
    expect(other.totals.calls).toBe(0);
    expect(other.items).toEqual([]);
    const bad = await env.app.inject({
      url: `/api/usage?from=${DAY_B}&to=${DAY_A}`,
      headers: { cookie: await login(env.app, 'auditor') },
    });
    expect(bad.statusCode).toBe(400);
  });
});
