import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explodeLedgerBatches } from '../../src/dataapi/ledger.js';
import {
  consumerWithAllRights,
  dataCaller,
  feedPage,
  importCsv,
  leakTraceByKey,
  POPULATION_META,
  publishResource,
  publishVersion,
  recordHistory,
} from '../fixtures/catalog.js';
import { createTestEnv, login, type TestEnv, testIdNumber } from '../helpers.js';

/*
 * A COMPOSITE record key (an ID number and a visit number) whose ID number's sensitive-personal flag is turned on, then off
 * again, while the resource holds data (docs/ENCRYPTION.md "Converting a record key" and "Catalog changes"): the job
 * `keys.encrypt` rekeys every stored key `id|visit` to the keyed hash of that joined key, the job `keys.decrypt` traces
 * every stored hash back to `id|visit` (the ID number decrypted, the integer printed as ingest normalised it) and rekeys
 * back. A live record, an updated one (versions) and a deleted one (only history and the feed know it): every answer
 * by key — get, 404, verification, page, history, the whole feed with its keyRefs, a cursor from before, leak tracing
 * — is the same in the three states, and the tables hold the form each state requires. A mapping that dropped a part
 * of the key, or printed the number otherwise, leaves hashes without their clear key (KEY_DECRYPTION_UNMAPPED) or keys
 * that no lookup finds.
 */

const FIELDS = (sensitive: boolean) => [
  {
    code: 'idNumber',
    name: '身份证号',
    type: 'string',
    isKey: true,
    personal: true,
    sensitivePersonal: sensitive,
    masking: 'idNumber',
  },
  { code: 'visitNo', name: '就诊序号', type: 'integer', isKey: true },
  { code: 'name', name: '姓名', type: 'string', length: 20, personal: true, masking: 'name' },
  { code: 'clinic', name: '科室', type: 'string', length: 20 },
];
const RESOURCE = {
  ...POPULATION_META,
  summary:
    '以身份证号和就诊序号为联合主键的就诊登记，用于验证联合主键在加密存储与明文存储之间转换时的重新键控。',
};
const pid = (i: number) => testIdNumber(7600 + i);
// the visit numbers as written in the files (ingest normalises `007` to `7`, the form the key is built with)
const DAY_A = { file: '007', key: '7' };
const DAY_B = { file: '12', key: '12' };

describe('a composite record key converted to encrypted storage and back (issue 10)', () => {
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

  async function upload(rid: number, body: string, mode = 'upsert') {
    const b = await importCsv(env, officer, rid, body, { query: `mode=${mode}` });
    expect(b.status, JSON.stringify(b)).toBe('committed');
    return b;
  }

  /** A new version setting the ID number's flag, published, and its queued job (keys.encrypt / keys.decrypt) run. */
  async function flip(rid: number, sensitive: boolean) {
    await publishVersion(env, { officer, reviewer }, rid, (f) =>
      f.code === 'idNumber' ? { ...f, sensitivePersonal: sensitive } : f,
    );
    const kind = sensitive ? 'keys.encrypt' : 'keys.decrypt';
    const queued = await env.ctx.db
      .selectFrom('job')
      .select('status')
      .where('kind', '=', kind)
      .where('key', '=', `r${rid}`)
      .executeTakeFirstOrThrow();
    expect(queued.status).toBe('queued');
    await env.ctx.jobs.runDue();
    const job = await env.ctx.db
      .selectFrom('job')
      .select(['status', 'last_error'])
      .where('kind', '=', kind)
      .where('key', '=', `r${rid}`)
      .executeTakeFirstOrThrow();
    expect(job.status, JSON.stringify(job)).toBe('done');
    const f = await env.ctx.db
      .selectFrom('resource_field')
      .select(['sensitive_personal', 'encrypted'])
      .where('resource_id', '=', rid)
      .where('code', '=', 'idNumber')
      .executeTakeFirstOrThrow();
    expect(f).toEqual({ sensitive_personal: sensitive, encrypted: sensitive });
  }

  it('keys.encrypt then keys.decrypt rekey the joined key both ways; get, 404 of a deleted record, verification, page, history, feed keyRefs and cursor, leak tracing unchanged', async () => {
    const r = await publishResource(
      env,
      { officer, reviewer },
      { ...RESOURCE, name: '联合主键就诊登记（主键加密与还原）', fields: FIELDS(false) },
    );
    const head = 'idNumber,visitNo,name,clinic';
    const line = (i: number, day: { file: string }, tag = '') => `${pid(i)},${day.file},孙${i},内科${tag}`;
    // six first visits, and a second visit of person 0 (the same ID number, another record)
    await upload(r.id, [head, ...[0, 1, 2, 3, 4, 5].map((i) => line(i, DAY_A)), line(0, DAY_B)].join('\n'));
    await upload(
      r.id,
      [head, line(0, DAY_A, '（复诊）'), line(1, DAY_A, '（复诊）'), line(6, DAY_A)].join('\n'),
    );
    await upload(r.id, `idNumber,visitNo\n${pid(3)},${DAY_A.file}`, 'delete'); // only history and the feed know it
    const key = (i: number, day = DAY_A) => `${pid(i)}|${day.key}`;
    const allKeys = [...[0, 1, 2, 3, 4, 5, 6].map((i) => key(i)), key(0, DAY_B)].sort();
    const liveKeys = allKeys.filter((k) => k !== key(3));

    const stored = async () => ({
      table: (
        await sql.raw<{ _key: string }>(`SELECT _key FROM ${r.table} ORDER BY _key`).execute(env.ctx.db)
      ).rows.map((x) => x._key),
      history: (
        await sql<{ rkey: string }>`
          SELECT DISTINCT rkey FROM record_history WHERE resource_id = ${r.id} ORDER BY rkey`.execute(
          env.ctx.db,
        )
      ).rows.map((x) => x.rkey),
      changes: (
        await sql<{ rkey: string }>`
          SELECT DISTINCT rkey FROM record_change WHERE resource_id = ${r.id} ORDER BY rkey`.execute(
          env.ctx.db,
        )
      ).rows.map((x) => x.rkey),
    });
    const sorted = (a: string[]) => [...a].sort();
    const hashed = (keys: string[]) => sorted(keys.map((k) => env.ctx.fieldKeys.index(k)));
    // clear: the joined keys as ingest built them (the visit number normalised)
    const clearState = {
      table: liveKeys,
      history: sorted([key(0), key(1), key(3)]),
      changes: allKeys,
    };
    expect(await stored()).toEqual(clearState);

    const g = await consumerWithAllRights(
      env,
      officer,
      r.code,
      ['idNumber', 'visitNo', 'name', 'clinic'],
      '联合主键加密测试',
    );
    const ask = dataCaller(env, r.code, g);
    const exportNow = async () => {
      const res = await ask('/export?format=csv');
      expect(res.statusCode, res.body).toBe(200);
      expect(res.body.trimEnd().split('\n')).toHaveLength(1 + liveKeys.length);
      await explodeLedgerBatches(env.ctx.db);
    };
    const history = (k: string) => recordHistory(env, officer, r.id, k);
    const trace = async (k: string) => (await leakTraceByKey(env, auditor, k)).map((x) => x.exportId).sort();
    const feed = async (cursor?: string) => (await feedPage(ask, cursor)).changes;
    const get = (k: string) => ask(`/records/${encodeURIComponent(k)}`);
    const answers = async () => {
      const out: unknown[] = [];
      for (const k of [key(0), key(0, DAY_B), key(1), key(6)]) {
        const x = await get(k);
        expect(x.statusCode, `${k}: ${x.body}`).toBe(200);
        out.push(x.json().record);
      }
      out.push((await get(key(3))).statusCode); // deleted
      out.push((await get(`${pid(0)}|8`)).statusCode); // a key never stored
      for (const [k, name] of [
        [key(0, DAY_B), '孙0'],
        [key(1), '孙2'],
      ]) {
        const v = await ask('/verify', 'POST', { key: k, match: { name } });
        expect(v.statusCode, v.body).toBe(200);
        out.push(v.json().match);
      }
      const page = await ask('/records?limit=100');
      expect(page.statusCode, page.body).toBe(200);
      out.push(page.json().items);
      out.push(await history(key(0)), await history(key(0, DAY_B)), await history(key(3)));
      out.push(await feed());
      return out;
    };

    // clear: the answers, a cursor in the middle of the feed, an export
    const before = await answers();
    expect(before.slice(0, 4).map((x) => (x as { clinic: string }).clinic)).toEqual([
      '内科（复诊）',
      '内科',
      '内科（复诊）',
      '内科',
    ]);
    expect(before.slice(4, 6)).toEqual([404, 404]);
    expect(before.slice(6, 8)).toEqual([true, false]);
    expect((before[8] as unknown[]).length).toBe(liveKeys.length);
    expect((before[9] as { versions: unknown[] }).versions).toHaveLength(2);
    expect((before[10] as { versions: unknown[] }).versions).toHaveLength(1);
    expect((before[11] as { versions: unknown[] }).versions.length).toBeGreaterThan(0);
    const changes = before[12] as { keyRef: string; op: string }[];
    expect(new Set(changes.map((c) => c.keyRef)).size).toBe(allKeys.length);
    expect(changes.filter((c) => c.op === 'delete')).toHaveLength(1);
    const half = await ask('/changes?limit=5');
    const cursor = half.json().cursor as string;
    const rest = await feed(cursor);
    expect(rest.length).toBeGreaterThan(0);
    await exportNow();
    const exports1 = await trace(key(2));
    expect(exports1).toHaveLength(1);

    // flag on: keys.encrypt hashes every joined key (table, history, changes); no ID number left in clear
    await flip(r.id, true);
    expect(await stored()).toEqual({
      table: hashed(clearState.table),
      history: hashed(clearState.history),
      changes: hashed(clearState.changes),
    });
    const dump = async () =>
      JSON.stringify([
        (await sql.raw(`SELECT * FROM ${r.table}`).execute(env.ctx.db)).rows,
        (await sql`SELECT * FROM record_history WHERE resource_id = ${r.id}`.execute(env.ctx.db)).rows,
        (await sql`SELECT * FROM record_change WHERE resource_id = ${r.id}`.execute(env.ctx.db)).rows,
        (await sql`SELECT * FROM record_key_ref WHERE resource_id = ${r.id}`.execute(env.ctx.db)).rows,
      ]);
    for (let i = 0; i <= 6; i++) expect(await dump()).not.toContain(pid(i));
    expect(await answers()).toEqual(before);
    expect(await feed(cursor)).toEqual(rest);
    await exportNow(); // an export while the key is hashed: its ledger digests the hash
    const exports2 = await trace(key(2));
    expect(exports2).toHaveLength(2);

    // flag off: keys.decrypt traces every hash back to `id|visit` and rekeys back
    await flip(r.id, false);
    expect(await stored()).toEqual(clearState);
    expect(await dump()).not.toMatch(/"H1\./);
    expect(await answers()).toEqual(before); // the keyRefs the feed first gave, kept through both rekeyings
    expect(await feed(cursor)).toEqual(rest);
    expect(await trace(key(2))).toEqual(exports2); // both exports, by the clear key

    // a new import of unchanged rows changes nothing; a change is one new version with the pseudonym it had
    const again = await upload(r.id, [head, line(2, DAY_A), line(0, DAY_B)].join('\n'));
    expect([again.rows_inserted, again.rows_updated]).toEqual([0, 0]);
    await upload(r.id, [head, line(0, DAY_B, '（转诊）')].join('\n'));
    const next = await feed(cursor);
    expect(next.slice(0, rest.length)).toEqual(rest);
    expect(next.slice(rest.length)).toHaveLength(1);
    // the same pseudonym as the record's first change (the only record with visit number 12)
    const first = changes.find((c) => (c as { record?: { visitNo?: unknown } }).record?.visitNo === 12);
    expect(first?.keyRef).toBeDefined();
    expect(next[next.length - 1]).toMatchObject({ keyRef: first?.keyRef, version: 2 });
    expect((await history(key(0, DAY_B))).versions).toHaveLength(2);

    // both jobs rekeyed the 8 joined keys (the composite mapping, audited)
    const trail = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision', 'detail'])
      .where('action', 'in', ['key.encrypted', 'key.decrypted'])
      .where('resource_id', '=', r.id)
      .orderBy('id')
      .execute();
    expect(trail.map((a) => `${a.action}:${a.decision}`)).toEqual([
      'key.encrypted:allow',
      'key.decrypted:allow',
    ]);
    expect(trail[0].detail).toMatchObject({ fields: ['idNumber'], rekeyed: allKeys.length });
    expect(trail[1].detail).toMatchObject({ fields: ['idNumber'], rekeyed: allKeys.length });
  });
});
