import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertHooks, decryptHooks } from '../../src/security/key-convert.js';
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
 * A base-library join key that is ONE PART OF A COMPOSITE RECORD KEY (docs/ENCRYPTION.md "A base-library join key
 * shared with other resources", "A join key that is one part of a composite record key"). Resource A is keyed by an ID
 * number and a visit number (two visits of one person are two records); a library joins A on the ID number together
 * with a clear source S (keyed by its ID number), a second library joins A alone on it. A flags the ID number through
 * the catalog: in ONE group transaction the column is encrypted with its lookup index, A's composite record keys are
 * re-keyed `id|visit` → index(`id|visit`) (as composite-key-rekey.test.ts, alone), S gets a join index and both
 * libraries are re-keyed id → index(id) (as a non-key join field, join-field-encryption.test.ts). A turns the flag off:
 * the composite keys are re-keyed back, the libraries clear-keyed again (A's part of their mapping from the field's
 * decrypted values), S's join index dropped. Until this was built the catalog refused both versions
 * (FIELD_ENCRYPTION_KEY_FIELD, FIELD_ENCRYPTION_FLIP_REFUSED): the test fails at the first publication without it.
 */

const pid = (i: number) => testIdNumber(9800 + i);
const A_FIELDS = [
  {
    code: 'idNumber',
    name: '身份证号',
    type: 'string',
    isKey: true,
    length: 18,
    personal: true,
    masking: 'idNumber',
  },
  { code: 'visitNo', name: '就诊序号', type: 'integer', isKey: true },
  { code: 'name', name: '姓名', type: 'string', length: 20, personal: true, masking: 'name' },
  { code: 'clinic', name: '科室', type: 'string', length: 20 },
];
const S_FIELDS = [
  { code: 'idNo', name: '证件号码', type: 'string', isKey: true, length: 18 },
  { code: 'holder', name: '持证人', type: 'string', length: 20, personal: true, masking: 'name' },
];
const META = {
  ...POPULATION_META,
  summary:
    '以身份证号和就诊序号为联合主键的就诊登记与另一部门的登记数据，用于验证复合主键组成项作为关联键的加密存储转换。',
};

describe('encrypting and decrypting a base-library join key that is one part of a composite record key (issue 10)', () => {
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
  const job = async (kind: string, rid: number) =>
    await env.ctx.db
      .selectFrom('job')
      .select(['status', 'last_error'])
      .where('kind', '=', kind)
      .where('key', '=', `r${rid}`)
      .executeTakeFirstOrThrow();

  it("flag on: A's ID number encrypted, its composite keys re-keyed, S join-indexed, both libraries re-keyed (a failure leaves all as before), reads and a later import keyed right; flag off: all back as before", async () => {
    const a = await publishResource(env, cookies(), {
      ...META,
      name: '复合主键关联键（甲）',
      fields: A_FIELDS,
    });
    const s = await publishResource(env, cookies(), {
      ...META,
      name: '复合主键关联键（乙）',
      fields: S_FIELDS,
    });
    const head = 'idNumber,visitNo,name,clinic';
    // person 0 has two visits (two records of A, one person of the libraries); `007` is normalised to 7 in the key
    await upload(
      a.id,
      [head, ...[0, 1, 2, 3, 4, 5].map((i) => `${pid(i)},007,赵${i},内科`), `${pid(0)},12,赵0,外科`].join(
        '\n',
      ),
    );
    await upload(
      s.id,
      ['idNo,holder', ...[3, 4, 5, 6, 7, 8].map((i) => `${pid(i)},${i === 4 ? '钱四' : `赵${i}`}`)].join(
        '\n',
      ),
    );
    // lib: A (on one part of its composite key) and S (on its record key); solo: A alone on the same part
    const lib = await newLibrary(env, '复合主键关联测试库', 'idNumber');
    const solo = await newLibrary(env, '复合主键单来源测试库', 'idNumber');
    await sql`INSERT INTO base_library_field (library_id, ordinal, code, name)
      VALUES (${lib}, 1, 'holderName', '姓名'), (${lib}, 2, 'dept', '科室'),
        (${solo}, 1, 'dept', '科室')`.execute(env.ctx.db);
    await sql`INSERT INTO base_library_source (library_id, field_code, priority, resource_id, source_field, key_field)
      VALUES (${lib}, 'holderName', 0, ${a.id}, 'name', 'idNumber'),
        (${lib}, 'holderName', 1, ${s.id}, 'holder', 'idNo'),
        (${lib}, 'dept', 0, ${a.id}, 'clinic', 'idNumber'),
        (${solo}, 'dept', 0, ${a.id}, 'clinic', 'idNumber')`.execute(env.ctx.db);
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
    // one record per person (person 0's two visits are one record, its newest visit's clinic)
    expect(clear.lib.recs).toHaveLength(9);
    expect(clear.lib.conf).toEqual([expect.objectContaining({ key: pid(4), status: 'resolved' })]);
    expect(clear.solo.recs).toHaveLength(6);
    expect(JSON.stringify(clear.solo.recs.find((r) => r.key === pid(0)))).toContain('外科');

    // A's record keys: the joined `id|visit` as ingest built it
    const key = (i: number, visit = 7) => `${pid(i)}|${visit}`;
    const allKeys = [...[0, 1, 2, 3, 4, 5].map((i) => key(i)), key(0, 12)].sort();
    const stored = async () => ({
      table: (await q<{ _key: string }>(`SELECT _key FROM ${a.table} ORDER BY _key`)).map((x) => x._key),
      history: (
        await q<{ rkey: string }>(
          `SELECT DISTINCT rkey FROM record_history WHERE resource_id = ${a.id} ORDER BY rkey`,
        )
      ).map((x) => x.rkey),
      changes: (
        await q<{ rkey: string }>(
          `SELECT DISTINCT rkey FROM record_change WHERE resource_id = ${a.id} ORDER BY rkey`,
        )
      ).map((x) => x.rkey),
    });
    const clearKeys = await stored();
    expect(clearKeys.table).toEqual(allKeys);
    expect(clearKeys.changes).toEqual(allKeys);

    // reads by the composite key through the data API
    const g = await consumerWithAllRights(
      env,
      officer,
      a.code,
      ['idNumber', 'visitNo', 'name', 'clinic'],
      '复合主键关联键加密测试',
    );
    const ask = dataCaller(env, a.code, g);
    const answers = async () => {
      const out: unknown[] = [];
      for (const k of [key(0), key(0, 12), key(2), key(5)]) {
        const x = await ask(`/records/${encodeURIComponent(k)}`);
        expect(x.statusCode, `${k}: ${x.body}`).toBe(200);
        out.push(x.json().record);
      }
      out.push((await ask(`/records/${encodeURIComponent(key(0, 8))}`)).statusCode); // never stored
      const v = await ask('/verify', 'POST', { key: key(0, 12), match: { name: '赵0' } });
      expect(v.statusCode, v.body).toBe(200);
      out.push(v.json().match);
      const page = await ask('/records?limit=100');
      expect(page.statusCode, page.body).toBe(200);
      out.push(page.json().items);
      return out;
    };
    const before = await answers();
    expect((before[1] as { clinic: string }).clinic).toBe('外科');
    expect(before.slice(4, 6)).toEqual([404, true]);

    const state = async () => [
      await q(`SELECT * FROM ${a.table} ORDER BY _seq`),
      await q(`SELECT * FROM ${s.table} ORDER BY _seq`),
      await q(`SELECT resource_id, code, encrypted, sensitive_personal, join_indexed FROM resource_field
        WHERE resource_id IN (${a.id}, ${s.id}) ORDER BY resource_id, ordinal`),
      await q(`SELECT rkey, version, data, rhash FROM record_history WHERE resource_id = ${a.id}
        ORDER BY rkey, version`),
      await q(`SELECT seq, rkey FROM record_change WHERE resource_id = ${a.id} ORDER BY seq`),
      await q(`SELECT rkey, ref FROM record_key_ref WHERE resource_id = ${a.id} ORDER BY rkey`),
      await q(
        `SELECT indexname FROM pg_indexes WHERE tablename IN ('r_${a.id}', 'r_${s.id}') ORDER BY indexname`,
      ),
      await library(lib),
      await library(solo),
    ];

    // ---- flag on: the catalog accepts it (it refused one part of a composite key before), the job is queued
    await publishVersion(env, cookies(), a.id, flagOn('idNumber'), 'keys.encrypt');
    const clearState = await state();
    convertHooks.beforeCommit = () => {
      throw new Error('injected failure');
    };
    await env.ctx.jobs.runDue();
    convertHooks.beforeCommit = undefined;
    expect((await job('keys.encrypt', a.id)).last_error).toMatch(/injected failure/);
    expect(await state()).toEqual(clearState);
    expect(await hCols(a.id)).toEqual([]);
    expect(await hCols(s.id)).toEqual([]);

    await retry('keys.encrypt', a.id);
    await env.ctx.jobs.runDue();
    expect(await job('keys.encrypt', a.id)).toMatchObject({ status: 'done' });
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
    // A: the column ciphertext with its lookup index of the ID number alone; every composite key (table, history,
    // changes) the keyed hash of the joined key
    expect(await hCols(a.id)).toEqual(['c1_h']);
    for (const r of await q<{ _key: string; c1: string; c1_h: string; c2: number }>(
      `SELECT _key, c1, c1_h, c2 FROM ${a.table}`,
    )) {
      expect(r.c1).toMatch(/^ENC1\./);
      const id = env.ctx.fieldKeys.decrypt(r.c1) as string;
      expect(r.c1_h).toBe(idx(id));
      expect(r._key).toBe(idx(`${id}|${r.c2}`));
    }
    const hashedKeys = (ks: string[]) => ks.map(idx).sort();
    expect(await stored()).toEqual({
      table: hashedKeys(clearKeys.table),
      history: hashedKeys(clearKeys.history),
      changes: hashedKeys(clearKeys.changes),
    });
    // S: clear, with its join index
    expect(await hCols(s.id)).toEqual(['c1_h']);
    for (const r of await q<{ c1: string; c1_h: string }>(`SELECT c1, c1_h FROM ${s.table}`))
      expect(r.c1_h).toBe(idx(r.c1));
    // both libraries: the same records and the resolved conflict, keyed by the hash of the ID number
    const hashed = { lib: await library(lib), solo: await library(solo) };
    expect(hashed.lib).toEqual(mapped(clear.lib));
    expect(hashed.solo).toEqual(mapped(clear.solo));
    // the data API answers by the composite key as before
    expect(await answers()).toEqual(before);
    // a new assembly (A on c1_h, S on c1_h) agrees: the same persons joined, the conflict still resolved
    await assemble(lib);
    await assemble(solo);
    expect(await library(lib)).toEqual(hashed.lib);
    expect(await library(solo)).toEqual(hashed.solo);

    // a later import into A: a new visit of person 2 is keyed by the hash of its joined key, indexed by its ID number
    const later = await upload(a.id, [head, `${pid(2)},12,赵2,内科`].join('\n'));
    expect(later.rows_inserted).toBe(1);
    const added = await q<{ _key: string; c1: string; c1_h: string }>(
      `SELECT _key, c1, c1_h FROM ${a.table} WHERE _key = '${idx(key(2, 12))}'`,
    );
    expect(added).toHaveLength(1);
    expect(added[0].c1).toMatch(/^ENC1\./);
    expect(added[0].c1_h).toBe(idx(pid(2)));
    const fresh = await ask(`/records/${encodeURIComponent(key(2, 12))}`);
    expect(fresh.statusCode, fresh.body).toBe(200);
    expect(fresh.json().record).toMatchObject({ visitNo: 12, clinic: '内科' });
    // the same person: the libraries keep one record for it, unchanged
    await assemble(lib);
    await assemble(solo);
    expect(await library(lib)).toEqual(hashed.lib);
    expect(await library(solo)).toEqual(hashed.solo);

    // A deletes person 1's only visit (no assembly since): idx(pid(1)) is known only to A's record_history
    expect((await upload(a.id, `idNumber,visitNo\n${pid(1)},7`, 'delete')).rows_deleted).toBe(1);
    const everKeys = [...allKeys, key(2, 12)].sort();
    const unhash = new Map(everKeys.map((k) => [idx(k), k]));
    const keysBack = {
      table: everKeys.filter((k) => k !== key(1)),
      history: (await stored()).history.map((h) => unhash.get(h) ?? h).sort(),
      changes: everKeys,
    };
    const hashedAnswers = await answers();

    // ---- flag off: accepted (refused before), keys.decrypt queued; a failure leaves all as it was
    await publishVersion(env, cookies(), a.id, flagOff('idNumber'), 'keys.decrypt');
    const hashedState = await state();
    decryptHooks.beforeCommit = () => {
      throw new Error('injected failure');
    };
    await env.ctx.jobs.runDue();
    decryptHooks.beforeCommit = undefined;
    expect((await job('keys.decrypt', a.id)).last_error).toMatch(/injected failure/);
    expect(await state()).toEqual(hashedState);
    expect(await hCols(s.id)).toEqual(['c1_h']);

    await retry('keys.decrypt', a.id);
    await env.ctx.jobs.runDue();
    expect(await job('keys.decrypt', a.id)).toMatchObject({ status: 'done' });
    expect(await flags()).toEqual([
      ['idNumber', false, false],
      ['idNo', false, false],
    ]);
    expect(await hCols(a.id)).toEqual([]);
    expect(await hCols(s.id)).toEqual([]);
    // A: the ID number clear, every key the joined clear key again (table, history, changes)
    expect(await stored()).toEqual(keysBack);
    for (const r of await q<{ _key: string; c1: string; c2: number }>(`SELECT _key, c1, c2 FROM ${a.table}`))
      expect(r._key).toBe(`${r.c1}|${r.c2}`);
    // the libraries exactly as before the forward conversion (pid(1) mapped through A's history, the conflict kept)
    expect(await library(lib)).toEqual(clear.lib);
    expect(await library(solo)).toEqual(clear.solo);
    // the data API answers by the clear composite key as before
    expect(await answers()).toEqual(hashedAnswers);
    // a new assembly (clear-keyed again) agrees, less the person A deleted (S still holds none of it)
    await assemble(lib);
    await assemble(solo);
    expect((await library(lib)).conf).toEqual(clear.lib.conf);
    expect((await library(lib)).recs).toEqual(clear.lib.recs.filter((r) => r.key !== pid(1)));
    expect((await library(solo)).recs).toEqual(clear.solo.recs.filter((r) => r.key !== pid(1)));
    // a later import is keyed clear
    await upload(a.id, [head, `${pid(6)},7,赵6,内科`].join('\n'));
    expect(await q(`SELECT c1 FROM ${a.table} WHERE _key = '${key(6)}'`)).toEqual([{ c1: pid(6) }]);

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
      rows: 7,
      rekeyed: 7,
      libraries: [
        { id: lib, rekeyed: 9 },
        { id: solo, rekeyed: 6 },
      ],
      joinIndexed: [{ resourceId: s.id, field: 'idNo', rows: 6 }],
    });
    expect(trail[4].detail).toMatchObject({ field: 'idNo', libraryId: lib, decryptedWith: a.id });
    expect(trail[5].detail).toMatchObject({
      fields: ['idNumber'],
      rows: 7,
      rekeyed: 8,
      libraries: [
        { id: lib, rekeyed: 9 },
        { id: solo, rekeyed: 6 },
      ],
      joinIndexDropped: [{ resourceId: s.id, field: 'idNo' }],
    });
  });
});
