import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, login, type TestEnv, testIdNumber } from './helpers.js';

const FIELDS = [
  {
    code: 'idNumber',
    name: '身份证号',
    type: 'string',
    isKey: true,
    personal: true,
    masking: 'idNumber',
    validator: 'idNumber',
  },
  { code: 'note', name: '备注', type: 'string' },
  { code: 'amount', name: '金额', type: 'decimal' },
  { code: 'paidOn', name: '发放日期', type: 'date' },
];

const id = testIdNumber;

describe('errors: stable codes, both languages, the row and field at fault; nothing half-written', () => {
  let env: TestEnv;
  let officer: string;
  let resourceId: number;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 200, entityRows: 50 } });
    officer = await login(env.app, 'mzj_officer');
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/catalog/resources',
      headers: { cookie: officer },
      payload: {
        name: '临时救助发放记录',
        summary: '临时救助资金发放明细',
        classification: 'department',
        catalogLevel: 'department',
        shareType: 'unconditional',
        shareMethod: 'api',
        openType: 'closed',
        updateCycle: 'monthly',
        securityLevel: 'general',
        fields: FIELDS,
      },
    });
    expect(res.statusCode).toBe(201);
    resourceId = res.json().id;
  });
  afterAll(async () => env?.close());

  it('a wrong password is LOGIN_FAILED in zh and en, and the attempt is audited', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'admin', password: 'wrong' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({
      code: 'LOGIN_FAILED',
      message: '用户名或密码错误',
      messageEn: 'Wrong username or password',
      details: [],
    });
    const denied = await env.ctx.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'auth.login')
      .where('decision', '=', 'deny')
      .execute();
    expect(denied.length).toBeGreaterThan(0);
  });

  it('schema violations are VALIDATION_FAILED with the field named', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/sharing/requests',
      headers: { cookie: officer },
      payload: { resourceId: 1, fields: [], purpose: 'x', validUntil: 'tomorrow' },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.messageEn).toBeTruthy();
    expect(body.details.length).toBeGreaterThan(0);
    expect(body.details.every((d: { reason: string }) => typeof d.reason === 'string')).toBe(true);
    // the console shows Chinese first: schema messages come in both languages too
    expect(body.details.every((d: { reasonZh?: string }) => /[\u4e00-\u9fff]/.test(d.reasonZh ?? ''))).toBe(
      true,
    );
    expect(
      body.details.some(
        (d: { field?: string }) =>
          d.field?.includes('appId') || d.field?.includes('fields') || d.field?.includes('validUntil'),
      ),
    ).toBe(true);
  });

  it('an unknown API route answers NOT_FOUND as JSON', async () => {
    const res = await env.app.inject({ url: '/api/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('NOT_FOUND');
  });

  it('a CSV with an unknown column and a missing key column is refused before any row is read', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/csv`,
      headers: { cookie: officer, 'content-type': 'text/csv' },
      payload: 'note,colour\nx,red\n',
    });
    expect(res.statusCode).toBe(422);
    const details = res.json().details;
    expect(details).toContainEqual(expect.objectContaining({ row: 0, field: 'colour' }));
    expect(details).toContainEqual(expect.objectContaining({ row: 0, field: 'idNumber' }));
  });

  it('types are checked per cell and duplicate keys inside a file are named with both rows', async () => {
    const rows = [
      '身份证号,备注,金额,发放日期',
      `${id(1)},a,12.50,2026-01-05`,
      `${id(2)},b,abc,2026-02-30`,
      `${id(1)},c,1,2026-01-06`,
    ];
    const res = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/csv`,
      headers: { cookie: officer, 'content-type': 'text/csv' },
      payload: rows.join('\r\n'),
    });
    const details = res.json().details;
    expect(details).toContainEqual(expect.objectContaining({ row: 2, field: 'amount' }));
    expect(details).toContainEqual(expect.objectContaining({ row: 2, field: 'paidOn' }));
    expect(details).toContainEqual({
      code: 'DUPLICATE_KEY',
      row: 3,
      field: 'idNumber',
      reason: 'duplicate key, same as row 1',
      reasonZh: '主键重复，与第 1 行相同',
    });
  });

  it('a GBK-encoded CSV (as Excel saves it) is read correctly', async () => {
    const text = `身份证号,备注,金额,发放日期\r\n${id(42)},临江市东湖区救助,8.00,2026-04-01\r\n`;
    const gbk = Buffer.from(
      Array.from(text).flatMap((ch) => {
        const map: Record<string, number[]> = {
          身: [0xc9, 0xed],
          份: [0xb7, 0xdd],
          证: [0xd6, 0xa4],
          号: [0xba, 0xc5],
          备: [0xb1, 0xb8],
          注: [0xd7, 0xa2],
          金: [0xbd, 0xf0],
          额: [0xb6, 0xee],
          发: [0xb7, 0xa2],
          放: [0xb7, 0xc5],
          日: [0xc8, 0xd5],
          期: [0xc6, 0xda],
          临: [0xc1, 0xd9],
          江: [0xbd, 0xad],
          市: [0xca, 0xd0],
          东: [0xb6, 0xab],
          湖: [0xba, 0xfe],
          区: [0xc7, 0xf8],
          救: [0xbe, 0xc8],
          助: [0xd6, 0xfa],
        };
        return map[ch] ?? [ch.charCodeAt(0)];
      }),
    );
    expect(new TextDecoder('gb18030').decode(gbk)).toBe(text);
    const res = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/csv?filename=gbk.csv`,
      headers: { cookie: officer, 'content-type': 'text/csv' },
      payload: gbk,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ inserted: 1 });
    const { rows } = await env.ctx.database.query<{ note: string }>(
      `SELECT c2 AS note FROM ds.r_${resourceId} WHERE _key = $1`,
      // the ID number is encrypted at rest: the record key is its keyed hash
      [env.ctx.fieldKeys.index(id(42))],
    );
    expect(rows[0].note).toBe('临江市东湖区救助');
    await env.ctx.database.query(`DELETE FROM ds.r_${resourceId}`, []);
  });

  it('a database failure in the middle of a large batch leaves no row behind (one transaction)', async () => {
    // a constraint only the database knows about makes the second 5 000-row chunk fail after the first was written
    await env.ctx.database.query(
      `ALTER TABLE ds.r_${resourceId} ADD CONSTRAINT boom CHECK (c2 IS DISTINCT FROM 'BOOM')`,
      [],
    );
    const lines = ['idNumber,note,amount,paidOn'];
    for (let i = 0; i < 7000; i++) lines.push(`${id(i)},${i === 6500 ? 'BOOM' : 'ok'},1.00,2026-03-01`);
    const uniqueLines = [...new Map(lines.slice(1).map((l) => [l.split(',')[0], l])).values()];
    expect(uniqueLines.length).toBe(7000);
    const res = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/csv`,
      headers: { cookie: officer, 'content-type': 'text/csv' },
      payload: [lines[0], ...uniqueLines].join('\n'),
    });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ code: 'INTERNAL', details: [] });
    const { rows } = await env.ctx.database.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ds.r_${resourceId}`,
      [],
    );
    expect(rows[0].n).toBe(0);
    const committed = await env.ctx.db
      .selectFrom('ingest_batch')
      .selectAll()
      .where('resource_id', '=', resourceId)
      .where('status', '=', 'committed')
      .where('rows_total', '=', 7000)
      .execute();
    expect(committed).toHaveLength(0);
    await env.ctx.database.query(`ALTER TABLE ds.r_${resourceId} DROP CONSTRAINT boom`, []);
    const retry = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/csv`,
      headers: { cookie: officer, 'content-type': 'text/csv' },
      payload: [lines[0], ...uniqueLines].join('\n'),
    });
    expect(retry.json()).toMatchObject({ inserted: 7000 });
  });
});
