import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAssembly } from '../../src/baselib/assemble.js';
import { convertHooks } from '../../src/security/key-convert.js';
import {
  assembleLibrary,
  conversionKit,
  newLibrary,
  POPULATION_META,
  publishResource,
  publishVersion,
} from '../fixtures/catalog.js';
import { createTestEnv, login, type TestEnv, testIdNumber } from '../helpers.js';

/*
 * Turning the sensitive-personal flag ON for a clear base-library join key that the library shares with another
 * resource (docs/ENCRYPTION.md "A base-library join key shared with other resources"). Department A flags its record
 * key; department S (the library's other source) does not. In ONE group transaction A's key is converted as any record
 * key, S gets a join index (`c<n>_h` beside its clear column), and the library's records and conflicts are re-keyed
 * clear → index(clear); assembly then joins both sources on `c<n>_h` and gives the same library. Until this was built
 * the catalog refused the version (FIELD_ENCRYPTION_KEY_FIELD): the first assertions after the publication fail without
 * it, and the join-index assertions on S fail without ingest / rollback / rotation writing it.
 */

const pid = (i: number) => testIdNumber(9100 + i);
// A's key is an ID number typed as a plain string field (not the idNumber validator, which forces the flag): clear
const A_FIELDS = [
  { code: 'idNumber', name: '身份证号', type: 'string', isKey: true, length: 18 },
  { code: 'name', name: '姓名', type: 'string', length: 20, personal: true, masking: 'name' },
  { code: 'district', name: '所属区县', type: 'string', length: 20 },
];
const S_FIELDS = [
  { code: 'idNo', name: '证件号码', type: 'string', isKey: true, length: 18 },
  { code: 'holder', name: '持证人', type: 'string', length: 20, personal: true, masking: 'name' },
];
const META = {
  ...POPULATION_META,
  summary: '以身份证号关联的两个部门的登记数据，用于验证共享关联键转换为加密存储。',
};

describe('encrypting a base-library join key shared with another resource (issue 10)', () => {
  let env: TestEnv;
  let officer: string;
  let reviewer: string;
  let admin: string;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 10, entityRows: 5 } });
    officer = await login(env.app, 'gaj_officer');
    reviewer = await login(env.app, 'reviewer');
    admin = await login(env.app, 'admin');
  });
  afterAll(async () => {
    convertHooks.beforeCommit = undefined;
    await env?.close();
  });

  const cookies = () => ({ officer, reviewer });
  // idx: the keyed hash under index-key version 1 (the resources' version until the rotation at the end)
  const { upload, q, idx } = conversionKit(
    () => env,
    () => officer,
  );

  it('converts A, gives S a join index and re-keys the library in one transaction (a failure leaves all as before); assembly, import, rollback and index-key rotation keep the library; refusals and audit', async () => {
    const a = await publishResource(env, cookies(), {
      ...META,
      name: '共享关联键登记（甲部门）',
      fields: A_FIELDS,
    });
    const s = await publishResource(env, cookies(), {
      ...META,
      name: '共享关联键登记（乙部门）',
      fields: S_FIELDS,
    });
    await upload(
      a.id,
      ['idNumber,name,district', ...[0, 1, 2, 3, 4, 5].map((i) => `${pid(i)},赵${i},城区`)].join('\n'),
    );
    await upload(
      s.id,
      ['idNo,holder', ...[3, 4, 5, 6, 7, 8].map((i) => `${pid(i)},${i === 4 ? '钱四' : `赵${i}`}`)].join(
        '\n',
      ),
    );
    const lib = await newLibrary(env, '共享关联键测试库', 'idNumber');
    await sql`INSERT INTO base_library_field (library_id, ordinal, code, name)
      VALUES (${lib}, 1, 'holderName', '姓名'), (${lib}, 2, 'area', '区县')`.execute(env.ctx.db);
    await sql`INSERT INTO base_library_source (library_id, field_code, priority, resource_id, source_field, key_field)
      VALUES (${lib}, 'holderName', 0, ${a.id}, 'name', 'idNumber'),
        (${lib}, 'holderName', 1, ${s.id}, 'holder', 'idNo'),
        (${lib}, 'area', 0, ${a.id}, 'district', 'idNumber')`.execute(env.ctx.db);
    const assemble = async () => {
      const r = await assembleLibrary(env, lib);
      expect(r, JSON.stringify(r)).toMatchObject({ status: 'done' });
    };
    const library = async () => ({
      recs: await q<{ key: string; vals: unknown; srcs: unknown }>(
        `SELECT key, vals, srcs FROM base_library_record WHERE library_id = ${lib} ORDER BY key`,
      ),
      conf: await q<{ key: string }>(
        `SELECT id, key, field_code, status, auth_value, sec_value FROM base_library_conflict WHERE library_id = ${lib} ORDER BY id`,
      ),
    });
    /** The library with its keys mapped (records re-sorted by the mapped key, as the query sorts them). */
    const mapped = (l: Awaited<ReturnType<typeof library>>, map: (k: string) => string) => ({
      recs: l.recs.map((r) => ({ ...r, key: map(r.key) })).sort((x, y) => (x.key < y.key ? -1 : 1)),
      conf: l.conf.map((c) => ({ ...c, key: map(c.key) })),
    });
    await assemble();
    const clearLib = await library();
    expect(clearLib.recs).toHaveLength(9); // pid 0..8: the union of both sources
    expect(clearLib.conf).toEqual([
      expect.objectContaining({ key: pid(4), field_code: 'holderName', status: 'open' }),
    ]);
    // the authority resolves the conflict: its state must survive the re-keying and the next assembly
    await sql`UPDATE base_library_conflict SET status = 'resolved', resolution = 'authoritative'
      WHERE library_id = ${lib}`.execute(env.ctx.db);
    const before = await library();
    const byKey = async (k: string) => {
      const one = await env.app.inject({
        url: `/api/baselib/libraries/${lib}/records?key=${k}`,
        headers: { cookie: reviewer },
      });
      expect(one.statusCode, one.body).toBe(200);
      return one.json().items.map((x: { values: unknown; sources: unknown }) => [x.values, x.sources]);
    };
    const answersBefore = [await byKey(pid(1)), await byKey(pid(4)), await byKey(pid(7))];
    expect(answersBefore.map((x) => x.length)).toEqual([1, 1, 1]);

    const tableState = async () => [
      await q(`SELECT * FROM ${a.table} ORDER BY _seq`),
      await q(`SELECT * FROM ${s.table} ORDER BY _seq`),
      await q(`SELECT resource_id, code, encrypted, join_indexed FROM resource_field
        WHERE resource_id IN (${a.id}, ${s.id}) ORDER BY resource_id, ordinal`),
      await q(`SELECT DISTINCT rkey FROM record_change WHERE resource_id = ${a.id} ORDER BY rkey`),
      await q(
        `SELECT indexname FROM pg_indexes WHERE tablename IN ('r_${a.id}', 'r_${s.id}') ORDER BY indexname`,
      ),
    ];

    // the catalog no longer refuses the flag on A's key (shared with S): the version publishes, the job is queued
    await publishVersion(
      env,
      cookies(),
      a.id,
      (f) => (f.code === 'idNumber' ? { ...f, personal: true, sensitivePersonal: true } : f),
      'keys.encrypt',
    );
    const stateBefore = await tableState();

    // a failure at the very end of the group's transaction leaves A, S and the library exactly as they were
    convertHooks.beforeCommit = () => {
      throw new Error('injected failure');
    };
    await env.ctx.jobs.runDue();
    convertHooks.beforeCommit = undefined;
    const failed = await env.ctx.db
      .selectFrom('job')
      .select(['status', 'last_error'])
      .where('kind', '=', 'keys.encrypt')
      .where('key', '=', `r${a.id}`)
      .executeTakeFirstOrThrow();
    expect(failed.last_error).toMatch(/injected failure/);
    expect(await tableState()).toEqual(stateBefore);
    expect(await library()).toEqual(before);
    const hCols = async (rid: number) =>
      (
        await q<{ column_name: string }>(`SELECT column_name FROM information_schema.columns
          WHERE table_schema = 'ds' AND table_name = 'r_${rid}' AND column_name LIKE '%\\_h' ORDER BY column_name`)
      ).map((c) => c.column_name);
    expect(await hCols(s.id)).toEqual([]);
    expect(await hCols(a.id)).toEqual([]);

    // the job again (its retry): converted
    await sql`UPDATE job SET run_at = '2000-01-01', status = 'queued'
      WHERE kind = 'keys.encrypt' AND key = ${`r${a.id}`}`.execute(env.ctx.db);
    await env.ctx.jobs.runDue();
    const fields = await q<{ resource_id: number; code: string; encrypted: boolean; join_indexed: boolean }>(
      `SELECT resource_id, code, encrypted, join_indexed FROM resource_field
        WHERE resource_id IN (${a.id}, ${s.id}) AND ordinal = 1 ORDER BY resource_id`,
    );
    expect(fields.map((f) => [f.code, f.encrypted, f.join_indexed])).toEqual([
      ['idNumber', true, false],
      ['idNo', false, true],
    ]);
    // A: its key hashed and encrypted; S: clear values, a join index beside them; _hash of S unchanged (unkeyed)
    for (const r of await q<{ _key: string; c1: string; c1_h: string }>(
      `SELECT _key, c1, c1_h FROM ${a.table}`,
    )) {
      expect(r.c1).toMatch(/^ENC1\./);
      expect(r._key).toBe(r.c1_h);
    }
    const sBefore = stateBefore[1] as { _key: string; _hash: string; c1: string }[];
    const sAfter = await q<{ _key: string; _hash: string; c1: string; c1_h: string }>(
      `SELECT * FROM ${s.table} ORDER BY _seq`,
    );
    expect(sAfter.map((r) => [r._key, r._hash, r.c1])).toEqual(sBefore.map((r) => [r._key, r._hash, r.c1]));
    for (const r of sAfter) expect(r.c1_h).toBe(idx(r.c1));
    expect(await hCols(s.id)).toEqual(['c1_h']);
    // the library: the same records and conflicts (its resolution kept), keyed by the hash
    const hashedLib = await library();
    expect(hashedLib).toEqual(mapped(before, idx));
    for (const r of hashedLib.recs) expect(r.key).toMatch(/^H1\./);
    // a new assembly (both sources joined on c1_h) gives the same library
    await assemble();
    expect(await library()).toEqual(hashedLib);
    expect([await byKey(pid(1)), await byKey(pid(4)), await byKey(pid(7))]).toEqual(answersBefore);

    // the audit: the request at publication, the conversion with the library and the join index, the join index on S
    const trail = await q<{
      action: string;
      decision: string;
      resource_id: number;
      detail: Record<string, unknown>;
    }>(
      `SELECT action, decision, resource_id, detail FROM audit_log
        WHERE action IN ('key.encrypt', 'key.encrypted', 'key.joinIndexed') AND resource_id IN (${a.id}, ${s.id}) ORDER BY id`,
    );
    expect(trail.map((t) => `${t.action}:${t.decision}:${t.resource_id === a.id ? 'A' : 'S'}`)).toEqual([
      'key.encrypt:allow:A',
      'key.joinIndexed:allow:S',
      'key.encrypted:allow:A',
    ]);
    expect(trail[0].detail).toMatchObject({ fields: ['idNumber'], via: 'catalog.publish' });
    expect(trail[1].detail).toMatchObject({ field: 'idNo', rows: 6, libraryId: lib, joinedWith: a.id });
    expect(trail[2].detail).toMatchObject({
      fields: ['idNumber'],
      rows: 6,
      rekeyed: 6,
      libraries: [{ id: lib, rekeyed: 9 }],
      joinIndexed: [{ resourceId: s.id, field: 'idNo', rows: 6 }],
    });

    // an import into S after the conversion writes the join index of the rows it writes; the library follows
    await upload(s.id, `idNo,holder\n${pid(9)},孙九\n${pid(6)},周六`);
    for (const r of await q<{ c1: string; c1_h: string }>(`SELECT c1, c1_h FROM ${s.table}`))
      expect(r.c1_h).toBe(idx(r.c1));
    await assemble();
    const grown = await library();
    expect(grown.recs.map((r) => r.key)).toContain(idx(pid(9)));
    expect(grown.recs).toHaveLength(10);
    expect(grown.recs.find((r) => r.key === idx(pid(6)))?.vals).toEqual({ holderName: '周六', area: null });
    // a rollback restoring a deleted row of S (record_history keeps no join index) writes its join index again
    const del = await upload(s.id, `idNo\n${pid(8)}`, 'delete');
    expect(del.rows_deleted).toBe(1);
    const rb = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/imports/${del.id}/rollback`,
      headers: { cookie: reviewer },
      payload: { reason: '误删' },
    });
    expect(rb.statusCode, rb.body).toBe(200);
    const back = await q<{ c1_h: string | null }>(`SELECT c1_h FROM ${s.table} WHERE c1 = '${pid(8)}'`);
    expect(back).toEqual([{ c1_h: idx(pid(8)) }]);
    await assemble();
    expect((await library()).recs).toEqual(grown.recs);

    // (turning A's flag off again is built since: test/security/join-key-decryption.test.ts)

    // the index-key rotation recomputes S's join index with A's hashes; the library's keys follow; assembly agrees
    const rot = await env.app.inject({
      method: 'POST',
      url: '/api/security/keys/index/rotate',
      headers: { cookie: admin },
    });
    expect(rot.statusCode, rot.body).toBe(202);
    await env.ctx.jobs.runDue();
    const v2 = (v: string) => env.ctx.fieldKeys.index(v, 2);
    const sRotated = await q<{ _hash: string; c1: string; c1_h: string }>(
      `SELECT * FROM ${s.table} ORDER BY _seq`,
    );
    for (const r of sRotated) expect(r.c1_h).toBe(v2(r.c1));
    // S's unchanged-row hash stays unkeyed (S holds no encrypted field)
    for (const r of sRotated) expect(r._hash).not.toMatch(/^H/);
    const rotatedLib = await library();
    expect(rotatedLib.recs.map((r) => r.key).sort()).toEqual(
      grown.recs
        .map((r) => r.key)
        .map((k) => {
          const c = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(pid).find((p) => idx(p) === k) as string;
          return v2(c);
        })
        .sort(),
    );
    await assemble();
    expect((await library()).recs).toEqual(rotatedLib.recs);
    expect(await byKey(pid(7))).toEqual(answersBefore[2]);

    // S's department flags its key too, later: converted like any record key, its join index becomes its lookup index
    // (the column is there already), the library (hash-keyed already) is not re-keyed and assembles the same
    await publishVersion(env, cookies(), s.id, (f) =>
      f.code === 'idNo' ? { ...f, personal: true, sensitivePersonal: true } : f,
    );
    await env.ctx.jobs.runDue();
    const sField = await q<{ encrypted: boolean; join_indexed: boolean }>(
      `SELECT encrypted, join_indexed FROM resource_field WHERE resource_id = ${s.id} AND ordinal = 1`,
    );
    expect(sField).toEqual([{ encrypted: true, join_indexed: false }]);
    for (const r of await q<{ _key: string; c1: string; c1_h: string }>(
      `SELECT _key, c1, c1_h FROM ${s.table}`,
    )) {
      expect(r.c1).toMatch(/^ENC1\./);
      expect(r._key).toBe(r.c1_h);
      expect(r.c1_h).toMatch(/^H2\./);
    }
    expect(await library()).toEqual({ ...rotatedLib, conf: (await library()).conf });
    await assemble();
    expect((await library()).recs).toEqual(rotatedLib.recs);
    expect(await byKey(pid(7))).toEqual(answersBefore[2]);

    // a clear source added to the hash-keyed library afterwards has no join index: the assembly is refused, the
    // library stays as it was (never a clear key beside the hashed ones)
    const t = await publishResource(env, cookies(), {
      ...META,
      name: '共享关联键登记（丙部门）',
      fields: S_FIELDS,
    });
    await upload(t.id, ['idNo,holder', `${pid(9)},孙九`].join('\n'));
    await sql`INSERT INTO base_library_source (library_id, field_code, priority, resource_id, source_field, key_field)
      VALUES (${lib}, 'holderName', 2, ${t.id}, 'holder', 'idNo')`.execute(env.ctx.db);
    const refused = await sql<{
      id: number;
    }>`INSERT INTO base_library_run (library_id, library_version, requested_at)
      VALUES (${lib}, 1, now()) RETURNING id`.execute(env.ctx.db);
    await runAssembly(env.ctx, Number(refused.rows[0].id)).catch(() => undefined);
    const run = await q<{ status: string; error: string | null }>(
      `SELECT status, error FROM base_library_run WHERE id = ${refused.rows[0].id}`,
    );
    expect(run[0].status).not.toBe('done');
    expect(JSON.stringify(run[0])).toMatch(/join index|关联索引/);
    expect((await library()).recs).toEqual(rotatedLib.recs);
    expect((await library()).recs.some((r) => r.key === pid(9))).toBe(false);
  });

  it("a join key that is one part of a composite record key is converted at the administrator's request too (refused FIELD_ENCRYPTION_KEY_FIELD before): audited, its records and its library re-keyed (the catalog path and the reverse: join-composite-key-encryption.test.ts)", async () => {
    const r = await publishResource(env, cookies(), {
      ...META,
      name: '共享关联键登记（复合主键关联）',
      fields: [
        { code: 'caseNo', name: '登记编号', type: 'string', isKey: true, length: 20 },
        { code: 'idNumber', name: '身份证号', type: 'string', isKey: true, length: 18 },
      ],
    });
    await upload(r.id, `caseNo,idNumber\nK1,${pid(1)}\nK2,${pid(2)}\nK3,${pid(1)}`);
    const lib = await newLibrary(env, '复合主键关联管理员转换测试库', 'idNumber');
    await sql`INSERT INTO base_library_field (library_id, ordinal, code, name) VALUES (${lib}, 1, 'no', '编号')`.execute(
      env.ctx.db,
    );
    await sql`INSERT INTO base_library_source (library_id, field_code, priority, resource_id, source_field, key_field)
      VALUES (${lib}, 'no', 0, ${r.id}, 'caseNo', 'idNumber')`.execute(env.ctx.db);
    const run = await assembleLibrary(env, lib);
    expect(run, JSON.stringify(run)).toMatchObject({ status: 'done' });
    const keys = async () =>
      (
        await q<{ key: string }>(`SELECT key FROM base_library_record WHERE library_id = ${lib} ORDER BY key`)
      ).map((x) => x.key);
    const clearKeys = await keys();
    expect(clearKeys).toEqual([pid(1), pid(2)].sort());
    // the administrator's request on the field (flagged by hand, as a pre-040 table): accepted and audited
    await sql`UPDATE resource_field SET personal = true, sensitive_personal = true WHERE resource_id = ${r.id} AND code = 'idNumber'`.execute(
      env.ctx.db,
    );
    const req = await env.app.inject({
      method: 'POST',
      url: `/api/security/keys/resources/${r.id}/encrypt`,
      headers: { cookie: admin },
    });
    expect(req.statusCode, req.body).toBe(202);
    await env.ctx.jobs.runDue();
    // hashed under the resource's own index-key version (the suite rotated the index key above)
    const [{ index_key: version }] = await q<{ index_key: number }>(
      `SELECT index_key FROM resource WHERE id = ${r.id}`,
    );
    const idx = (v: string) => env.ctx.fieldKeys.index(v, Number(version));
    // the composite record keys hashed whole, the library keyed by the hash of the ID number alone
    expect(
      (await q<{ _key: string }>(`SELECT _key FROM ${r.table} ORDER BY _key`)).map((x) => x._key),
    ).toEqual([`K1|${pid(1)}`, `K2|${pid(2)}`, `K3|${pid(1)}`].map(idx).sort());
    expect(await keys()).toEqual(clearKeys.map(idx).sort());
    const again = await assembleLibrary(env, lib);
    expect(again, JSON.stringify(again)).toMatchObject({ status: 'done' });
    expect(await keys()).toEqual(clearKeys.map(idx).sort());
    const trail = await q<{ action: string; decision: string; detail: Record<string, unknown> }>(
      `SELECT action, decision, detail FROM audit_log WHERE action IN ('key.encrypt', 'key.encrypted')
        AND resource_id = ${r.id} ORDER BY id`,
    );
    expect(trail.map((t) => [t.action, t.decision])).toEqual([
      ['key.encrypt', 'allow'],
      ['key.encrypted', 'allow'],
    ]);
    expect(trail[0].detail).toMatchObject({ fields: ['idNumber'], via: 'console' });
    expect(trail[1].detail).toMatchObject({ rekeyed: 3, libraries: [{ id: lib, rekeyed: 2 }] });
  });
});
