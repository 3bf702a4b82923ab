import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assembleLibrary,
  importCsv,
  newLibrary,
  POPULATION_META,
  publishResource,
} from './fixtures/catalog.js';
import { createTestEnv, login, type TestEnv, testIdNumber } from './helpers.js';

/*
 * A base library assembled from a source whose record key is COMPOSITE and holds the library's join key as one part
 * (an annual register keyed by ID number + year: several rows per person). The join column is not unique there, so
 * the assembly reads each person's newest row (as for any non-key join column) instead of every row: one library
 * record per person. Before, a part of a composite key was taken for the whole key and every row was read, so a
 * person with two years gave the library two records for one key and the run failed.
 */

const pid = (i: number) => testIdNumber(9700 + i);

describe('base library from a source keyed by a composite key (issue 7, DG Art 21)', () => {
  let env: TestEnv;
  let officer: string;
  let reviewer: string;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 10, entityRows: 5 } });
    officer = await login(env.app, 'gaj_officer');
    reviewer = await login(env.app, 'reviewer');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('one record per person, with the value of the newest row written', async () => {
    const annual = await publishResource(
      env,
      { officer, reviewer },
      {
        ...POPULATION_META,
        name: '年度登记（复合主键）',
        summary: '按公民身份号码与年度登记的年度数据，同一人每年一条，用于验证按复合主键的一部分归集基础库。',
        fields: [
          { code: 'idNumber', name: '公民身份号码', type: 'string', isKey: true, length: 18 },
          { code: 'year', name: '年度', type: 'string', isKey: true, length: 4 },
          { code: 'district', name: '所属区县', type: 'string', length: 20 },
        ],
      },
    );
    const b = await importCsv(
      env,
      officer,
      annual.id,
      ['idNumber,year,district', `${pid(1)},2024,城区`, `${pid(2)},2024,江北`, `${pid(1)},2025,新区`].join(
        '\n',
      ),
    );
    expect(b.status, JSON.stringify(b)).toBe('committed');
    const lib = await newLibrary(env, '复合主键测试库', 'idNumber');
    await sql`INSERT INTO base_library_field (library_id, ordinal, code, name)
      VALUES (${lib}, 1, 'area', '区县')`.execute(env.ctx.db);
    await sql`INSERT INTO base_library_source (library_id, field_code, priority, resource_id, source_field, key_field)
      VALUES (${lib}, 'area', 0, ${annual.id}, 'district', 'idNumber')`.execute(env.ctx.db);
    const r = await assembleLibrary(env, lib);
    expect(r, JSON.stringify(r)).toMatchObject({ status: 'done' });
    const recs = await sql<{ key: string; vals: Record<string, unknown> }>`
      SELECT key, vals FROM base_library_record WHERE library_id = ${lib} ORDER BY key`.execute(env.ctx.db);
    const keyed = await sql<{ encrypted: boolean }>`
      SELECT encrypted FROM resource_field WHERE resource_id = ${annual.id} AND code = 'idNumber'`.execute(
      env.ctx.db,
    );
    const key = (v: string) => (keyed.rows[0].encrypted ? env.ctx.fieldKeys.index(v) : v);
    const byKey = new Map(recs.rows.map((x) => [x.key, x.vals]));
    expect(recs.rows).toHaveLength(2);
    expect(JSON.stringify(byKey.get(key(pid(1))))).toContain('新区');
    expect(JSON.stringify(byKey.get(key(pid(2))))).toContain('江北');
  });
});
