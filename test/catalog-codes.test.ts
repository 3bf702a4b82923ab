import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GBT_CODE_PATTERN, recodeLegacyResources } from '../src/catalog/classes.js';
import { backfillSearchDocuments } from '../src/catalog/search.js';
import * as m045 from '../src/db/migrations/045_resource_code_alias.js';
import { clearRows, codeOf, createTestEnv, dataPath, login, type TestEnv } from './helpers.js';

/*
 * Issue 6 point 1: one coding scheme (GB/T 21063.5: front code from jurisdiction and department, `/`, sequence) for
 * every entry, codes never reused. Entries written before migration 008 kept the foundation's codes
 * (`446000-GAJ-001` in the first demo, `<org code>-NNN` for registrations); migration 045 recodes them and keeps the
 * old code as an alias that still resolves. A data directory from before 008 is simulated by giving demo entries
 * codes of the old forms.
 */
describe('catalog codes from before GB/T 21063.5 (migration 045)', () => {
  let env: TestEnv;
  let population: { id: number; code: string; provider: number };
  let apiKey: string;
  let purposeId: string;
  let recordKey: string;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 20, entityRows: 10 } });
    const code = await codeOf(env, '人口基础信息');
    const r = await env.ctx.db
      .selectFrom('resource')
      .select(['id', 'provider_org_id', 'data_table'])
      .where('code', '=', code)
      .executeTakeFirstOrThrow();
    population = { id: r.id, code, provider: r.provider_org_id };
    const grants = (
      await env.app.inject({ url: '/api/sharing/grants', headers: { cookie: await login(env.app, 'admin') } })
    ).json();
    const grant = grants.find((g: { resource: { code: string } }) => g.resource.code === code);
    apiKey = env.demo!.apps.find((a) => a.name === grant.app.name)!.apiKey;
    purposeId = grant.purposeId;
    // the clear record key (the ID number is encrypted at rest and `_key` is its keyed hash)
    recordKey = (await clearRows(env, r.data_table!, { orderBy: '_key', limit: 1 }))[0].key;
  }, 120_000);
  afterAll(async () => env?.close());

  const nonConforming = async () =>
    (
      await sql<{
        n: number;
      }>`SELECT count(*)::int AS n FROM resource WHERE code !~ ${GBT_CODE_PATTERN}`.execute(env.ctx.db)
    ).rows[0].n;

  it('the demo and every registration since 008 are coded in GB/T 21063.5 form: nothing to recode', async () => {
    expect(await nonConforming()).toBe(0);
    expect(await env.ctx.db.transaction().execute((trx) => recodeLegacyResources(trx))).toEqual([]);
  });

  it('old codes get their provider’s next codes in id order, stay as aliases, and still resolve (data API, related codes, search)', async () => {
    const db = env.ctx.db;
    // a second entry (another department's, if the provider has no other) and one that names the first as related
    const other = await db
      .selectFrom('resource')
      .select(['id', 'code', 'provider_org_id'])
      .where('id', '<>', population.id)
      .orderBy(sql`provider_org_id = ${population.provider}`, 'desc')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const referrer = await db
      .selectFrom('resource')
      .select('id')
      .where('id', 'not in', [population.id, other.id])
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const fronts = new Map(
      (
        await db
          .selectFrom('catalog_code_front')
          .select(['org_id', 'front_code', 'last_seq'])
          .where('org_id', 'in', [population.provider, other.provider_org_id])
          .execute()
      ).map((f) => [f.org_id, f]),
    );
    // a data directory from before migration 008: the first demo's code and a registration's
    const oldA = '446000-GAJ-001';
    const oldB = 'LJ-GAJ-002';
    await db.updateTable('resource').set({ code: oldA }).where('id', '=', population.id).execute();
    await db.updateTable('resource').set({ code: oldB }).where('id', '=', other.id).execute();
    await db
      .updateTable('resource')
      .set({ related_codes: [oldA, 'X-UNKNOWN'] })
      .where('id', '=', referrer.id)
      .execute();
    expect(await nonConforming()).toBe(2);

    const done = await db.transaction().execute((trx) => recodeLegacyResources(trx));
    // in order of id, each the next number of its provider's counter
    const issued = new Map<number, number>();
    const expected = [
      { id: population.id, from: oldA, org: population.provider },
      { id: other.id, from: oldB, org: other.provider_org_id },
    ]
      .sort((x, y) => x.id - y.id)
      .map((e) => {
        const f = fronts.get(e.org)!;
        const n = (issued.get(e.org) ?? f.last_seq) + 1;
        issued.set(e.org, n);
        return { id: e.id, from: e.from, to: `${f.front_code}/${String(n).padStart(6, '0')}` };
      });
    expect(done).toEqual(expected);
    const newCode = done.find((d) => d.id === population.id)!.to;
    expect(newCode).toMatch(new RegExp(GBT_CODE_PATTERN));
    expect(await nonConforming()).toBe(0);
    // the counters moved on: neither number is issued again
    for (const [org, n] of issued)
      expect(
        (
          await db
            .selectFrom('catalog_code_front')
            .select('last_seq')
            .where('org_id', '=', org)
            .executeTakeFirstOrThrow()
        ).last_seq,
      ).toBe(n);
    const aliases = await db
      .selectFrom('resource_code_alias')
      .select(['code', 'resource_id'])
      .orderBy('code')
      .execute();
    expect(aliases).toEqual(
      [
        { code: oldA, resource_id: population.id },
        { code: oldB, resource_id: other.id },
      ].sort((a, b) => a.code.localeCompare(b.code)),
    );
    expect(
      (
        await db
          .selectFrom('resource')
          .select('related_codes')
          .where('id', '=', referrer.id)
          .executeTakeFirstOrThrow()
      ).related_codes,
    ).toEqual([newCode, 'X-UNKNOWN']);
    // idempotent
    expect(await db.transaction().execute((trx) => recodeLegacyResources(trx))).toEqual([]);
    // an alias is never a GB/T 21063.5 code, so the generator can never issue one
    await expect(
      sql`INSERT INTO resource_code_alias (code, resource_id) VALUES (${newCode.replace(/\d{6}$/, '999999')}, ${population.id})`.execute(
        db,
      ),
    ).rejects.toThrow();

    // the data API answers under the old code and the new one, for the same entry
    for (const code of [oldA, newCode]) {
      const res = await env.app.inject({
        url: `${dataPath(code)}/records/${recordKey}`,
        headers: { 'x-api-key': apiKey, 'x-purpose': purposeId },
      });
      expect(res.statusCode, `${code}: ${res.body}`).toBe(200);
      expect(res.json().resourceCode).toBe(newCode);
    }

    // search finds the entry by its old code once start-up has rebuilt its document
    expect(await backfillSearchDocuments(db)).toBe(2);
    const officer = await login(env.app, 'gaj_officer');
    const found = await env.app.inject({
      url: `/api/catalog/resources?q=${encodeURIComponent(oldA)}`,
      headers: { cookie: officer },
    });
    expect(found.statusCode, found.body).toBe(200);
    expect(found.json().items.map((i: { id: number }) => i.id)).toContain(population.id);
    expect(found.json().items.find((i: { id: number }) => i.id === population.id).code).toBe(newCode);

    // a related code given in its old form names the entry, stored under its current code
    const created = await env.app.inject({
      method: 'POST',
      url: '/api/catalog/resources',
      headers: { cookie: officer },
      payload: {
        name: '居住证办理信息（关联旧代码）',
        summary: '居住证申领、签注和换领办理信息。',
        classification: 'department',
        catalogLevel: 'city',
        shareType: 'unconditional',
        shareMethod: 'api',
        openType: 'closed',
        updateCycle: 'daily',
        relatedCodes: [oldA],
        fields: [{ code: 'idNumber', name: '公民身份号码', dataType: 'C', length: 18, isKey: true }],
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().relatedCodes).toEqual([newCode]);
    expect(created.json().related).toEqual([
      expect.objectContaining({ code: newCode, name: '人口基础信息' }),
    ]);
    // and the new entry's own code is the provider's next one, never an old code
    expect(created.json().code).toMatch(new RegExp(GBT_CODE_PATTERN));
  });

  it('migration 045 itself, on a data directory with an old code: creates the alias table and recodes in one go', async () => {
    const db = env.ctx.db;
    const entry = await db
      .selectFrom('resource')
      .select(['id', 'provider_org_id'])
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const front = await db
      .selectFrom('catalog_code_front')
      .select(['front_code', 'last_seq'])
      .where('org_id', '=', entry.provider_org_id)
      .executeTakeFirstOrThrow();
    await m045.down(db as never);
    await db.updateTable('resource').set({ code: 'LJ-XYZ-007' }).where('id', '=', entry.id).execute();
    await db.transaction().execute((trx) => m045.up(trx as never));
    const after = await db
      .selectFrom('resource')
      .select('code')
      .where('id', '=', entry.id)
      .executeTakeFirstOrThrow();
    expect(after.code).toBe(`${front.front_code}/${String(front.last_seq + 1).padStart(6, '0')}`);
    expect(await db.selectFrom('resource_code_alias').select(['code', 'resource_id']).execute()).toEqual([
      { code: 'LJ-XYZ-007', resource_id: entry.id },
    ]);
    expect(await nonConforming()).toBe(0);
  });
});
