import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILES } from '../src/profiles/index.js';
import { keyedHash } from '../src/shared/secrets.js';
import { createTestEnv, dataPath, login, passRiskAssessment, type TestEnv, testIdNumber } from './helpers.js';

const idNumber = testIdNumber;

const NEW_RESOURCE = {
  name: '流动人口居住登记',
  summary: '流动人口居住登记信息，供就业、社保、教育等部门核验居住情况。',
  classification: 'department',
  topic: '人口',
  catalogLevel: 'city',
  shareType: 'conditional',
  shareConditions: '仅限政务部门履行法定职责使用',
  legalBasis: '《居住证暂行条例》第十二条',
  legalBasisKind: 'adminRegulation',
  shareMethod: 'api',
  openType: 'closed',
  updateCycle: 'daily',
  securityLevel: 'important',
  fields: [
    {
      code: 'idNumber',
      name: '身份证号',
      type: 'string',
      isKey: true,
      personal: true,
      masking: 'idNumber',
      validator: 'idNumber',
      securityLevel: 'important',
    },
    { code: 'name', name: '姓名', type: 'string', personal: true, masking: 'name', required: true },
    {
      code: 'phone',
      name: '联系电话',
      type: 'string',
      personal: true,
      masking: 'phone',
      validator: 'mobilePhone',
    },
    { code: 'address', name: '居住地址', type: 'string', personal: true, masking: 'address' },
    { code: 'registeredOn', name: '登记日期', type: 'date' },
  ],
};

function csv(rows: string[][]): string {
  return [['idNumber', 'name', 'phone', 'address', 'registeredOn'], ...rows]
    .map((r) => r.join(','))
    .join('\n');
}

describe('thin path: register → upload → request → approve → governed call → audit', () => {
  let env: TestEnv;
  let provider: string;
  let consumer: string;
  let resourceId: number;
  let resourceCode: string;
  let apiKey: string;
  let requestId: number;
  const people = Array.from({ length: 30 }, (_, i) => [
    idNumber(i),
    i % 2 ? '张伟' : '欧阳娜娜',
    `1380013${String(1000 + i)}`,
    `临江市江城区滨江路${i + 1}号`,
    '2026-03-01',
  ]);

  beforeAll(async () => {
    env = await createTestEnv();
    provider = await login(env.app, 'gaj_officer');
    consumer = await login(env.app, 'rsj_officer');
  });
  afterAll(async () => env?.close());

  it('DG Art 19: a conditional resource without legal basis is refused with a stable code', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/catalog/resources',
      headers: { cookie: provider },
      payload: { ...NEW_RESOURCE, legalBasis: '' },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('LEGAL_BASIS_REQUIRED');
    expect(body.message).toMatch(/法律法规依据/);
    expect(body.messageEn).toMatch(/legal basis/);
    expect(body.details).toContainEqual(expect.objectContaining({ field: 'legalBasis' }));
  });

  it('DG Art 11: a data officer registers a table resource and submits it; the authority reviewer publishes it', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/catalog/resources',
      headers: { cookie: provider },
      payload: { ...NEW_RESOURCE, submit: true },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().status).toBe('submitted');
    const published = await env.app.inject({
      method: 'POST',
      url: `/api/catalog/resources/${res.json().id}/publish`,
      headers: { cookie: await login(env.app, 'reviewer') },
      payload: { comment: '同意发布' },
    });
    expect(published.statusCode).toBe(200);
    const r = published.json();
    expect(r.status).toBe('published');
    resourceId = r.id;
    resourceCode = r.code;
    expect(r.provider.name).toContain('公安局');
    expect(r.fields.map((f: { code: string }) => f.code)).toEqual([
      'idNumber',
      'name',
      'phone',
      'address',
      'registeredOn',
    ]);
    expect(r.shareType).toBe('conditional');
  });

  it('GB 11643: a CSV with one bad ID check digit is rejected whole, naming row and field, and writes nothing', async () => {
    const bad = people.map((r) => [...r]);
    bad[6][0] = bad[6][0].slice(0, 17) + (bad[6][0][17] === '0' ? '1' : '0');
    bad[9][2] = '12345';
    const res = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/csv?filename=bad.csv`,
      headers: { cookie: provider, 'content-type': 'text/csv' },
      payload: csv(bad),
    });
    expect(res.statusCode).toBe(422);
    const body = res.json();
    expect(body.code).toBe('CSV_INVALID');
    expect(body.details).toContainEqual(expect.objectContaining({ row: 7, field: 'idNumber' }));
    expect(body.details).toContainEqual(expect.objectContaining({ row: 10, field: 'phone' }));
    const detail = await env.app.inject({
      url: `/api/catalog/resources/${resourceId}`,
      headers: { cookie: provider },
    });
    expect(detail.json().rowCount).toBe(0);
    const { rows } = await env.ctx.database.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ds.r_${resourceId}`,
      [],
    );
    expect(rows[0].n).toBe(0);
  });

  it('only the provider loads data into its resource (DG Art 15)', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/csv`,
      headers: { cookie: consumer, 'content-type': 'text/csv' },
      payload: csv(people),
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('FORBIDDEN');
  });

  it('the provider uploads a valid CSV; a second upload of changed rows updates by key', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/csv?filename=people.csv`,
      headers: { cookie: provider, 'content-type': 'text/csv' },
      payload: csv(people),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ rowsTotal: 30, inserted: 30, updated: 0 });
    const changed = people.slice(0, 5).map((r) => [r[0], r[1], r[2], '临江市东湖区新址1号', r[4]]);
    const again = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/csv`,
      headers: { cookie: provider, 'content-type': 'text/csv' },
      payload: csv([...changed, people[5]]),
    });
    expect(again.json()).toMatchObject({ rowsTotal: 6, inserted: 0, updated: 5, unchanged: 1 });
  });

  it('a consumer department creates an app; the key is shown once and stored hashed', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: consumer },
      payload: { name: '就业资格核验系统' },
    });
    expect(res.statusCode).toBe(201);
    apiKey = res.json().apiKey;
    expect(apiKey).toMatch(/^gs_/);
    const list = await env.app.inject({ url: '/api/apps', headers: { cookie: consumer } });
    expect(JSON.stringify(list.json())).not.toContain(apiKey);
    const stored = await env.ctx.db
      .selectFrom('app')
      .select('key_hash')
      .where('name', '=', '就业资格核验系统')
      .executeTakeFirstOrThrow();
    expect(stored.key_hash).not.toContain(apiKey);
  });

  it('before a grant exists the app is refused, and the refusal is audited', async () => {
    const res = await env.app.inject({
      url: `${dataPath(resourceCode)}/records/${people[0][0]}`,
      headers: { 'x-api-key': apiKey, 'x-purpose': encodeURIComponent('办理就业登记时核验申请人居住信息') },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('GRANT_REQUIRED');
    const denied = await env.ctx.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'data.get')
      .where('decision', '=', 'deny')
      .where('resource_id', '=', resourceId)
      .execute();
    expect(denied).toHaveLength(1);
  });

  it('DG Art 19: the conditional entry goes on the negative list, approved by the authority (else requests would be unconditional)', async () => {
    const proposed = await env.app.inject({
      method: 'POST',
      url: '/api/inventory/negative-list',
      headers: { cookie: provider },
      payload: {
        resourceId,
        basisKind: 'law',
        basisText: '《中华人民共和国居民身份证法》第六条',
        reason: '流动人口居住信息涉及个人信息，有条件共享',
      },
    });
    expect(proposed.statusCode, proposed.body).toBe(201);
    const decided = await env.app.inject({
      method: 'POST',
      url: `/api/inventory/negative-list/${proposed.json().id}/decide`,
      headers: { cookie: await login(env.app, 'reviewer') },
      payload: { approve: true, comment: '同意' },
    });
    expect(decided.json().status).toBe('approved');
  });

  it('DG Art 26: the consumer requests a subset of fields for a stated purpose; the due date comes from the profile', async () => {
    const apps = (await env.app.inject({ url: '/api/apps', headers: { cookie: consumer } })).json();
    const app = apps.find((a: { name: string }) => a.name === '就业资格核验系统');
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/sharing/requests',
      headers: { cookie: consumer },
      payload: {
        resourceId,
        appId: app.id,
        fields: ['idNumber', 'name', 'phone'],
        purpose: '办理就业登记时核验申请人居住信息',
        scope: '就业登记业务办理',
        validUntil: '2099-12-31',
      },
    });
    expect(res.statusCode).toBe(201);
    const r = res.json();
    requestId = r.id;
    expect(r.status).toBe('pending');
    expect(r.steps).toHaveLength(1);
    expect(r.steps[0]).toMatchObject({ actor: 'provider', deadline: { amount: 10, unit: 'WD' } });
    expect(r.steps[0].nameZh).toBe(PROFILES['dongguan-2020'].sharing.conditional.steps[0].nameZh);
    expect(r.dueDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const due = await env.app.inject({
      url: `/api/calendar/due?start=${r.steps[0].startedOn}&amount=10&unit=WD`,
      headers: { cookie: consumer },
    });
    expect(due.json().dueDate).toBe(r.dueDate);
    expect(r.canDecide).toBe(false);
  });

  it('DG Art 20: the provider approves; the grant carries only the requested fields', async () => {
    const incoming = await env.app.inject({
      url: '/api/sharing/requests?box=incoming&status=pending',
      headers: { cookie: provider },
    });
    expect(incoming.json().items.map((x: { id: number }) => x.id)).toContain(requestId);
    // the provider reads the requested fields by name (the console shows words, not codes)
    const asked = incoming.json().items.find((x: { id: number }) => x.id === requestId);
    expect(asked.fields).toEqual(['idNumber', 'name', 'phone']);
    expect(asked.fieldNames).toEqual(['身份证号', '姓名', '联系电话']);
    const res = await env.app.inject({
      method: 'POST',
      url: `/api/sharing/requests/${requestId}/approve`,
      headers: { cookie: provider },
      payload: {},
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('approved');
    const again = await env.app.inject({
      method: 'POST',
      url: `/api/sharing/requests/${requestId}/approve`,
      headers: { cookie: provider },
      payload: {},
    });
    expect(again.json().code).toBe('REQUEST_NOT_PENDING');
    const grants = (
      await env.app.inject({ url: '/api/sharing/grants', headers: { cookie: consumer } })
    ).json();
    const g = grants.find((x: { requestId: number }) => x.requestId === requestId);
    expect(g.fields).toEqual(['idNumber', 'name', 'phone']);
    // DG Art 19: the resource holds important data, so the grant waits for the provider's risk assessment
    await passRiskAssessment(env.app, requestId, provider);
    // DG Art 18: the consumer accepts the grant's provide-and-use agreement (test/sharing-more.test.ts tests it)
    const agreed = await env.app.inject({
      method: 'POST',
      url: `/api/sharing/grants/${g.id}/agreement`,
      headers: { cookie: consumer },
    });
    expect(agreed.statusCode, agreed.body).toBe(200);
  });

  it('DG Art 33: the app gets only granted fields, personal ones masked, and the call is audited in the same transaction', async () => {
    const before = await env.ctx.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const res = await env.app.inject({
      url: `${dataPath(resourceCode)}/records/${people[1][0]}`,
      headers: { 'x-api-key': apiKey, 'x-purpose': encodeURIComponent('办理就业登记时核验申请人居住信息') },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body.record).sort()).toEqual(['idNumber', 'name', 'phone']);
    expect(body.record.idNumber).toBe(`${people[1][0].slice(0, 3)}***********${people[1][0].slice(14)}`);
    expect(body.record.name).toBe('张*');
    expect(body.record.phone).toBe(`${people[1][2].slice(0, 3)}****${people[1][2].slice(7)}`);
    const audit = await env.ctx.db
      .selectFrom('audit_log')
      .selectAll()
      .where('id', '=', body.auditId)
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({
      action: 'data.get',
      decision: 'allow',
      resource_id: resourceId,
      rows_returned: 1,
      // a keyed hash and the masked form: the audit log never holds the clear ID number (hardening)
      target_id: keyedHash(env.ctx.secret, people[1][0]),
      target_label: body.record.idNumber,
    });
    expect(audit.fields).toEqual(['idNumber', 'name', 'phone']);
    const after = await env.ctx.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n) + 1);
  });

  it('paging through records returns masked granted fields and audits the page', async () => {
    const res = await env.app.inject({
      url: `${dataPath(resourceCode)}/records?limit=10`,
      headers: { 'x-api-key': apiKey, 'x-purpose': encodeURIComponent('办理就业登记时核验申请人居住信息') },
    });
    const body = res.json();
    expect(body.items).toHaveLength(10);
    expect(body.next).toMatch(/^\d+$/);
    // the cursor reveals no record key (DG Art 33)
    expect(people.some((p) => JSON.stringify(body).includes(p[0]))).toBe(false);
    const page2 = (
      await env.app.inject({
        url: `${dataPath(resourceCode)}/records?limit=25&after=${body.next}`,
        headers: { 'x-api-key': apiKey, 'x-purpose': encodeURIComponent('办理就业登记时核验申请人居住信息') },
      })
    ).json();
    expect(page2.items).toHaveLength(20);
    expect(page2.next).toBeNull();
    expect(body.items.every((r: Record<string, string>) => !('address' in r) && /\*/.test(r.name))).toBe(
      true,
    );
    const audit = await env.ctx.db
      .selectFrom('audit_log')
      .selectAll()
      .where('id', '=', body.auditId)
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ action: 'data.list', rows_returned: 10 });
  });

  it('a missing record is 404 RECORD_NOT_FOUND and still audited', async () => {
    const res = await env.app.inject({
      url: `${dataPath(resourceCode)}/records/${idNumber(899)}`,
      headers: { 'x-api-key': apiKey, 'x-purpose': encodeURIComponent('办理就业登记时核验申请人居住信息') },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('RECORD_NOT_FOUND');
    const a = await env.ctx.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target_id', '=', keyedHash(env.ctx.secret, idNumber(899)))
      .executeTakeFirstOrThrow();
    expect(a.rows_returned).toBe(0);
  });

  it('the auditor sees the data call; a department officer cannot read the audit log', async () => {
    const auditor = await login(env.app, 'auditor');
    const res = await env.app.inject({
      url: `/api/audit?action=data.get&resourceId=${resourceId}`,
      headers: { cookie: auditor },
    });
    expect(res.statusCode).toBe(200);
    const items = res.json().items;
    expect(
      items.some(
        (e: { decision: string; app: { name: string } | null }) =>
          e.decision === 'allow' && e.app?.name === '就业资格核验系统',
      ),
    ).toBe(true);
    // people read field names, not codes (brief: words, not codes), in the granted order
    const call = items.find((e: { decision: string }) => e.decision === 'allow');
    expect(call.fields).toEqual(['idNumber', 'name', 'phone']);
    expect(call.fieldNames).toEqual(['身份证号', '姓名', '联系电话']);
    const officer = await env.app.inject({ url: '/api/audit', headers: { cookie: consumer } });
    expect(officer.statusCode).toBe(403);
  });

  it('GB/T 39477: a revoked grant stops the next call; a revoked key is refused', async () => {
    const grants = (
      await env.app.inject({ url: '/api/sharing/grants', headers: { cookie: provider } })
    ).json();
    const g = grants.find((x: { requestId: number }) => x.requestId === requestId);
    const rev = await env.app.inject({
      method: 'POST',
      url: `/api/sharing/grants/${g.id}/revoke`,
      headers: { cookie: provider },
    });
    expect(rev.json().status).toBe('revoked');
    const res = await env.app.inject({
      url: `${dataPath(resourceCode)}/records/${people[1][0]}`,
      headers: { 'x-api-key': apiKey, 'x-purpose': encodeURIComponent('办理就业登记时核验申请人居住信息') },
    });
    expect(res.json().code).toBe('GRANT_REQUIRED');
    const bogus = await env.app.inject({
      url: `${dataPath(resourceCode)}/records/${people[1][0]}`,
      headers: { 'x-api-key': 'gs_nope_nope' },
    });
    expect(bogus.statusCode).toBe(401);
    expect(bogus.json().code).toBe('API_KEY_INVALID');
  });

  it('the audit log is append-only for the application', async () => {
    await expect(env.ctx.database.query('UPDATE audit_log SET action = $1', ['x'])).rejects.toThrow(
      /append-only/,
    );
    await expect(env.ctx.database.query('DELETE FROM audit_log', [])).rejects.toThrow(/append-only/);
    await expect(env.ctx.database.query('TRUNCATE audit_log', [])).rejects.toThrow(/append-only/);
    // the platform keeps answering after the refused statements
    const ok = await env.app.inject({ url: '/api/health' });
    expect(ok.statusCode).toBe(200);
  });
});
