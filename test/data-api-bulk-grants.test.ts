import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type City, openCity } from './conformance/play.js';
import { dataPath } from './helpers.js';

/*
 * Issue 9 point 1, NY task 7: "各部门可采用整体授权或同等代理授权方式简化手续,原则上10个工作日内完成授权,不予授权的应当提供依据".
 * Dates: 2030-03-04 is a Monday; 2030's holidays are not announced, so working days are Monday to Friday (REFERENCE.md):
 * 10 WD after 3/4 is 3/18.
 */
const PURPOSE = '信用联合奖惩业务中查询企业信用信息';

async function call(c: City, key: string, code: string, purpose = PURPOSE) {
  return c.env.app.inject({
    method: 'GET',
    url: `${dataPath(code)}/records?limit=1`,
    headers: { 'x-api-key': key, 'x-purpose': encodeURIComponent(purpose) },
  });
}

async function classOf(c: City, name: string) {
  return c.env.ctx.db
    .selectFrom('catalog_class')
    .select(['id', 'full_code'])
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
}

async function resourceByName(c: City, name: string) {
  return c.env.ctx.db
    .selectFrom('resource')
    .select(['id', 'code', 'provider_org_id'])
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
}

const orgId = async (c: City, code: string) =>
  (await c.env.ctx.db.selectFrom('org').select('id').where('code', '=', code).executeTakeFirstOrThrow()).id;

describe('nanyang-2022: bulk grants (整体授权) and proxy grants (同等代理授权), NY task 7', () => {
  let c: City;
  beforeAll(async () => {
    c = await openCity('nanyang-2022', '2030-03-04');
  }, 900_000);
  afterAll(async () => c?.close());

  let bulkId: number;
  let apiKey: string;
  let appId: number;

  it('NY task 7: a bulk grant over a class is filed once, due in 10 working days; the authority decides it, a refusal needs its basis', async () => {
    const rsj = await c.as('rsj_officer');
    const app = await c.newApp(rsj, '信用联合奖惩系统');
    apiKey = app.apiKey;
    appId = app.id;
    const cls = await classOf(c, '信用监管');
    const filed = await c.call(rsj, 'POST', '/api/sharing/bulk-grants', {
      kind: 'bulkGrant',
      classId: cls.id,
      appId: app.id,
      purpose: PURPOSE,
      validUntil: '2099-12-31',
    });
    expect(filed.statusCode, filed.body).toBe(201);
    expect(filed.json()).toMatchObject({ status: 'pending', dueDate: '2030-03-18', article: 'NY task 7' });
    bulkId = filed.json().id;
    // the consumer cannot decide its own request; a provider cannot decide a class spanning providers
    const self = await c.call(rsj, 'POST', `/api/sharing/bulk-grants/${bulkId}/approve`, {});
    expect(self.statusCode).toBe(403);
    const reviewer = await c.as('reviewer');
    expect((await c.notifications('reviewer')).some((n) => n.kind === 'sharing.bulkFiled')).toBe(true);
    // 不予授权的应当提供依据: a refusal without basis is refused and changes nothing
    const noBasis = await c.call(reviewer, 'POST', `/api/sharing/bulk-grants/${bulkId}/reject`, {
      reason: '暂不授权',
    });
    expect(noBasis.statusCode).toBe(400);
    expect(noBasis.json().code).toBe('LEGAL_BASIS_REQUIRED');
    expect((await c.call(rsj, 'GET', `/api/sharing/bulk-grants/${bulkId}`)).json().status).toBe('pending');
    // before the approval the app reads nothing
    const tax = await resourceByName(c, '纳税信用等级评价结果');
    expect((await call(c, apiKey, tax.code)).json().code).toBe('GRANT_REQUIRED');
  }, 300_000);

  it('NY task 7: approval issues one grant per unconditional resource of the class, from every provider; the data API serves them under the purpose', async () => {
    const reviewer = await c.as('reviewer');
    const ok = await c.call(reviewer, 'POST', `/api/sharing/bulk-grants/${bulkId}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'approved', grantCount: 2 });
    const tax = await resourceByName(c, '纳税信用等级评价结果');
    const penalty = await resourceByName(c, '市场监管行政处罚信息');
    expect(tax.provider_org_id).not.toBe(penalty.provider_org_id);
    for (const r of [tax, penalty]) {
      const res = await call(c, apiKey, r.code);
      expect(res.statusCode, res.body).toBe(200);
    }
    // the purpose is the bulk grant's: another purpose is refused and audited (NY is not purpose-limited by profile,
    // so only the grant's own purpose id names it); the grants carry every field of the resource
    const grants = await c.env.ctx.db
      .selectFrom('share_grant')
      .select(['resource_id', 'fields', 'purpose'])
      .where('bulk_id', '=', bulkId)
      .execute();
    expect(grants.map((g) => g.resource_id).sort()).toEqual([tax.id, penalty.id].sort());
    expect(grants.every((g) => g.purpose === PURPOSE && g.fields.length > 0)).toBe(true);
    // audited: the decision and each grant
    const audit = await c.env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'detail'])
      .where('action', 'in', ['share.bulk.request', 'share.bulk.approve'])
      .execute();
    expect(audit.map((a) => a.action).sort()).toEqual(['share.bulk.approve', 'share.bulk.request']);
    const issued = await c.env.ctx.db
      .selectFrom('audit_log')
      .select('grant_id')
      .where('action', '=', 'share.grant')
      .where('app_id', '=', appId)
      .execute();
    expect(issued).toHaveLength(2);
    // a resource outside the class is not covered
    const permit = await resourceByName(c, '排污许可证信息');
    expect((await call(c, apiKey, permit.code)).json().code).toBe('GRANT_REQUIRED');
  }, 300_000);

  it('NY task 7: a resource published later in the class is covered at its publication', async () => {
    const jtj = await c.as('jtj_officer');
    const rsj = await c.as('rsj_officer');
    const app = await c.newApp(rsj, '交通信用核查');
    const cls = await classOf(c, '临江市交通运输局');
    const filed = await c.call(rsj, 'POST', '/api/sharing/bulk-grants', {
      kind: 'bulkGrant',
      classId: cls.id,
      appId: app.id,
      purpose: PURPOSE,
      validUntil: '2099-12-31',
    });
    const reviewer = await c.as('reviewer');
    const ok = await c.call(reviewer, 'POST', `/api/sharing/bulk-grants/${filed.json().id}/approve`, {});
    expect(ok.json().grantCount).toBe(1);
    const created = await c.call(jtj, 'POST', '/api/catalog/resources', {
      name: '出租汽车驾驶员从业资格信息',
      summary: '出租汽车驾驶员从业资格证核发与注销信息。',
      classification: 'department',
      catalogLevel: 'city',
      shareType: 'unconditional',
      shareMethod: 'api',
      openType: 'closed',
      updateCycle: 'daily',
      submit: true,
      fields: [
        { code: 'certNo', name: '从业资格证号', dataType: 'C', length: 30, isKey: true },
        { code: 'status', name: '证件状态', dataType: 'C', length: 10 },
      ],
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    // not covered before it is published
    const before = await c.env.ctx.db
      .selectFrom('share_grant')
      .select('id')
      .where('resource_id', '=', id)
      .execute();
    expect(before).toHaveLength(0);
    let published = await c.call(reviewer, 'POST', `/api/catalog/resources/${id}/publish`, {});
    if (published.statusCode === 403)
      published = await c.call(await c.as('admin'), 'POST', `/api/catalog/resources/${id}/publish`, {});
    expect(published.statusCode, published.body).toBe(200);
    const after = await c.env.ctx.db
      .selectFrom('share_grant')
      .select(['app_id', 'fields', 'bulk_id', 'status'])
      .where('resource_id', '=', id)
      .execute();
    expect(after).toEqual([
      { app_id: app.id, fields: ['certNo', 'status'], bulk_id: filed.json().id, status: 'active' },
    ]);
    const res = await call(c, app.apiKey, published.json().code);
    expect(res.statusCode, res.body).toBe(200);
  }, 300_000);

  it('NY task 7 同等代理授权: the agent acts for the principal with the same rights, mirrors follow their source and end with it; the provider decides', async () => {
    // the principal (人社局) holds the bulk grant's grant on 纳税信用等级评价结果 from the tax bureau
    const tax = await resourceByName(c, '纳税信用等级评价结果');
    const rsjOrg = await orgId(c, 'LJ-RSJ');
    const ybj = await c.as('ybj_staff');
    const agent = await c.newApp(ybj, '医保待遇信用核查');
    const filed = await c.call(ybj, 'POST', '/api/sharing/bulk-grants', {
      kind: 'proxyGrant',
      principalOrgId: rsjOrg,
      providerOrgId: tax.provider_org_id,
      appId: agent.id,
      purpose: '代人社局开展信用核查',
      validUntil: '2099-12-31',
    });
    expect(filed.statusCode, filed.body).toBe(201);
    expect(filed.json().dueDate).toBe('2030-03-18');
    const id = filed.json().id;
    // the authority does not decide a proxy grant: the provider does
    const reviewer = await c.as('reviewer');
    expect((await c.call(reviewer, 'POST', `/api/sharing/bulk-grants/${id}/approve`, {})).statusCode).toBe(
      403,
    );
    const swj = await c.as('swj_officer');
    const ok = await c.call(swj, 'POST', `/api/sharing/bulk-grants/${id}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().grantCount).toBe(1);
    const source = await c.env.ctx.db
      .selectFrom('share_grant')
      .selectAll()
      .where('resource_id', '=', tax.id)
      .where('consumer_org_id', '=', rsjOrg)
      .where('proxy_of', 'is', null)
      .executeTakeFirstOrThrow();
    // same purpose: the agent names the principal's purpose (its id works too)
    expect((await call(c, agent.apiKey, tax.code)).statusCode).toBe(200);
    const byId = await c.env.app.inject({
      url: `${dataPath(tax.code)}/records?limit=1`,
      headers: { 'x-api-key': agent.apiKey, 'x-purpose': source.purpose_id },
    });
    expect(byId.statusCode).toBe(200);
    // the same rights: the provider narrows the principal's grant, the mirror narrows with it
    const edit = await c.call(swj, 'PATCH' as 'POST', `/api/sharing/grants/${source.id}`, {
      readRecords: false,
      verify: true,
      epsilonPerDay: 2.5,
    });
    expect(edit.statusCode, edit.body).toBe(200);
    expect((await call(c, agent.apiKey, tax.code)).json().code).toBe('READ_NOT_GRANTED');
    // revoking the source ends the mirror on the next call
    await c.call(swj, 'POST', `/api/sharing/grants/${source.id}/revoke`);
    expect((await call(c, agent.apiKey, tax.code)).json().code).toBe('GRANT_REQUIRED');
    const mirror = await c.env.ctx.db
      .selectFrom('share_grant')
      .select(['status', 'can_read', 'can_verify', 'max_epsilon_per_day'])
      .where('proxy_of', '=', source.id)
      .executeTakeFirstOrThrow();
    expect(mirror).toEqual({
      status: 'revoked',
      can_read: false,
      can_verify: true,
      max_epsilon_per_day: 2.5,
    });
  }, 300_000);

  it('NY task 7: revoking a bulk grant ends every grant it issued at once, audited', async () => {
    const reviewer = await c.as('reviewer');
    const penalty = await resourceByName(c, '市场监管行政处罚信息');
    expect((await call(c, apiKey, penalty.code)).statusCode).toBe(200);
    const r = await c.call(reviewer, 'POST', `/api/sharing/bulk-grants/${bulkId}/revoke`);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ status: 'revoked', grantCount: 0 });
    expect((await call(c, apiKey, penalty.code)).json().code).toBe('GRANT_REQUIRED');
    const a = await c.env.ctx.db
      .selectFrom('audit_log')
      .select('detail')
      .where('action', '=', 'share.bulk.revoke')
      .executeTakeFirstOrThrow();
    expect(a.detail).toMatchObject({ grantsRevoked: 1 });
  }, 300_000);
});

describe('profiles without bulk grants refuse them (CASE_NOT_IN_PROFILE), audited', () => {
  for (const profile of ['dongguan-2020']) {
    it(`${profile}: neither a bulk nor a proxy grant is accepted, and the refusal is in the audit log`, async () => {
      const c = await openCity(profile, '2030-03-04');
      try {
        const rsj = await c.as('rsj_officer');
        const app = await c.newApp(rsj, '信用联合奖惩系统');
        const cls = await classOf(c, '信用监管');
        const bulk = await c.call(rsj, 'POST', '/api/sharing/bulk-grants', {
          kind: 'bulkGrant',
          classId: cls.id,
          appId: app.id,
          purpose: PURPOSE,
          validUntil: '2099-12-31',
        });
        expect(bulk.statusCode).toBe(409);
        expect(bulk.json().code).toBe('CASE_NOT_IN_PROFILE');
        const proxy = await c.call(rsj, 'POST', '/api/sharing/bulk-grants', {
          kind: 'proxyGrant',
          principalOrgId: await orgId(c, 'LJ-MZJ'),
          providerOrgId: await orgId(c, 'LJ-SWJ'),
          appId: app.id,
          purpose: PURPOSE,
          validUntil: '2099-12-31',
        });
        expect(proxy.json().code).toBe('CASE_NOT_IN_PROFILE');
        const list = (await c.call(rsj, 'GET', '/api/sharing/bulk-grants')).json();
        expect(list).toEqual({ kinds: [], article: null, items: [] });
        expect(await c.env.ctx.db.selectFrom('share_bulk_grant').select('id').execute()).toEqual([]);
        const refused = await c.env.ctx.db
          .selectFrom('audit_log')
          .select(['decision', 'detail'])
          .where('action', '=', 'http.refused')
          .execute();
        expect(
          refused.some(
            (r) => r.decision === 'deny' && JSON.stringify(r.detail).includes('CASE_NOT_IN_PROFILE'),
          ),
        ).toBe(true);
      } finally {
        await c.close();
      }
    }, 900_000);
  }
});
