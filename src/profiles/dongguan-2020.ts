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
  },
  catalog: {
    updateAfterChange: wd(15),
    updateArticle: 'DG Art 11',
    systemAcceptanceArticle: 'DG Art 13, DG Art 22',
  },
  quality: {
    objectionDeadline: wd(10),
    objectionArticle: 'DG Art 28',
    objectionExcludesExpertTime: true,
  },
};
