import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordReadStats } from '../src/dataapi/service.js';
import { clearRows, codeOf, createTestEnv, dataPath, grantedApp, type TestEnv } from './helpers.js';

/*
 * Issue 9 point 4: verification (核验, DG Art 19) answers match / no match without returning data, under its own right
 * on the grant (verification-only grants exist), its own daily quota and audit; misses feed the enumeration detector.
 */
describe('data API: verification', () => {
  let env: TestEnv;
  let POPULATION = '';
  let people: { id: string; name: string }[];

  beforeAll(async () => {
    env = await createTestEnv({
      demo: { populationRows: 200, entityRows: 20 },
      config: {
        dataApi: {
          appRatePerSecond: 1000,
          grantCallsPerDay: 100_000,
          grantRowsPerCall: 1000,
          keyFailuresPerMinute: 50,
          enumerationMisses: 6,
        },
      },
    });
    POPULATION = await codeOf(env, '人口基础信息');
    const r = await env.ctx.db
      .selectFrom('resource')
      .select(['id', 'data_table'])
      .where('code', '=', POPULATION)
      .executeTakeFirstOrThrow();
    // the ID number is encrypted at rest and `_key` is its keyed hash: the clear values, decrypted as the product does
    people = (await clearRows(env, r.data_table!, { limit: 20 })).map((x) => ({ id: x.key, name: x.name! }));
  });
  afterAll(async () => env?.close());

  const verify = (g: { apiKey: string; purposeId: string }, payload: Record<string, unknown>) =>
    env.app.inject({
      method: 'POST',
      url: `${dataPath(POPULATION)}/verify`,
      headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
      payload,
    });

  it('DG Art 19: "does this ID number belong to this name?" → match true/false, no data, audited with the outcome', async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber', 'name'],
      appName: '身份核验（仅核验）',
      quota: { verify: true, readRecords: false, verificationsPerDay: 4 },
    });
    const p = people[0];
    const yes = await verify(g, { key: p.id.toLowerCase(), match: { name: p.name } });
    expect(yes.statusCode, yes.body).toBe(200);
    expect(yes.json()).toEqual({
      resourceCode: POPULATION,
      match: true,
      grantId: g.grantId,
      auditId: expect.any(Number),
    });
    expect(yes.body).not.toContain(p.name);
    const no = await verify(g, { key: p.id, match: { name: `${p.name}某` } });
    expect(no.json().match).toBe(false);
    const audit = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision', 'detail', 'rows_returned', 'target_label'])
      .where('id', 'in', [yes.json().auditId, no.json().auditId])
      .orderBy('id')
      .execute();
    expect(
      audit.map((a) => [a.action, a.decision, a.rows_returned, (a.detail as { matched: boolean }).matched]),
    ).toEqual([
      ['data.verify', 'allow', 0, true],
      ['data.verify', 'allow', 0, false],
    ]);
    expect(audit[0].target_label).toContain('*');
    // a verification-only grant reads no record
    const read = await env.app.inject({
      url: `${dataPath(POPULATION)}/records/${p.id}`,
      headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
    });
    expect(read.statusCode).toBe(403);
    expect(read.json().code).toBe('READ_NOT_GRANTED');
    // its own quota: 4 a day
    expect((await verify(g, { key: people[1].id })).json().match).toBe(true);
    expect((await verify(g, { key: people[2].id })).statusCode).toBe(200);
    const over = await verify(g, { key: people[3].id });
    expect(over.statusCode).toBe(429);
    expect(over.json().code).toBe('QUOTA_EXCEEDED');
  });

  it('30 concurrent verifications of two shapes share statements, and each gets its own answer and audit row', async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber', 'name'],
      appName: '身份核验（并发）',
      quota: { verify: true, readRecords: false, verificationsPerDay: 1000 },
    });
    // by key and name (every seventh with a wrong name: a miss, below the enumeration threshold), or by key alone
    const calls = Array.from({ length: 30 }, (_, i) => {
      const p = people[i % people.length];
      if (i % 3 === 0) return { payload: { key: p.id }, expected: true };
      const wrong = i % 7 === 3;
      return { payload: { key: p.id, match: { name: wrong ? `${p.name}某` : p.name } }, expected: !wrong };
    });
    expect(calls.filter((c) => !c.expected).length).toBeLessThan(6);
    const before = recordReadStats(env.ctx);
    const answers = await Promise.all(calls.map((c) => verify(g, c.payload)));
    const after = recordReadStats(env.ctx);
    expect(after.calls - before.calls).toBe(30);
    expect(after.statements - before.statements).toBeLessThan(30);
    for (const [i, a] of answers.entries()) {
      expect(a.statusCode, a.body).toBe(200);
      expect(a.json().match, `call ${i}`).toBe(calls[i].expected);
    }
    const audit = await env.ctx.db
      .selectFrom('audit_log')
      .select(['id', 'detail'])
      .where(
        'id',
        'in',
        answers.map((a) => a.json().auditId),
      )
      .execute();
    const matchedById = new Map(audit.map((a) => [Number(a.id), (a.detail as { matched: boolean }).matched]));
    expect(matchedById.size).toBe(30);
    for (const [i, a] of answers.entries()) expect(matchedById.get(a.json().auditId)).toBe(calls[i].expected);
  });

  it('a grant without the verification right: VERIFY_NOT_GRANTED; a field outside the grant: FIELD_NOT_GRANTED', async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber', 'name'],
      appName: '身份查询（无核验）',
    });
    const res = await verify(g, { key: people[0].id, match: { name: people[0].name } });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('VERIFY_NOT_GRANTED');
    const g2 = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber'],
      appName: '身份核验（字段外）',
      quota: { verify: true },
    });
    const outside = await verify(g2, { key: people[0].id, match: { name: people[0].name } });
    expect(outside.statusCode).toBe(403);
    expect(outside.json()).toMatchObject({ code: 'FIELD_NOT_GRANTED', details: [{ value: 'name' }] });
    const bad = await verify(g2, { key: people[0].id, match: { birthDate: 'soon' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details[0].field).toBe('match.birthDate');
  });

  it('hardening: verification misses feed the enumeration detector; the guessing app is suspended', async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber', 'name'],
      appName: '身份核验（猜测）',
      quota: { verify: true, readRecords: false },
    });
    const codes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await verify(g, { key: people[5].id, match: { name: `猜${i}` } });
      codes.push(res.statusCode === 200 ? String(res.json().match) : res.json().code);
    }
    expect(codes.slice(0, 6)).toEqual(Array(6).fill('false'));
    expect(codes.at(-1)).toBe('APP_SUSPENDED');
    const app = await env.ctx.db
      .selectFrom('app')
      .select('status')
      .where('id', '=', g.appId)
      .executeTakeFirstOrThrow();
    expect(app.status).toBe('suspended');
  });
});
