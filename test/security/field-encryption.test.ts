import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskValue } from '../../src/dataapi/masking.js';
import { FieldKeys, loadKeks } from '../../src/security/field-keys.js';
import { reencryptStep } from '../../src/security/key-service.js';
import {
  dataCaller,
  grantWithRights,
  importCsv,
  newLibrary,
  POPULATION_META,
  publishResource,
  saveVersion,
  storeInClear,
} from '../fixtures/catalog.js';
import { createTestEnv, grantedApp, login, type TestEnv, testIdNumber } from '../helpers.js';

/*
 * Issue 10 point 3: sensitive-personal fields are encrypted at rest (docs/ENCRYPTION.md). These tests read the tables
 * themselves: with the encryption removed, the clear ID numbers appear in them and the first tests fail.
 */

const RESOURCE = {
  name: '特殊群体登记（加密测试）',
  summary: '含敏感个人信息的登记数据，用于验证敏感个人信息字段的加密存储、按键查询与密钥轮换。',
  ...POPULATION_META,
  fields: [
    // an ID number is sensitive-personal by its validator (GB/T 35273 Annex B): encrypted, and the record key
    { code: 'idNumber', name: '身份证号', type: 'string', isKey: true, validator: 'idNumber' },
    {
      code: 'name',
      name: '姓名',
      type: 'string',
      length: 20,
      personal: true,
      masking: 'name',
      required: true,
    },
    // flagged sensitive-personal by the department: encrypted though it is not the key
    {
      code: 'diagnosis',
      name: '病情',
      type: 'string',
      personal: true,
      sensitivePersonal: true,
      masking: 'partial',
    },
    { code: 'age', name: '年龄', type: 'integer' },
  ],
};
const id = (i: number) => testIdNumber(9000 + i);
const csv = (n: number, from = 0) =>
  [
    'idNumber,name,age,diagnosis',
    ...Array.from({ length: n }, (_, k) => `${id(from + k)},张${from + k},${30 + k},病情${from + k}号`),
  ].join('\n');

describe('encryption at rest of sensitive-personal fields (issue 10 point 3)', () => {
  let env: TestEnv;
  let officer: string;
  let admin: string;
  let auditor: string;
  let resourceId: number;
  let code: string;
  let table: string;
  let g: Awaited<ReturnType<typeof grantedApp>>;

  const dump = async (t = table) =>
    JSON.stringify((await sql.raw(`SELECT * FROM ${t}`).execute(env.ctx.db)).rows);
  const call = (url: string, method: 'GET' | 'POST' = 'GET', payload?: unknown) =>
    dataCaller(env, code, g)(url, method, payload);

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 50, entityRows: 20 } });
    officer = await login(env.app, 'gaj_officer');
    admin = await login(env.app, 'admin');
    auditor = await login(env.app, 'auditor');
    const reviewer = await login(env.app, 'reviewer');
    ({ id: resourceId, code, table } = await publishResource(env, { officer, reviewer }, RESOURCE));
    await importCsv(env, officer, resourceId, csv(30));
    g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: code,
      fields: ['idNumber', 'name', 'diagnosis', 'age'],
      appName: '加密字段测试',
    });
  });
  afterAll(async () => env?.close());

  it('CSV upload: the table, its history and staging hold no clear sensitive-personal value; _key is a keyed hash', async () => {
    const rows = await dump();
    expect(JSON.parse(rows)).toHaveLength(30);
    for (let i = 0; i < 30; i++) {
      expect(rows).not.toContain(id(i));
      expect(rows).not.toContain(`病情${i}号`);
    }
    expect(rows).toContain('张1'); // a personal (not sensitive-personal) field stays clear
    const { rows: one } = await sql
      .raw<Record<string, string>>(`SELECT _key, c1, c1_h, c3 FROM ${table} LIMIT 1`)
      .execute(env.ctx.db);
    expect(one[0]._key).toMatch(/^H1\./);
    expect(one[0].c1).toMatch(env.ctx.fieldKeys.alg === 's' ? /^ENC1\.s\./ : /^ENC1\.a\./);
    expect(one[0].c1_h).toBe(one[0]._key);
    expect(one[0].c3).toMatch(/^ENC1\./);
    // a second upload changes a row: record_history keeps the old version, encrypted too
    const up = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/imports`,
      headers: { cookie: officer, 'content-type': 'text/csv' },
      payload: `idNumber,name,age,diagnosis\n${id(0)},张0,31,病情已变`,
    });
    expect(up.statusCode).toBe(202);
    await env.ctx.jobs.runDue();
    const hist = JSON.stringify(
      (await sql`SELECT * FROM record_history WHERE resource_id = ${resourceId}`.execute(env.ctx.db)).rows,
    );
    expect(hist).toContain('ENC1.');
    expect(hist).not.toContain(id(0));
    expect(hist).not.toContain('病情0号');
    expect(await dump('ingest_staging')).not.toContain(id(0));
  });

  it('realtime push: the pushed record is stored encrypted too', async () => {
    const app = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: officer },
      payload: { name: '推送系统（加密）', description: '实时推送' },
    });
    expect(app.statusCode, app.body).toBe(201);
    const push = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/push`,
      headers: { 'x-api-key': app.json().apiKey, 'idempotency-key': 'enc-0001' },
      payload: { records: [{ idNumber: id(40), name: '推送', age: 40, diagnosis: '推送病情' }] },
    });
    expect(push.statusCode, push.body).toBe(200);
    const rows = await dump();
    expect(rows).not.toContain(id(40));
    expect(rows).not.toContain('推送病情');
    expect(rows).toContain('推送');
  });

  it('the data API answers as before: get by key and a page, decrypted then masked', async () => {
    const rec = await call(`/records/${id(3)}`);
    expect(rec.statusCode, rec.body).toBe(200);
    const r = rec.json().record;
    expect(r.idNumber).toBe(maskValue('idNumber', id(3)));
    expect(r.diagnosis).toBe(maskValue('partial', '病情3号'));
    expect(r.name).toBe(maskValue('name', '张3'));
    expect(r.age).toBe(33);
    // lower-case check letter, as before: normalised, then hashed
    expect((await call(`/records/${id(3).toLowerCase()}`)).statusCode).toBe(200);
    expect((await call(`/records/${testIdNumber(11_000)}`)).statusCode).toBe(404);
    // a page and an export decrypt before masking, like a record
    const page = await call('/records?limit=100');
    expect(page.statusCode, page.body).toBe(200);
    const masked = page.json().items.map((x: { idNumber: string }) => x.idNumber);
    expect(masked).toContain(maskValue('idNumber', id(7)));
    expect(page.body).not.toContain('ENC1.');
  });

  it('ranges and prefixes on an encrypted field are refused with FIELD_ENCRYPTED; aggregates cannot group by it', async () => {
    const q = await call('/query', 'POST', { where: { diagnosis: { prefix: '病情' } } });
    expect(q.statusCode).toBe(400);
    expect(q.json().code).toBe('FIELD_ENCRYPTED');
    const r = await call('/query', 'POST', { where: { idNumber: { gte: id(0) } } });
    expect(r.json().code).toBe('FIELD_ENCRYPTED');
  });

  it('a clear value of the ciphertext form is refused on ingest (VALUE_RESERVED)', async () => {
    const { rows } = await sql.raw<{ c3: string }>(`SELECT c3 FROM ${table} LIMIT 1`).execute(env.ctx.db);
    const up = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/imports`,
      headers: { cookie: officer, 'content-type': 'text/csv' },
      payload: `idNumber,name,age,diagnosis\n${id(50)},某,1,${rows[0].c3}`,
    });
    await env.ctx.jobs.runDue();
    const done = await env.app.inject({
      url: `/api/ingest/imports/${up.json().id}`,
      headers: { cookie: officer },
    });
    expect(done.json().status).toBe('rejected');
    const report = await env.app.inject({
      url: `/api/ingest/imports/${up.json().id}/report`,
      headers: { cookie: officer },
    });
    expect(report.json().errors.map((e: { code: string }) => e.code)).toEqual(['VALUE_RESERVED']);
  });

  it('data key rotation: new writes use the new version at once, reads work mid-way, the job ends with every value on it', async () => {
    expect(
      (
        await env.app.inject({
          method: 'POST',
          url: `/api/security/keys/resources/${resourceId}/rotate`,
          headers: { cookie: auditor },
        })
      ).statusCode,
    ).toBe(403);
    const rot = await env.app.inject({
      method: 'POST',
      url: `/api/security/keys/resources/${resourceId}/rotate`,
      headers: { cookie: admin },
    });
    expect(rot.statusCode, rot.body).toBe(200);
    const v = rot.json().version as number;
    expect(v).toBe(2);
    const pattern = `ENC1._.${resourceId}.${v}.%`;
    const onNew = async () =>
      (
        await sql
          .raw<{ n: number; total: number }>(
            `SELECT count(*) FILTER (WHERE c1 LIKE '${pattern}')::int AS n, count(*)::int AS total FROM ${table}`,
          )
          .execute(env.ctx.db)
      ).rows[0];
    expect((await onNew()).n).toBe(0);
    // one batch of 10, then reads of old and new values alike
    expect(await reencryptStep(env.ctx, resourceId, 10)).toBe(10);
    const mid = await onNew();
    expect(mid.n).toBe(10);
    expect(mid.n).toBeLessThan(mid.total);
    for (const i of [0, 5, 20, 29]) expect((await call(`/records/${id(i)}`)).statusCode).toBe(200);
    const status = await env.app.inject({ url: '/api/security/keys', headers: { cookie: auditor } });
    expect(status.statusCode, status.body).toBe(200);
    const mine = status.json().resources.find((x: { id: number }) => x.id === resourceId);
    expect(mine).toMatchObject({ version: v, pending: mid.total - 10 });
    // the job (scheduled by the rotation) finishes: every value on the new version, history included; old retired
    await env.ctx.jobs.runDue();
    const end = await onNew();
    expect(end.n).toBe(end.total);
    const hist = JSON.stringify(
      (await sql`SELECT data FROM record_history WHERE resource_id = ${resourceId}`.execute(env.ctx.db)).rows,
    );
    expect(hist).not.toMatch(new RegExp(`ENC1\\.[sa]\\.${resourceId}\\.1\\.`));
    const keys = await env.ctx.db
      .selectFrom('field_key')
      .selectAll()
      .where('scope_id', '=', resourceId)
      .orderBy('version')
      .execute();
    expect(keys.map((k) => k.state)).toEqual(['retired', 'active']);
    expect((await call(`/records/${id(29)}`)).json().record.diagnosis).toBe(maskValue('partial', '病情29号'));
    const actions = await env.ctx.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', 'in', ['key.rotate', 'key.reencrypted'])
      .where('resource_id', '=', resourceId)
      .execute();
    expect(actions.map((a) => a.action).sort()).toEqual(['key.reencrypted', 'key.rotate']);
  });

  it('KEK rotation re-wraps every data key under the current KEK; values are not rewritten and stay readable', async () => {
    const before = await dump();
    const r = await env.app.inject({
      method: 'POST',
      url: '/api/security/keys/kek/rotate',
      headers: { cookie: admin },
    });
    expect(r.statusCode, r.body).toBe(200);
    // every key already under the current KEK: nothing to re-wrap, audited
    expect(r.json()).toMatchObject({ rewrapped: 0, unreadable: 0 });
    // a key wrapped by a KEK this node does not hold is reported, not silently lost
    await sql`UPDATE field_key SET kek_id = 'ffffffffffffffff' WHERE scope_id = ${resourceId} AND state = 'retired'`.execute(
      env.ctx.db,
    );
    const r2 = await env.app.inject({
      method: 'POST',
      url: '/api/security/keys/kek/rotate',
      headers: { cookie: admin },
    });
    expect(r2.json()).toMatchObject({ unreadable: 1 });
    expect(await dump()).toBe(before);
    expect((await call(`/records/${id(8)}`)).statusCode).toBe(200);
  });

  it('nodes must share one KEK: a server database without a configured KEK, or a node holding another one, refuses to start', async () => {
    // a PostgreSQL deployment with a data directory but no GOVSHARE_KEK / GOVSHARE_KEK_FILE: no per-node key file
    expect(() =>
      loadKeks({
        ...env.ctx.config,
        databaseUrl: 'postgres://db/govshare',
        dataDir: '/var/lib/govshare',
        fieldKek: null,
        fieldKekFile: null,
      }),
    ).toThrow(/GOVSHARE_KEK or GOVSHARE_KEK_FILE/);
    // a second node given another key cannot unwrap the platform's keys: its keyring refuses to load, naming both keys
    const stranger = new FieldKeys(env.ctx.db, {
      ...env.ctx.config,
      fieldKek: Buffer.alloc(32, 7).toString('base64'),
      fieldKekFile: null,
      fieldKekPrevious: [],
    });
    await expect(stranger.refresh(true, env.ctx.db)).rejects.toThrow(/does not have .*GOVSHARE_KEK/);
    // and it has wrapped nothing of its own meanwhile
    const foreign = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM field_key WHERE kek_id = ${stranger.kekId}`.execute(env.ctx.db);
    expect(foreign.rows[0].n).toBe(0);
  });

  it('tampered ciphertext fails closed with FIELD_INTEGRITY_FAILED and is audited (key.tamper)', async () => {
    const { rows } = await sql
      .raw<{ c3: string; _key: string }>(
        `SELECT _key, c3 FROM ${table} WHERE _key = '${env.ctx.fieldKeys.index(id(9))}'`,
      )
      .execute(env.ctx.db);
    const c = rows[0].c3;
    const flipped = c.slice(0, -3) + (c.at(-3) === 'A' ? 'B' : 'A') + c.slice(-2);
    await sql.raw(`UPDATE ${table} SET c3 = '${flipped}' WHERE _key = '${rows[0]._key}'`).execute(env.ctx.db);
    const res = await call(`/records/${id(9)}`);
    expect(res.statusCode).toBe(500);
    expect(res.json().code).toBe('FIELD_INTEGRITY_FAILED');
    expect(res.body).not.toContain('病情9号');
    const tamper = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision'])
      .where('action', '=', 'key.tamper')
      .where('resource_id', '=', resourceId)
      .execute();
    expect(tamper).toEqual([{ action: 'key.tamper', decision: 'deny' }]);
    // a page opens its values together (openedPolicy): the tampered one is left to the keyring, which fails it closed
    const page = await call('/records?limit=100');
    expect(page.statusCode).toBe(500);
    expect(page.json().code).toBe('FIELD_INTEGRITY_FAILED');
    expect(page.body).not.toContain('病情');
    await sql.raw(`UPDATE ${table} SET c3 = '${c}' WHERE _key = '${rows[0]._key}'`).execute(env.ctx.db);
    expect((await call('/records?limit=100')).statusCode).toBe(200);
    expect((await call(`/records/${id(9)}`)).statusCode).toBe(200);
  });

  it('quarantine: rejected rows keep their sensitive-personal values encrypted; listed masked, corrected, resubmitted', async () => {
    const up = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/imports?onError=quarantine`,
      headers: { cookie: officer, 'content-type': 'text/csv' },
      // data row 1: a bad age (values kept by field); row 2: a ragged line (its raw cells kept whole)
      payload: `idNumber,name,age,diagnosis\n${id(60)},张60,abc,病情60号\n${id(61)},张61,61,病情61号,多余\n`,
    });
    expect(up.statusCode, up.body).toBe(202);
    await env.ctx.jobs.runDue();
    const stored = await dump('ingest_quarantine');
    expect(stored).toContain('ENC1.');
    for (const clear of [id(60), '病情60号', id(61), '病情61号']) expect(stored).not.toContain(clear);
    expect(stored).toContain('张60'); // a personal (not sensitive-personal) value stays clear
    const list = async () =>
      (
        await env.app.inject({
          url: `/api/ingest/resources/${resourceId}/quarantine`,
          headers: { cookie: officer },
        })
      ).json();
    const items = (await list()).items as {
      id: number;
      row: number;
      values: Record<string, string | null>;
      raw: unknown;
    }[];
    const bad = items.find((i) => i.row === 1)!;
    // decrypted, then masked as the provider's correction form shows personal values
    expect(bad.values.age).toBe('abc');
    expect(bad.values.idNumber).toBe(maskValue('idNumber', id(60)));
    expect(items.find((i) => i.row === 2)!.raw).toEqual([id(61), '张61', '61', '病情61号', '多余']);
    const fix = await env.app.inject({
      method: 'PUT',
      url: `/api/ingest/quarantine/${bad.id}`,
      headers: { cookie: officer },
      payload: { values: { age: '60' } },
    });
    expect(fix.statusCode, fix.body).toBe(200);
    expect(await dump('ingest_quarantine')).not.toContain(id(60));
    const ok = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/quarantine/resubmit`,
      headers: { cookie: officer },
      payload: { ids: [bad.id] },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().inserted).toBe(1);
    const got = await call(`/records/${id(60)}`);
    expect(got.statusCode, got.body).toBe(200);
    expect(got.json().record.age).toBe(60);
    expect(await dump()).not.toContain('病情60号');
  });

  it('data key rotation re-encrypts quarantined rows too (values and raw cells); the old version retires only after them', async () => {
    const up = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/imports?onError=quarantine`,
      headers: { cookie: officer, 'content-type': 'text/csv' },
      payload: `idNumber,name,age,diagnosis\n${id(62)},张62,abc,病情62号\n`,
    });
    expect(up.statusCode, up.body).toBe(202);
    await env.ctx.jobs.runDue();
    const before = (
      await env.ctx.db
        .selectFrom('field_key')
        .select('version')
        .where('scope_id', '=', resourceId)
        .where('state', '=', 'active')
        .executeTakeFirstOrThrow()
    ).version;
    const under = (v: number) => new RegExp(`ENC1\\.[sa]\\.${resourceId}\\.${v}\\.`, 'g');
    const quarantined = async () => dump('ingest_quarantine');
    // open rows (the new one, the ragged one) and resolved ones all hold values under the active version
    const qOld = (await quarantined()).match(under(before))?.length ?? 0;
    expect(qOld).toBeGreaterThanOrEqual(3);
    const rot = await env.app.inject({
      method: 'POST',
      url: `/api/security/keys/resources/${resourceId}/rotate`,
      headers: { cookie: admin },
    });
    expect(rot.statusCode, rot.body).toBe(200);
    const v = rot.json().version as number;
    const state = async (version: number) =>
      (
        await env.ctx.db
          .selectFrom('field_key')
          .select('state')
          .where('scope_id', '=', resourceId)
          .where('version', '=', version)
          .executeTakeFirstOrThrow()
      ).state;
    const tableOld = async () =>
      ((await dump()).match(under(before))?.length ?? 0) +
      (JSON.stringify(
        (await sql`SELECT data FROM record_history WHERE resource_id = ${resourceId}`.execute(env.ctx.db))
          .rows,
      ).match(under(before))?.length ?? 0);
    let sawQuarantineLast = false;
    for (let guard = 0; guard < 20; guard++) {
      const left = (await quarantined()).match(under(before))?.length ?? 0;
      if (left > 0) expect(await state(before)).toBe('retiring');
      if (left > 0 && (await tableOld()) === 0) {
        // the table and its history are done; the quarantined rows are still counted as left to re-encrypt
        const status = await env.app.inject({ url: '/api/security/keys', headers: { cookie: auditor } });
        const mine = status.json().resources.find((x: { id: number }) => x.id === resourceId);
        expect(mine.pending).toBeGreaterThan(0);
        sawQuarantineLast = true;
      }
      if ((await reencryptStep(env.ctx, resourceId, 1000)) === 0) break;
    }
    expect(sawQuarantineLast).toBe(true);
    const after = await quarantined();
    expect(after).not.toMatch(under(before));
    expect(after.match(under(v))?.length ?? 0).toBeGreaterThanOrEqual(qOld);
    for (const clear of [id(62), '病情62号', id(61)]) expect(after).not.toContain(clear);
    expect(await state(before)).toBe('retired');
    const status = await env.app.inject({ url: '/api/security/keys', headers: { cookie: auditor } });
    expect(status.json().resources.find((x: { id: number }) => x.id === resourceId).pending).toBe(0);
    // still opens (listed masked, raw cells whole), corrects and resubmits
    const items = (
      await env.app.inject({
        url: `/api/ingest/resources/${resourceId}/quarantine`,
        headers: { cookie: officer },
      })
    ).json().items as { id: number; values: Record<string, string | null>; raw: unknown }[];
    const bad = items.find((i) => i.values.age === 'abc')!;
    expect(bad.values.idNumber).toBe(maskValue('idNumber', id(62)));
    expect(items.find((i) => Array.isArray(i.raw))!.raw).toEqual([id(61), '张61', '61', '病情61号', '多余']);
    const fix = await env.app.inject({
      method: 'PUT',
      url: `/api/ingest/quarantine/${bad.id}`,
      headers: { cookie: officer },
      payload: { values: { age: '62' } },
    });
    expect(fix.statusCode, fix.body).toBe(200);
    const ok = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/quarantine/resubmit`,
      headers: { cookie: officer },
      payload: { ids: [bad.id] },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    const got = await call(`/records/${id(62)}`);
    expect(got.statusCode, got.body).toBe(200);
    expect(got.json().record).toMatchObject({ age: 62, diagnosis: maskValue('partial', '病情62号') });
  });

  /** A published resource whose sensitive-personal columns are laid out as migration 040 left older tables: clear. */
  async function clearResource(name: string, fields: unknown[]) {
    const reviewer = await login(env.app, 'reviewer');
    const r = await publishResource(env, { officer, reviewer }, { ...RESOURCE, name, fields });
    await storeInClear(env, r.id); // the table is still empty
    return r;
  }

  it('converting clear columns (存量明文): one job rewrites table, history, quarantine; answers unchanged; audited; 409s', async () => {
    const clr = await clearResource('特殊群体登记（存量明文）', [
      { code: 'caseNo', name: '登记编号', type: 'string', isKey: true, length: 20 },
      { code: 'idNumber', name: '身份证号', type: 'string', validator: 'idNumber' },
      { code: 'name', name: '姓名', type: 'string', length: 20, personal: true, masking: 'name' },
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
    const t = `ds.r_${clr.id}`;
    const pid = (i: number) => id(100 + i);
    const rows = (from: number, n: number, tag = '') =>
      Array.from(
        { length: n },
        (_, k) => `N${from + k},${pid(from + k)},李${from + k},病情${from + k}${tag},${40 + from + k}`,
      );
    const upload = (body: string, onError = 'reject') =>
      importCsv(env, officer, clr.id, `caseNo,idNumber,name,diagnosis,age\n${body}\n`, {
        query: `onError=${onError}`,
      });
    await upload(rows(0, 8).join('\n'));
    // changes: history versions and change-feed rows; a quarantined row (bad age) keeps its values as they were stored
    await upload([...rows(0, 2, '（复诊）'), `N50,${pid(50)},李50,病情50,abc`].join('\n'), 'quarantine');
    const everywhere = async () =>
      [
        await dump(t),
        JSON.stringify(
          (await sql`SELECT * FROM record_history WHERE resource_id = ${clr.id}`.execute(env.ctx.db)).rows,
        ),
        JSON.stringify(
          (await sql`SELECT * FROM record_change WHERE resource_id = ${clr.id}`.execute(env.ctx.db)).rows,
        ),
        JSON.stringify(
          (await sql`SELECT * FROM ingest_quarantine WHERE resource_id = ${clr.id}`.execute(env.ctx.db)).rows,
        ),
      ].join('\n');
    expect(await everywhere()).toContain(pid(0)); // stored in clear, as a pre-040 table
    expect(await everywhere()).toContain(pid(50));
    // the provider adds the verification and change-feed rights to the grant
    const cg = await grantWithRights(
      env,
      officer,
      {
        consumer: 'rsj_officer',
        provider: 'gaj_officer',
        resourceCode: clr.code,
        fields: ['caseNo', 'idNumber', 'name', 'diagnosis', 'age'],
        appName: '存量明文转换测试',
      },
      { verify: true, feed: true },
    );
    const ask = dataCaller(env, clr.code, cg);
    const answers = async () => {
      const out: unknown[] = [];
      for (const k of ['N0', 'N1', 'N5']) {
        const r = await ask(`/records/${k}`);
        expect(r.statusCode, r.body).toBe(200);
        out.push(r.json().record);
      }
      for (const [k, v] of [
        ['N1', pid(1)],
        ['N1', pid(2)],
      ]) {
        const r = await ask('/verify', 'POST', { key: k, match: { idNumber: v } });
        expect(r.statusCode, r.body).toBe(200);
        out.push(r.json().match);
      }
      const page = await ask(
        `/records?filter=${encodeURIComponent(JSON.stringify({ idNumber: { eq: pid(3) } }))}`,
      );
      out.push(page.statusCode === 200 ? page.json().records : page.json().code);
      const feed = await ask('/changes?limit=100');
      expect(feed.statusCode, feed.body).toBe(200);
      out.push(feed.json().changes.map((c: Record<string, unknown>) => ({ ...c, at: undefined })));
      return out;
    };
    const before = await answers();
    expect(before.slice(3, 5)).toEqual([true, false]);

    // a base library copies this resource's ID numbers (joined on the clear, non-personal case number)
    const libId = await newLibrary(env, '存量明文转换测试库', 'creditCode');
    await sql`INSERT INTO base_library_source (library_id, field_code, priority, resource_id, source_field, key_field)
      VALUES (${libId}, 'holderId', 0, ${clr.id}, 'idNumber', 'caseNo')`.execute(env.ctx.db);
    await sql`INSERT INTO base_library_record (library_id, key, vals, srcs, run_id)
      VALUES (${libId}, 'N0', ${JSON.stringify({ holderId: pid(0) })}::jsonb, ${JSON.stringify({ holderId: clr.id })}::jsonb, 0)`.execute(
      env.ctx.db,
    );
    await sql`INSERT INTO base_library_conflict (library_id, key, field_code, auth_resource_id, auth_value,
        sec_resource_id, sec_value, first_run_id, last_run_id, found_at)
      VALUES (${libId}, 'N0', 'holderId', ${clr.id}, ${pid(0)}, ${resourceId}, '其他来源', 0, 0, now())`.execute(
      env.ctx.db,
    );
    const library = async () =>
      JSON.stringify([
        (await sql`SELECT vals FROM base_library_record WHERE library_id = ${libId}`.execute(env.ctx.db))
          .rows,
        (
          await sql`SELECT auth_value, sec_value FROM base_library_conflict WHERE library_id = ${libId}`.execute(
            env.ctx.db,
          )
        ).rows,
      ]);
    expect(await library()).toContain(pid(0));

    // refused for the auditor (audited), accepted for the administrator
    const denied = await env.app.inject({
      method: 'POST',
      url: `/api/security/keys/resources/${clr.id}/encrypt`,
      headers: { cookie: auditor },
    });
    expect(denied.statusCode).toBe(403);
    const deny = await env.ctx.db
      .selectFrom('audit_log')
      .select(['decision'])
      .where('action', '=', 'key.encrypt')
      .where('resource_id', '=', clr.id)
      .execute();
    expect(deny).toEqual([{ decision: 'deny' }]);
    const conv = await env.app.inject({
      method: 'POST',
      url: `/api/security/keys/resources/${clr.id}/encrypt`,
      headers: { cookie: admin },
    });
    expect(conv.statusCode, conv.body).toBe(202);
    expect(conv.json().fields).toEqual(['idNumber', 'diagnosis']);
    await env.ctx.jobs.runDue();

    // no clear value left anywhere; keyed-hash columns filled; status lists the fields as encrypted
    const stored = await everywhere();
    for (const clear of [pid(0), pid(1), pid(7), pid(50), '病情3', '病情50'])
      expect(stored).not.toContain(clear);
    expect(stored).toContain(`ENC1.`);
    // base-library copies: encrypted, still the same value once decrypted; the other source's value untouched
    const copies = await library();
    expect(copies).not.toContain(pid(0));
    expect(copies).toContain('其他来源');
    const rec = (
      await sql<{
        vals: { holderId: string };
      }>`SELECT vals FROM base_library_record WHERE library_id = ${libId}`.execute(env.ctx.db)
    ).rows[0];
    expect(env.ctx.fieldKeys.decrypt(rec.vals.holderId)).toBe(pid(0));
    const cf = (
      await sql<{
        auth_value: string;
      }>`SELECT auth_value FROM base_library_conflict WHERE library_id = ${libId}`.execute(env.ctx.db)
    ).rows[0];
    expect(env.ctx.fieldKeys.decrypt(cf.auth_value)).toBe(pid(0));
    const h = await sql
      .raw<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${t} WHERE c2_h = '${env.ctx.fieldKeys.index(pid(4))}'`,
      )
      .execute(env.ctx.db);
    expect(h.rows[0].n).toBe(1);
    const status = await env.app.inject({ url: '/api/security/keys', headers: { cookie: auditor } });
    const mine = status.json().resources.find((x: { id: number }) => x.id === clr.id);
    expect(mine.fields.map((f: { encrypted: boolean }) => f.encrypted)).toEqual([true, true]);
    expect(mine.pending).toBe(0);
    // the same answers: records (decrypted, masked), verification, equality filter, change feed
    expect(await answers()).toEqual(before);
    // the unchanged-row hash is keyed now, as new imports compute it: the same rows again change nothing
    const again = await upload([...rows(0, 2, '（复诊）'), ...rows(2, 6)].join('\n'));
    expect([again.status, again.rows_inserted, again.rows_updated]).toEqual(['committed', 0, 0]);
    const changed = await upload(rows(3, 1, '（转院）').join('\n'));
    expect(changed.rows_updated).toBe(1);
    expect(await everywhere()).not.toContain('病情3（转院）');
    // the quarantined row still opens (decrypted, masked) and resubmits
    const q = (
      await env.app.inject({
        url: `/api/ingest/resources/${clr.id}/quarantine`,
        headers: { cookie: officer },
      })
    ).json().items as { id: number; values: Record<string, string | null> }[];
    expect(q).toHaveLength(1);
    expect(q[0].values.idNumber).toBe(maskValue('idNumber', pid(50)));
    const fix = await env.app.inject({
      method: 'PUT',
      url: `/api/ingest/quarantine/${q[0].id}`,
      headers: { cookie: officer },
      payload: { values: { age: '50' } },
    });
    expect(fix.statusCode, fix.body).toBe(200);
    const ok = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${clr.id}/quarantine/resubmit`,
      headers: { cookie: officer },
      payload: { ids: [q[0].id] },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await ask('/verify', 'POST', { key: 'N50', match: { idNumber: pid(50) } })).json().match).toBe(
      true,
    );
    expect(await everywhere()).not.toContain(pid(50));

    // already encrypted: a coded 409; the audit has the request and the completion
    const twice = await env.app.inject({
      method: 'POST',
      url: `/api/security/keys/resources/${clr.id}/encrypt`,
      headers: { cookie: admin },
    });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().code).toBe('FIELD_ALREADY_ENCRYPTED');
    const trail = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision'])
      .where('action', 'in', ['key.encrypt', 'key.encrypted'])
      .where('resource_id', '=', clr.id)
      .orderBy('id')
      .execute();
    expect(trail.map((a) => `${a.action}:${a.decision}`)).toEqual([
      'key.encrypt:deny',
      'key.encrypt:allow',
      'key.encrypted:allow',
      'key.encrypt:deny', // FIELD_ALREADY_ENCRYPTED, audited with its code
    ]);
  });

  const flagVersion = (rid: number, change: (f: Record<string, unknown>) => Record<string, unknown>) =>
    saveVersion(env, officer, rid, change);

  it('flagging a clear non-key field sensitive-personal on a resource holding data publishes; 存量明文 until the queued keys.encrypt job converts it; answers unchanged; audited', async () => {
    const save = await flagVersion(resourceId, (f) =>
      f.code === 'age' ? { ...f, personal: true, sensitivePersonal: true } : f,
    );
    expect(save.statusCode, save.body).toBe(200);
    const pub = await env.app.inject({
      method: 'POST',
      url: `/api/catalog/resources/${resourceId}/publish`,
      headers: { cookie: await login(env.app, 'reviewer') },
      payload: { comment: '同意' },
    });
    expect(pub.statusCode, pub.body).toBe(200);
    // published: flagged, still stored clear (the page tags it 存量明文), and the conversion is queued
    const page = async () =>
      (await env.app.inject({ url: `/api/catalog/resources/${resourceId}`, headers: { cookie: officer } }))
        .json()
        .fields.find((f: Record<string, unknown>) => f.code === 'age');
    expect(await page()).toMatchObject({ sensitivePersonal: true, encrypted: false });
    const col = async () =>
      (await sql.raw<{ c4: unknown }>(`SELECT c4 FROM ${table} ORDER BY _seq LIMIT 1`).execute(env.ctx.db))
        .rows[0].c4;
    expect(String(await col())).toMatch(/^\d+$/);
    const job = await env.ctx.db
      .selectFrom('job')
      .select(['status', 'payload'])
      .where('kind', '=', 'keys.encrypt')
      .where('key', '=', `r${resourceId}`)
      .executeTakeFirstOrThrow();
    expect(job.status).toBe('queued');
    expect(job.payload).toEqual({ resourceId });
    const answers = async () => {
      const out: unknown[] = [];
      for (const k of [id(0), id(1), id(29)]) {
        const r = await call(`/records/${k}`);
        expect(r.statusCode, r.body).toBe(200);
        out.push(r.json().record);
      }
      const p = await call('/records?limit=100');
      expect(p.statusCode, p.body).toBe(200);
      out.push(p.json().items);
      return out;
    };
    const before = await answers();
    expect(JSON.stringify(before)).toContain('"age"');
    expect((before[3] as unknown[]).length).toBeGreaterThan(0); // the page (its records compared below)

    await env.ctx.jobs.runDue();
    expect(await page()).toMatchObject({ sensitivePersonal: true, encrypted: true });
    expect(String(await col())).toMatch(/^ENC1\./);
    expect(await answers()).toEqual(before);
    const trail = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision', 'detail'])
      .where('action', 'in', ['key.encrypt', 'key.encrypted'])
      .where('resource_id', '=', resourceId)
      .orderBy('id')
      .execute();
    expect(trail.map((a) => `${a.action}:${a.decision}`)).toEqual([
      'key.encrypt:allow',
      'key.encrypted:allow',
    ]);
    expect(trail[0].detail).toMatchObject({ fields: ['age'], via: 'catalog.publish' });
    const { rows: n } = await sql
      .raw<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)
      .execute(env.ctx.db);
    expect(trail[1].detail).toMatchObject({ fields: ['age'], rows: n[0].n });
  });
});
