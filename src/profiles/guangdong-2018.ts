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
    refusalRequires: 'reason',
    refusalArticle: 'GD Art 19',
    conditionalNeedsLegalBasis: true,
    conditionalBasisArticle: 'GD Art 18',
    purposeLimited: 'GD Art 21',
  },
  catalog: { systemAcceptanceArticle: 'GD Art 11' },
  // GD Art 21: the provider must answer a doubt, but no deadline is set.
  quality: { objectionArticle: 'GD Art 21' },
};
