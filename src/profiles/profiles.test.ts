import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addWorkdays, createCalendar, dueDate } from '../calendar/model.js';
import {
  DEFAULT_PROFILE_ID,
  getProfile,
  isProfileId,
  PROFILE_IDS,
  PROFILES,
  type Profile,
  type WorkflowStep,
} from './index.js';

const REGULATIONS_DIR = '/work/shared/regulations';
const ARTICLE_RE = /^(DG|XT|SY|NY|GD) (Art \d+(\.\d+)?|task \d+)/;
const PREFIX: Record<string, string> = {
  'dongguan-2020': 'DG',
  'xingtai-2024': 'XT',
  'shenyang-2019': 'SY',
  'nanyang-2022': 'NY',
  'guangdong-2018': 'GD',
};

const all = Object.values(PROFILES);

function allSteps(p: Profile): WorkflowStep[] {
  return [...p.sharing.unconditional.steps, ...p.sharing.conditional.steps];
}

function allDeadlines(p: Profile) {
  return [
    ...allSteps(p).map((s) => s.deadline),
    p.sharing.conditional.overallDeadline,
    p.sharing.bulkGrants?.deadline,
    p.catalog.updateAfterChange,
    p.quality.objectionDeadline,
    p.quality.rectificationDeadline,
    p.opening?.onApplicationReply,
  ].filter((d) => d !== undefined);
}

describe('every profile is well-formed', () => {
  it('there are exactly the five regulations, and each id matches its key', () => {
    expect([...PROFILE_IDS].sort()).toEqual(
      ['dongguan-2020', 'guangdong-2018', 'nanyang-2022', 'shenyang-2019', 'xingtai-2024'].sort(),
    );
    for (const [key, p] of Object.entries(PROFILES)) expect(p.id).toBe(key);
  });

  it.each(all.map((p) => [p.id, p] as const))('%s: conditional sharing has at least one step', (_id, p) => {
    expect(p.sharing.conditional.steps.length).toBeGreaterThan(0);
  });

  it.each(all.map((p) => [p.id, p] as const))('%s: every deadline is a positive whole number', (_id, p) => {
    for (const d of allDeadlines(p)) {
      expect(Number.isInteger(d.amount)).toBe(true);
      expect(d.amount).toBeGreaterThan(0);
      expect(['WD', 'd']).toContain(d.unit);
    }
  });

  it.each(all.map((p) => [p.id, p] as const))('%s: step keys are unique within a workflow', (_id, p) => {
    for (const steps of [p.sharing.unconditional.steps, p.sharing.conditional.steps]) {
      expect(new Set(steps.map((s) => s.key)).size).toBe(steps.length);
    }
  });

  it.each(all.map((p) => [p.id, p] as const))('%s: every step and rule cites an article', (id, p) => {
    const cites = [
      ...allSteps(p).map((s) => s.article),
      p.sharing.unconditional.article,
      p.sharing.conditional.article,
      p.sharing.refusalArticle,
    ];
    for (const c of cites) {
      expect(c).toMatch(ARTICLE_RE);
      // A city profile may cite its province for a gap (DG → GD), but starts with its own rule.
      expect(c.startsWith(PREFIX[id] ?? '?')).toBe(true);
    }
    for (const s of allSteps(p)) {
      expect(s.nameZh).not.toBe('');
      expect(s.nameEn).not.toBe('');
    }
  });

  it.each(all.map((p) => [p.id, p] as const))(
    '%s: an overall deadline is not shorter than any step',
    (_id, p) => {
      const overall = p.sharing.conditional.overallDeadline;
      if (!overall) return;
      for (const s of p.sharing.conditional.steps) {
        expect(s.deadline.unit).toBe(overall.unit);
        expect(s.deadline.amount).toBeLessThanOrEqual(overall.amount);
      }
    },
  );

  it.each(all.map((p) => [p.id, p] as const))(
    '%s: the regulation file exists in shared/regulations',
    (_id, p) => {
      if (!existsSync(REGULATIONS_DIR)) return;
      expect(existsSync(`${REGULATIONS_DIR}/${p.regulation.file}`)).toBe(true);
    },
  );

  it.each(all.map((p) => [p.id, p] as const))(
    '%s: a step deadline in WD appears as 工作日 in the regulation text',
    (_id, p) => {
      const path = `${REGULATIONS_DIR}/${p.regulation.file}`;
      if (!existsSync(path)) return;
      // DG borrows its request deadline from GD Art 19, so check against the cited text.
      const texts = [readFileSync(path, 'utf8')];
      if (p.parent)
        texts.push(readFileSync(`${REGULATIONS_DIR}/${PROFILES[p.parent].regulation.file}`, 'utf8'));
      const text = texts.join('\n').replace(/\s+/g, '');
      const zh = ['', '一', '二', '三', '四', '五', '六', '七', '八', '九', '十'];
      for (const s of allSteps(p).filter((st) => st.deadline.unit === 'WD')) {
        const n = s.deadline.amount;
        expect(text.includes(`${n}个工作日`) || text.includes(`${zh[n]}个工作日`)).toBe(true);
      }
    },
  );

  it('profiles are frozen: a rule cannot be changed at runtime', () => {
    const p = getProfile('shenyang-2019');
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.sharing.conditional.steps[0]?.deadline)).toBe(true);
    expect(() => {
      (p.sharing.conditional.steps[0] as { onTimeout: string }).onTimeout = 'remind';
    }).toThrow(TypeError);
  });

  it('only SY has deemed consent', () => {
    const withConsent = all
      .filter((p) => allSteps(p).some((s) => s.onTimeout === 'deemedConsent'))
      .map((p) => p.id);
    expect(withConsent).toEqual(['shenyang-2019']);
  });
});

describe('getProfile', () => {
  it('the default profile is dongguan-2020', () => {
    expect(DEFAULT_PROFILE_ID).toBe('dongguan-2020');
    expect(getProfile(DEFAULT_PROFILE_ID).id).toBe('dongguan-2020');
  });

  it('returns each profile by id', () => {
    for (const id of PROFILE_IDS) expect(getProfile(id)).toBe(PROFILES[id]);
  });

  it('rejects an unknown id and lists the valid ones', () => {
    expect(() => getProfile('beijing-2025')).toThrow(/Unknown profile "beijing-2025"/);
    expect(() => getProfile('beijing-2025')).toThrow(/dongguan-2020, xingtai-2024, shenyang-2019/);
  });

  it('rejects inherited object keys and case variants', () => {
    expect(() => getProfile('toString')).toThrow(/Unknown profile/);
    expect(() => getProfile('__proto__')).toThrow(/Unknown profile/);
    expect(() => getProfile('Dongguan-2020')).toThrow(/Unknown profile/);
    expect(isProfileId('toString')).toBe(false);
    expect(isProfileId('nanyang-2022')).toBe(true);
  });
});

describe('sharing rules per regulation', () => {
  const cal = createCalendar();
  // The steps, deadlines, timeout actions, co-reviewers, overall deadline, request content and refusal rules are tested
  // as behaviour in test/conformance/<profile>.test.ts (dated scenarios through the API), not as values here. What
  // remains below is data for rules nothing acts on yet (src/profiles/enforcement.ts lists them; the rules page says
  // 尚未执行) and the calendar arithmetic the steps rely on.

  it('DG Art 19: conditional/none needs a legal basis and the negative list is approved by the authority; none offers verification', () => {
    const s = getProfile('dongguan-2020').sharing;
    expect(s.conditionalNeedsLegalBasis).toBe(true);
    expect(s.negativeList).toEqual({ authority: 'approves', article: 'DG Art 19' });
    expect(s.noneOffersVerification).toBe('DG Art 19');
  });

  it('DG Art 19, SY Art 25, NY task 7, GD Art 19: unconditional data is taken directly, no approval steps', () => {
    for (const id of ['dongguan-2020', 'shenyang-2019', 'nanyang-2022', 'guangdong-2018']) {
      expect(getProfile(id).sharing.unconditional.steps).toEqual([]);
    }
  });

  it('XT Art 24: unconditional data is supplied by the authority within 3 WD', () => {
    const steps = getProfile('xingtai-2024').sharing.unconditional.steps;
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({
      actor: 'authority',
      deadline: { amount: 3, unit: 'WD' },
      article: 'XT Art 24',
    });
  });

  it('XT Art 24: a request on 2026-02-13 walks the three steps to delivery by 2026-03-06 if each party uses its full time', () => {
    const steps = getProfile('xingtai-2024').sharing.conditional.steps;
    let day = '2026-02-13';
    const dues = steps.map((s) => {
      day = dueDate(cal, day, s.deadline);
      return day;
    });
    // 3 WD: 2/14 (调休), 2/24, 2/25; 5 WD: 2/26, 2/27, 2/28 (调休), 3/2, 3/3; 3 WD: 3/4, 3/5, 3/6
    expect(dues).toEqual(['2026-02-25', '2026-03-03', '2026-03-06']);
  });

  it('XT Art 24: refusal gives a reason; XT Art 23: conditional needs a legal basis; XT Art 25: purpose-limited', () => {
    const s = getProfile('xingtai-2024').sharing;
    expect(s.refusalRequires).toBe('reason');
    expect(s.conditionalNeedsLegalBasis).toBe(true);
    expect(s.conditional.requestMustState).toEqual(['purpose']);
    expect(s.purposeLimited).toBe('XT Art 25');
  });

  it('XT Art 23.7: an emergency temporarily reclassifies data as shared', () => {
    expect(getProfile('xingtai-2024').sharing.emergency).toEqual({
      mode: 'reclassify',
      article: 'XT Art 23.7',
    });
  });

  it('SY Art 28: disputes go to the authority, then the city government', () => {
    expect(getProfile('shenyang-2019').sharing.disputes?.resolvedBy).toEqual(['authority', 'government']);
  });

  it('NY task 7: bulk and proxy grants within 10 WD, refusal with a basis; green channel for emergencies', () => {
    const s = getProfile('nanyang-2022').sharing;
    expect(s.bulkGrants).toMatchObject({
      kinds: ['bulkGrant', 'proxyGrant'],
      deadline: { amount: 10, unit: 'WD' },
    });
    expect(s.bulkGrants?.refusalRequires).toBe('legalBasis');
    expect(s.emergency?.mode).toBe('greenChannel');
  });

  it('only NY has bulk grants and only NY has a green channel', () => {
    expect(all.filter((p) => p.sharing.bulkGrants).map((p) => p.id)).toEqual(['nanyang-2022']);
    expect(all.filter((p) => p.sharing.emergency?.mode === 'greenChannel').map((p) => p.id)).toEqual([
      'nanyang-2022',
    ]);
  });

  it('DG Art 19, XT Art 23, SY Art 23, GD Art 18: conditional/none need a legal basis; NY sets no such rule', () => {
    expect(
      all
        .filter((p) => p.sharing.conditionalNeedsLegalBasis)
        .map((p) => p.id)
        .sort(),
    ).toEqual(['dongguan-2020', 'guangdong-2018', 'shenyang-2019', 'xingtai-2024'].sort());
  });

  it('DG Art 26, XT Art 25, SY Art 29, GD Art 21: use limited to the stated purpose; NY has no article', () => {
    expect(Object.fromEntries(all.map((p) => [p.id, p.sharing.purposeLimited]))).toEqual({
      'dongguan-2020': 'DG Art 26',
      'xingtai-2024': 'XT Art 25',
      'shenyang-2019': 'SY Art 29',
      'nanyang-2022': undefined,
      'guangdong-2018': 'GD Art 21',
    });
  });

  it('DG Art 20 + GD Art 19: a DG request received 2026-02-13 is due 2026-03-05', () => {
    const step = getProfile('dongguan-2020').sharing.conditional.steps[0];
    if (!step) throw new Error('missing step');
    // 2/14 (调休), 2/24, 2/25, 2/26, 2/27, 2/28 (调休), 3/2, 3/3, 3/4, 3/5
    expect(dueDate(cal, '2026-02-13', step.deadline)).toBe(addWorkdays(cal, '2026-02-13', 10));
    expect(dueDate(cal, '2026-02-13', step.deadline)).toBe('2026-03-05');
  });
});

describe('catalog, quality and opening rules', () => {
  it('DG Art 11, XT Art 14: catalog updated within 15 WD of a law or function change', () => {
    expect(getProfile('dongguan-2020').catalog.updateAfterChange).toEqual({ amount: 15, unit: 'WD' });
    expect(getProfile('xingtai-2024').catalog.updateAfterChange).toEqual({ amount: 15, unit: 'WD' });
    expect(getProfile('shenyang-2019').catalog.updateAfterChange).toBeUndefined();
  });

  it('DG Art 28: objection verified within 10 WD, lab and expert time excluded', () => {
    const q = getProfile('dongguan-2020').quality;
    expect(q.objectionDeadline).toEqual({ amount: 10, unit: 'WD' });
    expect(q.objectionExcludesExpertTime).toBe(true);
  });

  it('NY task 8: objection verified within 5 WD', () => {
    expect(getProfile('nanyang-2022').quality.objectionDeadline).toEqual({ amount: 5, unit: 'WD' });
  });

  it('XT Art 22: rectification within 10 WD', () => {
    expect(getProfile('xingtai-2024').quality.rectificationDeadline).toEqual({ amount: 10, unit: 'WD' });
  });

  it('SY Art 34: an on-application open request is answered within 10 calendar days and states purpose, scenario, security', () => {
    const o = getProfile('shenyang-2019').opening;
    expect(o?.onApplicationReply).toEqual({ amount: 10, unit: 'd' });
    expect(o?.requestMustState).toEqual(['purpose', 'scenario', 'securityMeasures']);
  });

  it('SY Art 34 + 民法典 Art 203: an open request of 2025-09-25 is due 2025-10-09, after National Day', () => {
    const o = getProfile('shenyang-2019').opening;
    if (!o?.onApplicationReply) throw new Error('missing deadline');
    expect(dueDate(createCalendar(), '2025-09-25', o.onApplicationReply)).toBe('2025-10-09');
  });

  it('XT and SY are drafts (征求意见稿); the others are in force', () => {
    expect(
      all
        .filter((p) => p.regulation.draft)
        .map((p) => p.id)
        .sort(),
    ).toEqual(['shenyang-2019', 'xingtai-2024']);
  });
});
