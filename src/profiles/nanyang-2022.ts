import { type Profile, wd } from './model.js';

export const nanyang2022: Profile = {
  id: 'nanyang-2022',
  nameZh: '南阳市（2022）',
  nameEn: 'Nanyang 2022',
  regulation: {
    titleZh: '南阳市建立健全政务数据共享协调机制加快推进数据有序共享实施方案',
    docNumber: '宛政办〔2022〕69号',
    issued: '2022-09-29',
    file: '003_88062d4b4c230a98.txt',
    draft: false,
  },
  sharing: {
    unconditional: { steps: [], article: 'NY task 7' },
    conditional: {
      requestMustState: [],
      steps: [
        {
          key: 'providerReview',
          actor: 'provider',
          nameZh: '提供部门答复',
          nameEn: 'Provider reply',
          deadline: wd(5),
          onTimeout: 'escalate',
          article: 'NY task 7',
        },
      ],
      // NY task 7 "原则上10个工作日内完成授权": the grant must be in place within 10 WD of the
      // request, even though the provider's reply is due after 5.
      overallDeadline: wd(10),
      article: 'NY task 7',
    },
    // NY task 7 asks a refusal to "说明理由", and also forbids refusing "无法律、法规或有关政策依据",
    // so the reason given must be a legal or policy basis.
    refusalRequires: 'legalBasis',
    refusalArticle: 'NY task 7',
    conditionalNeedsLegalBasis: false,
    emergency: { mode: 'greenChannel', article: 'NY task 7' },
    bulkGrants: {
      kinds: ['bulkGrant', 'proxyGrant'],
      deadline: wd(10),
      // "不予授权的应当提供依据".
      refusalRequires: 'legalBasis',
      article: 'NY task 7',
    },
  },
  // NY task 6 asks for dynamic updates of the two lists, without a deadline.
  catalog: {
    updateArticle: 'NY task 6',
    // NY task 6: "各级各部门…编制本级本部门" catalogs; it names no review per level, so the three levels and their
    // reviewers are the national practice DG Art 11 also writes down (an authority-run platform, departments
    // deciding their own entries, a section's working entries inside the department).
    levels: {
      city: { reviewer: 'authority', visibleTo: 'all', article: 'NY task 6; levels as DG Art 11' },
      department: { reviewer: 'department', visibleTo: 'all', article: 'NY task 6; levels as DG Art 11' },
      section: {
        reviewer: 'sectionHead',
        visibleTo: 'department',
        article: 'NY task 6; levels as DG Art 11',
      },
    },
    shareTypeChangeArticle: 'NY task 6 (动态更新)',
    conditionsArticle: 'NY task 7',
    noneClosedArticle: 'NY task 6 (目录编制)',
    // NY task 7 accepts "法律、法规或有关政策依据": a policy document is a basis, so no kind is refused
    basisOtherRefusedFor: [],
    basisKindArticle: 'NY task 7',
    // NY says nothing on base libraries; the general rule (a basis for any restriction) applies
    baseLibrary: { restricted: 'withLegalBasis', article: 'NY task 7' },
    // the plan names no theme domain: the authority adds them
    classTree: {
      baseArticle: 'NY task 7',
      themes: [],
      themesArticle: 'NY task 7',
    },
  },
  quality: {
    objectionDeadline: wd(5),
    objectionArticle: 'NY task 8',
    // NY task 8 asks for closed-loop rectification, without a deadline.
    rectificationArticle: 'NY task 8',
  },
  // NY task 11: a data security assessment system (数据安全评估制度) for sharing
  security: { riskAssessment: { levels: ['important', 'core'], article: 'NY task 11' } },
};
