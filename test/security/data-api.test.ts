import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRecord } from '../../src/dataapi/service.js';
import { idNumberCheckChar } from '../../src/ingest/checksums.js';
import { clearRows, codeOf, createTestEnv, dataPath, grantedApp, login, type TestEnv } from '../helpers.js';

/*
 * Adversarial tests of the governed data API (hardening issue, findings 1 and 3 and the data-API parts of the
 * medium findings). Bounded loops, loopback only; they run on PGlite and on PostgreSQL.
 */
/** the demo's population base library (its GB/T 21063.5 code is issued at load) */
let POPULATION = '';

async function dataTable(env: TestEnv, code: string): Promise<string> {
  const r = await env.ctx.db
    .selectFrom('resource')
    .select('data_table')
    .where('code', '=', code)
    .executeTakeFirstOrThrow();
  return r.data_table!;
}

describe('hardening: the governed data API under attack', () => {
  let env: TestEnv;
  let keys: string[];

  beforeAll(async () => {
    env = await createTestEnv({
      demo: { populationRows: 1500, entityRows: 50 },
      config: {
        dataApi: {
          appRatePerSecond: 1000,
          grantCallsPerDay: 100_000,
          grantRowsPerCall: 1000,
          keyFailuresPerMinute: 8,
          enumerationMisses: 20,
        },
      },
    });
    POPULATION = await codeOf(env, '人口基础信息');
    const table = await dataTable(env, POPULATION);
    // `_key` is the ID number's keyed hash (encrypted at rest): the clear keys, decrypted as the product reads them
    keys = (await clearRows(env, table, { limit: 50 })).map((r) => r.key);
  });
  afterAll(async () => env?.close());

  it('finding 1: a key with a NUL byte is refused with a coded 400 and the calls sharing its batch still succeed', async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber', 'name'],
      appName: '就业登记核验（批次隔离）',
    });
    const calls = Array.from({ length: 40 }, (_, i) =>
      env.app.inject({
        url: `${dataPath(POPULATION)}/records/${i % 4 === 0 ? 'a%00b' : keys[i]}`,
        headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
      }),
    );
    const res = await Promise.all(calls);
    for (const [i, r] of res.entries()) {
      if (i % 4 === 0) {
        expect(r.statusCode, `poisoned #${i}`).toBe(400);
        expect(r.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'key' }] });
      } else expect(r.statusCode, `legit #${i}: ${r.body}`).toBe(200);
    }
  });

  it('finding 1: one call whose statement fails does not fail the other calls batched with it', async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber'],
      appName: '就业登记核验（语句隔离）',
    });
    // a client address PostgreSQL cannot store makes that call's statement fail; it joins a batch of 30
    const results = await Promise.allSettled(
      keys
        .slice(0, 30)
        .map((k, i) =>
          getRecord(
            env.ctx,
            { apiKey: g.apiKey, purpose: g.purposeId, clientIp: i === 7 ? 'bad\u0000ip' : '127.0.0.1' },
            POPULATION,
            k,
          ),
        ),
    );
    expect(results[7].status).toBe('rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(29);
  });

  it('GB 11643: a lower-case check letter finds the record (keys are normalised by their validator)', async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber'],
      appName: '就业登记核验（大小写）',
    });
    const table = await dataTable(env, POPULATION);
    const rows = (await clearRows(env, table))
      .filter((r) => r.key.endsWith('X'))
      .slice(0, 1)
      .map((r) => ({ k: r.key }));
    expect(rows).toHaveLength(1);
    const res = await env.app.inject({
      url: `${dataPath(POPULATION)}/records/${rows[0].k.toLowerCase()}`,
      headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().key).toBe(rows[0].k);
  });

  it('finding 3: enumerating a masked ID number is stopped well before success; the app is suspended and provider and auditor alerted', async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber', 'birthDate', 'name'],
      appName: '就业登记核验（枚举）',
    });
    // what the consumer sees: the masked ID and — no longer — the birth date's hidden digits
    const page = (
      await env.app.inject({
        url: `${dataPath(POPULATION)}/records?limit=5`,
        headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
      })
    ).json();
    const victim = page.items[0] as { idNumber: string; birthDate: string };
    expect(victim.idNumber).toMatch(/^446\*{11}[0-9X]{4}$/);
    expect(victim.birthDate).toBe('****-**-**');

    // the attacker's list: checksum-valid numbers with the visible prefix and suffix, the real one at #368
    const suffix = victim.idNumber.slice(14);
    const table = await dataTable(env, POPULATION);
    const rows = (await clearRows(env, table))
      .filter((r) => r.key.startsWith('446') && r.key.slice(-4) === suffix)
      .slice(0, 1)
      .map((r) => ({ k: r.key }));
    const real = rows[0].k;
    const candidates: string[] = [];
    for (let county = 1; candidates.length < 436 && county < 100; county++) {
      for (let day = 1; day <= 28 && candidates.length < 436; day++) {
        const body = `446${String(county).padStart(3, '0')}19${real.slice(8, 12)}${String(day).padStart(2, '0')}${suffix.slice(0, 3)}`;
        const id = body + idNumberCheckChar(body);
        if (id.endsWith(suffix) && id !== real) candidates.push(id);
      }
    }
    candidates.splice(368, 0, real);
    let stoppedAt = -1;
    let found = false;
    for (const [i, c] of candidates.entries()) {
      const r = await env.app.inject({
        url: `${dataPath(POPULATION)}/records/${c}`,
        headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
      });
      if (r.statusCode === 200) found = true;
      if (r.statusCode === 403) {
        expect(r.json().code).toBe('APP_SUSPENDED');
        stoppedAt = i;
        break;
      }
    }
    expect(found).toBe(false);
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeLessThanOrEqual(25);
    // the real number is refused too now, on the list route as well
    const after = await env.app.inject({
      url: `${dataPath(POPULATION)}/records/${real}`,
      headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
    });
    expect(after.json().code).toBe('APP_SUSPENDED');
    const list = await env.app.inject({
      url: `${dataPath(POPULATION)}/records`,
      headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
    });
    expect(list.json().code).toBe('APP_SUSPENDED');

    const alerts = await env.ctx.db
      .selectFrom('notification as n')
      .innerJoin('app_user as u', 'u.id', 'n.user_id')
      .select(['u.username', 'n.kind', 'n.severity'])
      .where('n.app_id', '=', g.appId)
      .execute();
    const who = alerts.map((a) => a.username);
    expect(who).toContain('gaj_officer');
    expect(who).toContain('auditor');
    expect(alerts.every((a) => a.kind === 'security.appSuspended' && a.severity === 'critical')).toBe(true);
    const inbox = (
      await env.app.inject({
        url: '/api/notifications',
        headers: { cookie: await login(env.app, 'gaj_officer') },
      })
    ).json();
    expect(inbox.unread).toBeGreaterThan(0);
    expect(inbox.items[0]).toMatchObject({ kind: 'security.appSuspended', appId: g.appId });
    const audit = await env.ctx.db
      .selectFrom('audit_log')
      .select(['decision', 'detail'])
      .where('action', '=', 'security.appSuspended')
      .where('app_id', '=', g.appId)
      .execute();
    expect(audit).toHaveLength(1);

    // only a platform admin lifts the suspension
    const asOfficer = await env.app.inject({
      method: 'POST',
      url: `/api/security/apps/${g.appId}/reinstate`,
      headers: { cookie: await login(env.app, 'rsj_officer') },
    });
    expect(asOfficer.statusCode).toBe(403);
    const asAdmin = await env.app.inject({
      method: 'POST',
      url: `/api/security/apps/${g.appId}/reinstate`,
      headers: { cookie: await login(env.app, 'admin') },
    });
    expect(asAdmin.statusCode).toBe(200);
    const again = await env.app.inject({
      url: `${dataPath(POPULATION)}/records/${real}`,
      headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
    });
    expect(again.statusCode).toBe(200);
  });

  it("finding 3: a grant's calls per day and rows per call are enforced", async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber'],
      appName: '就业登记核验（配额）',
      quota: { callsPerDay: 5, rowsPerCall: 3 },
    });
    const page = await env.app.inject({
      url: `${dataPath(POPULATION)}/records?limit=10`,
      headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
    });
    expect(page.statusCode).toBe(200);
    expect(page.json().items).toHaveLength(3);
    expect(page.json().limit).toBe(3);
    expect(page.json().next).not.toBeNull();
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await env.app.inject({
        url: `${dataPath(POPULATION)}/records/${keys[i]}`,
        headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
      });
      codes.push(r.statusCode);
      if (r.statusCode === 429) expect(r.json().code).toBe('QUOTA_EXCEEDED');
    }
    // the page was call 1 of 5: four lookups pass, the rest are refused
    expect(codes).toEqual([200, 200, 200, 200, 429, 429]);
  });

  it('finding 3: unknown keys from one address are refused without a lookup once over the limit; a granted key still passes', async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber'],
      appName: '就业登记核验（猜测密钥）',
    });
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await env.app.inject({
        url: `${dataPath(POPULATION)}/records/${keys[0]}`,
        headers: { 'x-api-key': `gs_guess_${i}`, 'x-forwarded-for': `10.9.8.${i}` },
        remoteAddress: '192.0.2.77',
      });
      codes.push(r.statusCode);
    }
    expect(codes.slice(0, 8).every((c) => c === 401)).toBe(true);
    expect(codes.slice(8).every((c) => c === 429)).toBe(true);
    const ok = await env.app.inject({
      url: `${dataPath(POPULATION)}/records/${keys[0]}`,
      headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
      remoteAddress: '192.0.2.77',
    });
    expect(ok.statusCode).toBe(200);
  });
});

describe('hardening: per-app rate limit', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({
      demo: { populationRows: 300, entityRows: 50 },
      config: {
        dataApi: {
          appRatePerSecond: 5,
          grantCallsPerDay: 100_000,
          grantRowsPerCall: 1000,
          keyFailuresPerMinute: 30,
          enumerationMisses: 1000,
        },
      },
    });
    POPULATION = await codeOf(env, '人口基础信息');
  });
  afterAll(async () => env?.close());

  it('finding 3: an app over its calls per second gets 429 RATE_LIMITED', async () => {
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber'],
      appName: '就业登记核验（限流）',
    });
    const res = await Promise.all(
      Array.from({ length: 20 }, () =>
        env.app.inject({
          url: `${dataPath(POPULATION)}/records?limit=1`,
          headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
        }),
      ),
    );
    const limited = res.filter((r) => r.statusCode === 429);
    // 20 calls span at most three one-second windows of 5
    expect(limited.length).toBeGreaterThanOrEqual(5);
    expect(limited.every((r) => r.json().code === 'RATE_LIMITED')).toBe(true);
    expect(res.filter((r) => r.statusCode === 200).length).toBeGreaterThan(0);
  });
});
