/*
 * `npm run bench:catalog`: Chinese full-text catalog search at 100 000 entries (issue 6 point 11).
 *
 * For each database (a fresh `gs_bench_<rand>` database on the PostgreSQL server, created and dropped here; PGlite in
 * memory) it generates a realistic catalog — names, summaries, keywords and field names built from government data
 * vocabulary (人口, 社保, 企业, 不动产, 医保, 教育, 交通…) — straight into `resource` with the search document built
 * by the same code registration uses (src/catalog/search.ts), then times 20 typical queries through the real use case
 * (catalog/service.listResources: search, total, eight facets, highlights) as a department officer, next to a plain
 * `ILIKE '%q%'` scan over name and summary (first page + total) on the same data in the same run.
 *
 * Knobs (env): BENCH_CATALOG_ROWS (100000), BENCH_CATALOG_REPEAT (10 timed runs per query per method),
 * BENCH_DATABASES (postgres,pglite), BENCH_EXPLAIN (a query whose statements' plans are printed), BENCH_DATABASE_URL / DATABASE_URL (server, default
 * postgres://postgres@127.0.0.1:5432/postgres). Target (PostgreSQL): search p95 < 30 ms.
 */
import { randomBytes } from 'node:crypto';
import { type CompiledQuery, sql } from 'kysely';
import pg from 'pg';
import { closeContext, openContext } from '../src/boot.js';
import { searchDocumentParts, searchDocumentSql } from '../src/catalog/search.js';
import { listResources } from '../src/catalog/service.js';
import { loadConfig } from '../src/config.js';
import type { Actor, AppContext } from '../src/context.js';

const env = process.env;
const ROWS = Number(env.BENCH_CATALOG_ROWS || 100_000);
const REPEAT = Number(env.BENCH_CATALOG_REPEAT || 10);
const DATABASES = (env.BENCH_DATABASES ?? 'postgres,pglite').split(',').map((s) => s.trim());
const SERVER_URL =
  env.BENCH_DATABASE_URL || env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const TARGET_P95_MS = 30;
const EXPLAIN_QUERY = env.BENCH_EXPLAIN ?? '';

export const QUERIES = [
  '人口',
  '户籍',
  '社保缴费',
  '企业登记',
  '不动产登记',
  '医保参保',
  '学籍',
  '营业执照',
  '公积金',
  '婚姻登记',
  '低保',
  '驾驶证',
  '出生医学证明',
  '纳税信用',
  '排污许可',
  '养老保险',
  '网约车',
  '流动人口',
  '施工许可',
  '疫苗接种',
];

// ---- vocabulary: departments, their subjects, and their typical fields ----

interface Domain {
  org: string;
  code: string;
  subjects: string[];
  fields: string[];
}

const DOMAINS: Domain[] = [
  {
    org: '公安局',
    code: 'GAJ',
    subjects: ['人口', '户籍', '流动人口', '居民身份证', '出入境证件', '户口迁移', '暂住登记'],
    fields: ['户籍地址', '户口类别', '迁入日期', '民族', '居住证号码'],
  },
  {
    org: '人力资源和社会保障局',
    code: 'RSJ',
    subjects: ['社保缴费', '养老保险', '失业保险', '工伤保险', '就业登记', '职业资格', '社会保障卡'],
    fields: ['参保状态', '缴费基数', '缴费月数', '参保单位', '险种类型'],
  },
  {
    org: '市场监督管理局',
    code: 'SCJGJ',
    subjects: ['企业登记', '营业执照', '市场主体', '个体工商户', '企业年报', '食品经营许可', '行政处罚'],
    fields: ['统一社会信用代码', '法定代表人', '注册资本', '经营范围', '登记机关'],
  },
  {
    org: '自然资源局',
    code: 'ZRZYJ',
    subjects: ['不动产登记', '不动产权证', '土地使用权', '抵押登记', '建设用地规划', '地籍调查'],
    fields: ['不动产单元号', '权利人', '坐落', '宗地面积', '登记类型'],
  },
  {
    org: '医疗保障局',
    code: 'YBJ',
    subjects: ['医保参保', '医保结算', '定点医药机构', '门诊慢特病', '异地就医备案', '医疗救助'],
    fields: ['医保编号', '结算金额', '统筹支付', '个人账户', '就诊机构'],
  },
  {
    org: '教育局',
    code: 'JYJ',
    subjects: ['学籍', '学生资助', '招生入学', '教师资格', '学校基本情况', '学位分配'],
    fields: ['全国学籍号', '学校名称', '年级', '入学日期', '资助金额'],
  },
  {
    org: '交通运输局',
    code: 'JTJ',
    subjects: ['道路运输', '网约车', '出租汽车', '公交线路', '驾驶员从业资格', '货运车辆'],
    fields: ['车辆号牌', '从业资格证号', '线路编号', '经营许可证号', '车辆类型'],
  },
  {
    org: '公安局交通警察支队',
    code: 'JJZD',
    subjects: ['驾驶证', '机动车登记', '交通违法', '交通事故', '机动车年检'],
    fields: ['驾驶证号', '准驾车型', '号牌号码', '违法地点', '记分'],
  },
  {
    org: '住房公积金管理中心',
    code: 'GJJ',
    subjects: ['公积金', '住房公积金缴存', '公积金贷款', '公积金提取'],
    fields: ['公积金账号', '缴存基数', '缴存比例', '贷款余额', '提取原因'],
  },
  {
    org: '民政局',
    code: 'MZJ',
    subjects: ['婚姻登记', '低保', '特困供养', '养老服务', '殡葬服务', '社会组织', '残疾人补贴'],
    fields: ['登记机关', '婚姻状况', '保障金额', '救助类型', '养老机构名称'],
  },
  {
    org: '税务局',
    code: 'SWJ',
    subjects: ['纳税信用', '纳税申报', '发票开具', '税收缴纳', '欠税公告'],
    fields: ['纳税人识别号', '税种', '应纳税额', '信用等级', '申报期'],
  },
  {
    org: '卫生健康局',
    code: 'WJJ',
    subjects: ['出生医学证明', '疫苗接种', '医疗机构执业', '执业医师', '死亡医学证明', '健康档案'],
    fields: ['新生儿姓名', '接种日期', '疫苗名称', '执业地点', '机构等级'],
  },
  {
    org: '生态环境局',
    code: 'STHJJ',
    subjects: ['排污许可', '环境监测', '空气质量', '环境行政处罚', '危险废物'],
    fields: ['排污许可证编号', '监测点位', '污染物名称', '排放浓度', '监测时间'],
  },
  {
    org: '住房和城乡建设局',
    code: 'ZJJ',
    subjects: ['施工许可', '建筑业企业资质', '商品房预售', '物业服务', '房屋租赁备案'],
    fields: ['项目名称', '施工单位', '资质等级', '预售许可证号', '建筑面积'],
  },
  {
    org: '水务局',
    code: 'SWUJ',
    subjects: ['用水户', '供水管网', '水质检测', '取水许可', '河道管理'],
    fields: ['用水户号', '用水量', '水表编号', '取水口', '检测指标'],
  },
  {
    org: '农业农村局',
    code: 'NYJ',
    subjects: ['耕地保护', '农机购置补贴', '家庭农场', '农产品质量', '动物防疫'],
    fields: ['地块编码', '补贴金额', '农场名称', '检测结果', '养殖规模'],
  },
  {
    org: '统计局',
    code: 'TJJ',
    subjects: ['经济普查', '人口普查', '规模以上工业', '居民收支', '统计年鉴'],
    fields: ['普查区', '行业代码', '从业人员数', '营业收入', '调查年度'],
  },
  {
    org: '应急管理局',
    code: 'YJGLJ',
    subjects: ['安全生产许可', '危险化学品', '应急预案', '自然灾害', '应急物资'],
    fields: ['许可证编号', '企业名称', '危险等级', '物资名称', '储备数量'],
  },
  {
    org: '文化广电旅游体育局',
    code: 'WGLTJ',
    subjects: ['旅行社', 'A级景区', '文物保护单位', '体育场馆', '公共图书馆'],
    fields: ['景区等级', '接待人次', '馆藏数量', '场馆面积', '开放时间'],
  },
  {
    org: '政务服务数据管理局',
    code: 'ZSJ',
    subjects: ['政务服务事项', '电子证照', '一网通办', '好差评', '12345热线'],
    fields: ['事项编码', '办件编号', '证照类型', '评价等级', '工单编号'],
  },
];
const COMMON_FIELDS = [
  '姓名',
  '公民身份号码',
  '联系电话',
  '地址',
  '所属区县',
  '更新时间',
  '状态',
  '办理机构',
  '备注',
  '登记日期',
];
const DISTRICTS = ['', '', '', '全市', '临江区', '东湖区', '北山区', '南港县', '西岭县', '城区', '镇街'];
const SUFFIXES = [
  '信息',
  '明细',
  '统计',
  '台账',
  '名单',
  '登记信息',
  '变更记录',
  '核验结果',
  '汇总数据',
  '办理信息',
];
const PURPOSES = [
  '身份核验',
  '资格审核',
  '统计分析',
  '监督管理',
  '公共服务',
  '风险预警',
  '政策制定',
  '一件事联办',
];
const CYCLES = ['realtime', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly', 'irregular'] as const;
const CYCLE_ZH: Record<string, string> = {
  realtime: '实时',
  daily: '每日',
  weekly: '每周',
  monthly: '每月',
  quarterly: '每季度',
  yearly: '每年',
  irregular: '不定期',
};

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Row {
  code: string;
  name: string;
  summary: string;
  provider: number;
  classification: string;
  catalogLevel: string;
  shareType: string;
  legalBasis: string | null;
  shareMethod: string;
  openType: string;
  updateCycle: string;
  securityLevel: string;
  keywords: string[];
  doc: { a: string; b: string; c: string; d: string };
}

export function generate(n: number, orgIds: number[], orgNames: string[]): Row[] {
  const r = rng(20261129);
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)];
  const rows: Row[] = [];
  const seq = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const di = Math.floor(r() * DOMAINS.length);
    const d = DOMAINS[di];
    const provider = orgIds[di];
    const subject = pick(d.subjects);
    const name = `${pick(DISTRICTS)}${subject}${pick(SUFFIXES)}`;
    // a fifth of the summaries mention a subject of another department (joint services): summary-only hits
    const other = r() < 0.2 ? pick(DOMAINS) : d;
    const also = [pick(d.subjects), pick(other.subjects), pick(d.fields)].filter((s) => s !== subject);
    const cycle = pick(CYCLES);
    const summary = `本资源由临江市${d.org}汇聚，记录${subject}相关数据，包括${also.join('、')}等内容，${CYCLE_ZH[cycle]}更新，用于${pick(PURPOSES)}和${pick(PURPOSES)}。`;
    const fieldNames = [
      ...new Set([
        ...Array.from({ length: 3 + Math.floor(r() * 5) }, () => pick(d.fields)),
        ...Array.from({ length: 2 + Math.floor(r() * 4) }, () => pick(COMMON_FIELDS)),
      ]),
    ];
    const keywords = [...new Set([subject, pick(d.subjects)])];
    const shareType = r() < 0.45 ? 'conditional' : r() < 0.85 ? 'unconditional' : 'none';
    const k = (seq.get(provider) ?? 0) + 1;
    seq.set(provider, k);
    // GB/T 21063.5 layout, as the catalog issues them: province 44, level letter, department number / sequence
    const code = `44A${String(di + 1).padStart(3, '0')}/${String(k).padStart(6, '0')}`;
    const level = r();
    rows.push({
      code,
      name,
      summary,
      provider,
      classification: r() < 0.1 ? 'base' : r() < 0.3 ? 'theme' : 'department',
      catalogLevel: level < 0.3 ? 'city' : level < 0.85 ? 'department' : 'section',
      shareType,
      legalBasis: shareType === 'unconditional' ? null : '《政务数据资源共享管理办法》',
      shareMethod: pick(['api', 'api', 'table', 'file']),
      openType: shareType === 'none' ? 'closed' : pick(['open', 'onApplication', 'closed']),
      updateCycle: cycle,
      securityLevel: pick(['general', 'general', 'important', 'core']),
      keywords,
      doc: searchDocumentParts({ name, keywords, summary, fieldNames, code, providerName: orgNames[di] }),
    });
  }
  return rows;
}

export async function seedOrgs(ctx: AppContext): Promise<{ ids: number[]; names: string[] }> {
  await sql`INSERT INTO jurisdiction (code, name, level) VALUES ('446000', '临江市', 'city') ON CONFLICT DO NOTHING`.execute(
    ctx.db,
  );
  const ids: number[] = [];
  const names: string[] = [];
  for (const d of DOMAINS) {
    const name = `临江市${d.org}`;
    const { id } = await ctx.db
      .insertInto('org')
      .values({
        code: `446000-${d.code}`,
        name,
        short_name: d.org,
        kind: 'department',
        jurisdiction_code: '446000',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids.push(id);
    names.push(name);
  }
  return { ids, names };
}

export async function insertRows(ctx: AppContext, rows: Row[]) {
  const B = 2000;
  for (let i = 0; i < rows.length; i += B) {
    const c = rows.slice(i, i + B);
    const col = <K extends keyof Row>(k: K) => c.map((x) => x[k]);
    await sql`INSERT INTO resource (code, name, summary, provider_org_id, classification, catalog_level, share_type,
        legal_basis, share_method, open_type, update_cycle, security_level, keywords, search_doc, data_table)
      SELECT u.code, u.name, u.summary, u.provider, u.classification, u.catalog_level, u.share_type, u.legal_basis,
        u.share_method, u.open_type, u.update_cycle, u.security_level, string_to_array(u.keywords, '|'),
        ${searchDocumentSql({ a: sql`u.a`, b: sql`u.b`, c: sql`u.c`, d: sql`u.d` })}, NULL
      FROM unnest(${col('code')}::text[], ${col('name')}::text[], ${col('summary')}::text[], ${col('provider')}::bigint[],
        ${col('classification')}::text[], ${col('catalogLevel')}::text[], ${col('shareType')}::text[],
        ${col('legalBasis')}::text[], ${col('shareMethod')}::text[], ${col('openType')}::text[],
        ${col('updateCycle')}::text[], ${col('securityLevel')}::text[], ${c.map((x) => x.keywords.join('|'))}::text[],
        ${c.map((x) => x.doc.a)}::text[], ${c.map((x) => x.doc.b)}::text[], ${c.map((x) => x.doc.c)}::text[],
        ${c.map((x) => x.doc.d)}::text[])
        AS u(code, name, summary, provider, classification, catalog_level, share_type, legal_basis, share_method,
          open_type, update_cycle, security_level, keywords, a, b, c, d)`.execute(ctx.db);
  }
  await sql`ANALYZE resource`.execute(ctx.db);
}

/**
 * BENCH_EXPLAIN=<query>: the plans (EXPLAIN ANALYZE, BUFFERS where the database has them) of every statement one search
 * sends, captured from the executor the search runs on, with their parameters, after the warm-up.
 */
async function explainSearch(ctx: AppContext, actor: Actor, q: string) {
  const captured: { sql: string; parameters: readonly unknown[] }[] = [];
  const real = ctx.db.getExecutor();
  const executeQuery = ((compiled: CompiledQuery) => {
    captured.push({ sql: compiled.sql, parameters: compiled.parameters });
    return real.executeQuery(compiled);
  }) as typeof real.executeQuery;
  // a Proxy, not Object.create: the executor keeps its state in private fields
  const spy = new Proxy(real, {
    get(t, p) {
      if (p === 'executeQuery') return executeQuery;
      const v = Reflect.get(t, p, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  const db = Object.create(ctx.db, { getExecutor: { value: () => spy } }) as AppContext['db'];
  await listResources({ ...ctx, db }, actor, { q, page: 1, pageSize: 20 });
  for (const c of captured) {
    const opts = ctx.database.kind === 'postgres' ? 'ANALYZE, BUFFERS' : 'ANALYZE';
    const plan = await ctx.database.query<Record<string, string>>(`EXPLAIN (${opts}) ${c.sql}`, [
      ...c.parameters,
    ]);
    console.log(`-- EXPLAIN ${q}: ${c.sql.replace(/\s+/g, ' ').slice(0, 160)}…`);
    console.log(plan.rows.map((r) => Object.values(r)[0]).join('\n'));
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

interface Figures {
  p50: number;
  p95: number;
  max: number;
}
export function figures(ms: number[]): Figures {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: pct(s, 50), p95: pct(s, 95), max: s[s.length - 1] };
}

async function benchOne(kind: 'postgres' | 'pglite') {
  let databaseUrl: string | null = null;
  let dropDb: (() => Promise<void>) | null = null;
  let label = 'PGlite (in memory)';
  if (kind === 'postgres') {
    const dbName = `gs_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: SERVER_URL });
    try {
      await admin.connect();
    } catch (e) {
      console.log(
        `PostgreSQL at ${SERVER_URL.replace(/\/\/[^@]*@/, '//…@')} not reachable (${(e as Error).message}): SKIP`,
      );
      return null;
    }
    const version = (await admin.query('SHOW server_version')).rows[0].server_version;
    await admin.query(`CREATE DATABASE "${dbName}"`);
    await admin.end();
    dropDb = async () => {
      const a = new pg.Client({ connectionString: SERVER_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await a.end();
    };
    const u = new URL(SERVER_URL);
    u.pathname = `/${dbName}`;
    databaseUrl = u.toString();
    label = `PostgreSQL ${version} (database ${dbName})`;
  }
  const ctx = await openContext({ ...loadConfig({}), databaseUrl, dataDir: 'memory://', dbPoolSize: 5 });
  try {
    console.log(`\n== ${label}: ${ROWS.toLocaleString('en')} catalog entries ==`);
    const { ids, names } = await seedOrgs(ctx);
    let t = performance.now();
    const rows = generate(ROWS, ids, names);
    const segMs = performance.now() - t;
    t = performance.now();
    await insertRows(ctx, rows);
    console.log(
      `generated + segmented with jieba in ${(segMs / 1000).toFixed(1)} s, inserted with documents and ANALYZE in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    // a department officer of 人社局: sees city- and department-level entries plus its own section-level ones
    const actor: Actor = {
      id: 0,
      username: 'bench',
      displayName: 'bench',
      orgId: ids[1],
      orgKind: 'department',
      sectionId: null,
      roles: ['data_officer'],
      clientIp: null,
    };
    const search = (q: string) => listResources(ctx, actor, { q, page: 1, pageSize: 20 });
    const ilike = (q: string) =>
      sql<{
        id: number;
        total: number;
      }>`SELECT id, name, summary, count(*) OVER ()::int AS total FROM resource
        WHERE status = 'published' AND (catalog_level <> 'section' OR provider_org_id = ${actor.orgId})
          AND (name ILIKE ${`%${q}%`} OR summary ILIKE ${`%${q}%`})
        ORDER BY id LIMIT 20`.execute(ctx.db);
    // warm-up: one of each
    for (const q of QUERIES) {
      await search(q);
      await ilike(q);
    }
    const sMs: number[] = [];
    const iMs: number[] = [];
    const perQuery: { q: string; hits: number; ilikeHits: number; search: number; ilike: number }[] = [];
    for (const q of QUERIES) {
      const s: number[] = [];
      const l: number[] = [];
      let hits = 0;
      let ilikeHits = 0;
      for (let k = 0; k < REPEAT; k++) {
        let t0 = performance.now();
        const r = await search(q);
        s.push(performance.now() - t0);
        hits = r.total;
        t0 = performance.now();
        const li = await ilike(q);
        l.push(performance.now() - t0);
        ilikeHits = li.rows[0]?.total ?? 0;
      }
      sMs.push(...s);
      iMs.push(...l);
      perQuery.push({ q, hits, ilikeHits, search: figures(s).p50, ilike: figures(l).p50 });
    }
    if (EXPLAIN_QUERY) await explainSearch(ctx, actor, EXPLAIN_QUERY);
    console.log('query            hits (search / ILIKE)   p50 search   p50 ILIKE');
    for (const p of perQuery)
      console.log(
        `${p.q.padEnd(10, '\u3000')} ${String(p.hits).padStart(8)} / ${String(p.ilikeHits).padEnd(8)}   ${p.search.toFixed(1).padStart(7)} ms   ${p.ilike.toFixed(1).padStart(7)} ms`,
      );
    const fs = figures(sMs);
    const fi = figures(iMs);
    console.log(
      `search (jieba + GIN, total + 8 facets + highlights): p50 ${fs.p50.toFixed(1)} ms, p95 ${fs.p95.toFixed(1)} ms, max ${fs.max.toFixed(1)} ms`,
    );
    console.log(
      `plain ILIKE scan (first page + total):             p50 ${fi.p50.toFixed(1)} ms, p95 ${fi.p95.toFixed(1)} ms, max ${fi.max.toFixed(1)} ms`,
    );
    console.log(
      `ratio ILIKE/search: p50 ${(fi.p50 / fs.p50).toFixed(1)}×, p95 ${(fi.p95 / fs.p95).toFixed(1)}×${
        kind === 'postgres'
          ? `; target search p95 < ${TARGET_P95_MS} ms: ${fs.p95 < TARGET_P95_MS ? 'MET' : 'MISSED'}`
          : ''
      }`,
    );
    return { kind, search: fs, ilike: fi };
  } finally {
    await closeContext(ctx);
    if (env.BENCH_KEEP_DATABASE === '1' && databaseUrl) console.log(`kept ${databaseUrl}`);
    else await dropDb?.();
  }
}

async function main() {
  console.log(`catalog search bench: ${ROWS} entries, ${QUERIES.length} queries × ${REPEAT} runs per method`);
  for (const kind of DATABASES) {
    if (kind === 'postgres' || kind === 'pglite') await benchOne(kind);
  }
}

if (process.argv[1]?.endsWith('catalog-search.ts')) await main();
