import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fieldClass } from '../src/dataapi/masking.js';
import { clearRows, codeOf, createTestEnv, dataPath, grantedApp, type TestEnv } from './helpers.js';

/*
 * Issue 9 security tests, property-based (fast-check): random grants (field subsets, clear-value rights, access mode,
 * export right) × random calls (get by key, page, filtered query, export, aggregate) prove that
 *  (a) no call returns a field outside its grant (or outside what it asked for);
 *  (b) no personal or sensitive field leaves unmasked without the grant's clear-value right (DG Art 33, XT Art 35), and
 *      one with the right leaves in clear;
 *  (c) an aggregate-only grant never receives a row (可用不可见, DG Art 33);
 *  (d) no aggregate cell under k appears (with or without noise), and no dimension is personal.
 * The grant is redrawn per run by updating its row (the governed statement reads grants uncached, so the next call
 * sees it).
 */
describe('data API properties: grants × calls', () => {
  let env: TestEnv;
  let POPULATION = '';
  let g: Awaited<ReturnType<typeof grantedApp>>;
  let keys: string[] = [];
  let fields: {
    code: string;
    personal: boolean;
    sensitive: boolean;
    masking: string;
    type: string;
    name: string;
  }[] = [];
  const raw = new Map<string, Set<string>>();
  const K = 4;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 120, entityRows: 10 } });
    env.ctx.config.aggregate = { minCell: K, epsilon: 0, epsilonMin: 0.1, epsilonPerDay: 1000 };
    POPULATION = await codeOf(env, '人口基础信息');
    const r = await env.ctx.db
      .selectFrom('resource')
      .select(['id', 'data_table'])
      .where('code', '=', POPULATION)
      .executeTakeFirstOrThrow();
    const f = await env.ctx.db
      .selectFrom('resource_field')
      .select(['code', 'ordinal', 'personal', 'sensitive', 'masking', 'type', 'name'])
      .where('resource_id', '=', r.id)
      .orderBy('ordinal')
      .execute();
    fields = f;
    // sensitive-personal columns are stored encrypted and `_key` is the ID number's keyed hash (docs/ENCRYPTION.md):
    // the clear values and keys, decrypted as the product reads them, are what no answer may show
    const rows = await clearRows(env, r.data_table!);
    keys = rows.map((x) => x.key);
    for (const x of f)
      raw.set(x.code, new Set(rows.flatMap((row) => (row[x.code] == null ? [] : [row[x.code]!]))));
    g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: f.map((x) => x.code),
      appName: '性质测试应用',
    });
  });
  afterAll(async () => env?.close());

  const isProtected = (code: string) => {
    const f = fields.find((x) => x.code === code)!;
    return fieldClass({ ...f, masking: f.masking as never }) !== null;
  };
  // gender's class rule is `keep` (a statistic needs it; the masked ID number's last four carry it): masked = clear
  const keptInClear = (code: string) => {
    const f = fields.find((x) => x.code === code)!;
    return fieldClass({ ...f, masking: f.masking as never }) === 'gender';
  };

  const grantArb = () =>
    fc
      .record({
        granted: fc.subarray(
          fields.map((f) => f.code),
          { minLength: 1 },
        ),
        clearPick: fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
        mode: fc.constantFrom('rows', 'aggregate') as fc.Arbitrary<'rows' | 'aggregate'>,
        canExport: fc.boolean(),
      })
      .map((x) => ({
        ...x,
        clear: x.granted.filter((c, i) => isProtected(c) && x.clearPick[i % 10]),
      }));

  const callArb = () =>
    fc.oneof(
      fc.record({
        kind: fc.constant('get' as const),
        key: fc.integer({ min: 0, max: 119 }),
        ask: fc.option(
          fc.subarray(
            fields.map((f) => f.code),
            { minLength: 1 },
          ),
        ),
      }),
      fc.record({
        kind: fc.constant('list' as const),
        limit: fc.integer({ min: 1, max: 50 }),
        ask: fc.option(
          fc.subarray(
            fields.map((f) => f.code),
            { minLength: 1 },
          ),
        ),
      }),
      fc.record({
        kind: fc.constant('query' as const),
        county: fc.boolean(),
        ask: fc.option(
          fc.subarray(
            fields.map((f) => f.code),
            { minLength: 1 },
          ),
        ),
      }),
      fc.record({ kind: fc.constant('export' as const) }),
      fc.record({
        kind: fc.constant('aggregate' as const),
        // mostly dimensions that may be grouped by, sometimes any field (personal ones must be refused)
        groupBy: fc.oneof(
          fc.subarray(
            fields.filter((f) => !isProtected(f.code)).map((f) => f.code),
            { maxLength: 2 },
          ),
          fc.subarray(
            fields.map((f) => f.code),
            { maxLength: 2 },
          ),
        ),
        county: fc.boolean(),
        epsilon: fc.option(fc.constantFrom(0.5, 1, 2)),
      }),
    );

  type Grant = { granted: string[]; clear: string[]; mode: 'rows' | 'aggregate'; canExport: boolean };

  const records = (kind: string, status: number, body: string): Record<string, unknown>[] => {
    if (status !== 200) return [];
    if (kind === 'export')
      return body.trim()
        ? body
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l))
        : [];
    const j = JSON.parse(body);
    if (kind === 'get') return [j.record];
    return j.items ?? [];
  };

  it('(a)–(d): no field outside the grant, no unmasked personal field without the clear-value right, no row to an aggregate-only grant, no cell under k', async () => {
    const headers = () => ({ 'x-api-key': g.apiKey, 'x-purpose': g.purposeId });
    const counties = [...(raw.get('countyCode') ?? [])];
    // coverage: the properties must have been exercised, not vacuously true
    const seen = { rows: 0, cells: 0, aggregateRefused: 0, clearShown: 0 };
    await fc.assert(
      fc.asyncProperty(
        grantArb(),
        fc.array(callArb(), { minLength: 1, maxLength: 4 }),
        async (grant: Grant, calls) => {
          await env.ctx.db
            .updateTable('share_grant')
            .set({
              fields: grant.granted,
              clear_fields: grant.clear,
              access_mode: grant.mode,
              can_export: grant.canExport,
            })
            .where('id', '=', g.grantId)
            .execute();
          for (const c of calls) {
            let res: { statusCode: number; body: string };
            let asked: string[] | null = null;
            if (c.kind === 'get') {
              asked = c.ask;
              res = await env.app.inject({
                url: `${dataPath(POPULATION)}/records/${keys[c.key]}${asked ? `?fields=${asked.join(',')}` : ''}`,
                headers: headers(),
              });
            } else if (c.kind === 'list') {
              asked = c.ask;
              res = await env.app.inject({
                url: `${dataPath(POPULATION)}/records?limit=${c.limit}${asked ? `&fields=${asked.join(',')}` : ''}`,
                headers: headers(),
              });
            } else if (c.kind === 'query') {
              asked = c.ask;
              res = await env.app.inject({
                method: 'POST',
                url: `${dataPath(POPULATION)}/query`,
                headers: headers(),
                payload: {
                  ...(asked ? { fields: asked } : {}),
                  ...(c.county ? { where: { countyCode: { eq: counties[0] } } } : {}),
                  limit: 50,
                },
              });
            } else if (c.kind === 'export') {
              res = await env.app.inject({
                url: `${dataPath(POPULATION)}/export?format=ndjson`,
                headers: headers(),
              });
            } else {
              res = await env.app.inject({
                method: 'POST',
                url: `${dataPath(POPULATION)}/aggregate`,
                headers: headers(),
                payload: {
                  measures: [{ fn: 'count' }],
                  groupBy: c.groupBy,
                  ...(c.county ? { where: { countyCode: { in: counties.slice(0, 2) } } } : {}),
                  ...(c.epsilon ? { noise: { epsilon: c.epsilon } } : {}),
                },
              });
              if (res.statusCode === 200) {
                const body = JSON.parse(res.body);
                seen.cells += body.cells.length;
                for (const cell of body.cells) {
                  // (d) no cell under k
                  expect(cell.values.count).toBeGreaterThanOrEqual(K);
                  // (a) dimensions are granted, (b) never personal
                  for (const d of Object.keys(cell.group)) {
                    expect(grant.granted).toContain(d);
                    expect(isProtected(d)).toBe(false);
                  }
                }
              } else {
                expect([400, 403]).toContain(res.statusCode);
              }
              continue;
            }
            // (c) an aggregate-only grant never receives a row
            if (grant.mode === 'aggregate') {
              expect(res.statusCode, res.body).not.toBe(200);
              seen.aggregateRefused++;
              for (const k of keys.slice(0, 5)) expect(res.body).not.toContain(k);
              continue;
            }
            for (const rec of records(c.kind, res.statusCode, res.body)) {
              seen.rows++;
              for (const [code, v] of Object.entries(rec)) {
                // (a) only granted fields, and only those asked for
                expect(grant.granted).toContain(code);
                if (asked) expect(asked).toContain(code);
                if (v === null || !isProtected(code)) continue;
                const values = raw.get(code)!;
                if (grant.clear.includes(code)) {
                  expect(values.has(String(v)), `${code} in clear`).toBe(true);
                  seen.clearShown++;
                } else if (!keptInClear(code))
                  expect(values.has(String(v)), `${code}=${v} masked`).toBe(false);
              }
            }
          }
        },
      ),
      { numRuns: 40 },
    );
    expect(seen.rows).toBeGreaterThan(0);
    expect(seen.cells).toBeGreaterThan(0);
    expect(seen.aggregateRefused).toBeGreaterThan(0);
    expect(seen.clearShown).toBeGreaterThan(0);
  }, 120_000);
});
