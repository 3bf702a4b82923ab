import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTx } from '../../src/db/index.js';
import { idNumberCheckChar } from '../../src/ingest/checksums.js';
import { indexText } from '../../src/security/index-text.js';
import { joinIndexLibrary, lockLibrarySources } from '../../src/security/library-join.js';
import {
  assembleLibrary,
  consumerWithAllRights,
  conversionKit,
  dataCaller,
  flagOn,
  importCsv,
  newLibrary,
  POPULATION_META,
  publishResource,
  publishVersion,
  storeInClear,
} from '../fixtures/catalog.js';
import { createTestEnv, login, type TestEnv, testIdNumber } from '../helpers.js';

/*
 * A base-library join field that is not a string (docs/ENCRYPTION.md "Join keys of other types"): a date, a decimal, an
 * integer. One source stores it encrypted (its lookup index `c<n>_h` hashed by ingest from the value as written and
 * normalised), the other clear with a join index (hashed from the clear column); the two hashes must come from ONE
 * canonical text of the value (`indexText`, src/security/index-text.ts), or the same person in both sources is two
 * library records. The values are written differently on each side on purpose (`+1.50` / `1.5`, `.5` / `0.50`, `010` /
 * `10.0`, `2020-1-5` / `2020-01-05`, `007` / `7`). Three paths: encrypted from the start with the join index added by
 * the library routine; a clear source converted later by the queued `keys.encrypt` (the group conversion: the library
 * re-keyed clear → index, the other source join-indexed); then an index-key rotation. A clear-keyed library over the
 * same values groups them the same way (its keys are the canonical text too). Verification through the data API on the
 * encrypted field answers as on the clear one for the same non-canonical inputs.
 *
 * The library definition API joins only on a string field validated as an ID number or credit code (a validator
 * applies to string fields only): these join fields are reachable through definitions written otherwise (as the other
 * join-key tests insert them), and the same hashing serves verification on encrypted fields of these types.
 */

interface Kind {
  type: 'date' | 'decimal' | 'integer';
  /** pairs (as written in A, as written in S) that are the same value */
  same: [string, string][];
  /** a value in A only, one in S only */
  onlyA: string;
  onlyS: string;
  /** verification on the encrypted field: (given, the record's value as written) that must match */
  verify: [string, string][];
  /** a value none of those records holds (verification: no match) */
  miss: string;
}

const KINDS: Kind[] = [
  {
    type: 'date',
    same: [
      ['2020-1-5', '2020-01-05'],
      ['2021/03/04', '2021-3-4'],
      ['1999-12-31', '1999/12/31'],
    ],
    onlyA: '2000-02-29',
    onlyS: '2001-01-01',
    verify: [
      ['2020-01-05', '2020-1-5'],
      ['1999-12-31', '1999-12-31'],
    ],
    miss: '2020-01-06',
  },
  {
    type: 'decimal',
    same: [
      ['+1.50', '1.5'],
      ['.5', '0.50'],
      ['010', '10.0'],
      ['-0.0', '0'],
      ['-2.250', '-2.25'],
    ],
    onlyA: '3.14',
    onlyS: '31.4',
    verify: [
      ['1.5', '+1.50'],
      ['10', '010'],
      ['0.5', '.5'],
      ['-2.25000', '-2.250'],
    ],
    miss: '1.51',
  },
  {
    type: 'integer',
    same: [
      ['007', '7'],
      ['+12', '12'],
      ['-0', '0'],
      ['-05', '-5'],
    ],
    onlyA: '100',
    onlyS: '1000',
    verify: [
      ['7', '007'],
      ['007', '007'],
      ['-5', '-05'],
    ],
    miss: '8',
  },
];

const META = {
  ...POPULATION_META,
  summary: '以非字符串类型信息项关联的两个部门的登记数据，用于验证加密存储与明文关联索引的一致性。',
};

describe('base-library join fields of type date, decimal and integer, encrypted in one source and clear in the other (issue 10)', () => {
  let env: TestEnv;
  let officer: string;
  let reviewer: string;
  let admin: string;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 5, entityRows: 3 } });
    officer = await login(env.app, 'gaj_officer');
    reviewer = await login(env.app, 'reviewer');
    admin = await login(env.app, 'admin');
  });
  afterAll(async () => {
    await env?.close();
  });

  const cookies = () => ({ officer, reviewer });
  const { q, upload } = conversionKit(
    () => env,
    () => officer,
  );
  const fieldsA = (k: Kind, encrypted: boolean) => [
    { code: 'regNo', name: '登记编号', type: 'string', isKey: true, length: 20 },
    {
      code: 'jk',
      name: '关联项',
      type: k.type,
      ...(encrypted ? { personal: true, sensitivePersonal: true } : {}),
    },
    { code: 'name', name: '姓名', type: 'string', length: 20, personal: true, masking: 'name' },
  ];
  const fieldsS = (k: Kind) => [
    { code: 'sNo', name: '证件编号', type: 'string', isKey: true, length: 20 },
    { code: 'jk', name: '关联项', type: k.type },
    { code: 'holder', name: '持证人', type: 'string', length: 20, personal: true, masking: 'name' },
  ];
  /** A's and S's rows: pair i is A `R<i>` 甲<i> and S `S<i>` 乙<i>; then A's and S's own values */
  const loadA = (k: Kind, rid: number) =>
    upload(
      rid,
      [
        'regNo,jk,name',
        ...k.same.map(([a], i) => `R${i},${a},甲${i}`),
        `R${k.same.length},${k.onlyA},甲${k.same.length}`,
      ].join('\n'),
    );
  const loadS = (k: Kind, rid: number) =>
    upload(
      rid,
      [
        'sNo,jk,holder',
        ...k.same.map(([, s], i) => `S${i},${s},乙${i}`),
        `S${k.same.length},${k.onlyS},乙${k.same.length}`,
      ].join('\n'),
    );
  /** a library of A (name) and S (holder) joined on `jk` */
  const defineLibrary = async (name: string, a: number, s: number) => {
    const lib = await newLibrary(env, name, 'idNumber');
    await sql`INSERT INTO base_library_field (library_id, ordinal, code, name)
      VALUES (${lib}, 1, 'aName', '甲方姓名'), (${lib}, 2, 'sHolder', '乙方持证人')`.execute(env.ctx.db);
    await sql`INSERT INTO base_library_source (library_id, field_code, priority, resource_id, source_field, key_field)
      VALUES (${lib}, 'aName', 0, ${a}, 'name', 'jk'), (${lib}, 'sHolder', 0, ${s}, 'holder', 'jk')`.execute(
      env.ctx.db,
    );
    return lib;
  };
  const assemble = async (lib: number) => {
    const r = await assembleLibrary(env, lib);
    expect(r, JSON.stringify(r)).toMatchObject({ status: 'done' });
  };
  /** the library's records, each as the set of sources' row names it holds (the key aside) */
  const grouping = async (lib: number) =>
    (
      await q<{ key: string; vals: Record<string, string | null> }>(
        `SELECT key, vals FROM base_library_record WHERE library_id = ${lib}`,
      )
    )
      .map((r) => `${r.vals.aName ?? '-'}/${r.vals.sHolder ?? '-'}`)
      .sort();
  /** what each library must hold: one record per pair (both names), then A's own and S's own */
  const expected = (k: Kind) =>
    [...k.same.map((_, i) => `甲${i}/乙${i}`), `甲${k.same.length}/-`, `-/乙${k.same.length}`].sort();

  for (const k of KINDS) {
    it(`${k.type}: encrypted in A, clear with a join index in S — one library record per person, as in a clear-keyed library; verification on the encrypted field answers as on the clear one`, async () => {
      const tag = `${k.type}`;
      const a = await publishResource(env, cookies(), {
        ...META,
        name: `类型关联加密（${tag}甲）`,
        fields: fieldsA(k, true),
      });
      const s = await publishResource(env, cookies(), {
        ...META,
        name: `类型关联明文（${tag}乙）`,
        fields: fieldsS(k),
      });
      const a2 = await publishResource(env, cookies(), {
        ...META,
        name: `类型关联明文（${tag}丙）`,
        fields: fieldsA(k, false),
      });
      const enc = await q<{ encrypted: boolean }>(
        `SELECT encrypted FROM resource_field WHERE resource_id = ${a.id} AND code = 'jk'`,
      );
      expect(enc).toEqual([{ encrypted: true }]);
      await loadA(k, a.id);
      await loadA(k, a2.id);
      await loadS(k, s.id);

      // A's lookup index is the canonical text's hash of each value as written
      for (const r of await q<{ c2: string; c2_h: string }>(`SELECT c2, c2_h FROM ${a.table}`))
        expect(r.c2_h).toBe(
          env.ctx.fieldKeys.index(indexText({ type: k.type }, env.ctx.fieldKeys.decrypt(r.c2) as string), 1),
        );

      // hash-keyed: A encrypted, S clear; S's join index added by the library routine (what a definition's save runs)
      const lib = await defineLibrary(`类型关联加密库（${tag}）`, a.id, s.id);
      await inTx(env.ctx.db, async (trx) => {
        await lockLibrarySources(trx, [a.id, s.id]);
        await joinIndexLibrary(trx, env.ctx.fieldKeys, lib, { via: 'test' });
      });
      const sField = await q<{ join_indexed: boolean }>(
        `SELECT join_indexed FROM resource_field WHERE resource_id = ${s.id} AND code = 'jk'`,
      );
      expect(sField).toEqual([{ join_indexed: true }]);
      await assemble(lib);
      expect(await grouping(lib)).toEqual(expected(k));
      for (const r of await q<{ key: string }>(
        `SELECT key FROM base_library_record WHERE library_id = ${lib}`,
      ))
        expect(r.key).toMatch(/^H1\./);

      // clear-keyed: A2 (the same values, clear) and S — the same grouping, keyed by the canonical text
      const clearLib = await defineLibrary(`类型关联明文库（${tag}）`, a2.id, s.id);
      await assemble(clearLib);
      expect(await grouping(clearLib)).toEqual(expected(k));
      const clearKeys = (
        await q<{ key: string }>(`SELECT key FROM base_library_record WHERE library_id = ${clearLib}`)
      ).map((r) => r.key);
      for (const key of clearKeys) expect(indexText({ type: k.type }, key)).toBe(key);

      // verification through the data API: the encrypted field (A) answers as the clear one (A2) for the same inputs
      const askA = dataCaller(
        env,
        a.code,
        await consumerWithAllRights(env, officer, a.code, ['regNo', 'jk', 'name'], `类型核验甲${tag}`),
      );
      const askA2 = dataCaller(
        env,
        a2.code,
        await consumerWithAllRights(env, officer, a2.code, ['regNo', 'jk', 'name'], `类型核验丙${tag}`),
      );
      for (const [given, written] of k.verify) {
        const i = k.same.findIndex(([x]) => x === written);
        for (const [ask, who] of [
          [askA, 'encrypted'],
          [askA2, 'clear'],
        ] as const) {
          const v = await ask('/verify', 'POST', { key: `R${i}`, match: { jk: given } });
          expect(v.statusCode, v.body).toBe(200);
          expect({ who, given, match: v.json().match }).toEqual({ who, given, match: true });
          const other = await ask('/verify', 'POST', { key: `R${i}`, match: { jk: k.miss } });
          expect(other.statusCode, other.body).toBe(200);
          expect({ who, given, match: other.json().match }).toEqual({ who, given, match: false });
        }
      }

      // the conversion path: A2 flagged later → the queued keys.encrypt converts A2 in one group transaction with S
      // (S already join-indexed for `lib`) and re-keys the clear-keyed library clear → index(canonical text)
      await publishVersion(env, cookies(), a2.id, flagOn('jk'), 'keys.encrypt');
      await env.ctx.jobs.runDue();
      const a2Field = await q<{ encrypted: boolean }>(
        `SELECT encrypted FROM resource_field WHERE resource_id = ${a2.id} AND code = 'jk'`,
      );
      expect(a2Field).toEqual([{ encrypted: true }]);
      for (const r of await q<{ c2: string; c2_h: string }>(`SELECT c2, c2_h FROM ${a2.table}`))
        expect(r.c2_h).toBe(
          env.ctx.fieldKeys.index(indexText({ type: k.type }, env.ctx.fieldKeys.decrypt(r.c2) as string), 1),
        );
      const rekeyed = (
        await q<{ key: string }>(`SELECT key FROM base_library_record WHERE library_id = ${clearLib}`)
      ).map((r) => r.key);
      expect(rekeyed.sort()).toEqual(clearKeys.map((x) => env.ctx.fieldKeys.index(x, 1)).sort());
      await assemble(clearLib);
      expect(await grouping(clearLib)).toEqual(expected(k));
      expect(
        (await q<{ key: string }>(`SELECT key FROM base_library_record WHERE library_id = ${clearLib}`))
          .map((r) => r.key)
          .sort(),
      ).toEqual(rekeyed.sort());
      // A and A2 now hash every value alike: the two encrypted sources' indexes agree row by row
      const ah = await q<{ h: string }>(`SELECT c2_h AS h FROM ${a.table} ORDER BY _key`);
      const a2h = await q<{ h: string }>(`SELECT c2_h AS h FROM ${a2.table} ORDER BY _key`);
      expect(a2h).toEqual(ah);
      for (const [given, written] of k.verify) {
        const i = k.same.findIndex(([x]) => x === written);
        const v = await askA2('/verify', 'POST', { key: `R${i}`, match: { jk: given } });
        expect({ given, match: v.json().match }).toEqual({ given, match: true });
      }
    });
  }

  it('an index-key rotation re-hashes every type from the same canonical text: the libraries assemble the same', async () => {
    const libs = (
      await q<{ id: number }>(`SELECT id FROM base_library WHERE name LIKE '类型关联%' ORDER BY id`)
    ).map((r) => Number(r.id));
    expect(libs).toHaveLength(KINDS.length * 2);
    const before = new Map<number, string[]>();
    for (const l of libs) before.set(l, await grouping(l));
    const rot = await env.app.inject({
      method: 'POST',
      url: '/api/security/keys/index/rotate',
      headers: { cookie: admin },
    });
    expect(rot.statusCode, rot.body).toBe(202);
    await env.ctx.jobs.runDue();
    const v = await q<{ index_key: number }>(
      `SELECT DISTINCT index_key FROM resource WHERE name LIKE '类型关联%'`,
    );
    expect(v).toEqual([{ index_key: 2 }]);
    for (const l of libs) {
      for (const r of await q<{ key: string }>(`SELECT key FROM base_library_record WHERE library_id = ${l}`))
        expect(r.key).toMatch(/^H2\./);
      const keys = (await q<{ key: string }>(`SELECT key FROM base_library_record WHERE library_id = ${l}`))
        .map((r) => r.key)
        .sort();
      await assemble(l);
      expect(await grouping(l)).toEqual(before.get(l));
      expect(
        (await q<{ key: string }>(`SELECT key FROM base_library_record WHERE library_id = ${l}`))
          .map((r) => r.key)
          .sort(),
      ).toEqual(keys);
    }
  });

  it('an ID-number join key: a clear value kept lower-case with spaces (a table written before ingest normalised it) joins the encrypted one; full-width digits are refused at ingest; by-key lookups take any case', async () => {
    // an ID number whose check character is X, and another
    const seqX = Array.from({ length: 200 }, (_, i) => 9700 + i).find((n) => testIdNumber(n).endsWith('X'))!;
    const px = testIdNumber(seqX);
    const py = testIdNumber(seqX + 1);
    const a = await publishResource(env, cookies(), {
      ...META,
      name: '身份证号变体关联（甲，加密）',
      fields: [
        { code: 'idNumber', name: '身份证号', type: 'string', isKey: true, validator: 'idNumber' },
        { code: 'name', name: '姓名', type: 'string', length: 20, personal: true, masking: 'name' },
      ],
    });
    const s = await publishResource(env, cookies(), {
      ...META,
      name: '身份证号变体关联（乙，明文）',
      fields: [
        { code: 'sNo', name: '登记编号', type: 'string', isKey: true, length: 20 },
        { code: 'idNo', name: '身份证号', type: 'string', validator: 'idNumber' },
        { code: 'holder', name: '持证人', type: 'string', length: 20, personal: true, masking: 'name' },
      ],
    });
    await storeInClear(env, s.id); // laid out as migration 040 left older tables: the ID number stored clear
    // ingest trims and upper-cases an ID number, whatever the file says
    await upload(a.id, ['idNumber,name', ` ${px.toLowerCase()} ,甲X`, `${py},甲Y`].join('\n'));
    await upload(s.id, ['sNo,idNo,holder', `S0,${px},乙X`, `S1,${py.toLowerCase()},乙Y`].join('\n'));
    expect(await q(`SELECT c2 FROM ${s.table} ORDER BY _seq`)).toEqual([{ c2: px }, { c2: py }]);
    // full-width digits are not an ID number: refused, coded and bilingual, nothing stored
    const fw = [...px].map((c) => (c >= '0' && c <= '9' ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c));
    const refused = await importCsv(
      env,
      officer,
      s.id,
      ['sNo,idNo,holder', `S9,${fw.join('')},乙Z`].join('\n'),
    );
    expect(refused.status).toBe('rejected');
    expect(refused.errors).toEqual([
      expect.objectContaining({
        code: 'BAD_ID_NUMBER',
        field: 'idNo',
        reason: expect.any(String),
        reasonZh: expect.any(String),
      }),
    ]);
    // a value written before ingest normalised it (older data): lower case, spaces around
    await sql`UPDATE ds.${sql.raw(`r_${s.id}`)} SET c2 = ${` ${px.toLowerCase()} `} WHERE c1 = 'S0'`.execute(
      env.ctx.db,
    );

    const save = await env.app.inject({
      method: 'POST',
      url: '/api/baselib/libraries',
      headers: { cookie: reviewer },
      payload: {
        name: '身份证号变体关联测试库',
        kind: 'theme',
        keyKind: 'idNumber',
        fields: [
          { code: 'aName', name: '甲方姓名', authoritative: { resourceId: a.id, fieldCode: 'name' } },
          { code: 'sHolder', name: '乙方持证人', authoritative: { resourceId: s.id, fieldCode: 'holder' } },
        ],
      },
    });
    expect(save.statusCode, save.body).toBe(201);
    const lib = save.json().id as number;
    // S's join index is the hash of the canonical ID number, the encrypted source's lookup index of it
    // (under the resources' index-key version: 2 once the rotation above has run)
    const [{ v }] = await q<{ v: number }>(`SELECT index_key AS v FROM resource WHERE id = ${s.id}`);
    const sRows = await q<{ c1: string; c2_h: string }>(`SELECT c1, c2_h FROM ${s.table} ORDER BY c1`);
    expect(sRows).toEqual([
      { c1: 'S0', c2_h: env.ctx.fieldKeys.index(px, v) },
      { c1: 'S1', c2_h: env.ctx.fieldKeys.index(py, v) },
    ]);
    await assemble(lib);
    expect(await grouping(lib)).toEqual(['甲X/乙X', '甲Y/乙Y']);
    // a clear-keyed library over S alone keys the legacy value by its canonical form too
    const solo = await newLibrary(env, '身份证号变体单来源库', 'idNumber');
    await sql`INSERT INTO base_library_field (library_id, ordinal, code, name) VALUES (${solo}, 1, 'sHolder', '乙方持证人')`.execute(
      env.ctx.db,
    );
    await sql`INSERT INTO base_library_source (library_id, field_code, priority, resource_id, source_field, key_field)
      VALUES (${solo}, 'sHolder', 0, ${s.id}, 'holder', 'idNo')`.execute(env.ctx.db);
    await assemble(solo);
    expect(
      (
        await q<{ key: string }>(
          `SELECT key FROM base_library_record WHERE library_id = ${solo} ORDER BY key`,
        )
      ).map((r) => r.key),
    ).toEqual([px, py].sort());

    // by key, in any case and with spaces: the data API (the hashed record key) and the library's records
    const ask = dataCaller(
      env,
      a.code,
      await consumerWithAllRights(env, officer, a.code, ['idNumber', 'name'], '身份证号变体查询'),
    );
    const got = await ask(`/records/${encodeURIComponent(` ${px.toLowerCase()} `)}`);
    expect(got.statusCode, got.body).toBe(200);
    expect(got.json().key).toBe(px);
    const byKey = await env.app.inject({
      url: `/api/baselib/libraries/${lib}/records?key=${encodeURIComponent(px.toLowerCase())}`,
      headers: { cookie: reviewer },
    });
    expect(byKey.statusCode, byKey.body).toBe(200);
    expect(byKey.json().items ?? byKey.json().records).toHaveLength(1);
    expect(idNumberCheckChar(px.slice(0, 17))).toBe('X');
  });

  it('a library cannot join on a date, decimal or integer field: the definition is refused (coded, bilingual, audited); a validator on such a field is refused by the catalog', async () => {
    const t = await publishResource(env, cookies(), {
      ...META,
      name: '类型关联拒绝（丁）',
      fields: [
        { code: 'regNo', name: '登记编号', type: 'string', isKey: true, length: 20 },
        { code: 'born', name: '出生日期', type: 'date', personal: true, sensitivePersonal: true },
        { code: 'amount', name: '金额', type: 'decimal', personal: true, sensitivePersonal: true },
        { code: 'seq', name: '序号', type: 'integer' },
      ],
    });
    await upload(t.id, ['regNo,born,amount,seq', 'R0,2020-01-05,1.50,7'].join('\n'));
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/baselib/libraries',
      headers: { cookie: reviewer },
      payload: {
        name: '按日期关联的库',
        kind: 'theme',
        keyKind: 'idNumber',
        fields: [{ code: 'born', name: '出生日期', authoritative: { resourceId: t.id, fieldCode: 'born' } }],
      },
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [
        {
          field: 'fields[0].authoritative.resourceId',
          reason: expect.stringContaining('idNumber'),
          reasonZh: expect.stringContaining('公民身份号码'),
        },
      ],
    });
    const audit = await q<{ decision: string; detail: Record<string, unknown> }>(
      `SELECT decision, detail FROM audit_log WHERE action = 'baselib.define' ORDER BY id DESC LIMIT 1`,
    );
    expect(audit).toEqual([
      {
        decision: 'deny',
        detail: expect.objectContaining({
          name: '按日期关联的库',
          code: 'VALIDATION_FAILED',
          field: 'fields[0].authoritative.resourceId',
          reason: expect.stringContaining('idNumber'),
        }),
      },
    ]);
    expect(await q(`SELECT id FROM base_library WHERE name = '按日期关联的库'`)).toEqual([]);
    // the catalog: a validator (what a library joins on) applies to string fields only
    for (const type of ['date', 'decimal', 'integer']) {
      const c = await env.app.inject({
        method: 'POST',
        url: '/api/catalog/resources',
        headers: { cookie: officer },
        payload: {
          ...META,
          name: `类型校验拒绝（${type}）`,
          fields: [
            { code: 'regNo', name: '登记编号', type: 'string', isKey: true, length: 20 },
            { code: 'jk', name: '关联项', type, validator: 'idNumber' },
          ],
          submit: true,
        },
      });
      expect(c.statusCode, c.body).toBe(400);
      expect(c.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: expect.arrayContaining([
          {
            field: 'fields[1].validator',
            reason: 'validators apply to string fields',
            reasonZh: '校验规则仅适用于字符串字段',
          },
        ]),
      });
    }
  });
});
