import ExcelJS from 'exceljs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkXlsxBounds, templateWorkbook, XLSX_LIMITS } from '../src/catalog/excel.js';
import {
  FIELD_COLUMNS,
  FIELD_SHEET,
  IMPORT_MAX_FIELD_ROWS,
  IMPORT_MAX_RESOURCES,
  RESOURCE_COLUMNS,
  RESOURCE_SHEET,
} from '../src/catalog/template.js';
import { zip } from './fixtures/zip.js';
import { createTestEnv, login, type TestEnv } from './helpers.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const H = (cols: typeof RESOURCE_COLUMNS) => cols.map((c) => c.header);

type Cells = Record<string, string | number | object>;

/** A workbook in the template layout (title row, header row, data from row 3) built cell by cell like a department would. */
async function workbook(resources: Cells[], fields: Cells[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  for (const [name, cols, rows] of [
    [RESOURCE_SHEET, RESOURCE_COLUMNS, resources],
    [FIELD_SHEET, FIELD_COLUMNS, fields],
  ] as const) {
    const ws = wb.addWorksheet(name);
    ws.addRow(['政务信息资源目录']);
    ws.addRow(H(cols));
    for (const r of rows) ws.addRow(cols.map((c) => r[c.header] ?? null));
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

async function readBook(buf: Buffer) {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as ArrayBuffer);
  return wb;
}

function sheetRows(wb: ExcelJS.Workbook, name: string): Record<string, ExcelJS.CellValue>[] {
  const ws = wb.getWorksheet(name)!;
  const headers = (ws.getRow(2).values as ExcelJS.CellValue[]).map((v) => String(v ?? ''));
  const out: Record<string, ExcelJS.CellValue>[] = [];
  for (let r = 3; r <= ws.rowCount; r++) {
    const o: Record<string, ExcelJS.CellValue> = {};
    ws.getRow(r).eachCell((c, col) => {
      o[headers[col]] = c.value;
    });
    if (Object.keys(o).length) out.push(o);
  }
  return out;
}

/** GBK bytes of `text` (what Excel's "CSV" save writes on a Chinese Windows), built from the GB18030 decoder. */
function gbk(text: string): Uint8Array {
  const map = new Map<string, number[]>();
  const dec = new TextDecoder('gb18030');
  for (let a = 0x81; a <= 0xfe; a++)
    for (let b = 0x40; b <= 0xfe; b++) {
      if (b === 0x7f) continue;
      const ch = dec.decode(Uint8Array.from([a, b]));
      if (ch.length === 1 && !map.has(ch)) map.set(ch, [a, b]);
    }
  const out: number[] = [];
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code < 0x80) out.push(code);
    else out.push(...(map.get(ch) ?? []));
  }
  return Uint8Array.from(out);
}

const marriage = (seq: number, name: string, extra: Cells = {}): Cells => ({
  序号: seq,
  信息资源名称: name,
  信息资源摘要: `${name}，用于身份核验。`,
  资源分类: '部门库',
  目录层级: '部门级',
  共享类型: '无条件共享',
  更新周期: '每日',
  关键字: '婚姻、登记',
  ...extra,
});
const items = (seq: number, extra: Cells = {}): Cells[] => [
  {
    资源序号: seq,
    信息项名称: '公民身份号码',
    信息项标识: 'idNumber',
    数据类型: '字符串',
    是否主键: '是',
    校验规则: '身份证号',
  },
  { 资源序号: seq, 信息项名称: '登记日期', 信息项标识: 'registeredOn', 数据类型: '日期', ...extra },
];

const NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
/** The parts of a two-sheet workbook (信息资源, 信息项) whose sheets hold the given `<sheetData>` bodies. */
function xlsxParts(sheet1: string, sheet2: string): { name: string; data: Buffer }[] {
  const b = (s: string) => Buffer.from(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n${s}`);
  const sheet = (rows: string) => b(`<worksheet xmlns="${NS}"><sheetData>${rows}</sheetData></worksheet>`);
  return [
    {
      name: '[Content_Types].xml',
      data: b(
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
      ),
    },
    {
      name: '_rels/.rels',
      data: b(
        `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
      ),
    },
    {
      name: 'xl/workbook.xml',
      data: b(
        `<workbook xmlns="${NS}" xmlns:r="${REL}"><sheets><sheet name="${RESOURCE_SHEET}" sheetId="1" r:id="rId1"/><sheet name="${FIELD_SHEET}" sheetId="2" r:id="rId2"/></sheets></workbook>`,
      ),
    },
    {
      name: 'xl/_rels/workbook.xml.rels',
      data: b(
        `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${REL}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="${REL}/worksheet" Target="worksheets/sheet2.xml"/></Relationships>`,
      ),
    },
    { name: 'xl/worksheets/sheet1.xml', data: sheet(sheet1) },
    { name: 'xl/worksheets/sheet2.xml', data: sheet(sheet2) },
  ];
}
const inlineRow = (r: number, values: string[]) =>
  `<row r="${r}">${values.map((v, i) => `<c r="${String.fromCharCode(65 + i)}${r}" t="inlineStr"><is><t>${v}</t></is></c>`).join('')}</row>`;

describe('catalog Excel/CSV import and export (issue 6 point 12)', () => {
  let env: TestEnv;
  let gaj: string;
  let rsj: string;
  let gajOrg: number;

  const count = async () =>
    Number((await sql<{ n: string }>`SELECT count(*) AS n FROM resource`.execute(env.ctx.db)).rows[0].n);
  const importFile = (cookie: string, body: Buffer | Uint8Array, type: string, query = '') =>
    env.app.inject({
      method: 'POST',
      url: `/api/catalog/import${query}`,
      headers: { cookie, 'content-type': type },
      payload: Buffer.from(body),
    });

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 50, entityRows: 10 } });
    [gaj, rsj] = await Promise.all(['gaj_officer', 'rsj_officer'].map((u) => login(env.app, u)));
    gajOrg = (
      await env.ctx.db.selectFrom('org').select('id').where('code', '=', 'LJ-GAJ').executeTakeFirstOrThrow()
    ).id;
  }, 120_000);
  afterAll(async () => env?.close());

  it('DG Art 9: a data officer imports two resources from a template workbook; both are drafts with their fields, one audit record', async () => {
    const before = await count();
    const file = await workbook(
      [marriage(1, '结婚登记信息导入'), marriage(2, '离婚登记信息导入', { 目录层级: 'city' })],
      [...items(1), ...items(2, { 是否必填: '是' })],
    );
    const res = await importFile(gaj, file, XLSX, '?filename=a.xlsx');
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json() as { format: string; created: { id: number; status: string; row: number }[] };
    expect(body.format).toBe('xlsx');
    expect(body.created.map((c) => [c.status, c.row])).toEqual([
      ['draft', 3],
      ['draft', 4],
    ]);
    expect(await count()).toBe(before + 2);
    const r2 = await env.app.inject({
      url: `/api/catalog/resources/${body.created[1].id}`,
      headers: { cookie: gaj },
    });
    const detail = r2.json();
    expect(detail.catalogLevel).toBe('city');
    expect(detail.provider.id).toBe(gajOrg);
    expect(detail.keywords).toEqual(['婚姻', '登记']);
    expect(
      detail.fields.map((f: { code: string; required: boolean; isKey: boolean; personal: boolean }) => [
        f.code,
        f.required,
        f.isKey,
        f.personal,
      ]),
    ).toEqual([
      ['idNumber', true, true, true], // the validator implies personal, as in registration
      ['registeredOn', true, false, false],
    ]);
    const audit = await env.ctx.db
      .selectFrom('audit_log')
      .select(['detail'])
      .where('action', '=', 'catalog.import')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0].detail).toMatchObject({ format: 'xlsx', resources: 2, fields: 4, filename: 'a.xlsx' });
  });

  it('DG Art 11: submit=true puts every imported entry under review', async () => {
    const file = await workbook([marriage(1, '收养登记信息导入')], items(1));
    const res = await importFile(gaj, file, XLSX, '?submit=true');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().created[0].status).toBe('submitted');
  });

  it('DG Art 19: one bad row writes nothing and the report names sheet, row, column, value and code of every problem', async () => {
    const before = await count();
    const file = await workbook(
      [
        marriage(1, '合格的资源'),
        marriage(2, '有条件但无条件说明', {
          共享类型: '有条件共享',
          法律法规依据: '《婚姻登记条例》',
          依据类别: '行政法规',
        }),
      ],
      [...items(1), ...items(2, { 数据类型: '文本' })],
    );
    const res = await importFile(gaj, file, XLSX);
    expect(res.statusCode, res.body).toBe(422);
    const err = res.json();
    expect(err.code).toBe('CATALOG_IMPORT_INVALID');
    const pick = (d: Record<string, unknown>) => [d.sheet, d.row, d.column, d.value ?? null, d.code];
    expect(err.details.map(pick)).toEqual([
      [RESOURCE_SHEET, 4, '共享条件', null, 'CATALOG_RULE_VIOLATED'],
      [FIELD_SHEET, 6, '数据类型', '文本', 'VALIDATION_FAILED'],
    ]);
    expect(err.details[0].reasonZh).toContain('有条件共享的资源须明确共享条件');
    expect(err.details[0].reason).toContain('share conditions');
    expect(err.details[1].reasonZh).toContain('“文本”不是可选值');
    expect(await count()).toBe(before);

    // the report as a workbook
    const rep = await env.app.inject({
      method: 'POST',
      url: '/api/catalog/import/report.xlsx',
      headers: { cookie: gaj },
      payload: { problems: err.details },
    });
    expect(rep.statusCode, rep.body).toBe(200);
    expect(rep.headers['content-type']).toBe(XLSX);
    const ws = (await readBook(rep.rawPayload)).worksheets[0];
    expect(ws.getRow(3).values).toEqual([
      undefined,
      FIELD_SHEET,
      6,
      '数据类型',
      '文本',
      'VALIDATION_FAILED',
      expect.any(String),
      expect.any(String),
    ]);
  });

  it('a field row pointing at no resource, a missing key and a foreign section are reported at their cells', async () => {
    const file = await workbook(
      [marriage(1, '无主键资源', { 目录层级: '科室级', 所属科室: '不存在的科室' })],
      [
        { 资源序号: 1, 信息项名称: '姓名', 信息项标识: 'personName', 数据类型: '字符串' },
        { 资源序号: 9, 信息项名称: '孤儿', 信息项标识: 'orphan', 数据类型: '字符串' },
      ],
    );
    const res = await importFile(gaj, file, XLSX);
    expect(res.statusCode).toBe(422);
    const d = res
      .json()
      .details.map((x: Record<string, unknown>) => [x.sheet, x.row, x.column, x.value ?? null]);
    expect(d).toEqual(
      expect.arrayContaining([
        [FIELD_SHEET, 4, '资源序号', '9'],
        [RESOURCE_SHEET, 3, '所属科室', '不存在的科室'],
        [FIELD_SHEET, 3, '是否主键', null],
      ]),
    );
  });

  it('a GBK CSV (Excel on Chinese Windows) in the flat layout is imported like the workbook', async () => {
    const header = [...H(RESOURCE_COLUMNS), ...FIELD_COLUMNS.slice(2).map((c) => c.header)];
    const line = (cells: Cells) => header.map((h) => String(cells[h] ?? '')).join(',');
    const csv = [
      header.join(','),
      line({ ...marriage(1, '临江市流动人口居住登记'), ...items(1)[0] }),
      line({ 序号: 1, ...items(1)[1] }),
    ].join('\r\n');
    const res = await importFile(gaj, gbk(csv), 'text/csv');
    expect(res.statusCode, res.body).toBe(201);
    const { created } = res.json();
    const detail = (
      await env.app.inject({ url: `/api/catalog/resources/${created[0].id}`, headers: { cookie: gaj } })
    ).json();
    expect(detail.name).toBe('临江市流动人口居住登记');
    expect(detail.fields.map((f: { name: string }) => f.name)).toEqual(['公民身份号码', '登记日期']);
  });

  it('template round trip: the downloaded template imports as is, and an export re-imports after edits', async () => {
    const t = await env.app.inject({ url: '/api/catalog/template.xlsx', headers: { cookie: gaj } });
    expect(t.statusCode).toBe(200);
    const tb = await readBook(t.rawPayload);
    const rs = tb.getWorksheet(RESOURCE_SHEET)!;
    expect((rs.getRow(2).values as string[]).slice(1)).toEqual(H(RESOURCE_COLUMNS));
    // drop-down list on 共享类型
    const shareCol = rs.getColumn(H(RESOURCE_COLUMNS).indexOf('共享类型') + 1).letter;
    expect(rs.getCell(`${shareCol}3`).dataValidation).toMatchObject({
      type: 'list',
      formulae: ['"无条件共享,有条件共享,不予共享"'],
    });
    const imp = await importFile(gaj, t.rawPayload, XLSX);
    expect(imp.statusCode, imp.body).toBe(201);

    // export my drafts, rename one in the workbook, re-import
    const ex = await env.app.inject({
      url: '/api/catalog/export.xlsx?status=draft&q=结婚登记信息导入',
      headers: { cookie: gaj },
    });
    expect(ex.statusCode, ex.body).toBe(200);
    const wb = await readBook(ex.rawPayload);
    const rows = sheetRows(wb, RESOURCE_SHEET);
    expect(rows.map((r) => r.信息资源名称)).toEqual(['结婚登记信息导入']);
    expect(rows[0].信息资源提供方).toBe('临江市公安局');
    expect(sheetRows(wb, FIELD_SHEET).map((r) => r.信息项标识)).toEqual(['idNumber', 'registeredOn']);
    wb.getWorksheet(RESOURCE_SHEET)!.getCell('C3').value = '结婚登记信息（修订）';
    const again = await importFile(gaj, Buffer.from(await wb.xlsx.writeBuffer()), XLSX);
    expect(again.statusCode, again.body).toBe(201);
    const created = (
      await env.app.inject({
        url: `/api/catalog/resources/${again.json().created[0].id}`,
        headers: { cookie: gaj },
      })
    ).json();
    expect(created.name).toBe('结婚登记信息（修订）');
    expect(created.keywords).toEqual(['婚姻', '登记']);
    expect(created.fields.map((f: { code: string }) => f.code)).toEqual(['idNumber', 'registeredOn']);
  });

  it('DG Art 11: an export never holds a section-level entry of another department, and is audited with filter and count', async () => {
    const ex = await env.app.inject({
      url: '/api/catalog/export.xlsx?shareType=conditional&shareType=unconditional&shareType=none',
      headers: { cookie: rsj },
    });
    expect(ex.statusCode, ex.body).toBe(200);
    const codes = sheetRows(await readBook(ex.rawPayload), RESOURCE_SHEET).map((r) => String(r.信息资源代码));
    const rsjOrg = (
      await env.ctx.db.selectFrom('org').select('id').where('code', '=', 'LJ-RSJ').executeTakeFirstOrThrow()
    ).id;
    const hidden = await env.ctx.db
      .selectFrom('resource')
      .select('code')
      .where('catalog_level', '=', 'section')
      .where('provider_org_id', '!=', rsjOrg)
      .where('status', '=', 'published')
      .execute();
    expect(hidden.length).toBeGreaterThan(0);
    for (const h of hidden) expect(codes).not.toContain(h.code);
    // same rows as the search view
    const search = (
      await env.app.inject({ url: '/api/catalog/resources?pageSize=200', headers: { cookie: rsj } })
    ).json();
    expect(codes.sort()).toEqual(search.items.map((i: { code: string }) => i.code).sort());
    const a = await env.ctx.db
      .selectFrom('audit_log')
      .select(['detail', 'rows_returned'])
      .where('action', '=', 'catalog.export')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(a.rows_returned).toBe(codes.length);
    expect(a.detail).toMatchObject({
      format: 'xlsx',
      rows: codes.length,
      filter: { shareType: ['conditional', 'unconditional', 'none'] },
    });
  });

  it('formulas: an imported formula cell is text, never evaluated; exports neutralise a leading = in CSV and write it as text in xlsx', async () => {
    const file = await workbook(
      [
        marriage(1, '公式资源', {
          信息资源名称: { formula: 'HYPERLINK("http://x.example","点我")', result: '点我' },
        }),
      ],
      items(1),
    );
    const res = await importFile(gaj, file, XLSX);
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().created[0].id;
    const name = (
      await env.app.inject({ url: `/api/catalog/resources/${id}`, headers: { cookie: gaj } })
    ).json().name;
    expect(name).toBe('=HYPERLINK("http://x.example","点我")');

    const csv = await env.app.inject({
      url: '/api/catalog/export.csv?status=draft&q=hyperlink',
      headers: { cookie: gaj },
    });
    expect(csv.statusCode, csv.body).toBe(200);
    expect(csv.body.startsWith('\uFEFF序号,')).toBe(true);
    expect(csv.body).toContain(`"'=HYPERLINK(""http://x.example"",""点我"")"`);
    const xl = await env.app.inject({
      url: '/api/catalog/export.xlsx?status=draft&q=hyperlink',
      headers: { cookie: gaj },
    });
    const cell = (await readBook(xl.rawPayload)).getWorksheet(RESOURCE_SHEET)!.getCell('C3');
    expect(cell.type).toBe(ExcelJS.ValueType.String);
    expect(cell.value).toBe('=HYPERLINK("http://x.example","点我")');
  });

  it('bounds: a file over UPLOAD_MAX_BYTES and a sheet over the row limit are refused before anything is read', async () => {
    const big = Buffer.alloc(env.ctx.config.uploadMaxBytes + 1, 0x41);
    const r1 = await importFile(gaj, big, 'text/csv');
    expect(r1.statusCode).toBe(413);
    expect(r1.json().code).toBe('UPLOAD_TOO_LARGE');
    const many = Array.from({ length: IMPORT_MAX_RESOURCES + 1 }, (_, i) => marriage(i + 1, `资源${i}`));
    const r2 = await importFile(gaj, await workbook(many, []), XLSX);
    expect(r2.statusCode).toBe(413);
    expect(r2.json().code).toBe('CATALOG_IMPORT_TOO_LARGE');
  });

  it('bounds: a zip bomb (parts understating their size) and sheets of millions of empty cells or rows are refused before ExcelJS builds them', async () => {
    // control: the hand-made workbook is a real one (ExcelJS reads its cells)
    const control = zip(
      xlsxParts(inlineRow(1, ['标题']) + inlineRow(2, ['序号', '信息资源名称']), inlineRow(1, ['x'])),
    );
    expect((await readBook(control)).getWorksheet(RESOURCE_SHEET)!.getCell('B2').value).toBe('信息资源名称');
    expect(checkXlsxBounds(control)).toEqual({ cells: 4, rows: 3 });
    const before = await count();

    // 1. an 80 MiB part whose directory entry says 1 kB: zlib stops at the 64 MiB bound
    const bomb = zip([
      ...xlsxParts(inlineRow(1, ['标题']), inlineRow(1, ['x'])),
      { name: 'xl/media/image1.png', data: Buffer.alloc(80 * 1024 * 1024), declared: 1000 },
    ]);
    expect(bomb.length).toBeLessThan(env.ctx.config.uploadMaxBytes);
    const r1 = await importFile(gaj, bomb, XLSX);
    expect(r1.statusCode, r1.body).toBe(413);
    expect(r1.json().code).toBe('CATALOG_IMPORT_TOO_LARGE');
    expect(r1.json().details[0].reason).toContain('inflates to more than 64 MiB');
    expect(r1.json().details[0].reasonZh).toContain('解压后超过 64 MiB');

    // 2. honest sizes, but more (styled, empty) cells than the largest import has: they have no value, so ExcelJS's
    // row count would not see them, yet it would build every one
    const wide = Array.from({ length: 20_000 }, (_, i) => {
      const r = i + 3;
      let cells = '';
      for (let c = 0; c < 26; c++) cells += `<c r="${String.fromCharCode(65 + c)}${r}" s="0"/>`;
      return `<row r="${r}">${cells}</row>`;
    }).join('');
    expect(20_000 * 26).toBeGreaterThan(XLSX_LIMITS.cells);
    const r2 = await importFile(gaj, zip(xlsxParts(inlineRow(1, ['标题']), wide)), XLSX);
    expect(r2.statusCode, r2.body).toBe(413);
    expect(r2.json().code).toBe('CATALOG_IMPORT_TOO_LARGE');
    expect(r2.json().details[0].reason).toContain(`more than ${XLSX_LIMITS.cells} cells`);
    expect(r2.json().details[0].reasonZh).toContain('单元格超过');

    // 3. rows without cells (a formatted block of rows): bounded too
    const tall = Array.from(
      { length: XLSX_LIMITS.rows + 1 },
      (_, i) => `<row r="${i + 3}" s="1" customFormat="1"/>`,
    ).join('');
    const r3 = await importFile(gaj, zip(xlsxParts(tall, inlineRow(1, ['x']))), XLSX);
    expect(r3.statusCode, r3.body).toBe(413);
    expect(r3.json().details[0].reason).toContain(`more than ${XLSX_LIMITS.rows} rows`);
    expect(await count()).toBe(before);
  }, 120_000);

  it('bounds: the largest import the template allows passes the pre-check (every column filled)', async () => {
    const full = (cols: typeof RESOURCE_COLUMNS, n: number) =>
      Array.from({ length: n }, (_, i) => Object.fromEntries(cols.map((c) => [c.header, `${c.header}${i}`])));
    const big = await workbook(
      full(RESOURCE_COLUMNS, IMPORT_MAX_RESOURCES),
      full(FIELD_COLUMNS, IMPORT_MAX_FIELD_ROWS),
    );
    const n = checkXlsxBounds(big);
    expect(n.cells).toBeGreaterThan((IMPORT_MAX_RESOURCES + IMPORT_MAX_FIELD_ROWS) * 5);
    expect(n.cells).toBeLessThanOrEqual(XLSX_LIMITS.cells);
    expect(checkXlsxBounds(await templateWorkbook()).cells).toBeGreaterThan(0);
  }, 120_000);

  it('DG Art 9: only a data officer imports', async () => {
    const viewer = await login(env.app, 'reviewer');
    const res = await importFile(viewer, await workbook([marriage(1, 'x')], items(1)), XLSX);
    expect(res.statusCode).toBe(403);
  });
});
