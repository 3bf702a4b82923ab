import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, shanghaiDate } from '../src/calendar/model.js';
import { download } from '../src/opening/service.js';
import { createTestEnv, type TestEnv } from './helpers.js';

/*
 * Issue 11 point 1–2: the public open-data portal's API, without a session. Only published 无条件 / 依申请开放 entries
 * exist there; data (preview, downloads) only for unconditional ones (SY Art 33), masked by the one masking module,
 * audited with the client address, counted per dataset and day, rate-limited per address.
 */
let env: TestEnv;
let openId: number;
let onAppId: number;
let closedId: number;

async function idOf(name: string) {
  const r = await env.ctx.db
    .selectFrom('resource')
    .select('id')
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
  return r.id;
}

beforeAll(async () => {
  env = await createTestEnv({
    demo: { populationRows: 200, entityRows: 120 },
    config: { openDownloadsPerMinute: 1000 },
  });
  openId = await idOf('法人单位基础信息');
  onAppId = await idOf('纳税信用等级评价结果');
  closedId = await idOf('人口基础信息');
}, 300_000);
afterAll(async () => env?.close());

describe('open-data portal API (no login)', () => {
  it('lists only published open and on-application entries, with facets, and never a closed one', async () => {
    const res = await env.app.inject({ url: '/api/open/datasets?pageSize=100' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const ids = body.items.map((i: { id: number }) => i.id);
    expect(ids).toContain(openId);
    expect(ids).toContain(onAppId);
    expect(ids).not.toContain(closedId);
    for (const i of body.items) expect(['open', 'onApplication']).toContain(i.openType);
    const expected = await env.ctx.db
      .selectFrom('resource')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'published')
      .where('open_type', 'in', ['open', 'onApplication'])
      .where('catalog_level', '!=', 'section')
      .executeTakeFirstOrThrow();
    expect(body.total).toBe(Number(expected.n));
    // facets: the open-type facet never counts 不予开放, department counts add up to the total
    expect(body.facets.openType.map((b: { value: string }) => b.value)).not.toContain('closed');
    const sum = body.facets.department.reduce((n: number, b: { count: number }) => n + b.count, 0);
    expect(sum).toBe(body.total);
    expect(body.facets.topic.length).toBeGreaterThan(0);
    // internal workflow fields are not part of the public view
    expect(body.items[0]).not.toHaveProperty('shareType');
    expect(body.items[0]).not.toHaveProperty('securityLevel');
  });

  it('searches in Chinese with the catalog search (jieba) and filters by facet', async () => {
    const res = await env.app.inject({ url: `/api/open/datasets?q=${encodeURIComponent('企业')}` });
    const body = res.json();
    expect(body.items.map((i: { id: number }) => i.id)).toContain(openId);
    expect(body.items[0].highlight.title.some((s: { hit: boolean }) => s.hit)).toBe(true);
    // a closed entry stays hidden even when its words are searched
    const people = await env.app.inject({
      url: `/api/open/datasets?q=${encodeURIComponent('人口基础信息')}`,
    });
    expect(people.json().items.map((i: { id: number }) => i.id)).not.toContain(closedId);
    const onlyOpen = await env.app.inject({ url: '/api/open/datasets?openType=open&pageSize=100' });
    const ob = onlyOpen.json();
    expect(ob.items.every((i: { openType: string }) => i.openType === 'open')).toBe(true);
    // the ticked facet still counts its alternative (依申请) so it can be switched
    expect(
      ob.facets.openType.find((b: { value: string }) => b.value === 'onApplication').count,
    ).toBeGreaterThan(0);
    const credit = await env.app.inject({ url: '/api/open/datasets?domain=credit&pageSize=100' });
    const cb = credit.json();
    expect(cb.total).toBeGreaterThan(0);
    expect(cb.items.every((i: { domains: string[] }) => i.domains.includes('credit'))).toBe(true);
    const bad = await env.app.inject({ url: '/api/open/datasets?openType=closed' });
    expect(bad.statusCode).toBe(400);
  });

  it('home: totals, newest, priority domains with data only, departments with counts', async () => {
    const res = await env.app.inject({ url: '/api/open/home' });
    expect(res.statusCode).toBe(200);
    const h = res.json();
    expect(h.datasets).toBeGreaterThan(0);
    expect(h.latest.length).toBeGreaterThan(0);
    expect(h.domains.every((d: { count: number }) => d.count > 0)).toBe(true);
    expect(h.domains.map((d: { key: string }) => d.key)).toContain('credit');
    expect(h.domains.map((d: { key: string }) => d.key)).not.toContain('weather');
    expect(h.departments.reduce((n: number, d: { count: number }) => n + d.count, 0)).toBe(h.datasets);
  });

  it('dataset page: metadata for open and on-application entries, not found for closed ones; views counted', async () => {
    const res = await env.app.inject({ url: `/api/open/datasets/${openId}` });
    expect(res.statusCode).toBe(200);
    const d = res.json();
    expect(d.title).toBe('法人单位基础信息');
    expect(d.department.name).toBeTruthy();
    expect(d.keywords).toContain('企业');
    expect(d.downloads).toEqual(['csv', 'csv-gbk', 'xlsx', 'json']);
    expect(d.fields.find((f: { code: string }) => f.code === 'legalRepresentative').masked).toBe(true);
    expect(d.usage.views).toBeGreaterThanOrEqual(1);
    const again = (await env.app.inject({ url: `/api/open/datasets/${openId}` })).json();
    expect(again.usage.views).toBe(d.usage.views + 1);
    // the view is counted and the usage read in one statement: today's row carries this view, the totals are the
    // stored counters (another day's row and today's other counters included), the series keeps the last 30 days
    const today = shanghaiDate(env.ctx.clock.now());
    const stored = async () =>
      (
        await sql<{ day: string; views: number; previews: number; downloads: number; api_calls: number }>`
          SELECT to_char(day, 'YYYY-MM-DD') AS day, views, previews, downloads, api_calls FROM open_usage
          WHERE resource_id = ${openId}`.execute(env.ctx.db)
      ).rows;
    const todayViews = again.usage.days.find((x: { day: string }) => x.day === today)?.views;
    const todayStored = (await stored()).filter((x) => x.day === today);
    expect(todayViews).toBe(todayStored.reduce((n, x) => n + Number(x.views), 0));
    // rows of other days, and a second row of today (increments spread over slots, migration 037)
    await sql`INSERT INTO open_usage (resource_id, day, slot, views, previews, downloads) VALUES
      (${openId}, ${addDays(today, -3)}::date, 99, 5, 0, 2), (${openId}, ${addDays(today, -40)}::date, 99, 7, 0, 0),
      (${openId}, ${today}::date, 99, 0, 3, 0)`.execute(env.ctx.db);
    const third = (await env.app.inject({ url: `/api/open/datasets/${openId}` })).json();
    const rows = await stored();
    const sum = (k: 'views' | 'previews' | 'downloads' | 'api_calls') =>
      rows.reduce((n, x) => n + Number(x[k]), 0);
    expect(third.usage.views).toBe(sum('views'));
    expect(third.usage.previews).toBe(sum('previews'));
    expect(third.usage.downloads).toBe(sum('downloads'));
    expect(third.usage.apiCalls).toBe(sum('api_calls'));
    expect(third.usage.days.map((x: { day: string }) => x.day)).not.toContain(addDays(today, -40));
    const t3 = third.usage.days.find((x: { day: string }) => x.day === today);
    expect(t3.views).toBe(todayViews + 1);
    expect(t3.previews).toBeGreaterThanOrEqual(3);
    expect(third.usage.days.find((x: { day: string }) => x.day === addDays(today, -3)).downloads).toBe(2);
    // leave the counters as the later tests expect them
    await sql`DELETE FROM open_usage WHERE resource_id = ${openId} AND slot = 99`.execute(env.ctx.db);

    const onApp = await env.app.inject({ url: `/api/open/datasets/${onAppId}` });
    expect(onApp.statusCode).toBe(200);
    expect(onApp.json().downloads).toEqual([]);

    const closed = await env.app.inject({ url: `/api/open/datasets/${closedId}` });
    expect(closed.statusCode).toBe(404);
    expect(closed.json().code).toBe('OPEN_DATASET_NOT_FOUND');
    // a closed entry's page counts no view
    const closedViews = await env.ctx.db
      .selectFrom('open_usage')
      .select('views')
      .where('resource_id', '=', closedId)
      .executeTakeFirst();
    expect(closedViews).toBeUndefined();
    expect((await env.app.inject({ url: `/api/open/datasets/${closedId}/preview` })).statusCode).toBe(404);
  });

  it('preview: first rows masked, audited with the address, counted in the same transaction', async () => {
    const previews = async () =>
      Number(
        (
          await env.ctx.db
            .selectFrom('open_usage')
            .select((eb) => eb.fn.sum<number>('previews').as('n'))
            .where('resource_id', '=', openId)
            .executeTakeFirst()
        )?.n ?? 0,
      );
    const before = await previews();
    const res = await env.app.inject({
      url: `/api/open/datasets/${openId}/preview`,
      remoteAddress: '203.0.113.7',
    });
    expect(res.statusCode).toBe(200);
    const p = res.json();
    expect(p.records.length).toBe(10);
    // personal field masked (张* style), never in clear
    const names = p.records.map((r: Record<string, string>) => r.legalRepresentative).filter(Boolean);
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(n).toMatch(/^.\*+$/u);
    const clear = await sql<{
      c4: string;
    }>`SELECT c4 FROM ds.${sql.raw(`r_${openId}`)} ORDER BY _seq LIMIT 10`.execute(env.ctx.db);
    expect(clear.rows.some((r) => names.includes(r.c4))).toBe(false);
    const audit = await env.ctx.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'open.preview')
      .where('resource_id', '=', openId)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(audit.client_ip).toBe('203.0.113.7');
    expect(audit.rows_returned).toBe(10);
    expect(audit.decision).toBe('allow');
    expect(await previews()).toBe(before + 1);
  });

  it('on-application data is refused without an application, and the refusal is audited', async () => {
    const res = await env.app.inject({
      url: `/api/open/datasets/${onAppId}/download?format=csv`,
      remoteAddress: '203.0.113.9',
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('OPEN_APPLICATION_REQUIRED');
    const refusal = await env.ctx.db
      .selectFrom('audit_log')
      .select(['decision', 'client_ip', 'detail'])
      .where('decision', '=', 'deny')
      .where('client_ip', '=', '203.0.113.9')
      .executeTakeFirst();
    expect(refusal).toBeTruthy();
  });

  it('downloads CSV (UTF-8 BOM and GBK), XLSX and JSON with every row, masked, each audited and counted', async () => {
    const total = (
      await env.ctx.db
        .selectFrom('resource')
        .select('row_count')
        .where('id', '=', openId)
        .executeTakeFirstOrThrow()
    ).row_count;
    expect(total).toBe(120);
    const csv = await env.app.inject({ url: `/api/open/datasets/${openId}/download?format=csv` });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.headers['content-disposition']).toContain('attachment');
    const raw = csv.rawPayload;
    expect([...raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = raw.subarray(3).toString('utf8').trimEnd().split('\r\n');
    expect(lines[0]).toContain('统一社会信用代码');
    expect(lines.length).toBe(total + 1);

    const gbk = await env.app.inject({ url: `/api/open/datasets/${openId}/download?format=csv-gbk` });
    const text = iconv.decode(gbk.rawPayload, 'gbk');
    expect(text.split('\r\n')[0]).toBe(lines[0]);
    expect(gbk.rawPayload.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(false);

    const json = await env.app.inject({ url: `/api/open/datasets/${openId}/download?format=json` });
    const records = JSON.parse(json.body) as Record<string, string>[];
    expect(records.length).toBe(total);
    for (const r of records) if (r.legalRepresentative) expect(r.legalRepresentative).toMatch(/^.\*+$/u);

    const xlsx = await env.app.inject({ url: `/api/open/datasets/${openId}/download?format=xlsx` });
    expect(xlsx.statusCode).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
    expect(wb.worksheets[0].rowCount).toBe(total + 1);

    const audits = await env.ctx.db
      .selectFrom('audit_log')
      .select(['detail'])
      .where('action', '=', 'open.download')
      .where('resource_id', '=', openId)
      .execute();
    const formats = audits.map(
      (a) => (typeof a.detail === 'string' ? JSON.parse(a.detail) : a.detail).format,
    );
    expect(formats).toEqual(expect.arrayContaining(['csv', 'csv-gbk', 'json', 'xlsx']));
    const usage = await env.ctx.db
      .selectFrom('open_usage')
      .select((eb) => eb.fn.sum<number>('downloads').as('n'))
      .where('resource_id', '=', openId)
      .executeTakeFirstOrThrow();
    expect(Number(usage.n)).toBe(4);
  });

  it('streams in batches: small batches give the same rows in the same order as one', async () => {
    const read = async (batch: number) => {
      const d = await download(env.ctx, { ip: '127.0.0.1' }, openId, 'json', batch);
      const chunks: Buffer[] = [];
      for await (const c of d.stream) chunks.push(c as Buffer);
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown[];
    };
    const small = await read(7);
    expect(small.length).toBe(120);
    expect(small).toEqual(await read(1000));
  });
});

describe('open-data rate limit per address', () => {
  let limited: TestEnv;
  beforeAll(async () => {
    limited = await createTestEnv({
      demo: { populationRows: 50, entityRows: 20 },
      config: { openDownloadsPerMinute: 2 },
    });
  }, 300_000);
  afterAll(async () => limited?.close());

  it('answers 429 RATE_LIMITED past the per-address download limit; another address still downloads', async () => {
    const id = (
      await limited.ctx.db
        .selectFrom('resource')
        .select('id')
        .where('name', '=', '法人单位基础信息')
        .executeTakeFirstOrThrow()
    ).id;
    const url = `/api/open/datasets/${id}/download?format=csv`;
    // fresh addresses per run: on PostgreSQL the limiter counts in Redis, which outlives the test database
    const n = Math.floor(Math.random() * 200) + 1;
    const codes = [];
    for (let i = 0; i < 3; i++)
      codes.push((await limited.app.inject({ url, remoteAddress: `198.51.100.${n}` })).statusCode);
    expect(codes).toEqual([200, 200, 429]);
    const other = await limited.app.inject({ url, remoteAddress: `198.51.100.${n + 1}` });
    expect(other.statusCode).toBe(200);
  });
});
