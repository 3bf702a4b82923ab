import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptHooks } from '../../src/security/key-convert.js';
import {
  assembleLibrary,
  consumerWithAllRights,
  conversionKit,
  dataCaller,
  flagOff,
  flagOn,
  newLibrary,
  POPULATION_META,
  publishResource,
  publishVersion,
} from '../fixtures/catalog.js';
import { createTestEnv, login, type TestEnv, testIdNumber } from '../helpers.js';

/*
 * Turning the sensitive-personal flag OFF again for a record key that a base library shares with other resources
 * (docs/ENCRYPTION.md "A base-library join key shared with other resources", the reverse). Department A flagged its
 * record key (the library became hash-keyed, S got a join index); A turns the flag off: in ONE group transaction A is
 * decrypted and rekeyed to clear, and the library — no other source storing the key encrypted — turns clear-keyed
 * again (records and conflicts index(clear) → clear, a resolved conflict kept), S's join index dropped. When another
 * source keeps the key encrypted the library stays hash-keyed and A gets a join index. Until this was built the catalog
 * refused the version (FIELD_ENCRYPTION_FLIP_REFUSED): every test fails at its first publication without it.
 */

const pid = (i: number) => testIdNumber(9300 + i);
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
  summary: '以身份证号关联的两个部门的登记数据，用于验证共享关联键转回明文存储。',
};

describe('decrypting a base-library join key shared with another resource (issue 10)', () => {
  let env: TestEnv;
  let officer: string;
  let reviewer: string;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 10, entityRows: 5 } });
    officer = await login(env.app, 'gaj_officer');
    reviewer = await login(env.app, 'reviewer');
  });
  afterAll(async () => {
    decryptHooks.beforeCommit = undefined;
    await env?.close();
  });

  const cookies = () => ({ officer, reviewer });
  const { upload, q, idx, hCols, retry } = conversionKit(
    () => env,
    () => officer,
  );

  /** Two published resources joined by a library on their record keys, assembled; a conflict resolved. */
  const setup = async (tag: string) => {
    const a = await publishResource(env, cookies(), {
      ...META,
      name: `共享关联键解密（甲）${tag}`,
      fields: A_FIELDS,
    });
    const s = await publishResource(env, cookies(), {
      ...META,
      name: `共享关联键解密（乙）${tag}`,
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
    const lib = await newLibrary(env, `共享关联键解密测试库${tag}`, 'idNumber');
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
        `SELECT id, key, field_code, status, resolution, auth_value, sec_value FROM base_library_conflict
          WHERE library_id = ${lib} ORDER BY id`,
      ),
    });
    const byKey = async (k: string) => {
      const one = await env.app.inject({
        url: `/api/baselib/libraries/${lib}/records?key=${k}`,
        headers: { cookie: reviewer },
      });
      expect(one.statusCode, one.body).toBe(200);
      return one.json().items.map((x: { values: unknown; sources: unknown }) => [x.values, x.sources]);
    };
    await assemble();
    await sql`UPDATE base_library_conflict SET status = 'resolved', resolution = 'authoritative'
      WHERE library_id = ${lib}`.execute(env.ctx.db);
    const clear = await library();
    expect(clear.recs).toHaveLength(9);
    expect(clear.conf).toEqual([expect.objectContaining({ key: pid(4), status: 'resolved' })]);
    return { a, s, lib, assemble, library, byKey, clear };
  };

  /** The library's keys mapped (records re-sorted by the mapped key). */
  const mapped = (l: { recs: { key: string }[]; conf: { key: string }[] }, map: (k: string) => string) => ({
    recs: l.recs.map((r) => ({ ...r, key: map(r.key) })).sort((x, y) => (x.key < y.key ? -1 : 1)),
    conf: l.conf.map((c) => ({ ...c, key: map(c.key) })),
  });

  it('A turned back to clear: A rekeyed, the library clear-keyed again (every key mapped back, a deleted source row through its history, the conflict kept), S without join index; a failure mid-group leaves all as before; assembly, reads by key, audit', async () => {
    const { a, s, lib, assemble, library, byKey, clear } = await setup('一');
    const answersClear = [await byKey(pid(1)), await byKey(pid(4)), await byKey(pid(7))];
    const g = await consumerWithAllRights(
      env,
      officer,
      a.code,
      ['idNumber', 'name', 'district'],
      '共享键解密一',
    );
    const ask = dataCaller(env, a.code, g);
    const record = async (k: string) => {
      const x = await ask(`/records/${k}`);
      expect(x.statusCode, x.body).toBe(200);
      return x.json().record;
    };

    // forward: A flagged, the library hash-keyed, S join-indexed
    await publishVersion(env, cookies(), a.id, flagOn('idNumber'), 'keys.encrypt');
    await env.ctx.jobs.runDue();
    expect(await library()).toEqual(mapped(clear, idx));
    expect(await hCols(s.id)).toEqual(['c1_h']);
    // A's records by key through the data API while the key is hashed (the field stays personal: masked the same after)
    const recordsHashed = [await record(pid(0)), await record(pid(5))];
    // S deletes pid(8) (no assembly since): the library's key idx(pid(8)) is known only to S's record_history
    expect((await upload(s.id, `idNo\n${pid(8)}`, 'delete')).rows_deleted).toBe(1);

    const state = async () => [
      await q(`SELECT * FROM ${a.table} ORDER BY _seq`),
      await q(`SELECT * FROM ${s.table} ORDER BY _seq`),
      await q(`SELECT resource_id, code, encrypted, sensitive_personal, join_indexed FROM resource_field
        WHERE resource_id IN (${a.id}, ${s.id}) ORDER BY resource_id, ordinal`),
      await q(`SELECT DISTINCT rkey FROM record_change WHERE resource_id = ${a.id} ORDER BY rkey`),
      await q(`SELECT DISTINCT rkey FROM record_history WHERE resource_id = ${a.id} ORDER BY rkey`),
      await q(
        `SELECT indexname FROM pg_indexes WHERE tablename IN ('r_${a.id}', 'r_${s.id}') ORDER BY indexname`,
      ),
      await library(),
    ];

    // the flag off: the catalog accepts it, the job is queued
    await publishVersion(env, cookies(), a.id, flagOff('idNumber'), 'keys.decrypt');
    const before = await state();

    // a failure at the end of the group's transaction leaves A, S and the library exactly as they were
    decryptHooks.beforeCommit = () => {
      throw new Error('injected failure');
    };
    await env.ctx.jobs.runDue();
    decryptHooks.beforeCommit = undefined;
    const failed = await env.ctx.db
      .selectFrom('job')
      .select(['last_error'])
      .where('kind', '=', 'keys.decrypt')
      .where('key', '=', `r${a.id}`)
      .executeTakeFirstOrThrow();
    expect(failed.last_error).toMatch(/injected failure/);
    expect(await state()).toEqual(before);
    expect(await hCols(s.id)).toEqual(['c1_h']);
    expect(await hCols(a.id)).toEqual(['c1_h']);

    // the retry: done
    await retry('keys.decrypt', a.id);
    await env.ctx.jobs.runDue();
    const fields = await q<{ code: string; encrypted: boolean; join_indexed: boolean }>(
      `SELECT code, encrypted, join_indexed FROM resource_field
        WHERE resource_id IN (${a.id}, ${s.id}) AND ordinal = 1 ORDER BY resource_id`,
    );
    expect(fields.map((f) => [f.code, f.encrypted, f.join_indexed])).toEqual([
      ['idNumber', false, false],
      ['idNo', false, false],
    ]);
    // A clear again: `_key` and the column the clear ID number; no join index anywhere
    for (const r of await q<{ _key: string; c1: string }>(`SELECT _key, c1 FROM ${a.table}`))
      expect(r._key).toBe(r.c1);
    expect(
      (await q<{ _key: string }>(`SELECT _key FROM ${a.table} ORDER BY _key`)).map((r) => r._key),
    ).toEqual([0, 1, 2, 3, 4, 5].map(pid).sort());
    expect(await hCols(a.id)).toEqual([]);
    expect(await hCols(s.id)).toEqual([]);
    // the library: exactly the one before the forward conversion (pid(8) mapped through S's history, the resolved
    // conflict with its id, state and resolution)
    expect(await library()).toEqual(clear);
    // reads by key: the library and A's data API answer as before the conversion
    expect([await byKey(pid(1)), await byKey(pid(4)), await byKey(pid(7))]).toEqual(answersClear);
    expect([await record(pid(0)), await record(pid(5))]).toEqual(recordsHashed);
    // a new assembly (clear-keyed: both sources on their clear columns) agrees; pid(8), deleted from S, leaves it
    await assemble();
    const again = await library();
    expect(again.recs).toEqual(clear.recs.filter((r) => r.key !== pid(8)));
    expect(again.conf).toEqual(clear.conf);

    // the audit: the request at publication, S's join index dropped, the decryption with the library
    const trail = await q<{
      action: string;
      decision: string;
      resource_id: number;
      detail: Record<string, unknown>;
    }>(
      `SELECT action, decision, resource_id, detail FROM audit_log
        WHERE action IN ('key.decrypt', 'key.decrypted', 'key.joinIndexDropped', 'key.joinIndexed')
          AND resource_id IN (${a.id}, ${s.id}) ORDER BY id`,
    );
    expect(trail.map((t) => `${t.action}:${t.decision}:${t.resource_id === a.id ? 'A' : 'S'}`)).toEqual([
      'key.joinIndexed:allow:S',
      'key.decrypt:allow:A',
      'key.joinIndexDropped:allow:S',
      'key.decrypted:allow:A',
    ]);
    expect(trail[1].detail).toMatchObject({ fields: ['idNumber'], via: 'catalog.publish' });
    expect(trail[2].detail).toMatchObject({ field: 'idNo', libraryId: lib, decryptedWith: a.id });
    expect(trail[3].detail).toMatchObject({
      fields: ['idNumber'],
      rows: 6,
      rekeyed: 6,
      libraries: [{ id: lib, rekeyed: 9 }],
      joinIndexDropped: [{ resourceId: s.id, field: 'idNo' }],
    });

    // an import into S afterwards writes no join index (none left) and the library keeps clear keys
    await upload(s.id, `idNo,holder\n${pid(9)},孙九`);
    await assemble();
    expect((await library()).recs.map((r) => r.key)).toContain(pid(9));
  });

  it('another source keeps the key encrypted: the library stays hash-keyed and untouched, A gets a join index; when that source turns back too, the library goes clear-keyed and A loses its join index', async () => {
    const { a, s, lib, assemble, library, byKey, clear } = await setup('二');
    const answersClear = [await byKey(pid(1)), await byKey(pid(4)), await byKey(pid(7))];
    // both flag their keys: the library hash-keyed, both encrypted
    await publishVersion(env, cookies(), a.id, flagOn('idNumber'), 'keys.encrypt');
    await env.ctx.jobs.runDue();
    await publishVersion(env, cookies(), s.id, flagOn('idNo'), 'keys.encrypt');
    await env.ctx.jobs.runDue();
    const hashed = await library();
    expect(hashed).toEqual(mapped(clear, idx));

    // A turns its flag off: S still stores the key encrypted, so the library keeps its hashed keys
    await publishVersion(env, cookies(), a.id, flagOff('idNumber'), 'keys.decrypt');
    await env.ctx.jobs.runDue();
    const aField = await q<{ encrypted: boolean; join_indexed: boolean }>(
      `SELECT encrypted, join_indexed FROM resource_field WHERE resource_id = ${a.id} AND ordinal = 1`,
    );
    expect(aField).toEqual([{ encrypted: false, join_indexed: true }]);
    for (const r of await q<{ _key: string; c1: string; c1_h: string }>(
      `SELECT _key, c1, c1_h FROM ${a.table}`,
    )) {
      expect(r._key).toBe(r.c1);
      expect(r.c1_h).toBe(idx(r.c1));
    }
    expect(await library()).toEqual(hashed);
    await assemble();
    expect(await library()).toEqual(hashed);
    expect([await byKey(pid(1)), await byKey(pid(4)), await byKey(pid(7))]).toEqual(answersClear);
    const aTrail = await q<{ action: string; detail: Record<string, unknown> }>(
      `SELECT action, detail FROM audit_log WHERE action IN ('key.joinIndexed', 'key.decrypted')
        AND resource_id = ${a.id} ORDER BY id`,
    );
    expect(aTrail.map((t) => t.action)).toEqual(['key.joinIndexed', 'key.decrypted']);
    expect(aTrail[0].detail).toMatchObject({ field: 'idNumber', rows: 6, libraries: [lib] });
    expect(aTrail[1].detail).toMatchObject({
      libraries: [],
      joinIndexed: [{ resourceId: a.id, field: 'idNumber', rows: 6 }],
      librariesStillHashed: [lib],
    });

    // S turns its flag off too: no source keeps the key encrypted, the library is clear-keyed again, A's join index goes
    await publishVersion(env, cookies(), s.id, flagOff('idNo'), 'keys.decrypt');
    await env.ctx.jobs.runDue();
    expect(await library()).toEqual(clear);
    expect(await hCols(a.id)).toEqual([]);
    expect(await hCols(s.id)).toEqual([]);
    const joined = await q<{ join_indexed: boolean }>(
      `SELECT join_indexed FROM resource_field WHERE resource_id IN (${a.id}, ${s.id}) AND ordinal = 1`,
    );
    expect(joined).toEqual([{ join_indexed: false }, { join_indexed: false }]);
    await assemble();
    expect(await library()).toEqual(clear);
    expect([await byKey(pid(1)), await byKey(pid(4)), await byKey(pid(7))]).toEqual(answersClear);
  });
  it('a library key no source holds (a resolved conflict of a key gone from every source) refuses the job (KEY_DECRYPTION_UNMAPPED): nothing changed, audited; the next assembly removes it and the retry goes through', async () => {
    const { a, lib, library, clear, assemble } = await setup('三');
    await publishVersion(env, cookies(), a.id, flagOn('idNumber'), 'keys.encrypt');
    await env.ctx.jobs.runDue();
    await sql`INSERT INTO base_library_conflict (library_id, key, field_code, auth_resource_id, auth_value,
        sec_resource_id, sec_value, status, first_run_id, last_run_id, found_at, resolution)
      SELECT library_id, ${idx(pid(99))}, field_code, auth_resource_id, auth_value, sec_resource_id, sec_value,
        'resolved', first_run_id, last_run_id, found_at, resolution
      FROM base_library_conflict WHERE library_id = ${lib}`.execute(env.ctx.db);
    const hashed = await library();
    await publishVersion(env, cookies(), a.id, flagOff('idNumber'), 'keys.decrypt');
    const tableBefore = await q(`SELECT * FROM ${a.table} ORDER BY _seq`);
    await env.ctx.jobs.runDue();
    const job = await env.ctx.db
      .selectFrom('job')
      .select(['last_error'])
      .where('kind', '=', 'keys.decrypt')
      .where('key', '=', `r${a.id}`)
      .executeTakeFirstOrThrow();
    expect(job.last_error).toMatch(/无法从加密数据或历史版本还原为明文主键/);
    expect(await library()).toEqual(hashed);
    expect(await q(`SELECT * FROM ${a.table} ORDER BY _seq`)).toEqual(tableBefore);
    const deny = await q<{ detail: Record<string, unknown> }>(
      `SELECT detail FROM audit_log WHERE action = 'key.decrypted' AND decision = 'deny' AND resource_id = ${a.id}`,
    );
    expect(deny).toHaveLength(1);
    expect(deny[0].detail).toMatchObject({ code: 'KEY_DECRYPTION_UNMAPPED' });
    expect(String(deny[0].detail.reason)).toContain(`base library ${lib}`);
    // the library assembled again, as the refusal says: the conflict of the key no source holds is removed (audited
    // as a count), the resolved conflict of a key the library holds is kept as it was
    await assemble();
    const reassembled = await library();
    expect(reassembled.recs).toEqual(hashed.recs);
    expect(reassembled.conf).toEqual(hashed.conf.filter((c) => c.key !== idx(pid(99))));
    expect(reassembled.conf).toEqual([expect.objectContaining({ key: idx(pid(4)), status: 'resolved' })]);
    const assembled = await q<{ detail: Record<string, unknown> }>(
      `SELECT detail FROM audit_log WHERE action = 'baselib.assembled' AND target_id = '${lib}' ORDER BY id DESC LIMIT 1`,
    );
    expect(assembled[0].detail).toMatchObject({ conflictsRemoved: 1 });
    // the retry turns everything back
    await retry('keys.decrypt', a.id);
    await env.ctx.jobs.runDue();
    expect(await library()).toEqual(clear);
  });
});
