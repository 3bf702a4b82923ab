import { type Profile, wd } from './model.js';

export const xingtai2024: Profile = {
  id: 'xingtai-2024',
  nameZh: '邢台市（2024 征求意见稿）',
  nameEn: 'Xingtai 2024 (draft)',
  regulation: {
    titleZh: '邢台市公共数据管理办法（征求意见稿）',
    // The draft's commencement date is left blank (XT Art 46 "2024年*月*日").
    issued: '2024',
    file: '001_069c07195e28c8f5.txt',
    draft: true,
  },
  sharing: {
    // XT Art 24: even unconditional data is supplied by the authority, within 3 WD of the request.
    unconditional: {
      steps: [
        {
          key: 'authorityDelivery',
          actor: 'authority',
          nameZh: '数据主管部门提供数据',
          nameEn: 'Authority supplies the data',
          deadline: wd(3),
          onTimeout: 'remind',
          article: 'XT Art 24',
        },
      ],
      article: 'XT Art 24',
    },
    conditional: {
      requestMustState: ['purpose'],
      // Each deadline runs from the day the previous party's output is received (XT Art 24
      // "自收到申请之日起", "自收到回复之日起"), so there is no separate overall deadline.
      steps: [
        {
          key: 'authorityReview',
          actor: 'authority',
          nameZh: '数据主管部门审核并转数据提供部门',
          nameEn: 'Authority review and forward',
          deadline: wd(3),
          onTimeout: 'remind',
          article: 'XT Art 24',
        },
        {
          key: 'providerReview',
          actor: 'provider',
          nameZh: '数据提供部门回复',
          nameEn: 'Provider reply',
          deadline: wd(5),
          // A late provider reply is a violation the authority orders corrected (XT Art 41).
          onTimeout: 'escalate',
          article: 'XT Art 24',
        },
        {
          key: 'authorityDelivery',
          actor: 'authority',
          nameZh: '数据主管部门提供数据',
          nameEn: 'Authority delivers the data',
          deadline: wd(3),
          onTimeout: 'remind',
          article: 'XT Art 24',
        },
      ],
      article: 'XT Art 24',
    },
    // XT Art 26: a cross-level need goes "通过本级数据主管部门向上级数据主管部门申请": the requester's own authority
    // reviews and forwards it, within the 3 WD XT Art 24 gives an authority to review and forward a request
    crossLevel: {
      step: {
        key: 'localAuthorityReview',
        actor: 'authority',
        nameZh: '本级数据主管部门审核并报上级数据主管部门',
        nameEn: 'Own-level authority reviews and forwards to the higher authority',
        deadline: wd(3),
        onTimeout: 'remind',
        article: 'XT Art 26',
      },
      appliesTo: ['unconditional', 'conditional'],
      article: 'XT Art 26',
    },
    refusalRequires: 'reason',
    refusalArticle: 'XT Art 24',
    conditionalNeedsLegalBasis: true,
    conditionalBasisArticle: 'XT Art 23',
    deidentifiedMayBeShared: 'XT Art 23.6',
    purposeLimited: 'XT Art 25',
    // XT Art 23.5: conditional data is evaluated periodically and converted to unconditional when it qualifies
    reevaluation: { shareTypes: ['conditional'], article: 'XT Art 23.5' },
    emergency: { mode: 'reclassify', article: 'XT Art 23.7' },
  },
  catalog: {
    systemAcceptanceArticle: 'XT Art 37',
    updateAfterChange: wd(15),
    updateArticle: 'XT Art 14',
    // XT Art 12: the authority reviews and consolidates (审核汇总) the catalogs departments compile, so department-level
    // entries are reviewed by the authority too. XT names no section level; it stays department-internal (DG Art 11).
    levels: {
      city: { reviewer: 'authority', visibleTo: 'all', article: 'XT Art 12' },
      department: { reviewer: 'authority', visibleTo: 'all', article: 'XT Art 12' },
      section: {
        reviewer: 'sectionHead',
        visibleTo: 'department',
        article: 'XT Art 12; levels as DG Art 11',
      },
    },
    // XT Art 23.5: conditional data fit for unconditional sharing is converted after the authority's evaluation
    shareTypeChangeArticle: 'XT Art 23.5',
    conditionsArticle: 'XT Art 23',
    noneClosedArticle: 'XT Art 11 (目录编制规范)',
    // XT asks a reason for a refusal (XT Art 24), not a basis of a given kind
    basisOtherRefusedFor: [],
    basisKindArticle: 'XT Art 24',
    // XT Art 13 sets no rule of its own for base-library items; the general XT Art 23 rule applies
    // XT Art 16: buying social data needs the authority's approval; what is bought is cataloged and shared
    purchasedData: { approvalRequired: true, article: 'XT Art 16' },
    baseLibrary: { restricted: 'withLegalBasis', article: 'XT Art 23' },
    // XT Art 13 para 3 names the theme domains
    classTree: {
      baseArticle: 'XT Art 13',
      themes: [
        { key: 'economy', nameZh: '经济运行', nameEn: 'Economic operation' },
        { key: 'housing', nameZh: '住房城乡建设', nameEn: 'Housing and urban-rural development' },
        { key: 'hrss', nameZh: '人力资源社会保障', nameEn: 'Human resources and social security' },
        { key: 'ecology', nameZh: '生态环境', nameEn: 'Ecology and environment' },
        { key: 'health', nameZh: '卫生健康', nameEn: 'Health' },
        { key: 'market', nameZh: '市场监管', nameEn: 'Market regulation' },
        { key: 'civil', nameZh: '民政', nameEn: 'Civil affairs' },
        { key: 'veterans', nameZh: '退役优抚', nameEn: 'Veterans' },
        { key: 'emergency', nameZh: '应急指挥', nameEn: 'Emergency command' },
      ],
      themesArticle: 'XT Art 13',
    },
    unlistedIsUnconditional: 'XT Art 23',
  },
  quality: {
    // XT Art 21: consumers report doubts to the provider, but no deadline is set.
    objectionArticle: 'XT Art 21',
    rectificationDeadline: wd(10),
    rectificationArticle: 'XT Art 22',
  },
  // XT Art 30: on-application use must match the stated purpose; the provider decides, no deadline.
  opening: {
    requestMustState: ['purpose'],
    article: 'XT Art 30',
    // XT Art 33: restrict or close the access of a user who misuses data, and publicise it on the platform
    violations: { article: 'XT Art 33' },
    // XT Art 28: each department's open list, published after the confidentiality review
    openList: { article: 'XT Art 28' },
  },
  // XT Art 41: the data authority orders departments to correct these (责令限期改正)
  supervision: {
    violations: [
      { type: 'catalogStale', article: 'XT Art 41.2' },
      { type: 'dataStale', article: 'XT Art 41.3' },
      { type: 'requestLate', article: 'XT Art 41.5' },
      { type: 'purposeMisuse', article: 'XT Art 41.4' },
      { type: 'openApplicationLate', article: 'XT Art 41.5' },
    ],
  },
  // XT Art 31: the data bureau organises a security risk assessment of the use of specific-range public data
  security: { riskAssessment: { levels: ['important', 'core'], article: 'XT Art 31' } },
};
