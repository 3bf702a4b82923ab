import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateAlerts } from '../../src/security/alerts.js';
import {
  clearRows,
  codeOf,
  createTestEnv,
  dataPath,
  grantedApp,
  login,
  resourceColumns,
  type TestEnv,
} from '../helpers.js';

/*
 * An attacker's probe of the governed data API (issue 9's promises): fields, purpose, filters, verification, aggregates,
 * export and feed, refusals audited and bounded, errors coded. Every test asserts the concrete refusal, audit row or
 * masked value; bounded loops, loopback only; PGlite and PostgreSQL.
 */
describe('probe: the governed data API under attack', () => {
  let env: TestEnv;
  let POPULATION = '';
  let INSURANCE = '';
  let popTable = '';
  let siTable = '';
  let sc: Record<string, string> = {};
  let pop: Awaited<ReturnType<typeof grantedApp>>;
  let si: Awaited<ReturnType<typeof grantedApp>>;
  let keys: string[] = [];
  const K = 5;

  beforeAll(async () => {
    env = await createTestEnv({
      demo: { populationRows: 400, entityRows: 60 },
      config: {
        dataApi: {
          appRatePerSecond: 1000,
          grantCallsPerDay: 100_000,
          grantRowsPerCall: 1000,
          keyFailuresPerMinute: 1000,
          enumerationMisses: 1000,
        },
      },
    });
    env.ctx.config.aggregate = { minCell: K, epsilon: 0, epsilonMin: 0.1, epsilonPerDay: 1000 };
    POPULATION = await codeOf(env, '人口基础信息');
    INSURANCE = await codeOf(env, '社会保险参保信息');
    ({ table: popTable } = await resourceColumns(env, POPULATION));
    ({ table: siTable, col: sc } = await resourceColumns(env, INSURANCE));
    pop = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber', 'name', 'birthDate', 'countyCode', 'registeredOn'],
      appName: '探测：人口明细',
      quota: { verify: true, export: true, feed: true },
    });
    si = await grantedApp(env.app, {
      consumer: 'mzj_officer',
      provider: 'rsj_officer',
      resourceCode: INSURANCE,
      fields: ['idNumber', 'insuranceType', 'firstInsuredOn', 'contributionBase'],
      appName: '探测：参保统计',
      quota: { accessMode: 'aggregate' } as never,
    });
    keys = (await clearRows(env, popTable, { limit: 5 })).map((r) => r.key);
  });
  afterAll(async () => env?.close());

  const call = (
    method: 'GET' | 'POST',
    url: string,
    payload?: Record<string, unknown>,
    headers: Record<string, string> = {},
    who = pop,
  ) =>
    env.app.inject({
      method,
      url,
      headers: { 'x-api-key': who.apiKey, 'x-purpose': who.purposeId, ...headers },
      ...(payload ? { payload } : {}),
    });
  const lastAudit = (appId: number, action: string) =>
    env.ctx.db
      .selectFrom('audit_log')
      .select(['id', 'decision', 'detail', 'rows_returned', 'fields'])
      .where('app_id', '=', appId)
      .where('action', '=', action)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
  /** the audit log's highest id now: the rows a step writes are those after it */
  const auditMark = async () =>
    Number(
      (
        await env.ctx.db
          .selectFrom('audit_log')
          .select((eb) => eb.fn.max('id').as('id'))
          .executeTakeFirstOrThrow()
      ).id ?? 0,
    );
  /** the common error shape: a code, both messages, details naming the field; no stack or SQL text */
  const coded = (body: string, code: string, field?: string) => {
    const e = JSON.parse(body);
    expect(e.code).toBe(code);
    expect(typeof e.message).toBe('string');
    expect(typeof e.messageEn).toBe('string');
    expect(e.message).not.toBe(e.messageEn);
    if (field) expect(e.details.map((d: { field?: string }) => d.field)).toContain(field);
    expect(body).not.toMatch(/\bat .+\.(ts|js):\d+|SELECT |INSERT |syntax error|stack/i);
    return e;
  };

  it('point 1: fields= outside the grant is a coded 403 on every endpoint, audited with what was asked', async () => {
    const base = dataPath(POPULATION);
    for (const url of [
      `${base}/records/${keys[0]}?fields=name,phone`,
      `${base}/records?fields=name,phone`,
      `${base}/export?format=ndjson&fields=name,phone`,
      `${base}/changes?fields=name,phone`,
    ]) {
      const res = await call('GET', url);
      expect(res.statusCode, url).toBe(403);
      const e = coded(res.body, 'FIELD_NOT_GRANTED', 'fields');
      expect(e.details).toEqual([expect.objectContaining({ value: 'phone' })]);
    }
    const q = await call('POST', `${base}/query`, { fields: ['countyCode', 'address'] });
    expect(q.statusCode).toBe(403);
    coded(q.body, 'FIELD_NOT_GRANTED', 'fields');
    const deny = await lastAudit(pop.appId, 'data.query');
    expect(deny).toMatchObject({
      decision: 'deny',
      rows_returned: null,
      detail: { reason: 'FIELD_NOT_GRANTED', fieldsAsked: ['countyCode', 'address'] },
    });
    // and what comes back is never more than the grant, whatever is asked
    const all = (await call('GET', `${base}/records?limit=5`)).json();
    for (const r of all.items)
      expect(Object.keys(r).sort()).toEqual(['birthDate', 'countyCode', 'idNumber', 'name', 'registeredOn']);
  });

  it('point 2: a wrong purpose is denied and audited; an oversized purpose is a coded 400, audited, and nothing unbounded is stored', async () => {
    const url = `${dataPath(POPULATION)}/records/${keys[0]}`;
    const wrong = await call('GET', url, undefined, { 'x-purpose': encodeURIComponent('随便看看') });
    expect(wrong.statusCode).toBe(403);
    coded(wrong.body, 'PURPOSE_MISMATCH', 'X-Purpose');
    expect(await lastAudit(pop.appId, 'data.get')).toMatchObject({
      decision: 'deny',
      detail: { reason: 'PURPOSE_MISMATCH', purposeAsked: '随便看看' },
    });
    // the longest purpose accepted is stored as sent (≤ 2000 characters); the echo in the error is cut to 100
    const long = 'x'.repeat(2000);
    const l = await call('GET', url, undefined, { 'x-purpose': long });
    expect(l.statusCode).toBe(403);
    expect(l.json().details[0].value).toHaveLength(100);
    const row = await lastAudit(pop.appId, 'data.get');
    expect((row.detail as { purposeAsked: string }).purposeAsked.length).toBeLessThanOrEqual(2000);
    // longer: refused before any statement, audited as a bounded http.refused row
    const before = await auditMark();
    for (const header of ['y'.repeat(2001), 'z'.repeat(7000), `%E4%BD${'%A0'.repeat(10)}`]) {
      const r = await call('GET', url, undefined, { 'x-purpose': header });
      expect(r.statusCode, header.slice(0, 10)).toBe(400);
      coded(r.body, 'VALIDATION_FAILED');
      expect(JSON.stringify(r.json()).length).toBeLessThan(2000);
    }
    const refused = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'detail', 'target_id'])
      .where('id', '>', before)
      .where('action', '=', 'http.refused')
      .execute();
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(JSON.stringify(r).length).toBeLessThan(1000);
  });

  it('point 3: filters cannot probe masked values, inject SQL, or tamper with the cursor', async () => {
    const url = `${dataPath(POPULATION)}/query`;
    const cases: [Record<string, unknown>, number, string, string][] = [
      // a masked field, also when it is not among fields= (granted masked)
      [
        { where: { name: { prefix: '张' } }, fields: ['countyCode'] },
        400,
        'FILTER_FIELD_MASKED',
        'where.name',
      ],
      [{ where: { birthDate: { gte: '1990-01-01' } } }, 400, 'FILTER_FIELD_MASKED', 'where.birthDate'],
      [{ where: { idNumber: { in: ['1', '2'] } } }, 400, 'FILTER_FIELD_MASKED', 'where.idNumber'],
      // a field name carrying SQL
      [
        { where: { 'countyCode" OR 1=1 --': { eq: 'x' } } },
        400,
        'FILTER_INVALID',
        'where.countyCode" OR 1=1 --',
      ],
      // unknown operators, huge in lists, nested values
      [{ where: { countyCode: { like: '%' } } }, 400, 'VALIDATION_FAILED', 'where.countyCode.like'],
      [
        { where: { countyCode: { in: Array.from({ length: 101 }, (_, i) => String(i)) } } },
        400,
        'VALIDATION_FAILED',
        'where.countyCode.in',
      ],
      [{ where: { countyCode: { eq: { $ne: null } } } }, 400, 'VALIDATION_FAILED', 'where.countyCode.eq'],
      // a cursor this API did not issue
      [{ cursor: Buffer.from('s1:1 OR 1=1').toString('base64url') }, 400, 'VALIDATION_FAILED', 'cursor'],
      [{ cursor: Buffer.from('s1:-5').toString('base64url') }, 400, 'VALIDATION_FAILED', 'cursor'],
      // sorting is not a parameter at all
      [{ orderBy: 'name' }, 400, 'VALIDATION_FAILED', 'orderBy'],
    ];
    for (const [payload, status, code, field] of cases) {
      const res = await call('POST', url, payload);
      expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(status);
      coded(res.body, code, field);
    }
    const injected = await call('POST', url, { where: { countyCode: { eq: "' OR '1'='1" } } });
    expect(injected.statusCode).toBe(200);
    expect(injected.json().items).toHaveLength(0);
    // deeply nested input is refused by the schema, not by the stack
    let deep: Record<string, unknown> = { eq: 'x' };
    for (let i = 0; i < 2000; i++) deep = { a: deep };
    const nested = await call('POST', url, { where: { countyCode: deep } });
    expect(nested.statusCode).toBe(400);
    coded(nested.body, 'VALIDATION_FAILED');
  });

  it('point 3/8: an impossible calendar date in a filter or a match is a coded 400 naming the field, never a 500', async () => {
    for (const v of ['2024-02-30', '2023-02-29', '2024-04-31']) {
      const q = await call('POST', `${dataPath(POPULATION)}/query`, { where: { registeredOn: { gte: v } } });
      expect(q.statusCode, `${v}: ${q.body}`).toBe(400);
      coded(q.body, 'FILTER_INVALID', 'where.registeredOn');
      const a = await call(
        'POST',
        `${dataPath(INSURANCE)}/aggregate`,
        {
          measures: [{ fn: 'count' }],
          where: { firstInsuredOn: { lt: v } },
        },
        {},
        si,
      );
      expect(a.statusCode, `${v}: ${a.body}`).toBe(400);
      coded(a.body, 'FILTER_INVALID', 'where.firstInsuredOn');
      const m = await call('POST', `${dataPath(POPULATION)}/verify`, {
        key: keys[0],
        match: { birthDate: v },
      });
      expect(m.statusCode, `${v}: ${m.body}`).toBe(400);
      coded(m.body, 'VALIDATION_FAILED', 'match.birthDate');
    }
    // a real leap day still works
    const ok = await call('POST', `${dataPath(POPULATION)}/query`, {
      where: { registeredOn: { gte: '2024-02-29' } },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    const dt = await call('POST', `${dataPath(POPULATION)}/query`, {
      where: { registeredOn: { gte: '2024-13-01' } },
    });
    expect(dt.statusCode).toBe(400);
  });

  it('point 4: verification answers match / no match only; a miss is audited as such', async () => {
    const hit = await call('POST', `${dataPath(POPULATION)}/verify`, { key: keys[0] });
    expect(hit.statusCode, hit.body).toBe(200);
    expect(Object.keys(hit.json()).sort()).toEqual(['auditId', 'grantId', 'match', 'resourceCode']);
    expect(hit.json().match).toBe(true);
    const miss = await call('POST', `${dataPath(POPULATION)}/verify`, {
      key: keys[0],
      match: { name: '不存在' },
    });
    expect(miss.json()).toMatchObject({ match: false });
    expect(Object.keys(miss.json()).sort()).toEqual(['auditId', 'grantId', 'match', 'resourceCode']);
    expect(await lastAudit(pop.appId, 'data.verify')).toMatchObject({
      decision: 'allow',
      rows_returned: 0,
      detail: { matched: false },
    });
    // a match field outside the grant is FIELD_NOT_GRANTED, not an oracle
    const outside = await call('POST', `${dataPath(POPULATION)}/verify`, {
      key: keys[0],
      match: { phone: '1' },
    });
    expect(outside.statusCode).toBe(403);
    coded(outside.body, 'FIELD_NOT_GRANTED', 'fields');
  });

  it('point 5: an aggregate-only grant never gets a row from any record endpoint', async () => {
    const base = dataPath(INSURANCE);
    for (const [m, url, body] of [
      ['GET', `${base}/records`, undefined],
      ['POST', `${base}/query`, {}],
      ['POST', `${base}/verify`, { key: 'x' }],
      ['GET', `${base}/export`, undefined],
      ['GET', `${base}/changes`, undefined],
    ] as const) {
      const res = await call(m, url, body as Record<string, unknown> | undefined, {}, si);
      expect(res.statusCode, url).toBe(403);
      coded(res.body, 'AGGREGATE_ONLY');
    }
  });

  it("point 5: differencing two range filters cannot isolate one insured person's contribution base", async () => {
    // a first-insured day held by exactly one record, with at least k records before and after it
    const { rows } = await env.ctx.database.query<{ d: string; before: number; after: number }>(
      `SELECT d::text AS d, before::int, after::int FROM (
         SELECT ${sc.firstInsuredOn} AS d, count(*) AS n,
           (SELECT count(*) FROM ${siTable} x WHERE x.${sc.firstInsuredOn} < t.${sc.firstInsuredOn}) AS before,
           (SELECT count(*) FROM ${siTable} x WHERE x.${sc.firstInsuredOn} > t.${sc.firstInsuredOn}) AS after
         FROM ${siTable} t WHERE ${sc.firstInsuredOn} IS NOT NULL GROUP BY 1) s
       WHERE n = 1 AND before >= 10 AND after >= 10 ORDER BY d LIMIT 1`,
      [],
    );
    expect(rows).toHaveLength(1);
    const d = rows[0].d.slice(0, 10);
    const sum = (cond: Record<string, string>, noise?: number) =>
      call(
        'POST',
        `${dataPath(INSURANCE)}/aggregate`,
        {
          measures: [{ fn: 'count' }, { fn: 'sum', field: 'contributionBase' }],
          where: { firstInsuredOn: cond },
          ...(noise ? { noise: { epsilon: noise } } : {}),
        },
        {},
        si,
      );
    // without noise a sum (or average) of a personal or sensitive field is refused: two such sums differ by one person
    for (const cond of [{ gte: d }, { gt: d }] as Record<string, string>[]) {
      const res = await sum(cond);
      expect(res.statusCode, res.body).toBe(400);
      coded(res.body, 'AGGREGATE_DIMENSION_PERSONAL', 'measures[1]');
    }
    const avg = await call(
      'POST',
      `${dataPath(INSURANCE)}/aggregate`,
      {
        measures: [{ fn: 'avg', field: 'contributionBase' }],
      },
      {},
      si,
    );
    expect(avg.statusCode).toBe(400);
    coded(avg.body, 'AGGREGATE_DIMENSION_PERSONAL', 'measures[0]');
    // the refusal is audited before its answer (a bounded http.refused row naming the route and the code)
    const refused = await env.ctx.db
      .selectFrom('audit_log')
      .select(['detail'])
      .where('action', '=', 'http.refused')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(refused.detail).toMatchObject({
      code: 'AGGREGATE_DIMENSION_PERSONAL',
      route: '/api/v1/data/:resourceCode/aggregate',
    });
    // with noise the difference is not the person's value
    const { rows: one } = await env.ctx.database.query<{ v: string }>(
      `SELECT ${sc.contributionBase}::text AS v FROM ${siTable} WHERE ${sc.firstInsuredOn} = $1::date`,
      [d],
    );
    const a = await sum({ gte: d }, 1);
    const b = await sum({ gt: d }, 1);
    expect(a.statusCode, a.body).toBe(200);
    expect(b.statusCode, b.body).toBe(200);
    const diff =
      Number(a.json().cells[0].values.sum_contributionBase) -
      Number(b.json().cells[0].values.sum_contributionBase);
    expect(Math.abs(diff - Number(one[0].v))).toBeGreaterThan(0.01);
    // a non-personal count still works without noise
    const n = await call(
      'POST',
      `${dataPath(INSURANCE)}/aggregate`,
      {
        measures: [{ fn: 'count' }],
        groupBy: ['insuranceType'],
      },
      {},
      si,
    );
    expect(n.statusCode, n.body).toBe(200);
  });

  it('point 6/masking: a birth date hidden beside the ID number is not revealed by asking for it alone', async () => {
    const url = `${dataPath(POPULATION)}/records/${keys[0]}`;
    const both = (await call('GET', url)).json().record;
    expect(both.birthDate).toBe('****-**-**');
    expect(both.idNumber).toMatch(/^\d{3}\*+[\dX]{4}$/);
    // the same record, the date asked alone: the ID number is still the grant's, so the date stays hidden
    const alone = await call('GET', `${url}?fields=birthDate`);
    expect(alone.statusCode, alone.body).toBe(200);
    expect(alone.json().record).toEqual({ birthDate: '****-**-**' });
    const page = (
      await call('GET', `${dataPath(POPULATION)}/records?limit=5&fields=birthDate,countyCode`)
    ).json();
    for (const r of page.items) if (r.birthDate !== null) expect(r.birthDate).toBe('****-**-**');
    const q = (
      await call('POST', `${dataPath(POPULATION)}/query`, { fields: ['birthDate'], limit: 5 })
    ).json();
    for (const r of q.items) if (r.birthDate !== null) expect(r.birthDate).toBe('****-**-**');
    // export and change feed the same
    const exp = await call('GET', `${dataPath(POPULATION)}/export?format=ndjson&fields=birthDate`);
    expect(exp.statusCode, exp.body.slice(0, 200)).toBe(200);
    const lines = exp.body
      .trim()
      .split('\n')
      .slice(0, 20)
      .map((l) => JSON.parse(l));
    for (const r of lines) if (r.birthDate !== null) expect(r.birthDate).toBe('****-**-**');
    const feed = (await call('GET', `${dataPath(POPULATION)}/changes?fields=birthDate&limit=20`)).json();
    for (const c of feed.changes)
      if (c.record?.birthDate != null) expect(c.record.birthDate).toBe('****-**-**');
  });

  it('point 6: export rows are masked exactly as the API returns them; after revocation export and feed are refused', async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber', 'name', 'countyCode'],
      appName: '探测：导出与撤销',
      quota: { export: true, feed: true },
    });
    const exp = await call('GET', `${dataPath(POPULATION)}/export?format=ndjson`, undefined, {}, g);
    expect(exp.statusCode).toBe(200);
    const exported = exp.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const api = (await call('GET', `${dataPath(POPULATION)}/records?limit=1000`, undefined, {}, g)).json()
      .items;
    expect(
      exported.slice(0, api.length).map((r: Record<string, unknown>) => {
        const { idNumber, name, countyCode } = r;
        return { idNumber, name, countyCode };
      }),
    ).toEqual(api.slice(0, exported.length));
    const revoke = await env.app.inject({
      method: 'POST',
      url: `/api/sharing/grants/${g.grantId}/revoke`,
      headers: { cookie: await login(env.app, 'gaj_officer') },
    });
    expect(revoke.statusCode, revoke.body).toBe(200);
    for (const url of ['export?format=csv', 'changes']) {
      const res = await call('GET', `${dataPath(POPULATION)}/${url}`, undefined, {}, g);
      expect(res.statusCode, url).toBe(403);
      coded(res.body, 'GRANT_REQUIRED', 'resourceCode');
    }
    expect(await lastAudit(g.appId, 'data.feed')).toMatchObject({
      decision: 'deny',
      detail: { reason: 'GRANT_REQUIRED' },
    });
  });

  it("point 7: a grant's quota refusal is audited naming the app that was refused", async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['countyCode'],
      appName: '探测：配额',
      quota: { callsPerDay: 1 },
    });
    const url = `${dataPath(POPULATION)}/records?limit=1`;
    expect((await call('GET', url, undefined, {}, g)).statusCode).toBe(200);
    const over = await call('GET', url, undefined, {}, g);
    expect(over.statusCode).toBe(429);
    coded(over.body, 'QUOTA_EXCEEDED');
    const row = await env.ctx.db
      .selectFrom('audit_log')
      .select(['app_id', 'actor_org_id', 'decision', 'detail'])
      .where('action', '=', 'http.refused')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const consumer = await env.ctx.db
      .selectFrom('app')
      .select('org_id')
      .where('id', '=', g.appId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      app_id: g.appId,
      actor_org_id: consumer.org_id,
      decision: 'deny',
      detail: { code: 'QUOTA_EXCEEDED', route: '/api/v1/data/:resourceCode/records' },
    });
  });

  it('point 7: a call refused for malformed input before its statement is audited naming the app its key belongs to and the consumer department; per-app denial alerts count it', async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['countyCode', 'registeredOn'],
      appName: '探测：畸形输入',
    });
    const rsj = await env.ctx.db
      .selectFrom('app')
      .select('org_id')
      .where('id', '=', g.appId)
      .executeTakeFirstOrThrow();
    const since = await auditMark();
    const base = dataPath(POPULATION);
    // schema (limit), the filter language (an impossible date), the aggregate (a sum of text), an unknown resource
    const refusals: [string, string, Record<string, unknown> | undefined, string][] = [
      ['GET', `${base}/records?limit=0`, undefined, 'VALIDATION_FAILED'],
      ['POST', `${base}/query`, { where: { registeredOn: { gte: '2024-02-30' } } }, 'FILTER_INVALID'],
      ['POST', `${base}/aggregate`, { measures: [{ fn: 'sum', field: 'countyCode' }] }, 'AGGREGATE_INVALID'],
      ['GET', `${dataPath('44A999/999999')}/records`, undefined, 'NOT_FOUND'],
    ];
    for (const [method, url, payload, code] of refusals) {
      const r = await call(method as 'GET' | 'POST', url, payload, {}, g);
      expect(r.statusCode, `${url}: ${r.body}`).toBeGreaterThanOrEqual(400);
      expect(r.json().code, url).toBe(code);
    }
    // the same malformed call with a key no app holds stays anonymous
    const stranger = await call(
      'GET',
      `${base}/records?limit=0`,
      undefined,
      { 'x-api-key': 'gs_no-such-key' },
      g,
    );
    expect(stranger.statusCode).toBe(400);
    const rows = await env.ctx.db
      .selectFrom('audit_log')
      .select(['app_id', 'actor_org_id', 'actor_user_id', 'decision', 'detail'])
      .where('id', '>', since)
      .where('action', '=', 'http.refused')
      .execute();
    for (const [, , , code] of refusals) {
      const row = rows.find((r) => (r.detail as { code: string }).code === code && r.app_id !== null);
      expect(row, code).toMatchObject({
        app_id: g.appId,
        actor_org_id: rsj.org_id,
        actor_user_id: null,
        decision: 'deny',
      });
    }
    expect(
      rows.some(
        (r) =>
          r.app_id === null && (r.detail as { route: string }).route === '/api/v1/data/:resourceCode/records',
      ),
      'the unknown key’s refusal is anonymous',
    ).toBe(true);
    // 30 refusals of one app in 10 minutes raise the denials alert (security/alerts.ts), malformed calls included
    for (let i = 0; i < 30; i++) await call('GET', `${base}/records?limit=0`, undefined, {}, g);
    await evaluateAlerts(env.ctx);
    const alerts = await env.ctx.db
      .selectFrom('security_alert')
      .select(['rule_code', 'evidence'])
      .where('app_id', '=', g.appId)
      .execute();
    expect(alerts).toEqual([
      expect.objectContaining({ rule_code: 'denials', evidence: expect.objectContaining({ refusals: 34 }) }),
    ]);
  });

  it('point 7: refusals before the statement (bad input, unknown key) are audited and bounded; console refusals too', async () => {
    const since = await auditMark();
    const huge = Array.from({ length: 200 }, (_, i) => `f${'a'.repeat(30)}${i}`).join(',');
    const r1 = await call('GET', `${dataPath(POPULATION)}/records?fields=${huge}`);
    expect(r1.statusCode).toBe(403);
    const a1 = await lastAudit(pop.appId, 'data.list');
    expect(a1.detail).toMatchObject({ reason: 'FIELD_NOT_GRANTED' });
    expect(JSON.stringify(a1.detail).length).toBeLessThan(10_000);
    const r2 = await call('GET', `${dataPath(POPULATION)}/records?limit=0`);
    expect(r2.statusCode).toBe(400);
    coded(r2.body, 'VALIDATION_FAILED', 'querystring.limit');
    const r3 = await call('GET', `${dataPath(POPULATION)}/records`, undefined, {
      'x-api-key': 'k'.repeat(190),
    });
    expect(r3.statusCode).toBe(401);
    coded(r3.body, 'API_KEY_INVALID', 'X-Api-Key');
    const r4 = await env.app.inject({
      method: 'PATCH',
      url: `/api/sharing/grants/${pop.grantId}`,
      headers: { cookie: await login(env.app, 'mzj_officer') },
      payload: { clearFields: ['name'] },
    });
    expect(r4.statusCode).toBeGreaterThanOrEqual(400);
    const rows = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision', 'detail', 'target_label', 'target_id'])
      .where('id', '>', since)
      .execute();
    const codes = rows.map((r) =>
      r.action === 'http.refused'
        ? (r.detail as { code: string }).code
        : (r.detail as { reason?: string }).reason,
    );
    expect(codes).toEqual(
      expect.arrayContaining(['VALIDATION_FAILED', 'API_KEY_INVALID', JSON.parse(r4.body).code]),
    );
    for (const r of rows) expect(JSON.stringify(r).length).toBeLessThan(10_000);
  });
});
