import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_TYPE_STORAGE, normaliseField, resourceSecurityLevel } from '../src/catalog/model.js';
import { maskRecord } from '../src/dataapi/masking.js';
import { PROFILE_IDS } from '../src/profiles/index.js';
import { createTestEnv, login, type TestEnv } from './helpers.js';

const ENTRY = {
  name: '居住证办理信息',
  summary: '居住证申领、签注和换领办理信息。',
  classification: 'department',
  catalogLevel: 'city',
  shareType: 'unconditional',
  shareMethod: 'api',
  openType: 'closed',
  updateCycle: 'daily',
  fields: [
    { code: 'idNumber', name: '公民身份号码', dataType: 'C', length: 18, isKey: true, validator: 'idNumber' },
    { code: 'permitNo', name: '居住证号', dataType: 'C', length: 30 },
  ],
};

describe('catalog metadata: pure rules', () => {
  it('1272 guideline: the data type letter decides the storage type; an incompatible pair is refused naming the field', () => {
    expect(normaliseField({ code: 'amount', name: '金额', dataType: 'Y' }, 0).field.type).toBe('decimal');
    expect(normaliseField({ code: 'n', name: '人数', type: 'integer' }, 0).field.dataType).toBe('I');
    const bad = normaliseField({ code: 'd', name: '登记日期', dataType: 'D', type: 'string' }, 3);
    expect(bad.errors).toEqual([expect.objectContaining({ field: 'fields[3].dataType' })]);
    expect(bad.errors[0].reason).toContain('登记日期');
    for (const [letter, storage] of Object.entries(DATA_TYPE_STORAGE))
      expect(normaliseField({ code: 'x', name: 'x', dataType: letter as 'C' }, 0).field.type).toBe(storage);
  });

  it('GB/T 35273: sensitive-personal implies personal (normalised), personal: false with it is refused; GB/T 43697 important/core fields are masked by default', () => {
    const sp = normaliseField(
      { code: 'health', name: '健康状况', dataType: 'C', sensitivePersonal: true },
      0,
    );
    expect(sp.field).toMatchObject({ personal: true, sensitivePersonal: true, masking: 'partial' });
    const refused = normaliseField(
      { code: 'health', name: '健康状况', dataType: 'C', sensitivePersonal: true, personal: false },
      1,
    );
    expect(refused.errors.map((e) => e.field)).toEqual(['fields[1].personal']);
    const core = normaliseField(
      { code: 'coord', name: '坐标', dataType: 'C', securityLevel: 'core' },
      0,
    ).field;
    expect(core.masking).toBe('partial');
    // the one masking implementation applies the derived rule
    expect(maskRecord({ coord: '113.7512345,23.0212345' }, [{ ...core, personal: false }]).coord).not.toBe(
      '113.7512345,23.0212345',
    );
    expect(normaliseField({ code: 'plain', name: '备注', dataType: 'M' }, 0).field.masking).toBe('none');
  });

  it('GB/T 43697: a resource is graded at its highest field, the reason names the fields', () => {
    const g = resourceSecurityLevel([
      { code: 'a', name: '甲', securityLevel: 'general' },
      { code: 'b', name: '乙', securityLevel: 'important' },
      { code: 'c', name: '丙', securityLevel: 'important' },
    ]);
    expect(g.level).toBe('important');
    expect(g.reason.fields.map((f) => f.code)).toEqual(['b', 'c']);
    expect(resourceSecurityLevel([{ code: 'a', name: '甲' }]).level).toBe('general');
  });
});

describe('catalog metadata through the API (dongguan-2020)', () => {
  let env: TestEnv;
  let officer: string;
  let reviewer: string;
  let rsj: string;
  const call = async (cookie: string, method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) =>
    env.app.inject({ method, url, headers: { cookie }, payload: payload as object });
  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 200, entityRows: 50 } });
    officer = await login(env.app, 'gaj_officer');
    reviewer = await login(env.app, 'reviewer');
    rsj = await login(env.app, 'rsj_officer');
  });
  afterAll(async () => env?.close());

  it('DG Art 12, REFERENCE catalog classes: the tree holds 基础/主题/部门, the five base libraries, themes with a lead and contributors, with counts', async () => {
    const tree = (await call(rsj, 'GET', '/api/catalog/classes')).json();
    const names = tree.items
      .filter((n: { depth: number }) => n.depth === 1)
      .map((n: { name: string }) => n.name);
    expect(names).toEqual(['基础信息资源', '主题信息资源', '部门信息资源']);
    const base = tree.items.filter(
      (n: { kind: string; depth: number }) => n.kind === 'base' && n.depth === 2,
    );
    expect(base.map((n: { name: string }) => n.name)).toEqual([
      '人口',
      '法人单位',
      '自然资源和空间地理',
      '社会信用',
      '电子证照',
    ]);
    expect(base.find((n: { name: string }) => n.name === '人口').count).toBeGreaterThan(0);
    const themes = tree.items.filter(
      (n: { kind: string; depth: number }) => n.kind === 'theme' && n.depth === 2,
    );
    expect(themes.length).toBeGreaterThan(0);
    expect(themes.every((t: { lead: unknown }) => t.lead)).toBe(true);
    const root = tree.items.find((n: { depth: number; kind: string }) => n.depth === 1 && n.kind === 'base');
    expect(root.count).toBe(base.reduce((a: number, n: { count: number }) => a + n.count, 0));
  });

  it('DG Art 12: a theme entry is compiled by its lead or a contributing department; others are refused', async () => {
    const tree = (await call(reviewer, 'GET', '/api/catalog/classes')).json();
    const theme = tree.items.find(
      (n: { kind: string; depth: number; lead: { id: number } | null }) =>
        n.kind === 'theme' && n.depth === 2 && n.lead,
    );
    const gajOrg =
      (await call(officer, 'GET', '/api/auth/me')).json().user?.orgId ??
      (await env.ctx.db.selectFrom('org').select('id').where('code', '=', 'LJ-GAJ').executeTakeFirstOrThrow())
        .id;
    const member = [theme.lead.id, ...theme.contributors.map((c: { id: number }) => c.id)].includes(gajOrg);
    const entry = { ...ENTRY, name: '流动人口主题信息', classification: 'theme', classId: theme.id };
    const res = await call(officer, 'POST', '/api/catalog/resources', entry);
    if (member) expect(res.statusCode).toBe(201);
    else {
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('CATALOG_RULE_VIOLATED');
      expect(res.json().details[0].field).toBe('classId');
    }
    // the authority adds the department as a contributor: now it may file there
    const put = await call(reviewer, 'PUT', `/api/catalog/classes/${theme.id}/departments`, {
      leadOrgId: theme.lead.id,
      contributorOrgIds: [...theme.contributors.map((c: { id: number }) => c.id), gajOrg],
    });
    expect(put.statusCode).toBe(200);
    const again = await call(officer, 'POST', '/api/catalog/resources', {
      ...entry,
      name: '流动人口主题信息（二）',
    });
    expect(again.statusCode).toBe(201);
    expect(again.json().classification).toBe('theme');
    expect(again.json().classPath.map((c: { name: string }) => c.name)).toEqual(['主题信息资源', theme.name]);
    // a data officer cannot change the tree
    expect(
      (await call(officer, 'PUT', `/api/catalog/classes/${theme.id}/departments`, { leadOrgId: gajOrg }))
        .statusCode,
    ).toBe(403);
  });

  it('GB/T 21063.5: codes are front code (province + level char + department number) / sequence, one generator for demo and new entries, never reissued after retirement', async () => {
    const pop = await env.ctx.db
      .selectFrom('resource')
      .select('code')
      .where('name', '=', '人口基础信息')
      .executeTakeFirstOrThrow();
    expect(pop.code).toMatch(/^44[A-HJ-NP-Z]\d{3}\/\d{6}$/);
    const front = pop.code.split('/')[0];
    const a = (
      await call(officer, 'POST', '/api/catalog/resources', { ...ENTRY, name: '编码测试甲', submit: true })
    ).json();
    expect(a.code.startsWith(`${front}/`)).toBe(true);
    // publish and retire it; the next registration gets the next number, never the retired one
    await call(reviewer, 'POST', `/api/catalog/resources/${a.id}/publish`, {});
    const retired = await call(officer, 'POST', `/api/catalog/resources/${a.id}/retire`, {
      reason: '测试停用',
    });
    expect(retired.json().status).toBe('retired');
    const b = (
      await call(officer, 'POST', '/api/catalog/resources', { ...ENTRY, name: '编码测试乙' })
    ).json();
    expect(Number(b.code.split('/')[1])).toBe(Number(a.code.split('/')[1]) + 1);
    // a refused registration issues nothing: the number after b is b + 1
    const refused = await call(officer, 'POST', '/api/catalog/resources', {
      ...ENTRY,
      name: '编码测试丙',
      fields: [{ code: 'd', name: '日期', dataType: 'D', type: 'string', isKey: true }],
    });
    expect(refused.statusCode).toBe(400);
    const c = (
      await call(officer, 'POST', '/api/catalog/resources', { ...ENTRY, name: '编码测试丁' })
    ).json();
    expect(Number(c.code.split('/')[1])).toBe(Number(b.code.split('/')[1]) + 1);
    // another department has another front code (its own department number) in the same jurisdiction
    const other = (
      await call(rsj, 'POST', '/api/catalog/resources', { ...ENTRY, name: '编码测试戊' })
    ).json();
    expect(other.code.slice(0, 3)).toBe(front.slice(0, 3));
    expect(other.code.split('/')[0]).not.toBe(front);
  });

  it("1272 guideline: format, related codes (must exist and be visible), info system (the provider's own), publish date set on publication", async () => {
    const pop = await env.ctx.db
      .selectFrom('resource')
      .select('code')
      .where('name', '=', '人口基础信息')
      .executeTakeFirstOrThrow();
    const bad = await call(officer, 'POST', '/api/catalog/resources', {
      ...ENTRY,
      name: '关联测试',
      relatedCodes: ['99Z999/000001'],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details.map((d: { field: string }) => d.field)).toContain('relatedCodes[0]');
    const sys = await env.ctx.db
      .selectFrom('info_system')
      .innerJoin('org', 'org.id', 'info_system.owner_org_id')
      .select(['info_system.id', 'org.code'])
      .execute();
    const foreign = sys.find((s) => s.code !== 'LJ-GAJ');
    if (foreign) {
      const r = await call(officer, 'POST', '/api/catalog/resources', {
        ...ENTRY,
        name: '系统测试',
        infoSystemId: foreign.id,
      });
      expect(r.json().details.map((d: { field: string }) => d.field)).toContain('infoSystemId');
    }
    const ok = (
      await call(officer, 'POST', '/api/catalog/resources', {
        ...ENTRY,
        name: '关联测试二',
        format: 'spreadsheet',
        relatedCodes: [pop.code],
        submit: true,
      })
    ).json();
    expect(ok.format).toBe('spreadsheet');
    expect(ok.related).toEqual([expect.objectContaining({ code: pop.code, name: '人口基础信息' })]);
    expect(ok.publishedAt).toBeNull();
    const pub = (await call(reviewer, 'POST', `/api/catalog/resources/${ok.id}/publish`, {})).json();
    expect(pub.publishedAt).not.toBeNull();
  });

  it("GB/T 43697: editing a field's level makes a new version; on publication the resource level and its reason follow; the diff shows the change", async () => {
    const r = (
      await call(officer, 'POST', '/api/catalog/resources', { ...ENTRY, name: '定级测试', submit: true })
    ).json();
    expect(r.securityLevel).toBe('general');
    await call(reviewer, 'POST', `/api/catalog/resources/${r.id}/publish`, {});
    // a stated resource level that is not the fields' highest is refused
    const wrong = await call(officer, 'PUT', `/api/catalog/resources/${r.id}`, {
      ...ENTRY,
      name: '定级测试',
      securityLevel: 'core',
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().details.map((d: { field: string }) => d.field)).toContain('securityLevel');
    const fields = [{ ...ENTRY.fields[0], securityLevel: 'important' }, ENTRY.fields[1]];
    const saved = await call(officer, 'PUT', `/api/catalog/resources/${r.id}`, {
      ...ENTRY,
      name: '定级测试',
      fields,
      submit: true,
    });
    expect(saved.statusCode).toBe(200);
    // the live entry keeps its level until the new version is published
    expect(saved.json().securityLevel).toBe('general');
    const pub = (await call(reviewer, 'POST', `/api/catalog/resources/${r.id}/publish`, {})).json();
    expect(pub.securityLevel).toBe('important');
    expect(pub.securityReason.fields).toEqual([{ code: 'idNumber', name: '公民身份号码' }]);
    const hist = (await call(officer, 'GET', `/api/catalog/resources/${r.id}/versions`)).json();
    const paths = hist.items[0].diff.map((d: { path: string }) => d.path);
    expect(paths).toContain('fields.idNumber.securityLevel');
    expect(paths).toContain('securityLevel');
  });

  it('demo: every profile loads, with base-library and theme entries and fields at important and core level', async () => {
    for (const profile of PROFILE_IDS) {
      const e =
        profile === 'dongguan-2020'
          ? env
          : await createTestEnv({ profile, demo: { populationRows: 60, entityRows: 20 } });
      try {
        const rows = await e.ctx.db
          .selectFrom('resource')
          .select(['classification', 'security_level', 'class_id', 'code'])
          .execute();
        expect(
          rows.every((x) => x.class_id !== null),
          profile,
        ).toBe(true);
        expect(new Set(rows.map((x) => x.classification)), profile).toEqual(
          new Set(['base', 'theme', 'department']),
        );
        expect(
          rows.some((x) => x.security_level === 'core'),
          profile,
        ).toBe(true);
        expect(
          rows.some((x) => x.security_level === 'important'),
          profile,
        ).toBe(true);
        expect(
          rows.every((x) => /^44[A-HJ-NP-Z]\d{3}\/\d{6}$/.test(x.code)),
          profile,
        ).toBe(true);
        const themes = await e.ctx.db
          .selectFrom('catalog_class')
          .select(['name', 'lead_org_id'])
          .where('kind', '=', 'theme')
          .where('depth', '=', 2)
          .execute();
        expect(themes.length, profile).toBeGreaterThan(0);
      } finally {
        if (e !== env) await e.close();
      }
    }
    // four demo cities loaded one after the other (each now also raises its quality objections): more than the
    // default 60 s on a loaded 2-core machine
  }, 180_000);
});
