import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explodeLedgerBatches } from '../../src/dataapi/ledger.js';
import { convertGroup, groupOf } from '../../src/security/index-rotation.js';
import {
  assembleLibrary,
  dataCaller,
  grantWithRights,
  importCsv,
  newLibrary,
  POPULATION_META,
  publishResource,
} from '../fixtures/catalog.js';
import { createTestEnv, login, type TestEnv, testIdNumber } from '../helpers.js';

/*
 * Rotating the platform's lookup-index key (docs/ENCRYPTION.md "Rotating the lookup-index key"). Two resources keyed by
 * an encrypted ID number (hashed `_key`, `c<n>_h`, keyed `_hash`), one feeding a base library: every answer by key
 * (get, 404 of a deleted record, verification, equality filter, record history, the change feed with its keyRefs and a
 * cursor from before, base library by key, leak tracing by key of an export served before) is the same before, during
 * (one resource converted, the other not; the converted one looked up through metadata cached before) and after; a
 * failure injected mid-resource leaves it as before; no old-version hash is left; the auditor is refused (audited).
 */

const FIELDS = [
  { code: 'idNumber', name: '身份证号', type: 'string', isKey: true, validator: 'idNumber' },
  { code: 'name', name: '姓名', type: 'string', length: 20, personal: true, masking: 'name' },
  { code: 'district', name: '所属区县', type: 'string', length: 20 },
  { code: 'age', name: '年龄', type: 'integer' },
  { code: 'birthDate', name: '出生日期', type: 'date', sensitivePersonal: true },
];
const RESOURCE = {
  ...POPULATION_META,
  summary: '以身份证号为主键、加密存储的登记数据，用于验证检索索引密钥轮换。',
};

describe('rotating the lookup-index key without downtime (issue 10 point 3)', () => {
  let env: TestEnv;
  let officer: string;
  let admin: string;
  let auditor: string;
  let reviewer: string;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 10, entityRows: 5 } });
    officer = await login(env.app, 'gaj_officer');
    admin = await login(env.app, 'admin');
    auditor = await login(env.app, 'auditor');
    reviewer = await login(env.app, 'reviewer');
  });
  afterAll(async () => env?.close());

  it('walks resource by resource: every answer by key the same before, during and after; crash-safe; no old hash left; audited', async () => {
    const head = 'idNumber,name,district,age,birthDate';
    const setUp = async (name: string, base: number) => {
      const pid = (i: number) => testIdNumber(base + i);
      const r = await publishResource(env, { officer, reviewer }, { ...RESOURCE, name, fields: FIELDS });
      const rows = (from: number, n: number, tag = '') =>
        Array.from(
          { length: n },
          (_, k) =>
            `${pid(from + k)},钱${from + k},城区${tag},${20 + from + k},1980-01-${String(10 + from + k)}`,
        );
      const upload = async (body: string, mode = 'upsert') => {
        const b = await importCsv(env, officer, r.id, body, { query: `mode=${mode}` });
        expect(b.status, JSON.stringify(b)).toBe('committed');
        return b;
      };
      await upload([head, ...rows(0, 6)].join('\n'));
      await upload([head, ...rows(0, 2, '（迁入）'), ...rows(6, 1)].join('\n'));
      await upload(`idNumber\n${pid(4)}`, 'delete'); // only history and the feed know it
      // a key twice in one batch: the second row is quarantined as staged, with its lookup index (the first is
      // unchanged: no new version)
      const twice = rows(0, 1, '（迁入）')[0];
      const dup = await importCsv(env, officer, r.id, [head, twice, twice].join('\n'), {
        query: 'mode=upsert&onError=quarantine',
      });
      expect(dup.status, JSON.stringify(dup)).toBe('committed');
      const g = await grantWithRights(
        env,
        officer,
        {
          consumer: 'rsj_officer',
          provider: 'gaj_officer',
          resourceCode: r.code,
          fields: ['idNumber', 'name', 'district', 'age', 'birthDate'],
          appName: `索引密钥轮换测试${base}`,
          quota: { export: true, exportRowsPerDay: 100_000 },
        },
        { verify: true, feed: true, export: true, exportRowsPerDay: 100_000 },
      );
      return { ...r, pid, rows, upload, ask: dataCaller(env, r.code, g) };
    };
    const a = await setUp('索引密钥轮换登记甲', 8100);
    const b = await setUp('索引密钥轮换登记乙', 8200);

    // a base library fed by resource a alone, joined on its (encrypted) record key: its records are keyed by hashes
    const lib = await newLibrary(env, '索引密钥轮换测试库', 'idNumber');
    await sql`INSERT INTO base_library_field (library_id, ordinal, code, name)
      VALUES (${lib}, 1, 'holderName', '姓名'), (${lib}, 2, 'area', '区县')`.execute(env.ctx.db);
    await sql`INSERT INTO base_library_source (library_id, field_code, priority, resource_id, source_field, key_field)
      VALUES (${lib}, 'holderName', 0, ${a.id}, 'name', 'idNumber'),
        (${lib}, 'area', 0, ${a.id}, 'district', 'idNumber')`.execute(env.ctx.db);
    const assemble = (library: number) => assembleLibrary(env, library);
    expect((await assemble(lib)).status).toBe('done');
    const library = async () =>
      (
        await sql<{
          key: string;
          vals: unknown;
          srcs: unknown;
        }>`SELECT key, vals, srcs FROM base_library_record
          WHERE library_id = ${lib} ORDER BY seq`.execute(env.ctx.db)
      ).rows;
    const libBefore = await library();
    expect(libBefore).toHaveLength(6);
    expect(libBefore[0].key).toMatch(/^H1\./);

    // an export of a before the rotation: leak tracing by key must still find it afterwards
    const exp = await a.ask('/export?format=csv');
    expect(exp.statusCode, exp.body).toBe(200);
    await explodeLedgerBatches(env.ctx.db);

    const history = async (rid: number, key: string) => {
      const h = await env.app.inject({
        method: 'POST',
        url: `/api/ingest/resources/${rid}/history`,
        headers: { cookie: officer },
        payload: { key },
      });
      return [h.statusCode, h.statusCode === 200 ? h.json() : h.json().code];
    };
    const trace = async (key: string) => {
      const t = await env.app.inject({
        method: 'POST',
        url: '/api/audit/leak-trace',
        headers: { cookie: auditor },
        payload: { key },
      });
      expect(t.statusCode, t.body).toBe(200);
      return (t.json().items as { exportId: number; matchedBy: unknown }[]).map((x) => [
        x.exportId,
        x.matchedBy,
      ]);
    };
    const feed = async (r: typeof a, cursor?: string) => {
      const f = await r.ask(`/changes?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(f.statusCode, f.body).toBe(200);
      return f.json().changes.map((c: Record<string, unknown>) => ({ ...c, changedAt: undefined }));
    };
    const answers = async (r: typeof a) => {
      const out: unknown[] = [];
      for (const i of [0, 1, 6]) {
        const x = await r.ask(`/records/${r.pid(i)}`);
        expect(x.statusCode, x.body).toBe(200);
        out.push(x.json().record);
      }
      out.push((await r.ask(`/records/${r.pid(4)}`)).statusCode); // deleted
      for (const name of ['钱1', '钱2']) {
        const v = await r.ask('/verify', 'POST', { key: r.pid(1), match: { name } });
        expect(v.statusCode, v.body).toBe(200);
        out.push(v.json().match);
      }
      // verification on the encrypted birth date compares its lookup index `c5_h` with the hash of the given value
      for (const birthDate of ['1980-01-11', '1980-01-12']) {
        const v = await r.ask('/verify', 'POST', { key: r.pid(1), match: { birthDate } });
        expect(v.statusCode, v.body).toBe(200);
        out.push(v.json().match);
      }
      // an equality filter on the encrypted key (a personal field: the data API refuses filtering on it for this
      // consumer, before and after alike; where a filter is allowed it hashes under the resource's version)
      const q = await r.ask('/query', 'POST', { where: { idNumber: { eq: r.pid(2) } } });
      out.push(q.statusCode === 200 ? q.json().items : q.json().code);
      out.push(await history(r.id, r.pid(0)), await history(r.id, r.pid(4)));
      out.push(await feed(r));
      out.push(await trace(r.pid(3)));
      const one = await env.app.inject({
        url: `/api/baselib/libraries/${lib}/records?key=${r.pid(1)}`,
        headers: { cookie: reviewer },
      });
      expect(one.statusCode, one.body).toBe(200);
      out.push(one.json().items.map((x: { values: unknown; sources: unknown }) => [x.values, x.sources]));
      return out;
    };
    const beforeA = await answers(a);
    const beforeB = await answers(b);
    expect(beforeA[3]).toBe(404);
    expect(beforeA.slice(4, 6)).toEqual([true, false]);
    expect(beforeA.slice(6, 8)).toEqual([true, false]);
    expect((beforeA[9] as unknown[])[0]).toBe(200);
    expect((beforeA[10] as unknown[])[0]).toBe(200); // the deleted record's versions
    expect(beforeA[12]).toHaveLength(1); // the export found by key
    expect(beforeA[13]).toHaveLength(1); // the library record by key
    expect(beforeB[13]).toHaveLength(0); // b feeds no library
    const half = await a.ask('/changes?limit=5');
    const cursor = half.json().cursor as string;
    const rest = await feed(a, cursor);
    expect(rest.length).toBeGreaterThan(0);

    const everywhere = async (rid: number, table: string) =>
      [
        JSON.stringify((await sql.raw(`SELECT * FROM ${table} ORDER BY _seq`).execute(env.ctx.db)).rows),
        JSON.stringify(
          (
            await sql`SELECT * FROM record_history WHERE resource_id = ${rid} ORDER BY rkey, version`.execute(
              env.ctx.db,
            )
          ).rows,
        ),
        JSON.stringify(
          (await sql`SELECT * FROM record_change WHERE resource_id = ${rid} ORDER BY seq`.execute(env.ctx.db))
            .rows,
        ),
        JSON.stringify(
          (
            await sql`SELECT * FROM record_key_ref WHERE resource_id = ${rid} ORDER BY rkey`.execute(
              env.ctx.db,
            )
          ).rows,
        ),
        JSON.stringify(
          (
            await sql`SELECT vals FROM ingest_quarantine WHERE resource_id = ${rid} ORDER BY id`.execute(
              env.ctx.db,
            )
          ).rows,
        ),
      ].join('\n');
    const quarantined = async (rid: number) =>
      JSON.stringify(
        (await sql`SELECT vals FROM ingest_quarantine WHERE resource_id = ${rid}`.execute(env.ctx.db)).rows,
      );
    for (const r of [a, b]) expect(await quarantined(r.id)).toMatch(/"H1\./);
    const indexKeyOf = async (rid: number) =>
      (
        await env.ctx.db
          .selectFrom('resource')
          .select('index_key')
          .where('id', '=', rid)
          .executeTakeFirstOrThrow()
      ).index_key;

    // the auditor may not start it: refused, and the refusal audited
    const denied = await env.app.inject({
      method: 'POST',
      url: '/api/security/keys/index/rotate',
      headers: { cookie: auditor },
    });
    expect(denied.statusCode).toBe(403);

    // the administrator starts it: version 2 active for new resources; every existing one still on version 1
    const start = await env.app.inject({
      method: 'POST',
      url: '/api/security/keys/index/rotate',
      headers: { cookie: admin },
    });
    expect(start.statusCode, start.body).toBe(202);
    expect(start.json().version).toBe(2);
    expect(start.json().resourcesLeft).toBeGreaterThanOrEqual(2);
    // a second start while the walk has not finished: refused
    const twice = await env.app.inject({
      method: 'POST',
      url: '/api/security/keys/index/rotate',
      headers: { cookie: admin },
    });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().code).toBe('INDEX_KEY_ROTATION_RUNNING');
    expect([await indexKeyOf(a.id), await indexKeyOf(b.id)]).toEqual([1, 1]);
    const status = await env.app.inject({ url: '/api/security/keys', headers: { cookie: auditor } });
    expect(status.statusCode, status.body).toBe(200);
    expect(status.json().index.version).toBe(2);
    expect(status.json().index.versions.map((v: { state: string }) => v.state)).toEqual([
      'retiring',
      'active',
    ]);
    expect(status.json().index.resourcesLeft).toBeGreaterThanOrEqual(2);
    expect(await answers(a)).toEqual(beforeA);

    // crash safety: a failure injected in a's transaction after its table, history and keys were rewritten
    const group = await groupOf(env.ctx.db, a.id);
    expect(group).toEqual([a.id]);
    const snapshot = [await everywhere(a.id, a.table), JSON.stringify(await library())];
    await sql`CREATE FUNCTION idx_rot_fail() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure'; END $$`.execute(env.ctx.db);
    await sql`CREATE TRIGGER idx_rot_fail BEFORE UPDATE ON resource
      FOR EACH ROW WHEN (NEW.index_key <> OLD.index_key) EXECUTE FUNCTION idx_rot_fail()`.execute(env.ctx.db);
    await expect(convertGroup(env.ctx, group, 2)).rejects.toThrow(/injected failure/);
    await sql`DROP TRIGGER idx_rot_fail ON resource`.execute(env.ctx.db);
    await sql`DROP FUNCTION idx_rot_fail()`.execute(env.ctx.db);
    expect([await everywhere(a.id, a.table), JSON.stringify(await library())]).toEqual(snapshot);
    expect(await indexKeyOf(a.id)).toBe(1);

    // a converted by ANOTHER node (its own metadata cache): this node's cached metadata of a says version 1
    expect(await convertGroup({ ...env.ctx }, group, 2)).toEqual([a.id]);
    expect([await indexKeyOf(a.id), await indexKeyOf(b.id)]).toEqual([2, 1]);
    const keysA = await sql
      .raw<{ _key: string; c1_h: string; _hash: string }>(`SELECT _key, c1_h, _hash FROM ${a.table}`)
      .execute(env.ctx.db);
    for (const k of keysA.rows) {
      expect(k._key).toMatch(/^H2\./);
      expect(k._key).toBe(k.c1_h);
      expect(k._hash).toMatch(/^H2\./);
    }
    expect((await library())[0].key).toMatch(/^H2\./);
    // during: a on version 2, b on version 1 — both answer as before
    expect(await answers(a)).toEqual(beforeA);
    expect(await answers(b)).toEqual(beforeB);
    expect(await feed(a, cursor)).toEqual(rest);
    // a library joining a (version 2) and b (version 1) on hashes is not assembled across versions: refused
    const mixed = await newLibrary(env, '索引密钥轮换混合库', 'idNumber');
    await sql`INSERT INTO base_library_field (library_id, ordinal, code, name) VALUES (${mixed}, 1, 'holderName', '姓名')`.execute(
      env.ctx.db,
    );
    await sql`INSERT INTO base_library_source (library_id, field_code, priority, resource_id, source_field, key_field)
      VALUES (${mixed}, 'holderName', 0, ${a.id}, 'name', 'idNumber'),
        (${mixed}, 'holderName', 1, ${b.id}, 'name', 'idNumber')`.execute(env.ctx.db);
    const refused = await assemble(mixed);
    expect(refused.status).toBe('failed');
    expect(JSON.stringify(refused.error)).toContain('INDEX_KEY_ROTATING');

    // the job walks the rest (b, with a now in its group through the mixed library: a is skipped), then retires v1
    await env.ctx.jobs.runDue();
    const job = await env.ctx.db
      .selectFrom('job')
      .select('status')
      .where('kind', '=', 'keys.rotateIndex')
      .executeTakeFirstOrThrow();
    expect(job.status).toBe('done');
    expect([await indexKeyOf(a.id), await indexKeyOf(b.id)]).toEqual([2, 2]);
    const left = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM resource WHERE index_key < 2`.execute(env.ctx.db);
    expect(left.rows[0].n).toBe(0);

    // after: no version-1 hash left anywhere the index is used
    for (const r of [a, b]) {
      const stored = await everywhere(r.id, r.table);
      expect(stored).not.toMatch(/"H1\./);
      expect(stored).toMatch(/"H2\./);
      expect(await quarantined(r.id)).toMatch(/"H2\./);
    }
    const libKeys = await sql<{ n: number }>`SELECT count(*)::int AS n FROM base_library_record
      WHERE key LIKE 'H1.%'`.execute(env.ctx.db);
    expect(libKeys.rows[0].n).toBe(0);
    const cols = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM record_change WHERE rkey LIKE 'H1.%'`.execute(env.ctx.db);
    expect(cols.rows[0].n).toBe(0);
    expect(await answers(a)).toEqual(beforeA);
    expect(await answers(b)).toEqual(beforeB);
    expect(await feed(a, cursor)).toEqual(rest);
    // the library assembles again to the same records; the mixed one now assembles
    expect((await assemble(lib)).status).toBe('done');
    const content = (recs: { vals: unknown; srcs: unknown }[]) =>
      recs.map((x) => JSON.stringify([x.vals, x.srcs])).sort();
    expect(content(await library())).toEqual(content(libBefore));
    expect((await library()).every((x) => x.key.startsWith('H2.'))).toBe(true);
    expect((await assemble(mixed)).status).toBe('done');
    // unchanged rows imported again change nothing (the keyed `_hash` was recomputed as ingest computes it)
    const again = await a.upload([head, ...a.rows(0, 2, '（迁入）'), ...a.rows(2, 2)].join('\n'));
    expect([again.rows_inserted, again.rows_updated]).toEqual([0, 0]);

    // status: version 1 retired (kept), nothing left
    const after = (await env.app.inject({ url: '/api/security/keys', headers: { cookie: admin } })).json();
    expect(after.index.resourcesLeft).toBe(0);
    expect(
      after.index.versions.map((v: { version: number; state: string }) => `${v.version}:${v.state}`),
    ).toEqual(['1:retired', '2:active']);

    // the audit: refusal, start, refusal of a second start, a per-resource conversion, the end
    const trail = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision', 'resource_id', 'detail'])
      .where('action', 'in', ['key.rotateIndex', 'key.indexConverted', 'key.indexRotated'])
      .orderBy('id')
      .execute();
    const seq = trail.map((t) => `${t.action}:${t.decision}`);
    expect(seq.slice(0, 3)).toEqual([
      'key.rotateIndex:deny',
      'key.rotateIndex:allow',
      'key.rotateIndex:deny',
    ]);
    expect(seq[seq.length - 1]).toBe('key.indexRotated:allow');
    const convA = trail.filter((t) => t.action === 'key.indexConverted' && Number(t.resource_id) === a.id);
    expect(convA).toHaveLength(1); // the failed attempt left no row
    expect(convA[0].detail).toMatchObject({ from: 1, to: 2, rows: 6, hashes: true, rekeyed: 7 });
    expect(trail[trail.length - 1].detail).toMatchObject({ version: 2, retired: [1] });
  });
});
