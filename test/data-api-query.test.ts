import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { columnName } from '../src/catalog/model.js';
import { codeOf, createTestEnv, dataPath, grantedApp, type TestEnv } from './helpers.js';

/*
 * Issue 9 point 3: a filtered query over granted fields (eq, in, range, prefix), parameterised, only on fields that are
 * granted and not masked for this consumer (a filter on a masked field would reveal it by guessing), paged by an
 * opaque cursor; bad filters are coded 400s naming the field at fault.
 */
describe('data API: filtered query', () => {
  let env: TestEnv;
  let POPULATION = '';
  let g: Awaited<ReturnType<typeof grantedApp>>;
  let table = '';
  let col: Record<string, string> = {};

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 400, entityRows: 20 } });
    POPULATION = await codeOf(env, '人口基础信息');
    const r = await env.ctx.db
      .selectFrom('resource')
      .select(['id', 'data_table'])
      .where('code', '=', POPULATION)
      .executeTakeFirstOrThrow();
    table = r.data_table!;
    const fields = await env.ctx.db
      .selectFrom('resource_field')
      .select(['code', 'ordinal'])
      .where('resource_id', '=', r.id)
      .execute();
    col = Object.fromEntries(fields.map((f) => [f.code, columnName(f.ordinal)]));
    g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber', 'name', 'countyCode', 'registeredOn'],
      appName: '条件查询测试',
    });
  });
  afterAll(async () => env?.close());

  const query = (payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
    env.app.inject({
      method: 'POST',
      url: `${dataPath(POPULATION)}/query`,
      headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId, ...headers },
      payload,
    });
  const count = async (where: string, params: unknown[]) =>
    (
      await env.ctx.database.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} WHERE ${where}`,
        params,
      )
    ).rows[0].n;

  it('eq, in, range and prefix return exactly the matching rows, masked, paged by an opaque cursor', async () => {
    const { rows } = await env.ctx.database.query<{ c: string }>(
      `SELECT ${col.countyCode} AS c FROM ${table} GROUP BY 1 ORDER BY count(*) DESC LIMIT 2`,
      [],
    );
    const [c1, c2] = rows.map((r) => r.c);
    const where = {
      countyCode: { in: [c1, c2] },
      registeredOn: { gte: '1990-01-01', lt: '2030-01-01' },
    };
    const expected = await count(
      `${col.countyCode} IN ($1, $2) AND ${col.registeredOn} >= '1990-01-01' AND ${col.registeredOn} < '2030-01-01'`,
      [c1, c2],
    );
    expect(expected).toBeGreaterThan(10);
    const seen: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    for (let guard = 0; guard < 100; guard++) {
      const res = await query({ where, limit: 7, ...(cursor ? { cursor } : {}) });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      seen.push(...body.items);
      cursor = body.cursor;
      if (!cursor) break;
      expect(cursor).not.toMatch(/^\d+$/); // opaque
    }
    expect(seen).toHaveLength(expected);
    for (const r of seen) {
      expect([c1, c2]).toContain(r.countyCode);
      expect(String(r.idNumber)).toContain('*');
    }

    const eq = await query({ where: { countyCode: { eq: c1 } }, fields: ['countyCode'], limit: 1000 });
    expect(eq.json().items).toHaveLength(await count(`${col.countyCode} = $1`, [c1]));
    expect(Object.keys(eq.json().items[0])).toEqual(['countyCode']);
    const prefix = c1.slice(0, 4);
    const pre = await query({ where: { countyCode: { prefix } }, limit: 1000 });
    expect(pre.json().items).toHaveLength(await count(`starts_with(${col.countyCode}, $1)`, [prefix]));
    // a LIKE wildcard in a prefix is a plain character
    const wild = await query({ where: { countyCode: { prefix: '%' } } });
    expect(wild.json().items).toHaveLength(0);
  });

  it('a filter cannot probe a masked field: FILTER_FIELD_MASKED 400; a field outside the grant: FIELD_NOT_GRANTED 403', async () => {
    const masked = await query({ where: { name: { prefix: '张' } } });
    expect(masked.statusCode).toBe(400);
    expect(masked.json()).toMatchObject({ code: 'FILTER_FIELD_MASKED', details: [{ field: 'where.name' }] });
    const id = await query({ where: { idNumber: { eq: '440103199003071234' } } });
    expect(id.json().code).toBe('FILTER_FIELD_MASKED');
    const outside = await query({ where: { townCode: { eq: '440100001' } } });
    expect(outside.statusCode).toBe(403);
    expect(outside.json()).toMatchObject({
      code: 'FIELD_NOT_GRANTED',
      details: [{ field: 'where.townCode' }],
    });
    const deny = await env.ctx.db
      .selectFrom('audit_log')
      .select(['decision', 'detail', 'rows_returned'])
      .where('app_id', '=', g.appId)
      .where('action', '=', 'data.query')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(deny).toMatchObject({
      decision: 'deny',
      rows_returned: null,
      detail: { reason: 'FILTER_NOT_GRANTED', filterFields: ['townCode'] },
    });
  });

  it('bad filters are coded 400s naming the field at fault; nothing reaches SQL as text', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ registeredOn: { gte: 'yesterday' } }, 'FILTER_INVALID', 'where.registeredOn'],
      [{ registeredOn: { prefix: '2020' } }, 'FILTER_INVALID', 'where.registeredOn'],
      [{ nosuch: { eq: 'x' } }, 'FILTER_INVALID', 'where.nosuch'],
      [{ countyCode: { eq: "1' OR '1'='1" } }, 'OK', ''],
    ];
    for (const [where, code, field] of cases) {
      const res = await query({ where });
      if (code === 'OK') {
        expect(res.statusCode).toBe(200);
        expect(res.json().items).toHaveLength(0);
        continue;
      }
      expect(res.statusCode, JSON.stringify(where)).toBe(400);
      expect(res.json().code).toBe(code);
      expect(res.json().details[0].field).toBe(field);
    }
    const op = await query({ where: { countyCode: { like: '%' } } });
    expect(op.statusCode).toBe(400);
    const cursor = await query({ where: {}, cursor: 'not-a-cursor' });
    expect(cursor.statusCode).toBe(400);
    expect(cursor.json().details[0].field).toBe('cursor');
  });

  it('the purpose check applies to queries too', async () => {
    const res = await query({ where: {} }, { 'x-purpose': encodeURIComponent('别的用途') });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('PURPOSE_MISMATCH');
  });
});
