import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUDGET_PRUNE_JOB, pruneAggregateBudget } from '../src/dataapi/aggregate.js';
import { measureNeedsNoise } from '../src/dataapi/mask-class.js';
import { maskValue } from '../src/dataapi/masking.js';
import {
  clearRows,
  codeOf,
  createTestEnv,
  dataPath,
  grantedApp,
  login,
  resourceColumns,
  type TestEnv,
} from './helpers.js';

/*
 * Issue 9 point 7: usable but not visible (可用不可见, DG Art 33; 隐私计算, XT Art 35). An aggregate-only grant answers
 * counts, sums, averages, min/max and distributions, never a record; cells under k are suppressed (and the complementary
 * cell when one alone would be revealed by differencing); optional Laplace noise; every call and every refusal audited.
 * Point 8: the clear-value right is the only way to see a personal field in clear.
 */
describe('data API: aggregate queries (usable but not visible) and the clear-value right', () => {
  let env: TestEnv;
  let POPULATION = '';
  let ENTITIES = '';
  let popTable = '';
  let entTable = '';
  let pc: Record<string, string> = {};
  let ec: Record<string, string> = {};
  let agg: Awaited<ReturnType<typeof grantedApp>>;
  let rows: Awaited<ReturnType<typeof grantedApp>>;
  let ent: Awaited<ReturnType<typeof grantedApp>>;
  const K = 5;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 300, entityRows: 120 } });
    env.ctx.config.aggregate = { minCell: K, epsilon: 0, epsilonMin: 0.1, epsilonPerDay: 1000 };
    POPULATION = await codeOf(env, '人口基础信息');
    ENTITIES = await codeOf(env, '法人单位基础信息');
    ({ table: popTable, col: pc } = await resourceColumns(env, POPULATION));
    ({ table: entTable, col: ec } = await resourceColumns(env, ENTITIES));
    agg = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber', 'name', 'gender', 'countyCode', 'townCode', 'registeredOn'],
      appName: '人口统计分析',
      quota: { accessMode: 'aggregate', export: true, verify: true } as never,
    });
    rows = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber', 'name', 'countyCode'],
      appName: '人口明细查询',
    });
    ent = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'scj_officer',
      resourceCode: ENTITIES,
      fields: ['creditCode', 'entityType', 'registeredCapital', 'establishedOn', 'countyCode'],
      appName: '法人统计分析',
    });
    await patchGrant('scj_officer', ent.grantId, { accessMode: 'aggregate' });
  });
  afterAll(async () => env?.close());

  const patchGrant = async (provider: string, id: number, payload: Record<string, unknown>) => {
    const res = await env.app.inject({
      method: 'PATCH',
      url: `/api/sharing/grants/${id}`,
      headers: { cookie: await login(env.app, provider) },
      payload,
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const aggregate = (
    who: { apiKey: string; purposeId: string },
    code: string,
    payload: Record<string, unknown>,
  ) =>
    env.app.inject({
      method: 'POST',
      url: `${dataPath(code)}/aggregate`,
      headers: { 'x-api-key': who.apiKey, 'x-purpose': who.purposeId },
      payload,
    });
  const truth = async (table: string, group: string, extra = '') =>
    (
      await env.ctx.database.query<{ g: string | null; n: number }>(
        `SELECT ${group}::text AS g, count(*)::int AS n${extra} FROM ${table} GROUP BY 1`,
        [],
      )
    ).rows;
  const auditOf = (id: number) =>
    env.ctx.db.selectFrom('audit_log').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('DG Art 33: counts by a granted dimension equal the data, cells under k suppressed, the call audited with what it asked', async () => {
    const res = await aggregate(agg, POPULATION, { measures: [{ fn: 'count' }], groupBy: ['townCode'] });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    const all = await truth(popTable, pc.townCode);
    const big = all.filter((c) => c.n >= K);
    const small = all.filter((c) => c.n < K);
    // complementary suppression may withhold one more cell when exactly one is small
    const extra = small.length === 1 ? 1 : 0;
    expect(body.cells).toHaveLength(big.length - extra);
    expect(body.suppressedCells).toBe(small.length + extra);
    for (const c of body.cells) {
      const t = all.find((x) => x.g === c.group.townCode);
      expect(c.values.count).toBe(t?.n);
      expect(c.values.count).toBeGreaterThanOrEqual(K);
    }
    expect(Object.keys(body.cells[0])).toEqual(['group', 'values']);
    const a = await auditOf(body.auditId);
    expect(a).toMatchObject({ action: 'data.aggregate', decision: 'allow', grant_id: agg.grantId });
    expect(Number(a.rows_returned)).toBe(0);
    expect(a.detail).toMatchObject({
      groupBy: ['townCode'],
      measures: ['count'],
      minCell: K,
      cells: body.cells.length,
      suppressed: body.suppressedCells,
    });
  });

  it('complementary suppression: when exactly one cell is under k, the next smallest is withheld too', async () => {
    const all = (await truth(popTable, pc.townCode)).sort((x, y) => x.n - y.n);
    // a threshold that leaves exactly one cell under it
    const i = all.findIndex((c, j) => j + 1 < all.length && all[j + 1].n > c.n);
    const k = all[i].n + 1;
    const below = all.filter((c) => c.n < k).length;
    env.ctx.config.aggregate = { minCell: k, epsilon: 0, epsilonMin: 0.1, epsilonPerDay: 1000 };
    try {
      const body = (
        await aggregate(agg, POPULATION, { measures: [{ fn: 'count' }], groupBy: ['townCode'] })
      ).json();
      const shown = new Set(body.cells.map((c: { group: { townCode: string } }) => c.group.townCode));
      if (below === 1) {
        expect(body.suppressedCells).toBe(2);
        expect(shown.has(all[1].g)).toBe(false);
      } else expect(body.suppressedCells).toBe(below);
      for (const c of all.filter((x) => x.n < k)) expect(shown.has(c.g)).toBe(false);
      expect(body.minCell).toBe(k);
    } finally {
      env.ctx.config.aggregate = { minCell: K, epsilon: 0, epsilonMin: 0.1, epsilonPerDay: 1000 };
    }
  });

  it('sums, averages and min/max of non-personal fields, filtered with the query language, equal the data', async () => {
    const res = await aggregate(ent, ENTITIES, {
      measures: [
        { fn: 'count' },
        { fn: 'sum', field: 'registeredCapital' },
        { fn: 'avg', field: 'registeredCapital' },
        { fn: 'min', field: 'establishedOn' },
        { fn: 'max', field: 'registeredCapital' },
      ],
      groupBy: ['countyCode'],
      where: { establishedOn: { gte: '1990-01-01' } },
    });
    expect(res.statusCode, res.body).toBe(200);
    const { rows: t } = await env.ctx.database.query<{
      g: string;
      n: number;
      s: string;
      mx: string;
      mn: string;
    }>(
      `SELECT ${ec.countyCode} AS g, count(*)::int AS n, sum(${ec.registeredCapital})::text AS s,
        max(${ec.registeredCapital})::text AS mx, min(${ec.establishedOn})::text AS mn
       FROM ${entTable} WHERE ${ec.establishedOn} >= '1990-01-01' GROUP BY 1`,
      [],
    );
    const body = res.json();
    expect(body.cells.length).toBeGreaterThan(0);
    for (const c of body.cells) {
      const x = t.find((r) => r.g === c.group.countyCode)!;
      expect(c.values.count).toBe(x.n);
      expect(Number(c.values.sum_registeredCapital)).toBeCloseTo(Number(x.s), 2);
      expect(Number(c.values.avg_registeredCapital)).toBeCloseTo(Number(x.s) / x.n, 2);
      expect(Number(c.values.max_registeredCapital)).toBeCloseTo(Number(x.mx), 2);
      expect(String(c.values.min_establishedOn).slice(0, 10)).toBe(x.mn);
    }
  });

  it('DG Art 33: every record endpoint refuses an aggregate-only grant (AGGREGATE_ONLY), each refusal audited', async () => {
    // `_key` is the ID number's keyed hash (encrypted at rest): the clear key, decrypted as the product reads it
    const one = (await clearRows(env, popTable, { limit: 1 })).map((r) => ({ k: r.key }));
    const h = { 'x-api-key': agg.apiKey, 'x-purpose': agg.purposeId };
    const calls = [
      env.app.inject({ url: `${dataPath(POPULATION)}/records/${one[0].k}`, headers: h }),
      env.app.inject({ url: `${dataPath(POPULATION)}/records`, headers: h }),
      env.app.inject({ method: 'POST', url: `${dataPath(POPULATION)}/query`, headers: h, payload: {} }),
      env.app.inject({
        method: 'POST',
        url: `${dataPath(POPULATION)}/verify`,
        headers: h,
        payload: { key: one[0].k },
      }),
      env.app.inject({ url: `${dataPath(POPULATION)}/export?format=csv`, headers: h }),
    ];
    for (const res of await Promise.all(calls)) {
      expect(res.statusCode, res.body).toBe(403);
      expect(res.json().code).toBe('AGGREGATE_ONLY');
      expect(res.body).not.toContain(one[0].k);
    }
    const denied = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'detail'])
      .where('grant_id', '=', agg.grantId)
      .where('decision', '=', 'deny')
      .execute();
    const refusedActions = denied
      .filter((d) => (d.detail as { reason?: string }).reason === 'AGGREGATE_ONLY')
      .map((d) => d.action)
      .sort();
    expect(refusedActions).toEqual(['data.export', 'data.get', 'data.list', 'data.query', 'data.verify']);
    expect(
      await env.ctx.db.selectFrom('data_export').select('id').where('grant_id', '=', agg.grantId).execute(),
    ).toEqual([]);
  });

  it('DG Art 33: grouping by (or min/max of) a personal field is refused and the refusal audited', async () => {
    for (const payload of [
      { measures: [{ fn: 'count' }], groupBy: ['gender'] },
      { measures: [{ fn: 'count' }], groupBy: ['countyCode', 'name'] },
      {
        measures: [
          { fn: 'max', field: 'registeredOn' },
          { fn: 'min', field: 'idNumber' },
        ],
      },
    ]) {
      const res = await aggregate(agg, POPULATION, payload);
      expect(res.statusCode, res.body).toBe(payload.groupBy ? 400 : 400);
      expect(['AGGREGATE_DIMENSION_PERSONAL', 'AGGREGATE_INVALID']).toContain(res.json().code);
    }
    const gender = await aggregate(agg, POPULATION, { measures: [{ fn: 'count' }], groupBy: ['gender'] });
    expect(gender.json().code).toBe('AGGREGATE_DIMENSION_PERSONAL');
    const refused = await env.ctx.db
      .selectFrom('audit_log')
      .select(['detail'])
      .where('action', '=', 'http.refused')
      .execute();
    expect(
      refused.some(
        (r) =>
          (r.detail as { code?: string; route?: string }).code === 'AGGREGATE_DIMENSION_PERSONAL' &&
          (r.detail as { route?: string }).route === '/api/v1/data/:resourceCode/aggregate',
      ),
    ).toBe(true);
  });

  it('the console knows before the call which sum or average needs noise: the server’s own rule (mask-class.ts measureNeedsNoise) on the catalog’s fields', async () => {
    // 社会保险参保信息: a personal and sensitive 缴费基数, a personal 累计缴费月数; 法人单位基础信息: an open 注册资本
    const si = await grantedApp(env.app, {
      consumer: 'mzj_officer',
      provider: 'rsj_officer',
      resourceCode: await codeOf(env, '社会保险参保信息'),
      fields: ['insuranceType', 'contributionBase', 'contributionMonths'],
      appName: '参保统计（噪声）',
      quota: { accessMode: 'aggregate' } as never,
    });
    const seen: string[] = [];
    for (const [who, resourceId, code] of [
      [si, si.resourceId, await codeOf(env, '社会保险参保信息')],
      [ent, ent.resourceId, ENTITIES],
    ] as const) {
      // what the aggregate panel reads: the catalog's fields of the grant's resource (GET /api/catalog/resources/:id)
      const res = await env.app.inject({
        url: `/api/catalog/resources/${resourceId}`,
        headers: { cookie: await login(env.app, who === si ? 'mzj_officer' : 'rsj_officer') },
      });
      expect(res.statusCode, res.body).toBe(200);
      const fields: { code: string; type: string; personal: boolean; sensitive: boolean; masking: never }[] =
        res.json().fields;
      for (const f of fields.filter((x) =>
        ['contributionBase', 'contributionMonths', 'registeredCapital'].includes(x.code),
      ))
        for (const fn of ['sum', 'avg']) {
          const needs = measureNeedsNoise(fn, f);
          seen.push(`${f.code}:${fn}:${needs}`);
          const exact = await aggregate(who, code, { measures: [{ fn, field: f.code }] });
          expect(exact.statusCode, `${f.code} ${fn}: ${exact.body}`).toBe(needs ? 400 : 200);
          if (needs) expect(exact.json().code).toBe('AGGREGATE_DIMENSION_PERSONAL');
          // with the noise the panel offers, the same measure is answered
          const noisy = await aggregate(who, code, {
            measures: [{ fn, field: f.code }],
            noise: { epsilon: 1 },
          });
          expect(noisy.statusCode, `${f.code} ${fn} with noise: ${noisy.body}`).toBe(200);
          expect(noisy.json().noise).toMatchObject({ mechanism: 'laplace', epsilon: 1 });
        }
    }
    expect(seen.sort()).toEqual([
      'contributionBase:avg:true',
      'contributionBase:sum:true',
      'contributionMonths:avg:true',
      'contributionMonths:sum:true',
      'registeredCapital:avg:false',
      'registeredCapital:sum:false',
    ]);
  });

  it('a dimension, measure or filter outside the grant is a coded 403, audited by the statement', async () => {
    const res = await aggregate(agg, POPULATION, { measures: [{ fn: 'count' }], groupBy: ['ethnicity'] });
    // ethnicity is personal: refused before the grant check
    expect(res.statusCode).toBe(400);
    const out = await aggregate(rows, POPULATION, { measures: [{ fn: 'count' }], groupBy: ['townCode'] });
    expect(out.statusCode, out.body).toBe(403);
    expect(out.json().code).toBe('FIELD_NOT_GRANTED');
    const f = await aggregate(rows, POPULATION, {
      measures: [{ fn: 'count' }],
      groupBy: ['countyCode'],
      where: { townCode: { prefix: '4' } },
    });
    expect(f.statusCode).toBe(403);
    expect(f.json().code).toBe('FIELD_NOT_GRANTED');
    const denied = await env.ctx.db
      .selectFrom('audit_log')
      .select(['detail'])
      .where('grant_id', '=', rows.grantId)
      .where('action', '=', 'data.aggregate')
      .where('decision', '=', 'deny')
      .execute();
    expect(denied.map((d) => (d.detail as { reason: string }).reason).sort()).toEqual([
      'FIELD_NOT_GRANTED',
      'FILTER_NOT_GRANTED',
    ]);
  });

  it('a grant that reads records may aggregate too, under the same suppression', async () => {
    const res = await aggregate(rows, POPULATION, { measures: [{ fn: 'count' }], groupBy: ['countyCode'] });
    expect(res.statusCode, res.body).toBe(200);
    for (const c of res.json().cells) expect(c.values.count).toBeGreaterThanOrEqual(K);
  });

  it("aggregate calls count against the grant's calls per day like any data call (429 QUOTA_EXCEEDED)", async () => {
    const small = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'scj_officer',
      resourceCode: ENTITIES,
      fields: ['entityType', 'countyCode'],
      appName: '配额测试统计',
    });
    // an unconditional resource is granted on request: the provider sets the grant's mode and quota afterwards
    await patchGrant('scj_officer', small.grantId, { accessMode: 'aggregate', callsPerDay: 2 });
    const body = { measures: [{ fn: 'count' }], groupBy: ['countyCode'] };
    expect((await aggregate(small, ENTITIES, body)).statusCode).toBe(200);
    expect((await aggregate(small, ENTITIES, body)).statusCode).toBe(200);
    const third = await aggregate(small, ENTITIES, body);
    expect(third.statusCode).toBe(429);
    expect(third.json().code).toBe('QUOTA_EXCEEDED');
  });

  it('Laplace noise: bounded epsilon, deterministic per call (cannot be averaged away), close to the truth on average', async () => {
    const bad = await aggregate(agg, POPULATION, {
      measures: [{ fn: 'count' }],
      groupBy: ['townCode'],
      noise: { epsilon: 0.01 },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('AGGREGATE_INVALID');
    const payload = { measures: [{ fn: 'count' }], groupBy: ['townCode'], noise: { epsilon: 1 } };
    const a = (await aggregate(agg, POPULATION, payload)).json();
    const b = (await aggregate(agg, POPULATION, payload)).json();
    expect(a.noise).toMatchObject({ mechanism: 'laplace', epsilon: 1 });
    expect(b.cells).toEqual(a.cells);
    const all = await truth(popTable, pc.townCode);
    const errors = a.cells.map((c: { group: { townCode: string }; values: { count: number } }) =>
      Math.abs(c.values.count - all.find((x) => x.g === c.group.townCode)!.n),
    );
    // Laplace(1/ε = 1): mean |error| is 1; over the cells, well under 4 (and never an enormous outlier)
    const mean = errors.reduce((s: number, e: number) => s + e, 0) / errors.length;
    expect(mean).toBeLessThan(4);
    expect(Math.max(...errors)).toBeLessThan(30);
    for (const c of a.cells) expect(Number.isInteger(c.values.count)).toBe(true);
    expect((await auditOf(a.auditId)).detail).toMatchObject({ epsilon: 1 });
    // the platform's epsilon applies when set; a call may only ask for more noise (a smaller epsilon)
    env.ctx.config.aggregate = { minCell: K, epsilon: 0.5, epsilonMin: 0.1, epsilonPerDay: 1000 };
    try {
      const p = (
        await aggregate(agg, POPULATION, { measures: [{ fn: 'count' }], groupBy: ['townCode'] })
      ).json();
      expect(p.noise.epsilon).toBe(0.5);
      const q = (await aggregate(agg, POPULATION, { ...payload, noise: { epsilon: 5 } })).json();
      expect(q.noise.epsilon).toBe(0.5);
    } finally {
      env.ctx.config.aggregate = { minCell: K, epsilon: 0, epsilonMin: 0.1, epsilonPerDay: 1000 };
    }
  });

  /** A fresh aggregate-only grant on the entities resource (one per budget test: each has its own day's budget). */
  const entityAggregateGrant = async (appName: string) => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'scj_officer',
      resourceCode: ENTITIES,
      fields: ['creditCode', 'registeredCapital', 'countyCode'],
      appName,
    });
    await patchGrant('scj_officer', g.grantId, { accessMode: 'aggregate' });
    return g;
  };

  it('privacy budget: each noisy answer spends its epsilon from the grant’s day; a repeat over unchanged data is free, two epsilons draw independent noise, a change is charged again, the overrun refused and audited', async () => {
    const budgeted = await entityAggregateGrant('法人预算测试');
    const spentRow = async () =>
      (
        await env.ctx.database.query<{ spent: number; n: number }>(
          'SELECT spent, cardinality(requests) AS n FROM aggregate_budget WHERE grant_id = $1',
          [budgeted.grantId],
        )
      ).rows;
    const sumBy = { measures: [{ fn: 'sum', field: 'registeredCapital' }], groupBy: ['countyCode'] };
    const other = { measures: [{ fn: 'count' }], groupBy: ['countyCode'] };
    const ask = async (payload: Record<string, unknown>) => {
      const res = await aggregate(budgeted, ENTITIES, payload);
      return { status: res.statusCode, body: res.json() };
    };
    env.ctx.config.aggregate = { minCell: K, epsilon: 0, epsilonMin: 0.1, epsilonPerDay: 2 };
    try {
      // an exact answer spends nothing
      const exact = await ask(other);
      expect(exact.status, JSON.stringify(exact.body)).toBe(200);
      expect(exact.body.noise).toBeNull();
      expect(await spentRow()).toEqual([]);

      const a1 = await ask({ ...sumBy, noise: { epsilon: 1 } });
      expect(a1.status, JSON.stringify(a1.body)).toBe(200);
      expect(a1.body.noise).toEqual({
        mechanism: 'laplace',
        epsilon: 1,
        budget: { perDay: 2, spentToday: 1, remaining: 1 },
      });
      // the same request again: the same noise (nothing new is learnt), nothing charged
      const a1again = await ask({ ...sumBy, noise: { epsilon: 1 } });
      expect(a1again.body.cells).toEqual(a1.body.cells);
      expect(a1again.body.noise.budget).toEqual({ perDay: 2, spentToday: 1, remaining: 1 });
      // the same request at another epsilon: charged, and its noise independent of the first (with one draw scaled
      // twice, 2·b − a would be the exact sum)
      const a2 = await ask({ ...sumBy, noise: { epsilon: 0.5 } });
      expect(a2.status).toBe(200);
      expect(a2.body.noise.budget).toEqual({ perDay: 2, spentToday: 1.5, remaining: 0.5 });
      // the true sums per county, read from the table itself
      const { rows: sums } = await env.ctx.database.query<{ g: string; s: number }>(
        `SELECT ${ec.countyCode}::text AS g, sum(${ec.registeredCapital})::float8 AS s FROM ${entTable} GROUP BY 1`,
        [],
      );
      const exactSums = new Map(sums.map((r) => [r.g, Number(r.s)]));
      const solved = a1.body.cells.map(
        (c: { group: { countyCode: string }; values: Record<string, number> }) => {
          const b = a2.body.cells.find(
            (x: { group: { countyCode: string } }) => x.group.countyCode === c.group.countyCode,
          );
          return Math.abs(
            2 * b.values.sum_registeredCapital -
              c.values.sum_registeredCapital -
              exactSums.get(c.group.countyCode)!,
          );
        },
      );
      expect(solved.length).toBeGreaterThan(0);
      expect(Math.max(...solved)).toBeGreaterThan(1e-3);

      // more than what is left: refused before any cell is computed, audited with the reason, nothing charged
      const over = await ask({ ...other, noise: { epsilon: 1 } });
      expect(over.status).toBe(429);
      expect(over.body.code).toBe('PRIVACY_BUDGET_EXHAUSTED');
      expect(over.body.details[0]).toMatchObject({ field: 'noise.epsilon' });
      expect(over.body.message).toBeTruthy();
      const denied = await env.ctx.db
        .selectFrom('audit_log')
        .select(['decision', 'detail', 'rows_returned'])
        .where('grant_id', '=', budgeted.grantId)
        .where('action', '=', 'data.aggregate')
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow();
      expect(denied.decision).toBe('deny');
      expect(denied.rows_returned).toBeNull();
      expect(denied.detail).toMatchObject({
        reason: 'PRIVACY_BUDGET_EXHAUSTED',
        epsilon: 1,
        epsilonPerDay: 2,
      });
      expect(denied.detail).not.toHaveProperty('cells');
      expect((await spentRow())[0]).toMatchObject({ spent: 1.5, n: 2 });
      // what is left may still be spent; then the day's budget is gone, but a repeat stays free
      const rest = await ask({ ...other, noise: { epsilon: 0.5 } });
      expect(rest.status).toBe(200);
      expect(rest.body.noise.budget).toEqual({ perDay: 2, spentToday: 2, remaining: 0 });
      expect((await ask({ ...other, noise: { epsilon: 0.5 } })).body.cells).toEqual(rest.body.cells);
      expect((await ask({ ...sumBy, noise: { epsilon: 1 } })).status).toBe(200);
      expect((await ask({ ...other, noise: { epsilon: 0.1 } })).body.code).toBe('PRIVACY_BUDGET_EXHAUSTED');

      // the provider's data changes: the same request is a new question (new noise, so the difference of two answers
      // is not the exact change) and is charged again; here refused, the budget being spent
      const [one] = await clearRows(env, entTable, { limit: 1 });
      const fields = (
        await env.ctx.db
          .selectFrom('resource_field')
          .select('code')
          .where('resource_id', '=', Number(entTable.replace('ds.r_', '')))
          .execute()
      ).map((f) => f.code);
      const changed = await env.app.inject({
        method: 'POST',
        url: `/api/ingest/resources/${entTable.replace('ds.r_', '')}/records`,
        headers: { cookie: await login(env.app, 'scj_officer') },
        payload: {
          mode: 'upsert',
          records: [
            Object.fromEntries(
              fields
                .filter((c) => one[c] !== null)
                .map((c) => [c, c === 'registeredCapital' ? String(Number(one[c]) + 1) : one[c]]),
            ),
          ],
        },
      });
      expect(changed.statusCode, changed.body).toBe(200);
      expect((await ask({ ...sumBy, noise: { epsilon: 1 } })).body.code).toBe('PRIVACY_BUDGET_EXHAUSTED');
      // and with budget to spend, the changed data's answer carries new noise
      env.ctx.config.aggregate = { minCell: K, epsilon: 0, epsilonMin: 0.1, epsilonPerDay: 10 };
      const after = await ask({ ...sumBy, noise: { epsilon: 1 } });
      expect(after.status).toBe(200);
      expect(after.body.noise.budget).toEqual({ perDay: 10, spentToday: 3, remaining: 7 });
      const noiseOf = (
        cells: { group: { countyCode: string }; values: Record<string, number> }[],
        c: string,
      ) => {
        const cell = cells.find((x) => x.group.countyCode === c)!;
        return cell.values.sum_registeredCapital - exactSums.get(c)!;
      };
      const untouched = a1.body.cells
        .map((c: { group: { countyCode: string } }) => c.group.countyCode)
        .filter((c: string) => c !== one.countyCode);
      expect(
        untouched.some(
          (c: string) => Math.abs(noiseOf(after.body.cells, c) - noiseOf(a1.body.cells, c)) > 1e-6,
        ),
      ).toBe(true);
      // the grants page shows today's spend against the budget (GET /api/usage/grants)
      const usage = await env.app.inject({
        url: '/api/usage/grants',
        headers: { cookie: await login(env.app, 'rsj_officer') },
      });
      expect(usage.statusCode, usage.body).toBe(200);
      expect(usage.json().quotaDefaults.epsilonPerDay).toBe(10);
      expect(usage.json().today).toContainEqual(
        expect.objectContaining({ grantId: budgeted.grantId, epsilon: 3 }),
      );
      // the table stays bounded: a daily job drops the days past BUDGET_DAYS_KEPT, today's row stays
      await env.ctx.database.query(
        "INSERT INTO aggregate_budget (grant_id, day, spent, requests) VALUES ($1, '2000-01-01', 1, '{x}')",
        [budgeted.grantId],
      );
      expect(await pruneAggregateBudget(env.ctx)).toBeGreaterThanOrEqual(1);
      expect(await spentRow()).toHaveLength(1);
      const job = await env.ctx.db
        .selectFrom('job')
        .select('kind')
        .where('kind', '=', BUDGET_PRUNE_JOB)
        .executeTakeFirst();
      expect(job?.kind).toBe(BUDGET_PRUNE_JOB);
    } finally {
      env.ctx.config.aggregate = { minCell: K, epsilon: 0, epsilonMin: 0.1, epsilonPerDay: 1000 };
    }
  });

  it('privacy budget under concurrency: calls racing for the last of the budget never spend past it', async () => {
    const racing = await entityAggregateGrant('法人预算并发测试');
    env.ctx.config.aggregate = { minCell: K, epsilon: 0, epsilonMin: 0.1, epsilonPerDay: 2 };
    try {
      // ten different questions at ε = 0.5 at once: four fit in the budget of 2
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          aggregate(racing, ENTITIES, {
            measures: [{ fn: 'count' }],
            groupBy: ['countyCode'],
            where: { registeredCapital: { gte: i } },
            noise: { epsilon: 0.5 },
          }),
        ),
      );
      const codes = answers.map((r) => (r.statusCode === 200 ? 'ok' : r.json().code));
      expect(codes.filter((c) => c === 'ok')).toHaveLength(4);
      expect(codes.filter((c) => c === 'PRIVACY_BUDGET_EXHAUSTED')).toHaveLength(6);
      const { rows } = await env.ctx.database.query<{ spent: number; n: number }>(
        'SELECT spent, cardinality(requests) AS n FROM aggregate_budget WHERE grant_id = $1',
        [racing.grantId],
      );
      expect(rows).toEqual([{ spent: 2, n: 4 }]);
      const audit = await env.ctx.db
        .selectFrom('audit_log')
        .select('decision')
        .where('grant_id', '=', racing.grantId)
        .where('action', '=', 'data.aggregate')
        .execute();
      expect(audit.map((a) => a.decision).sort()).toEqual([
        ...Array(4).fill('allow'),
        ...Array(6).fill('deny'),
      ]);
    } finally {
      env.ctx.config.aggregate = { minCell: K, epsilon: 0, epsilonMin: 0.1, epsilonPerDay: 1000 };
    }
  });

  it('privacy budget per grant: the provider sets a grant’s own ε per day (audited, validated); its calls are checked against it, not the platform’s; cleared, the platform’s applies again', async () => {
    const own = await entityAggregateGrant('法人专属预算测试');
    const ask = async (payload: Record<string, unknown>) => {
      const res = await aggregate(own, ENTITIES, payload);
      return { status: res.statusCode, body: res.json() };
    };
    const q = (i: number) => ({
      measures: [{ fn: 'count' }],
      groupBy: ['countyCode'],
      where: { registeredCapital: { gte: i } },
      noise: { epsilon: 1 },
    });
    const provider = await login(env.app, 'scj_officer');
    const patch = (payload: Record<string, unknown>) =>
      env.app.inject({
        method: 'PATCH',
        url: `/api/sharing/grants/${own.grantId}`,
        headers: { cookie: provider },
        payload,
      });
    env.ctx.config.aggregate = { minCell: K, epsilon: 0, epsilonMin: 0.1, epsilonPerDay: 10 };
    try {
      // out of range: a coded 400 with the field, nothing changed
      for (const bad of [0, -1, 1001, 'x']) {
        const res = await patch({ epsilonPerDay: bad });
        expect(res.statusCode, res.body).toBe(400);
        expect(res.json().code).toBe('VALIDATION_FAILED');
        expect(JSON.stringify(res.json().details)).toContain('epsilonPerDay');
      }
      const edited = await patch({ epsilonPerDay: 1.5 });
      expect(edited.statusCode, edited.body).toBe(200);
      expect(edited.json().quota.epsilonPerDay).toBe(1.5);
      const audit = await env.ctx.db
        .selectFrom('audit_log')
        .select('detail')
        .where('action', '=', 'share.grantEdit')
        .where('grant_id', '=', own.grantId)
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow();
      expect(audit.detail).toMatchObject({
        before: { quota: { epsilonPerDay: null } },
        after: { quota: { epsilonPerDay: 1.5 } },
      });
      // the grant's 1.5, not the platform's 10
      const first = await ask(q(0));
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(first.body.noise.budget).toEqual({ perDay: 1.5, spentToday: 1, remaining: 0.5 });
      const over = await ask(q(1));
      expect(over.status).toBe(429);
      expect(over.body.code).toBe('PRIVACY_BUDGET_EXHAUSTED');
      const denied = await env.ctx.db
        .selectFrom('audit_log')
        .select(['decision', 'detail'])
        .where('grant_id', '=', own.grantId)
        .where('action', '=', 'data.aggregate')
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow();
      expect(denied).toMatchObject({
        decision: 'deny',
        detail: { reason: 'PRIVACY_BUDGET_EXHAUSTED', epsilon: 1, epsilonPerDay: 1.5 },
      });
      // the grants list shows the grant's own budget
      const list = await env.app.inject({
        url: '/api/sharing/grants',
        headers: { cookie: provider },
      });
      const row = list.json().find((g: { id: number }) => g.id === own.grantId);
      expect(row.quota.epsilonPerDay).toBe(1.5);
      // cleared: the platform's budget applies again, to the same day's spend
      expect((await patch({ epsilonPerDay: null })).json().quota.epsilonPerDay).toBeNull();
      const again = await ask(q(1));
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(again.body.noise.budget).toEqual({ perDay: 10, spentToday: 2, remaining: 8 });
      const { rows } = await env.ctx.database.query<{ spent: number; per_day: number }>(
        'SELECT spent, per_day FROM aggregate_budget WHERE grant_id = $1',
        [own.grantId],
      );
      expect(rows).toEqual([{ spent: 2, per_day: 10 }]);
    } finally {
      env.ctx.config.aggregate = { minCell: K, epsilon: 0, epsilonMin: 0.1, epsilonPerDay: 1000 };
    }
  });

  it('point 8: the clear-value right is the only way to see a personal field in clear; set by the provider, audited before/after', async () => {
    const provider = await login(env.app, 'gaj_officer');
    // the ID number is encrypted at rest and `_key` is its keyed hash (docs/ENCRYPTION.md): the key is decrypted here
    const { rows: stored } = await env.ctx.database.query<{ k: string; name: string }>(
      `SELECT ${pc.idNumber} AS k, ${pc.name} AS name FROM ${popTable} LIMIT 1`,
      [],
    );
    const one = stored.map((r) => ({ ...r, k: String(env.ctx.fieldKeys.decrypt(r.k)) }));
    const get = () =>
      env.app.inject({
        url: `${dataPath(POPULATION)}/records/${one[0].k}`,
        headers: { 'x-api-key': rows.apiKey, 'x-purpose': rows.purposeId },
      });
    const before = (await get()).json().record;
    expect(before.name).toBe(maskValue('name', one[0].name));
    expect(before.idNumber).not.toBe(one[0].k);
    const outside = await env.app.inject({
      method: 'PATCH',
      url: `/api/sharing/grants/${rows.grantId}`,
      headers: { cookie: provider },
      payload: { clearFields: ['phone'] },
    });
    expect(outside.statusCode).toBe(400);
    const set = await env.app.inject({
      method: 'PATCH',
      url: `/api/sharing/grants/${rows.grantId}`,
      headers: { cookie: provider },
      payload: { clearFields: ['name'] },
    });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json().clearFields).toEqual(['name']);
    const after = (await get()).json().record;
    expect(after.name).toBe(one[0].name);
    expect(after.idNumber).not.toBe(one[0].k);
    const edit = await env.ctx.db
      .selectFrom('audit_log')
      .select('detail')
      .where('action', '=', 'share.grantEdit')
      .where('grant_id', '=', rows.grantId)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(edit.detail).toMatchObject({ before: { clearFields: [] }, after: { clearFields: ['name'] } });
    // and an aggregate-only switch takes effect on the next call
    const mode = await env.app.inject({
      method: 'PATCH',
      url: `/api/sharing/grants/${rows.grantId}`,
      headers: { cookie: provider },
      payload: { accessMode: 'aggregate', clearFields: [] },
    });
    expect(mode.json().accessMode).toBe('aggregate');
    expect((await get()).json().code).toBe('AGGREGATE_ONLY');
    await env.app.inject({
      method: 'PATCH',
      url: `/api/sharing/grants/${rows.grantId}`,
      headers: { cookie: provider },
      payload: { accessMode: 'rows' },
    });
    expect((await get()).json().record.name).toBe(maskValue('name', one[0].name));
  });
});
