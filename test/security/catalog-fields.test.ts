import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixValidatedFields } from '../../src/db/migrations/004_accounts_hardening.js';
import { creditCodeCheckChar } from '../../src/ingest/checksums.js';
import { createTestEnv, login, type TestEnv, testIdNumber } from '../helpers.js';

/** Finding 6: a field's validator decides whether it is personal/sensitive and how it is masked. */
const resource = (fields: unknown[]) => ({
  name: '企业联络人登记',
  summary: '企业联络人信息',
  classification: 'department',
  catalogLevel: 'city',
  shareType: 'unconditional',
  updateCycle: 'daily',
  fields,
});

const CREDIT = (() => {
  const body = '91446000MA5ABCDE1';
  return body + creditCodeCheckChar(body);
})();

describe('validated fields are personal/sensitive and masked', () => {
  let env: TestEnv;
  let officer: string;
  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 500, entityRows: 200 } });
    officer = await login(env.app, 'scj_officer');
  });
  afterAll(async () => env?.close());

  const register = (fields: unknown[]) =>
    env.app.inject({
      method: 'POST',
      url: '/api/catalog/resources',
      headers: { cookie: officer },
      payload: resource(fields),
    });

  it('GB/T 35273: idNumber/mobilePhone/creditCode fields registered without flags are derived personal/sensitive and masked', async () => {
    const res = await register([
      { code: 'creditCode', name: '统一社会信用代码', type: 'string', isKey: true, validator: 'creditCode' },
      { code: 'idNumber', name: '联络人身份证号', type: 'string', validator: 'idNumber' },
      { code: 'phone', name: '联络人手机', type: 'string', validator: 'mobilePhone' },
      { code: 'note', name: '备注', type: 'string', sensitive: true },
      { code: 'city', name: '城市', type: 'string' },
    ]);
    expect(res.statusCode).toBe(201);
    const f = Object.fromEntries(
      (res.json().fields as { code: string; personal: boolean; sensitive: boolean; masking: string }[]).map(
        (x) => [x.code, [x.personal, x.sensitive, x.masking]],
      ),
    );
    expect(f).toEqual({
      creditCode: [false, true, 'creditCode'],
      idNumber: [true, false, 'idNumber'],
      phone: [true, false, 'phone'],
      note: [false, true, 'partial'],
      city: [false, false, 'none'],
    });
    // and the provider's preview (same masking as the data API) shows no clear credit code or ID number
    const id = res.json().id;
    const up = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${id}/csv`,
      headers: { cookie: officer, 'content-type': 'text/csv' },
      payload: `creditCode,idNumber,phone,note,city\n${CREDIT},${testIdNumber(1)},13800138000,x,临江\n`,
    });
    expect(up.statusCode).toBe(200);
    const preview = await env.app.inject({
      url: `/api/catalog/resources/${id}/preview`,
      headers: { cookie: officer },
    });
    const row = preview.json().rows[0];
    expect(row.creditCode).not.toBe(CREDIT);
    expect(row.creditCode).toContain('*');
    expect(row.idNumber).toContain('*');
    expect(row.phone).toBe('138****8000');
  });

  it('GB/T 35273: masking "none" or personal:false on a validated field is refused, naming the field', async () => {
    const res = await register([
      {
        code: 'creditCode',
        name: '统一社会信用代码',
        type: 'string',
        isKey: true,
        validator: 'creditCode',
        masking: 'none',
      },
      { code: 'phone', name: '手机', type: 'string', validator: 'mobilePhone', personal: false },
    ]);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('VALIDATION_FAILED');
    const fields = (res.json().details as { field: string; reason: string }[]).map((d) => d.field);
    expect(fields).toContain('fields[0].masking');
    expect(fields).toContain('fields[1].personal');
    expect(res.json().details[0].reason).toContain('later');
  });

  it('GB/T 35273: a personal or sensitive field never keeps masking "none"', async () => {
    const res = await register([
      { code: 'k', name: '编号', type: 'string', isKey: true },
      { code: 'gender', name: '性别', type: 'string', personal: true, masking: 'none' },
    ]);
    expect(res.statusCode).toBe(201);
    expect(res.json().fields[1].masking).toBe('partial');
  });

  it('migration 004 repairs fields registered the old way', async () => {
    const r = await env.ctx.db.selectFrom('resource').select('id').executeTakeFirstOrThrow();
    const old = { required: false, is_key: false, personal: false, sensitive: false, validator: null };
    await env.ctx.db
      .insertInto('resource_field')
      .values([
        {
          ...old,
          resource_id: r.id,
          ordinal: 901,
          code: 'oldId',
          name: 'a',
          type: 'string',
          column_name: 'c901',
          validator: 'idNumber',
          personal: false,
          masking: 'none',
        },
        {
          ...old,
          resource_id: r.id,
          ordinal: 902,
          code: 'oldCc',
          name: 'b',
          type: 'string',
          column_name: 'c902',
          validator: 'creditCode',
          masking: 'none',
        },
        {
          ...old,
          resource_id: r.id,
          ordinal: 903,
          code: 'oldPh',
          name: 'c',
          type: 'string',
          column_name: 'c903',
          validator: 'mobilePhone',
          masking: 'none',
        },
        {
          ...old,
          resource_id: r.id,
          ordinal: 904,
          code: 'oldS',
          name: 'd',
          type: 'string',
          column_name: 'c904',
          sensitive: true,
          masking: 'none',
        },
      ])
      .execute();
    await fixValidatedFields(env.ctx.db as never);
    const rows = await env.ctx.db
      .selectFrom('resource_field')
      .select(['code', 'personal', 'sensitive', 'masking'])
      .where('resource_id', '=', r.id)
      .where('ordinal', '>', 900)
      .orderBy('ordinal')
      .execute();
    expect(rows.map((x) => [x.code, x.personal, x.sensitive, x.masking])).toEqual([
      ['oldId', true, false, 'idNumber'],
      ['oldCc', false, true, 'creditCode'],
      ['oldPh', true, false, 'phone'],
      ['oldS', false, true, 'partial'],
    ]);
    await env.ctx.db
      .deleteFrom('resource_field')
      .where('resource_id', '=', r.id)
      .where('ordinal', '>', 900)
      .execute();
  });

  it('no demo field with a validator is registered unmasked', async () => {
    const bad = await env.ctx.db
      .selectFrom('resource_field')
      .select(['code'])
      .where((eb) =>
        eb.or([
          eb.and([eb('validator', 'is not', null), eb('masking', '=', 'none')]),
          eb.and([
            eb.or([eb('personal', '=', true), eb('sensitive', '=', true)]),
            eb('masking', '=', 'none'),
          ]),
        ]),
      )
      .execute();
    expect(bad).toEqual([]);
  });
});
