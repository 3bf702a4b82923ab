import { describe, expect, it } from 'vitest';
import type { Actor, Role } from '../context.js';
import { ROLES } from '../context.js';
import { PROFILES } from '../profiles/index.js';
import {
  canLoadData,
  canRegisterResource,
  canReviewVersion,
  canSeeResource,
  checkAdditiveFields,
  checkResourceInput,
  dataTableDdl,
  diffSnapshots,
  type FieldDef,
  type ResourceInput,
  type Snapshot,
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
  legalBasisKind: 'law',
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
    const ddl = dataTableDdl(42, [{ type: 'string', code: 'idNumber' }]);
    expect(ddl).toContain('ds.r_42');
    expect(ddl).toContain('c1 text');
    expect(ddl).not.toContain('idNumber');
    const bad = checkResourceInput(
      { ...base, fields: [{ ...base.fields[0], code: 'x"; DROP TABLE org; --' }] },
      PROFILES['dongguan-2020'],
    );
    expect(bad.some((e) => e.field === 'fields[0].code')).toBe(true);
  });
  it('DG Art 11: who reviews a version, per level, for every role; never the submitter', () => {
    const p = PROFILES['dongguan-2020'];
    const entry = (level: string) => ({ catalogLevel: level, providerOrgId: 2, sectionId: 7 });
    for (const role of ROLES) {
      const a = { ...actor([role], 2), id: 5, sectionId: 7 };
      expect(canReviewVersion(a, entry('city'), 1, p), role).toBe(role === 'authority_reviewer');
      expect(canReviewVersion(a, entry('department'), 1, p), role).toBe(role === 'data_officer');
      expect(canReviewVersion(a, entry('section'), 1, p), role).toBe(role === 'section_head');
      // the submitter never reviews his own version
      expect(canReviewVersion(a, entry('department'), 5, p), role).toBe(false);
    }
    // another department's officer, another section's head
    expect(canReviewVersion({ ...actor(['data_officer'], 3), id: 5 }, entry('department'), 1, p)).toBe(false);
    expect(
      canReviewVersion({ ...actor(['section_head'], 2), id: 5, sectionId: 8 }, entry('section'), 1, p),
    ).toBe(false);
    // XT Art 12: the authority reviews department-level entries too
    const xt = PROFILES['xingtai-2024'];
    expect(canReviewVersion({ ...actor(['authority_reviewer'], 1), id: 5 }, entry('department'), 1, xt)).toBe(
      true,
    );
    expect(canReviewVersion({ ...actor(['data_officer'], 2), id: 5 }, entry('department'), 1, xt)).toBe(
      false,
    );
  });
  it('DG Art 11: a published section-level entry is visible only inside the department; unpublished entries only to it and the authority', () => {
    const p = PROFILES['dongguan-2020'];
    const out = actor(['data_officer'], 9);
    expect(canSeeResource(out, { catalogLevel: 'section', providerOrgId: 2, status: 'published' }, p)).toBe(
      false,
    );
    expect(
      canSeeResource(out, { catalogLevel: 'department', providerOrgId: 2, status: 'published' }, p),
    ).toBe(true);
    expect(canSeeResource(out, { catalogLevel: 'city', providerOrgId: 2, status: 'submitted' }, p)).toBe(
      false,
    );
    expect(
      canSeeResource(
        actor(['consumer_staff'], 2),
        { catalogLevel: 'city', providerOrgId: 2, status: 'draft' },
        p,
      ),
    ).toBe(true);
    expect(
      canSeeResource(
        actor(['authority_reviewer'], 1),
        { catalogLevel: 'city', providerOrgId: 2, status: 'submitted' },
        p,
      ),
    ).toBe(true);
  });
  it('versions: the diff names each changed attribute; only additive field changes pass on a published entry', () => {
    const f = (code: string, type: FieldDef['type'] = 'string'): FieldDef => ({
      code,
      name: code,
      type,
      required: false,
      isKey: false,
      personal: false,
      sensitive: false,
      masking: 'none',
      validator: null,
    });
    const v1 = { ...base, fields: [f('a'), f('b')] } as unknown as Snapshot;
    const v2 = {
      ...base,
      shareType: 'unconditional',
      fields: [{ ...f('a'), name: 'A' }, f('b'), f('c')],
    } as unknown as Snapshot;
    const d = diffSnapshots(v1, v2);
    expect(d.map((x) => [x.path, x.kind])).toEqual([
      ['shareType', 'changed'],
      ['fields.a.name', 'changed'],
      ['fields.c', 'added'],
    ]);
    expect(checkAdditiveFields(v1.fields, v2.fields)).toEqual([]);
    expect(checkAdditiveFields(v1.fields, [f('a')])[0].field).toBe('fields[1]');
    expect(checkAdditiveFields(v1.fields, [f('a'), f('b', 'integer')])[0].field).toBe('fields[1].type');
    expect(checkAdditiveFields(v1.fields, [f('b'), f('a')])).toHaveLength(2);
  });
});
