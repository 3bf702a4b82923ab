import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawBody } from '../src/http/schemas.js';
import { createTestEnv, login, type TestEnv, userIdOf } from './helpers.js';

/*
 * An attacker's view of every route that writes (POST/PUT/PATCH/DELETE), read from the OpenAPI document so a new
 * route is covered the day it is added: its body is closed and bounded (nothing sent is stored unbounded), and
 * what it refuses has a stable code, zh-CN and en messages, the field at fault, and a row in the refusal audit.
 */

type Schema = Record<string, unknown> & {
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: boolean | Schema;
};
interface Op {
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}

const WRITE = ['post', 'put', 'patch', 'delete'];

/** Where a body schema lets an unbounded string, an unbounded array or unnamed properties through. */
function openSpots(s: Schema | undefined, path: string, out: string[]): string[] {
  if (!s || typeof s !== 'object') return out;
  const types = Array.isArray(s.type) ? s.type : [s.type];
  if (types.includes('string') && s.maxLength === undefined && !s.enum && !s.format && !s.pattern)
    out.push(`${path}: string without maxLength`);
  if (types.includes('array') && s.maxItems === undefined) out.push(`${path}: array without maxItems`);
  if (s.if && s.then && s.else) {
    // `if object then closed object else no object` (the shared no-body schema): the object branch decides
    openSpots(s.then as Schema, path, out);
    return out;
  }
  if (types.includes('object') && s.additionalProperties !== false) {
    if (s.properties) out.push(`${path}: object takes unnamed properties`);
    else if (s.maxProperties === undefined) out.push(`${path}: free object without maxProperties`);
  }
  for (const [k, v] of Object.entries(s.properties ?? {})) openSpots(v, `${path}.${k}`, out);
  if (s.items) openSpots(s.items, `${path}[]`, out);
  if (s.additionalProperties && typeof s.additionalProperties === 'object')
    openSpots(s.additionalProperties, `${path}{}`, out);
  for (const k of ['anyOf', 'oneOf', 'allOf'])
    for (const [i, v] of ((s[k] as Schema[] | undefined) ?? []).entries()) openSpots(v, `${path}|${i}`, out);
  return out;
}

const samplePath = (p: string) =>
  p.replace(/\{(\w+)\}/g, (_, n: string) =>
    n === 'action' ? 'package_search' : /code|class/i.test(n) ? 'X' : '1',
  );

describe('every write route, probed as an attacker', () => {
  let env: TestEnv;
  let admin: string;
  let adminId: number;
  let routes: { method: string; path: string; op: Op }[];

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 50, entityRows: 20 } });
    admin = await login(env.app, 'admin');
    adminId = await userIdOf(env, 'admin');
    const doc = env.app.swagger() as { paths: Record<string, Record<string, Op>> };
    routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([m]) => WRITE.includes(m))
        .map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
    );
    expect(routes.length).toBeGreaterThan(100);
  });
  afterAll(async () => env?.close());

  const jsonBody = (op: Op) => op.requestBody?.content?.['application/json']?.schema;
  /** A raw upload's body is the shared rawBody schema, under each content type it consumes. */
  const rawUpload = (op: Op) =>
    Object.values(op.requestBody?.content ?? {}).some((c) => c.schema?.description === rawBody.description);
  const takesJson = (op: Op) => !!op.requestBody?.content?.['application/json'];

  it('has a closed, bounded JSON body schema (or is a raw upload with its own parser)', () => {
    const open = routes.flatMap(({ method, path, op }) => {
      if (rawUpload(op)) return [];
      const schema = jsonBody(op);
      if (!schema) return [`${method} ${path}: no body schema (any body is taken and ignored)`];
      return openSpots(schema, 'body', []).map((w) => `${method} ${path}: ${w}`);
    });
    expect(open).toEqual([]);
  });

  /** The refusal's body and its audit: code, both languages, the field named, a tally row for the route. */
  async function expectRefusal(
    label: string,
    res: { statusCode: number; json(): unknown },
    method: string,
    path: string,
    principal: string,
    code?: string,
  ) {
    expect(res.statusCode, label).toBeGreaterThanOrEqual(400);
    expect(res.statusCode, label).toBeLessThan(500);
    const b = res.json() as {
      code: string;
      message: string;
      messageEn: string;
      details: { field?: string; row?: number; reason?: string; reasonZh?: string }[];
    };
    if (code) expect(b.code, label).toBe(code);
    expect(b.code, label).toMatch(/^[A-Z_]+$/);
    expect(b.message, label).toMatch(/[\u4e00-\u9fff]/);
    expect(b.messageEn, label).toMatch(/[a-z]/);
    if (b.code === 'VALIDATION_FAILED' || b.code === 'UNSUPPORTED_MEDIA_TYPE') {
      expect(b.details.length, label).toBeGreaterThan(0);
      for (const d of b.details) {
        expect(d.field ?? d.row, label).toBeDefined();
        expect(d.reason, label).toBeTruthy();
        expect(d.reasonZh, label).toMatch(/[\u4e00-\u9fff]/);
      }
    }
    const route = path.replace(/\{(\w+)\}/g, ':$1');
    const tally = await env.ctx.db
      .selectFrom('audit_refusal_tally')
      .select(['count', 'audit_id'])
      .where('method', '=', method)
      .where('route', '=', route)
      .where('code', '=', b.code)
      .where('principal', '=', principal)
      .execute();
    expect(tally.length, `${label}: ${b.code} audited`).toBeGreaterThan(0);
    expect(
      tally.some((t) => t.audit_id !== null),
      `${label}: audit row linked`,
    ).toBe(true);
  }

  it('an unexpected property in a JSON body is 400 VALIDATION_FAILED with the field, zh and en, audited', async () => {
    for (const { method, path, op } of routes) {
      if (rawUpload(op) || path.startsWith('/api/v1/') || path.startsWith('/api/3/')) continue;
      const res = await env.app.inject({
        method: method as 'POST',
        url: samplePath(path),
        headers: { cookie: admin },
        payload: { zzProbe: 'x' },
      });
      await expectRefusal(`${method} ${path}`, res, method, path, `user:${adminId}`, 'VALIDATION_FAILED');
    }
  });

  it('a JSON body sent to a raw-upload route is 415 naming the Content-Type, audited (never a 500)', async () => {
    // a route that reads a JSON file as a file (leak tracing) is not among them
    const uploads = routes.filter((r) => rawUpload(r.op) && !takesJson(r.op));
    expect(uploads.length).toBeGreaterThan(0);
    const officer = await login(env.app, 'gaj_officer');
    const officerId = await userIdOf(env, 'gaj_officer');
    for (const { method, path } of uploads) {
      const res = await env.app.inject({
        method: method as 'POST',
        url: samplePath(path),
        headers: { cookie: officer },
        payload: { zzProbe: 'x' },
      });
      await expectRefusal(
        `${method} ${path}`,
        res,
        method,
        path,
        `user:${officerId}`,
        'UNSUPPORTED_MEDIA_TYPE',
      );
    }
  });

  it('refusals past validation name the fault in Chinese too (roles, objects not found), and are audited', async () => {
    const cases: [
      user: string,
      method: string,
      path: string,
      body: object | undefined,
      code: string,
      zh: string,
    ][] = [
      ['gaj_staff', 'POST', '/api/audit/saved-queries', { name: 'x', filter: {} }, 'FORBIDDEN', '审计员'],
      ['admin', 'POST', '/api/notifications/{id}/read', undefined, 'NOT_FOUND', '通知'],
      ['gaj_officer', 'POST', '/api/sharing/requests/{id}/withdraw', {}, 'NOT_FOUND', '共享申请'],
      ['gaj_officer', 'DELETE', '/api/dataapi/feed-subscriptions/{id}', undefined, 'NOT_FOUND', '变更订阅'],
      ['reviewer', 'POST', '/api/sharing/emergencies/{id}/end', {}, 'NOT_FOUND', '应急共享'],
      ['gaj_officer', 'POST', '/api/sharing/emergencies/{id}/end', {}, 'FORBIDDEN', '数据主管部门'],
      ['gaj_officer', 'POST', '/api/evaluation/runs', { period: '2025' }, 'FORBIDDEN', '考核评估'],
      ['reviewer', 'POST', '/api/evaluation/runs/{id}/publish', undefined, 'NOT_FOUND', '考核不存在'],
      [
        'reviewer',
        'POST',
        '/api/opening/restrictions',
        { accountId: 1, measure: 'restrict', reason: 'x' },
        'CASE_NOT_IN_PROFILE',
        '开放数据使用者',
      ],
    ];
    for (const [user, method, path, body, code, zh] of cases) {
      const cookie = await login(env.app, user);
      const id = await userIdOf(env, user);
      const res = await env.app.inject({
        method: method as 'POST',
        url: path.replace('{id}', '999999'),
        headers: { cookie },
        ...(body ? { payload: body } : {}),
      });
      const label = `${user} ${method} ${path}`;
      await expectRefusal(label, res, method, path, `user:${id}`, code);
      const details = (res.json() as { details: { reasonZh?: string }[] }).details;
      expect(details.length, label).toBeGreaterThan(0);
      for (const d of details) expect(d.reasonZh, label).toContain(zh);
    }
  });

  it('without a session or key every write route is refused with a code, zh and en, and audited', async () => {
    for (const { method, path } of routes) {
      if (path.startsWith('/api/3/')) continue; // the CKAN action API answers in CKAN's own error shape
      const res = await env.app.inject({
        method: method as 'POST',
        url: samplePath(path),
        payload: { zzProbe: 'x' },
      });
      await expectRefusal(`anonymous ${method} ${path}`, res, method, path, 'anon');
    }
  });
});
