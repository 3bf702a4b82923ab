import { addYears, dayToIso, isoToDay, localDateTime, padNumber, yearOfDay } from './dates.js';
import { INDUSTRIES, type IndustryCategory } from './names.js';
import { CITY_NAME, COUNTIES, sectionCode } from './orgs.js';
import type { EntityPool, PersonPool } from './people.js';
import { homeAddress } from './people.js';
import { createRng, type Rng, sample } from './random.js';
import type { DemoField, DemoOrg, DemoResource } from './types.js';

export interface ResourceContext {
  seed: number;
  referenceDay: number;
  people: PersonPool;
  entities: EntityPool;
  orgs: readonly DemoOrg[];
}

type Meta = Omit<DemoResource, 'sectionCode' | 'fields' | 'rows' | 'format' | 'related'> & {
  section: string | null;
};

interface ResourceSpec {
  meta: Meta;
  fields: DemoField[];
  rows(ctx: ResourceContext, rng: Rng): unknown[][];
}

// ---- field presets -------------------------------------------------------------------------

const PLAIN = { required: false, isKey: false, personal: false, sensitive: false, masking: 'none' } as const;

function text(code: string, name: string, length: number, extra: Partial<DemoField> = {}): DemoField {
  return { ...PLAIN, code, name, type: 'string', length, ...extra };
}

function typed(
  code: string,
  name: string,
  type: 'integer' | 'date' | 'datetime' | 'boolean',
  extra: Partial<DemoField> = {},
): DemoField {
  return { ...PLAIN, code, name, type, ...extra };
}

function decimal(
  code: string,
  name: string,
  length: number,
  scale: number,
  extra: Partial<DemoField> = {},
): DemoField {
  return { ...PLAIN, code, name, type: 'decimal', length, scale, ...extra };
}

// GB/T 35273 lists ID numbers among sensitive personal information: masked and flagged everywhere.
function idNumber(code: string, name: string, extra: Partial<DemoField> = {}): DemoField {
  return text(code, name, 18, {
    personal: true,
    sensitive: true,
    sensitivePersonal: true,
    masking: 'idNumber',
    validator: 'idNumber',
    ...extra,
  });
}

function personName(code: string, name: string, extra: Partial<DemoField> = {}): DemoField {
  return text(code, name, 50, { personal: true, masking: 'name', ...extra });
}

// A credit code identifies an entity: flagged sensitive and masked (catalog/model VALIDATOR_IMPLIES).
function creditCode(code: string, name: string, extra: Partial<DemoField> = {}): DemoField {
  return text(code, name, 18, { validator: 'creditCode', sensitive: true, masking: 'creditCode', ...extra });
}

const KEY = { isKey: true, required: true } as const;
const REQUIRED = { required: true } as const;

// ---- pools ---------------------------------------------------------------------------------

const YEAR_DAYS = 365.2425;

/** Indices of people aged [minAge, maxAge] on the reference day (±1 day at birthdays is fine here). */
function peopleAged(ctx: ResourceContext, minAge: number, maxAge: number, male?: boolean): number[] {
  const { people, referenceDay } = ctx;
  const out: number[] = [];
  const latest = referenceDay - minAge * YEAR_DAYS;
  const earliest = referenceDay - (maxAge + 1) * YEAR_DAYS;
  for (let i = 0; i < people.count; i++) {
    const b = people.birthDay[i];
    if (b <= latest && b > earliest && (male === undefined || people.male[i] === (male ? 1 : 0))) out.push(i);
  }
  return out;
}

function activeCompanies(ctx: ResourceContext, category?: IndustryCategory): number[] {
  const { entities } = ctx;
  const out: number[] = [];
  for (let i = 0; i < entities.count; i++) {
    if (entities.active[i] !== 1 || entities.kind[i] !== 0) continue;
    if (category === undefined || INDUSTRIES[entities.industry[i]].category === category) out.push(i);
  }
  return out;
}

/** A uniformly random index of `sorted` (ascending by birthDay) born in [from, to], or −1. */
function bornBetween(
  rng: Rng,
  people: PersonPool,
  sorted: readonly number[],
  from: number,
  to: number,
): number {
  const lower = (day: number) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (people.birthDay[sorted[mid]] < day) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const a = lower(from);
  const b = lower(to + 1);
  return a < b ? sorted[a + rng.int(b - a)] : -1;
}

function sortByBirth(people: PersonPool, indices: number[]): number[] {
  return indices.sort((x, y) => people.birthDay[x] - people.birthDay[y] || x - y);
}

function dayBetween(rng: Rng, from: number, to: number): number {
  return to <= from ? from : from + rng.int(to - from + 1);
}

function money(rng: Rng, min: number, max: number, step: number): string {
  return (min + step * rng.int(Math.floor((max - min) / step) + 1)).toFixed(2);
}

// homophones and variant characters a clerk may type for the last character of a given name
const VARIANTS: Record<string, string> = {
  伟: '玮',
  芳: '方',
  娜: '那',
  敏: '民',
  静: '婧',
  丽: '莉',
  强: '锵',
  磊: '蕾',
  军: '君',
  洋: '阳',
  勇: '永',
  艳: '燕',
  杰: '洁',
  涛: '滔',
  明: '铭',
  超: '朝',
  秀: '绣',
  霞: '侠',
  平: '萍',
  刚: '钢',
};

/** The same person's name as another department typed it: the last character swapped for a homophone. */
function variantName(name: string): string {
  const chars = Array.from(name);
  const last = chars[chars.length - 1];
  chars[chars.length - 1] = VARIANTS[last] ?? (last === '华' ? '骅' : '华');
  return chars.join('');
}

function countyOf(ctx: ResourceContext, person: number) {
  return COUNTIES[ctx.people.county[person]];
}

// ---- the catalog ---------------------------------------------------------------------------

const POPULATION: ResourceSpec = {
  meta: {
    name: '人口基础信息',
    summary:
      '全市户籍人口的基础身份信息，由公安户政管理系统每日汇聚，包括公民身份号码、姓名、性别、出生日期、民族、户籍地址、联系电话、户籍所在区县和镇街及户籍登记日期。是人口基础库的权威来源，支持身份核验和按信息项授权查询。',
    providerOrgCode: 'LJ-GAJ',
    section: '人口管理科',
    classification: 'base',
    topic: '人口',
    catalogLevel: 'city',
    shareType: 'conditional',
    shareConditions:
      '仅限政务部门履行法定职责使用，需说明具体业务场景；优先采用身份核验方式，确需获取明细的按最小必要原则申请信息项',
    legalBasis: '《中华人民共和国居民身份证法》第六条、第十九条；《中华人民共和国个人信息保护法》第三十四条',
    legalBasisKind: 'law',
    shareMethod: 'api',
    openType: 'closed',
    updateCycle: 'daily',
    securityLevel: 'important',
    keywords: ['人口', '户籍', '身份证', '人口基础库'],
  },
  fields: [
    // the whole city's household register, keyed by ID number: graded core (GB/T 43697 就高从严)
    idNumber('idNumber', '公民身份号码', { ...KEY, securityLevel: 'core' }),
    personName('name', '姓名', REQUIRED),
    text('gender', '性别', 2, { ...REQUIRED, personal: true }),
    typed('birthDate', '出生日期', 'date', { ...REQUIRED, personal: true }),
    text('ethnicity', '民族', 20, { personal: true }),
    text('address', '户籍地址', 200, { personal: true, masking: 'address' }),
    text('phone', '联系电话', 11, { personal: true, masking: 'phone', validator: 'mobilePhone' }),
    text('countyCode', '户籍所在区县', 6, REQUIRED),
    text('townCode', '户籍所在镇街', 9),
    typed('registeredOn', '户籍登记日期', 'date'),
  ],
  rows: (ctx) => ctx.people.rows,
};

const LEGAL_ENTITIES: ResourceSpec = {
  meta: {
    name: '法人单位基础信息',
    summary:
      '在本市登记的企业、个体工商户和农民专业合作社的登记信息，包括统一社会信用代码、名称、市场主体类型、法定代表人、注册资本、成立日期、登记状态、住所、经营范围和所属区县，是法人单位基础库的权威来源。',
    providerOrgCode: 'LJ-SCJGJ',
    section: '登记注册科',
    classification: 'base',
    topic: '法人单位',
    catalogLevel: 'city',
    shareType: 'unconditional',
    shareConditions: null,
    legalBasis: null,
    legalBasisKind: null,
    shareMethod: 'table',
    openType: 'open',
    updateCycle: 'daily',
    securityLevel: 'general',
    keywords: ['法人', '企业', '市场主体', '统一社会信用代码', '营业执照'],
  },
  fields: [
    creditCode('creditCode', '统一社会信用代码', KEY),
    text('entityName', '单位名称', 100, REQUIRED),
    text('entityType', '市场主体类型', 20, REQUIRED),
    personName('legalRepresentative', '法定代表人'),
    decimal('registeredCapital', '注册资本（万元）', 18, 4),
    typed('establishedOn', '成立日期', 'date', REQUIRED),
    text('registrationStatus', '登记状态', 10, REQUIRED),
    text('domicile', '住所', 200),
    text('businessScope', '经营范围', 500),
    text('countyCode', '所属区县', 6, REQUIRED),
  ],
  rows: (ctx) => ctx.entities.rows,
};

const INSURANCE_TYPES = ['企业职工基本养老保险', '职工基本医疗保险', '失业保险', '工伤保险'];

const SOCIAL_INSURANCE: ResourceSpec = {
  meta: {
    name: '社会保险参保信息',
    summary:
      '本市参保人员的参保登记信息，包括险种、参保状态、参保单位、首次参保日期、缴费基数和累计缴费月数，用于就业服务、社会救助和医保资助参保等业务核验参保状态。',
    providerOrgCode: 'LJ-RSJ',
    section: '社会保险科',
    classification: 'theme',
    topic: '社会保障',
    catalogLevel: 'department',
    shareType: 'conditional',
    shareConditions: '仅限办理就业、社会救助、医保资助参保等业务时按人查询，不得批量导出或用于其他目的',
    legalBasis: '《中华人民共和国社会保险法》第八十一条',
    legalBasisKind: 'law',
    shareMethod: 'api',
    openType: 'closed',
    updateCycle: 'monthly',
    securityLevel: 'important',
    keywords: ['社保', '参保', '养老保险', '社会保险'],
  },
  fields: [
    idNumber('idNumber', '公民身份号码', KEY),
    personName('name', '姓名', REQUIRED),
    text('insuranceType', '险种', 30, REQUIRED),
    text('insuredStatus', '参保状态', 10, REQUIRED),
    creditCode('employerCreditCode', '参保单位统一社会信用代码'),
    text('employerName', '参保单位名称', 100),
    typed('firstInsuredOn', '首次参保日期', 'date'),
    decimal('contributionBase', '缴费基数（元）', 12, 2, { personal: true, sensitive: true }),
    typed('contributionMonths', '累计缴费月数', 'integer', { personal: true }),
  ],
  rows: (ctx, rng) => {
    const { people, entities, referenceDay } = ctx;
    const employers = activeCompanies(ctx);
    const earliest = isoToDay('1995-01-01');
    return sample(rng, peopleAged(ctx, 18, 64), 500).map((p, k) => {
      const adultDay = addYears(people.birthDay[p], 18);
      const employee = employers.length > 0 && rng.chance(0.8);
      const e = employee ? rng.pick(employers) : -1;
      const from = Math.max(adultDay, earliest, employee ? entities.established[e] : earliest);
      const first = dayBetween(rng, Math.min(from, referenceDay), referenceDay);
      const months = Math.max(1, Math.floor((referenceDay - first) / 30.44) - rng.int(12));
      return [
        people.idNumber[p],
        // a few insured persons registered under a differently written name (the population library's conflicts)
        k % 60 === 17 ? variantName(people.name[p]) : people.name[p],
        employee ? rng.pick(INSURANCE_TYPES) : '城乡居民基本养老保险',
        rng.chance(0.9) ? '正常参保' : rng.chance(0.6) ? '暂停缴费' : '终止参保',
        employee ? entities.creditCode[e] : null,
        employee ? entities.name[e] : null,
        dayToIso(first),
        employee ? money(rng, 4600, 24000, 100) : money(rng, 180, 3600, 60),
        months,
      ];
    });
  },
};

const MARRIAGE: ResourceSpec = {
  meta: {
    name: '婚姻登记信息',
    summary:
      '本市婚姻登记机关办理的结婚登记和离婚登记记录，包括证件字号、业务类型、双方身份信息、登记日期和登记机关，用于户籍、不动产和社会救助等业务核实婚姻状况。',
    providerOrgCode: 'LJ-MZJ',
    section: '婚姻登记管理科',
    classification: 'department',
    topic: '民政',
    catalogLevel: 'department',
    shareType: 'conditional',
    shareConditions: '仅限办理户籍、不动产登记、住房公积金和社会救助等需核实婚姻状况的事项，优先采用核验方式',
    legalBasis: '《中华人民共和国个人信息保护法》第三十四条；《婚姻登记条例》',
    legalBasisKind: 'law',
    shareMethod: 'api',
    openType: 'closed',
    updateCycle: 'daily',
    securityLevel: 'important',
    keywords: ['婚姻', '结婚登记', '离婚登记', '婚姻状况'],
  },
  fields: [
    text('certificateNo', '结婚证（离婚证）字号', 30, KEY),
    text('businessType', '业务类型', 10, REQUIRED),
    idNumber('maleIdNumber', '男方公民身份号码', REQUIRED),
    personName('maleName', '男方姓名', REQUIRED),
    idNumber('femaleIdNumber', '女方公民身份号码', REQUIRED),
    personName('femaleName', '女方姓名', REQUIRED),
    typed('registeredOn', '登记日期', 'date', REQUIRED),
    text('registrationOffice', '登记机关', 50, REQUIRED),
  ],
  rows: (ctx, rng) => {
    const { people, referenceDay } = ctx;
    // Pairing the two sorted samples gives couples of similar age, as most are.
    const men = sortByBirth(people, sample(rng, peopleAged(ctx, 23, 65, true), 300));
    const women = sortByBirth(people, sample(rng, peopleAged(ctx, 21, 63, false), men.length));
    const earliest = isoToDay('2004-01-01');
    const serials = new Map<string, number>();
    const rows: unknown[][] = [];
    for (let k = 0; k < Math.min(men.length, women.length); k++) {
      const m = men[k];
      const w = women[k];
      // 民法典 Art 1047: men marry at 22 or older, women at 20 or older.
      const from = Math.max(addYears(people.birthDay[m], 22), addYears(people.birthDay[w], 20), earliest);
      if (from > referenceDay) continue;
      // Most couples register before 40; older pairs are remarriages, any time after the lower bound.
      const usual = Math.min(referenceDay, addYears(people.birthDay[m], 40));
      const day = dayBetween(rng, from, usual >= from ? usual : referenceDay);
      const divorce = rng.chance(0.12);
      const county = countyOf(ctx, m);
      const year = yearOfDay(day);
      const serialKey = `${divorce ? 'L' : 'J'}${county.code}-${year}`;
      const serial = (serials.get(serialKey) ?? rng.between(100, 900)) + 1;
      serials.set(serialKey, serial);
      rows.push([
        `${serialKey}-${padNumber(serial, 6)}`,
        divorce ? '离婚登记' : '结婚登记',
        people.idNumber[m],
        people.name[m],
        people.idNumber[w],
        people.name[w],
        dayToIso(day),
        `${CITY_NAME}${county.name}民政局`,
      ]);
    }
    return rows;
  },
};

const HOSPITALS: Record<string, string[]> = {
  '446002': ['临江市人民医院', '临江市妇幼保健院', '临江市江城区人民医院'],
  '446003': ['临江市第二人民医院', '临江市东湖区妇幼保健院'],
  '446021': ['青山县人民医院', '青山县妇幼保健院'],
  '446081': ['临海市人民医院', '临海市妇幼保健院'],
};

const BIRTH_CERTIFICATES: ResourceSpec = {
  meta: {
    name: '出生医学证明信息',
    summary:
      '本市助产机构签发的出生医学证明信息，包括新生儿姓名、性别、出生时间、出生地点和父母身份信息，支撑“出生一件事”联办中的户口登记、医保参保和社保卡申领。',
    providerOrgCode: 'LJ-WJJ',
    section: '妇幼健康科',
    classification: 'theme',
    topic: '医疗健康',
    catalogLevel: 'department',
    shareType: 'conditional',
    shareConditions: '仅限办理出生登记、医保参保、社保卡申领等“出生一件事”联办事项使用',
    legalBasis: '《中华人民共和国母婴保健法》第三十四条；《中华人民共和国个人信息保护法》第二十八条',
    legalBasisKind: 'law',
    shareMethod: 'api',
    openType: 'closed',
    updateCycle: 'daily',
    securityLevel: 'important',
    keywords: ['出生医学证明', '出生一件事', '新生儿', '妇幼'],
  },
  fields: [
    text('certificateNo', '出生医学证明编号', 10, KEY),
    personName('babyName', '新生儿姓名', REQUIRED),
    text('babyGender', '新生儿性别', 2, { ...REQUIRED, personal: true }),
    typed('birthTime', '出生时间', 'datetime', { ...REQUIRED, personal: true }),
    text('birthPlace', '出生地点', 100, REQUIRED),
    idNumber('motherIdNumber', '母亲公民身份号码', REQUIRED),
    personName('motherName', '母亲姓名', REQUIRED),
    idNumber('fatherIdNumber', '父亲公民身份号码'),
    personName('fatherName', '父亲姓名'),
    typed('issuedOn', '签发日期', 'date', REQUIRED),
  ],
  rows: (ctx, rng) => {
    const { people, referenceDay } = ctx;
    const women = sortByBirth(people, peopleAged(ctx, 20, 50, false));
    const menBySurname = new Map<string, number[]>();
    for (const p of peopleAged(ctx, 22, 60, true)) {
      const list = menBySurname.get(people.surname[p]);
      if (list) list.push(p);
      else menBySurname.set(people.surname[p], [p]);
    }
    for (const list of menBySurname.values()) sortByBirth(people, list);
    const babies = sample(rng, peopleAged(ctx, 0, 2), 200).sort(
      (a, b) => people.birthDay[a] - people.birthDay[b],
    );
    let serial = rng.between(100000, 400000);
    const rows: unknown[][] = [];
    for (const baby of babies) {
      const born = people.birthDay[baby];
      const mother = bornBetween(rng, people, women, addYears(born, -42), addYears(born, -20));
      if (mother < 0) continue;
      // The child carries the father's surname; without a match the father is left unregistered.
      const fathers = menBySurname.get(people.surname[baby]) ?? [];
      const father = bornBetween(rng, people, fathers, addYears(born, -50), addYears(born, -22));
      serial += rng.between(1, 40);
      rows.push([
        `${'PQRSTUVWXY'[yearOfDay(born) % 10]}446${padNumber(serial, 6)}`,
        people.name[baby],
        people.male[baby] ? '男' : '女',
        localDateTime(born, rng.int(86400)),
        rng.pick(HOSPITALS[countyOf(ctx, baby).code]),
        people.idNumber[mother],
        people.name[mother],
        father < 0 ? null : people.idNumber[father],
        father < 0 ? null : people.name[father],
        dayToIso(Math.min(born + rng.between(0, 3), referenceDay)),
      ]);
    }
    return rows;
  },
};

const REAL_ESTATE: ResourceSpec = {
  meta: {
    name: '不动产登记信息',
    summary:
      '本市不动产统一登记后的房屋所有权登记信息，包括不动产权证号、不动产单元号、权利人、坐落、用途、建筑面积、权利性质和登记日期，用于社会救助家庭经济状况核对、入学资格审核等。',
    providerOrgCode: 'LJ-ZRZYJ',
    section: '不动产登记科',
    classification: 'base',
    topic: '自然资源和空间地理',
    catalogLevel: 'department',
    shareType: 'conditional',
    shareConditions: '仅限办理不动产相关政务服务、社会救助家庭经济状况核对和依法调查使用，查询须说明目的',
    legalBasis: '《不动产登记暂行条例》第二十七条、第二十八条',
    legalBasisKind: 'adminRegulation',
    shareMethod: 'api',
    openType: 'closed',
    updateCycle: 'daily',
    securityLevel: 'important',
    keywords: ['不动产', '房产', '产权', '不动产登记'],
  },
  fields: [
    text('certificateNo', '不动产权证号', 40, KEY),
    text('unitNo', '不动产单元号', 28, REQUIRED),
    personName('ownerName', '权利人', REQUIRED),
    idNumber('ownerIdNumber', '权利人证件号码', REQUIRED),
    text('location', '坐落', 200, { ...REQUIRED, masking: 'address' }),
    text('usage', '用途', 20, REQUIRED),
    decimal('floorArea', '建筑面积（平方米）', 12, 2, REQUIRED),
    text('rightNature', '权利性质', 20),
    typed('registeredOn', '登记日期', 'date', REQUIRED),
  ],
  rows: (ctx, rng) => {
    const { people, referenceDay } = ctx;
    const firstDay = isoToDay('2016-01-01');
    const serials = new Map<string, number>();
    const rows: unknown[][] = [];
    for (const p of sample(rng, peopleAged(ctx, 22, 85), 400)) {
      const county = countyOf(ctx, p);
      const town = county.towns[people.town[p]];
      const day = dayBetween(rng, Math.max(firstDay, addYears(people.birthDay[p], 18)), referenceDay);
      const year = yearOfDay(day);
      // Districts are served by the city registry; the county and county-level city issue their own.
      const registry = county.code === '446021' || county.code === '446081' ? county.name : CITY_NAME;
      const serialKey = `${registry}${year}`;
      const serial = (serials.get(serialKey) ?? rng.between(1000, 30000)) + rng.between(1, 25);
      serials.set(serialKey, serial);
      const residential = rng.chance(0.86);
      rows.push([
        `粤（${year}）${registry}不动产权第${padNumber(serial, 7)}号`,
        `${county.code}${padNumber(rng.between(1, 12), 3)}${padNumber(rng.between(1, 20), 3)}GB${padNumber(rng.between(1, 99999), 5)}F${padNumber(rng.between(1, 9999), 4)}${padNumber(rng.between(101, 3208), 4)}`,
        people.name[p],
        people.idNumber[p],
        homeAddress(rng, county, town),
        residential ? '住宅' : '商业服务',
        residential ? money(rng, 45, 180, 0.01) : money(rng, 20, 300, 0.01),
        residential ? (rng.chance(0.8) ? '市场化商品房' : '自建房') : '出让',
        dayToIso(day),
      ]);
    }
    return rows;
  },
};

const TAX_CREDIT: ResourceSpec = {
  meta: {
    name: '纳税信用等级评价结果',
    summary:
      '本市企业纳税人年度纳税信用等级评价结果（A、B、M、C、D 级），用于信用分级分类监管、评优评先和招投标信用审查。',
    providerOrgCode: 'LJ-SWJ',
    section: '纳税服务科',
    classification: 'theme',
    topic: '社会信用',
    catalogLevel: 'city',
    shareType: 'unconditional',
    shareConditions: null,
    legalBasis: null,
    legalBasisKind: null,
    shareMethod: 'table',
    openType: 'onApplication',
    updateCycle: 'yearly',
    securityLevel: 'general',
    keywords: ['纳税信用', '信用等级', 'A级纳税人', '社会信用'],
  },
  fields: [
    creditCode('creditCode', '纳税人识别号（统一社会信用代码）', KEY),
    text('taxpayerName', '纳税人名称', 100, REQUIRED),
    typed('evaluationYear', '评价年度', 'integer', REQUIRED),
    text('creditLevel', '纳税信用级别', 2, REQUIRED),
    typed('evaluatedOn', '评价日期', 'date', REQUIRED),
  ],
  rows: (ctx, rng) => {
    const { entities, referenceDay } = ctx;
    const year = yearOfDay(referenceDay) - 1;
    const yearEnd = isoToDay(`${year}-12-31`);
    const evaluatedOn = dayToIso(Math.min(isoToDay(`${year + 1}-04-25`), referenceDay));
    const candidates = activeCompanies(ctx).filter((e) => entities.established[e] <= yearEnd);
    return sample(rng, candidates, 500).map((e) => {
      // 纳税信用管理办法: taxpayers in their first evaluation year are rated M.
      const newcomer = yearOfDay(entities.established[e]) >= year;
      const r = rng.next();
      const level = newcomer ? 'M' : r < 0.25 ? 'A' : r < 0.72 ? 'B' : r < 0.88 ? 'M' : r < 0.96 ? 'C' : 'D';
      return [entities.creditCode[e], entities.name[e], year, level, evaluatedOn];
    });
  },
};

const GRADES = ['一年级', '二年级', '三年级', '四年级', '五年级', '六年级', '七年级', '八年级', '九年级'];

function schoolPrefix(county: (typeof COUNTIES)[number]): string {
  return county.name.endsWith('区') ? CITY_NAME + county.name : county.name;
}

const STUDENT_STATUS: ResourceSpec = {
  meta: {
    name: '义务教育学生学籍信息',
    summary:
      '本市义务教育阶段在校学生的学籍信息，包括全国学籍号、身份信息、就读学校、年级、入学日期和学籍状态，用于学生资助、入学资格核验和控辍保学。',
    providerOrgCode: 'LJ-JYJ',
    section: '基础教育科',
    classification: 'department',
    topic: '教育',
    catalogLevel: 'section',
    shareType: 'conditional',
    shareConditions:
      '仅限教育、民政、卫生健康部门办理学生资助、入学和健康管理事项使用；涉及不满十四周岁未成年人信息，须遵循最小必要原则',
    legalBasis:
      '《中华人民共和国个人信息保护法》第二十八条、第三十一条；《中华人民共和国未成年人保护法》第七十二条',
    legalBasisKind: 'law',
    shareMethod: 'api',
    openType: 'closed',
    updateCycle: 'quarterly',
    securityLevel: 'important',
    keywords: ['学籍', '义务教育', '学生', '控辍保学'],
  },
  fields: [
    text('studentNo', '全国学籍号', 19, KEY),
    idNumber('idNumber', '公民身份号码', REQUIRED),
    personName('name', '姓名', REQUIRED),
    text('gender', '性别', 2, { personal: true }),
    text('schoolName', '学校名称', 100, REQUIRED),
    text('grade', '年级', 10, REQUIRED),
    typed('enrolledOn', '入学日期', 'date', REQUIRED),
    text('studyStatus', '学籍状态', 10, REQUIRED),
  ],
  rows: (ctx, rng) => {
    const { people, referenceDay } = ctx;
    const refIso = dayToIso(referenceDay);
    const schoolYear = Number(refIso.slice(0, 4)) - (refIso.slice(5) < '09-01' ? 1 : 0);
    const rows: unknown[][] = [];
    for (const p of sample(rng, peopleAged(ctx, 6, 15), 400)) {
      const birth = dayToIso(people.birthDay[p]);
      // Children start school in the September after they turn six by 31 August.
      const entryYear = Number(birth.slice(0, 4)) + 6 + (birth.slice(5) > '08-31' ? 1 : 0);
      const grade = schoolYear - entryYear + 1;
      if (grade < 1 || grade > 9) continue;
      const county = countyOf(ctx, p);
      const town = county.towns[people.town[p]];
      const primary = grade <= 6;
      const school = primary
        ? `${schoolPrefix(county)}${town.name.replace(/街道|镇|瑶族乡/, '')}小学`
        : `${schoolPrefix(county)}第${'一二三'[people.town[p] % 3]}中学`;
      const r = rng.next();
      rows.push([
        `G${people.idNumber[p]}`,
        people.idNumber[p],
        people.name[p],
        people.male[p] ? '男' : '女',
        school,
        GRADES[grade - 1],
        `${primary ? entryYear : entryYear + 6}-09-01`,
        r < 0.97 ? '在读' : r < 0.99 ? '休学' : '转出',
      ]);
    }
    return rows;
  },
};

const MINIMUM_LIVING: ResourceSpec = {
  meta: {
    name: '最低生活保障对象信息',
    summary:
      '本市城乡最低生活保障和特困人员供养对象信息，包括申请人身份、所属镇街、保障类别、保障人数、月保障金额和保障状态，用于医保资助参保、教育资助和水电费减免等联动救助。',
    providerOrgCode: 'LJ-MZJ',
    section: '社会救助科',
    classification: 'theme',
    topic: '社会救助',
    catalogLevel: 'department',
    shareType: 'conditional',
    shareConditions: '仅限社会救助、医保资助参保、教育资助等部门核实救助对象身份使用，不得公开或用于其他目的',
    legalBasis:
      '《社会救助暂行办法》；《最低生活保障审核确认办法》（民发〔2021〕57号）；《中华人民共和国个人信息保护法》第三十四条',
    legalBasisKind: 'adminRegulation',
    shareMethod: 'api',
    openType: 'closed',
    updateCycle: 'monthly',
    securityLevel: 'important',
    keywords: ['低保', '特困', '社会救助', '最低生活保障'],
  },
  fields: [
    idNumber('idNumber', '申请人公民身份号码', KEY),
    personName('name', '申请人姓名', REQUIRED),
    text('townCode', '所属镇街', 9, REQUIRED),
    text('assistanceType', '保障类别', 20, { ...REQUIRED, personal: true, sensitive: true }),
    typed('householdSize', '保障人数', 'integer', REQUIRED),
    decimal('monthlyAmount', '月保障金额（元）', 10, 2, { personal: true, sensitive: true }),
    typed('approvedOn', '批准日期', 'date', REQUIRED),
    text('assistanceStatus', '保障状态', 10, REQUIRED),
  ],
  rows: (ctx, rng) => {
    const { people, referenceDay } = ctx;
    const earliest = isoToDay('2015-01-01');
    return sample(rng, peopleAged(ctx, 18, 95), 150).map((p) => {
      const county = countyOf(ctx, p);
      const town = county.towns[people.town[p]];
      const destitute = rng.chance(0.12);
      const size = destitute ? 1 : rng.between(1, 5);
      return [
        people.idNumber[p],
        people.name[p],
        town.code,
        destitute ? '特困人员供养' : town.urban ? '城市最低生活保障' : '农村最低生活保障',
        size,
        (size * rng.between(600, 1200)).toFixed(2),
        dayToIso(dayBetween(rng, Math.max(earliest, addYears(people.birthDay[p], 18)), referenceDay)),
        rng.chance(0.9) ? '在保' : '停保',
      ];
    });
  },
};

const QUALIFICATIONS = [
  '建筑工程施工总承包二级',
  '市政公用工程施工总承包二级',
  '建筑装修装饰工程专业承包二级',
  '地基基础工程专业承包二级',
  '钢结构工程专业承包二级',
  '环保工程专业承包二级',
  '施工劳务资质',
];

const CONSTRUCTION_QUALIFICATIONS: ResourceSpec = {
  meta: {
    name: '建筑业企业资质信息',
    summary:
      '本市核发的建筑业企业资质证书信息，包括证书编号、企业名称、统一社会信用代码、资质类别及等级、发证日期和有效期，供招投标、施工许可审批和社会公众查询。',
    providerOrgCode: 'LJ-ZJJ',
    section: '建筑市场监管科',
    classification: 'department',
    topic: '城乡建设',
    catalogLevel: 'department',
    shareType: 'unconditional',
    shareConditions: null,
    legalBasis: null,
    legalBasisKind: null,
    shareMethod: 'table',
    openType: 'open',
    updateCycle: 'monthly',
    securityLevel: 'general',
    keywords: ['建筑业', '资质', '施工企业', '住建'],
  },
  fields: [
    text('certificateNo', '资质证书编号', 20, KEY),
    creditCode('creditCode', '统一社会信用代码', REQUIRED),
    text('entityName', '企业名称', 100, REQUIRED),
    text('qualification', '资质类别及等级', 100, REQUIRED),
    typed('issuedOn', '发证日期', 'date', REQUIRED),
    typed('validUntil', '有效期至', 'date', REQUIRED),
    text('issuingAuthority', '发证机关', 50, REQUIRED),
  ],
  rows: (ctx, rng) => {
    const { entities, referenceDay } = ctx;
    let serial = rng.between(10000, 60000);
    return sample(rng, activeCompanies(ctx, 'construction'), 120).map((e) => {
      const issued = dayBetween(rng, Math.max(entities.established[e], referenceDay - 5 * 365), referenceDay);
      serial += rng.between(1, 30);
      return [
        `D344${padNumber(serial, 6)}`,
        entities.creditCode[e],
        entities.name[e],
        rng.pick(QUALIFICATIONS),
        dayToIso(issued),
        dayToIso(addYears(issued, 5) - 1),
        '临江市住房和城乡建设局',
      ];
    });
  },
};

const TRANSPORT_SCOPES = [
  '道路普通货物运输',
  '货物专用运输（集装箱）',
  '大型物件运输',
  '道路旅客运输（县内班车客运）',
  '道路普通货物运输；货物专用运输（冷藏保鲜设备）',
];

const ROAD_TRANSPORT: ResourceSpec = {
  meta: {
    name: '道路运输经营许可信息',
    summary:
      '本市道路运输经营许可证信息，包括许可证号、业户名称、统一社会信用代码、经营范围、车辆数和有效期，用于运输市场监管和社会公众查询。',
    providerOrgCode: 'LJ-JTJ',
    section: '运输管理科',
    classification: 'department',
    topic: '交通运输',
    catalogLevel: 'department',
    shareType: 'unconditional',
    shareConditions: null,
    legalBasis: null,
    legalBasisKind: null,
    shareMethod: 'table',
    openType: 'open',
    updateCycle: 'monthly',
    securityLevel: 'general',
    keywords: ['道路运输', '经营许可', '货运', '客运'],
  },
  fields: [
    text('licenseNo', '道路运输经营许可证号', 20, KEY),
    creditCode('creditCode', '统一社会信用代码', REQUIRED),
    text('entityName', '业户名称', 100, REQUIRED),
    text('businessScope', '经营范围', 100, REQUIRED),
    typed('vehicleCount', '车辆数', 'integer'),
    typed('validFrom', '有效期起', 'date', REQUIRED),
    typed('validUntil', '有效期至', 'date', REQUIRED),
  ],
  rows: (ctx, rng) => {
    const { entities, referenceDay } = ctx;
    const serials = new Map<string, number>();
    return sample(rng, activeCompanies(ctx, 'transport'), 150).map((e) => {
      const region = COUNTIES[entities.county[e]].code;
      const serial = (serials.get(region) ?? rng.between(1000, 5000)) + rng.between(1, 20);
      serials.set(region, serial);
      const from = dayBetween(rng, Math.max(entities.established[e], referenceDay - 6 * 365), referenceDay);
      return [
        `${region}${padNumber(serial, 6)}`,
        entities.creditCode[e],
        entities.name[e],
        rng.pick(TRANSPORT_SCOPES),
        rng.between(1, 120),
        dayToIso(from),
        dayToIso(addYears(from, 6) - 1),
      ];
    });
  },
};

const POLLUTION_INDUSTRY: Record<string, string> = {
  建材: '非金属矿物制品业',
  陶瓷: '非金属矿物制品业',
  食品: '农副食品加工业',
  电子: '计算机、通信和其他电子设备制造业',
  化工: '化学原料和化学制品制造业',
  纺织服装: '纺织服装、服饰业',
  机械: '通用设备制造业',
  环保科技: '专用设备制造业',
  家具: '家具制造业',
  塑料制品: '橡胶和塑料制品业',
};

const DISCHARGE_PERMITS: ResourceSpec = {
  meta: {
    name: '排污许可证信息',
    summary:
      '本市核发的排污许可证信息，包括许可证编号、排污单位、行业类别、管理类别、主要污染物类别、有效期和所属区县，依法向社会公开。',
    providerOrgCode: 'LJ-STHJJ',
    section: '环评与排污许可科',
    classification: 'theme',
    topic: '生态环境',
    catalogLevel: 'department',
    shareType: 'unconditional',
    shareConditions: null,
    legalBasis: null,
    legalBasisKind: null,
    shareMethod: 'table',
    openType: 'open',
    updateCycle: 'monthly',
    securityLevel: 'general',
    keywords: ['排污许可', '生态环境', '污染物', '环保'],
  },
  fields: [
    text('permitNo', '排污许可证编号', 22, KEY),
    creditCode('creditCode', '统一社会信用代码', REQUIRED),
    text('entityName', '排污单位名称', 100, REQUIRED),
    text('industryCategory', '行业类别', 50, REQUIRED),
    text('managementType', '管理类别', 10, REQUIRED),
    text('pollutantTypes', '主要污染物类别', 50),
    typed('validFrom', '有效期起', 'date', REQUIRED),
    typed('validUntil', '有效期至', 'date', REQUIRED),
    text('countyCode', '所属区县', 6, REQUIRED),
  ],
  rows: (ctx, rng) => {
    const { entities, referenceDay } = ctx;
    return sample(rng, activeCompanies(ctx, 'manufacturing'), 100).map((e) => {
      const from = dayBetween(rng, Math.max(entities.established[e], referenceDay - 5 * 365), referenceDay);
      const word = INDUSTRIES[entities.industry[e]].word;
      const key = word === '化工' || word === '陶瓷' || rng.chance(0.2);
      return [
        // The permit number is the holder's credit code plus a 3-digit serial and a type letter.
        `${entities.creditCode[e]}001${key ? 'P' : 'V'}`,
        entities.creditCode[e],
        entities.name[e],
        POLLUTION_INDUSTRY[word] ?? '其他制造业',
        key ? '重点管理' : '简化管理',
        rng.pick(['废气', '废水', '废气、废水', '废气、废水、固体废物']),
        dayToIso(from),
        dayToIso(addYears(from, 5) - 1),
        COUNTIES[entities.county[e]].code,
      ];
    });
  },
};

const VIOLATIONS = [
  ['销售不符合食品安全标准的食品', '没收违法所得；罚款'],
  ['未按规定公示年度报告', '警告'],
  ['发布虚假广告', '责令停止发布；罚款'],
  ['无证无照经营', '没收违法所得；罚款'],
  ['使用未经检定的计量器具', '责令改正；罚款'],
  ['销售超过保质期的食品', '没收违法商品；罚款'],
  ['未明码标价', '警告；罚款'],
] as const;
const NON_FOOD_VIOLATIONS = VIOLATIONS.filter(([v]) => !v.includes('食品'));

const ADMIN_PENALTIES: ResourceSpec = {
  meta: {
    name: '市场监管行政处罚信息',
    summary:
      '市市场监督管理局作出的行政处罚决定信息，包括决定书文号、当事人、违法行为类型、处罚内容、罚款金额和决定日期，按规定向社会公示，并推送信用信息共享平台。',
    providerOrgCode: 'LJ-SCJGJ',
    section: '执法稽查科',
    classification: 'theme',
    topic: '社会信用',
    catalogLevel: 'city',
    shareType: 'unconditional',
    shareConditions: null,
    legalBasis: null,
    legalBasisKind: null,
    shareMethod: 'table',
    openType: 'open',
    updateCycle: 'daily',
    securityLevel: 'general',
    keywords: ['行政处罚', '双公示', '市场监管', '信用'],
  },
  fields: [
    text('decisionNo', '行政处罚决定书文号', 50, KEY),
    text('partyName', '当事人名称', 100, REQUIRED),
    creditCode('creditCode', '统一社会信用代码', REQUIRED),
    text('violationType', '违法行为类型', 100, REQUIRED),
    text('penaltyContent', '处罚内容', 200, REQUIRED),
    decimal('fineAmount', '罚款金额（元）', 14, 2),
    typed('decidedOn', '处罚决定日期', 'date', REQUIRED),
    text('decisionAuthority', '处罚机关', 50, REQUIRED),
  ],
  rows: (ctx, rng) => {
    const { entities, referenceDay } = ctx;
    const earliest = isoToDay('2021-01-01');
    const candidates: number[] = [];
    for (let e = 0; e < entities.count; e++)
      if (entities.established[e] < referenceDay - 90) candidates.push(e);
    const picked = sample(rng, candidates, 200).map((e) => ({
      e,
      day: dayBetween(rng, Math.max(earliest, entities.established[e] + 60), referenceDay),
    }));
    // Decision numbers run in date order within a year, as a real register does.
    picked.sort((a, b) => a.day - b.day || a.e - b.e);
    const serials = new Map<number, number>();
    return picked.map(({ e, day }) => {
      const year = yearOfDay(day);
      const serial = (serials.get(year) ?? 0) + rng.between(1, 6);
      serials.set(year, serial);
      let [violation, kind] = rng.pick(VIOLATIONS);
      // A chemical plant is not fined for selling expired food: food offences only for food businesses.
      if (
        violation.includes('食品') &&
        !/食品|餐饮|餐厅|粥粉面|士多|便利/.test(entities.businessScope[e] + entities.name[e])
      ) {
        [violation, kind] = rng.pick(NON_FOOD_VIOLATIONS);
      }
      const fined = kind.includes('罚款');
      const fine = fined ? rng.pick([2000, 5000, 10000, 20000, 30000, 50000, 100000]) : 0;
      return [
        `临市监罚〔${year}〕${serial}号`,
        entities.name[e],
        entities.creditCode[e],
        violation,
        fined ? kind.replace('罚款', `罚款人民币${fine}元`) : kind,
        fined ? fine.toFixed(2) : null,
        dayToIso(day),
        '临江市市场监督管理局',
      ];
    });
  },
};

const ECONOMIC_CENSUS: ResourceSpec = {
  meta: {
    name: '第五次全国经济普查单位资料',
    summary:
      '第五次全国经济普查（标准时点 2023 年 12 月 31 日）中本市法人单位的个体调查资料，包括行业门类、从业人员期末人数和营业收入。依法仅用于统计目的，不予共享；汇总数据通过统计公报发布。',
    providerOrgCode: 'LJ-TJJ',
    section: '普查中心',
    classification: 'department',
    topic: '统计',
    catalogLevel: 'department',
    shareType: 'none',
    shareConditions:
      '统计调查对象的个体资料依法仅用于统计目的，不对外提供；汇总数据通过统计公报发布，可申请统计汇总数据',
    legalBasis:
      '《中华人民共和国统计法》第九条、第二十五条：统计调查中获得的能够识别或者推断单个统计调查对象身份的资料，任何单位和个人不得对外提供、泄露，不得用于统计以外的目的',
    legalBasisKind: 'law',
    shareMethod: 'file',
    openType: 'closed',
    updateCycle: 'irregular',
    securityLevel: 'important',
    keywords: ['经济普查', '统计', '法人单位', '营业收入'],
  },
  fields: [
    creditCode('creditCode', '统一社会信用代码', KEY),
    text('entityName', '单位详细名称', 100, REQUIRED),
    text('industrySection', '行业门类', 50, REQUIRED),
    typed('employees', '从业人员期末人数', 'integer', { sensitive: true }),
    decimal('revenue', '营业收入（千元）', 16, 1, { sensitive: true }),
    text('countyCode', '所属区县', 6, REQUIRED),
  ],
  rows: (ctx, rng) => {
    const { entities } = ctx;
    const censusDay = isoToDay('2023-12-31');
    const candidates: number[] = [];
    for (let e = 0; e < entities.count; e++) {
      if (entities.kind[e] === 0 && entities.established[e] <= censusDay) candidates.push(e);
    }
    return sample(rng, candidates, 300).map((e) => {
      const employees = Math.max(1, Math.round(Math.exp(rng.next() * 6)));
      return [
        entities.creditCode[e],
        entities.name[e],
        INDUSTRIES[entities.industry[e]].section,
        employees,
        (employees * rng.between(80, 900) + rng.int(10) / 10).toFixed(1),
        COUNTIES[entities.county[e]].code,
      ];
    });
  },
};

const WATER_ACCOUNTS: ResourceSpec = {
  meta: {
    name: '居民用水户信息',
    summary:
      '市供水公司居民用水户的开户和用水信息，包括用水户号、户名、开户人证件号码、用水地址、上月用水量和欠费状态，用于社会救助家庭经济状况核对和水费减免政策落实。',
    providerOrgCode: 'LJ-GS',
    section: '客户服务部',
    classification: 'department',
    topic: '公用事业',
    catalogLevel: 'department',
    shareType: 'conditional',
    shareConditions: '仅限社会救助家庭经济状况核对和水费减免政策落实使用',
    legalBasis: '《中华人民共和国个人信息保护法》第十三条、第二十三条',
    legalBasisKind: 'law',
    shareMethod: 'api',
    openType: 'closed',
    updateCycle: 'monthly',
    securityLevel: 'general',
    keywords: ['供水', '用水户', '水费', '公共服务'],
  },
  fields: [
    text('accountNo', '用水户号', 12, KEY),
    personName('accountName', '户名', REQUIRED),
    idNumber('idNumber', '开户人证件号码'),
    text('waterAddress', '用水地址', 200, { ...REQUIRED, personal: true, masking: 'address' }),
    decimal('monthlyUsage', '上月用水量（立方米）', 10, 2),
    typed('inArrears', '是否欠费', 'boolean', REQUIRED),
    typed('openedOn', '开户日期', 'date'),
  ],
  rows: (ctx, rng) => {
    const { people, referenceDay } = ctx;
    const earliest = isoToDay('1998-01-01');
    return sample(rng, peopleAged(ctx, 20, 90), 500)
      .sort((a, b) => a - b)
      .map((p, k) => [
        `10${padNumber(k * 37 + rng.int(37), 8)}`,
        people.name[p],
        people.idNumber[p],
        // a few accounts still carry an old address (the population library's conflicts); no draw, so the rest is unchanged
        k % 45 === 11 ? people.address[(p + 1) % people.address.length] : people.address[p],
        money(rng, 2, 40, 0.01),
        rng.chance(0.06),
        dayToIso(dayBetween(rng, Math.max(earliest, addYears(people.birthDay[p], 18)), referenceDay)),
      ]);
  },
};

const SPECS: readonly ResourceSpec[] = [
  POPULATION,
  LEGAL_ENTITIES,
  SOCIAL_INSURANCE,
  MARRIAGE,
  BIRTH_CERTIFICATES,
  REAL_ESTATE,
  TAX_CREDIT,
  STUDENT_STATUS,
  MINIMUM_LIVING,
  CONSTRUCTION_QUALIFICATIONS,
  ROAD_TRANSPORT,
  DISCHARGE_PERMITS,
  ADMIN_PENALTIES,
  ECONOMIC_CENSUS,
  WATER_ACCOUNTS,
];

/** A resource's fields graded (GB/T 43697): the key and personal/sensitive fields carry its intended level. */
function grade(meta: Meta, f: DemoField): DemoField {
  if (f.securityLevel) return { ...f };
  const carries = f.isKey || f.personal || f.sensitive;
  return {
    ...f,
    securityLevel: carries && meta.securityLevel !== 'general' ? meta.securityLevel : 'general',
  };
}

/** Related entries (1272 关联资源代码): the base libraries the others are checked against. */
const RELATED: Record<string, string[]> = {
  社会保险参保信息: ['人口基础信息'],
  最低生活保障对象信息: ['人口基础信息', '不动产登记信息'],
  不动产登记信息: ['人口基础信息'],
  纳税信用等级评价结果: ['法人单位基础信息'],
  市场监管行政处罚信息: ['法人单位基础信息'],
  建筑业企业资质信息: ['法人单位基础信息'],
};

/** Resources in SPECS order; codes are issued by the catalog when the loader registers them. */
export function buildResources(ctx: ResourceContext): DemoResource[] {
  return SPECS.map((spec) => {
    const { section, ...meta } = spec.meta;
    // Each resource draws from its own stream so adding one never changes another's rows.
    const rng = createRng(ctx.seed, `resource:${spec.meta.name}`);
    return {
      ...meta,
      sectionCode: section === null ? null : sectionCode(ctx.orgs, meta.providerOrgCode, section),
      format: 'database',
      related: RELATED[meta.name] ?? [],
      fields: spec.fields.map((f) => grade(spec.meta, f)),
      rows: { columns: spec.fields.map((f) => f.code), values: spec.rows(ctx, rng) },
    };
  });
}
