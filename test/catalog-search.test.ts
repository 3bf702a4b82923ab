import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backfillSearchDocuments,
  highlight,
  queryTokens,
  segment,
  tsqueryText,
} from '../src/catalog/search.js';
import { createTestEnv, login, type TestEnv } from './helpers.js';

interface Bucket {
  value: string | number;
  label: string;
  count: number;
}
interface Item {
  id: number;
  code: string;
  name: string;
  summary: string;
  provider: { id: number; name: string };
  catalogLevel: string;
  shareType: string;
  classification: string;
  openType: string;
  shareMethod: string;
  updateCycle: string;
  securityLevel: string;
  highlight: { name: { text: string; hit: boolean }[]; summary: { text: string; hit: boolean }[] } | null;
}
interface SearchPage {
  items: Item[];
  total: number;
  page: number;
  pageSize: number;
  facets: Record<string, Bucket[]>;
}

const FACET_FIELD: Record<string, (i: Item) => string | number> = {
  provider: (i) => i.provider.id,
  classification: (i) => i.classification,
  catalogLevel: (i) => i.catalogLevel,
  shareType: (i) => i.shareType,
  openType: (i) => i.openType,
  shareMethod: (i) => i.shareMethod,
  updateCycle: (i) => i.updateCycle,
  securityLevel: (i) => i.securityLevel,
};

function resource(name: string, summary: string, fields: [string, string][], extra: object = {}) {
  return {
    name,
    summary,
    classification: 'department',
    catalogLevel: 'city',
    shareType: 'unconditional',
    updateCycle: 'monthly',
    fields: fields.map(([code, fname], i) => ({ code, name: fname, type: 'string', isKey: i === 0 })),
    ...extra,
  };
}

describe('segmentation (jieba cutForSearch, issue 6 point 11)', () => {
  it('keeps 2-character words whole and yields the sub-words of longer ones', () => {
    expect(segment('人口基础信息')).toEqual(['人口', '基础', '信息']);
    expect(segment('不动产登记')).toEqual(expect.arrayContaining(['不动产', '登记']));
    expect(segment('446000-GAJ-001')).toEqual(['446000', 'gaj', '001']);
  });

  it('turns a query into an AND of its tokens with the last one as a prefix, and drops particles', () => {
    expect(queryTokens('社保缴费')).toEqual(['社保', '缴费']);
    expect(queryTokens('人口的信息')).toEqual(['人口', '信息']);
    expect(tsqueryText(['社保', '缴费'])).toBe("'社保' & '缴费':*");
    expect(tsqueryText(['社保', '缴费'], 'A')).toBe("'社保':A & '缴费':*A");
  });

  it('highlights every occurrence of a token as plain segments, no HTML', () => {
    expect(highlight('人口基础信息（人口库）', ['人口'])).toEqual([
      { text: '人口', hit: true },
      { text: '基础信息（', hit: false },
      { text: '人口', hit: true },
      { text: '库）', hit: false },
    ]);
  });
});

describe('catalog search: Chinese full text, ranking, facets, visibility (issue 6 point 11, DG Art 11)', () => {
  let env: TestEnv;
  let rsj: string;
  let gaj: string;
  let jyj: string;
  let admin: string;

  async function search(cookie: string, query: Record<string, string | string[]>): Promise<SearchPage> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) for (const x of [v].flat()) qs.append(k, x);
    const res = await env.app.inject({ url: `/api/catalog/resources?${qs}`, headers: { cookie } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  }

  /** Registers, submits and has the level's reviewer publish (DG Art 11): only published entries are searched. */
  async function register(cookie: string, body: object): Promise<Item> {
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/catalog/resources',
      headers: { cookie },
      payload: { ...body, submit: true },
    });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json() as Item & { catalogLevel: string };
    expect(created.catalogLevel).toBe('city'); // the authority's reviewer decides city-level entries
    {
      const reviewer = await login(env.app, 'reviewer');
      const pub = await env.app.inject({
        method: 'POST',
        url: `/api/catalog/resources/${created.id}/publish`,
        headers: { cookie: reviewer },
        payload: {},
      });
      expect(pub.statusCode, pub.body).toBe(200);
    }
    return created;
  }

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 50, entityRows: 10 } });
    [rsj, gaj, jyj, admin] = await Promise.all(
      ['rsj_officer', 'gaj_officer', 'jyj_officer', 'admin'].map((u) => login(env.app, u)),
    );
    await register(gaj, resource('渔船登记信息', '沿海船舶的登记情况，按月更新。', [['boatNo', '船舶编号']]));
    await register(
      gaj,
      resource('港口作业统计', '港口每日作业量，包括渔船进出港次数、渔船停泊时长和渔船类型。', [
        ['portId', '港口编号'],
      ]),
    );
    await register(
      gaj,
      resource('水产养殖情况', '全市水产养殖户的养殖品种和产量。', [
        ['farmId', '养殖户编号'],
        ['pondArea', '池塘面积'],
      ]),
    );
  }, 120_000);
  afterAll(async () => env?.close());

  it('a 2-character word finds the entry named with it: 人口 finds 人口基础信息, ranked first', async () => {
    const page = await search(rsj, { q: '人口' });
    expect(page.items[0].name).toBe('人口基础信息');
    expect(page.total).toBeGreaterThanOrEqual(1);
  });

  it('a word that occurs only in a summary is found (户政 in 人口基础信息)', async () => {
    const page = await search(rsj, { q: '户政' });
    expect(page.items.map((i) => i.name)).toContain('人口基础信息');
  });

  it('field names are searched: 池塘 finds the resource with the field 池塘面积', async () => {
    const page = await search(rsj, { q: '池塘' });
    expect(page.items.map((i) => i.name)).toEqual(['水产养殖情况']);
  });

  it('relevance: a name match ranks above a summary-only match, even one that repeats the word (渔船)', async () => {
    const page = await search(rsj, { q: '渔船' });
    expect(page.items.map((i) => i.name)).toEqual(['渔船登记信息', '港口作业统计']);
  });

  it('all words must match, the last one as a prefix (typing 渔船登 finds 渔船登记信息)', async () => {
    expect((await search(rsj, { q: '港口 渔船' })).items.map((i) => i.name)).toEqual(['港口作业统计']);
    expect((await search(rsj, { q: '渔船登' })).items.map((i) => i.name)).toEqual(['渔船登记信息']);
  });

  it('a code prefix finds the entry, case-insensitively, and ranks exact/prefix code matches first', async () => {
    const population = (await search(rsj, { q: '人口基础信息' })).items[0];
    // GB/T 21063.5: province 44 + level letter + department number, '/', sequence
    expect(population.code).toMatch(/^44[A-HJ-NP-Z]\d{3}\/\d{6}$/);
    const front = population.code.split('/')[0];
    // a partial last segment: the population entry is its department's first
    const partial = await search(rsj, { q: `${front}/00000` });
    expect(partial.items.map((i) => i.code)).toContain(population.code);
    expect(partial.items.every((i) => i.code.startsWith(`${front}/00000`))).toBe(true);
    const exact = await search(rsj, { q: population.code.toLowerCase() });
    expect(exact.items[0].code).toBe(population.code);
    // the officer's own registrations got codes under the same front code as the demo's entries (one generator)
    const mine = await search(rsj, { q: front, pageSize: '200' });
    expect(mine.total).toBeGreaterThanOrEqual(4);
    expect(mine.items.every((i) => i.code.startsWith(`${front}/`))).toBe(true);
    // a digits-only prefix is a code prefix as well
    const all = await search(rsj, { q: '44', pageSize: '200' });
    expect(all.items.every((i) => i.code.startsWith('44'))).toBe(true);
  });

  it('highlighting marks the matched words in the name and the summary', async () => {
    const page = await search(rsj, { q: '户籍' });
    const hit = page.items.find((i) => i.name === '人口基础信息');
    expect(hit?.highlight?.summary.filter((s) => s.hit).map((s) => s.text)).toContain('户籍');
    const named = await search(rsj, { q: '人口' });
    expect(named.items[0].highlight?.name).toEqual([
      { text: '人口', hit: true },
      { text: '基础信息', hit: false },
    ]);
    // no query, no highlight
    expect((await search(rsj, {})).items[0].highlight).toBeNull();
  });

  it('facet counts equal the entries listed for the query, per facet', async () => {
    for (const who of [rsj, admin]) {
      const page = await search(who, { q: '信息', pageSize: '200' });
      expect(page.items.length).toBe(page.total);
      for (const [facet, get] of Object.entries(FACET_FIELD)) {
        const expected = new Map<string, number>();
        for (const i of page.items) expected.set(String(get(i)), (expected.get(String(get(i))) ?? 0) + 1);
        const got = new Map(page.facets[facet].map((b) => [String(b.value), b.count]));
        expect(got, facet).toEqual(expected);
        expect(page.facets[facet].every((b) => b.label && b.label !== '')).toBe(true);
      }
    }
  });

  it('DG Art 11: a section-level entry never shows in another department’s results or facet counts', async () => {
    // 义务教育学生学籍信息 is a section-level entry of the education bureau
    const outsider = await search(rsj, { q: '学籍' });
    expect(outsider.total).toBe(0);
    expect(outsider.items).toEqual([]);
    for (const buckets of Object.values(outsider.facets)) expect(buckets).toEqual([]);
    const all = await search(rsj, { pageSize: '200' });
    expect(all.items.some((i) => i.catalogLevel === 'section')).toBe(false);
    expect(all.facets.catalogLevel.find((b) => b.value === 'section')).toBeUndefined();

    const insider = await search(jyj, { q: '学籍' });
    expect(insider.items.map((i) => i.name)).toContain('义务教育学生学籍信息');
    expect(insider.facets.catalogLevel).toContainEqual({ value: 'section', label: '科室级', count: 1 });
    // the authority sees every section-level entry (DG Art 11 / seesAllSectionEntries)
    const authority = await search(admin, { q: '学籍' });
    expect(authority.total).toBe(insider.total);
    const everything = await search(admin, { pageSize: '200' });
    expect(everything.total).toBeGreaterThan(all.total);
  });

  it('filters combine (AND across facets, OR within one); a facet is counted without its own filter', async () => {
    const base = await search(admin, { pageSize: '200' });
    const want = base.items.filter(
      (i) => ['conditional', 'unconditional'].includes(i.shareType) && i.catalogLevel === 'department',
    );
    const page = await search(admin, {
      shareType: ['conditional', 'unconditional'],
      catalogLevel: 'department',
      pageSize: '200',
    });
    expect(page.total).toBe(want.length);
    expect(page.items.map((i) => i.id).sort()).toEqual(want.map((i) => i.id).sort());
    // shareType facet ignores the shareType filter but keeps catalogLevel's: 'none' stays countable
    const noneCount = base.items.filter(
      (i) => i.shareType === 'none' && i.catalogLevel === 'department',
    ).length;
    const noneBucket = page.facets.shareType.find((b) => b.value === 'none');
    expect(noneBucket?.count ?? 0).toBe(noneCount);
    // a provider filter with a query
    const gajId = (await search(gaj, { q: '渔船' })).items[0].provider.id;
    const byProvider = await search(rsj, { q: '信息', provider: String(gajId) });
    expect(byProvider.items.length).toBeGreaterThan(0);
    expect(byProvider.items.every((i) => i.provider.id === gajId)).toBe(true);
    // the old single-provider parameter still works
    expect((await search(rsj, { q: '信息', providerOrgId: String(gajId) })).total).toBe(byProvider.total);
  });

  it('sorting: relevance by default with a query, name or updated on request; pages do not overlap', async () => {
    const p1 = await search(admin, { sort: 'name', pageSize: '5', page: '1' });
    const p2 = await search(admin, { sort: 'name', pageSize: '5', page: '2' });
    expect(p1.items.length).toBe(5);
    expect(p2.items.map((i) => i.id).some((id) => p1.items.some((i) => i.id === id))).toBe(false);
    const bad = await env.app.inject({
      url: '/api/catalog/resources?sort=random',
      headers: { cookie: admin },
    });
    expect(bad.statusCode).toBe(400);
  });

  it('a newly published resource is searchable at once, by name, summary and field name', async () => {
    await register(
      gaj,
      resource('网约车驾驶员证信息', '网络预约出租汽车驾驶员从业资格证的核发情况。', [
        ['licenceNo', '从业资格证号'],
        ['carPlate', '车辆号牌'],
      ]),
    );
    for (const q of ['网约车', '从业资格', '号牌']) {
      expect(
        (await search(rsj, { q })).items.map((i) => i.name),
        q,
      ).toContain('网约车驾驶员证信息');
    }
  });

  it('start-up backfill fills documents that are missing, and only those (idempotent)', async () => {
    await sql`UPDATE resource SET search_doc = NULL WHERE name = '水产养殖情况'`.execute(env.ctx.db);
    expect((await search(rsj, { q: '池塘' })).total).toBe(0);
    expect(await backfillSearchDocuments(env.ctx.db)).toBe(1);
    expect(await backfillSearchDocuments(env.ctx.db)).toBe(0);
    expect((await search(rsj, { q: '池塘' })).items.map((i) => i.name)).toEqual(['水产养殖情况']);
  });

  it('a query of punctuation only matches nothing rather than everything', async () => {
    const page = await search(rsj, { q: '？！' });
    expect(page.total).toBe(0);
  });

  it('synonyms (src/catalog/synonyms.json): 社保 finds an entry written 社会保险 and the other way round; 社保卡 still needs 社保卡', async () => {
    await register(
      gaj,
      resource('城乡居民社会保险缴费记录', '居民按年缴纳的养老和医疗保险费用。', [['payId', '缴费编号']]),
    );
    await register(gaj, resource('社保待遇发放明细', '按月发放的养老金明细。', [['payoutId', '发放编号']]));
    const names = async (q: string) => (await search(rsj, { q, pageSize: '200' })).items.map((i) => i.name);
    for (const q of ['社保', '社会保险'])
      expect(await names(q)).toEqual(
        expect.arrayContaining(['城乡居民社会保险缴费记录', '社保待遇发放明细']),
      );
    expect(await names('社保缴费')).toContain('城乡居民社会保险缴费记录');
    expect(await names('社保卡')).not.toContain('城乡居民社会保险缴费记录');
    const hit = (await search(rsj, { q: '社保' })).items.find((i) => i.name === '城乡居民社会保险缴费记录');
    expect(hit?.highlight?.name.filter((s) => s.hit).map((s) => s.text)).toEqual(['社会保险']);
  });
});
