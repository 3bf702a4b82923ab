import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    env.ctx.config.aggregate = { minCell: K, epsilon: 0, epsilonMin: 0.1 };
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
    env.ctx.config.aggregate = { minCell: k, epsilon: 0, epsilonMin: 0.1 };
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
      env.ctx.config.aggregate = { minCell: K, epsilon: 0, epsilonMin: 0.1 };
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
          expect(noisy.json().noise).toEqual({ mechanism: 'laplace', epsilon: 1 });
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
    expect(a.noise).toEqual({ mechanism: 'laplace', epsilon: 1 });
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
    env.ctx.config.aggregate = { minCell: K, epsilon: 0.5, epsilonMin: 0.1 };
    try {
      const p = (
        await aggregate(agg, POPULATION, { measures: [{ fn: 'count' }], groupBy: ['townCode'] })
      ).json();
      expect(p.noise.epsilon).toBe(0.5);
      const q = (await aggregate(agg, POPULATION, { ...payload, noise: { epsilon: 5 } })).json();
      expect(q.noise.epsilon).toBe(0.5);
    } finally {
      env.ctx.config.aggregate = { minCell: K, epsilon: 0, epsilonMin: 0.1 };
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
