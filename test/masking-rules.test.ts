import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEEP_ENDS_LIMITS } from '../src/dataapi/mask-class.js';
import { DEFAULT_CLASS_RULES, FIELD_CLASSES } from '../src/dataapi/masking.js';
import { validateRule } from '../src/dataapi/masking-policy.js';
import { createTestEnv, login, type TestEnv } from './helpers.js';

/*
 * Issue 9 point 8: the authority's masking rules per field class (脱敏规则 page, PUT /api/masking/classes/:fieldClass).
 * Every class's default rule lies within the limits the server holds the authority's rules to, so the authority can
 * save a default back unchanged (the credit code's 8 / 2 and 其他's quarter at each end once could not); the limits are
 * one table per class (mask-class.ts KEEP_ENDS_LIMITS) that the route, the policy and the console read.
 */
// biome-ignore lint/suspicious/noExplicitAny: API responses are read field by field
type Json = any;

describe('masking rules per field class: limits and defaults agree', () => {
  let env: TestEnv;
  let reviewer = '';

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 120, entityRows: 60 } });
    reviewer = await login(env.app, 'reviewer');
  }, 300_000);
  afterAll(async () => env?.close());

  const put = (fieldClass: string, rule: unknown) =>
    env.app.inject({
      method: 'PUT',
      url: `/api/masking/classes/${fieldClass}`,
      headers: { cookie: reviewer },
      payload: { rule },
    });
  const preview = (fieldClass: string, values: string[], rule?: unknown) =>
    env.app.inject({
      method: 'POST',
      url: '/api/masking/preview',
      headers: { cookie: reviewer },
      payload: { fieldClass, values, ...(rule ? { rule } : {}) },
    });

  it('every default rule is within its class’s limits', () => {
    for (const c of FIELD_CLASSES) expect(validateRule(c, DEFAULT_CLASS_RULES[c]), c).toEqual([]);
  });

  it('every class’s default rule, as GET /api/masking/classes gives it, is saved back unchanged and previews alike', async () => {
    const list = await env.app.inject({ url: '/api/masking/classes', headers: { cookie: reviewer } });
    expect(list.statusCode).toBe(200);
    const classes: Json[] = list.json();
    expect(classes.map((c) => c.fieldClass).sort()).toEqual([...FIELD_CLASSES].sort());
    const samples = ['91441900MA4UABCD5X', '440103199003071234', '广东省临江市江城区人民路1号', 'ABCDEFGH'];
    for (const c of classes) {
      const before = (await preview(c.fieldClass, samples)).json().items;
      const saved = await put(c.fieldClass, c.default);
      expect(saved.statusCode, `${c.fieldClass}: ${saved.body}`).toBe(200);
      expect(saved.json()).toMatchObject({ fieldClass: c.fieldClass, custom: true, rule: c.default });
      // the stored rule is the one in force (a stored rule beyond the limits would be passed over for the default)
      const sent = await preview(c.fieldClass, samples, c.default);
      expect(sent.statusCode, `${c.fieldClass}: ${sent.body}`).toBe(200);
      expect(sent.json().items, c.fieldClass).toEqual(before);
      expect((await preview(c.fieldClass, samples)).json().items, c.fieldClass).toEqual(before);
      expect((await put(c.fieldClass, null)).json()).toMatchObject({ custom: false, rule: c.default });
    }
    const [credit] = (await preview('creditCode', ['91441900MA4UABCD5X'])).json().items;
    expect(credit.masked).toBe('91441900********5X');
    const [other] = (await preview('other', ['ABCDEFGH'])).json().items;
    expect(other.masked).toBe('AB****GH');
  });

  it('a credit code keeps at most its 8 structural characters and its 2 check characters; other classes 6 / 6', async () => {
    expect(KEEP_ENDS_LIMITS.creditCode).toMatchObject({ first: 8, last: 2 });
    const stored = await put('creditCode', { strategy: 'keepEnds', first: 8, last: 0 });
    expect(stored.statusCode, stored.body).toBe(200);
    expect((await preview('creditCode', ['91441900MA4UABCD5X'])).json().items[0].masked).toBe(
      '91441900**********',
    );
    // beyond any class's limit the route's schema refuses; within it, the class's own limit
    const nine = await put('creditCode', { strategy: 'keepEnds', first: 9, last: 0 });
    expect(nine.statusCode).toBe(400);
    expect(nine.json().code).toBe('VALIDATION_FAILED');
    for (const rule of [
      { strategy: 'keepEnds', first: 8, last: 3 },
      { strategy: 'keepEnds', first: -1, last: -1 },
    ]) {
      const r = await put('creditCode', rule);
      expect(r.statusCode, JSON.stringify(rule)).toBe(400);
      expect(r.json().code).toBe('VALIDATION_FAILED');
      expect(r.json().details[0].reasonZh).toContain('开头保留 0–8 个字符、末尾保留 0–2 个字符');
    }
    const idTooLong = await put('idNumber', { strategy: 'keepEnds', first: 7, last: 4 });
    expect(idTooLong.statusCode).toBe(400);
    expect(idTooLong.json().details[0].reason).toContain('0–6 characters at the start and 0–6 at the end');
    // a quarter at each end is for values of no fixed format: both ends -1, never one alone
    expect((await put('address', { strategy: 'keepEnds', first: -1, last: -1 })).statusCode).toBe(200);
    expect((await put('address', { strategy: 'keepEnds', first: -1, last: 2 })).statusCode).toBe(400);
    expect((await put('idNumber', { strategy: 'keepEnds', first: -1, last: -1 })).statusCode).toBe(400);
    expect((await put('address', { strategy: 'keepEnds', first: 6, last: -2 })).statusCode).toBe(400);
    for (const c of ['creditCode', 'address']) expect((await put(c, null)).statusCode).toBe(200);
  });
});
