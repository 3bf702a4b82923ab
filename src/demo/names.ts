// Word lists for plausible, fictional Chinese names and addresses. Surname weights lean towards
// the Pearl River Delta, where 陈, 李 and 黄 lead, so screenshots look like a Guangdong city.

export const SURNAMES: readonly (readonly [string, number])[] = [
  ['陈', 100],
  ['李', 62],
  ['黄', 60],
  ['张', 45],
  ['梁', 36],
  ['林', 35],
  ['刘', 35],
  ['吴', 30],
  ['王', 25],
  ['罗', 25],
  ['杨', 25],
  ['周', 20],
  ['郑', 20],
  ['何', 20],
  ['叶', 18],
  ['谢', 18],
  ['钟', 16],
  ['曾', 15],
  ['邓', 15],
  ['朱', 13],
  ['许', 12],
  ['冯', 12],
  ['蔡', 11],
  ['苏', 10],
  ['卢', 10],
  ['潘', 10],
  ['彭', 9],
  ['赖', 9],
  ['胡', 9],
  ['郭', 9],
  ['谭', 9],
  ['廖', 8],
  ['徐', 8],
  ['余', 8],
  ['邱', 7],
  ['马', 7],
  ['黎', 6],
  ['莫', 6],
  ['方', 6],
  ['唐', 6],
  ['关', 5],
  ['麦', 5],
  ['蒋', 5],
  ['温', 5],
  ['伍', 5],
  ['江', 5],
  ['袁', 5],
  ['梅', 4],
  ['严', 4],
  ['汤', 4],
  ['姚', 4],
  ['宋', 4],
  ['邹', 4],
  ['陆', 4],
  ['韦', 4],
  ['区', 3],
  ['冼', 3],
  ['孔', 3],
  ['田', 3],
  ['欧阳', 3],
  ['丘', 2],
  ['司徒', 2],
];

// Given-name characters by birth cohort: a 1950s 建国 and a 2010s 梓轩 should not swap places.
export const GIVEN_MALE = {
  old: '国建华明军志伟德荣文强平忠生福贵海林祥光永成富东庆炳汉金耀荣锦辉基'.split(''),
  mid: '伟强俊杰斌辉军涛磊峰鹏明浩宇勇健彬超亮志文锋华龙家嘉永智坤维锦荣威'.split(''),
  young: '梓轩浩宇睿泽铭昊博子涵晨俊熙皓宸烨铠锦乐航一诺奕逸朗霖言天佑煜嘉'.split(''),
};

export const GIVEN_FEMALE = {
  old: '秀英桂兰玉珍淑华凤琼芳丽娟美金妹爱月梅霞群萍燕容彩少银珠凤莲'.split(''),
  mid: '丽娟敏静燕红霞玲婷雪慧琳萍欣怡颖佳嘉丹洁薇倩晓莹艳芳露婉琪'.split(''),
  young: '梓涵诗琪雨欣悦思彤晴妍可馨瑶萱若汐芷依一诺语桐子恩乐怡嘉柔'.split(''),
};

export const ETHNICITIES: readonly (readonly [string, number])[] = [
  ['汉族', 9700],
  ['壮族', 90],
  ['瑶族', 60],
  ['土家族', 35],
  ['苗族', 35],
  ['畲族', 20],
  ['侗族', 15],
  ['回族', 12],
  ['满族', 10],
  ['彝族', 8],
  ['布依族', 5],
  ['蒙古族', 5],
  ['朝鲜族', 3],
  ['黎族', 2],
];

export const ROADS = [
  '解放路',
  '人民路',
  '中山路',
  '建设路',
  '滨江路',
  '新华路',
  '东风路',
  '青年路',
  '文明路',
  '朝阳路',
  '环城路',
  '沿江大道',
  '湖滨路',
  '学府路',
  '金沙路',
  '龙山路',
  '桂花路',
  '育才路',
  '胜利路',
  '和平路',
  '荔枝路',
  '木棉路',
  '港湾路',
  '迎宾大道',
];

export const INDUSTRIAL_ROADS = ['工业大道', '科技路', '创业路', '兴业路', '物流大道', '港城大道'];

export const VILLAGES = [
  '东村',
  '西坑村',
  '大塘村',
  '新围村',
  '石岭村',
  '上坑村',
  '水口村',
  '河背村',
  '岭头村',
  '高田村',
  '莲塘村',
  '沙坪村',
  '禾田村',
  '竹园村',
  '龙井村',
  '松岗村',
];

export const RESIDENTIAL_ESTATES = [
  '江景花园',
  '东湖豪庭',
  '翠苑小区',
  '锦绣家园',
  '碧桂雅居',
  '海悦华庭',
  '阳光名都',
  '书香名苑',
  '滨江一号',
  '金色家园',
];

// 字号 (trade-name) characters: two of them make names like 临江市华盛科技有限公司.
export const TRADE_NAME_CHARS =
  '华盛兴达顺宏鑫源嘉信博创联力海星辉泰金瑞丰恒通宇祥润安和新佳合明远德正诚凯捷腾汇森荣俊豪卓越美晟茂康利邦航锦誉龙江湖山峰南粤中天福乐永昌广裕景成东方绿蓝云彩'.split(
    '',
  );

export type IndustryCategory =
  | 'construction'
  | 'transport'
  | 'manufacturing'
  | 'trade'
  | 'service'
  | 'agriculture';

export interface Industry {
  word: string;
  scope: string;
  category: IndustryCategory;
  /** 国民经济行业分类 GB/T 4754-2017 section, used by the statistics resource. */
  section: string;
}

export const INDUSTRIES: readonly Industry[] = [
  {
    word: '科技',
    scope: '软件开发；信息技术咨询服务；信息系统集成服务',
    category: 'service',
    section: 'I 信息传输、软件和信息技术服务业',
  },
  {
    word: '商贸',
    scope: '日用百货销售；五金产品批发；食品销售（仅销售预包装食品）',
    category: 'trade',
    section: 'F 批发和零售业',
  },
  {
    word: '建筑工程',
    scope: '建设工程施工；房屋建筑和市政基础设施项目工程总承包',
    category: 'construction',
    section: 'E 建筑业',
  },
  {
    word: '建设',
    scope: '建设工程施工；园林绿化工程施工；土石方工程施工',
    category: 'construction',
    section: 'E 建筑业',
  },
  { word: '建材', scope: '建筑材料销售；水泥制品制造', category: 'manufacturing', section: 'C 制造业' },
  { word: '食品', scope: '食品生产；食品销售；农副产品加工', category: 'manufacturing', section: 'C 制造业' },
  {
    word: '物流',
    scope: '道路货物运输（不含危险货物）；国内货物运输代理；普通货物仓储服务',
    category: 'transport',
    section: 'G 交通运输、仓储和邮政业',
  },
  {
    word: '运输',
    scope: '道路货物运输（不含危险货物）；道路旅客运输经营',
    category: 'transport',
    section: 'G 交通运输、仓储和邮政业',
  },
  { word: '电子', scope: '电子元器件制造；电子产品销售', category: 'manufacturing', section: 'C 制造业' },
  { word: '餐饮管理', scope: '餐饮服务；餐饮管理', category: 'service', section: 'H 住宿和餐饮业' },
  { word: '房地产开发', scope: '房地产开发经营；物业管理', category: 'service', section: 'K 房地产业' },
  {
    word: '化工',
    scope: '化工产品生产（不含许可类化工产品）；化工产品销售',
    category: 'manufacturing',
    section: 'C 制造业',
  },
  { word: '纺织服装', scope: '服装制造；针纺织品销售', category: 'manufacturing', section: 'C 制造业' },
  { word: '机械', scope: '通用设备制造；五金产品制造', category: 'manufacturing', section: 'C 制造业' },
  {
    word: '农业发展',
    scope: '水果种植；蔬菜种植；农产品的生产、销售、加工、运输、贮藏',
    category: 'agriculture',
    section: 'A 农、林、牧、渔业',
  },
  {
    word: '文化传媒',
    scope: '广告设计、代理；组织文化艺术交流活动',
    category: 'service',
    section: 'R 文化、体育和娱乐业',
  },
  {
    word: '教育咨询',
    scope: '教育咨询服务（不含涉许可审批的教育培训活动）',
    category: 'service',
    section: 'P 教育',
  },
  { word: '医药', scope: '药品零售；第二类医疗器械销售', category: 'trade', section: 'F 批发和零售业' },
  {
    word: '环保科技',
    scope: '污水处理及其再生利用；环境保护专用设备制造',
    category: 'manufacturing',
    section: 'C 制造业',
  },
  { word: '水产', scope: '水产养殖；水产品批发', category: 'agriculture', section: 'A 农、林、牧、渔业' },
  { word: '家具', scope: '家具制造；家具销售', category: 'manufacturing', section: 'C 制造业' },
  {
    word: '汽车服务',
    scope: '机动车修理和维护；汽车零配件零售',
    category: 'service',
    section: 'O 居民服务、修理和其他服务业',
  },
  { word: '塑料制品', scope: '塑料制品制造；塑料制品销售', category: 'manufacturing', section: 'C 制造业' },
  {
    word: '陶瓷',
    scope: '建筑陶瓷制品加工制造；卫生陶瓷制品销售',
    category: 'manufacturing',
    section: 'C 制造业',
  },
];

export const SHOP_TYPES = [
  { word: '粥粉面店', scope: '餐饮服务' },
  { word: '便利店', scope: '食品销售；日用百货销售' },
  { word: '五金店', scope: '五金产品零售' },
  { word: '水果店', scope: '新鲜水果零售' },
  { word: '理发店', scope: '理发服务' },
  { word: '汽车维修部', scope: '机动车修理和维护' },
  { word: '茶餐厅', scope: '餐饮服务' },
  { word: '士多店', scope: '食品销售；日用百货销售' },
  { word: '家电维修部', scope: '日用电器修理' },
  { word: '服装店', scope: '服装服饰零售' },
];

export const COOP_TYPES = [
  { word: '水果种植专业合作社', scope: '组织采购、供应成员所需的农业生产资料；水果种植及销售' },
  { word: '蔬菜种植专业合作社', scope: '蔬菜种植、销售；农业技术交流' },
  { word: '水产养殖专业合作社', scope: '水产养殖；水产品销售' },
  { word: '茶叶专业合作社', scope: '茶叶种植、加工、销售' },
];
