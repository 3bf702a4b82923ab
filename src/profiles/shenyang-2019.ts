import { days, type Profile, wd } from './model.js';

export const shenyang2019: Profile = {
  id: 'shenyang-2019',
  nameZh: '沈阳市（2019 征求意见稿）',
  nameEn: 'Shenyang 2019 (draft)',
  regulation: {
    titleZh: '沈阳市政务数据资源共享开放条例（征求意见稿）',
    issued: '2019-07-11',
    file: '002_a44f94daa6a8f3b2.txt',
    draft: true,
  },
  sharing: {
    unconditional: { steps: [], article: 'SY Art 25' },
    conditional: {
      // SY Art 25 names no required content of the request.
      requestMustState: [],
      steps: [
        {
          key: 'providerReview',
          actor: 'provider',
          nameZh: '提供部门答复',
          nameEn: 'Provider reply',
          deadline: wd(5),
          // SY Art 25 "逾期未答复的，视为同意共享".
          onTimeout: 'deemedConsent',
          article: 'SY Art 25',
        },
      ],
      article: 'SY Art 25',
    },
    refusalRequires: 'legalBasis',
    refusalArticle: 'SY Art 25',
    conditionalNeedsLegalBasis: true,
    conditionalBasisArticle: 'SY Art 23',
    negativeList: { authority: 'filed', article: 'SY Art 23' },
    deidentifiedMayBeShared: 'SY Art 26',
    purposeLimited: 'SY Art 29',
    disputes: { resolvedBy: ['authority', 'government'], article: 'SY Art 28' },
    stopSupplyNeedsFiling: 'SY Art 27',
    // SY Art 31: the provider periodically evaluates its not-shared and conditional data
    reevaluation: { shareTypes: ['conditional', 'none'], article: 'SY Art 31' },
  },
  // SY Art 19 requires an update mechanism but no deadline.
  catalog: {
    systemAcceptanceArticle: 'SY Art 14',
    updateArticle: 'SY Art 19',
    // SY Art 18–19: departments compile their catalogs, the authority compiles the city catalog. Section-level
    // entries are not named; they stay a department-internal working level as in DG Art 11.
    levels: {
      city: { reviewer: 'authority', visibleTo: 'all', article: 'SY Art 19' },
      department: { reviewer: 'department', visibleTo: 'all', article: 'SY Art 18' },
      section: {
        reviewer: 'sectionHead',
        visibleTo: 'department',
        article: 'SY Art 18; levels as DG Art 11',
      },
    },
    shareTypeChangeArticle: 'SY Art 23',
    conditionsArticle: 'SY Art 23',
    noneClosedArticle: 'SY Art 18 (目录编制指南)',
    // SY Art 23: "法律、法规、规章依据"
    basisOtherRefusedFor: ['conditional', 'none'],
    basisKindArticle: 'SY Art 23',
    // SY Art 26: base information items are shared unconditionally
    baseLibrary: { restricted: 'never', article: 'SY Art 26' },
    // SY Art 26 para 2 names the theme domains
    classTree: {
      baseArticle: 'SY Art 26',
      themes: [
        { key: 'healthCare', nameZh: '健康保障', nameEn: 'Health care' },
        { key: 'socialSecurity', nameZh: '社会保障', nameEn: 'Social security' },
        { key: 'foodDrug', nameZh: '食品药品安全', nameEn: 'Food and drug safety' },
        { key: 'emergency', nameZh: '应急管理', nameEn: 'Emergency management' },
        { key: 'prices', nameZh: '价格监管', nameEn: 'Price supervision' },
        { key: 'credit', nameZh: '信用体系', nameEn: 'Credit system' },
        { key: 'urbanRural', nameZh: '城乡建设', nameEn: 'Urban and rural construction' },
        { key: 'community', nameZh: '社区治理', nameEn: 'Community governance' },
        { key: 'ecology', nameZh: '生态环保', nameEn: 'Ecology and environmental protection' },
        { key: 'stability', nameZh: '社会维稳', nameEn: 'Social stability' },
        { key: 'business', nameZh: '营商环境', nameEn: 'Business environment' },
      ],
      themesArticle: 'SY Art 26',
    },
    unlistedIsUnconditional: 'SY Art 23',
  },
  quality: {},
  opening: {
    // SY Art 34 "收到申请之日起10日内": calendar days, so 民法典 Art 203 moves a holiday end.
    onApplicationReply: days(10),
    requestMustState: ['purpose', 'scenario', 'securityMeasures'],
    article: 'SY Art 34',
    // SY Art 39: authorised third-party operation, reviewed by the authority and approved by the government;
    // SY Art 40: the department supervises it and files what it produces with the authority
    authorisedOperation: { article: 'SY Art 39', filingArticle: 'SY Art 40' },
    // SY Art 34: the basis of not opening and of restricting opening is made public
    publishBasis: { article: 'SY Art 34' },
    // SY Art 37: open and on-application resources are re-evaluated periodically
    reevaluation: { article: 'SY Art 37' },
  },
  // SY Art 47: the superior organ orders these corrected within a time limit (责令限期改正); use outside the purpose
  // breaks SY Art 29 and falls under Art 47.9 (违反本条例规定的其他行为)
  supervision: {
    violations: [
      { type: 'catalogStale', article: 'SY Art 47.2' },
      { type: 'dataStale', article: 'SY Art 47.3' },
      { type: 'requestLate', article: 'SY Art 47.7' },
      { type: 'purposeMisuse', article: 'SY Art 47.9, 29' },
      { type: 'openApplicationLate', article: 'SY Art 47.7' },
    ],
  },
  security: {
    incidentNotify: { recipients: ['affectedUsers', 'authority'], article: 'SY Art 44' },
    // SY Art 42: departments carry out risk assessments as part of their data security management
    riskAssessment: { levels: ['important', 'core'], article: 'SY Art 42' },
  },
};
