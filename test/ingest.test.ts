import ExcelJS from 'exceljs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFreshness } from '../src/ingest/freshness.js';
import { resumeImports, spoolDir, startImport } from '../src/ingest/pipeline.js';
import { POPULATION_META, publishResource } from './fixtures/catalog.js';
import { createTestEnv, login, type TestEnv, testIdNumber } from './helpers.js';

const RESOURCE = {
  name: '流动人口居住登记（汇聚测试）',
  summary: '流动人口居住登记信息，用于验证数据汇聚的校验、隔离、历史与回滚。',
  ...POPULATION_META,
  fields: [
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
    { code: 'age', name: '年龄', type: 'integer' },
    { code: 'address', name: '居住地址', type: 'string', personal: true, masking: 'address' },
    { code: 'registeredOn', name: '登记日期', type: 'date' },
  ],
};
const HEADER = 'idNumber,name,age,address,registeredOn';
const id = testIdNumber;
const row = (i: number, extra: Partial<Record<'name' | 'age' | 'address' | 'date', string>> = {}) =>
  [
    id(i),
    extra.name ?? `张${i}`,
    extra.age ?? String(20 + (i % 50)),
    extra.address ?? `滨江路${i}号`,
    extra.date ?? '2026-03-01',
  ].join(',');
const csv = (...rows: string[]) => [HEADER, ...rows].join('\n');

describe('aggregation: validation, channels, quarantine, history, freshness (issue 7)', () => {
  let env: TestEnv;
  let officer: string;
  let reviewer: string;
  let resourceId: number;
  let table: string;

  async function count(): Promise<number> {
    const { rows } = await sql
      .raw<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)
      .execute(env.ctx.db);
    return rows[0].n;
  }
  async function staged(): Promise<number> {
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ingest_staging`.execute(
      env.ctx.db,
    );
    return rows[0].n;
  }
  /** Streams a body to the import endpoint and waits for the import to finish (polling its state). */
  async function importFile(
    body: string | Buffer,
    q: string,
    contentType = 'text/csv',
    headers: Record<string, string> = { cookie: officer },
  ) {
    const res = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/imports?${q}`,
      headers: { ...headers, 'content-type': contentType },
      payload: body,
    });
    expect(res.statusCode, res.body).toBe(202);
    const started = res.json();
    expect(['queued', 'running']).toContain(started.status);
    // the upload is a platform job (src/jobs): run what is due, as a node's poller would
    await env.ctx.jobs.runDue();
    const done = await env.app.inject({ url: `/api/ingest/imports/${started.id}`, headers });
    return done.json();
  }
  async function report(batchId: number) {
    return (
      await env.app.inject({ url: `/api/ingest/imports/${batchId}/report`, headers: { cookie: officer } })
    ).json().errors as {
      row: number;
      field?: string;
      code: string;
      value?: string;
      reason: string;
      reasonZh: string;
    }[];
  }

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 50, entityRows: 20 } });
    officer = await login(env.app, 'gaj_officer');
    reviewer = await login(env.app, 'reviewer');
    ({ id: resourceId, table } = await publishResource(env, { officer, reviewer }, RESOURCE));
  });
  afterAll(async () => env?.close());

  // ---- bad input: each coded and located, nothing written
  const bad: [string, () => string | Buffer, { code: string; row: number; field?: string }][] = [
    [
      'GB 11643: an invalid ID check digit',
      () => csv(row(1), `${id(2).slice(0, 17)}${id(2)[17] === '0' ? '1' : '0'},李四,30,a,2026-01-01`),
      { code: 'BAD_ID_NUMBER', row: 2, field: 'idNumber' },
    ],
    [
      'a date that does not exist (2026-02-30)',
      () => csv(row(1), row(2, { date: '2026-02-30' })),
      { code: 'BAD_DATE', row: 2, field: 'registeredOn' },
    ],
    ['a non-integer age', () => csv(row(1, { age: '十八' })), { code: 'NOT_INTEGER', row: 1, field: 'age' }],
    [
      'a name over its declared length',
      () => csv(row(1, { name: '名'.repeat(21) })),
      { code: 'TOO_LONG', row: 1, field: 'name' },
    ],
    [
      'XT Art 15: a record without its key identifier',
      () => csv(row(1), ',王五,40,b,2026-01-01'),
      { code: 'KEY_MISSING', row: 2, field: 'idNumber' },
    ],
    [
      'XT Art 15: a file without the key column',
      () => 'name,age\n张三,30',
      { code: 'MISSING_COLUMN', row: 0, field: 'idNumber' },
    ],
    [
      'a header that matches no field',
      () => `${HEADER},shoeSize\n${row(1)},42`,
      { code: 'UNKNOWN_COLUMN', row: 0, field: 'shoeSize' },
    ],
    [
      'duplicate keys inside one batch',
      () => csv(row(1), row(2), row(1, { name: '另一人' })),
      { code: 'DUPLICATE_KEY', row: 3, field: 'idNumber' },
    ],
    ['a ragged row', () => csv(row(1), `${row(2)},extra`), { code: 'RAGGED_ROW', row: 2 }],
    [
      'a 10 MB single cell',
      () => csv(row(1), row(2, { address: 'x'.repeat(10 * 1024 * 1024) })),
      { code: 'TOO_LONG', row: 2, field: 'address' },
    ],
    ['an empty file', () => '', { code: 'EMPTY_FILE', row: 0 }],
    [
      'an unterminated quote',
      () => csv(row(1), `${id(2)},"张三,30,a,2026-01-01`),
      { code: 'SYNTAX', row: 2 },
    ],
    [
      'a file that turns from UTF-8 into GBK after the first 64 KiB (wrong encoding)',
      () =>
        Buffer.concat([
          Buffer.from(
            csv(...Array.from({ length: 2000 }, (_, i) => row(i, { address: '临江市江城区滨江路一号院' }))),
          ),
          Buffer.from('\n'),
          Buffer.from([0xd5, 0xc5, 0xc8, 0xfd]), // 张三 in GBK
        ]),
      { code: 'ENCODING', row: 2001 },
    ],
  ];
  for (const [name, body, want] of bad)
    it(`bad input — ${name}: rejected whole with code ${want.code} at row ${want.row}; nothing written`, async () => {
      const before = await count();
      const done = await importFile(body(), 'filename=bad.csv');
      expect(done.status).toBe('rejected');
      const errors = await report(done.id);
      expect(errors).toContainEqual(
        expect.objectContaining({
          code: want.code,
          row: want.row,
          ...(want.field ? { field: want.field } : {}),
        }),
      );
      for (const e of errors) {
        expect(e.reason).toBeTruthy();
        expect(e.reasonZh).toBeTruthy();
        expect((e.value ?? '').length).toBeLessThanOrEqual(101);
      }
      expect(await count()).toBe(before);
      expect(await staged()).toBe(0);
      const q = await env.ctx.db
        .selectFrom('ingest_quarantine')
        .select('id')
        .where('batch_id', '=', done.id)
        .execute();
      expect(q).toHaveLength(0);
    });

  it('the report masks personal values (src/dataapi/masking.ts) and is downloadable as CSV and XLSX', async () => {
    const bad = `${id(7).slice(0, 17)}${id(7)[17] === '0' ? '1' : '0'}`;
    const done = await importFile(csv(row(1), `${bad},${'名'.repeat(25)},30,a,2026-01-01`), '');
    const errors = await report(done.id);
    const idErr = errors.find((e) => e.code === 'BAD_ID_NUMBER')!;
    expect(idErr.value).not.toContain(bad.slice(6, 14));
    expect(idErr.value).toMatch(/^\d{3}\*+/);
    const nameErr = errors.find((e) => e.code === 'TOO_LONG')!;
    expect(nameErr.value?.startsWith('名*')).toBe(true);
    const c = await env.app.inject({
      url: `/api/ingest/imports/${done.id}/report?format=csv`,
      headers: { cookie: officer },
    });
    expect(c.headers['content-type']).toMatch(/text\/csv/);
    expect(c.body).toContain('BAD_ID_NUMBER');
    expect(c.body).not.toContain(bad);
    const x = await env.app.inject({
      url: `/api/ingest/imports/${done.id}/report?format=xlsx`,
      headers: { cookie: officer },
    });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(x.rawPayload as unknown as ArrayBuffer);
    const cells = wb.worksheets[0].getColumn(4).values.map(String);
    expect(cells).toContain('BAD_ID_NUMBER');
  });

  it('CSV in GBK is detected and loaded; quoted newlines stay inside their cell; SQL fragments are stored as text', async () => {
    const { TextEncoder: _ } = globalThis;
    void _;
    const text = csv(
      row(1, { name: '张三' }),
      row(2, { address: '"滨江路2号\n3单元"' }),
      row(3, { name: "x');DROP TABLE app;" }),
    );
    // GB18030 bytes of the text (Node has no GBK encoder: build them with TextDecoder's inverse via iconv tables is
    // not available, so encode only the CJK we use through a lookup made by decoding candidate byte pairs)
    const gbk = encodeGb18030(text);
    const done = await importFile(gbk, 'filename=gbk.csv');
    expect(done.status, JSON.stringify(await report(done.id))).toBe('committed');
    expect(done.encoding).toBe('gb18030');
    expect(done.inserted).toBe(3);
    const { rows } = await sql
      .raw<{ c2: string; c4: string }>(`SELECT c2, c4 FROM ${table} ORDER BY _key`)
      .execute(env.ctx.db);
    expect(rows.map((r) => r.c2)).toContain('张三');
    expect(rows.map((r) => r.c2)).toContain("x');DROP TABLE app;");
    expect(rows.map((r) => r.c4)).toContain('滨江路2号\n3单元');
    const apps = await env.ctx.db.selectFrom('app').select('id').execute();
    expect(apps.length).toBeGreaterThan(0);
  });

  it('a header mapped by Chinese field names, or by an explicit mapping, loads; UTF-8 with BOM is read as UTF-8', async () => {
    const byName = `\uFEFF身份证号,姓名,年龄,居住地址,登记日期\n${row(10)}`;
    const a = await importFile(byName, '');
    expect(a.status).toBe('committed');
    expect(a.encoding).toBe('utf-8');
    const mapping = encodeURIComponent(JSON.stringify({ 证件号码: 'idNumber', 名字: 'name' }));
    const b = await importFile(`证件号码,名字\n${id(11)},李雷`, `mapping=${mapping}`);
    expect(b.status, JSON.stringify(await report(b.id))).toBe('committed');
    expect(b.inserted).toBe(1);
  });

  it('quarantine mode: valid rows load, invalid ones are kept with their findings; corrected rows resubmit as a new batch', async () => {
    const before = await count();
    const done = await importFile(
      csv(
        row(20),
        row(21, { date: '2026-02-30' }),
        row(22),
        row(23, { age: 'abc' }),
        row(20, { name: '重复' }),
      ),
      'onError=quarantine',
    );
    expect(done.status).toBe('committed');
    expect(done.inserted).toBe(2);
    expect(done.rowsRejected).toBe(3);
    expect(await count()).toBe(before + 2);
    const q = (
      await env.app.inject({
        url: `/api/ingest/resources/${resourceId}/quarantine`,
        headers: { cookie: officer },
      })
    ).json();
    const mine = q.items.filter((i: { batchId: number }) => i.batchId === done.id);
    expect(mine.map((i: { row: number }) => i.row).sort()).toEqual([2, 4, 5]);
    const dateRow = mine.find((i: { row: number }) => i.row === 2);
    expect(dateRow.errors[0].code).toBe('BAD_DATE');
    // resubmitting uncorrected is refused whole and located by quarantine id
    const refused = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/quarantine/resubmit`,
      headers: { cookie: officer },
      payload: { ids: [dateRow.id] },
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().details[0]).toMatchObject({ row: dateRow.id, code: 'BAD_DATE' });
    const fix = await env.app.inject({
      method: 'PUT',
      url: `/api/ingest/quarantine/${dateRow.id}`,
      headers: { cookie: officer },
      payload: { values: { registeredOn: '2026-02-28' } },
    });
    expect(fix.statusCode, fix.body).toBe(200);
    const ok = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/quarantine/resubmit`,
      headers: { cookie: officer },
      payload: { ids: [dateRow.id] },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().inserted).toBe(1);
    expect(await count()).toBe(before + 3);
    const left = (
      await env.app.inject({
        url: `/api/ingest/resources/${resourceId}/quarantine`,
        headers: { cookie: officer },
      })
    ).json();
    expect(left.items.some((i: { id: number }) => i.id === dateRow.id)).toBe(false);
  });

  it('NDJSON streams objects keyed by field code; a bad line is located by its line number', async () => {
    const lines = [
      JSON.stringify({ idNumber: id(30), name: '韩梅梅', age: 31, registeredOn: '2026-01-02' }),
      JSON.stringify({ idNumber: id(31), name: '李雷', age: 32 }),
    ];
    const ok = await importFile(`${lines.join('\n')}\n`, 'format=ndjson', 'application/x-ndjson');
    expect(ok.status).toBe('committed');
    expect(ok.inserted).toBe(2);
    const badLines = [...lines, '{not json', JSON.stringify({ idNumber: id(33), colour: 'red', name: 'x' })];
    const bad = await importFile(badLines.join('\n'), 'format=ndjson', 'application/x-ndjson');
    expect(bad.status).toBe('rejected');
    const errors = await report(bad.id);
    expect(errors).toContainEqual(expect.objectContaining({ row: 3, code: 'BAD_RECORD' }));
    expect(errors).toContainEqual(
      expect.objectContaining({ row: 4, code: 'UNKNOWN_COLUMN', field: 'colour' }),
    );
  });

  it('XLSX: the chosen sheet of several is read; merged cells are refused nowhere, the workbook loads by sheet name', async () => {
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('说明').addRow(['本工作簿第二页为数据']);
    const ws = wb.addWorksheet('数据');
    ws.addRow(['身份证号', '姓名', '年龄', '居住地址', '登记日期']);
    ws.addRow([id(40), '王芳', 41, '滨江路40号', new Date(Date.UTC(2026, 0, 5))]);
    ws.addRow([id(41), '赵强', 42, '滨江路41号', '2026-01-06']);
    const buf = Buffer.from(await wb.xlsx.writeBuffer());
    const xlsxType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
    const missing = await importFile(buf, 'format=xlsx&sheet=nope', xlsxType);
    expect(missing.status).toBe('rejected');
    expect(await report(missing.id)).toContainEqual(expect.objectContaining({ code: 'SHEET_NOT_FOUND' }));
    const done = await importFile(buf, `format=xlsx&sheet=${encodeURIComponent('数据')}`, xlsxType);
    expect(done.status, JSON.stringify(await report(done.id))).toBe('committed');
    expect(done.inserted).toBe(2);
    const { rows } = await sql
      .raw<{ c5: string }>(`SELECT c5::text FROM ${table} WHERE c2 = '王芳'`)
      .execute(env.ctx.db);
    expect(rows[0].c5).toBe('2026-01-05');
  });

  it('DG Art 17: a realtime push with an idempotency key is applied once; the repeat returns the first batch', async () => {
    const created = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: officer },
      payload: { name: '公安人口系统对接' },
    });
    const apiKey = created.json().apiKey as string;
    const payload = { records: [{ idNumber: id(50), name: '推送一', age: 50 }] };
    const first = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/push`,
      headers: { 'x-api-key': apiKey, 'idempotency-key': 'evt-0001' },
      payload,
    });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ inserted: 1, replayed: false });
    const again = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/push`,
      headers: { 'x-api-key': apiKey, 'idempotency-key': 'evt-0001' },
      payload: { records: [{ idNumber: id(50), name: '推送二', age: 51 }] },
    });
    expect(again.json()).toMatchObject({ id: first.json().id, replayed: true });
    const { rows } = await sql
      // the ID number is sensitive-personal: the table keys the record by its keyed hash (docs/ENCRYPTION.md)
      .raw<{ c2: string }>(`SELECT c2 FROM ${table} WHERE _key = '${env.ctx.fieldKeys.index(id(50))}'`)
      .execute(env.ctx.db);
    expect(rows[0].c2).toBe('推送一');
    // another department's key may not load this resource (DG Art 15)
    const other = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: await login(env.app, 'rsj_officer') },
      payload: { name: '人社系统' },
    });
    const refused = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/push`,
      headers: { 'x-api-key': other.json().apiKey, 'idempotency-key': 'evt-0002' },
      payload,
    });
    expect([403, 404]).toContain(refused.statusCode);
  });

  // the ID number is sensitive-personal: the table keys records by its keyed hash (docs/ENCRYPTION.md)
  const hashed = (k: string) => env.ctx.fieldKeys.index(k);

  it('history: a change keeps the previous version (who, batch, when); the authority rolls the batch back in one step', async () => {
    const key = id(60);
    const first = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/records`,
      headers: { cookie: officer },
      payload: {
        records: [
          { idNumber: key, name: '周一', age: 60 },
          { idNumber: id(61), name: '周二', age: 61 },
        ],
      },
    });
    expect(first.statusCode, first.body).toBe(200);
    const second = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/records`,
      headers: { cookie: officer },
      payload: {
        records: [
          { idNumber: key, name: '周一改', age: 66 },
          { idNumber: id(62), name: '周三', age: 62 },
        ],
      },
    });
    expect(second.json()).toMatchObject({ inserted: 1, updated: 1 });
    const h = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/history`,
      headers: { cookie: officer },
      payload: { key },
    });
    expect(h.statusCode, h.body).toBe(200);
    const versions = h.json().versions;
    expect(versions).toHaveLength(2);
    expect(versions[0]).toMatchObject({
      current: true,
      version: 2,
      batchId: second.json().id,
      values: { age: '66' },
    });
    expect(versions[1]).toMatchObject({
      current: false,
      version: 1,
      batchId: first.json().id,
      endedBy: { batchId: second.json().id, op: 'update' },
    });
    expect(versions[1].values.name).toBe('周*'); // masked
    expect(versions[1].by).toBeTruthy();
    // the provider cannot roll back; the authority can, the latest batch only
    const denied = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/imports/${second.json().id}/rollback`,
      headers: { cookie: officer },
      payload: { reason: '误传' },
    });
    expect(denied.statusCode).toBe(403);
    const notLatest = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/imports/${first.json().id}/rollback`,
      headers: { cookie: reviewer },
      payload: { reason: '误传' },
    });
    expect(notLatest.statusCode).toBe(409);
    const rb = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/imports/${second.json().id}/rollback`,
      headers: { cookie: reviewer },
      payload: { reason: '数源部门误传，经核实回滚' },
    });
    expect(rb.statusCode, rb.body).toBe(200);
    expect(rb.json()).toMatchObject({ removed: 1, restored: 1 });
    const { rows } = await sql
      .raw<{ _key: string; c2: string; _version: number }>(
        `SELECT _key, c2, _version FROM ${table} WHERE _key IN ('${hashed(key)}', '${hashed(id(62))}')`,
      )
      .execute(env.ctx.db);
    expect(rows).toEqual([{ _key: hashed(key), c2: '周一', _version: 1 }]);
    const audit = await env.ctx.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', '=', 'ingest.rollback')
      .execute();
    expect(audit).toHaveLength(1);
  });

  it('history of a key with no record is RECORD_NOT_FOUND naming the key, and its deny row is kept', async () => {
    const denies = () =>
      env.ctx.db
        .selectFrom('audit_log')
        .select('id')
        .where('action', '=', 'ingest.history')
        .where('decision', '=', 'deny')
        .execute();
    const before = await denies();
    const h = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/history`,
      headers: { cookie: officer },
      payload: { key: testIdNumber(11_998) },
    });
    expect(h.statusCode, h.body).toBe(404);
    expect(h.json()).toMatchObject({ code: 'RECORD_NOT_FOUND', details: [{ field: 'key' }] });
    expect((await denies()).length).toBe(before.length + 1);
  });

  it('full replace swaps the snapshot atomically; delete removes by key, both keep history', async () => {
    const snap = await importFile(csv(row(70), row(71)), 'mode=replace');
    expect(snap.status).toBe('committed');
    expect(await count()).toBe(2);
    expect(snap.deleted).toBeGreaterThan(2);
    const del = await importFile(`idNumber\n${id(70)}`, 'mode=delete');
    expect(del).toMatchObject({ status: 'committed', deleted: 1 });
    expect(await count()).toBe(1);
    const gone = await env.ctx.db
      .selectFrom('record_history')
      .select(['op'])
      .where('resource_id', '=', resourceId)
      .where('rkey', '=', env.ctx.fieldKeys.index(id(70)))
      .execute();
    expect(gone.map((g) => g.op)).toContain('delete');
  });

  it('an import left queued by a stopped process is run again at start-up from its spooled file', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const file = path.join(spoolDir(env.ctx), `resume-${Date.now()}.upload`);
    fs.writeFileSync(file, csv(row(80), row(81)));
    const { id: batchId } = await env.ctx.db
      .insertInto('ingest_batch')
      .values({
        resource_id: resourceId,
        source: 'upload',
        filename: 'resume.csv',
        status: 'running',
        rows_total: 0,
        rows_inserted: 0,
        rows_updated: 0,
        error_count: 0,
        errors: '[]',
        created_by: null,
        spool_path: file,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    // half a previous attempt's staging is discarded
    await sql`INSERT INTO ingest_staging (batch_id, row_no, rkey, rhash, vals) VALUES (${batchId}, 1, 'stale', 'x', '{}')`.execute(
      env.ctx.db,
    );
    const resumed = await resumeImports(env.ctx, 0);
    expect(resumed).toContain(batchId);
    await startImport(env.ctx, batchId);
    const b = await env.ctx.db
      .selectFrom('ingest_batch')
      .selectAll()
      .where('id', '=', batchId)
      .executeTakeFirstOrThrow();
    expect(b.status).toBe('committed');
    expect(b.rows_inserted).toBe(2);
    expect(await staged()).toBe(0);
  });

  it('XT Art 20 / DG Art 17: an overdue resource is flagged to provider and authority once, with how late it is', async () => {
    await env.ctx.db
      .updateTable('resource')
      .set({ last_ingest_at: new Date(Date.now() - 5 * 86_400_000) })
      .where('id', '=', resourceId)
      .execute();
    const board = (
      await env.app.inject({ url: '/api/ingest/freshness?overdueOnly=true', headers: { cookie: reviewer } })
    ).json();
    const mine = board.find((r: { resourceId: number }) => r.resourceId === resourceId);
    expect(mine).toMatchObject({ overdue: true, daysOverdue: 4, updateCycle: 'daily' });
    const flagged = await checkFreshness(env.ctx);
    expect(flagged.find((f) => f.resourceId === resourceId)).toMatchObject({ daysOverdue: 4 });
    const again = await checkFreshness(env.ctx);
    expect(again.find((f) => f.resourceId === resourceId)).toBeUndefined();
    const notes = await env.ctx.db
      .selectFrom('notification as n')
      .innerJoin('app_user as u', 'u.id', 'n.user_id')
      .select(['u.username'])
      .where('n.kind', '=', 'ingest.overdue')
      .where('n.resource_id', '=', resourceId)
      .execute();
    const who = notes.map((n) => n.username);
    expect(who).toContain('gaj_officer');
    expect(who).toContain('reviewer');
    expect(who.length).toBe(new Set(who).size);
  });

  it('issue 7 point 3 (enumerations): a field with a code table takes only its values; another is ENUM_VALUE at its row and field, nothing written', async () => {
    const withEnum = (allowedValues: string[]) => ({
      ...RESOURCE,
      name: '户籍人口性别登记（值域测试）',
      fields: [
        RESOURCE.fields[0],
        RESOURCE.fields[1],
        { code: 'gender', name: '性别', type: 'string', length: 2, allowedValues },
      ],
    });
    // a code table is checked on registration: a repeated value is refused with the field at fault
    const badDef = await env.app.inject({
      method: 'POST',
      url: '/api/catalog/resources',
      headers: { cookie: officer },
      payload: withEnum(['男', '女', '男']),
    });
    expect(badDef.statusCode, badDef.body).toBe(400);
    expect(badDef.body).toContain('fields[2].allowedValues');
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/catalog/resources',
      headers: { cookie: officer },
      payload: { ...withEnum(['男', '女']), submit: true },
    });
    expect(res.statusCode, res.body).toBe(201);
    const rid = res.json().id;
    const pub = await env.app.inject({
      method: 'POST',
      url: `/api/catalog/resources/${rid}/publish`,
      headers: { cookie: reviewer },
      payload: { comment: '同意' },
    });
    expect(pub.statusCode, pub.body).toBe(200);
    const load = async (body: string) => {
      const r = await env.app.inject({
        method: 'POST',
        url: `/api/ingest/resources/${rid}/imports?filename=g.csv`,
        headers: { cookie: officer, 'content-type': 'text/csv' },
        payload: body,
      });
      expect(r.statusCode, r.body).toBe(202);
      await env.ctx.jobs.runDue();
      return (
        await env.app.inject({ url: `/api/ingest/imports/${r.json().id}`, headers: { cookie: officer } })
      ).json();
    };
    const rejected = await load(
      `idNumber,name,gender\n${id(1)},张一,男\n${id(2)},张二,未知\n${id(3)},张三,\n`,
    );
    expect(rejected.status).toBe('rejected');
    const errors = (
      await env.app.inject({ url: `/api/ingest/imports/${rejected.id}/report`, headers: { cookie: officer } })
    ).json().errors;
    expect(errors).toEqual([
      expect.objectContaining({ row: 2, field: 'gender', code: 'ENUM_VALUE', value: '未知' }),
    ]);
    expect(errors[0].reasonZh).toContain('值域');
    const tbl = (
      await env.ctx.db
        .selectFrom('resource')
        .select('data_table')
        .where('id', '=', rid)
        .executeTakeFirstOrThrow()
    ).data_table!;
    const n = async () =>
      (await sql.raw<{ n: number }>(`SELECT count(*)::int AS n FROM ${tbl}`).execute(env.ctx.db)).rows[0].n;
    expect(await n()).toBe(0);
    // the same file with the value corrected loads (an empty optional value passes the code table)
    const ok = await load(`idNumber,name,gender\n${id(1)},张一,男\n${id(2)},张二,女\n${id(3)},张三,\n`);
    expect(ok.status).toBe('committed');
    expect(await n()).toBe(3);
  });
});

/** GB18030 bytes for a string (Node's TextEncoder is UTF-8 only): each non-ASCII char found by decoding 2-byte codes. */
function encodeGb18030(text: string): Buffer {
  const dec = new TextDecoder('gb18030');
  const table = new Map<string, number[]>();
  const need = new Set([...text].filter((c) => c.charCodeAt(0) > 127));
  for (let hi = 0x81; hi <= 0xfe && need.size; hi++)
    for (let lo = 0x40; lo <= 0xfe && need.size; lo++) {
      if (lo === 0x7f) continue;
      const ch = dec.decode(new Uint8Array([hi, lo]));
      if (need.has(ch)) {
        table.set(ch, [hi, lo]);
        need.delete(ch);
      }
    }
  const out: number[] = [];
  for (const c of text) {
    if (c.charCodeAt(0) <= 127) out.push(c.charCodeAt(0));
    else out.push(...(table.get(c) ?? [0x3f]));
  }
  return Buffer.from(out);
}
