import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertHooks, decryptHooks } from '../../src/security/key-convert.js';
import {
  assembleLibrary,
  conversionKit,
  flagOff,
  flagOn,
  newLibrary,
  POPULATION_META,
  publishResource,
  publishVersion,
} from '../fixtures/catalog.js';
import { createTestEnv, login, type TestEnv, testIdNumber } from '../helpers.js';

/*
 * A base-library join key that is NOT the resource's record key (docs/ENCRYPTION.md "A base-library join key shared
 * with other resources", "A non-key join field"). Resource A is keyed by a registration number and carries an ID-number
 * column; a library joins A on that column together with a clear source S (keyed by its ID number), and a second
 * library joins A alone on it. A flags the column: in ONE group transaction it is converted as any field (ciphertext +
 * its `c<n>_h` lookup index), A's record keys untouched, S gets a join index, and both libraries are re-keyed
 * clear → index(clear); assembly then joins A on `c<n>_h`. A turns the flag off: the libraries are clear-keyed again
 * (A's part of the mapping from the field's decrypted values, a record A deleted through its record_history), S's join
 * index dropped. Until this was built the catalog refused both versions (FIELD_ENCRYPTION_KEY_FIELD,
 * FIELD_ENCRYPTION_FLIP_REFUSED): the test fails at the first publication without it.
 */

const pid = (i: number) => testIdNumber(9500 + i);
const A_FIELDS = [
  { code: 'regNo', name: '登记编号', type: 'string', isKey: true, length: 20 },
  { code: 'idNumber', name: '身份证号', type: 'string', length: 18 },
  { code: 'name', name: '姓名', type: 'string', length: 20, personal: true, masking: 'name' },
  { code: 'district', name: '所属区县', type: 'string', length: 20 },
];
const S_FIELDS = [
  { code: 'idNo', name: '证件号码', type: 'string', isKey: true, length: 18 },
  { code: 'holder', name: '持证人', type: 'string', length: 20, personal: true, masking: 'name' },
];
const META = {
  ...POPULATION_META,
  summary: '以身份证号（非主键）关联的两个部门的登记数据，用于验证非主键关联键的加密存储转换。',
};

describe('encrypting and decrypting a base-library join field that is not the record key (issue 10)', () => {
  let env: TestEnv;
  let officer: string;
  let reviewer: string;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 10, entityRows: 5 } });
    officer = await login(env.app, 'gaj_officer');
    reviewer = await login(env.app, 'reviewer');
  });
  afterAll(async () => {
    convertHooks.beforeCommit = undefined;
    decryptHooks.beforeCommit = undefined;
    await env?.close();
  });

  const cookies = () => ({ officer, reviewer });
  const { upload, q, idx, hCols, retry } = conversionKit(
    () => env,
    () => officer,
  );
  const lastError = async (kind: string, rid: number) =>
    (
      await env.ctx.db
        .selectFrom('job')
        .select(['last_error'])
        .where('kind', '=', kind)
        .where('key', '=', `r${rid}`)
        .executeTakeFirstOrThrow()
    ).last_error;

  it("flag on: A's ID-number column encrypted, its record keys untouched, S join-indexed, both libraries re-keyed (a failure leaves all as before); flag off: back to the original libraries; assembly and audit agree", async () => {
    const a = await publishResource(env, cookies(), {
      ...META,
      name: '非主键关联键（甲）',
      fields: A_FIELDS,
    });
    const s = await publishResource(env, cookies(), {
      ...META,
      name: '非主键关联键（乙）',
      fields: S_FIELDS,
    });
    await upload(
      a.id,
      ['regNo,idNumber,name,district', ...[0, 1, 2, 3, 4, 5].map((i) => `R${i},${pid(i)},赵${i},城区`)].join(
        '\n',
      ),
    );
    await upload(
      s.id,
      ['idNo,holder', ...[3, 4, 5, 6, 7, 8].map((i) => `${pid(i)},${i === 4 ? '钱四' : `赵${i}`}`)].join(
        '\n',
      ),
    );
    // lib: A (on its non-key ID-number column) and S (on its record key); solo: A alone on the same column
    const lib = await newLibrary(env, '非主键关联测试库', 'idNumber');
    const solo = await newLibrary(env, '非主键单来源测试库', 'idNumber');
    await sql`INSERT INTO base_library_field (library_id, ordinal, code, name)
      VALUES (${lib}, 1, 'holderName', '姓名'), (${lib}, 2, 'reg', '登记编号'),
        (${solo}, 1, 'area', '区县')`.execute(env.ctx.db);
    await sql`INSERT INTO base_library_source (library_id, field_code, priority, resource_id, source_field, key_field)
      VALUES (${lib}, 'holderName', 0, ${a.id}, 'name', 'idNumber'),
        (${lib}, 'holderName', 1, ${s.id}, 'holder', 'idNo'),
        (${lib}, 'reg', 0, ${a.id}, 'regNo', 'idNumber'),
        (${solo}, 'area', 0, ${a.id}, 'district', 'idNumber')`.execute(env.ctx.db);
    const assemble = async (l: number) => {
      const r = await assembleLibrary(env, l);
      expect(r, JSON.stringify(r)).toMatchObject({ status: 'done' });
    };
    const library = async (l: number) => ({
      recs: await q<{ key: string; vals: unknown; srcs: unknown }>(
        `SELECT key, vals, srcs FROM base_library_record WHERE library_id = ${l} ORDER BY key`,
      ),
      conf: await q<{ key: string }>(
        `SELECT id, key, field_code, status, resolution, auth_value, sec_value FROM base_library_conflict
          WHERE library_id = ${l} ORDER BY id`,
      ),
    });
    const mapped = (x: { recs: { key: string }[]; conf: { key: string }[] }) => ({
      recs: x.recs.map((r) => ({ ...r, key: idx(r.key) })).sort((p, o) => (p.key < o.key ? -1 : 1)),
      conf: x.conf.map((c) => ({ ...c, key: idx(c.key) })),
    });
    await assemble(lib);
    await assemble(solo);
    await sql`UPDATE base_library_conflict SET status = 'resolved', resolution = 'authoritative'
      WHERE library_id = ${lib}`.execute(env.ctx.db);
    const clear = { lib: await library(lib), solo: await library(solo) };
    expect(clear.lib.recs).toHaveLength(9);
    expect(clear.lib.conf).toEqual([expect.objectContaining({ key: pid(4), status: 'resolved' })]);
    expect(clear.solo.recs).toHaveLength(6);

    const state = async () => [
      await q(`SELECT * FROM ${a.table} ORDER BY _seq`),
      await q(`SELECT * FROM ${s.table} ORDER BY _seq`),
      await q(`SELECT resource_id, code, encrypted, sensitive_personal, join_indexed FROM resource_field
        WHERE resource_id IN (${a.id}, ${s.id}) ORDER BY resource_id, ordinal`),
      await q(`SELECT rkey, data FROM record_history WHERE resource_id = ${a.id} ORDER BY rkey, version`),
      await q(
        `SELECT indexname FROM pg_indexes WHERE tablename IN ('r_${a.id}', 'r_${s.id}') ORDER BY indexname`,
      ),
      await library(lib),
      await library(solo),
    ];
    const aKeys = await q(`SELECT _key FROM ${a.table} ORDER BY _key`);
    const aChanges = await q(
      `SELECT DISTINCT rkey FROM record_change WHERE resource_id = ${a.id} ORDER BY rkey`,
    );

    // ---- flag on: the catalog accepts it (it refused a non-key join field before), the job is queued
    await publishVersion(env, cookies(), a.id, flagOn('idNumber'), 'keys.encrypt');
    const before = await state();
    convertHooks.beforeCommit = () => {
      throw new Error('injected failure');
    };
    await env.ctx.jobs.runDue();
    convertHooks.beforeCommit = undefined;
    expect(await lastError('keys.encrypt', a.id)).toMatch(/injected failure/);
    expect(await state()).toEqual(before);
    expect(await hCols(a.id)).toEqual([]);
    expect(await hCols(s.id)).toEqual([]);

    await retry('keys.encrypt', a.id);
    await env.ctx.jobs.runDue();
    const flags = async () =>
      (
        await q<{ code: string; encrypted: boolean; join_indexed: boolean }>(
          `SELECT code, encrypted, join_indexed FROM resource_field
            WHERE (resource_id = ${a.id} AND code = 'idNumber') OR (resource_id = ${s.id} AND code = 'idNo')
            ORDER BY resource_id`,
        )
      ).map((f) => [f.code, f.encrypted, f.join_indexed]);
    expect(await flags()).toEqual([
      ['idNumber', true, false],
      ['idNo', false, true],
    ]);
    // A: the column ciphertext with its lookup index; the record keys (and the change feed's) untouched
    expect(await hCols(a.id)).toEqual(['c2_h']);
    for (const r of await q<{ _key: string; c2: string; c2_h: string }>(
      `SELECT _key, c2, c2_h FROM ${a.table}`,
    )) {
      expect(r.c2).not.toMatch(/^[0-9]{17}[0-9X]$/);
      expect(r.c2_h).toBe(idx(env.ctx.fieldKeys.decrypt(r.c2) as string));
    }
    expect(await q(`SELECT _key FROM ${a.table} ORDER BY _key`)).toEqual(aKeys);
    expect(
      await q(`SELECT DISTINCT rkey FROM record_change WHERE resource_id = ${a.id} ORDER BY rkey`),
    ).toEqual(aChanges);
    // S: clear, with its join index
    expect(await hCols(s.id)).toEqual(['c1_h']);
    for (const r of await q<{ c1: string; c1_h: string }>(`SELECT c1, c1_h FROM ${s.table}`))
      expect(r.c1_h).toBe(idx(r.c1));
    // both libraries: the same records and conflict, keyed by the hash
    const hashed = { lib: await library(lib), solo: await library(solo) };
    expect(hashed.lib).toEqual(mapped(clear.lib));
    expect(hashed.solo).toEqual(mapped(clear.solo));
    // a new assembly (A on c2_h, S on c1_h) agrees
    await assemble(lib);
    await assemble(solo);
    expect(await library(lib)).toEqual(hashed.lib);
    expect(await library(solo)).toEqual(hashed.solo);

    // A deletes R0 (no assembly since): idx(pid(0)) is known only to A's record_history
    expect((await upload(a.id, `regNo\nR0`, 'delete')).rows_deleted).toBe(1);

    // ---- flag off: accepted (refused before), keys.decrypt queued; a failure leaves all as it was
    await publishVersion(env, cookies(), a.id, flagOff('idNumber'), 'keys.decrypt');
    const hashedState = await state();
    decryptHooks.beforeCommit = () => {
      throw new Error('injected failure');
    };
    await env.ctx.jobs.runDue();
    decryptHooks.beforeCommit = undefined;
    expect(await lastError('keys.decrypt', a.id)).toMatch(/injected failure/);
    expect(await state()).toEqual(hashedState);
    expect(await hCols(s.id)).toEqual(['c1_h']);

    await retry('keys.decrypt', a.id);
    await env.ctx.jobs.runDue();
    expect(await flags()).toEqual([
      ['idNumber', false, false],
      ['idNo', false, false],
    ]);
    expect(await hCols(a.id)).toEqual([]);
    expect(await hCols(s.id)).toEqual([]);
    expect(
      (await q<{ _key: string; c2: string }>(`SELECT _key, c2 FROM ${a.table} ORDER BY _key`)).map((r) => [
        r._key,
        r.c2,
      ]),
    ).toEqual([1, 2, 3, 4, 5].map((i) => [`R${i}`, pid(i)]));
    // the libraries exactly as before the forward conversion (pid(0) mapped through A's history, the conflict kept)
    expect(await library(lib)).toEqual(clear.lib);
    expect(await library(solo)).toEqual(clear.solo);
    // a new assembly (clear-keyed again) agrees, less the record A deleted
    await assemble(lib);
    await assemble(solo);
    expect((await library(lib)).conf).toEqual(clear.lib.conf);
    expect((await library(solo)).recs).toEqual(clear.solo.recs.filter((r) => r.key !== pid(0)));

    // the audit trail
    const trail = await q<{
      action: string;
      decision: string;
      resource_id: number;
      detail: Record<string, unknown>;
    }>(
      `SELECT action, decision, resource_id, detail FROM audit_log
        WHERE action IN ('key.encrypt', 'key.encrypted', 'key.decrypt', 'key.decrypted', 'key.joinIndexed',
          'key.joinIndexDropped') AND resource_id IN (${a.id}, ${s.id}) ORDER BY id`,
    );
    expect(trail.map((t) => `${t.action}:${t.decision}:${t.resource_id === a.id ? 'A' : 'S'}`)).toEqual([
      'key.encrypt:allow:A',
      'key.joinIndexed:allow:S',
      'key.encrypted:allow:A',
      'key.decrypt:allow:A',
      'key.joinIndexDropped:allow:S',
      'key.decrypted:allow:A',
    ]);
    expect(trail[0].detail).toMatchObject({ fields: ['idNumber'], via: 'catalog.publish' });
    expect(trail[1].detail).toMatchObject({ field: 'idNo', rows: 6, libraryId: lib, joinedWith: a.id });
    expect(trail[2].detail).toMatchObject({
      fields: ['idNumber'],
      rows: 6,
      libraries: [
        { id: lib, rekeyed: 9 },
        { id: solo, rekeyed: 6 },
      ],
      joinIndexed: [{ resourceId: s.id, field: 'idNo', rows: 6 }],
    });
    expect(trail[2].detail).not.toHaveProperty('rekeyed');
    expect(trail[4].detail).toMatchObject({ field: 'idNo', libraryId: lib, decryptedWith: a.id });
    expect(trail[5].detail).toMatchObject({
      fields: ['idNumber'],
      rows: 5,
      libraries: [
        { id: lib, rekeyed: 9 },
        { id: solo, rekeyed: 6 },
      ],
      joinIndexDropped: [{ resourceId: s.id, field: 'idNo' }],
    });
    expect(trail[5].detail).not.toHaveProperty('rekeyed');
  });
});
