import { type Profile, wd } from './model.js';

export const guangdong2018: Profile = {
  id: 'guangdong-2018',
  nameZh: '广东省（2018）',
  nameEn: 'Guangdong 2018',
  regulation: {
    titleZh: '广东省政务数据资源共享管理办法（试行）',
    docNumber: '粤府办〔2018〕50号',
    issued: '2018-11-29',
    file: '004_0676bc51f0d081c5.txt',
    draft: false,
  },
  sharing: {
    unconditional: { steps: [], article: 'GD Art 19' },
    conditional: {
      requestMustState: ['purpose', 'fields'],
      steps: [
        {
          // GD Art 19: the authority reviews "会同" (together with) the provider inside one
          // 10 WD window and one reply. Splitting the window into two steps would invent a
          // deadline the article does not set, so it is one step: the provider decides on
          // its data, and the authority co-reviews in the same step.
          key: 'providerReview',
          actor: 'provider',
          coActors: ['authority'],
          nameZh: '主管部门会同提供部门审核答复',
          nameEn: 'Provider review with the authority',
          deadline: wd(10),
          onTimeout: 'escalate',
          article: 'GD Art 19',
        },
      ],
      article: 'GD Art 19',
    },
    // GD Art 15: a lower authority applies to the higher one ("市级政务数据主管部门可根据业务需要，向省级政务数据主管部门
    // 提出政务数据申请"); GD sets no window of its own for that step, so the lower authority has the GD Art 19 window.
    // Unconditional data is fetched directly through the local node ("可直接通过本地市分节点申请获取").
    crossLevel: {
      step: {
        key: 'localAuthorityReview',
        actor: 'authority',
        nameZh: '本级政务数据主管部门审核并向上级申请',
        nameEn: 'Own-level authority reviews and applies to the higher authority',
        deadline: wd(10),
        onTimeout: 'remind',
        article: 'GD Art 15',
      },
      appliesTo: ['conditional'],
      article: 'GD Art 15',
    },
    refusalRequires: 'reason',
    refusalArticle: 'GD Art 19',
    conditionalNeedsLegalBasis: true,
    conditionalBasisArticle: 'GD Art 18',
    purposeLimited: 'GD Art 21',
  },
  // The copy of GD lacks Art 1–10, where the provincial catalog structure would be; DG Art 11 restates the province's
  // three levels (Dongguan's 办法 is built on this one, DG Art 1), so the levels and reviewers follow it.
  catalog: {
    systemAcceptanceArticle: 'GD Art 11',
    levels: {
      city: { reviewer: 'authority', visibleTo: 'all', article: 'GD Art 11, 15; levels as DG Art 11' },
      department: { reviewer: 'department', visibleTo: 'all', article: 'GD Art 11; levels as DG Art 11' },
      section: { reviewer: 'sectionHead', visibleTo: 'department', article: 'levels as DG Art 11' },
    },
    // GD Art 18: the share type is set when the catalog is compiled and checked by the authority
    shareTypeChangeArticle: 'GD Art 18',
    conditionsArticle: 'GD Art 18',
    noneClosedArticle: 'GD Art 18 (目录编制指南)',
    // GD Art 16: 没有法律、法规、规章依据不得拒绝; an internal document is not a basis
    basisOtherRefusedFor: ['conditional', 'none'],
    basisKindArticle: 'GD Art 16',
    // GD Art 17: base data items are shared unconditionally, with no exception
    baseLibrary: { restricted: 'never', article: 'GD Art 17' },
    // GD Art 17: "若干主题数据库", none named: the authority adds them
    classTree: {
      baseArticle: 'GD Art 17',
      themes: [],
      themesArticle: 'GD Art 17',
    },
    unlistedIsUnconditional: 'GD Art 18',
  },
  // GD Art 21: the provider must answer a doubt, but no deadline is set.
  quality: { objectionArticle: 'GD Art 21' },
  security: { incidentNotify: { recipients: ['authority'], article: 'GD Art 27' } },
};
