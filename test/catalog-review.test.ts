import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { effectiveShareType } from '../src/catalog/model.js';
import { getProfile, PROFILE_IDS } from '../src/profiles/index.js';
import { clearRows, codeOf, createTestEnv, dataPath, grantedApp, login, type TestEnv } from './helpers.js';

const ENTRY = {
  name: '居住证办理信息',
  summary: '居住证申领、签注和换领办理信息。',
  classification: 'department',
  topic: '人口',
  catalogLevel: 'city',
  shareType: 'conditional',
  shareConditions: '仅限办理公共服务事项时核验居住证状态',
  legalBasis: '《居住证暂行条例》第十二条',
  legalBasisKind: 'adminRegulation',
  shareMethod: 'api',
  openType: 'closed',
  updateCycle: 'daily',
  securityLevel: 'important',
  fields: [
    {
      code: 'idNumber',
      name: '公民身份号码',
      type: 'string',
      length: 18,
      isKey: true,
      validator: 'idNumber',
      securityLevel: 'important',
    },
    { code: 'permitNo', name: '居住证号', type: 'string', length: 30 },
  ],
};

describe('catalog review workflow (dongguan-2020)', () => {
  let env: TestEnv;
  let officer: string;
  let reviewer: string;
  let consumer: string;
  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 300, entityRows: 100 } });
    officer = await login(env.app, 'gaj_officer');
    reviewer = await login(env.app, 'reviewer');
    consumer = await login(env.app, 'rsj_officer');
  });
  afterAll(async () => env?.close());

  const call = (cookie: string, method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) =>
    env.app.inject({ method, url, headers: { cookie }, payload: payload as object });

  it('the demo city shows a submitted entry, a returned one and a new version under review', async () => {
    const inbox = (await call(reviewer, 'GET', '/api/catalog/review-inbox')).json();
    expect(inbox.items.some((x: { newVersion: boolean }) => x.newVersion)).toBe(true);
    expect(inbox.items.some((x: { newVersion: boolean }) => !x.newVersion)).toBe(true);
    const returned = await env.ctx.db
      .selectFrom('resource')
      .select('id')
      .where('status', '=', 'returned')
      .execute();
    expect(returned.length).toBeGreaterThan(0);
  });

  it('DG Art 11: registration makes a draft nobody outside the department sees; submit → the authority reviewer publishes a city-level entry', async () => {
    const reg = await call(officer, 'POST', '/api/catalog/resources', ENTRY);
    expect(reg.statusCode).toBe(201);
    const r = reg.json();
    expect(r.status).toBe('draft');
    expect((await call(consumer, 'GET', `/api/catalog/resources/${r.id}`)).statusCode).toBe(404);
    // a share request on an unpublished entry is refused
    expect((await call(reviewer, 'POST', `/api/catalog/resources/${r.id}/publish`, {})).json().code).toBe(
      'REVIEW_STATE_INVALID',
    );
    const sub = await call(officer, 'POST', `/api/catalog/resources/${r.id}/submit`);
    expect(sub.json().status).toBe('submitted');
    // the submitter cannot publish his own entry, and a department officer is not the city-level reviewer
    expect((await call(officer, 'POST', `/api/catalog/resources/${r.id}/publish`, {})).statusCode).toBe(403);
    const inbox = (await call(reviewer, 'GET', '/api/catalog/review-inbox')).json();
    expect(inbox.items.map((x: { resourceId: number }) => x.resourceId)).toContain(r.id);
    const dates = inbox.items.map((x: { submittedAt: string }) => x.submittedAt);
    expect([...dates].sort()).toEqual(dates);
    const pub = await call(reviewer, 'POST', `/api/catalog/resources/${r.id}/publish`, { comment: '同意' });
    expect(pub.statusCode).toBe(200);
    expect(pub.json()).toMatchObject({ status: 'published', version: 1 });
    expect((await call(consumer, 'GET', `/api/catalog/resources/${r.id}`)).statusCode).toBe(200);
  });

  it('DG Art 11: return with a comment, edit, resubmit; returning needs a comment', async () => {
    const r = (
      await call(officer, 'POST', '/api/catalog/resources', {
        ...ENTRY,
        name: '临时身份证明信息',
        submit: true,
      })
    ).json();
    expect(r.status).toBe('submitted');
    expect(
      (await call(reviewer, 'POST', `/api/catalog/resources/${r.id}/return`, { comment: ' ' })).statusCode,
    ).toBe(400);
    const ret = await call(reviewer, 'POST', `/api/catalog/resources/${r.id}/return`, {
      comment: '请补充信息项',
    });
    expect(ret.json().status).toBe('returned');
    const edited = await call(officer, 'PUT', `/api/catalog/resources/${r.id}`, {
      ...ENTRY,
      name: '临时身份证明信息',
      fields: [...ENTRY.fields, { code: 'issuedOn', name: '开具日期', type: 'date' }],
      submit: true,
    });
    expect(edited.statusCode).toBe(200);
    expect(edited.json().status).toBe('submitted');
    const hist = (await call(officer, 'GET', `/api/catalog/resources/${r.id}/versions`)).json();
    expect(hist.items[0]).toMatchObject({ versionNo: 2, status: 'submitted' });
    // the return stays in the history with its comment
    expect(hist.items[1]).toMatchObject({ versionNo: 1, decision: 'returned', comment: '请补充信息项' });
    expect(hist.items[0].diff).toContainEqual(
      expect.objectContaining({ path: 'fields.issuedOn', kind: 'added' }),
    );
    const notes = (await call(officer, 'GET', '/api/notifications')).json();
    expect(notes.items.map((n: { kind: string }) => n.kind)).toContain('catalog.returned');
    const pub = await call(reviewer, 'POST', `/api/catalog/resources/${r.id}/publish`, {
      comment: '同意发布',
    });
    expect(pub.statusCode, pub.body).toBe(200);
    expect(pub.json().status).toBe('published');
  });

  it('DG Art 11, XT Art 23.5: a new version of a published entry is reviewed while the old one stays live; the share type changes only on publication; diff and resource.version bump', async () => {
    const r = (
      await call(officer, 'POST', '/api/catalog/resources', { ...ENTRY, name: '户籍迁移信息', submit: true })
    ).json();
    await call(reviewer, 'POST', `/api/catalog/resources/${r.id}/publish`, {});
    const v2 = await call(officer, 'PUT', `/api/catalog/resources/${r.id}`, {
      ...ENTRY,
      name: '户籍迁移信息',
      shareType: 'unconditional',
      shareConditions: null,
      legalBasis: null,
      legalBasisKind: null,
      fields: [...ENTRY.fields, { code: 'movedOn', name: '迁移日期', type: 'date' }],
      submit: true,
    });
    expect(v2.statusCode).toBe(200);
    // the live entry is unchanged until the reviewer publishes
    const live = (await call(consumer, 'GET', `/api/catalog/resources/${r.id}`)).json();
    expect(live).toMatchObject({ status: 'published', shareType: 'conditional', version: 1 });
    expect(live.fields).toHaveLength(2);
    const pub = (await call(reviewer, 'POST', `/api/catalog/resources/${r.id}/publish`, {})).json();
    expect(pub).toMatchObject({ shareType: 'unconditional', version: 2 });
    expect(pub.fields.map((f: { code: string }) => f.code)).toEqual(['idNumber', 'permitNo', 'movedOn']);
    const hist = (await call(officer, 'GET', `/api/catalog/resources/${r.id}/versions`)).json();
    expect(hist.items.map((v: { versionNo: number; status: string }) => [v.versionNo, v.status])).toEqual([
      [2, 'published'],
      [1, 'superseded'],
    ]);
    const diff = hist.items[0].diff;
    expect(diff).toContainEqual(
      expect.objectContaining({ path: 'shareType', before: 'conditional', after: 'unconditional' }),
    );
    expect(diff).toContainEqual(expect.objectContaining({ path: 'fields.movedOn', kind: 'added' }));
    expect(hist.items[0].decidedBy.displayName).toBeTruthy();
    const audit = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'detail'])
      .where('resource_id', '=', r.id)
      .where('action', '=', 'catalog.publish')
      .execute();
    expect(audit).toHaveLength(2);
    // the share-type change is recorded with the article that puts it through review
    expect(audit.map((a) => (a.detail as { shareType?: unknown }).shareType)).toContainEqual({
      from: 'conditional',
      to: 'unconditional',
      article: 'DG Art 11',
    });
  });

  it('DG Art 11: publishing a new version bumps resource.version; the governed data API keeps serving the grant, then with the new metadata; retiring stops it', async () => {
    const population = await codeOf(env, '人口基础信息');
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: population,
      fields: ['idNumber', 'name'],
      appName: '版本切换测试应用',
    });
    const table = await env.ctx.db
      .selectFrom('resource')
      .select(['data_table', 'version'])
      .where('id', '=', g.resourceId)
      .executeTakeFirstOrThrow();
    // the clear record key (the ID number is encrypted at rest and `_key` is its keyed hash)
    const [first] = await clearRows(env, table.data_table!, { limit: 1 });
    const read = () =>
      env.app.inject({
        url: `${dataPath(population)}/records/${first.key}`,
        headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
      });
    expect((await read()).statusCode).toBe(200);
    // the demo left a new version of this entry under review: the live one keeps serving meanwhile
    const before = (await call(officer, 'GET', `/api/catalog/resources/${g.resourceId}`)).json();
    expect(before.workingVersion).toMatchObject({ status: 'submitted' });
    expect((await read()).statusCode).toBe(200);
    const pub = (await call(reviewer, 'POST', `/api/catalog/resources/${g.resourceId}/publish`, {})).json();
    expect(pub.version).toBeGreaterThan(table.version);
    expect(pub.fields.map((f: { code: string }) => f.code)).toContain('moveInDate');
    const after = await read();
    expect(after.statusCode).toBe(200);
    expect(Object.keys(after.json().record).sort()).toEqual(['idNumber', 'name']);
    await call(officer, 'POST', `/api/catalog/resources/${g.resourceId}/retire`, { reason: '测试停用' });
    expect((await read()).statusCode).not.toBe(200);
  });

  it('only additive field changes on a published entry: removing or retyping is FIELD_CHANGE_NOT_ADDITIVE', async () => {
    const r = (
      await call(officer, 'POST', '/api/catalog/resources', { ...ENTRY, name: '暂住登记信息', submit: true })
    ).json();
    await call(reviewer, 'POST', `/api/catalog/resources/${r.id}/publish`, {});
    const removed = await call(officer, 'PUT', `/api/catalog/resources/${r.id}`, {
      ...ENTRY,
      fields: [ENTRY.fields[0]],
    });
    expect(removed.statusCode).toBe(409);
    expect(removed.json().code).toBe('FIELD_CHANGE_NOT_ADDITIVE');
    const retyped = await call(officer, 'PUT', `/api/catalog/resources/${r.id}`, {
      ...ENTRY,
      fields: [ENTRY.fields[0], { code: 'permitNo', name: '居住证号', type: 'integer' }],
    });
    expect(retyped.json()).toMatchObject({ code: 'FIELD_CHANGE_NOT_ADDITIVE' });
    expect(retyped.json().details[0].field).toBe('fields[1].type');
  });

  it('retire with a reason: no longer requestable, the reason is recorded', async () => {
    const r = (
      await call(officer, 'POST', '/api/catalog/resources', {
        ...ENTRY,
        name: '旧版暂住证信息',
        submit: true,
      })
    ).json();
    await call(reviewer, 'POST', `/api/catalog/resources/${r.id}/publish`, {});
    expect(
      (await call(consumer, 'POST', `/api/catalog/resources/${r.id}/retire`, { reason: 'x' })).statusCode,
    ).toBe(403);
    const ret = await call(officer, 'POST', `/api/catalog/resources/${r.id}/retire`, {
      reason: '暂住证制度已由居住证取代',
    });
    expect(ret.json()).toMatchObject({ status: 'retired', retireReason: '暂住证制度已由居住证取代' });
    const app = (await call(consumer, 'POST', '/api/apps', { name: '停用测试应用' })).json();
    const req = await call(consumer, 'POST', '/api/sharing/requests', {
      resourceId: r.id,
      appId: app.app.id,
      fields: ['idNumber'],
      purpose: '核验',
      validUntil: '2099-12-31',
    });
    expect([404, 409]).toContain(req.statusCode);
  });

  it('DG Art 11: a section-level entry is reviewed by the head of its section and visible only inside the department', async () => {
    const orgs = (await call(officer, 'GET', '/api/orgs')).json();
    const gaj = orgs.find((o: { code: string }) => o.code === 'LJ-GAJ');
    const section = gaj.sections.find((s: { name: string }) => s.name === '人口管理科');
    const noSection = await call(officer, 'POST', '/api/catalog/resources', {
      ...ENTRY,
      catalogLevel: 'section',
    });
    expect(noSection.json().code).toBe('CATALOG_RULE_VIOLATED');
    expect(JSON.stringify(noSection.json().details)).toMatch(/DG Art 11/);
    const r = (
      await call(officer, 'POST', '/api/catalog/resources', {
        ...ENTRY,
        name: '户籍窗口工作台账',
        catalogLevel: 'section',
        sectionId: section.id,
        submit: true,
      })
    ).json();
    expect((await call(reviewer, 'POST', `/api/catalog/resources/${r.id}/publish`, {})).statusCode).toBe(403);
    const head = await login(env.app, 'gaj_head');
    expect(
      (await call(head, 'GET', '/api/catalog/review-inbox'))
        .json()
        .items.map((x: { resourceId: number }) => x.resourceId),
    ).toContain(r.id);
    expect((await call(head, 'POST', `/api/catalog/resources/${r.id}/publish`, {})).statusCode).toBe(200);
    expect((await call(consumer, 'GET', `/api/catalog/resources/${r.id}`)).statusCode).toBe(404);
    const staff = await login(env.app, 'gaj_staff');
    expect((await call(staff, 'GET', `/api/catalog/resources/${r.id}`)).statusCode).toBe(200);
  });

  it('DG Art 11: a department-level entry is reviewed by another data officer of the department, never by its submitter', async () => {
    const r = (
      await call(officer, 'POST', '/api/catalog/resources', {
        ...ENTRY,
        name: '户政业务统计',
        catalogLevel: 'department',
        submit: true,
      })
    ).json();
    expect((await call(officer, 'POST', `/api/catalog/resources/${r.id}/publish`, {})).statusCode).toBe(403);
    expect((await call(reviewer, 'POST', `/api/catalog/resources/${r.id}/publish`, {})).statusCode).toBe(403);
    // a second data officer of the department
    const me = (await call(officer, 'GET', '/api/auth/me')).json();
    const hash = (
      await env.ctx.db
        .selectFrom('app_user')
        .select('password_hash')
        .where('username', '=', 'gaj_officer')
        .executeTakeFirstOrThrow()
    ).password_hash;
    await env.ctx.db
      .insertInto('app_user')
      .values({
        username: 'gaj_officer2',
        display_name: '王二',
        org_id: me.user.org.id,
        section_id: null,
        roles: ['data_officer'],
        password_hash: hash,
      })
      .execute();
    const second = await login(env.app, 'gaj_officer2');
    expect((await call(second, 'POST', `/api/catalog/resources/${r.id}/publish`, {})).json().status).toBe(
      'published',
    );
  });
});

describe('consistency rules from the active profile (RULES.md §2)', () => {
  const envs = new Map<string, TestEnv>();
  beforeAll(async () => {
    for (const id of PROFILE_IDS)
      envs.set(id, await createTestEnv({ profile: id, demo: { populationRows: 200, entityRows: 100 } }));
  }, 240_000);
  afterAll(async () => {
    for (const e of envs.values()) await e.close();
  });
  const register = async (profile: string, body: object) => {
    const env = envs.get(profile)!;
    const cookie = await login(env.app, 'gaj_officer');
    return env.app.inject({
      method: 'POST',
      url: '/api/catalog/resources',
      headers: { cookie },
      payload: body,
    });
  };

  it('every profile loads the demo city with published, rule-abiding entries (GD Art 17: the population base library is unconditional under guangdong-2018)', async () => {
    for (const [id, env] of envs) {
      const base = await env.ctx.db
        .selectFrom('resource')
        .select(['share_type', 'status'])
        .where('classification', '=', 'base')
        .execute();
      expect(base.length, id).toBeGreaterThan(0);
      if (getProfile(id).catalog.baseLibrary.restricted === 'never')
        expect(
          base.every((b) => b.share_type === 'unconditional'),
          id,
        ).toBe(true);
      const published = await env.ctx.db
        .selectFrom('resource')
        .select('id')
        .where('status', '=', 'published')
        .execute();
      expect(published.length, id).toBeGreaterThanOrEqual(15);
    }
  });

  it('NY task 7: under nanyang-2022 a conditional resource without legal basis registers (no 500, migration 006 dropped resource_basis)', async () => {
    const res = await register('nanyang-2022', { ...ENTRY, legalBasis: null, legalBasisKind: null });
    expect(res.statusCode).toBe(201);
  });

  it('DG Art 19, XT Art 23, SY Art 23, GD Art 18: the legal-basis error cites the active profile’s article', async () => {
    const expected: Record<string, string> = {
      'dongguan-2020': 'DG Art 19',
      'xingtai-2024': 'XT Art 23',
      'shenyang-2019': 'SY Art 23',
      'guangdong-2018': 'GD Art 18',
    };
    for (const [id, art] of Object.entries(expected)) {
      const res = await register(id, { ...ENTRY, legalBasis: '', legalBasisKind: null });
      expect(res.statusCode, id).toBe(400);
      expect(res.json().code).toBe('LEGAL_BASIS_REQUIRED');
      const d = res.json().details.find((x: { field: string }) => x.field === 'legalBasis');
      expect(d.reason, id).toContain(art);
      expect(d.reason).not.toContain(id === 'dongguan-2020' ? 'XT' : 'DG Art 19');
    }
  });

  it('GD Art 17, SY Art 26: a base-library entry is refused conditional even with a legal basis; DG Art 21 accepts it with a law as basis', async () => {
    const base = { ...ENTRY, classification: 'base', legalBasisKind: 'law' };
    for (const id of ['guangdong-2018', 'shenyang-2019']) {
      const res = await register(id, base);
      expect(res.statusCode, id).toBe(400);
      expect(res.json().code).toBe('CATALOG_RULE_VIOLATED');
      expect(JSON.stringify(res.json().details)).toContain(getProfile(id).catalog.baseLibrary.article);
    }
    expect((await register('dongguan-2020', base)).statusCode).toBe(201);
    const other = await register('dongguan-2020', { ...base, legalBasisKind: 'other' });
    expect(other.json().code).toBe('LEGAL_BASIS_REQUIRED');
  });

  it('DG Art 24, GD Art 16: a basis of kind "other" (an internal document) is refused; XT and NY accept it', async () => {
    for (const id of ['dongguan-2020', 'guangdong-2018', 'shenyang-2019']) {
      const res = await register(id, { ...ENTRY, legalBasisKind: 'other' });
      expect(res.statusCode, id).toBe(400);
      expect(JSON.stringify(res.json().details), id).toContain(getProfile(id).catalog.basisKindArticle!);
    }
    for (const id of ['xingtai-2024', 'nanyang-2022'])
      expect(
        (await register(id, { ...ENTRY, name: `内部依据${id}`, legalBasisKind: 'other' })).statusCode,
        id,
      ).toBe(201);
  });

  it('not-shared implies closed and needs a reason text, citing each profile', async () => {
    for (const id of PROFILE_IDS) {
      const res = await register(id, { ...ENTRY, shareType: 'none', shareConditions: '', openType: 'open' });
      expect(res.statusCode, id).toBe(400);
      const fields = res.json().details.map((d: { field: string }) => d.field);
      expect(fields, id).toEqual(expect.arrayContaining(['openType', 'shareConditions']));
      const open = res.json().details.find((d: { field: string }) => d.field === 'openType');
      expect(open.reason, id).toContain(getProfile(id).catalog.noneClosedArticle);
    }
  });
});

describe('effectiveShareType (DG Art 19, XT Art 23, GD Art 18)', () => {
  it('DG Art 19: conditional or not-shared without an approved negative-list entry is unconditional', () => {
    expect(effectiveShareType({ shareType: 'conditional' }, false)).toBe('unconditional');
    expect(effectiveShareType({ shareType: 'none' }, false)).toBe('unconditional');
    expect(effectiveShareType({ shareType: 'conditional' }, true)).toBe('conditional');
    expect(effectiveShareType({ shareType: 'none' }, true)).toBe('none');
    expect(effectiveShareType({ shareType: 'unconditional' }, false)).toBe('unconditional');
  });
  it('XT Art 23, GD Art 18 apply the rule; nanyang-2022 names no negative list and keeps the registered type', () => {
    expect(effectiveShareType({ shareType: 'conditional' }, false, getProfile('xingtai-2024'))).toBe(
      'unconditional',
    );
    expect(effectiveShareType({ shareType: 'conditional' }, false, getProfile('guangdong-2018'))).toBe(
      'unconditional',
    );
    expect(effectiveShareType({ shareType: 'conditional' }, false, getProfile('nanyang-2022'))).toBe(
      'conditional',
    );
  });
  it('DG Art 11: every profile maps each catalog level to a reviewer and a visibility, citing an article', () => {
    for (const id of PROFILE_IDS) {
      const l = getProfile(id).catalog.levels;
      for (const level of ['city', 'department', 'section'] as const)
        expect(l[level].article, id).toBeTruthy();
      expect(l.section.visibleTo, id).toBe('department');
      expect(l.city.reviewer, id).toBe('authority');
    }
  });
});
