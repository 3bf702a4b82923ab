import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptResource } from '../../src/security/key-convert.js';
import {
  dataCaller,
  grantWithRights,
  importCsv,
  newLibrary,
  POPULATION_META,
  publishResource,
  saveVersion,
} from '../fixtures/catalog.js';
import { createTestEnv, dataPath, grantedApp, login, type TestEnv, testIdNumber } from '../helpers.js';

/*
 * Issue 10 point 3, the reverse of the conversion of clear columns (docs/ENCRYPTION.md "Catalog changes"): a catalog
 * version turning the sensitive-personal flag off for an encrypted field of a resource holding data publishes, the
 * column stays encrypted until the queued job `keys.decrypt` has rewritten table, history, quarantine and base-library
 * copies in clear. These tests read the tables themselves.
 */

const META = {
  ...POPULATION_META,
  summary: '含敏感个人信息的登记数据，用于验证取消敏感个人信息标记后存量加密数据转回明文存储。',
};
const FIELDS = [
  { code: 'caseNo', name: '登记编号', type: 'string', isKey: true, length: 20 },
  { code: 'name', name: '姓名', type: 'string', length: 20, personal: true, masking: 'name', required: true },
  {
    code: 'diagnosis',
    name: '病情',
    type: 'string',
    personal: true,
    sensitivePersonal: true,
    masking: 'partial',
  },
  { code: 'birthDate', name: '出生日期', type: 'date', personal: true, sensitivePersonal: true },
  { code: 'age', name: '年龄', type: 'integer' },
  { code: 'fee', name: '费用', type: 'decimal' },
  { code: 'registeredAt', name: '登记时间', type: 'datetime' },
  { code: 'active', name: '有效', type: 'boolean' },
];
const HEADER = 'caseNo,name,diagnosis,birthDate,age,fee,registeredAt,active';
const row = (i: number, tag = '') =>
  `N${i},李${i},病情${i}${tag},19${String(50 + i).padStart(2, '0')}-0${(i % 9) + 1}-1${i % 10},${40 + i},${i}.50,2024-03-0${(i % 9) + 1}T08:0${i % 10}:00+08:00,${i % 2 ? '是' : 'false'}`;

describe('turning the sensitive-personal flag off: decrypting stored values back to clear storage', () => {
  let env: TestEnv;
  let officer: string;
  let reviewer: string;
  let admin: string;

  const q = async (text: string) => (await sql.raw<Record<string, unknown>>(text).execute(env.ctx.db)).rows;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 20, entityRows: 10 } });
    officer = await login(env.app, 'gaj_officer');
    reviewer = await login(env.app, 'reviewer');
    admin = await login(env.app, 'admin');
  });
  afterAll(async () => env?.close());

  const publish = (name: string, fields: unknown[]) =>
    publishResource(env, { officer, reviewer }, { ...META, name, fields });
  const upload = (rid: number, header: string, lines: string[], onError = 'reject', run = true) =>
    importCsv(env, officer, rid, `${header}\n${lines.join('\n')}\n`, { query: `onError=${onError}`, run });
  const flagVersion = (rid: number, change: (f: Record<string, unknown>) => Record<string, unknown>) =>
    saveVersion(env, officer, rid, change);

  const unflag =
    (...codes: string[]) =>
    (f: Record<string, unknown>) =>
      codes.includes(f.code as string) ? { ...f, sensitivePersonal: false } : f;

  it('publishes encrypted (加密存储（待解密）), the queued keys.decrypt job rewrites table, history, quarantine and base-library copies in clear; answers unchanged; audited; the next import of unchanged rows changes nothing', async () => {
    const r = await publish('特殊群体登记（转回明文）', FIELDS);
    await upload(
      r.id,
      HEADER,
      Array.from({ length: 8 }, (_, i) => row(i)),
    );
    // history versions and change-feed rows; a quarantined row (bad age) and a ragged one (raw cells kept whole)
    await upload(
      r.id,
      HEADER,
      [
        row(0, '（复诊）'),
        row(1, '（复诊）'),
        `N50,李50,病情50,1990-01-01,abc,1,2024-01-01,是`,
        'N51,李51,病情51,1990-01-01,1,1,2024-01-01,是,多余',
      ],
      'quarantine',
    );
    const everywhere = async () =>
      JSON.stringify([
        await q(`SELECT * FROM ${r.table} ORDER BY _seq`),
        await q(`SELECT * FROM record_history WHERE resource_id = ${r.id} ORDER BY rkey, version`),
        await q(`SELECT * FROM ingest_quarantine WHERE resource_id = ${r.id} ORDER BY id`),
      ]);
    const stored0 = await everywhere();
    for (const clear of ['病情0', '病情3', '病情50', '病情51', '1953-04-13'])
      expect(stored0).not.toContain(clear);

    // a base library copies this resource's diagnosis (joined on the clear case number)
    const libId = await newLibrary(env, '转回明文测试库', 'creditCode');
    const w = await env.ctx.fieldKeys.writer(r.id, env.ctx.db);
    await sql`INSERT INTO base_library_source (library_id, field_code, priority, resource_id, source_field, key_field)
      VALUES (${libId}, 'illness', 0, ${r.id}, 'diagnosis', 'caseNo')`.execute(env.ctx.db);
    await sql`INSERT INTO base_library_record (library_id, key, vals, srcs, run_id)
      VALUES (${libId}, 'N2', ${JSON.stringify({ illness: w.encrypt('病情2') })}::jsonb, ${JSON.stringify({ illness: r.id })}::jsonb, 0)`.execute(
      env.ctx.db,
    );
    await sql`INSERT INTO base_library_conflict (library_id, key, field_code, auth_resource_id, auth_value,
        sec_resource_id, sec_value, first_run_id, last_run_id, found_at)
      VALUES (${libId}, 'N2', 'illness', ${r.id}, ${w.encrypt('病情2')}, ${r.id + 1000}, '其他来源', 0, 0, now())`.execute(
      env.ctx.db,
    );
    const library = async () =>
      JSON.stringify([
        await q(`SELECT vals FROM base_library_record WHERE library_id = ${libId}`),
        await q(`SELECT auth_value, sec_value FROM base_library_conflict WHERE library_id = ${libId}`),
      ]);
    expect(await library()).not.toContain('病情2');

    // the consumer's answers: records (decrypted, masked), verification, equality filter, change feed
    const g = await grantWithRights(
      env,
      officer,
      {
        consumer: 'rsj_officer',
        provider: 'gaj_officer',
        resourceCode: r.code,
        fields: FIELDS.map((f) => f.code),
        appName: '转回明文测试',
      },
      { verify: true, feed: true },
    );
    const ask = dataCaller(env, r.code, g);
    const answers = async () => {
      const out: unknown[] = [];
      for (const k of ['N0', 'N1', 'N5', 'N7']) {
        const res = await ask(`/records/${k}`);
        expect(res.statusCode, res.body).toBe(200);
        out.push(res.json().record);
      }
      for (const [k, v] of [
        ['N1', '病情1（复诊）'],
        ['N1', '病情1'],
        ['N4', '病情4'],
      ]) {
        const res = await ask('/verify', 'POST', { key: k, match: { diagnosis: v } });
        expect(res.statusCode, res.body).toBe(200);
        out.push(res.json().match);
      }
      for (const filter of [{ diagnosis: { eq: '病情3' } }, { birthDate: { eq: '1956-07-16' } }]) {
        const page = await ask('/query', 'POST', { where: filter });
        expect(page.statusCode, page.body).toBe(200);
        expect(page.json().items).toHaveLength(1);
        out.push(page.json().items);
      }
      const feed = await ask('/changes?limit=100');
      expect(feed.statusCode, feed.body).toBe(200);
      out.push(feed.json().changes.map((c: Record<string, unknown>) => ({ ...c, at: undefined })));
      return out;
    };

    // the version turning the flag off for both encrypted fields (and no longer personal: a consumer may filter on
    // them, which a masked field refuses) is accepted and published
    const save = await flagVersion(r.id, (f) =>
      ['diagnosis', 'birthDate'].includes(f.code as string)
        ? { ...f, sensitivePersonal: false, personal: false, masking: 'none' }
        : f,
    );
    expect(save.statusCode, save.body).toBe(200);
    const pub = await env.app.inject({
      method: 'POST',
      url: `/api/catalog/resources/${r.id}/publish`,
      headers: { cookie: reviewer },
      payload: { comment: '同意' },
    });
    expect(pub.statusCode, pub.body).toBe(200);
    // the published state never claims less protection than is in place: unflagged, still encrypted
    const page = async () =>
      (await env.app.inject({ url: `/api/catalog/resources/${r.id}`, headers: { cookie: officer } }))
        .json()
        .fields.filter((f: { code: string }) => ['diagnosis', 'birthDate'].includes(f.code))
        .map((f: Record<string, unknown>) => ({
          sensitivePersonal: f.sensitivePersonal,
          encrypted: f.encrypted,
        }));
    expect(await page()).toEqual([
      { sensitivePersonal: false, encrypted: true },
      { sensitivePersonal: false, encrypted: true },
    ]);
    const job = () =>
      env.ctx.db
        .selectFrom('job')
        .select(['status', 'payload'])
        .where('kind', '=', 'keys.decrypt')
        .where('key', '=', `r${r.id}`)
        .executeTakeFirst();
    expect(await job()).toEqual({ status: 'queued', payload: { resourceId: r.id } });
    const queued = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision', 'detail', 'actor_user_id'])
      .where('action', 'in', ['key.decrypt', 'catalog.publish'])
      .where('resource_id', '=', r.id)
      .orderBy('id', 'desc')
      .limit(2)
      .execute();
    expect(queued.map((a) => a.action).sort()).toEqual(['catalog.publish', 'key.decrypt']);
    expect(queued.find((a) => a.action === 'key.decrypt')!.detail).toMatchObject({
      fields: ['diagnosis', 'birthDate'],
      via: 'catalog.publish',
      versionNo: 2,
    });
    expect(queued.find((a) => a.action === 'catalog.publish')!.detail).toMatchObject({
      decryptQueued: ['diagnosis', 'birthDate'],
    });
    // keys status still lists them as encrypted
    const status = await env.app.inject({ url: '/api/security/keys', headers: { cookie: admin } });
    const mine = status.json().resources.find((x: { id: number }) => x.id === r.id);
    expect(mine.fields.map((f: { encrypted: boolean }) => f.encrypted)).toEqual([true, true]);

    // while encrypted, a range on the date is refused (FIELD_ENCRYPTED)
    expect((await ask('/query', 'POST', { where: { birthDate: { gt: '1956-01-01' } } })).json().code).toBe(
      'FIELD_ENCRYPTED',
    );
    // the job held back while an import is written: values keep being encrypted on write, and an import in progress
    // makes the job wait (ENCRYPTION_CONVERSION_BUSY, retried)
    await sql`UPDATE job SET run_at = now() + interval '1 hour' WHERE kind = 'keys.decrypt' AND key = ${`r${r.id}`}`.execute(
      env.ctx.db,
    );
    const pending = await upload(r.id, HEADER, [row(7, '（转院）')], 'reject', false);
    await expect(decryptResource(env.ctx, r.id)).rejects.toMatchObject({
      code: 'ENCRYPTION_CONVERSION_BUSY',
    });
    await env.ctx.jobs.runDue();
    expect(
      (
        await env.ctx.db
          .selectFrom('ingest_batch')
          .select('status')
          .where('id', '=', pending.id)
          .executeTakeFirstOrThrow()
      ).status,
    ).toBe('committed');
    expect(await everywhere()).not.toContain('病情7（转院）');
    const before = await answers();
    expect(before.slice(4, 7)).toEqual([true, false, true]);
    expect(JSON.stringify(before)).toContain('1956-07-16');

    // crash safety: a value that fails its integrity check in record_history (decrypted after the table was rewritten)
    // fails the job; the transaction leaves everything as it was, still encrypted
    const [h] = await q(
      `SELECT rkey, version, data->>2 AS v FROM record_history WHERE resource_id = ${r.id} ORDER BY rkey LIMIT 1`,
    );
    const v = String(h.v);
    const tampered = `${v.slice(0, -4)}${v.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const setHist = (val: string) =>
      sql`UPDATE record_history SET data = jsonb_set(data, '{2}', to_jsonb(${val}::text))
        WHERE resource_id = ${r.id} AND rkey = ${h.rkey} AND version = ${h.version}`.execute(env.ctx.db);
    await setHist(tampered);
    const snapshot = [await everywhere(), await library()];
    await expect(decryptResource(env.ctx, r.id)).rejects.toMatchObject({ code: 'FIELD_INTEGRITY_FAILED' });
    expect([await everywhere(), await library()]).toEqual(snapshot);
    expect(await page()).toEqual([
      { sensitivePersonal: false, encrypted: true },
      { sensitivePersonal: false, encrypted: true },
    ]);
    const cols = async () =>
      (
        await q(
          `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'ds'
           AND table_name = 'r_${r.id}' AND column_name IN ('c3', 'c3_h', 'c4', 'c4_h') ORDER BY column_name`,
        )
      ).map((c) => `${c.column_name}:${c.data_type}`);
    expect(await cols()).toEqual(['c3:text', 'c3_h:text', 'c4:text', 'c4_h:text']);
    expect(
      await env.ctx.db
        .selectFrom('audit_log')
        .select('id')
        .where('action', '=', 'key.decrypted')
        .where('resource_id', '=', r.id)
        .execute(),
    ).toEqual([]);
    await setHist(v);

    // the job runs: clear storage everywhere, the field's own SQL type, no keyed-hash column
    await sql`UPDATE job SET run_at = now() - interval '1 hour' WHERE kind = 'keys.decrypt' AND key = ${`r${r.id}`}`.execute(
      env.ctx.db,
    );
    await env.ctx.jobs.runDue();
    expect((await job())?.status).not.toBe('queued');
    expect(await page()).toEqual([
      { sensitivePersonal: false, encrypted: false },
      { sensitivePersonal: false, encrypted: false },
    ]);
    expect(await cols()).toEqual(['c3:text', 'c4:date']);
    const stored = await everywhere();
    expect(stored).not.toContain('ENC1.');
    for (const clear of [
      '病情3',
      '病情1（复诊）',
      '病情1"',
      '病情7（转院）',
      '病情50',
      '病情51',
      '1953-04-13',
    ])
      expect(stored).toContain(clear);
    const [first] = await q(`SELECT c3, c4::text AS c4 FROM ${r.table} WHERE _key = 'N3'`);
    expect(first).toEqual({ c3: '病情3', c4: '1953-04-13' });
    const lib = await library();
    expect(lib).not.toContain('ENC1.');
    expect(lib).toContain('病情2');
    expect(lib).toContain('其他来源');
    // the same answers
    expect(await answers()).toEqual(before);
    // a range filter on the now clear date works (it was refused as FIELD_ENCRYPTED)
    const range = await ask('/query', 'POST', { where: { birthDate: { gt: '1956-01-01' } } });
    expect(range.statusCode, range.body).toBe(200);
    expect(
      range
        .json()
        .items.map((x: { caseNo: string }) => x.caseNo)
        .sort(),
    ).toEqual(['N6', 'N7']);
    // audited with the row count
    const trail = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision', 'detail'])
      .where('action', 'in', ['key.decrypt', 'key.decrypted'])
      .where('resource_id', '=', r.id)
      .orderBy('id')
      .execute();
    expect(trail.map((a) => `${a.action}:${a.decision}`)).toEqual([
      'key.decrypt:allow',
      'key.decrypted:allow',
    ]);
    expect(trail[1].detail).toMatchObject({ fields: ['diagnosis', 'birthDate'], rows: 8, rowHash: 'clear' });
    // status: nothing of the resource is encrypted or flagged any more
    const after = await env.app.inject({ url: '/api/security/keys', headers: { cookie: admin } });
    expect(after.json().resources.find((x: { id: number }) => x.id === r.id)).toBeUndefined();

    // _hash is what ingest computes for a clear resource: the same rows again change nothing, a change is one update
    const again = await upload(r.id, HEADER, [
      row(0, '（复诊）'),
      row(1, '（复诊）'),
      ...[2, 3, 4, 5, 6].map((i) => row(i)),
      row(7, '（转院）'),
    ]);
    expect([again.status, again.rows_inserted, again.rows_updated]).toEqual(['committed', 0, 0]);
    const changed = await upload(r.id, HEADER, [row(3, '（出院）')]);
    expect([changed.rows_inserted, changed.rows_updated]).toEqual([0, 1]);
    expect(await q(`SELECT c3 FROM ${r.table} WHERE _key = 'N3'`)).toEqual([{ c3: '病情3（出院）' }]);

    // the quarantined rows open decrypted (then masked) and the ragged row's raw cells are clear again
    const items = (
      await env.app.inject({ url: `/api/ingest/resources/${r.id}/quarantine`, headers: { cookie: officer } })
    ).json().items as { row: number; values: Record<string, string | null>; raw: unknown }[];
    // decrypted; no longer personal in the published version, so shown as is
    expect(items.find((i) => i.values.caseNo === 'N50')!.values.diagnosis).toBe('病情50');
    expect(items.find((i) => Array.isArray(i.raw))!.raw).toEqual([
      'N51',
      '李51',
      '病情51',
      '1990-01-01',
      '1',
      '1',
      '2024-01-01',
      '是',
      '多余',
    ]);

    // the job again: nothing left, nothing done
    expect(await decryptResource(env.ctx, r.id)).toEqual([]);
  });

  it('another field still encrypted: the unflagged one goes clear, _hash stays keyed, the next import of unchanged rows changes nothing', async () => {
    const r = await publish('特殊群体登记（部分转回明文）', [
      { code: 'idNumber', name: '身份证号', type: 'string', isKey: true, validator: 'idNumber' },
      {
        code: 'diagnosis',
        name: '病情',
        type: 'string',
        personal: true,
        sensitivePersonal: true,
        masking: 'partial',
      },
      { code: 'age', name: '年龄', type: 'integer' },
    ]);
    const lines = (tag = '') =>
      Array.from({ length: 5 }, (_, i) => `${testIdNumber(7000 + i)},病情${i}${tag},${30 + i}`);
    await upload(r.id, 'idNumber,diagnosis,age', lines());
    const hashes = async () => (await q(`SELECT _key, _hash FROM ${r.table} ORDER BY _key`)) as object[];
    const before = await hashes();
    const save = await flagVersion(r.id, unflag('diagnosis'));
    expect(save.statusCode, save.body).toBe(200);
    const pub = await env.app.inject({
      method: 'POST',
      url: `/api/catalog/resources/${r.id}/publish`,
      headers: { cookie: reviewer },
      payload: { comment: '同意' },
    });
    expect(pub.statusCode, pub.body).toBe(200);
    await env.ctx.jobs.runDue();
    const stored = JSON.stringify(await q(`SELECT * FROM ${r.table}`));
    expect(stored).toContain('病情3');
    expect(stored).not.toContain(testIdNumber(7003)); // the record key stays encrypted (and `_key` its keyed hash)
    expect(await hashes()).toEqual(before);
    const trail = await env.ctx.db
      .selectFrom('audit_log')
      .select('detail')
      .where('action', '=', 'key.decrypted')
      .where('resource_id', '=', r.id)
      .executeTakeFirstOrThrow();
    expect(trail.detail).toMatchObject({ fields: ['diagnosis'], rows: 5, rowHash: 'keyed' });
    const again = await upload(r.id, 'idNumber,diagnosis,age', lines());
    expect([again.status, again.rows_inserted, again.rows_updated]).toEqual(['committed', 0, 0]);
    const changed = await upload(r.id, 'idNumber,diagnosis,age', lines('（复诊）').slice(0, 1));
    expect(changed.rows_updated).toBe(1);
  });

  // a second node on the same PostgreSQL database (PGlite is one process's database)
  it.skipIf(!process.env.DATABASE_URL)(
    'another node whose cached metadata still says "encrypted" answers a verification after the job dropped c<n>_h (re-reads it)',
    async () => {
      const r = await publish('特殊群体登记（双节点转回明文）', FIELDS.slice(0, 3));
      await upload(r.id, 'caseNo,name,diagnosis', ['N1,李1,病情1', 'N2,李2,病情2']);
      const g = await grantedApp(env.app, {
        consumer: 'rsj_officer',
        provider: 'gaj_officer',
        resourceCode: r.code,
        fields: ['caseNo', 'name', 'diagnosis'],
        appName: '双节点转回明文测试',
      });
      const edit = await env.app.inject({
        method: 'PATCH',
        url: `/api/sharing/grants/${g.grantId}`,
        headers: { cookie: officer },
        payload: { verify: true },
      });
      expect(edit.statusCode, edit.body).toBe(200);
      const node2 = await createTestEnv({ demo: false, databaseUrl: env.ctx.config.databaseUrl! });
      try {
        const verify = () =>
          node2.app.inject({
            method: 'POST',
            url: `${dataPath(r.code)}/verify`,
            headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
            payload: { key: 'N1', match: { diagnosis: '病情1' } },
          });
        const first = await verify();
        expect(first.statusCode, first.body).toBe(200);
        expect(first.json().match).toBe(true);
        expect((await flagVersion(r.id, unflag('diagnosis'))).statusCode).toBe(200);
        const pub = await env.app.inject({
          method: 'POST',
          url: `/api/catalog/resources/${r.id}/publish`,
          headers: { cookie: reviewer },
          payload: { comment: '同意' },
        });
        expect(pub.statusCode, pub.body).toBe(200);
        expect(await decryptResource(env.ctx, r.id)).toEqual(['diagnosis']);
        const again = await verify();
        expect(again.statusCode, again.body).toBe(200);
        expect(again.json().match).toBe(true);
      } finally {
        await node2.close();
      }
    },
  );
});
