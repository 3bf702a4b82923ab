import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  conversionKit,
  importCsv,
  POPULATION_META,
  publishResource,
  storeInClear,
} from '../fixtures/catalog.js';
import { createTestEnv, login, type TestEnv, testIdNumber } from '../helpers.js';

/*
 * A clear source gained by a HASH-KEYED base library through the library-definition API (docs/ENCRYPTION.md "A
 * base-library join key shared with other resources", src/security/library-join.ts): the save adds the source's join
 * index in its own transaction (column, values = index of the clear value, flag, audit `key.joinIndexed`), so the
 * assembly joins it with the others' hashed keys. Before this was built the save added nothing and the assembly was
 * refused ("its join key is stored clear without a join index"): the assertions after each save fail without it.
 */

const pid = (i: number) => testIdNumber(9300 + i);
// ID-number key fields (the library API wants the idNumber validator, which forces the flag): A is stored encrypted;
// the others are laid out as migration 040 left older tables (storeInClear), so their key is stored in clear
const fieldsOf = (key: string, value: string, valueName: string) => [
  { code: key, name: '身份证号', type: 'string', isKey: true, validator: 'idNumber' },
  { code: value, name: valueName, type: 'string', length: 20, personal: true, masking: 'name' },
];
const META = {
  ...POPULATION_META,
  summary: '以身份证号关联的部门登记数据，用于验证基础库新增明文来源的关联索引。',
};

describe('a clear source added to a hash-keyed base library gets its join index when the definition is saved', () => {
  let env: TestEnv;
  let officer: string;
  let reviewer: string;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 5, entityRows: 3 } });
    officer = await login(env.app, 'gaj_officer');
    reviewer = await login(env.app, 'reviewer');
  });
  afterAll(async () => env?.close());

  const { q, idx, hCols } = conversionKit(
    () => env,
    () => officer,
  );
  const resource = async (name: string, key: string, value: string, clear: boolean, rows: string[]) => {
    const r = await publishResource(
      env,
      { officer, reviewer },
      { ...META, name, fields: fieldsOf(key, value, '姓名') },
    );
    if (clear) await storeInClear(env, r.id);
    const b = await importCsv(env, officer, r.id, [`${key},${value}`, ...rows].join('\n'));
    expect(b.status, JSON.stringify(b)).toBe('committed');
    return r;
  };
  type Src = { resourceId: number; fieldCode: string };
  const save = async (id: number | null, name: string, fields: [string, Src, Src[]][]) => {
    const res = await env.app.inject({
      method: id === null ? 'POST' : 'PUT',
      url: `/api/baselib/libraries${id === null ? '' : `/${id}`}`,
      headers: { cookie: reviewer },
      payload: {
        name,
        kind: 'theme',
        keyKind: 'idNumber',
        fields: fields.map(([code, authoritative, secondary]) => ({
          code,
          name: code,
          authoritative,
          secondary,
        })),
      },
    });
    expect(res.statusCode, res.body).toBe(id === null ? 201 : 200);
    return res.json().id as number;
  };
  const assemble = async (lib: number) => {
    const res = await env.app.inject({
      method: 'POST',
      url: `/api/baselib/libraries/${lib}/runs`,
      headers: { cookie: reviewer },
    });
    expect(res.statusCode, res.body).toBeLessThan(300);
    await env.ctx.jobs.runDue();
    return (
      await q<{ status: string; error: string | null }>(
        `SELECT status, error FROM base_library_run WHERE id = ${res.json().id}`,
      )
    )[0];
  };
  const records = (lib: number) =>
    q<{ key: string; vals: Record<string, string> }>(
      `SELECT key, vals FROM base_library_record WHERE library_id = ${lib} ORDER BY key`,
    );
  const keyField = (rid: number) =>
    q<{ encrypted: boolean; join_indexed: boolean }>(
      `SELECT encrypted, join_indexed FROM resource_field WHERE resource_id = ${rid} AND ordinal = 1`,
    );
  const joinAudit = (rid: number) =>
    q<{ decision: string; detail: Record<string, unknown> }>(
      `SELECT decision, detail FROM audit_log WHERE action = 'key.joinIndexed' AND resource_id = ${rid} ORDER BY id`,
    );

  it('a hash-keyed library gaining a clear source (or re-saved with one that had none) indexes it; the assembly joins it with the hashed keys; a later import writes the index', async () => {
    const a = await resource(
      '基础库关联（甲部门，加密）',
      'idNumber',
      'name',
      false,
      [0, 1, 2, 3].map((i) => `${pid(i)},甲${i}`),
    );
    const s = await resource(
      '基础库关联（乙部门，明文）',
      'idNo',
      'holder',
      true,
      [2, 3, 4, 5].map((i) => `${pid(i)},乙${i}`),
    );
    expect(await keyField(a.id)).toEqual([{ encrypted: true, join_indexed: false }]);
    expect(await keyField(s.id)).toEqual([{ encrypted: false, join_indexed: false }]);
    expect(await hCols(s.id)).toEqual([]);

    // hash-keyed from the start (A's key is encrypted); then the definition gains S (clear)
    const lib = await save(null, '新增明文来源测试库', [
      ['aName', { resourceId: a.id, fieldCode: 'name' }, []],
    ]);
    expect((await assemble(lib)).status).toBe('done');
    expect((await records(lib)).map((r) => r.key)).toEqual([0, 1, 2, 3].map((i) => idx(pid(i))).sort());
    await save(lib, '新增明文来源测试库', [
      ['aName', { resourceId: a.id, fieldCode: 'name' }, [{ resourceId: s.id, fieldCode: 'holder' }]],
      ['sName', { resourceId: s.id, fieldCode: 'holder' }, []],
    ]);
    // S: the join index beside its clear values, the flag, the audit with the library
    expect(await keyField(s.id)).toEqual([{ encrypted: false, join_indexed: true }]);
    expect(await hCols(s.id)).toEqual(['c1_h']);
    const sRows = await q<{ c1: string; c1_h: string }>(`SELECT c1, c1_h FROM ${s.table} ORDER BY _seq`);
    expect(sRows.map((r) => r.c1)).toEqual([2, 3, 4, 5].map(pid));
    for (const r of sRows) expect(r.c1_h).toBe(idx(r.c1));
    expect(
      await q(`SELECT indexname FROM pg_indexes WHERE tablename = 'r_${s.id}' AND indexname LIKE '%c1_h'`),
    ).toHaveLength(1);
    const trail = await joinAudit(s.id);
    expect(trail).toHaveLength(1);
    expect(trail[0]).toMatchObject({
      decision: 'allow',
      detail: { field: 'idNo', rows: 4, libraryId: lib, via: 'baselib.define', libraryVersion: 2 },
    });
    const define = await q<{ detail: Record<string, unknown> }>(
      `SELECT detail FROM audit_log WHERE action = 'baselib.define' AND target_id = '${lib}' ORDER BY id DESC LIMIT 1`,
    );
    expect(define[0].detail).toMatchObject({
      version: 2,
      joinIndexed: [{ resourceId: s.id, field: 'idNo', rows: 4 }],
    });
    expect(await keyField(a.id)).toEqual([{ encrypted: true, join_indexed: false }]);

    // the assembly joins S's records with A's hashed keys: a person in both is one record
    expect(await assemble(lib)).toMatchObject({ status: 'done', error: null });
    const recs = await records(lib);
    expect(recs.map((r) => r.key)).toEqual([0, 1, 2, 3, 4, 5].map((i) => idx(pid(i))).sort());
    expect(recs.find((r) => r.key === idx(pid(2)))?.vals).toEqual({ aName: '甲2', sName: '乙2' });
    expect(recs.find((r) => r.key === idx(pid(5)))?.vals).toEqual({ aName: '乙5', sName: '乙5' });
    expect(recs.find((r) => r.key === idx(pid(0)))?.vals).toEqual({ aName: '甲0', sName: null });

    // a later import into S writes the join index of its rows; the library grows by one
    const b = await importCsv(env, officer, s.id, `idNo,holder\n${pid(6)},乙6\n${pid(2)},乙二`);
    expect(b.status).toBe('committed');
    for (const r of await q<{ c1: string; c1_h: string }>(`SELECT c1, c1_h FROM ${s.table}`))
      expect(r.c1_h).toBe(idx(r.c1));
    expect((await assemble(lib)).status).toBe('done');
    expect((await records(lib)).map((r) => r.key)).toEqual(
      [0, 1, 2, 3, 4, 5, 6].map((i) => idx(pid(i))).sort(),
    );

    // a source whose key was clear without a join index (a definition written before this existed): the assembly
    // still refuses it (the safety net), and saving the definition again indexes it through the same path
    const t = await resource('基础库关联（丙部门，明文）', 'idNo', 'holder', true, [
      `${pid(7)},丙7`,
      `${pid(1)},丙1`,
    ]);
    await sql`INSERT INTO base_library_field (library_id, ordinal, code, name) VALUES (${lib}, 3, 'tName', 'tName')`.execute(
      env.ctx.db,
    );
    await sql`INSERT INTO base_library_source (library_id, field_code, priority, resource_id, source_field, key_field)
      VALUES (${lib}, 'tName', 0, ${t.id}, 'holder', 'idNo')`.execute(env.ctx.db);
    const refused = await assemble(lib);
    expect(refused.status).toBe('failed');
    expect(refused.error).toMatch(/^VALIDATION_FAILED: .*join index/);
    expect(await hCols(t.id)).toEqual([]);
    await save(lib, '新增明文来源测试库', [
      ['aName', { resourceId: a.id, fieldCode: 'name' }, [{ resourceId: s.id, fieldCode: 'holder' }]],
      ['sName', { resourceId: s.id, fieldCode: 'holder' }, []],
      ['tName', { resourceId: t.id, fieldCode: 'holder' }, []],
    ]);
    expect(await keyField(t.id)).toEqual([{ encrypted: false, join_indexed: true }]);
    for (const r of await q<{ c1: string; c1_h: string }>(`SELECT c1, c1_h FROM ${t.table}`))
      expect(r.c1_h).toBe(idx(r.c1));
    // S, indexed already, is not indexed again
    expect(await joinAudit(s.id)).toHaveLength(1);
    expect(await joinAudit(t.id)).toHaveLength(1);
    expect(await assemble(lib)).toMatchObject({ status: 'done', error: null });
    const withT = await records(lib);
    expect(withT.map((r) => r.key)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => idx(pid(i))).sort());
    expect(withT.find((r) => r.key === idx(pid(1)))?.vals).toEqual({
      aName: '甲1',
      sName: null,
      tName: '丙1',
    });
  });

  it('a clear-keyed library gaining a clear source adds no join index; adding an encrypted source turns it hash-keyed: the clear sources indexed, its keys re-keyed (a resolved conflict kept)', async () => {
    const c = await resource(
      '基础库关联（丁部门，明文）',
      'idNo',
      'holder',
      true,
      [10, 11, 12].map((i) => `${pid(i)},丁${i}`),
    );
    const d = await resource(
      '基础库关联（戊部门，明文）',
      'idNo',
      'holder',
      true,
      [11, 12, 13].map((i) => `${pid(i)},${i === 12 ? '戊十二' : `丁${i}`}`),
    );
    const lib = await save(null, '明文关联测试库', [['n', { resourceId: c.id, fieldCode: 'holder' }, []]]);
    await save(lib, '明文关联测试库', [
      ['n', { resourceId: c.id, fieldCode: 'holder' }, [{ resourceId: d.id, fieldCode: 'holder' }]],
    ]);
    for (const rid of [c.id, d.id]) {
      expect(await keyField(rid)).toEqual([{ encrypted: false, join_indexed: false }]);
      expect(await hCols(rid)).toEqual([]);
      expect(await joinAudit(rid)).toEqual([]);
    }
    expect(await assemble(lib)).toMatchObject({ status: 'done', error: null });
    expect((await records(lib)).map((r) => r.key)).toEqual([10, 11, 12, 13].map(pid));
    const conflicts = async () =>
      q<{ id: number; key: string; status: string }>(
        `SELECT id, key, status FROM base_library_conflict WHERE library_id = ${lib} ORDER BY id`,
      );
    expect((await conflicts()).map((x) => [x.key, x.status])).toEqual([[pid(12), 'open']]);
    await sql`UPDATE base_library_conflict SET status = 'resolved', resolution = 'authoritative'
      WHERE library_id = ${lib}`.execute(env.ctx.db);
    const [conflict] = await conflicts();

    // an encrypted source joins: the library becomes hash-keyed, C and D get their join index, the keys follow
    const e = await resource('基础库关联（己部门，加密）', 'idNumber', 'name', false, [`${pid(13)},己13`]);
    await save(lib, '明文关联测试库', [
      ['n', { resourceId: c.id, fieldCode: 'holder' }, [{ resourceId: d.id, fieldCode: 'holder' }]],
      ['e', { resourceId: e.id, fieldCode: 'name' }, []],
    ]);
    for (const rid of [c.id, d.id]) {
      expect(await keyField(rid)).toEqual([{ encrypted: false, join_indexed: true }]);
      expect(await joinAudit(rid)).toHaveLength(1);
    }
    const rekeyed = (await records(lib)).map((r) => r.key);
    expect(rekeyed).toEqual([10, 11, 12, 13].map((i) => idx(pid(i))).sort());
    expect(await conflicts()).toEqual([{ ...conflict, key: idx(pid(12)) }]);
    expect(await assemble(lib)).toMatchObject({ status: 'done', error: null });
    const recs = await records(lib);
    expect(recs.map((r) => r.key)).toEqual(rekeyed);
    expect(recs.find((r) => r.key === idx(pid(13)))?.vals).toEqual({ n: '丁13', e: '己13' });
    expect(await conflicts()).toEqual([{ ...conflict, key: idx(pid(12)) }]);
  });

  const conflictsOf = (lib: number) =>
    q<{ id: number; key: string; field_code: string; status: string; resolution: string | null }>(
      `SELECT id, key, field_code, status, resolution FROM base_library_conflict WHERE library_id = ${lib} ORDER BY id`,
    );
  const putLibrary = (lib: number, name: string, fields: [string, Src, Src[]][]) =>
    env.app.inject({
      method: 'PUT',
      url: `/api/baselib/libraries/${lib}`,
      headers: { cookie: reviewer },
      payload: {
        name,
        kind: 'theme',
        keyKind: 'idNumber',
        fields: fields.map(([code, authoritative, secondary]) => ({
          code,
          name: code,
          authoritative,
          secondary,
        })),
      },
    });
  const dropAudit = (rid: number) =>
    q<{ detail: Record<string, unknown> }>(
      `SELECT detail FROM audit_log WHERE action = 'key.joinIndexDropped' AND resource_id = ${rid} ORDER BY id`,
    );

  it('a save that drops the only encrypted source turns the library clear-keyed: its keys re-keyed to clear (a resolved conflict kept through the next assembly), join indexes no hash-keyed library needs dropped, an unmappable key refused; a source removed from a hash-keyed library loses its join index', async () => {
    const a = await resource('基础库转明文（甲，加密）', 'idNumber', 'name', false, [
      ...[20, 21, 22, 23].map((i) => `${pid(i)},甲${i}`),
    ]);
    const s = await resource('基础库转明文（乙，明文）', 'idNo', 'holder', true, [
      ...[22, 23, 24, 25].map((i) => `${pid(i)},乙${i}`),
    ]);
    const u = await resource('基础库转明文（丙，明文）', 'idNo', 'holder', true, [
      `${pid(23)},丙23`,
      `${pid(26)},丙26`,
    ]);
    const A = { resourceId: a.id, fieldCode: 'name' };
    const S = { resourceId: s.id, fieldCode: 'holder' };
    const U = { resourceId: u.id, fieldCode: 'holder' };
    // L2 keeps joining U hash-keyed (with A); L1 joins A, S and U
    const l2 = await save(null, '转明文测试库乙', [
      ['x', A, []],
      ['u', U, []],
    ]);
    const l1 = await save(null, '转明文测试库甲', [
      ['a', A, []],
      ['n', S, [U]],
    ]);
    for (const rid of [s.id, u.id])
      expect(await keyField(rid)).toEqual([{ encrypted: false, join_indexed: true }]);
    expect(await assemble(l1)).toMatchObject({ status: 'done', error: null });
    expect((await records(l1)).map((r) => r.key)).toEqual(
      [20, 21, 22, 23, 24, 25, 26].map((i) => idx(pid(i))).sort(),
    );
    await sql`UPDATE base_library_conflict SET status = 'resolved', resolution = 'authoritative'
      WHERE library_id = ${l1}`.execute(env.ctx.db);
    const [conflict] = await conflictsOf(l1);
    expect(conflict).toMatchObject({ key: idx(pid(23)), field_code: 'n', status: 'resolved' });

    // a key no source holds (a resolved conflict of a key gone from every source): refused, nothing changed, audited
    await sql`INSERT INTO base_library_conflict (library_id, key, field_code, auth_resource_id, auth_value,
        sec_resource_id, sec_value, first_run_id, last_run_id, found_at, status, resolution)
      VALUES (${l1}, ${idx(pid(99))}, 'n', ${s.id}, 'x', ${u.id}, 'y', 0, 0, now(), 'resolved', 'neither')`.execute(
      env.ctx.db,
    );
    const version = async () =>
      (await q<{ version: number }>(`SELECT version FROM base_library WHERE id = ${l1}`))[0];
    const v0 = await version();
    const refused = await putLibrary(l1, '转明文测试库甲', [['n', S, [U]]]);
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().code).toBe('KEY_DECRYPTION_UNMAPPED');
    expect(await version()).toEqual(v0);
    expect((await records(l1)).map((r) => r.key)).toEqual(
      [20, 21, 22, 23, 24, 25, 26].map((i) => idx(pid(i))).sort(),
    );
    expect(await keyField(s.id)).toEqual([{ encrypted: false, join_indexed: true }]);
    expect(await hCols(s.id)).toEqual(['c1_h']);
    const deny = await q<{ detail: Record<string, unknown> }>(
      `SELECT detail FROM audit_log WHERE action = 'baselib.define' AND decision = 'deny' AND target_id = '${l1}'`,
    );
    expect(deny).toHaveLength(1);
    expect(deny[0].detail).toMatchObject({ code: 'KEY_DECRYPTION_UNMAPPED' });
    expect(String(deny[0].detail.reason)).toMatch(/base library/);
    await sql`DELETE FROM base_library_conflict WHERE library_id = ${l1} AND key = ${idx(pid(99))}`.execute(
      env.ctx.db,
    );

    // A dropped: clear-keyed. Every key mapped back (A's own keys through its decrypted values), the conflict kept
    const ok = await putLibrary(l1, '转明文测试库甲', [['n', S, [U]]]);
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await records(l1)).map((r) => r.key)).toEqual([20, 21, 22, 23, 24, 25, 26].map(pid).sort());
    expect(await conflictsOf(l1)).toEqual([{ ...conflict, key: pid(23) }]);
    // S: no hash-keyed library joins it any more → its join index dropped; U: L2 still needs it → kept
    expect(await keyField(s.id)).toEqual([{ encrypted: false, join_indexed: false }]);
    expect(await hCols(s.id)).toEqual([]);
    expect(await dropAudit(s.id)).toEqual([
      {
        detail: {
          field: 'idNo',
          libraryId: l1,
          via: 'baselib.define',
          libraryVersion: Number(v0.version) + 1,
        },
      },
    ]);
    expect(await keyField(u.id)).toEqual([{ encrypted: false, join_indexed: true }]);
    expect(await dropAudit(u.id)).toEqual([]);
    const define = await q<{ detail: Record<string, unknown> }>(
      `SELECT detail FROM audit_log WHERE action = 'baselib.define' AND decision = 'allow' AND target_id = '${l1}' ORDER BY id DESC LIMIT 1`,
    );
    expect(define[0].detail).toMatchObject({
      rekeyedClear: 7,
      joinIndexDropped: [{ resourceId: s.id, field: 'idNo' }],
    });
    // the next assembly writes clear keys: the same records (less A's), the resolved conflict still resolved
    expect(await assemble(l1)).toMatchObject({ status: 'done', error: null });
    const recs = await records(l1);
    expect(recs.map((r) => r.key)).toEqual([22, 23, 24, 25, 26].map(pid).sort());
    expect(recs.find((r) => r.key === pid(23))?.vals).toEqual({ n: '乙23' });
    expect(await conflictsOf(l1)).toEqual([{ ...conflict, key: pid(23) }]);

    // U removed from L2, which stays hash-keyed (A): no hash-keyed library joins U any more → its join index dropped
    await save(l2, '转明文测试库乙', [['x', A, []]]);
    expect(await keyField(u.id)).toEqual([{ encrypted: false, join_indexed: false }]);
    expect(await hCols(u.id)).toEqual([]);
    expect(await dropAudit(u.id)).toMatchObject([
      { detail: { field: 'idNo', libraryId: l2, via: 'baselib.define' } },
    ]);
    expect(await assemble(l2)).toMatchObject({ status: 'done', error: null });
    expect(await assemble(l1)).toMatchObject({ status: 'done', error: null });
  });

  it.runIf(process.env.DATABASE_URL)(
    'a save re-keying the library while an assembly of it runs: both take the library row first, no deadlock (PostgreSQL, two connections)',
    async () => {
      const a = await resource('基础库锁序（甲，加密）', 'idNumber', 'name', false, [
        `${pid(40)},甲40`,
        `${pid(41)},甲41`,
      ]);
      const s = await resource('基础库锁序（乙，明文）', 'idNo', 'holder', true, [
        `${pid(41)},乙41`,
        `${pid(42)},乙42`,
      ]);
      const A = { resourceId: a.id, fieldCode: 'name' };
      const S = { resourceId: s.id, fieldCode: 'holder' };
      const lib = await save(null, '锁序测试库', [['a', A, [S]]]);
      expect(await assemble(lib)).toMatchObject({ status: 'done', error: null });
      expect((await conflictsOf(lib)).map((c) => [c.key, c.status])).toEqual([[idx(pid(41)), 'open']]);
      // an open conflict the next run does not see again: its last step clears it (and so holds its row)
      await sql`INSERT INTO base_library_conflict (library_id, key, field_code, auth_resource_id, auth_value,
          sec_resource_id, sec_value, first_run_id, last_run_id, found_at)
        VALUES (${lib}, ${idx(pid(42))}, 'a', ${a.id}, 'x', ${s.id}, 'y', 0, 0, now())`.execute(env.ctx.db);
      // the save is held (advisory lock in a trigger) just after it took the library row, before it re-keys
      const LOCK = 742_001;
      await sql`CREATE FUNCTION library_save_hold() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_xact_lock(742001); RETURN NEW; END $$`.execute(env.ctx.db);
      await sql`CREATE TRIGGER library_save_hold BEFORE UPDATE ON base_library
        FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION library_save_hold()`.execute(
        env.ctx.db,
      );
      const waitingOn = async (where: string) => {
        for (let i = 0; i < 1000; i++) {
          const w = await sql
            .raw<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND ${where}`)
            .execute(env.ctx.db);
          if (w.rows[0].n > 0) return;
          await new Promise((ok) => setTimeout(ok, 10));
        }
        throw new Error(`nothing waits on ${where}`);
      };
      let release = () => {};
      const released = new Promise<void>((ok) => {
        release = ok;
      });
      let held = () => {};
      const holding = new Promise<void>((ok) => {
        held = ok;
      });
      const holder = env.ctx.db.connection().execute(async (c) => {
        await sql`SELECT pg_advisory_lock(${LOCK})`.execute(c);
        held();
        await released;
        await sql`SELECT pg_advisory_unlock(${LOCK})`.execute(c);
      });
      try {
        await holding;
        const run = await env.app.inject({
          method: 'POST',
          url: `/api/baselib/libraries/${lib}/runs`,
          headers: { cookie: reviewer },
        });
        expect(run.statusCode, run.body).toBeLessThan(300);
        // A dropped: the save turns the library clear-keyed and re-keys its records and conflicts
        const saving = putLibrary(lib, '锁序测试库', [['a', S, []]]);
        await waitingOn(`locktype = 'advisory' AND objid = ${LOCK}`);
        const assembling = env.ctx.jobs.runDue();
        // the assembly waits for the library row (before the fix: in its last step, holding the cleared conflict)
        await waitingOn(`locktype <> 'advisory'`);
        release();
        await holder;
        const saved = await saving;
        await assembling;
        expect(saved.statusCode, saved.body).toBe(200);
        const r = (
          await q<{ status: string; error: string | null }>(
            `SELECT status, error FROM base_library_run WHERE id = ${run.json().id}`,
          )
        )[0];
        // the step took the row after the save committed: its plan is stale, the run fails and says so
        expect(r.status).toBe('failed');
        expect(r.error).toMatch(/^CONFLICT: the library definition changed during the assembly/);
      } finally {
        release();
        await holder;
        await sql`DROP TRIGGER library_save_hold ON base_library`.execute(env.ctx.db);
        await sql`DROP FUNCTION library_save_hold()`.execute(env.ctx.db);
      }
      expect((await conflictsOf(lib)).map((c) => c.key).sort()).toEqual([pid(41), pid(42)].sort());
      expect(await assemble(lib)).toMatchObject({ status: 'done', error: null });
      expect((await records(lib)).map((r) => r.key)).toEqual([41, 42].map(pid).sort());
    },
  );
});
