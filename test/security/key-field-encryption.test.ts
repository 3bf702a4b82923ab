import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAssembly } from '../../src/baselib/assemble.js';
import { explodeLedgerBatches } from '../../src/dataapi/ledger.js';
import { convertResource } from '../../src/security/key-convert.js';
import {
  consumerWithAllRights,
  dataCaller,
  feedPage,
  importCsv,
  leakTraceByKey,
  newLibrary,
  POPULATION_META,
  publishResource,
  recordHistory,
  storeInClear,
} from '../fixtures/catalog.js';
import { createTestEnv, dataPath, grantedApp, login, type TestEnv, testIdNumber } from '../helpers.js';

/*
 * Converting a clear RECORD-KEY field to encrypted storage (docs/ENCRYPTION.md "Converting a record key"): `_key`
 * becomes the keyed hash of the key, and so does every place keyed by it (record_history, record_change, the feed's key
 * pseudonyms, a base library fed by this resource alone). Every answer by key must be the same before and after, the
 * change feed must go on from a cursor taken before without any spurious change, and leak tracing by key must find the
 * exports served before and after. These tests read the tables directly: without the rekeying the clear ID numbers stay
 * in `_key` and the first assertions after the conversion fail.
 */

const FIELDS = [
  // an ID number is sensitive-personal by its validator: the record key, stored in clear by a pre-040 table
  { code: 'idNumber', name: '身份证号', type: 'string', isKey: true, validator: 'idNumber' },
  { code: 'name', name: '姓名', type: 'string', length: 20, personal: true, masking: 'name' },
  { code: 'district', name: '所属区县', type: 'string', length: 20 },
  { code: 'age', name: '年龄', type: 'integer' },
];
const RESOURCE = {
  ...POPULATION_META,
  summary: '以身份证号为主键、按明文存储的存量登记数据，用于验证主键字段转换为加密存储。',
};
const pid = (i: number) => testIdNumber(7000 + i);

describe('converting a clear record-key field to encrypted storage (issue 10)', () => {
  let env: TestEnv;
  let officer: string;
  let admin: string;
  let auditor: string;
  let reviewer: string;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 20, entityRows: 10 } });
    officer = await login(env.app, 'gaj_officer');
    admin = await login(env.app, 'admin');
    auditor = await login(env.app, 'auditor');
    reviewer = await login(env.app, 'reviewer');
  });
  afterAll(async () => env?.close());

  /** A published resource whose columns are stored in clear, as a table created before migration 040. */
  async function clearResource(name: string, fields: unknown[]) {
    const r = await publishResource(env, { officer, reviewer }, { ...RESOURCE, name, fields });
    await storeInClear(env, r.id);
    return r;
  }

  async function upload(rid: number, body: string, mode = 'upsert') {
    const b = await importCsv(env, officer, rid, body, { query: `mode=${mode}` });
    expect(b.status, JSON.stringify(b)).toBe('committed');
    return b;
  }

  const rows = (from: number, n: number, tag = '') =>
    Array.from({ length: n }, (_, k) => `${pid(from + k)},赵${from + k},城区${tag},${20 + from + k}`);

  it('rekeys table, history, change feed and a single-source base library in the job; every answer by key unchanged; no clear key left; audited; a failure mid-job leaves all as before', async () => {
    const r = await clearResource('存量明文主键登记（主键转换）', FIELDS);
    const head = 'idNumber,name,district,age';
    await upload(r.id, [head, ...rows(0, 8)].join('\n'));
    await upload(r.id, [head, ...rows(0, 2, '（迁入）'), ...rows(8, 1)].join('\n')); // 2 versions + 1 new
    await upload(r.id, `idNumber\n${pid(5)}`, 'delete'); // a deleted record: only history and the feed know it
    const everywhere = async () =>
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
    expect(await everywhere()).toContain(pid(0)); // stored in clear
    expect(await everywhere()).toContain(pid(5));

    // a base library fed by this resource alone, joined on its record key (its records are keyed by the ID number)
    const lib = await newLibrary(env, '主键转换测试库', 'idNumber');
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
    // a conflict recorded under a key of this resource (a library with a single source finds none itself)
    await sql`INSERT INTO base_library_conflict (library_id, key, field_code, auth_resource_id, auth_value,
        sec_resource_id, sec_value, first_run_id, last_run_id, found_at)
      VALUES (${lib}, ${pid(2)}, 'area', ${r.id}, '城区', ${r.id}, '郊区', 0, 0, now())`.execute(env.ctx.db);
    const library = async () => {
      const recs = await sql<{ key: string; vals: Record<string, string>; srcs: unknown }>`
        SELECT key, vals, srcs FROM base_library_record WHERE library_id = ${lib} ORDER BY key`.execute(
        env.ctx.db,
      );
      const conf = await sql<{ key: string; status: string }>`
        SELECT key, field_code, status FROM base_library_conflict WHERE library_id = ${lib} ORDER BY key`.execute(
        env.ctx.db,
      );
      return { recs: recs.rows, conf: conf.rows };
    };
    const libBefore = await library();
    expect(libBefore.recs).toHaveLength(8);
    expect(libBefore.conf).toHaveLength(1);
    expect(libBefore.recs.map((x) => x.key)).toContain(pid(0));

    // the consumer: records, verification, change feed, bulk export
    const g = await consumerWithAllRights(
      env,
      officer,
      r.code,
      ['idNumber', 'name', 'district', 'age'],
      '主键转换测试',
    );
    const ask = dataCaller(env, r.code, g);
    const exportNow = async () => {
      const res = await ask('/export?format=csv');
      expect(res.statusCode, res.body).toBe(200);
      return res.body;
    };
    const firstExport = await exportNow();
    expect(firstExport.trimEnd().split('\n')).toHaveLength(9); // the header and 8 records
    await explodeLedgerBatches(env.ctx.db); // the first export's ledger in data_export_row
    const history = (key: string) => recordHistory(env, officer, r.id, key);
    const trace = async (key: string) =>
      (await leakTraceByKey(env, auditor, key)).map((x) => [x.exportId, x.matchedBy]);
    const feed = (cursor?: string) => feedPage(ask, cursor);
    const answers = async () => {
      const out: unknown[] = [];
      for (const k of [pid(0), pid(1), pid(8)]) {
        const x = await ask(`/records/${k}`);
        expect(x.statusCode, x.body).toBe(200);
        out.push(x.json().record);
      }
      out.push((await ask(`/records/${pid(5)}`)).statusCode); // deleted
      for (const [k, name] of [
        [pid(1), '赵1'],
        [pid(1), '赵2'],
      ]) {
        const v = await ask('/verify', 'POST', { key: k, match: { name } });
        expect(v.statusCode, v.body).toBe(200);
        out.push(v.json().match);
      }
      out.push((await ask('/records?limit=100')).json().items);
      out.push(await history(pid(0)), await history(pid(5)));
      out.push((await feed()).changes);
      out.push(await trace(pid(3)));
      const one = await env.app.inject({
        url: `/api/baselib/libraries/${lib}/records?key=${pid(1)}`,
        headers: { cookie: reviewer },
      });
      expect(one.statusCode, one.body).toBe(200);
      // the record's values and sources (the key is shown as stored: masked clear key before, masked hash after)
      out.push(one.json().items.map((x: { values: unknown; sources: unknown }) => [x.values, x.sources]));
      return out;
    };
    const before = await answers();
    expect(before[3]).toBe(404);
    expect(before.slice(4, 6)).toEqual([true, false]);
    expect(before[6]).toHaveLength(8); // the page
    expect((before[10] as unknown[]).length).toBe(1); // leak tracing finds the first export by key
    expect((before[11] as unknown[]).length).toBe(1);
    // a consumer's cursor, taken half-way through the feed before the conversion
    const half = await ask('/changes?limit=6');
    const cursor = half.json().cursor as string;
    const rest = (await feed(cursor)).changes;
    expect(rest.length).toBeGreaterThan(0);
    const refsBefore = new Set((before[9] as { keyRef: string }[]).map((c) => c.keyRef));
    expect(refsBefore.size).toBe(9); // 9 distinct records ever

    // crash safety: a failure in the middle of the job (after the table and history were rewritten) leaves all as it was
    const snapshot = [await everywhere(), JSON.stringify(await library())];
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
    await expect(convertResource(env.ctx, r.id)).rejects.toThrow(/injected failure/);
    await sql`DROP TRIGGER rekey_test_fail ON record_key_ref`.execute(env.ctx.db);
    await sql`DROP FUNCTION rekey_test_fail()`.execute(env.ctx.db);
    expect([await everywhere(), JSON.stringify(await library())]).toEqual(snapshot);
    expect(await fields()).toEqual(fieldsBefore);
    expect(await answers()).toEqual(before);

    // the administrator's request (no longer refused for a record key), run by the job
    const conv = await env.app.inject({
      method: 'POST',
      url: `/api/security/keys/resources/${r.id}/encrypt`,
      headers: { cookie: admin },
    });
    expect(conv.statusCode, conv.body).toBe(202);
    expect(conv.json().fields).toEqual(['idNumber']);
    await env.ctx.jobs.runDue();

    // no clear key anywhere: `_key`, the key column, history keys and values, change rows, kept feed pseudonyms
    const stored = await everywhere();
    for (let i = 0; i <= 8; i++) expect(stored).not.toContain(pid(i));
    const keys = await sql
      .raw<{ _key: string; c1: string; c1_h: string }>(`SELECT _key, c1, c1_h FROM ${r.table} ORDER BY _seq`)
      .execute(env.ctx.db);
    for (const k of keys.rows) {
      expect(k._key).toMatch(/^H1\./);
      expect(k.c1).toMatch(/^ENC1\./);
      expect(k._key).toBe(k.c1_h);
      expect(k._key).toBe(env.ctx.fieldKeys.index(String(env.ctx.fieldKeys.decrypt(k.c1))));
    }
    const changeKeys = await sql<{ rkey: string }>`
      SELECT DISTINCT rkey FROM record_change WHERE resource_id = ${r.id}`.execute(env.ctx.db);
    expect(changeKeys.rows.map((x) => x.rkey).sort()).toEqual(
      Array.from({ length: 9 }, (_, i) => env.ctx.fieldKeys.index(pid(i))).sort(),
    );
    // the library: the same records, now keyed by the hash (what a new assembly computes from the converted table)
    const libAfter = await library();
    expect(libAfter.recs.map((x) => x.key)).not.toContain(pid(0));
    expect(libAfter.recs.map((x) => x.key)).toContain(env.ctx.fieldKeys.index(pid(0)));
    expect(libAfter.recs.length).toBe(libBefore.recs.length);
    expect(libAfter.conf).toEqual([{ ...libBefore.conf[0], key: env.ctx.fieldKeys.index(pid(2)) }]);
    await assemble();
    expect((await library()).recs).toEqual(libAfter.recs);

    // every answer the same: records, 404 of the deleted one, verification, page, history by key, the whole feed (its
    // keyRefs included), leak tracing by key, the library record by key
    const after = await answers();
    expect(after).toEqual(before);
    // the cursor from before goes on exactly where it was: no spurious change
    expect((await feed(cursor)).changes).toEqual(rest);

    // a second export, after: leak tracing by the clear key finds both (the ledger keeps each export's digest)
    expect((await exportNow()).trimEnd().split('\n')).toHaveLength(9);
    const both = await trace(pid(3));
    expect(both).toHaveLength(2);
    for (const [, matched] of both) expect(matched).toMatchObject({ key: 1 });

    // new imports after the conversion: unchanged rows change nothing, a change is one new version under the same key
    const again = await upload(r.id, [head, ...rows(0, 2, '（迁入）'), ...rows(2, 3)].join('\n'));
    expect([again.rows_inserted, again.rows_updated]).toEqual([0, 0]);
    const moved = await upload(r.id, [head, ...rows(1, 1, '（再迁）')].join('\n'));
    expect(moved.rows_updated).toBe(1);
    const next = (await feed(cursor)).changes;
    expect(next.slice(0, rest.length)).toEqual(rest);
    expect(next.slice(rest.length)).toHaveLength(1);
    // the record's pseudonym is the one its earlier changes had
    const ref1 = (before[9] as { keyRef: string; version: number }[]).filter((c) => c.version === 2);
    expect(ref1.map((c) => c.keyRef)).toContain(next[next.length - 1].keyRef);
    expect((await history(pid(1))).versions).toHaveLength(3);
    expect(await everywhere()).not.toContain(pid(1));

    // the audit: the request and the completion, with the number of keys rewritten
    const trail = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision', 'detail'])
      .where('action', 'in', ['key.encrypt', 'key.encrypted'])
      .where('resource_id', '=', r.id)
      .orderBy('id')
      .execute();
    expect(trail.map((a) => `${a.action}:${a.decision}`)).toEqual([
      'key.encrypt:allow',
      'key.encrypted:allow',
    ]);
    expect(trail[0].detail).toMatchObject({ fields: ['idNumber'], via: 'console' });
    expect(trail[1].detail).toMatchObject({ fields: ['idNumber'], rows: 8, rekeyed: 9 });
  });

  it('a clear record key flagged sensitive-personal by a catalog version publishes; converted (on another node), get by key answers the same at once', async () => {
    const r = await clearResource('存量明文主键登记（目录标记）', [
      { code: 'caseNo', name: '登记编号', type: 'string', isKey: true, length: 20 },
      { code: 'name', name: '姓名', type: 'string', length: 20, personal: true, masking: 'name' },
    ]);
    await upload(r.id, 'caseNo,name\nK1,王一\nK2,王二\n');
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: r.code,
      fields: ['caseNo', 'name'],
      appName: '主键标记测试',
    });
    const get = async (k: string) =>
      (
        await env.app.inject({
          url: `${dataPath(r.code)}/records/${k}`,
          headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
        })
      ).json().record;
    expect(await get('K1')).toBeTruthy();
    const live = await env.app.inject({
      url: `/api/catalog/resources/${r.id}`,
      headers: { cookie: officer },
    });
    const { fields, ...meta } = live.json();
    const save = await env.app.inject({
      method: 'PUT',
      url: `/api/catalog/resources/${r.id}`,
      headers: { cookie: officer },
      payload: {
        ...Object.fromEntries(Object.keys(RESOURCE).map((k) => [k, meta[k]])),
        name: meta.name,
        fields: fields.map((f: Record<string, unknown>) => {
          const { ordinal: _o, columnName: _c, encrypted: _e, ...rest } = f;
          return f.code === 'caseNo' ? { ...rest, personal: true, sensitivePersonal: true } : rest;
        }),
        submit: true,
      },
    });
    expect(save.statusCode, save.body).toBe(200);
    const pub = await env.app.inject({
      method: 'POST',
      url: `/api/catalog/resources/${r.id}/publish`,
      headers: { cookie: reviewer },
      payload: { comment: '同意' },
    });
    expect(pub.statusCode, pub.body).toBe(200);
    const job = await env.ctx.db
      .selectFrom('job')
      .select('status')
      .where('kind', '=', 'keys.encrypt')
      .where('key', '=', `r${r.id}`)
      .executeTakeFirstOrThrow();
    expect(job.status).toBe('queued');
    // published (the key flagged, still stored clear until the job runs): the answers the job must not change
    const before = [await get('K1'), await get('K2')];
    expect(before[1]).toBeTruthy();
    // converted by ANOTHER node (its own context: this node's cached metadata still says the key is stored clear); the
    // data API notices at its next call (the governed statement checks the pending field's storage) and re-reads it
    expect(await convertResource({ ...env.ctx }, r.id)).toEqual(['caseNo']);
    expect([await get('K1'), await get('K2')]).toEqual(before);
    // the job queued at publication finds nothing left to convert
    await env.ctx.jobs.runDue();
    const done = await env.ctx.db
      .selectFrom('job')
      .select('status')
      .where('kind', '=', 'keys.encrypt')
      .where('key', '=', `r${r.id}`)
      .executeTakeFirstOrThrow();
    expect(done.status).toBe('done');
    const keys = await sql.raw<{ _key: string }>(`SELECT _key FROM ${r.table}`).execute(env.ctx.db);
    expect(keys.rows.map((x) => x._key).sort()).toEqual(
      ['K1', 'K2'].map((k) => env.ctx.fieldKeys.index(k)).sort(),
    );
    expect([await get('K1'), await get('K2')]).toEqual(before);
  });
});
