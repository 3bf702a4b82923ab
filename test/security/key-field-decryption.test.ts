import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAssembly } from '../../src/baselib/assemble.js';
import { explodeLedgerBatches } from '../../src/dataapi/ledger.js';
import { decryptResource } from '../../src/security/key-convert.js';
import {
  consumerWithAllRights,
  dataCaller,
  feedPage,
  importCsv,
  leakTraceByKey,
  newLibrary,
  POPULATION_META,
  publishResource,
  publishVersion,
  recordHistory,
} from '../fixtures/catalog.js';
import { createTestEnv, grantedApp, login, type TestEnv, testIdNumber } from '../helpers.js';

/*
 * Turning the sensitive-personal flag OFF for an encrypted RECORD-KEY field (docs/ENCRYPTION.md "Catalog changes"):
 * the job `keys.decrypt` decrypts the column and rekeys the resource back (rekey.ts with hash → clear key), so `_key`,
 * record_history.rkey and record_change.rkey hold the clear key again. Every answer by key must be the same before and
 * after, the change feed must go on from a cursor taken before without any spurious change (its keyRefs kept), and leak
 * tracing by key must still find the export served before. These tests read the tables directly: without the rekeying
 * `_key` keeps the `H1.` hashes and a get by the clear key answers 404.
 */

const FIELDS = [
  // an ID number record key flagged sensitive-personal (so stored encrypted, `_key` its keyed hash)
  {
    code: 'idNumber',
    name: '身份证号',
    type: 'string',
    isKey: true,
    personal: true,
    sensitivePersonal: true,
    masking: 'idNumber',
  },
  { code: 'name', name: '姓名', type: 'string', length: 20, personal: true, masking: 'name' },
  { code: 'district', name: '所属区县', type: 'string', length: 20 },
  { code: 'age', name: '年龄', type: 'integer' },
];
const RESOURCE = {
  ...POPULATION_META,
  summary: '以身份证号为主键、加密存储的登记数据，用于验证主键字段取消敏感个人信息标记后转回明文存储。',
};
const pid = (i: number) => testIdNumber(7400 + i);

describe('turning an encrypted record-key field back to clear storage (issue 10)', () => {
  let env: TestEnv;
  let officer: string;
  let auditor: string;
  let reviewer: string;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 20, entityRows: 10 } });
    officer = await login(env.app, 'gaj_officer');
    auditor = await login(env.app, 'auditor');
    reviewer = await login(env.app, 'reviewer');
  });
  afterAll(async () => env?.close());

  const publish = (name: string) =>
    publishResource(env, { officer, reviewer }, { ...RESOURCE, name, fields: FIELDS });

  /** A new version turning the key's flag off, published: the key stays encrypted, `keys.decrypt` queued. */
  async function unflagKey(rid: number) {
    await publishVersion(
      env,
      { officer, reviewer },
      rid,
      (f) => (f.code === 'idNumber' ? { ...f, sensitivePersonal: false } : f),
      'keys.decrypt',
    );
    const f = await env.ctx.db
      .selectFrom('resource_field')
      .select(['sensitive_personal', 'encrypted'])
      .where('resource_id', '=', rid)
      .where('code', '=', 'idNumber')
      .executeTakeFirstOrThrow();
    expect(f).toEqual({ sensitive_personal: false, encrypted: true }); // pending: still encrypted
  }

  async function upload(rid: number, body: string, mode = 'upsert') {
    const b = await importCsv(env, officer, rid, body, { query: `mode=${mode}` });
    expect(b.status, JSON.stringify(b)).toBe('committed');
    return b;
  }

  const head = 'idNumber,name,district,age';
  const rows = (from: number, n: number, tag = '') =>
    Array.from({ length: n }, (_, k) => `${pid(from + k)},钱${from + k},城区${tag},${20 + from + k}`);

  const everywhere = async (r: { id: number; table: string }) =>
    [
      JSON.stringify((await sql.raw(`SELECT * FROM ${r.table}`).execute(env.ctx.db)).rows),
      JSON.stringify(
        (await sql`SELECT * FROM record_history WHERE resource_id = ${r.id}`.execute(env.ctx.db)).rows,
      ),
      JSON.stringify(
        (await sql`SELECT * FROM record_change WHERE resource_id = ${r.id}`.execute(env.ctx.db)).rows,
      ),
      JSON.stringify(
        (await sql`SELECT * FROM record_key_ref WHERE resource_id = ${r.id}`.execute(env.ctx.db)).rows,
      ),
    ].join('\n');

  it('the queued keys.decrypt rekeys table, history, change feed and a single-source base library back to the clear key; every answer by key unchanged; audited; a failure mid-job leaves all as before', async () => {
    const r = await publish('加密主键登记（主键转回明文）');
    await upload(r.id, [head, ...rows(0, 8)].join('\n'));
    await upload(r.id, [head, ...rows(0, 2, '（迁入）'), ...rows(8, 1)].join('\n')); // 2 versions + 1 new
    await upload(r.id, `idNumber\n${pid(5)}`, 'delete'); // a deleted record: only history and the feed know it
    for (let i = 0; i <= 8; i++) expect(await everywhere(r)).not.toContain(pid(i)); // hashed, encrypted

    // a base library fed by this resource alone, joined on its record key: its records are keyed by the hash
    const lib = await newLibrary(env, '主键转回明文测试库', 'idNumber');
    await sql`INSERT INTO base_library_field (library_id, ordinal, code, name)
      VALUES (${lib}, 1, 'holderName', '姓名'), (${lib}, 2, 'area', '区县')`.execute(env.ctx.db);
    await sql`INSERT INTO base_library_source (library_id, field_code, priority, resource_id, source_field, key_field)
      VALUES (${lib}, 'holderName', 0, ${r.id}, 'name', 'idNumber'),
        (${lib}, 'area', 0, ${r.id}, 'district', 'idNumber')`.execute(env.ctx.db);
    const assemble = async () => {
      const run = await sql<{
        id: number;
      }>`INSERT INTO base_library_run (library_id, library_version, requested_at)
        VALUES (${lib}, 1, now()) RETURNING id`.execute(env.ctx.db);
      await runAssembly(env.ctx, Number(run.rows[0].id));
    };
    await assemble();
    const library = async () =>
      (
        await sql<{ key: string; vals: unknown; srcs: unknown }>`
        SELECT key, vals, srcs FROM base_library_record WHERE library_id = ${lib} ORDER BY key`.execute(
          env.ctx.db,
        )
      ).rows;
    const libBefore = await library();
    expect(libBefore).toHaveLength(8);
    expect(libBefore.map((x) => x.key)).toContain(env.ctx.fieldKeys.index(pid(0)));

    const g = await consumerWithAllRights(
      env,
      officer,
      r.code,
      ['idNumber', 'name', 'district', 'age'],
      '主键转回明文测试',
    );
    const ask = dataCaller(env, r.code, g);
    const exp = await ask('/export?format=csv');
    expect(exp.statusCode, exp.body).toBe(200);
    expect(exp.body.trimEnd().split('\n')).toHaveLength(9);
    await explodeLedgerBatches(env.ctx.db);
    const history = (key: string) => recordHistory(env, officer, r.id, key);
    const trace = async (key: string) => (await leakTraceByKey(env, auditor, key)).map((x) => x.exportId);
    const feed = async (cursor?: string) => (await feedPage(ask, cursor)).changes;
    const answers = async () => {
      const out: unknown[] = [];
      for (const k of [pid(0), pid(1), pid(8)]) {
        const x = await ask(`/records/${k}`);
        expect(x.statusCode, x.body).toBe(200);
        out.push(x.json().record);
      }
      out.push((await ask(`/records/${pid(5)}`)).statusCode); // deleted
      for (const [k, name] of [
        [pid(1), '钱1'],
        [pid(1), '钱2'],
      ]) {
        const v = await ask('/verify', 'POST', { key: k, match: { name } });
        expect(v.statusCode, v.body).toBe(200);
        out.push(v.json().match);
      }
      out.push((await ask('/records?limit=100')).json().items);
      out.push(await history(pid(0)), await history(pid(5)));
      out.push(await feed());
      out.push(await trace(pid(3)));
      return out;
    };

    // the flag turned off: published pending (still encrypted), the job queued (not run yet)
    await unflagKey(r.id);
    const before = await answers();
    expect(before[3]).toBe(404);
    expect(before.slice(4, 6)).toEqual([true, false]);
    expect(before[6]).toHaveLength(8); // the page
    expect((before[7] as { versions: unknown[] }).versions.length).toBe(2);
    expect((before[8] as { versions: unknown[] }).versions.length).toBeGreaterThan(0);
    expect(before[10]).toHaveLength(1); // leak tracing finds the export by the key
    const refsBefore = new Set((before[9] as { keyRef: string }[]).map((c) => c.keyRef));
    expect(refsBefore.size).toBe(9);
    const half = await ask('/changes?limit=6');
    const cursor = half.json().cursor as string;
    const rest = await feed(cursor);
    expect(rest.length).toBeGreaterThan(0);

    // crash safety: a failure after the table, history and changes were rewritten leaves everything as it was
    const snapshot = await everywhere(r);
    const fields = async () =>
      (
        await env.ctx.db
          .selectFrom('resource_field')
          .select(['code', 'encrypted'])
          .where('resource_id', '=', r.id)
          .orderBy('ordinal')
          .execute()
      ).map((f) => `${f.code}:${f.encrypted}`);
    const fieldsBefore = await fields();
    await sql`CREATE FUNCTION rekey_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure'; END $$`.execute(env.ctx.db);
    await sql`CREATE TRIGGER rekey_test_fail BEFORE INSERT ON record_key_ref
      FOR EACH ROW EXECUTE FUNCTION rekey_test_fail()`.execute(env.ctx.db);
    await expect(decryptResource(env.ctx, r.id)).rejects.toThrow(/injected failure/);
    await sql`DROP TRIGGER rekey_test_fail ON record_key_ref`.execute(env.ctx.db);
    await sql`DROP FUNCTION rekey_test_fail()`.execute(env.ctx.db);
    expect(await everywhere(r)).toEqual(snapshot);
    expect(await fields()).toEqual(fieldsBefore);
    expect(await answers()).toEqual(before);

    // the queued job runs
    await env.ctx.jobs.runDue();
    const job = await env.ctx.db
      .selectFrom('job')
      .select('status')
      .where('kind', '=', 'keys.decrypt')
      .where('key', '=', `r${r.id}`)
      .executeTakeFirstOrThrow();
    expect(job.status).toBe('done');
    expect(await fields()).toEqual(fieldsBefore.map((f) => f.replace('idNumber:true', 'idNumber:false')));

    // `_key` is the clear key in the table, history and changes
    const keys = await sql
      .raw<{ _key: string; c1: string }>(`SELECT _key, c1 FROM ${r.table} ORDER BY _seq`)
      .execute(env.ctx.db);
    expect(keys.rows).toHaveLength(8);
    for (const k of keys.rows) expect(k._key).toBe(k.c1);
    expect(keys.rows.map((k) => k._key)).toContain(pid(0));
    const all = Array.from({ length: 9 }, (_, i) => pid(i)).sort();
    const histKeys = await sql<{ rkey: string }>`
      SELECT DISTINCT rkey FROM record_history WHERE resource_id = ${r.id}`.execute(env.ctx.db);
    expect(histKeys.rows.map((x) => x.rkey).sort()).toEqual([pid(0), pid(1), pid(5)].sort());
    const changeKeys = await sql<{ rkey: string }>`
      SELECT DISTINCT rkey FROM record_change WHERE resource_id = ${r.id}`.execute(env.ctx.db);
    expect(changeKeys.rows.map((x) => x.rkey).sort()).toEqual(all);
    expect(await everywhere(r)).not.toMatch(/"H1\./);
    // the library: the same records, keyed by the clear key (what a new assembly computes from the clear table)
    const libAfter = await library();
    const live = [0, 1, 2, 3, 4, 6, 7, 8].map(pid);
    expect(libAfter.map((x) => x.key).sort()).toEqual([...live].sort());
    const clearOf = new Map(live.map((k) => [env.ctx.fieldKeys.index(k), k]));
    expect(libAfter).toEqual(
      libBefore
        .map((x) => ({ ...x, key: clearOf.get(x.key) }))
        .sort((a, b) => String(a.key).localeCompare(String(b.key))),
    );
    await assemble();
    expect(await library()).toEqual(libAfter);

    // every answer the same, the feed's keyRefs included; the cursor from before goes on with no spurious change
    expect(await answers()).toEqual(before);
    expect(await feed(cursor)).toEqual(rest);

    // a new import of unchanged rows changes nothing; a change is one new version under the same key and pseudonym
    const again = await upload(r.id, [head, ...rows(0, 2, '（迁入）'), ...rows(2, 3)].join('\n'));
    expect([again.rows_inserted, again.rows_updated]).toEqual([0, 0]);
    const moved = await upload(r.id, [head, ...rows(1, 1, '（再迁）')].join('\n'));
    expect(moved.rows_updated).toBe(1);
    const next = await feed(cursor);
    expect(next.slice(0, rest.length)).toEqual(rest);
    expect(next.slice(rest.length)).toHaveLength(1);
    const ref1 = (before[9] as { keyRef: string; version: number }[]).filter((c) => c.version === 2);
    expect(ref1.map((c) => c.keyRef)).toContain(next[next.length - 1].keyRef);
    expect((await history(pid(1))).versions).toHaveLength(3);

    const trail = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision', 'detail'])
      .where('action', 'in', ['key.decrypt', 'key.decrypted'])
      .where('resource_id', '=', r.id)
      .orderBy('id')
      .execute();
    expect(trail.map((a) => `${a.action}:${a.decision}`)).toEqual([
      'key.decrypt:allow',
      'key.decrypted:allow',
    ]);
    expect(trail[0].detail).toMatchObject({ fields: ['idNumber'], via: 'catalog.publish' });
    expect(trail[1].detail).toMatchObject({ fields: ['idNumber'], rows: 8, rekeyed: 9 });
  });

  it('a stored hash that cannot be traced back to a clear key refuses the job (KEY_DECRYPTION_UNMAPPED, audited), nothing changed', async () => {
    const r = await publish('加密主键登记（无法还原）');
    await upload(r.id, [head, ...rows(20, 3)].join('\n'));
    await upload(r.id, `idNumber\n${pid(21)}`, 'delete');
    await unflagKey(r.id);
    // the deleted record's versions are gone (as if purged): only its change row knows its hash
    await sql`DELETE FROM record_history WHERE resource_id = ${r.id}`.execute(env.ctx.db);
    const snapshot = await everywhere(r);
    const err = await decryptResource(env.ctx, r.id).catch((e) => e);
    expect(err.code).toBe('KEY_DECRYPTION_UNMAPPED');
    expect(err.details[0].reason).toContain('1 stored record key');
    expect(await everywhere(r)).toEqual(snapshot);
    const f = await env.ctx.db
      .selectFrom('resource_field')
      .select('encrypted')
      .where('resource_id', '=', r.id)
      .where('code', '=', 'idNumber')
      .executeTakeFirstOrThrow();
    expect(f.encrypted).toBe(true);
    const deny = await env.ctx.db
      .selectFrom('audit_log')
      .select(['decision', 'detail'])
      .where('action', '=', 'key.decrypted')
      .where('resource_id', '=', r.id)
      .execute();
    expect(deny).toHaveLength(1);
    expect(deny[0]).toMatchObject({ decision: 'deny', detail: { code: 'KEY_DECRYPTION_UNMAPPED' } });
  });

  it('decrypted by another node: this node, whose cached metadata still says the key is hashed, answers a get by the clear key at once', async () => {
    const r = await publish('加密主键登记（另一节点转回明文）');
    await upload(r.id, [head, ...rows(30, 2)].join('\n'));
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: r.code,
      fields: ['idNumber', 'name'],
      appName: '主键转回明文双节点',
    });
    const ask = dataCaller(env, r.code, g);
    const get = async (k: string) => {
      const x = await ask(`/records/${k}`);
      expect(x.statusCode, x.body).toBe(200);
      return x.json().record;
    };
    await unflagKey(r.id);
    const before = [await get(pid(30)), await get(pid(31))]; // this node caches the pending metadata
    // ANOTHER node (its own context and metadata cache) runs the job
    expect(await decryptResource({ ...env.ctx }, r.id)).toEqual(['idNumber']);
    expect([await get(pid(30)), await get(pid(31))]).toEqual(before);
    const keys = await sql.raw<{ _key: string }>(`SELECT _key FROM ${r.table}`).execute(env.ctx.db);
    expect(keys.rows.map((x) => x._key).sort()).toEqual([pid(30), pid(31)].sort());
  });
});
