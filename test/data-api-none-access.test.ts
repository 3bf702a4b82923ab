import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type City, openCity } from './conformance/play.js';
import { dataPath, passRiskAssessment } from './helpers.js';

/*
 * Issue 9 point 4: a not-shared resource reached only as the profile allows.
 *   DG Art 19 (sharing.noneOffersVerification): verification, when the provider enables it, with its own grant, quota and
 *   audit, and no data returned.
 *   XT Art 23.6 (sharing.deidentifiedMayBeShared): de-identified output only, i.e. aggregates with small cells suppressed.
 * The demo's 第五次全国经济普查单位资料 (市统计局) is not shared, on the negative list, keyed by credit code.
 */
const CENSUS = '第五次全国经济普查单位资料';
const PURPOSE = '核验企业是否为经济普查调查对象';

async function census(c: City) {
  const r = await c.env.ctx.db
    .selectFrom('resource')
    .select(['id', 'code', 'data_table'])
    .where('name', '=', CENSUS)
    .executeTakeFirstOrThrow();
  const f = await c.env.ctx.db
    .selectFrom('resource_field')
    .select(['code', 'ordinal'])
    .where('resource_id', '=', r.id)
    .where('code', '=', 'entityName')
    .executeTakeFirstOrThrow();
  const rows = (
    await c.env.ctx.database.query<{ k: string; n: string }>(
      `SELECT _key AS k, c${f.ordinal} AS n FROM ${r.data_table} ORDER BY _seq LIMIT 2`,
      [],
    )
  ).rows;
  return { ...r, rows };
}

async function requestCensus(c: City, access: string | undefined, appName: string) {
  const rsj = await c.as('rsj_officer');
  const r = await census(c);
  const app = await c.newApp(rsj, appName);
  const res = await c.call(rsj, 'POST', '/api/sharing/requests', {
    resourceId: r.id,
    appId: app.id,
    fields: ['creditCode', 'entityName', 'industrySection'],
    purpose: PURPOSE,
    scope: '本部门社会保险登记业务',
    validUntil: '2099-12-31',
    ...(access ? { access } : {}),
  });
  return { res, app };
}

async function approveAll(c: City, requestId: number, quota: Record<string, unknown>) {
  const deciders = [await c.as('tjj_officer'), await c.as('reviewer')];
  let body = (await c.call(deciders[0], 'GET', `/api/sharing/requests/${requestId}`)).json();
  for (let guard = 0; body.status === 'pending' && guard < 6; guard++)
    for (const d of deciders) {
      const r = await c.call(d, 'POST', `/api/sharing/requests/${requestId}/approve`, { quota });
      if (r.statusCode === 200) {
        body = r.json();
        break;
      }
    }
  expect(body.status).toBe('approved');
  await passRiskAssessment(c.env.app, requestId, deciders[0]);
  return body.grantId as number;
}

describe('dongguan-2020: verification on not-shared data (DG Art 19)', () => {
  let c: City;
  beforeAll(async () => {
    c = await openCity('dongguan-2020', '2030-03-04');
  }, 900_000);
  afterAll(async () => c?.close());

  it('DG Art 19: not-shared data is refused unless the provider enables verification; only the provider switches it, audited', async () => {
    const plain = await requestCensus(c, undefined, '普查对象查询');
    expect(plain.res.statusCode).toBe(403);
    expect(plain.res.json().code).toBe('NOT_SHAREABLE');
    const early = await requestCensus(c, 'verify', '普查对象核验');
    expect(early.res.json().code).toBe('NOT_SHAREABLE');
    expect(early.res.json().details[0].field).toBe('access');
    // de-identified aggregates are not Dongguan's rule (XT Art 23.6, SY Art 26)
    expect((await requestCensus(c, 'aggregate', '普查统计')).res.json().code).toBe('NOT_SHAREABLE');
    const r = await census(c);
    const rsj = await c.as('rsj_officer');
    const foreign = await c.env.app.inject({
      method: 'PUT',
      url: `/api/catalog/resources/${r.id}/verification`,
      headers: { cookie: rsj },
      payload: { enabled: true },
    });
    expect(foreign.statusCode).toBe(403);
    const on = await c.env.app.inject({
      method: 'PUT',
      url: `/api/catalog/resources/${r.id}/verification`,
      headers: { cookie: await c.as('tjj_officer') },
      payload: { enabled: true },
    });
    expect(on.statusCode, on.body).toBe(200);
    expect(on.json()).toMatchObject({ verificationEnabled: true, article: 'DG Art 19' });
    const a = await c.env.ctx.db
      .selectFrom('audit_log')
      .select('detail')
      .where('action', '=', 'catalog.verification')
      .executeTakeFirstOrThrow();
    expect(a.detail).toMatchObject({ enabled: true });
  }, 300_000);

  it('DG Art 19: a verification request runs the provider step; its grant verifies (match / no match, no value), has its own quota, and cannot read or gain rights', async () => {
    const { res, app } = await requestCensus(c, 'verify', '普查对象核验');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().status).toBe('pending');
    // the approver asks for reading and export: the lock wins
    const grantId = await approveAll(c, res.json().id, {
      readRecords: true,
      export: true,
      verificationsPerDay: 2,
    });
    const g = await c.env.ctx.db
      .selectFrom('share_grant')
      .select(['can_read', 'can_verify', 'can_export', 'access_only', 'purpose_id', 'max_verify_per_day'])
      .where('id', '=', grantId)
      .executeTakeFirstOrThrow();
    expect(g).toMatchObject({
      can_read: false,
      can_verify: true,
      can_export: false,
      access_only: 'verify',
      max_verify_per_day: 2,
    });
    const r = await census(c);
    const headers = { 'x-api-key': app.apiKey, 'x-purpose': g.purpose_id };
    const verify = (payload: unknown) =>
      c.env.app.inject({
        method: 'POST',
        url: `${dataPath(r.code)}/verify`,
        headers,
        payload: payload as object,
      });
    const [row] = r.rows;
    const yes = await verify({ key: row.k, match: { entityName: row.n } });
    expect(yes.statusCode, yes.body).toBe(200);
    expect(yes.json().match).toBe(true);
    expect(yes.body).not.toContain(row.n);
    const no = await verify({ key: row.k, match: { entityName: `${row.n}甲` } });
    expect(no.json().match).toBe(false);
    // its own quota: 2 a day
    const over = await verify({ key: row.k, match: { entityName: row.n } });
    expect(over.statusCode).toBe(429);
    expect(over.json().code).toBe('QUOTA_EXCEEDED');
    // no record leaves
    const read = await c.env.app.inject({ url: `${dataPath(r.code)}/records/${row.k}`, headers });
    expect(read.json().code).toBe('READ_NOT_GRANTED');
    const audit = await c.env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision', 'rows_returned'])
      .where('grant_id', '=', grantId)
      .where('action', 'like', 'data.%')
      .orderBy('id')
      .execute();
    expect(audit.slice(0, 2)).toEqual([
      { action: 'data.verify', decision: 'allow', rows_returned: 0 },
      { action: 'data.verify', decision: 'allow', rows_returned: 0 },
    ]);
    // the provider may change the quota, not widen the access
    const tjj = await c.as('tjj_officer');
    for (const patch of [
      { readRecords: true },
      { export: true },
      { accessMode: 'aggregate' },
      { feed: true },
    ]) {
      const p = await c.env.app.inject({
        method: 'PATCH',
        url: `/api/sharing/grants/${grantId}`,
        headers: { cookie: tjj },
        payload: patch,
      });
      expect(p.statusCode, JSON.stringify(patch)).toBe(409);
      expect(p.json().details[0].field).toBe(Object.keys(patch)[0]);
    }
    const ok = await c.env.app.inject({
      method: 'PATCH',
      url: `/api/sharing/grants/${grantId}`,
      headers: { cookie: tjj },
      payload: { verificationsPerDay: 10 },
    });
    expect(ok.statusCode, ok.body).toBe(200);
  }, 300_000);
});

describe('xingtai-2024: not-shared data after de-identification, as aggregates only (XT Art 23.6)', () => {
  let c: City;
  beforeAll(async () => {
    c = await openCity('xingtai-2024', '2030-03-04');
  }, 900_000);
  afterAll(async () => c?.close());

  it('XT Art 23.6: an aggregate-only request on not-shared data is accepted; its grant never returns a row; verification is not offered', async () => {
    expect((await requestCensus(c, 'verify', '普查对象核验')).res.json().code).toBe('NOT_SHAREABLE');
    const { res, app } = await requestCensus(c, 'aggregate', '普查统计分析');
    expect(res.statusCode, res.body).toBe(201);
    const grantId = await approveAll(c, res.json().id, { readRecords: true });
    const g = await c.env.ctx.db
      .selectFrom('share_grant')
      .select(['access_mode', 'access_only', 'purpose_id'])
      .where('id', '=', grantId)
      .executeTakeFirstOrThrow();
    expect(g).toMatchObject({ access_mode: 'aggregate', access_only: 'aggregate' });
    const r = await census(c);
    const headers = { 'x-api-key': app.apiKey, 'x-purpose': g.purpose_id };
    const list = await c.env.app.inject({ url: `${dataPath(r.code)}/records?limit=5`, headers });
    expect(list.json().code).toBe('AGGREGATE_ONLY');
    const agg = await c.env.app.inject({
      method: 'POST',
      url: `${dataPath(r.code)}/aggregate`,
      headers,
      payload: { measures: [{ fn: 'count' }], groupBy: ['industrySection'] },
    });
    expect(agg.statusCode, agg.body).toBe(200);
    expect(agg.body).not.toContain(r.rows[0].k);
    const back = await c.env.app.inject({
      method: 'PATCH',
      url: `/api/sharing/grants/${grantId}`,
      headers: { cookie: await c.as('tjj_officer') },
      payload: { accessMode: 'rows' },
    });
    expect(back.statusCode).toBe(409);
  }, 300_000);
});
