import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleHooks } from '../../src/baselib/assemble.js';
import {
  assembleLibrary,
  flagOn,
  importCsv,
  newLibrary,
  POPULATION_META,
  publishResource,
  publishVersion,
} from '../fixtures/catalog.js';
import { createTestEnv, login, type TestEnv, testIdNumber } from '../helpers.js';

/*
 * A base library's assembly reads its plan (which sources, which columns, what is stored encrypted or joined by hash)
 * when the run begins and runs its steps later. A conversion of a source to encrypted storage committing in between
 * (keys.encrypt: A's join key encrypted, S given its join index, the library re-keyed to hashes) used to leave the run
 * reading A's ciphertext as clear keys: it finished `done` with a wrong library. Each step now takes the source tables
 * in share mode and checks their storage is still the plan's (assemble.ts `holdSources`): the run fails CONFLICT and
 * changes nothing; the next assembly agrees with the conversion. The same lock order keeps step 1 from deleting the
 * records and then waiting for a table a conversion holds while it waits to re-key those records.
 */

const pid = (i: number) => testIdNumber(9500 + i);
const A_FIELDS = [
  { code: 'idNumber', name: '身份证号', type: 'string', isKey: true, length: 18 },
  { code: 'name', name: '姓名', type: 'string', length: 20, personal: true, masking: 'name' },
];
const S_FIELDS = [
  { code: 'idNo', name: '证件号码', type: 'string', isKey: true, length: 18 },
  { code: 'holder', name: '持证人', type: 'string', length: 20, personal: true, masking: 'name' },
];
const META = {
  ...POPULATION_META,
  summary: '以身份证号关联的两个部门的登记数据，用于验证归集与加密存储转换并发时的一致性。',
};

describe('an assembly meeting a conversion of its source to encrypted storage (issue 10)', () => {
  let env: TestEnv;
  let officer: string;
  let reviewer: string;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 10, entityRows: 5 } });
    officer = await login(env.app, 'gaj_officer');
    reviewer = await login(env.app, 'reviewer');
  });
  afterAll(async () => {
    assembleHooks.afterPlan = undefined;
    await env?.close();
  });

  it('a source converted between the run reading its plan and its first step: the run fails CONFLICT, nothing changed; the next assembly agrees', async () => {
    const cookies = { officer, reviewer };
    const a = await publishResource(env, cookies, { ...META, name: '归集并发转换（甲）', fields: A_FIELDS });
    const s = await publishResource(env, cookies, { ...META, name: '归集并发转换（乙）', fields: S_FIELDS });
    for (const [rid, head, ids] of [
      [a.id, 'idNumber,name', [0, 1, 2, 3]],
      [s.id, 'idNo,holder', [2, 3, 4, 5]],
    ] as const) {
      const b = await importCsv(env, officer, rid, [head, ...ids.map((i) => `${pid(i)},孙${i}`)].join('\n'));
      expect(b.status, JSON.stringify(b)).toBe('committed');
    }
    const lib = await newLibrary(env, '归集并发转换测试库', 'idNumber');
    await sql`INSERT INTO base_library_field (library_id, ordinal, code, name)
      VALUES (${lib}, 1, 'holderName', '姓名')`.execute(env.ctx.db);
    await sql`INSERT INTO base_library_source (library_id, field_code, priority, resource_id, source_field, key_field)
      VALUES (${lib}, 'holderName', 0, ${a.id}, 'name', 'idNumber'),
        (${lib}, 'holderName', 1, ${s.id}, 'holder', 'idNo')`.execute(env.ctx.db);
    expect(await assembleLibrary(env, lib)).toMatchObject({ status: 'done' });
    const records = async () =>
      (
        await sql<{ key: string; vals: unknown; srcs: unknown }>`
          SELECT key, vals, srcs FROM base_library_record WHERE library_id = ${lib} ORDER BY key`.execute(
          env.ctx.db,
        )
      ).rows;
    expect((await records()).map((r) => r.key)).toEqual([0, 1, 2, 3, 4, 5].map(pid).sort());

    // A flags its key; the queued conversion runs after the next run has read its plan, before its first step
    await publishVersion(env, cookies, a.id, flagOn('idNumber'), 'keys.encrypt');
    let converted: Awaited<ReturnType<typeof records>> = [];
    assembleHooks.afterPlan = async (id) => {
      if (id !== lib) return;
      assembleHooks.afterPlan = undefined;
      await env.ctx.jobs.runDue();
      converted = await records();
    };
    const raced = await assembleLibrary(env, lib);
    expect(assembleHooks.afterPlan).toBeUndefined();
    // the conversion re-keyed the library (every key its keyed hash) and the raced run left it so
    const idx = (v: string) => env.ctx.fieldKeys.index(v, 1);
    expect(converted.map((r) => r.key)).toEqual([0, 1, 2, 3, 4, 5].map((i) => idx(pid(i))).sort());
    expect(raced.status).toBe('failed');
    expect(raced.error).toMatch(/^CONFLICT: a source's storage changed during the assembly/);
    expect(await records()).toEqual(converted);

    // assembled again: the same library, from A's encrypted key and S's join index
    expect(await assembleLibrary(env, lib)).toMatchObject({ status: 'done' });
    expect(await records()).toEqual(converted);
  });
});
