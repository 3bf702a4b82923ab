import { creditCodeCheckChar, orgCodeCheckChar } from '../ingest/checksums.js';
import { createRng, type Rng } from './random.js';
import type { DemoApp, DemoJurisdiction, DemoOrg, DemoRole, DemoUser } from './types.js';

/** Every demo user signs in with this; published with the demo, so it protects nothing real. */
export const DEMO_PASSWORD = 'Demo@2026';

export const PROVINCE_CODE = '440000';
// 4460xx is not assigned in GB/T 2260, so no demo code can be mistaken for a real place.
export const CITY_CODE = '446000';
export const CITY_NAME = '临江市';

export interface DemoTown {
  code: string;
  name: string;
  /** 街道 (urban street office) or 镇/乡; addresses differ: road numbers versus villages. */
  urban: boolean;
}

export interface DemoCounty {
  code: string;
  name: string;
  /** Share of the population registered here. */
  weight: number;
  towns: DemoTown[];
}

// Town codes follow GB/T 10114: 001–099 street offices, 100–199 towns, 200–399 townships.
export const COUNTIES: readonly DemoCounty[] = [
  {
    code: '446002',
    name: '江城区',
    weight: 35,
    towns: [
      { code: '446002001', name: '滨江街道', urban: true },
      { code: '446002002', name: '中山街道', urban: true },
      { code: '446002003', name: '河东街道', urban: true },
    ],
  },
  {
    code: '446003',
    name: '东湖区',
    weight: 28,
    towns: [
      { code: '446003001', name: '东湖街道', urban: true },
      { code: '446003002', name: '湖景街道', urban: true },
      { code: '446003100', name: '白石镇', urban: false },
    ],
  },
  {
    code: '446021',
    name: '青山县',
    weight: 15,
    towns: [
      { code: '446021100', name: '青山镇', urban: false },
      { code: '446021101', name: '龙潭镇', urban: false },
      { code: '446021200', name: '云岭瑶族乡', urban: false },
    ],
  },
  {
    code: '446081',
    name: '临海市',
    weight: 22,
    towns: [
      { code: '446081001', name: '海门街道', urban: true },
      { code: '446081100', name: '沙港镇', urban: false },
      { code: '446081101', name: '渔湾镇', urban: false },
    ],
  },
];

export function buildJurisdictions(): DemoJurisdiction[] {
  const out: DemoJurisdiction[] = [
    { code: PROVINCE_CODE, name: '广东省', level: 'province', parentCode: null },
    { code: CITY_CODE, name: CITY_NAME, level: 'city', parentCode: PROVINCE_CODE },
  ];
  for (const county of COUNTIES) {
    out.push({ code: county.code, name: county.name, level: 'county', parentCode: CITY_CODE });
    for (const town of county.towns) {
      out.push({ code: town.code, name: town.name, level: 'town', parentCode: county.code });
    }
  }
  return out;
}

interface OrgSpec {
  code: string;
  name: string;
  shortName: string;
  kind: DemoOrg['kind'];
  sections: string[];
  /** GB/T 2260 code of the jurisdiction the org belongs to; the city when unset */
  jurisdictionCode?: string;
}

export const AUTHORITY_CODE = 'LJ-SJJ';

const ORG_SPECS: readonly OrgSpec[] = [
  {
    code: AUTHORITY_CODE,
    name: '临江市政务服务数据管理局',
    shortName: '市政数局',
    kind: 'authority',
    sections: ['数据资源科', '数据安全科', '政务服务科'],
  },
  {
    code: 'LJ-GAJ',
    name: '临江市公安局',
    shortName: '市公安局',
    kind: 'department',
    sections: ['人口管理科', '治安管理科', '科技信息化科'],
  },
  {
    code: 'LJ-SCJGJ',
    name: '临江市市场监督管理局',
    shortName: '市市场监管局',
    kind: 'department',
    sections: ['登记注册科', '信用监督管理科', '执法稽查科'],
  },
  {
    code: 'LJ-RSJ',
    name: '临江市人力资源和社会保障局',
    shortName: '市人社局',
    kind: 'department',
    sections: ['就业促进科', '社会保险科', '劳动关系科'],
  },
  {
    code: 'LJ-WJJ',
    name: '临江市卫生健康局',
    shortName: '市卫健局',
    kind: 'department',
    sections: ['妇幼健康科', '医政医管科', '疾病预防控制科'],
  },
  {
    code: 'LJ-ZRZYJ',
    name: '临江市自然资源局',
    shortName: '市自然资源局',
    kind: 'department',
    sections: ['不动产登记科', '国土空间规划科', '测绘地理信息科'],
  },
  {
    code: 'LJ-MZJ',
    name: '临江市民政局',
    shortName: '市民政局',
    kind: 'department',
    sections: ['社会救助科', '婚姻登记管理科', '养老服务科'],
  },
  {
    code: 'LJ-JYJ',
    name: '临江市教育局',
    shortName: '市教育局',
    kind: 'department',
    sections: ['基础教育科', '学生资助管理科'],
  },
  {
    code: 'LJ-SWJ',
    name: '国家税务总局临江市税务局',
    shortName: '市税务局',
    kind: 'department',
    sections: ['纳税服务科', '征收管理科', '社会保险费科'],
  },
  {
    code: 'LJ-ZJJ',
    name: '临江市住房和城乡建设局',
    shortName: '市住建局',
    kind: 'department',
    sections: ['建筑市场监管科', '房地产市场监管科'],
  },
  {
    code: 'LJ-JTJ',
    name: '临江市交通运输局',
    shortName: '市交通运输局',
    kind: 'department',
    sections: ['运输管理科', '公路建设科'],
  },
  {
    code: 'LJ-STHJJ',
    name: '临江市生态环境局',
    shortName: '市生态环境局',
    kind: 'department',
    sections: ['环评与排污许可科', '环境监测科', '执法监督科'],
  },
  {
    code: 'LJ-CZJ',
    name: '临江市财政局',
    shortName: '市财政局',
    kind: 'department',
    sections: ['预算科', '国库科'],
  },
  {
    code: 'LJ-SFJ',
    name: '临江市司法局',
    shortName: '市司法局',
    kind: 'department',
    sections: ['社区矫正科', '公共法律服务科'],
  },
  {
    code: 'LJ-YBJ',
    name: '临江市医疗保障局',
    shortName: '市医保局',
    kind: 'department',
    sections: ['待遇保障科', '基金监管科'],
  },
  {
    code: 'LJ-YJJ',
    name: '临江市应急管理局',
    shortName: '市应急管理局',
    kind: 'department',
    sections: ['危险化学品安全监督管理科', '风险监测和综合减灾科'],
  },
  {
    code: 'LJ-NYNCJ',
    name: '临江市农业农村局',
    shortName: '市农业农村局',
    kind: 'department',
    sections: ['农村经营管理科', '种植业管理科'],
  },
  {
    code: 'LJ-TJJ',
    name: '临江市统计局',
    shortName: '市统计局',
    kind: 'department',
    sections: ['综合科', '普查中心', '数据管理科'],
  },
  // Two counties of the city, each with its own data authority and departments (issue 8 point 9): a county department
  // requests city data through its own county authority first (XT Art 26, GD Art 15).
  {
    code: 'JC-SJJ',
    name: '临江市江城区政务服务数据管理局',
    shortName: '江城区政数局',
    kind: 'authority',
    sections: ['数据资源股', '政务服务股'],
    jurisdictionCode: '446002',
  },
  {
    code: 'JC-MZJ',
    name: '临江市江城区民政局',
    shortName: '江城区民政局',
    kind: 'department',
    sections: ['社会救助股', '养老服务股'],
    jurisdictionCode: '446002',
  },
  {
    code: 'QS-SJJ',
    name: '青山县政务服务数据管理局',
    shortName: '青山县政数局',
    kind: 'authority',
    sections: ['数据资源股', '政务服务股'],
    jurisdictionCode: '446021',
  },
  {
    code: 'QS-RSJ',
    name: '青山县人力资源和社会保障局',
    shortName: '青山县人社局',
    kind: 'department',
    sections: ['就业促进股', '社会保险股'],
    jurisdictionCode: '446021',
  },
  {
    code: 'LJ-GS',
    name: '临江市供水有限公司',
    shortName: '市供水公司',
    kind: 'enterprise',
    sections: ['客户服务部', '信息中心'],
  },
  {
    code: 'LJ-GDJ',
    name: '广东电网有限责任公司临江供电局',
    shortName: '临江供电局',
    kind: 'enterprise',
    sections: ['市场营销部', '数字化部'],
  },
];

function governmentOrgCode(rng: Rng): string {
  const body = `00${String(rng.between(100000, 999999))}`;
  return body + orgCodeCheckChar(body);
}

/**
 * GB 32100-2015 layout: registration authority + organisation type + GB/T 2260 region + organisation
 * code + check. Organs are registered by the 机构编制 authority ('1') as 机关 ('1'); the utilities are
 * companies registered with market regulation ('9') as 企业 ('1').
 */
export function buildOrgs(seed: number, usedCreditCodes: Set<string>): DemoOrg[] {
  const rng = createRng(seed, 'orgs');
  return ORG_SPECS.map((spec) => {
    let creditCode: string;
    do {
      const body =
        (spec.kind === 'enterprise' ? '91' : '11') +
        (spec.jurisdictionCode ?? CITY_CODE) +
        governmentOrgCode(rng);
      creditCode = body + creditCodeCheckChar(body);
    } while (usedCreditCodes.has(creditCode));
    usedCreditCodes.add(creditCode);
    return {
      code: spec.code,
      name: spec.name,
      shortName: spec.shortName,
      kind: spec.kind,
      jurisdictionCode: spec.jurisdictionCode ?? CITY_CODE,
      creditCode,
      sections: spec.sections.map((name, i) => ({
        code: `${spec.code}-${String(i + 1).padStart(2, '0')}`,
        name,
      })),
    };
  });
}

/** Section code of `orgCode` by its Chinese name; throws so a typo in the tables fails the tests. */
export function sectionCode(orgs: readonly DemoOrg[], orgCode: string, sectionName: string): string {
  const org = orgs.find((o) => o.code === orgCode);
  const section = org?.sections.find((s) => s.name === sectionName);
  if (!section) throw new Error(`Demo data: no section ${sectionName} in ${orgCode}`);
  return section.code;
}

type UserSpec = [
  username: string,
  displayName: string,
  orgCode: string,
  section: string | null,
  roles: DemoRole[],
];

// Separated admin, reviewer and auditor roles: GB/T 39477-2020.
const USER_SPECS: readonly UserSpec[] = [
  ['admin', '周建国', AUTHORITY_CODE, '数据资源科', ['platform_admin']],
  ['reviewer', '林晓燕', AUTHORITY_CODE, '数据资源科', ['authority_reviewer']],
  ['auditor', '郑文斌', AUTHORITY_CODE, '数据安全科', ['auditor']],
  ['gaj_officer', '陈志强', 'LJ-GAJ', '科技信息化科', ['data_officer']],
  ['gaj_head', '黄伟明', 'LJ-GAJ', '人口管理科', ['section_head']],
  ['gaj_staff', '李俊杰', 'LJ-GAJ', '治安管理科', ['consumer_staff']],
  ['scj_officer', '梁嘉欣', 'LJ-SCJGJ', '信用监督管理科', ['data_officer']],
  ['scj_staff', '何家豪', 'LJ-SCJGJ', '执法稽查科', ['consumer_staff']],
  ['rsj_officer', '吴丽娟', 'LJ-RSJ', '社会保险科', ['data_officer']],
  ['rsj_staff', '张晓峰', 'LJ-RSJ', '就业促进科', ['consumer_staff']],
  ['wjj_officer', '刘敏', 'LJ-WJJ', '妇幼健康科', ['data_officer']],
  ['wjj_staff', '杨婷婷', 'LJ-WJJ', '妇幼健康科', ['consumer_staff']],
  ['mzj_officer', '罗志勇', 'LJ-MZJ', '社会救助科', ['data_officer']],
  ['mzj_staff', '谢雪梅', 'LJ-MZJ', '社会救助科', ['consumer_staff']],
  ['jyj_officer', '叶文静', 'LJ-JYJ', '基础教育科', ['data_officer']],
  ['jyj_staff', '钟浩然', 'LJ-JYJ', '基础教育科', ['consumer_staff']],
  ['zrj_officer', '曾国华', 'LJ-ZRZYJ', '不动产登记科', ['data_officer']],
  ['swj_officer', '邓慧玲', 'LJ-SWJ', '纳税服务科', ['data_officer']],
  ['zjj_officer', '朱建华', 'LJ-ZJJ', '建筑市场监管科', ['data_officer']],
  ['jtj_officer', '许海涛', 'LJ-JTJ', '运输管理科', ['data_officer']],
  ['sthjj_officer', '冯秀英', 'LJ-STHJJ', '环评与排污许可科', ['data_officer']],
  ['tjj_officer', '蔡明辉', 'LJ-TJJ', '数据管理科', ['data_officer']],
  ['gs_officer', '苏少珍', 'LJ-GS', '信息中心', ['data_officer']],
  ['ybj_staff', '卢振东', 'LJ-YBJ', '待遇保障科', ['consumer_staff']],
  // the two counties: each authority's reviewer, and a department's data officer
  ['jc_reviewer', '彭志华', 'JC-SJJ', '数据资源股', ['authority_reviewer']],
  ['jc_mzj_officer', '邱美玲', 'JC-MZJ', '社会救助股', ['data_officer']],
  ['qs_reviewer', '潘永康', 'QS-SJJ', '数据资源股', ['authority_reviewer']],
  ['qs_rsj_officer', '龙淑芬', 'QS-RSJ', '就业促进股', ['data_officer']],
];

export function buildUsers(orgs: readonly DemoOrg[]): DemoUser[] {
  return USER_SPECS.map(([username, displayName, orgCode, section, roles]) => ({
    username,
    displayName,
    orgCode,
    sectionCode: section === null ? null : sectionCode(orgs, orgCode, section),
    roles,
    password: DEMO_PASSWORD,
  }));
}

export function buildApps(): DemoApp[] {
  return [
    {
      name: '就业服务系统',
      orgCode: 'LJ-RSJ',
      description: '办理就业登记、失业登记和就业补贴，核验申请人户籍与参保状态',
    },
    {
      name: '社会救助审核系统',
      orgCode: 'LJ-MZJ',
      description: '最低生活保障、特困供养审核确认，比对家庭成员户籍、不动产和工商登记',
    },
    {
      name: '出生一件事联办系统',
      orgCode: 'LJ-WJJ',
      description: '出生医学证明、户口登记、医保参保和社保卡申领一次办理',
    },
    {
      name: '治安管理系统',
      orgCode: 'LJ-GAJ',
      description: '治安管理与重点场所核查，查询企业登记及从业人员信息',
    },
    {
      name: '义务教育招生入学系统',
      orgCode: 'LJ-JYJ',
      description: '核验适龄儿童户籍、监护人不动产和社保信息，办理小学和初中入学',
    },
    {
      name: '江城区低保审核系统',
      orgCode: 'JC-MZJ',
      description: '江城区最低生活保障申请家庭经济状况核对，核验户籍和用水欠费情况',
    },
    {
      name: '医保参保核验服务',
      orgCode: 'LJ-YBJ',
      description: '城乡居民医保参保登记时核验户籍、低保和特困身份，落实资助参保',
    },
  ];
}
