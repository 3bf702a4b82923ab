import { describe, expect, it } from 'vitest';
import type { Actor, Role } from '../context.js';
import { getProfile } from '../profiles/index.js';
import { csvCell, toCsv } from '../shared/tabular.js';
import {
  canReadOrgLists,
  canRecordDuty,
  checkAcceptance,
  checkNegativeProposal,
  demandTerms,
  initialNegativeStatus,
  isAuthorityReviewer,
  isOwnOfficer,
  negativeListRule,
  updateDeadline,
} from './model.js';

function actor(orgKind: Actor['orgKind'], orgId: number, ...roles: Role[]): Actor {
  return { id: 1, username: 'u', displayName: 'u', orgId, orgKind, sectionId: null, roles, clientIp: null };
}

const ROLES: Role[] = [
  'platform_admin',
  'authority_reviewer',
  'data_officer',
  'section_head',
  'consumer_staff',
  'auditor',
];

describe('who may do what in the inventories', () => {
  it('DG Art 19: only the authority reviewer decides negative-list and open-list entries', () => {
    for (const r of ROLES) {
      expect(isAuthorityReviewer(actor('authority', 1, r))).toBe(r === 'authority_reviewer');
      expect(isAuthorityReviewer(actor('department', 2, r))).toBe(false);
    }
  });

  it("DG Art 11: a department's data officer records duties for its own department only; the authority for any", () => {
    for (const r of ROLES) {
      expect(canRecordDuty(actor('department', 2, r), 2)).toBe(r === 'data_officer');
      expect(canRecordDuty(actor('department', 2, r), 3)).toBe(false);
      expect(canRecordDuty(actor('authority', 1, r), 3)).toBe(
        r === 'authority_reviewer' || r === 'platform_admin',
      );
    }
    expect(isOwnOfficer(actor('enterprise', 2, 'data_officer'), 2)).toBe(false);
  });

  it('lists are read by their department, the authority and the auditor', () => {
    expect(canReadOrgLists(actor('department', 2, 'consumer_staff'), 2)).toBe(true);
    expect(canReadOrgLists(actor('department', 3, 'data_officer'), 2)).toBe(false);
    expect(canReadOrgLists(actor('authority', 1, 'auditor'), 2)).toBe(true);
  });
});

describe('profile-driven rules', () => {
  it('DG Art 19 approves, SY Art 23 files; profiles without a rule approve under their basis article', () => {
    expect(negativeListRule(getProfile('dongguan-2020'))).toEqual({
      authority: 'approves',
      article: 'DG Art 19',
    });
    expect(negativeListRule(getProfile('shenyang-2019'))).toEqual({
      authority: 'filed',
      article: 'SY Art 23',
    });
    expect(negativeListRule(getProfile('xingtai-2024'))).toEqual({
      authority: 'approves',
      article: 'XT Art 23',
    });
    expect(negativeListRule(getProfile('guangdong-2018'))).toEqual({
      authority: 'approves',
      article: 'GD Art 18',
    });
    expect(initialNegativeStatus(negativeListRule(getProfile('shenyang-2019')))).toBe('filed');
  });

  it('DG Art 24: a basis of kind "other" is refused where a legal basis is required', () => {
    const p = { resourceId: 1, basisText: '内部通知', basisKind: 'other' as const, reason: 'x' };
    const errs = checkNegativeProposal(
      p,
      { shareType: 'conditional', providerOrgId: 2 },
      getProfile('dongguan-2020'),
    );
    expect(errs.map((e) => e.field)).toEqual(['basisKind']);
    expect(
      checkNegativeProposal(
        p,
        { shareType: 'unconditional', providerOrgId: 2 },
        getProfile('dongguan-2020'),
      )[0].field,
    ).toBe('resourceId');
  });

  it('DG Art 11 / XT Art 14: 15 WD after a change; SY sets none', () => {
    expect(updateDeadline(getProfile('dongguan-2020'))).toEqual({
      deadline: { amount: 15, unit: 'WD' },
      article: 'DG Art 11',
    });
    expect(updateDeadline(getProfile('xingtai-2024')).deadline).toEqual({ amount: 15, unit: 'WD' });
    expect(updateDeadline(getProfile('shenyang-2019')).deadline).toBeNull();
  });

  it('DG Art 13/22: a fiscal system is accepted only with resources mounted and loaded; NY sets no such condition', () => {
    const dg = getProfile('dongguan-2020');
    expect(checkAcceptance(dg, { fiscal: true }, 'accepted', { mounted: 0, empty: 0 })).toHaveLength(1);
    expect(checkAcceptance(dg, { fiscal: true }, 'accepted', { mounted: 2, empty: 1 })[0].reason).toContain(
      'DG Art 13, DG Art 22',
    );
    expect(checkAcceptance(dg, { fiscal: true }, 'accepted', { mounted: 2, empty: 0 })).toEqual([]);
    expect(checkAcceptance(dg, { fiscal: false }, 'accepted', { mounted: 0, empty: 0 })).toEqual([]);
    expect(checkAcceptance(dg, { fiscal: true }, 'built', { mounted: 0, empty: 0 })).toEqual([]);
    expect(
      checkAcceptance(getProfile('nanyang-2022'), { fiscal: true }, 'accepted', { mounted: 0, empty: 0 }),
    ).toEqual([]);
  });
});

describe('matching and export helpers', () => {
  it('NY task 6: demand words are the name, its stem without 信息/数据 and the wanted fields', () => {
    expect(demandTerms({ name: '人口基础信息', wantedFields: ['公民身份号码', ' '] })).toEqual([
      '人口基础信息',
      '人口',
      '公民身份号码',
    ]);
    expect(demandTerms({ name: '婚姻登记信息 火化记录', wantedFields: [] })).toEqual([
      '婚姻登记信息',
      '婚姻登记',
      '火化记录',
      '火化',
    ]);
  });

  it('CSV: quotes, BOM and no formula injection', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell(['a', 'b'])).toBe('a、b');
    expect(toCsv(['h'], [[1]])).toBe('\uFEFFh\r\n1\r\n');
  });
});
