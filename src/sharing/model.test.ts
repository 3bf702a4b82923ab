import { describe, expect, it } from 'vitest';
import type { Actor, Role } from '../context.js';
import { ROLES } from '../context.js';
import { PROFILES } from '../profiles/index.js';
import {
  canDecideStep,
  canRequest,
  canRevokeGrant,
  checkRequestInput,
  deadlineAction,
  isOverdue,
  stepsFor,
} from './model.js';

const actor = (roles: Role[], orgId = 2, orgKind: Actor['orgKind'] = 'department'): Actor => ({
  id: 1,
  username: 'u',
  displayName: 'u',
  orgId,
  orgKind,
  sectionId: null,
  roles,
  clientIp: null,
});

describe('sharing policies', () => {
  it('DG Art 20: only the provider’s data officer decides a provider step, for every role combination', () => {
    for (const role of ROLES) {
      expect(canDecideStep(actor([role], 7), 'provider', 7)).toBe(role === 'data_officer');
      expect(canDecideStep(actor([role], 8), 'provider', 7)).toBe(false);
    }
  });
  it('XT Art 24: authority steps are decided by the authority’s reviewer only', () => {
    for (const role of ROLES) {
      expect(canDecideStep(actor([role], 1, 'authority'), 'authority', 7)).toBe(
        role === 'authority_reviewer',
      );
      expect(canDecideStep(actor([role], 7, 'department'), 'authority', 7)).toBe(false);
    }
  });
  it('a department does not request its own data; only officers and staff request', () => {
    expect(canRequest(actor(['data_officer'], 7), 7)).toBe(false);
    expect(canRequest(actor(['consumer_staff'], 8), 7)).toBe(true);
    expect(canRequest(actor(['auditor'], 8), 7)).toBe(false);
  });
  it('GB/T 39477: grants are revoked by the provider’s officer or the platform admin', () => {
    expect(canRevokeGrant(actor(['data_officer'], 7), 7)).toBe(true);
    expect(canRevokeGrant(actor(['data_officer'], 8), 7)).toBe(false);
    expect(canRevokeGrant(actor(['platform_admin'], 1), 7)).toBe(true);
  });
  it('SY Art 25: conditional requests take one provider step; unconditional ones none', () => {
    expect(stepsFor(PROFILES['shenyang-2019'], 'conditional').map((s) => [s.actor, s.onTimeout])).toEqual([
      ['provider', 'deemedConsent'],
    ]);
    expect(stepsFor(PROFILES['shenyang-2019'], 'unconditional')).toEqual([]);
  });
  it('DG Art 26 / GD Art 19: a request states its purpose and fields, and ends after today', () => {
    const input = {
      resourceId: 1,
      appId: 1,
      fields: ['a', 'a', 'zz'],
      purpose: 'x',
      validUntil: '2026-01-01',
    };
    const errs = checkRequestInput(input, ['a', 'b'], PROFILES['dongguan-2020'], '2026-05-01');
    // DG Art 26 also asks the business scope of a conditional request
    expect(errs.map((e) => e.field).sort()).toEqual(['fields', 'fields', 'purpose', 'scope', 'validUntil']);
    // an unconditional request states no scope (DG Art 26 governs the conditional application)
    expect(
      checkRequestInput(input, ['a', 'b'], PROFILES['dongguan-2020'], '2026-05-01', 'unconditional').map(
        (e) => e.field,
      ),
    ).not.toContain('scope');
    expect(
      checkRequestInput(
        { ...input, fields: ['a'], purpose: '核验就业登记信息', validUntil: '2027-01-01' },
        ['a'],
        PROFILES['guangdong-2018'],
        '2026-05-01',
      ),
    ).toEqual([]);
  });
  it('deadline actions: one working day before → dueSoon, on the day → dueToday, after → the profile action', () => {
    expect(deadlineAction('2026-10-12', '2026-10-09', 1, 'deemedConsent')).toBe('dueSoon');
    expect(deadlineAction('2026-10-12', '2026-10-08', 2, 'deemedConsent')).toBe(null);
    expect(deadlineAction('2026-10-12', '2026-10-12', 0, 'escalate')).toBe('dueToday');
    expect(deadlineAction('2026-10-12', '2026-10-13', 0, 'escalate')).toBe('escalate');
    expect(deadlineAction('2026-10-12', '2026-11-30', 0, 'deemedConsent')).toBe('deemedConsent');
  });
  it('overdue is a comparison with the stored due date, only while pending', () => {
    expect(isOverdue('pending', '2026-02-27', '2026-02-28')).toBe(true);
    expect(isOverdue('pending', '2026-02-27', '2026-02-27')).toBe(false);
    expect(isOverdue('approved', '2026-02-27', '2026-03-30')).toBe(false);
  });
});
