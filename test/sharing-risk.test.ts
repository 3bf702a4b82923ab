import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearRows, codeOf, createTestEnv, dataPath, login, type TestEnv } from './helpers.js';

/*
 * Risk assessment before important data is shared (issue 10 point 10: DG Art 19 — 政务部门在共享应用…重要数据前，应当评估
 * 数据泄露可能带来的安全风险; XT Art 31, SY Art 42, NY task 11). The profile says whether it applies and which article is
 * cited; the grant of an approved request for an important/core resource stays inactive, and the data API refuses its
 * calls, until an assessment passes.
 */

async function requestAndApprove(env: TestEnv, resourceName: string, appName: string, fields: string[]) {
  const consumer = await login(env.app, 'rsj_officer');
  const deciders = [
    await login(env.app, 'gaj_officer'),
    await login(env.app, 'scj_officer'),
    await login(env.app, 'reviewer'),
  ];
  const created = await env.app.inject({
    method: 'POST',
    url: '/api/apps',
    headers: { cookie: consumer },
    payload: { name: appName },
  });
  const { app: a, apiKey } = created.json() as { app: { id: number }; apiKey: string };
  const resource = await env.ctx.db
    .selectFrom('resource')
    .select(['id', 'code', 'data_table'])
    .where('name', '=', resourceName)
    .executeTakeFirstOrThrow();
  const res = await env.app.inject({
    method: 'POST',
    url: '/api/sharing/requests',
    headers: { cookie: consumer },
    payload: {
      resourceId: resource.id,
      appId: a.id,
      fields,
      purpose: '办理业务时核验当事人身份',
      scope: '本部门行政审批业务办理',
      validUntil: '2099-12-31',
    },
  });
  expect(res.statusCode).toBe(201);
  let request = res.json();
  for (let guard = 0; request.status === 'pending' && guard < 10; guard++)
    for (const cookie of deciders) {
      const r = await env.app.inject({
        method: 'POST',
        url: `/api/sharing/requests/${request.id}/approve`,
        headers: { cookie },
        payload: {},
      });
      if (r.statusCode === 200) {
        request = r.json();
        break;
      }
    }
  expect(request.status).toBe('approved');
  const grants = (await env.app.inject({ url: '/api/sharing/grants', headers: { cookie: consumer } })).json();
  let grant = grants.find((g: { id: number }) => g.id === request.grantId);
  // DG Art 18 (test/sharing-more.test.ts): the consumer accepts the provide-and-use agreement, so only the risk
  // assessment decides here
  if (grant?.agreement)
    grant = (
      await env.app.inject({
        method: 'POST',
        url: `/api/sharing/grants/${grant.id}/agreement`,
        headers: { cookie: consumer },
      })
    ).json();
  // the clear record key (an encrypted key field's `_key` is its keyed hash)
  const rows = (await clearRows(env, resource.data_table!, { limit: 1 })).map((r) => ({ k: r.key }));
  const call = () =>
    env.app.inject({
      url: `${dataPath(resource.code)}/records/${rows[0].k}`,
      headers: { 'x-api-key': apiKey, 'x-purpose': grant.purposeId },
    });
  return { requestId: request.id as number, grant, appId: a.id, call, consumer };
}

describe('risk assessment before sharing important data (DG Art 19)', () => {
  let env: TestEnv;
  let provider: string;
  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 50, entityRows: 20 } });
    provider = await login(env.app, 'gaj_officer');
  });
  afterAll(async () => env?.close());

  const record = (requestId: number, cookie: string, body: Record<string, unknown>) =>
    env.app.inject({
      method: 'POST',
      url: `/api/sharing/requests/${requestId}/risk-assessments`,
      headers: { cookie },
      payload: body,
    });

  it('DG Art 19: an approved request for an important resource leaves its grant inactive; the data API refuses RISK_ASSESSMENT_REQUIRED until an assessment passes', async () => {
    const r = await requestAndApprove(env, '人口基础信息', '社保待遇资格认证', ['idNumber', 'name']);
    expect(r.grant.status).toBe('riskPending');
    const state = (
      await env.app.inject({
        url: `/api/sharing/requests/${r.requestId}/risk-assessments`,
        headers: { cookie: provider },
      })
    ).json();
    expect(state).toMatchObject({
      required: true,
      article: 'DG Art 19',
      passed: false,
      grantStatus: 'riskPending',
      canRecord: true,
    });
    expect(['important', 'core']).toContain(state.level);

    const refused = await r.call();
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('RISK_ASSESSMENT_REQUIRED');
    const deny = await env.ctx.db
      .selectFrom('audit_log')
      .select(['decision', 'detail'])
      .where('app_id', '=', r.appId)
      .where('action', '=', 'data.get')
      .execute();
    expect(deny).toHaveLength(1);
    expect(deny[0]).toMatchObject({ decision: 'deny', detail: { reason: 'RISK_ASSESSMENT_REQUIRED' } });

    // the consumer cannot record it; a conditional pass states its measures; a failed assessment keeps the grant inactive
    expect(
      (
        await record(r.requestId, r.consumer, {
          assessor: '人社局',
          assessedOn: '2026-01-05',
          conclusion: 'pass',
          measures: '',
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await record(r.requestId, provider, {
          assessor: '公安局网安支队',
          assessedOn: '2026-01-05',
          conclusion: 'conditional',
          measures: '',
        })
      ).statusCode,
    ).toBe(400);
    expect(
      (
        await record(r.requestId, provider, {
          assessor: '公安局网安支队',
          assessedOn: '2999-01-05',
          conclusion: 'pass',
          measures: '',
        })
      ).statusCode,
    ).toBe(400);
    const failed = await record(r.requestId, provider, {
      assessor: '公安局网安支队',
      assessedOn: '2026-01-05',
      conclusion: 'fail',
      measures: '访问控制不足',
    });
    expect(failed.statusCode).toBe(200);
    expect(failed.json()).toMatchObject({ passed: false, grantStatus: 'riskPending' });
    expect((await r.call()).json().code).toBe('RISK_ASSESSMENT_REQUIRED');

    const ok = await record(r.requestId, provider, {
      assessor: '公安局网安支队',
      assessedOn: '2026-01-06',
      conclusion: 'conditional',
      measures: '仅限内网调用，身份证号脱敏展示，按月复核调用日志',
      attachmentName: '共享风险评估报告.pdf',
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ passed: true, grantStatus: 'active' });
    expect(ok.json().items).toHaveLength(2);
    expect(ok.json().items[0]).toMatchObject({
      conclusion: 'conditional',
      attachmentName: '共享风险评估报告.pdf',
      article: 'DG Art 19',
    });
    expect((await r.call()).statusCode).toBe(200);

    const audit = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision'])
      .where('app_id', '=', r.appId)
      .where('action', 'like', 'share.%')
      .orderBy('id')
      .execute();
    expect(audit.filter((a) => a.action === 'share.riskAssessed').map((a) => a.decision)).toEqual([
      'deny',
      'allow',
    ]);
    expect(audit.filter((a) => a.action === 'share.grantActivated')).toHaveLength(1);
  });

  it('a general resource is shared without an assessment, and none can be recorded for it', async () => {
    const r = await requestAndApprove(env, '法人单位基础信息', '企业登记核对', ['creditCode', 'entityName']);
    expect(r.grant.status).toBe('active');
    expect((await r.call()).statusCode).toBe(200);
    const scj = await login(env.app, 'scj_officer');
    expect(
      (
        await env.app.inject({
          url: `/api/sharing/requests/${r.requestId}/risk-assessments`,
          headers: { cookie: scj },
        })
      ).json(),
    ).toMatchObject({ required: false });
    expect(
      (
        await record(r.requestId, scj, {
          assessor: '市场监管局',
          assessedOn: '2026-01-05',
          conclusion: 'pass',
          measures: '',
        })
      ).statusCode,
    ).toBe(409);
  });
});

describe('risk assessment where the regulation asks for none (GD 2018)', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 50, entityRows: 20 }, profile: 'guangdong-2018' });
  });
  afterAll(async () => env?.close());

  it('the same important resource is active once approved', async () => {
    await codeOf(env, '人口基础信息');
    const r = await requestAndApprove(env, '人口基础信息', '社保待遇资格认证', ['idNumber', 'name']);
    expect(r.grant.status).toBe('active');
    expect((await r.call()).statusCode).toBe(200);
  });
});
