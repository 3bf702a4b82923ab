import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAcceptance } from '../src/inventory/model.js';
import { getProfile } from '../src/profiles/index.js';
import { createTestEnv, login, type TestEnv } from './helpers.js';

type Env = TestEnv;

async function call(env: Env, cookie: string, method: string, url: string, payload?: unknown) {
  return env.app.inject({ method: method as 'GET', url, headers: { cookie }, payload: payload as object });
}

async function resourceId(env: Env, cookie: string, name: string): Promise<number> {
  const res = await call(
    env,
    cookie,
    'GET',
    `/api/catalog/resources?q=${encodeURIComponent(name)}&pageSize=50`,
  );
  const r = res.json().items.find((x: { name: string }) => x.name === name);
  if (!r) throw new Error(`no resource ${name}`);
  return r.id;
}

describe('inventories under dongguan-2020', () => {
  let env: Env;
  let reviewer: string;
  let admin: string;
  let mzj: string;
  let rsj: string;
  let gaj: string;
  let jtj: string;
  let zrj: string;
  beforeAll(async () => {
    env = await createTestEnv({ profile: 'dongguan-2020' });
    [reviewer, admin, mzj, rsj, gaj, jtj, zrj] = await Promise.all(
      ['reviewer', 'admin', 'mzj_officer', 'rsj_officer', 'gaj_officer', 'jtj_officer', 'zrj_officer'].map(
        (u) => login(env.app, u),
      ),
    );
  });
  afterAll(async () => env?.close());

  describe('negative list', () => {
    it('DG Art 19: the demo has an approved and a pending entry; hasApprovedNegativeEntry says which is in force', async () => {
      const list = (await call(env, reviewer, 'GET', '/api/inventory/negative-list')).json();
      // every restricted demo resource is listed and approved, but for one entry waiting (issue 8: the demo keeps
      // realistic conditional resources, which need an entry in force)
      const statuses = list.items.map((i: { status: string }) => i.status);
      expect(statuses.filter((s: string) => s === 'proposed')).toHaveLength(1);
      expect(statuses.filter((s: string) => s === 'approved').length).toBeGreaterThan(1);
      expect(new Set(statuses)).toEqual(new Set(['approved', 'proposed']));
      expect(list.rule).toEqual({ authority: 'approves', article: 'DG Art 19' });
      const { hasApprovedNegativeEntry } = await import('../src/inventory/store.js');
      const approved = list.items.find((i: { status: string }) => i.status === 'approved');
      const pending = list.items.find((i: { status: string }) => i.status === 'proposed');
      expect(await hasApprovedNegativeEntry(env.ctx.db, approved.resource.id)).toBe(true);
      expect(await hasApprovedNegativeEntry(env.ctx.db, pending.resource.id)).toBe(false);
    });

    it('DG Art 19: only the providing department’s officer proposes; only for conditional/not-shared resources', async () => {
      const low = await resourceId(env, mzj, '最低生活保障对象信息');
      const body = {
        resourceId: low,
        basisKind: 'adminRegulation',
        basisText: '《社会救助暂行办法》',
        reason: '涉及困难群众隐私',
      };
      expect((await call(env, rsj, 'POST', '/api/inventory/negative-list', body)).statusCode).toBe(403);
      expect((await call(env, reviewer, 'POST', '/api/inventory/negative-list', body)).statusCode).toBe(403);
      const road = await resourceId(env, jtj, '道路运输经营许可信息');
      const bad = await call(env, jtj, 'POST', '/api/inventory/negative-list', { ...body, resourceId: road });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().details[0].field).toBe('resourceId');
    });

    it('DG Art 24: a basis of kind "other" (an internal document) is refused', async () => {
      const low = await resourceId(env, mzj, '最低生活保障对象信息');
      const res = await call(env, mzj, 'POST', '/api/inventory/negative-list', {
        resourceId: low,
        basisKind: 'other',
        basisText: '局内部通知',
        reason: '内部规定',
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().details[0]).toMatchObject({ field: 'basisKind' });
      expect(res.json().details[0].reason).toContain('DG Art 19');
    });

    it('DG Art 19: the authority reviewer approves or rejects with a comment; officers cannot decide; one live entry per resource', async () => {
      const low = await resourceId(env, mzj, '最低生活保障对象信息');
      const created = await call(env, mzj, 'POST', '/api/inventory/negative-list', {
        resourceId: low,
        basisKind: 'adminRegulation',
        basisText: '《社会救助暂行办法》第六十六条',
        reason: '涉及困难群众隐私，仅向核对机构有条件共享',
      });
      expect(created.statusCode).toBe(201);
      const id = created.json().id;
      expect(created.json().status).toBe('proposed');
      const again = await call(env, mzj, 'POST', '/api/inventory/negative-list', {
        resourceId: low,
        basisKind: 'law',
        basisText: 'x',
        reason: 'y',
      });
      expect(again.statusCode).toBe(409);
      expect(
        (await call(env, mzj, 'POST', `/api/inventory/negative-list/${id}/decide`, { approve: true }))
          .statusCode,
      ).toBe(403);
      expect(
        (await call(env, admin, 'POST', `/api/inventory/negative-list/${id}/decide`, { approve: true }))
          .statusCode,
      ).toBe(403);
      const noReason = await call(env, reviewer, 'POST', `/api/inventory/negative-list/${id}/decide`, {
        approve: false,
      });
      expect(noReason.statusCode).toBe(400);
      const rejected = await call(env, reviewer, 'POST', `/api/inventory/negative-list/${id}/decide`, {
        approve: false,
        comment: '请补充具体条款',
      });
      expect(rejected.json()).toMatchObject({
        status: 'rejected',
        comment: '请补充具体条款',
        inForce: false,
      });
      expect(
        (await call(env, reviewer, 'POST', `/api/inventory/negative-list/${id}/decide`, { approve: true }))
          .statusCode,
      ).toBe(409);
      const audit = await env.ctx.db
        .selectFrom('audit_log')
        .select('action')
        .where('target_type', '=', 'negative_list_entry')
        .where('target_id', '=', String(id))
        .orderBy('id')
        .execute();
      expect(audit.map((a) => a.action)).toEqual([
        'inventory.negative_proposed',
        'inventory.negative_rejected',
      ]);
    });

    it('DG Art 19: departments see only their own entries; filters by department and status; CSV export with BOM', async () => {
      const own = (await call(env, mzj, 'GET', '/api/inventory/negative-list')).json();
      expect(own.items.every((i: { org: { name: string } }) => i.org.name === '临江市民政局')).toBe(true);
      const all = (await call(env, reviewer, 'GET', '/api/inventory/negative-list?status=approved')).json();
      expect(all.items.length).toBeGreaterThan(1);
      expect(all.items.every((i: { status: string }) => i.status === 'approved')).toBe(true);
      const csv = await call(env, reviewer, 'GET', '/api/inventory/negative-list.csv');
      expect(csv.statusCode).toBe(200);
      expect(csv.headers['content-type']).toContain('text/csv');
      expect(csv.body.startsWith('\uFEFF序号,部门,资源代码')).toBe(true);
      expect(csv.body).toContain('《中华人民共和国统计法》');
      expect(csv.body).toContain('已批准');
    });
  });

  describe('update duties', () => {
    it('DG Art 11: 15 WD after the change, across the 2026 National Day holiday (2026-09-24 → 2026-10-22)', async () => {
      // By hand from the 2026 notice: 9/25–27 and 10/1–7 off, 10/10 (Sat) worked. Start day not counted:
      // 9/28, 9/29, 9/30 (3), 10/8, 10/9, 10/10 (6), 10/12–16 (11), 10/19–22 (15).
      const res = await call(env, rsj, 'POST', '/api/inventory/duties', {
        changeKind: 'legal',
        whatChanged: '《社会保险经办条例》施行，参保登记信息项调整',
        basis: '国务院令第765号',
        changeDate: '2026-09-24',
      });
      expect(res.statusCode).toBe(201);
      const d = res.json();
      expect(d).toMatchObject({
        dueDate: '2026-10-22',
        article: 'DG Art 11',
        deadline: { amount: 15, unit: 'WD' },
      });
      expect(d.candidates.length).toBeGreaterThan(0);
      // the department's officers were told
      const n = (await call(env, rsj, 'GET', '/api/notifications')).json();
      expect(n.items.some((x: { kind: string }) => x.kind === 'inventory.updateDuty')).toBe(true);
    });

    it('DG Art 11: the officer ticks affected entries (own only) and marks the duty done; others may not', async () => {
      const list = (await call(env, rsj, 'GET', '/api/inventory/duties?status=open')).json();
      const duty = list.items.find((d: { whatChanged: string }) =>
        d.whatChanged.includes('社会保险经办条例'),
      );
      const detail = (await call(env, rsj, 'GET', `/api/inventory/duties/${duty.id}`)).json();
      const pop = await resourceId(env, gaj, '人口基础信息');
      const foreign = await call(env, rsj, 'PUT', `/api/inventory/duties/${duty.id}/resources`, {
        resourceIds: [pop],
      });
      expect(foreign.statusCode).toBe(400);
      const ticked = await call(env, rsj, 'PUT', `/api/inventory/duties/${duty.id}/resources`, {
        resourceIds: [detail.candidates[0].id],
      });
      expect(ticked.json().affectedResources.map((r: { id: number }) => r.id)).toEqual([
        detail.candidates[0].id,
      ]);
      expect((await call(env, gaj, 'GET', `/api/inventory/duties/${duty.id}`)).statusCode).toBe(404);
      expect(
        (await call(env, reviewer, 'POST', `/api/inventory/duties/${duty.id}/done`, {})).statusCode,
      ).toBe(403);
      const done = await call(env, rsj, 'POST', `/api/inventory/duties/${duty.id}/done`, {
        note: '已更新目录',
      });
      expect(done.json()).toMatchObject({ status: 'done', overdue: false });
    });

    it('DG Art 11: a data officer records only for its own department; the authority for any; overdue duties show working days overdue', async () => {
      const rsjOrg = (await call(env, rsj, 'GET', '/api/inventory/duties')).json().items[0].org.id;
      const body = {
        orgId: rsjOrg,
        changeKind: 'functional',
        whatChanged: '职能调整',
        basis: '三定方案',
        changeDate: '2026-11-02',
      };
      expect((await call(env, gaj, 'POST', '/api/inventory/duties', body)).statusCode).toBe(403);
      expect((await call(env, reviewer, 'POST', '/api/inventory/duties', body)).statusCode).toBe(201);
      const overdue = (await call(env, reviewer, 'GET', '/api/inventory/duties?overdueOnly=true')).json();
      expect(overdue.items.length).toBeGreaterThan(0);
      for (const d of overdue.items) {
        expect(d.overdue).toBe(true);
        expect(d.workdaysOverdue).toBeGreaterThan(0);
      }
      expect(overdue.items.some((d: { whatChanged: string }) => d.whatChanged.includes('失业保险条例'))).toBe(
        true,
      );
    });
  });

  describe('information systems', () => {
    it('DG Art 13/22: a fiscally funded system without mounted resources cannot be accepted (SYSTEM_NOT_READY)', async () => {
      const list = (await call(env, zrj, 'GET', '/api/inventory/systems')).json();
      const sys = list.items.find((s: { name: string }) => s.name.startsWith('不动产登记信息平台'));
      expect(sys).toMatchObject({
        fiscal: true,
        status: 'built',
        readyForAcceptance: false,
        problems: ['noResources'],
      });
      const res = await call(env, zrj, 'POST', `/api/inventory/systems/${sys.id}/status`, {
        status: 'accepted',
      });
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe('SYSTEM_NOT_READY');
      expect(res.json().details[0].reason).toContain('DG Art 13, DG Art 22');
    });

    it('DG Art 22: a mounted resource with no data loaded is not ready either; once loaded the system is accepted', async () => {
      const reg = await call(env, jtj, 'POST', '/api/inventory/systems', {
        name: '道路运输管理系统',
        fiscal: true,
        status: 'built',
      });
      expect(reg.statusCode).toBe(201);
      const sid = reg.json().id;
      // a new, empty resource of the department
      const created = await call(env, jtj, 'POST', '/api/catalog/resources', {
        name: '出租汽车驾驶员从业资格信息',
        summary: '出租汽车驾驶员从业资格证信息',
        classification: 'department',
        catalogLevel: 'department',
        shareType: 'unconditional',
        updateCycle: 'monthly',
        fields: [
          { code: 'certNo', name: '从业资格证号', type: 'string', length: 30, isKey: true, required: true },
        ],
      });
      expect(created.statusCode).toBe(201);
      const rid = created.json().id;
      const mounted = await call(env, jtj, 'PUT', `/api/inventory/systems/${sid}/resources/${rid}`);
      expect(mounted.json()).toMatchObject({ mounted: 1, problems: ['noData'] });
      const refused = await call(env, jtj, 'POST', `/api/inventory/systems/${sid}/status`, {
        status: 'accepted',
      });
      expect(refused.statusCode).toBe(409);
      const up = await env.app.inject({
        method: 'POST',
        url: `/api/ingest/resources/${rid}/csv?filename=c.csv`,
        headers: { cookie: jtj, 'content-type': 'text/csv' },
        payload: 'certNo\nJT2026000001\n',
      });
      expect(up.statusCode).toBe(200);
      const ok = await call(env, jtj, 'POST', `/api/inventory/systems/${sid}/status`, { status: 'accepted' });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toMatchObject({ status: 'accepted', readyForAcceptance: true });
    });

    it('DG Art 13: a non-fiscal system may be accepted without the check; only the owner or the authority manages it; compliance filter', async () => {
      const reg = await call(env, gaj, 'POST', '/api/inventory/systems', {
        name: '警务内部办公系统',
        fiscal: false,
        status: 'built',
      });
      const sid = reg.json().id;
      expect(
        (await call(env, rsj, 'POST', `/api/inventory/systems/${sid}/status`, { status: 'accepted' }))
          .statusCode,
      ).toBe(404);
      expect(
        (await call(env, gaj, 'POST', `/api/inventory/systems/${sid}/status`, { status: 'accepted' }))
          .statusCode,
      ).toBe(200);
      const notReady = (await call(env, reviewer, 'GET', '/api/inventory/systems?notReady=true')).json();
      expect(notReady.items.every((s: { readyForAcceptance: boolean }) => !s.readyForAcceptance)).toBe(true);
      expect(notReady.items.some((s: { name: string }) => s.name === '警务内部办公系统')).toBe(true);
    });
  });

  describe('responsibility and demand lists', () => {
    it('NY task 6 / SY Art 18: a demand gets match proposals from the catalog; the officer confirms one', async () => {
      const res = await call(env, rsj, 'POST', '/api/inventory/demands', {
        name: '婚姻登记信息',
        purpose: '办理遗属待遇时核验婚姻关系',
        basis: '《社会保险法》',
        wantedFields: ['男方姓名'],
      });
      expect(res.statusCode).toBe(201);
      const d = res.json();
      expect(d.state).toBe('proposed');
      const marriage = await resourceId(env, mzj, '婚姻登记信息');
      expect(d.matches[0].resource.id).toBe(marriage);
      expect(d.matches[0].matchedTerms).toContain('婚姻登记信息');
      expect(
        (
          await call(env, mzj, 'POST', `/api/inventory/demands/${d.id}/matches/${marriage}`, {
            confirm: true,
          })
        ).statusCode,
      ).toBe(404);
      const ok = await call(env, rsj, 'POST', `/api/inventory/demands/${d.id}/matches/${marriage}`, {
        confirm: true,
      });
      expect(ok.json().state).toBe('matched');
    });

    it('SY Art 18: unmatched demands reach the authority; the supply–demand matching list exports as CSV', async () => {
      const unmatched = (await call(env, reviewer, 'GET', '/api/inventory/demands?state=unmatched')).json();
      expect(unmatched.items.map((d: { name: string }) => d.name)).toContain('殡葬火化信息');
      const csv = await call(env, reviewer, 'GET', '/api/inventory/matching.csv');
      expect(csv.body.startsWith('\uFEFF序号,需求部门,需求事项')).toBe(true);
      expect(csv.body).toContain('殡葬火化信息');
      expect(csv.body).toContain('未匹配');
      expect(csv.body).toContain('已确认');
    });

    it('NY task 6: the responsibility list links catalog entries; an officer links only its own', async () => {
      const pop = await resourceId(env, gaj, '人口基础信息');
      expect(
        (await call(env, rsj, 'POST', '/api/inventory/responsibilities', { name: '户籍', resourceId: pop }))
          .statusCode,
      ).toBe(403);
      const list = (await call(env, reviewer, 'GET', '/api/inventory/responsibilities')).json();
      expect(list.items.some((i: { resource: { id: number } | null }) => i.resource?.id === pop)).toBe(true);
    });
  });

  describe('open list', () => {
    it('XT Art 28: a department proposes, the authority reviewer performs the confidentiality review, the list is published', async () => {
      const res = await call(env, zrj, 'POST', '/api/inventory/open-list', {
        resourceId: await resourceId(env, zrj, '不动产登记信息'),
        openType: 'onApplication',
        conditions: '仅向权利人本人开放',
      });
      expect(res.statusCode).toBe(201);
      const id = res.json().id;
      expect(
        (await call(env, zrj, 'POST', `/api/inventory/open-list/${id}/decide`, { approve: true })).statusCode,
      ).toBe(403);
      const ok = await call(env, reviewer, 'POST', `/api/inventory/open-list/${id}/decide`, {
        approve: true,
        comment: '同意',
      });
      expect(ok.json().status).toBe('approved');
      const pub = await env.app.inject({ url: '/api/inventory/open-list/published' });
      expect(pub.statusCode).toBe(200);
      const names = pub
        .json()
        .departments.flatMap((g: { items: { resource: { name: string } }[] }) =>
          g.items.map((i) => i.resource.name),
        );
      expect(names).toContain('不动产登记信息');
      expect(names).toContain('道路运输经营许可信息');
      expect(names).not.toContain('排污许可证信息'); // still under review
    });

    it('not-shared implies not-open: a not-shared resource cannot be proposed', async () => {
      const tjj = await login(env.app, 'tjj_officer');
      const res = await call(env, tjj, 'POST', '/api/inventory/open-list', {
        resourceId: await resourceId(env, tjj, '第五次全国经济普查单位资料'),
        openType: 'open',
      });
      expect(res.statusCode).toBe(400);
    });
  });
});

describe('inventories under shenyang-2019', () => {
  let env: Env;
  beforeAll(async () => {
    env = await createTestEnv({ profile: 'shenyang-2019' });
  });
  afterAll(async () => env?.close());

  it('SY Art 23: negative-list entries are filed with the authority, in force without approval', async () => {
    const reviewer = await login(env.app, 'reviewer');
    const list = (await call(env, reviewer, 'GET', '/api/inventory/negative-list')).json();
    expect(list.rule).toEqual({ authority: 'filed', article: 'SY Art 23' });
    expect(list.items.length).toBeGreaterThan(1);
    expect(list.items.every((i: { status: string }) => i.status === 'filed')).toBe(true);
    expect(list.items.every((i: { canDecide: boolean; inForce: boolean }) => !i.canDecide && i.inForce)).toBe(
      true,
    );
  });

  it('SY Art 19: the regulation sets no update deadline, so a duty has no due date and is never overdue', async () => {
    const mzj = await login(env.app, 'mzj_officer');
    const res = await call(env, mzj, 'POST', '/api/inventory/duties', {
      changeKind: 'legal',
      whatChanged: '《社会救助暂行办法》修订',
      basis: '国务院令',
      changeDate: '2026-01-05',
    });
    expect(res.json()).toMatchObject({ dueDate: null, overdue: false, article: 'SY Art 19' });
  });
});

describe('the demo city loads its inventories under every profile', () => {
  for (const profile of ['xingtai-2024', 'nanyang-2022', 'guangdong-2018']) {
    it(`${profile}: negative list, duties, systems, demands and open list are there`, async () => {
      const env = await createTestEnv({ profile, demo: { populationRows: 50, entityRows: 20 } });
      try {
        const reviewer = await login(env.app, 'reviewer');
        const inbox = (await call(env, reviewer, 'GET', '/api/inventory/inbox')).json();
        expect(inbox.negativePending).toBe(1);
        expect(inbox.openPending).toBe(1);
        expect(inbox.dutiesOpen).toBe(2);
        expect(inbox.demandsUnmatched).toBeGreaterThan(0);
        expect(inbox.systemsNotReady).toBe(2);
      } finally {
        await env.close();
      }
    });
  }
});

describe('inventories under nanyang-2022 (no catalog.systemAcceptanceArticle)', () => {
  let env: Env;
  beforeAll(async () => {
    env = await createTestEnv({ profile: 'nanyang-2022', demo: { populationRows: 60, entityRows: 20 } });
  }, 300_000);
  afterAll(async () => env?.close());

  it('NY names no acceptance rule: a fiscally funded system with nothing mounted is accepted; the problems stay listed', async () => {
    expect(getProfile('nanyang-2022').catalog.systemAcceptanceArticle).toBeUndefined();
    const zrj = await login(env.app, 'zrj_officer');
    const list = (await call(env, zrj, 'GET', '/api/inventory/systems')).json();
    const sys = list.items.find((s: { name: string }) => s.name.startsWith('不动产登记信息平台'));
    // the same system DG refuses (SYSTEM_NOT_READY, DG Art 13/22): fiscal, built, no resources mounted
    expect(sys).toMatchObject({
      fiscal: true,
      status: 'built',
      problems: ['noResources'],
      acceptanceArticle: null,
    });
    const res = await call(env, zrj, 'POST', `/api/inventory/systems/${sys.id}/status`, {
      status: 'accepted',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'accepted',
      problems: ['noResources'],
      acceptanceArticle: null,
    });
    // and the pure rule says the same for a mounted resource without data
    expect(
      checkAcceptance(getProfile('nanyang-2022'), { fiscal: true }, 'accepted', { mounted: 1, empty: 1 }),
    ).toEqual([]);
    expect(
      checkAcceptance(getProfile('dongguan-2020'), { fiscal: true }, 'accepted', { mounted: 1, empty: 1 }),
    ).toHaveLength(1);
  });
});
