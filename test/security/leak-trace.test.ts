import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { columnName } from '../../src/catalog/model.js';
import { codeOf, createTestEnv, dataPath, grantedApp, login, type TestEnv } from '../helpers.js';

/*
 * Issue 10 point 2 (DG Art 28, 33: a leaked record traced to who received it): an auditor uploads a leaked file —
 * partial, reordered, some columns dropped, in any export format — and the recipients that could have produced it are
 * ranked with the evidence. Two apps export the population table with different fields, and records change between
 * their exports, so each file has exactly one best explanation.
 */
describe('leak tracing by file (溯源)', () => {
  let env: TestEnv;
  let POPULATION = '';
  let auditor = '';
  let a: { apiKey: string; purposeId: string; grantId: number; appId: number };
  let b: { apiKey: string; purposeId: string; grantId: number; appId: number };
  const A_FIELDS = ['idNumber', 'name', 'gender', 'birthDate', 'phone', 'countyCode'];
  const B_FIELDS = ['name', 'gender', 'birthDate', 'countyCode'];
  let csvA = '';
  let exportA = 0;
  let ndjsonB: Record<string, unknown>[] = [];
  let exportB = 0;
  const CHANGED = 30;

  const exportOf = async (who: { apiKey: string; purposeId: string }, query: string) => {
    const res = await env.app.inject({
      url: `${dataPath(POPULATION)}/export?${query}`,
      headers: { 'x-api-key': who.apiKey, 'x-purpose': who.purposeId },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res;
  };
  const trace = (body: Buffer | string, cookie = auditor, type = 'application/octet-stream') =>
    env.app.inject({
      method: 'POST',
      url: '/api/audit/leak-trace/file',
      headers: { cookie, 'content-type': type },
      payload: typeof body === 'string' ? Buffer.from(body) : body,
    });

  /** A CSV table as rows of cells (the export's cells hold no quotes or commas here: masked names, codes, dates). */
  const parse = (text: string) =>
    text
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n')
      .map((l) => l.split(','));
  const toText = (rows: string[][]) => `${rows.map((r) => r.join(',')).join('\r\n')}\r\n`;
  const pick = (rows: string[][], cols: string[]) => {
    const idx = cols.map((c) => rows[0].indexOf(c));
    return rows.map((r) => idx.map((i) => r[i]));
  };

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 120, entityRows: 20 } });
    POPULATION = await codeOf(env, '人口基础信息');
    auditor = await login(env.app, 'auditor');
    a = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: A_FIELDS,
      appName: '社保资格批量比对',
      quota: { export: true, exportRowsPerDay: 1_000_000 },
    });
    b = await grantedApp(env.app, {
      consumer: 'mzj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: B_FIELDS,
      appName: '低保对象核查',
      quota: { export: true, exportRowsPerDay: 1_000_000 },
    });
    const resA = await exportOf(a, 'format=csv');
    csvA = resA.body;
    exportA = Number(resA.headers['x-export-id']);
    // records change between the two exports: B receives names A never saw
    const r = await env.ctx.db
      .selectFrom('resource')
      .select(['id', 'data_table'])
      .where('code', '=', POPULATION)
      .executeTakeFirstOrThrow();
    const nameField = await env.ctx.db
      .selectFrom('resource_field')
      .select('ordinal')
      .where('resource_id', '=', r.id)
      .where('code', '=', 'name')
      .executeTakeFirstOrThrow();
    await env.ctx.database.query(
      `UPDATE ${r.data_table} SET ${columnName(nameField.ordinal)} = '欧阳' || _seq::text
       WHERE _seq IN (SELECT _seq FROM ${r.data_table} ORDER BY _seq LIMIT ${CHANGED})`,
      [],
    );
    const resB = await exportOf(b, 'format=ndjson');
    exportB = Number(resB.headers['x-export-id']);
    ndjsonB = resB.body
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
  }, 400_000);
  afterAll(async () => env?.close());

  it('DG Art 28/33: a partial, reordered CSV with a column dropped is traced to the app that exported it, with evidence', async () => {
    const rows = parse(csvA);
    const cols = ['countyCode', 'idNumber', 'name', 'birthDate', 'gender']; // phone dropped, columns reordered
    const table = pick(rows, cols);
    const body = [table[0], ...table.slice(1).reverse().slice(0, 50)];
    const res = await trace(toText(body));
    expect(res.statusCode, res.body).toBe(200);
    const out = res.json();
    expect(out.file).toMatchObject({ format: 'csv', rows: 50 });
    expect(out.recipients[0].app.id).toBe(a.appId);
    expect(out.recipients[0].grantIds).toEqual([a.grantId]);
    const top = out.exports[0];
    expect(top.exportId).toBe(exportA);
    expect(top.rowsExplained).toBe(50);
    expect(top.share).toBe(1);
    expect(top.columnsNotInExport).toEqual([]);
    expect([...top.matchedColumns].sort()).toEqual([...cols].sort());
    // B did not receive the ID number column: it cannot have produced this file whole
    const other = out.exports.find((e: { exportId: number }) => e.exportId === exportB);
    if (other) expect(other.columnsNotInExport).toEqual(['idNumber']);
  });

  it('DG Art 28/33: NDJSON records of a later export are traced to that export, not to one that predates the change', async () => {
    // 20 changed records (only B received them) and 10 unchanged, shuffled
    const lines = [...ndjsonB.slice(0, 20), ...ndjsonB.slice(CHANGED, CHANGED + 10)].reverse();
    const res = await trace(lines.map((l) => JSON.stringify(l)).join('\n'), auditor, 'application/x-ndjson');
    expect(res.statusCode, res.body).toBe(200);
    const out = res.json();
    expect(out.file).toMatchObject({ format: 'ndjson', rows: 30 });
    expect(out.exports[0].exportId).toBe(exportB);
    expect(out.exports[0].rowsExplained).toBe(30);
    expect(out.recipients[0].app.id).toBe(b.appId);
    const olderA = out.exports.find((e: { exportId: number }) => e.exportId === exportA);
    expect(olderA.rowsExplained).toBeLessThan(30);
    // the changed names were never delivered to A: the column evidence says which values it did deliver
    const nameCol = olderA.columns.find((c: { field: string }) => c.field === 'name');
    expect(nameCol).toMatchObject({ fileRows: 30, rowsMatched: 10 });
  });

  it('a leaked JSON file sent as application/json is read as the file (not parsed away as a request body)', async () => {
    const records = [...ndjsonB.slice(0, 20), ...ndjsonB.slice(CHANGED, CHANGED + 10)];
    const res = await trace(JSON.stringify(records), auditor, 'application/json');
    expect(res.statusCode, res.body).toBe(200);
    const out = res.json();
    expect(out.file).toMatchObject({ format: 'json', rows: 30 });
    expect(out.exports[0].exportId).toBe(exportB);
    // a record whose value is nested 5 000 deep (past the stack of JSON.stringify) is a coded refusal naming the
    // file, never a 500
    for (const type of ['application/json', 'application/octet-stream']) {
      const deep = await trace(`{"a":${'{"b":'.repeat(5000)}1${'}'.repeat(5000)}}\n`, auditor, type);
      expect(deep.statusCode, deep.body).toBe(400);
      expect(deep.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'file' }] });
      expect(deep.json().details[0].reasonZh).toContain('嵌套');
    }
  });

  it('GBK CSV and XLSX leaks are read and traced', async () => {
    const gbk = await exportOf(a, 'format=csv&encoding=gbk');
    const gbkId = Number(gbk.headers['x-export-id']);
    const text = iconv.decode(gbk.rawPayload, 'gbk');
    const rows = parse(text);
    const cut = [rows[0], ...rows.slice(60, 80)];
    const res = await trace(iconv.encode(toText(cut), 'gbk'));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().file.encoding).toBe('gbk');
    expect(res.json().exports[0]).toMatchObject({ exportId: gbkId, rowsExplained: 20, share: 1 });

    const xl = await exportOf(a, 'format=xlsx');
    const xlId = Number(xl.headers['x-export-id']);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xl.rawPayload as unknown as ArrayBuffer);
    const ws = wb.worksheets[0];
    const out = new ExcelJS.Workbook();
    const sheet = out.addWorksheet('leak');
    // name and birth date only, every other row
    const header = (ws.getRow(1).values as unknown[]).slice(1) as string[];
    const ni = header.indexOf('name') + 1;
    const bi = header.indexOf('birthDate') + 1;
    sheet.addRow(['birthDate', 'name']);
    for (let r = 2; r <= ws.rowCount; r += 2) {
      const row = ws.getRow(r);
      sheet.addRow([row.getCell(bi).value, row.getCell(ni).value]);
    }
    const leaked = Buffer.from(await out.xlsx.writeBuffer());
    const res2 = await trace(leaked);
    expect(res2.statusCode, res2.body).toBe(200);
    const body = res2.json();
    expect(body.file.format).toBe('xlsx');
    const hit = body.exports.find((e: { exportId: number }) => e.exportId === xlId);
    expect(hit.share).toBe(1);
    expect(hit.matchedColumns.sort()).toEqual(['birthDate', 'name']);
  });

  it('a file of values never exported explains nothing; the search is audited with a summary only', async () => {
    const rows = parse(csvA);
    const fake = [rows[0], ...rows.slice(1, 11).map((r) => r.map((c, i) => (i === 1 ? `假名${c}` : c)))];
    fake.forEach((r, i) => {
      if (i > 0) r[0] = `44190019900101${String(1000 + i)}`;
    });
    const res = await trace(toText(fake));
    expect(res.statusCode, res.body).toBe(200);
    for (const e of res.json().exports) expect(e.rowsExplained).toBe(0);
    expect(res.json().recipients).toEqual([]);
    const audit = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision', 'detail'])
      .where('action', '=', 'audit.leakTrace')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ action: 'audit.leakTrace', decision: 'allow' });
    expect(audit.detail).toMatchObject({ byFile: true, format: 'csv', fileRows: 10 });
    expect(JSON.stringify(audit.detail)).not.toContain('假名');
  });

  it('GB/T 39477: only the auditor traces; a data officer is refused and the refusal audited; an empty file is a coded error', async () => {
    const officer = await login(env.app, 'rsj_officer');
    const res = await trace(csvA, officer);
    expect(res.statusCode).toBe(403);
    const refused = await env.ctx.db
      .selectFrom('audit_log')
      .select(['detail'])
      .where('decision', '=', 'deny')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(refused.detail).toMatchObject({ route: '/api/audit/leak-trace/file' });
    const empty = await trace(Buffer.alloc(0));
    expect(empty.statusCode).toBe(400);
    expect(empty.json().code).toBe('VALIDATION_FAILED');
  });
});
