import { type Profile, wd } from './model.js';

export const dongguan2020: Profile = {
  id: 'dongguan-2020',
  nameZh: '东莞市（2020）',
  nameEn: 'Dongguan 2020',
  regulation: {
    titleZh: '东莞市政务数据资源共享管理办法（试行）',
    docNumber: '东府办〔2020〕54号',
    issued: '2020-08-24',
    file: '000_36dae9f4bb0b8ade.txt',
    draft: false,
  },
  // Dongguan is a city in Guangdong and its 办法 is built on 粤府办〔2018〕50号 (DG Art 1),
  // so where DG is silent the provincial rule applies.
  parent: 'guangdong-2018',
  sharing: {
    unconditional: { steps: [], article: 'DG Art 19, 23' },
    conditional: {
      // DG Art 26: use must serve the department's duties with a defined business scope.
      requestMustState: ['purpose', 'scope'],
      steps: [
        {
          key: 'providerReview',
          actor: 'provider',
          nameZh: '数源部门审核',
          nameEn: 'Provider review',
          // DG Art 20 requires the provider's consent but sets no deadline; the provincial
          // GD Art 19 "收到申请后10个工作日内答复" binds Dongguan's departments.
          deadline: wd(10),
          onTimeout: 'escalate',
          article: 'DG Art 20; deadline GD Art 19',
        },
      ],
      article: 'DG Art 20, 26',
    },
    // DG Art 24: no refusal without a law, regulation or rule as basis.
    refusalRequires: 'legalBasis',
    refusalArticle: 'DG Art 24',
    conditionalNeedsLegalBasis: true,
    conditionalBasisArticle: 'DG Art 19',
    negativeList: { authority: 'approves', article: 'DG Art 19' },
    noneOffersVerification: 'DG Art 19',
    purposeLimited: 'DG Art 26',
    disputes: { resolvedBy: ['authority'], article: 'DG Art 15' },
    // DG Art 18: departments sign the 政务数据资源提供和使用协议 with the authority; the platform records it per grant
    useAgreement: { article: 'DG Art 18' },
  },
  catalog: {
    updateAfterChange: wd(15),
    updateArticle: 'DG Art 11',
    systemAcceptanceArticle: 'DG Art 13, DG Art 22',
    // DG Art 11: city-level entries are decided by the authority and seen by all; department-level ones by the
    // department and seen by all; section-level ones by the section head and seen inside the department.
    levels: {
      city: { reviewer: 'authority', visibleTo: 'all', article: 'DG Art 11' },
      department: { reviewer: 'department', visibleTo: 'all', article: 'DG Art 11' },
      section: { reviewer: 'sectionHead', visibleTo: 'department', article: 'DG Art 11' },
    },
    // DG Art 11 "经资源目录主管部门评估审核可逐级提升或降低目录共享等级"
    shareTypeChangeArticle: 'DG Art 11',
    conditionsArticle: 'DG Art 19',
    noneClosedArticle: 'DG Art 9 (目录编制指南)',
    // DG Art 24: no refusal on an internal document; 法律、法规、规章 only
    basisOtherRefusedFor: ['conditional', 'none'],
    basisKindArticle: 'DG Art 24',
    // DG Art 21: base data items are unconditional "除有法律、法规或规章规定外"
    // DG Art 25: data bought as a service is shared to the city platform; the text asks for no approval
    purchasedData: { approvalRequired: false, article: 'DG Art 25' },
    baseLibrary: { restricted: 'withLegalBasis', article: 'DG Art 21' },
    // DG Art 12 names no theme domain: the authority adds themes, each with its lead department
    classTree: {
      baseArticle: 'DG Art 12, DG Art 21',
      themes: [],
      themesArticle: 'DG Art 12',
    },
    unlistedIsUnconditional: 'DG Art 19',
  },
  quality: {
    objectionDeadline: wd(10),
    objectionArticle: 'DG Art 28',
    objectionExcludesExpertTime: true,
  },
  security: {
    incidentNotify: { recipients: ['authority', 'cyberspace'], article: 'DG Art 32' },
    // DG Art 19: before sharing important data, assess the security risk of its leaking
    riskAssessment: { levels: ['important', 'core'], article: 'DG Art 19' },
  },
};
