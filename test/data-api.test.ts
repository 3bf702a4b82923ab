import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordReadStats } from '../src/dataapi/service.js';
import { keyedHash } from '../src/shared/secrets.js';
import { clearRows, codeOf, createTestEnv, dataPath, login, type TestEnv } from './helpers.js';

/** the demo's population base library (its GB/T 21063.5 code is issued at load) */
let POPULATION = '';

describe('governed data API under concurrency', () => {
  let env: TestEnv;
  let grantedKey: string;
  let purposeId: string;
  let ungrantedKey: string;
  let ids: string[];

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 3000, entityRows: 100 } });
    POPULATION = await codeOf(env, '人口基础信息');
    const grants = (
      await env.app.inject({ url: '/api/sharing/grants', headers: { cookie: await login(env.app, 'admin') } })
    ).json();
    const grant = grants.find((g: { resource: { code: string } }) => g.resource.code === POPULATION);
    grantedKey = env.demo!.apps.find((a) => a.name === grant.app.name)!.apiKey;
    purposeId = grant.purposeId;
    ungrantedKey = env.demo!.apps.find(
      (a) => !grants.some((g: { app: { name: string } }) => g.app.name === a.name),
    )!.apiKey;
    const table = await env.ctx.db
      .selectFrom('resource')
      .select('data_table')
      .where('code', '=', POPULATION)
      .executeTakeFirstOrThrow();
    // `_key` is the ID number's keyed hash (encrypted at rest): the clear keys, decrypted as the product reads them
    ids = (await clearRows(env, table.data_table!, { orderBy: '_key', limit: 40 })).map((r) => r.key);
  });
  afterAll(async () => env?.close());

  it('DG Art 28/33: 80 concurrent calls of four kinds each get their own answer and their own audit row', async () => {
    const calls = Array.from({ length: 80 }, (_, i) => {
      const kind = (['granted', 'missing', 'ungranted', 'badKey'] as const)[i % 4];
      const key = kind === 'missing' ? `44600019000101${String(i).padStart(4, '0')}` : ids[i % ids.length];
      const apiKey = kind === 'ungranted' ? ungrantedKey : kind === 'badKey' ? 'gs_invalid_key' : grantedKey;
      return { kind, key, apiKey };
    });
    const before = recordReadStats(env.ctx);
    const { rows: beforeRows } = await env.ctx.database.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_log WHERE action = 'data.get'",
      [],
    );
    const responses = await Promise.all(
      calls.map((c) =>
        env.app.inject({
          url: `${dataPath(POPULATION)}/records/${c.key}`,
          headers: { 'x-api-key': c.apiKey, 'x-purpose': purposeId },
        }),
      ),
    );
    const after = recordReadStats(env.ctx);
    // the calls really were answered by fewer statements than calls
    expect(after.calls - before.calls).toBe(80);
    expect(after.statements - before.statements).toBeLessThan(80);

    for (const [i, res] of responses.entries()) {
      const c = calls[i];
      const expected = { granted: 200, missing: 404, ungranted: 403, badKey: 401 }[c.kind];
      expect(res.statusCode, `${c.kind} #${i}`).toBe(expected);
      if (c.kind === 'granted') {
        const body = res.json();
        expect(body.key).toBe(c.key);
        expect(body.record.idNumber).toBe(`${c.key.slice(0, 3)}***********${c.key.slice(14)}`);
        const audit = await env.ctx.db
          .selectFrom('audit_log')
          .selectAll()
          .where('id', '=', body.auditId)
          .executeTakeFirstOrThrow();
        expect(audit).toMatchObject({
          action: 'data.get',
          decision: 'allow',
          // the log holds a keyed hash and the masked key, never the ID number (hardening)
          target_id: keyedHash(env.ctx.secret, c.key),
          target_label: body.record.idNumber,
          rows_returned: 1,
        });
      }
    }
    const audits = await env.ctx.db
      .selectFrom('audit_log')
      .select(['target_id', 'decision', 'rows_returned', 'app_id', 'detail'])
      .where('action', '=', 'data.get')
      .orderBy('id', 'desc')
      .limit(80)
      .execute();
    const { rows: afterRows } = await env.ctx.database.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_log WHERE action = 'data.get'",
      [],
    );
    expect(afterRows[0].n - beforeRows[0].n).toBe(80);
    const count = (pred: (a: (typeof audits)[number]) => boolean) => audits.filter(pred).length;
    expect(count((a) => a.decision === 'allow' && a.rows_returned === 1)).toBe(20);
    expect(count((a) => a.decision === 'allow' && a.rows_returned === 0)).toBe(20);
    expect(count((a) => a.decision === 'deny' && a.app_id !== null)).toBe(20);
    expect(count((a) => a.decision === 'deny' && a.app_id === null)).toBe(20);
    expect(count((a) => (a.detail as { reason?: string }).reason === 'API_KEY_INVALID')).toBe(20);
  });
});
