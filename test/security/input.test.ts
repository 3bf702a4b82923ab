import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, login, type TestEnv } from '../helpers.js';

interface Detail {
  field?: string;
  reason: string;
  reasonZh?: string;
}

/** A 400 VALIDATION_FAILED in the standard body whose details name `field`. */
function expectInvalid(res: { statusCode: number; json(): unknown }, field: string) {
  expect(res.statusCode, JSON.stringify(res.json())).toBe(400);
  const body = res.json() as { code: string; message: string; messageEn: string; details: Detail[] };
  expect(body).toMatchObject({
    code: 'VALIDATION_FAILED',
    message: expect.any(String),
    messageEn: expect.any(String),
  });
  expect(body.details.map((d) => d.field)).toContain(field);
}

const RESOURCE = {
  name: '临时救助发放记录',
  summary: '临时救助资金发放明细',
  classification: 'department',
  catalogLevel: 'department',
  shareType: 'unconditional',
  updateCycle: 'monthly',
  fields: [
    { code: 'idNumber', name: '身份证号', type: 'string', isKey: true, personal: true, masking: 'idNumber' },
    { code: 'note', name: '备注', type: 'string', length: 200 },
  ],
};

describe('bad input is a coded 400 naming the field, never a 500', () => {
  let env: TestEnv;
  let officer: string;
  let auditor: string;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 200, entityRows: 50 } });
    officer = await login(env.app, 'mzj_officer');
    auditor = await login(env.app, 'auditor');
  });
  afterAll(async () => env?.close());

  const post = (url: string, payload: unknown, cookie = officer) =>
    env.app.inject({ method: 'POST', url, headers: { cookie }, payload: payload as object });
  const postRaw = (url: string, json: string, cookie = officer) =>
    env.app.inject({
      method: 'POST',
      url,
      headers: { cookie, 'content-type': 'application/json' },
      payload: json,
    });
  const sharing = {
    resourceId: 1,
    appId: 1,
    fields: ['idNumber'],
    purpose: '核验',
    validUntil: '2099-01-01',
  };

  it('Input: NUL bytes in JSON strings, the query and URL parameters are 400 with the field', async () => {
    expectInvalid(await post('/api/apps', { name: 'a\u0000b' }), 'name');
    expectInvalid(await post('/api/auth/login', { username: 'admin\u0000', password: 'x' }, ''), 'username');
    expectInvalid(
      await post('/api/auth/login', { username: 'admin', password: 'Demo@2026\u0000' }, ''),
      'password',
    );
    expectInvalid(await post('/api/sharing/requests', { ...sharing, purpose: '核验\u0000' }), 'purpose');
    expectInvalid(
      await post('/api/catalog/resources', {
        ...RESOURCE,
        fields: [{ ...RESOURCE.fields[0], name: 'x\u0000' }],
      }),
      'fields.0.name',
    );
    expectInvalid(
      await env.app.inject({ url: '/api/catalog/resources?q=%00', headers: { cookie: officer } }),
      'q',
    );
  });

  it('Input: a NUL in a data-API key is 400 VALIDATION_FAILED field key, before any SQL, and audited as refused', async () => {
    const before = await env.ctx.db
      .selectFrom('audit_log')
      .select((e) => e.fn.max('id').as('id'))
      .executeTakeFirstOrThrow();
    const res = await env.app.inject({
      url: '/api/v1/data/446000-GAJ-001/records/a%00b',
      headers: { 'x-api-key': 'gs_not_a_key' },
    });
    // without the guard this would be API_KEY_INVALID from the key lookup
    expectInvalid(res, 'key');
    // the only row written is the HTTP layer's refusal record: the key never reached the data statement
    const rows = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision', 'target_id', 'detail'])
      .where('id', '>', Number(before.id ?? 0))
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: 'http.refused',
      decision: 'deny',
      target_id: null,
      detail: { code: 'VALIDATION_FAILED', route: '/api/v1/data/:resourceCode/records/:key' },
    });
  });

  it('Input: lone UTF-16 surrogates are 400', async () => {
    expectInvalid(await postRaw('/api/apps', '{"name":"a\\ud800b"}'), 'name');
    expectInvalid(await postRaw('/api/apps', '{"name":"ok","description":"\\udc00"}'), 'description');
  });

  it('Input: bidi overrides/isolates, zero-width characters and C0 controls are 400, except in passwords', async () => {
    for (const ch of ['\u202e', '\u2066', '\u200b', '\u2060', '\ufeff', '\u0007', '\u001b']) {
      expectInvalid(await post('/api/apps', { name: `审批${ch}系统` }), 'name');
    }
    expectInvalid(await post('/api/sharing/requests', { ...sharing, purpose: 'a\u202eb' }), 'purpose');
    expectInvalid(await post('/api/catalog/resources', { ...RESOURCE, name: '\u200b临时救助' }), 'name');
    // tab, newline and carriage return are ordinary text
    const multiline = await post('/api/apps', { name: '多行说明应用', description: 'line 1\r\n\tline 2' });
    expect(multiline.statusCode).toBe(201);
    // a password may contain any printable character and controls other than NUL: it is just checked
    const pw = await post('/api/auth/login', { username: 'admin', password: 'p\u202e\u200b\u0007w' }, '');
    expect(pw.json().code).toBe('LOGIN_FAILED');
  });

  it('Input: page=1e300 and out-of-range integers are 400, not a database error', async () => {
    const page = await env.app.inject({
      url: '/api/catalog/resources?page=1e300',
      headers: { cookie: officer },
    });
    expect(page.statusCode).toBe(400);
    expect(page.json().details[0].field).toContain('page');
    const id = await env.app.inject({
      url: '/api/catalog/resources/99999999999999999999',
      headers: { cookie: officer },
    });
    expect(id.statusCode).toBe(400);
    expect(id.json().code).toBe('VALIDATION_FAILED');
  });

  it('Input: a field length above 2^31 is 400 (the column is a PostgreSQL integer)', async () => {
    const res = await post('/api/catalog/resources', {
      ...RESOURCE,
      fields: [RESOURCE.fields[0], { ...RESOURCE.fields[1], length: 2 ** 31 }],
    });
    expectInvalid(res, 'fields.1.length');
  });

  it('Input: audit from=0000-01-01T00:00:00Z is 400', async () => {
    const res = await env.app.inject({
      url: '/api/audit?from=0000-01-01T00:00:00Z',
      headers: { cookie: auditor },
    });
    expect(res.statusCode).toBe(400);
    expect(
      res
        .json()
        .details.map((d: Detail) => d.field)
        .join(),
    ).toContain('from');
    const ok = await env.app.inject({
      url: '/api/audit?from=2026-01-01T00:00:00Z',
      headers: { cookie: auditor },
    });
    expect(ok.statusCode).toBe(200);
  });

  it('Input: validUntil "2026-13-45" is 400 naming validUntil', async () => {
    expectInvalid(
      await post('/api/sharing/requests', { ...sharing, validUntil: '2026-13-45' }),
      'validUntil',
    );
    expectInvalid(
      await post('/api/sharing/requests', { ...sharing, validUntil: '2027-02-30' }),
      'validUntil',
    );
  });

  it('Input: names are trimmed, and a blank name is 400', async () => {
    const created = await post('/api/apps', { name: '  审批核验系统 \t' });
    expect(created.statusCode).toBe(201);
    const row = await env.ctx.db
      .selectFrom('app')
      .select('name')
      .where('id', '=', created.json().app.id)
      .executeTakeFirstOrThrow();
    expect(row.name).toBe('审批核验系统');
    expectInvalid(await post('/api/apps', { name: '   ' }), 'name');
    expectInvalid(await post('/api/catalog/resources', { ...RESOURCE, name: ' \u3000 ' }), 'name');
    const blankField = await post('/api/catalog/resources', {
      ...RESOURCE,
      fields: [RESOURCE.fields[0], { ...RESOURCE.fields[1], name: '  ' }],
    });
    expectInvalid(blankField, 'fields.1.name');
    expect(blankField.json().details.find((d: Detail) => d.field === 'fields.1.name').reasonZh).toBe(
      '不能为空白',
    );
    const trimmed = await post('/api/catalog/resources', {
      ...RESOURCE,
      name: ' 临时救助发放记录（修剪） ',
      fields: [RESOURCE.fields[0], { ...RESOURCE.fields[1], name: ' 备注 ' }],
    });
    expect(trimmed.statusCode, trimmed.body).toBe(201);
    const res = await env.app.inject({
      url: `/api/catalog/resources/${trimmed.json().id}`,
      headers: { cookie: officer },
    });
    expect(res.json().name).toBe('临时救助发放记录（修剪）');
    expect(JSON.stringify(res.json())).toContain('"备注"');
  });
});

describe("Fastify's own errors come out in the standard error body", () => {
  let env: TestEnv;
  let officer: string;
  beforeAll(async () => {
    env = await createTestEnv({
      demo: { populationRows: 50, entityRows: 20 },
      config: { jsonBodyLimit: 64 * 1024, uploadMaxBytes: 128 * 1024 },
    });
    officer = await login(env.app, 'mzj_officer');
  });
  afterAll(async () => env?.close());

  const standard = (res: { json(): unknown }, code: string) =>
    expect(res.json()).toEqual({
      code,
      message: expect.any(String),
      messageEn: expect.any(String),
      details: expect.any(Array),
    });

  it('Framework errors: a path parameter over maxParamLength is 414 URI_TOO_LONG', async () => {
    const res = await env.app.inject({ url: `/api/v1/data/446000-GAJ-001/records/${'9'.repeat(300)}` });
    expect(res.statusCode).toBe(414);
    standard(res, 'URI_TOO_LONG');
  });

  it('Framework errors: bad percent-encoding in the URL is 400 VALIDATION_FAILED', async () => {
    const res = await env.app.inject({ url: '/api/v1/data/446000-GAJ-001/records/%E0%A4%A' });
    expect(res.statusCode).toBe(400);
    standard(res, 'VALIDATION_FAILED');
  });

  it('Framework errors: invalid and empty JSON bodies are 400 VALIDATION_FAILED naming the body', async () => {
    for (const payload of ['{"name":', '']) {
      const res = await env.app.inject({
        method: 'POST',
        url: '/api/apps',
        headers: { cookie: officer, 'content-type': 'application/json' },
        payload,
      });
      expect(res.statusCode, payload).toBe(400);
      standard(res, 'VALIDATION_FAILED');
      expect(res.json().details[0].field).toBe('body');
    }
  });

  it('Body limits: a JSON body over JSON_BODY_LIMIT is 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: officer },
      payload: { name: 'big', description: 'x'.repeat(100 * 1024) },
    });
    expect(res.statusCode).toBe(413);
    standard(res, 'PAYLOAD_TOO_LARGE');
  });

  it('Body limits: the CSV upload has its own UPLOAD_MAX_BYTES limit, 413 UPLOAD_TOO_LARGE says to split the file', async () => {
    const header = 'idNumber,name\n';
    const small = await env.app.inject({
      method: 'POST',
      url: '/api/ingest/resources/999999/csv',
      headers: { cookie: officer, 'content-type': 'text/csv' },
      payload: header + 'x,y\n'.repeat(20 * 1024), // 80 KiB: over the JSON limit, under the upload limit
    });
    expect(small.statusCode).not.toBe(413);
    const big = await env.app.inject({
      method: 'POST',
      url: '/api/ingest/resources/999999/csv',
      headers: { cookie: officer, 'content-type': 'text/csv' },
      payload: header + 'x,y\n'.repeat(40 * 1024), // 160 KiB
    });
    expect(big.statusCode).toBe(413);
    standard(big, 'UPLOAD_TOO_LARGE');
    expect(big.json().details[0].reason).toMatch(/split/);
    expect(big.json().details[0].reasonZh).toMatch(/拆分/);
  });
});
