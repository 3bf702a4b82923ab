import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addWorkdays, shanghaiDate } from '../src/calendar/model.js';
import { createTestEnv, login, type TestEnv } from './helpers.js';

type Inject = TestEnv['app']['inject'];

async function resourceByCode(inject: Inject, cookie: string, code: string) {
  const list = await inject({
    url: `/api/catalog/resources?q=${encodeURIComponent(code)}`,
    headers: { cookie },
  });
  return list.json().items.find((r: { code: string }) => r.code === code);
}

async function newApp(inject: Inject, cookie: string, name: string) {
  const res = await inject({ method: 'POST', url: '/api/apps', headers: { cookie }, payload: { name } });
  return res.json() as { app: { id: number }; apiKey: string };
}

async function request(inject: Inject, cookie: string, resourceId: number, appId: number, fields: string[]) {
  return inject({
    method: 'POST',
    url: '/api/sharing/requests',
    headers: { cookie },
    payload: {
      resourceId,
      appId,
      fields,
      purpose: '办理业务时核验当事人信息',
      scope: '本部门业务办理',
      validUntil: '2099-12-31',
    },
  });
}

describe('xingtai-2024 profile', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ profile: 'xingtai-2024' });
  });
  afterAll(async () => env?.close());

  it('XT Art 24: authority review (3 WD) → provider reply (5 WD) → authority delivery (3 WD), each deadline from the calendar', async () => {
    const consumer = await login(env.app, 'rsj_officer');
    const provider = await login(env.app, 'gaj_officer');
    const reviewer = await login(env.app, 'reviewer');
    const population = await resourceByCode(env.app.inject.bind(env.app), consumer, '446000-GAJ-001');
    const { app } = await newApp(env.app.inject.bind(env.app), consumer, '社保待遇资格认证系统');
    const res = await request(env.app.inject.bind(env.app), consumer, population.id, app.id, [
      'idNumber',
      'name',
    ]);
    expect(res.statusCode).toBe(201);
    const r = res.json();
    expect(
      r.steps.map((s: { key: string; actor: string; deadline: { amount: number } }) => [
        s.key,
        s.actor,
        s.deadline.amount,
      ]),
    ).toEqual([
      ['authorityReview', 'authority', 3],
      ['providerReview', 'provider', 5],
      ['authorityDelivery', 'authority', 3],
    ]);
    const today = shanghaiDate(new Date());
    expect(r.dueDate).toBe(addWorkdays(env.ctx.calendar, today, 3));

    // the provider may not act before the authority has reviewed
    const early = await env.app.inject({
      method: 'POST',
      url: `/api/sharing/requests/${r.id}/approve`,
      headers: { cookie: provider },
      payload: {},
    });
    expect(early.statusCode).toBe(403);

    const incoming = await env.app.inject({
      url: '/api/sharing/requests?box=incoming',
      headers: { cookie: reviewer },
    });
    expect(incoming.json().items.some((x: { id: number }) => x.id === r.id)).toBe(true);
    const s1 = (
      await env.app.inject({
        method: 'POST',
        url: `/api/sharing/requests/${r.id}/approve`,
        headers: { cookie: reviewer },
        payload: {},
      })
    ).json();
    expect(s1.currentStep).toBe(1);
    expect(s1.dueDate).toBe(addWorkdays(env.ctx.calendar, today, 5));
    const s2 = (
      await env.app.inject({
        method: 'POST',
        url: `/api/sharing/requests/${r.id}/approve`,
        headers: { cookie: provider },
        payload: {},
      })
    ).json();
    expect(s2.currentStep).toBe(2);
    expect(s2.status).toBe('pending');
    const s3 = (
      await env.app.inject({
        method: 'POST',
        url: `/api/sharing/requests/${r.id}/approve`,
        headers: { cookie: reviewer },
        payload: {},
      })
    ).json();
    expect(s3.status).toBe('approved');
    expect(s3.grantId).toBeGreaterThan(0);
    expect(s3.steps.every((s: { decision: string }) => s.decision === 'approved')).toBe(true);
  });

  it('XT Art 24: unconditional data is supplied through one authority step of 3 WD', async () => {
    const consumer = await login(env.app, 'mzj_officer');
    const entities = await resourceByCode(env.app.inject.bind(env.app), consumer, '446000-SCJGJ-001');
    expect(entities.shareType).toBe('unconditional');
    const { app } = await newApp(env.app.inject.bind(env.app), consumer, '社会组织登记核验');
    const r = (
      await request(env.app.inject.bind(env.app), consumer, entities.id, app.id, ['creditCode'])
    ).json();
    expect(r.steps).toHaveLength(1);
    expect(r.steps[0]).toMatchObject({ actor: 'authority', deadline: { amount: 3, unit: 'WD' } });
  });
});

describe('dongguan-2020 profile', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ profile: 'dongguan-2020' });
  });
  afterAll(async () => env?.close());

  it('DG Art 24: a refusal without legal basis is refused; with one it is recorded and no grant exists', async () => {
    const consumer = await login(env.app, 'jyj_officer');
    const provider = await login(env.app, 'gaj_officer');
    const population = await resourceByCode(env.app.inject.bind(env.app), consumer, '446000-GAJ-001');
    const { app } = await newApp(env.app.inject.bind(env.app), consumer, '学籍核验系统');
    const r = (
      await request(env.app.inject.bind(env.app), consumer, population.id, app.id, ['idNumber'])
    ).json();
    const noBasis = await env.app.inject({
      method: 'POST',
      url: `/api/sharing/requests/${r.id}/reject`,
      headers: { cookie: provider },
      payload: { reason: '用途不明确' },
    });
    expect(noBasis.statusCode).toBe(400);
    expect(noBasis.json()).toMatchObject({ code: 'LEGAL_BASIS_REQUIRED' });
    expect(noBasis.json().details).toContainEqual(expect.objectContaining({ field: 'legalBasis' }));
    const ok = await env.app.inject({
      method: 'POST',
      url: `/api/sharing/requests/${r.id}/reject`,
      headers: { cookie: provider },
      payload: { reason: '申请用途超出履职范围', legalBasis: '《中华人民共和国个人信息保护法》第三十四条' },
    });
    expect(ok.json()).toMatchObject({ status: 'rejected', grantId: null });
    expect(ok.json().steps[0].comment).toContain('个人信息保护法');
  });

  it('DG Art 20 + GD Art 19: a conditional request waits 10 WD on the provider; unconditional data is granted at once', async () => {
    const consumer = await login(env.app, 'wjj_officer');
    const { app } = await newApp(env.app.inject.bind(env.app), consumer, '医疗机构监管系统');
    const entities = await resourceByCode(env.app.inject.bind(env.app), consumer, '446000-SCJGJ-001');
    const r = (
      await request(env.app.inject.bind(env.app), consumer, entities.id, app.id, ['creditCode'])
    ).json();
    expect(r).toMatchObject({ status: 'approved', steps: [] });
    expect(r.grantId).toBeGreaterThan(0);
  });

  it('DG Art 19: a not-shared resource takes no share requests', async () => {
    const consumer = await login(env.app, 'rsj_officer');
    const list = (
      await env.app.inject({ url: '/api/catalog/resources?shareType=none', headers: { cookie: consumer } })
    ).json();
    expect(list.items.length).toBeGreaterThan(0);
    const none = list.items[0];
    const { app } = await newApp(env.app.inject.bind(env.app), consumer, '统计分析系统');
    const res = await request(env.app.inject.bind(env.app), consumer, none.id, app.id, ['creditCode']);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('NOT_SHAREABLE');
  });

  it('DG Art 11: section-level entries are visible only inside the providing department', async () => {
    const reviewer = await login(env.app, 'reviewer');
    const all = (
      await env.app.inject({ url: '/api/catalog/resources?pageSize=200', headers: { cookie: reviewer } })
    ).json();
    const sectionLevel = all.items.find((r: { catalogLevel: string }) => r.catalogLevel === 'section');
    expect(sectionLevel).toBeTruthy();
    const outsider = await login(
      env.app,
      sectionLevel.provider.name.includes('人力资源') ? 'scj_officer' : 'rsj_officer',
    );
    const seen = (
      await env.app.inject({ url: '/api/catalog/resources?pageSize=200', headers: { cookie: outsider } })
    ).json();
    expect(seen.items.some((r: { id: number }) => r.id === sectionLevel.id)).toBe(false);
    expect(seen.total).toBe(
      all.total -
        all.items.filter(
          (r: { catalogLevel: string; provider: { id: number } }) => r.catalogLevel === 'section',
        ).length,
    );
    const direct = await env.app.inject({
      url: `/api/catalog/resources/${sectionLevel.id}`,
      headers: { cookie: outsider },
    });
    expect(direct.statusCode).toBe(404);
  });

  it('roles: an auditor cannot register resources; consumer staff cannot approve; anonymous calls get 401', async () => {
    const auditor = await login(env.app, 'auditor');
    const reg = await env.app.inject({
      method: 'POST',
      url: '/api/catalog/resources',
      headers: { cookie: auditor },
      payload: { name: 'x' },
    });
    expect([400, 403]).toContain(reg.statusCode);
    const staff = await login(env.app, 'gaj_staff');
    const pending = (
      await env.app.inject({
        url: '/api/sharing/requests?box=incoming&status=pending',
        headers: { cookie: staff },
      })
    ).json();
    expect(pending.items.length).toBeGreaterThan(0);
    expect(pending.items.every((x: { canDecide: boolean }) => x.canDecide === false)).toBe(true);
    const res = await env.app.inject({
      method: 'POST',
      url: `/api/sharing/requests/${pending.items[0].id}/approve`,
      headers: { cookie: staff },
      payload: {},
    });
    expect(res.statusCode).toBe(403);
    const anon = await env.app.inject({ url: '/api/catalog/resources' });
    expect(anon.statusCode).toBe(401);
    expect(anon.json()).toMatchObject({
      code: 'UNAUTHENTICATED',
      messageEn: expect.any(String),
      details: [],
    });
  });
});
