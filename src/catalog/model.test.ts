import { describe, expect, it } from 'vitest';
import type { Actor, Role } from '../context.js';
import { ROLES } from '../context.js';
import { PROFILES } from '../profiles/index.js';
import {
  canLoadData,
  canRegisterResource,
  canSeeResource,
  checkResourceInput,
  dataTableDdl,
  type ResourceInput,
} from './model.js';

const actor = (roles: Role[], orgId = 2): Actor => ({
  id: 1,
  username: 'u',
  displayName: 'u',
  orgId,
  orgKind: 'department',
  sectionId: null,
  roles,
  clientIp: null,
});

const base: ResourceInput = {
  name: '测试',
  summary: '测试资源',
  classification: 'department',
  catalogLevel: 'city',
  shareType: 'conditional',
  shareConditions: '仅限履职使用',
  legalBasis: '某法第一条',
  shareMethod: 'api',
  openType: 'closed',
  updateCycle: 'daily',
  securityLevel: 'general',
  fields: [
    {
      code: 'idNumber',
      name: '身份证号',
      type: 'string',
      required: true,
      isKey: true,
      personal: true,
      sensitive: false,
      masking: 'idNumber',
    },
  ],
};

describe('catalog rules and policies', () => {
  it('DG Art 11: city and department entries are visible to all; section entries only to the provider and overseers', () => {
    for (const role of ROLES) {
      const a = actor([role], 5);
      expect(canSeeResource(a, { catalogLevel: 'city', providerOrgId: 9 })).toBe(true);
      expect(canSeeResource(a, { catalogLevel: 'department', providerOrgId: 9 })).toBe(true);
      expect(canSeeResource(a, { catalogLevel: 'section', providerOrgId: 5 })).toBe(true);
      expect(canSeeResource(a, { catalogLevel: 'section', providerOrgId: 9 })).toBe(
        ['platform_admin', 'authority_reviewer', 'auditor'].includes(role),
      );
    }
  });
  it('DG Art 9 / Art 15: data officers register resources and only the provider loads data', () => {
    for (const role of ROLES) expect(canRegisterResource(actor([role]))).toBe(role === 'data_officer');
    expect(canLoadData(actor(['data_officer'], 3), { providerOrgId: 3 })).toBe(true);
    expect(canLoadData(actor(['data_officer'], 4), { providerOrgId: 3 })).toBe(false);
    expect(canLoadData(actor(['platform_admin'], 3), { providerOrgId: 3 })).toBe(false);
  });
  it('DG Art 19: conditional and not-shared resources need a legal basis; conditional ones state conditions', () => {
    expect(checkResourceInput(base, PROFILES['dongguan-2020'])).toEqual([]);
    const errs = checkResourceInput(
      { ...base, legalBasis: ' ', shareConditions: null },
      PROFILES['dongguan-2020'],
    );
    expect(errs.map((e) => e.field).sort()).toEqual(['legalBasis', 'shareConditions']);
  });
  it('guideline: a not-shared resource cannot be open; XT Art 15: a resource has a key field', () => {
    const errs = checkResourceInput(
      { ...base, shareType: 'none', openType: 'open', fields: [{ ...base.fields[0], isKey: false }] },
      PROFILES['xingtai-2024'],
    );
    expect(errs.map((e) => e.field).sort()).toEqual(['fields', 'openType']);
  });
  it('field codes become no SQL: the data table uses generated column names only', () => {
    const ddl = dataTableDdl(42, [{ ...base.fields[0], code: 'idNumber' }]);
    expect(ddl).toContain('ds.r_42');
    expect(ddl).toContain('c1 text');
    expect(ddl).not.toContain('idNumber');
    const bad = checkResourceInput(
      { ...base, fields: [{ ...base.fields[0], code: 'x"; DROP TABLE org; --' }] },
      PROFILES['dongguan-2020'],
    );
    expect(bad.some((e) => e.field === 'fields[0].code')).toBe(true);
  });
});
