import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creditCodeCheckChar } from '../src/ingest/checksums.js';
import { type ManualClock, manualClock } from '../src/shared/clock.js';
import { createTestEnv, login, type TestEnv } from './helpers.js';

/*
 * Issue 11 points 5–7: governance of the open portal.
 *   XT Art 33 — the authority restricts or closes a user's access to data for misuse and may publish it on the platform;
 *   SY Art 39 — a third party operates cleansed, de-identified data: department applies, authority reviews, government
 *               approves; SY Art 40 — the department files what the operator produces with the authority;
 *   SY Art 34 — the basis of not opening is public; XT Art 28 — open lists published after the confidentiality review.
 * Each procedure exists only under the profile that names it.
 */
const PASSWORD = 'Kaifang#Shuju2026';
// biome-ignore lint/suspicious/noExplicitAny: responses are read field by field, as in the other API tests
type Res = { statusCode: number; json: () => any; body: string };

async function call(
  env: TestEnv,
  method: 'GET' | 'POST',
  url: string,
  opts: { cookie?: string; payload?: unknown; headers?: Record<string, string> } = {},
): Promise<Res> {
  const res = await env.app.inject({
    method,
    url,
    headers: { ...(opts.cookie ? { cookie: opts.cookie } : {}), ...(opts.headers ?? {}) },
    payload: opts.payload as object,
  });
  return { statusCode: res.statusCode, json: () => res.json(), body: res.body };
}

async function citizen(env: TestEnv, contact: string, displayName: string) {
  const reg = await call(env, 'POST', '/api/open/account/register', {
    payload: { contact, password: PASSWORD, displayName, accountType: 'citizen' },
  });
  expect(reg.statusCode, reg.body).toBe(200);
  const cookie = await signIn(env, contact);
  expect(cookie).not.toBeNull();
  const key = await call(env, 'POST', '/api/open/account/keys', {
    cookie: cookie!,
    payload: { name: '脚本' },
  });
  expect(key.statusCode, key.body).toBe(200);
  const me = await call(env, 'GET', '/api/open/account', { cookie: cookie! });
  return { id: me.json().id as number, cookie: cookie!, apiKey: key.json().apiKey as string };
}

async function signIn(env: TestEnv, contact: string): Promise<string | null> {
  const res = await env.app.inject({
    method: 'POST',
    url: '/api/open/account/login',
    payload: { contact, password: PASSWORD },
  });
  const c = res.cookies.find((x) => x.name === 'gs_open');
  return res.statusCode === 200 && c ? `gs_open=${c.value}` : null;
}

const audits = (env: TestEnv, action: string, decision?: 'allow' | 'deny') => {
  let q = env.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', action);
  if (decision) q = q.where('decision', '=', decision);
  return q.orderBy('id').execute();
};

describe('violations under xingtai-2024 (XT Art 33)', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ profile: 'xingtai-2024', demo: { populationRows: 40, entityRows: 40 } });
  }, 300_000);
  afterAll(async () => env?.close());

  it('XT Art 33: restricting an account refuses its API calls and applications, audited; lifting restores them', async () => {
    const a = await citizen(env, 'misuse@example.cn', '张三丰');
    const headers = { 'x-api-key': a.apiKey };
    expect((await call(env, 'GET', '/api/3/action/package_list', { headers })).statusCode).toBe(200);
    const reviewer = await login(env.app, 'reviewer');
    const found = await call(env, 'GET', '/api/opening/accounts?q=misuse', { cookie: reviewer });
    expect(found.json().map((x: { id: number }) => x.id)).toEqual([a.id]);
    const imposed = await call(env, 'POST', '/api/opening/restrictions', {
      cookie: reviewer,
      payload: { accountId: a.id, measure: 'restrict', reason: '超出申请用途转售数据', publish: true },
    });
    expect(imposed.statusCode, imposed.body).toBe(201);
    expect(imposed.json()).toMatchObject({ measure: 'restrict', status: 'active', article: 'XT Art 33' });
    // the key's calls are refused with a coded error, and the refusal is audited
    const refused = await call(env, 'GET', '/api/3/action/package_list', { headers });
    expect(refused.statusCode).toBe(403);
    // CKAN's error shape for CKAN clients
    expect(refused.json().error).toMatchObject({ __type: 'Authorization Error' });
    expect(refused.json().error.message).toContain('restricted');
    // the portal session too, for calls; the holder still signs in and sees why
    const me = await call(env, 'GET', '/api/open/account', { cookie: a.cookie });
    expect(me.json().restriction).toMatchObject({ measure: 'restrict', reason: '超出申请用途转售数据' });
    // … and its inbox on the portal tells it
    const inbox = (await call(env, 'GET', '/api/open/account/notices', { cookie: a.cookie })).json();
    expect(inbox.unread).toBe(1);
    expect(inbox.items[0]).toMatchObject({
      kind: 'accessRestricted',
      params: { reason: '超出申请用途转售数据', article: 'XT Art 33' },
    });
    const apply = await call(env, 'POST', '/api/open/applications', {
      cookie: a.cookie,
      payload: { resourceId: 1, purpose: '研究' },
    });
    expect(apply.json().code).toBe('OPEN_ACCESS_RESTRICTED');
    const denied = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision', 'detail'])
      .where('decision', '=', 'deny')
      .where(sql<boolean>`detail::text LIKE '%OPEN_ACCESS_RESTRICTED%'`)
      .execute();
    expect(denied.length).toBeGreaterThanOrEqual(2);
    // published on the portal with the name masked
    const pub = await call(env, 'GET', '/api/open/violations');
    expect(pub.json().items[0]).toMatchObject({ account: '张**', measure: 'restrict', article: 'XT Art 33' });
    expect(pub.body).not.toContain('misuse@example.cn');
    expect(pub.body).not.toContain('张三丰');
    // lifted: calls work again
    const lifted = await call(env, 'POST', `/api/opening/restrictions/${imposed.json().id}/lift`, {
      cookie: reviewer,
      payload: { reason: '已整改' },
    });
    expect(lifted.json().status).toBe('lifted');
    expect((await call(env, 'GET', '/api/3/action/package_list', { headers })).statusCode).toBe(200);
    const after = (await call(env, 'GET', '/api/open/account/notices', { cookie: a.cookie })).json();
    expect(after.items.map((n: { kind: string }) => n.kind)).toEqual(['accessRestored', 'accessRestricted']);
    expect(after.unread).toBe(2);
    expect((await audits(env, 'open.violation.restrict', 'allow')).length).toBe(1);
    expect((await audits(env, 'open.violation.lift', 'allow')).length).toBe(1);
  });

  it('XT Art 33: closing an account ends its sessions, refuses its keys and its sign-in; an unpublished decision stays off the portal', async () => {
    const b = await citizen(env, 'closed@example.cn', '李四');
    const reviewer = await login(env.app, 'reviewer');
    const closed = await call(env, 'POST', '/api/opening/restrictions', {
      cookie: reviewer,
      payload: { accountId: b.id, measure: 'close', reason: '批量爬取并公开发布个人信息', publish: false },
    });
    expect(closed.statusCode, closed.body).toBe(201);
    expect((await call(env, 'GET', '/api/open/account', { cookie: b.cookie })).json().code).toBe(
      'OPEN_ACCOUNT_REQUIRED',
    );
    const keyed = await call(env, 'GET', '/api/3/action/package_list', {
      headers: { 'x-api-key': b.apiKey },
    });
    expect(keyed.statusCode).toBe(403);
    expect(keyed.json().error.message).toContain('closed');
    expect(await signIn(env, 'closed@example.cn')).toBeNull();
    const pub = await call(env, 'GET', '/api/open/violations');
    expect(pub.body).not.toContain('批量爬取');
  });

  it('only the authority reviewer imposes a measure; a department officer is refused and the refusal is audited', async () => {
    const c = await citizen(env, 'third@example.cn', '王五');
    const officer = await login(env.app, 'gaj_officer');
    const r = await call(env, 'POST', '/api/opening/restrictions', {
      cookie: officer,
      payload: { accountId: c.id, measure: 'close', reason: '无权处理' },
    });
    expect(r.json().code).toBe('FORBIDDEN');
    expect(
      await env.ctx.db.selectFrom('open_restriction').select('id').where('account_id', '=', c.id).execute(),
    ).toEqual([]);
  });

  it('XT Art 28: the portal cites the confidentiality review for the open lists; XT publishes no not-open basis', async () => {
    const lists = (await call(env, 'GET', '/api/open/lists')).json();
    expect(lists.article).toBe('XT Art 28');
    expect(lists.notOpen).toBeNull();
  });

  it('authorised operation is not a procedure of XT: refused with CASE_NOT_IN_PROFILE', async () => {
    const officer = await login(env.app, 'gaj_officer');
    const r = await call(env, 'GET', '/api/opening/operations', { cookie: officer });
    expect(r.json().code).toBe('CASE_NOT_IN_PROFILE');
    expect((await call(env, 'GET', '/api/open/operations')).json().items).toEqual([]);
  });
});

describe('authorised operation and the basis of not opening under shenyang-2019 (SY Art 34, 39, 40)', () => {
  let env: TestEnv;
  let own: { id: number; org: number; officer: string };
  const body = '91441900MA4W12345';
  const operatorCode = body + creditCodeCheckChar(body);
  beforeAll(async () => {
    env = await createTestEnv({ profile: 'shenyang-2019', demo: { populationRows: 40, entityRows: 40 } });
    const r = await env.ctx.db
      .selectFrom('resource')
      .select(['id', 'provider_org_id'])
      .where('status', '=', 'published')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const officer = await env.ctx.db
      .selectFrom('app_user')
      .select('username')
      .where('org_id', '=', r.provider_org_id)
      .where(sql<boolean>`'data_officer' = ANY(roles)`)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    own = { id: Number(r.id), org: Number(r.provider_org_id), officer: officer.username };
  }, 300_000);
  afterAll(async () => env?.close());

  const application = () => ({
    operatorName: '数字城市运营有限公司',
    operatorCode,
    resourceIds: [own.id],
    scope: '面向企业提供信用画像统计服务',
    deidentification: '已删除身份证号和姓名，地址泛化到区县，数值分箱处理',
    termFrom: '2026-01-01',
    termTo: '2027-12-31',
  });

  it('SY Art 39: department applies → authority reviews → government approval recorded → listed publicly; SY Art 40: output filed', async () => {
    const officer = await login(env.app, own.officer);
    const applied = await call(env, 'POST', '/api/opening/operations', {
      cookie: officer,
      payload: application(),
    });
    expect(applied.statusCode, applied.body).toBe(201);
    const id = applied.json().id;
    expect(applied.json()).toMatchObject({ status: 'submitted', article: 'SY Art 39', canReview: false });
    // not public before approval
    expect((await call(env, 'GET', '/api/open/operations')).json().items).toEqual([]);
    // filing before approval is refused
    const early = await call(env, 'POST', `/api/opening/operations/${id}/filings`, {
      cookie: officer,
      payload: { title: '信用画像', description: '季度统计' },
    });
    expect(early.json().code).toBe('CASE_STATE_INVALID');
    const reviewer = await login(env.app, 'reviewer');
    // the government's approval cannot be recorded before the authority's review
    const skip = await call(env, 'POST', `/api/opening/operations/${id}/approval`, {
      cookie: reviewer,
      payload: { approved: true, approvalRef: '沈政批〔2026〕1号', approvedOn: '2026-01-01' },
    });
    expect(skip.json().code).toBe('CASE_STATE_INVALID');
    const reviewed = await call(env, 'POST', `/api/opening/operations/${id}/review`, {
      cookie: reviewer,
      payload: { pass: true, comment: '脱敏措施充分，报市政府批准' },
    });
    expect(reviewed.json().status).toBe('reviewed');
    const approved = await call(env, 'POST', `/api/opening/operations/${id}/approval`, {
      cookie: reviewer,
      payload: { approved: true, approvalRef: '沈政批〔2026〕1号', approvedOn: '2026-01-05' },
    });
    expect(approved.json()).toMatchObject({ status: 'approved', approvalRef: '沈政批〔2026〕1号' });
    const pub = (await call(env, 'GET', '/api/open/operations')).json();
    expect(pub.items).toHaveLength(1);
    expect(pub.items[0]).toMatchObject({
      operatorName: '数字城市运营有限公司',
      operatorCode,
      status: 'approved',
    });
    // SY Art 40: the department files the output; the authority is told
    const filed = await call(env, 'POST', `/api/opening/operations/${id}/filings`, {
      cookie: officer,
      payload: { title: '企业信用画像季度报告', description: '2026 年第一季度统计结果' },
    });
    expect(filed.statusCode, filed.body).toBe(201);
    expect(filed.json().filingList).toHaveLength(1);
    const told = await env.ctx.db
      .selectFrom('notification as n')
      .innerJoin('app_user as u', 'u.id', 'n.user_id')
      .select('n.kind')
      .where('u.username', '=', 'reviewer')
      .where('n.kind', 'in', ['opening.operationFiled', 'opening.operationFiling'])
      .execute();
    expect(told.map((n) => n.kind).sort()).toEqual(['opening.operationFiled', 'opening.operationFiling']);
    for (const action of ['apply', 'review', 'approve', 'file'])
      expect((await audits(env, `open.operation.${action}`, 'allow')).length, action).toBe(1);
  });

  it('SY Art 39: refuses an invalid credit code, a missing de-identification statement and another department’s resource', async () => {
    const officer = await login(env.app, own.officer);
    const bad = await call(env, 'POST', '/api/opening/operations', {
      cookie: officer,
      payload: { ...application(), deidentification: '已处理' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details[0].field).toBe('deidentification');
    const other = await env.ctx.db
      .selectFrom('resource')
      .select('id')
      .where('status', '=', 'published')
      .where('provider_org_id', '!=', own.org)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const foreign = await call(env, 'POST', '/api/opening/operations', {
      cookie: officer,
      payload: { ...application(), resourceIds: [Number(other.id)] },
    });
    expect(foreign.json().details[0].field).toBe('resourceIds');
    const invalidCode = await call(env, 'POST', '/api/opening/operations', {
      cookie: officer,
      payload: { ...application(), operatorCode: `${body}${operatorCode.endsWith('0') ? '1' : '0'}` },
    });
    expect(invalidCode.json().details[0].field).toBe('operatorCode');
    expect(await env.ctx.db.selectFrom('open_operation').select('id').execute()).toHaveLength(1);
  });

  it('SY Art 34: the portal lists each not-open resource with its basis; violations are not a procedure of SY', async () => {
    const lists = (await call(env, 'GET', '/api/open/lists')).json();
    expect(lists.notOpen.article).toBe('SY Art 34');
    const closed = await env.ctx.db
      .selectFrom('resource')
      .select(['id', 'legal_basis', 'share_conditions'])
      .where('status', '=', 'published')
      .where('open_type', '=', 'closed')
      .where('catalog_level', '!=', 'section')
      .execute();
    expect(closed.length).toBeGreaterThan(0);
    expect(lists.notOpen.items.map((r: { id: number }) => r.id).sort()).toEqual(
      closed.map((r) => Number(r.id)).sort(),
    );
    const withBasis = closed.find((r) => r.legal_basis || r.share_conditions);
    if (withBasis)
      expect(lists.notOpen.items.find((r: { id: number }) => r.id === Number(withBasis.id)).basis).toBe(
        withBasis.legal_basis?.trim() || withBasis.share_conditions?.trim(),
      );
    const reviewer = await login(env.app, 'reviewer');
    expect((await call(env, 'GET', '/api/opening/restrictions', { cookie: reviewer })).json().code).toBe(
      'CASE_NOT_IN_PROFILE',
    );
  });
});

describe('periodic re-evaluation under shenyang-2019 (SY Art 37)', () => {
  let env: TestEnv;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = manualClock('2026-03-02');
    env = await createTestEnv({
      profile: 'shenyang-2019',
      clock,
      demo: { populationRows: 20, entityRows: 20 },
      config: { openReevaluationMonths: 1 },
    });
  }, 300_000);
  afterAll(async () => env?.close());

  it('SY Art 37: an open resource comes due a period after its last evaluation, shows on the provider’s to-do, and recording it moves the date', async () => {
    const r = await env.ctx.db
      .selectFrom('resource')
      .select([
        'id',
        'provider_org_id',
        sql<string>`to_char(published_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')`.as('pub'),
      ])
      .where('status', '=', 'published')
      .where('open_type', '=', 'open')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const officer = await env.ctx.db
      .selectFrom('app_user')
      .select('username')
      .where('org_id', '=', r.provider_org_id)
      .where(sql<boolean>`'data_officer' = ANY(roles)`)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    // make the publication day known: 2026-03-02, so the first re-evaluation is due 2026-04-02 (one month)
    await env.ctx.db
      .updateTable('resource')
      .set({ published_at: new Date('2026-03-02T02:00:00Z') })
      .where('id', '=', r.id)
      .execute();
    const cookie = await login(env.app, officer.username);
    const work = async () =>
      (await call(env, 'GET', '/api/work', { cookie }))
        .json()
        .items.filter(
          (i: { kind: string; id: number }) => i.kind === 'openReevaluation' && i.id === Number(r.id),
        );
    const listed = (await call(env, 'GET', '/api/opening/reevaluations', { cookie })).json();
    expect(listed.article).toBe('SY Art 37');
    expect(
      listed.items.find((x: { resource: { id: number } }) => x.resource.id === Number(r.id)).dueDate,
    ).toBe('2026-04-02');
    expect(await work()).toEqual([]); // more than 30 days ahead: not yet on the to-do
    clock.set('2026-03-10T02:00:00Z');
    const due = await work();
    expect(due).toHaveLength(1);
    expect(due[0]).toMatchObject({ dueDate: '2026-04-02', overdue: false });
    clock.set('2026-04-07T02:00:00Z');
    expect((await work())[0]).toMatchObject({ overdue: true });
    // another department cannot record it; the provider can
    const other = await login(env.app, officer.username === 'gaj_officer' ? 'scj_officer' : 'gaj_officer');
    const refused = await call(env, 'POST', '/api/opening/reevaluations', {
      cookie: other,
      payload: { resourceId: Number(r.id), conclusion: 'keep', comment: '无需调整开放类型' },
    });
    expect(refused.json().code).toBe('FORBIDDEN');
    const recorded = await call(env, 'POST', '/api/opening/reevaluations', {
      cookie,
      payload: { resourceId: Number(r.id), conclusion: 'widen', comment: '可增加按月汇总字段的开放' },
    });
    expect(recorded.statusCode, recorded.body).toBe(201);
    expect(recorded.json()).toMatchObject({ evaluatedOn: '2026-04-07', nextDue: '2026-05-07' });
    // the item now names the next date (30 days ahead is still within the to-do's horizon) and is no longer overdue
    expect(await work()).toMatchObject([{ dueDate: '2026-05-07', overdue: false }]);
    expect((await audits(env, 'open.reevaluation', 'allow')).length).toBe(1);
  });

  it('SY Art 37: the provider’s data officers are notified once when a re-evaluation comes due (30 days before) and once when it is overdue, by the reminder job', async () => {
    clock.set('2026-03-02T02:00:00Z');
    const r = await env.ctx.db
      .selectFrom('resource')
      .select(['id', 'provider_org_id'])
      .where('status', '=', 'published')
      .where('open_type', 'in', ['open', 'onApplication'])
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    // published 2026-03-10 → due 2026-04-10 (one month); its due notice from 2026-03-11, overdue from 2026-04-11
    await env.ctx.db
      .updateTable('resource')
      .set({ published_at: new Date('2026-03-10T02:00:00Z') })
      .where('id', '=', r.id)
      .execute();
    const officers = await env.ctx.db
      .selectFrom('app_user')
      .select('id')
      .where('org_id', '=', r.provider_org_id)
      .where(sql<boolean>`'data_officer' = ANY(roles)`)
      .where('disabled', '=', false)
      .execute();
    expect(officers.length).toBeGreaterThan(0);
    const sent = async (kind: string) =>
      env.ctx.db
        .selectFrom('notification')
        .select(['user_id', 'params'])
        .where('kind', '=', kind)
        .where('resource_id', '=', r.id)
        .execute();
    const run = async (at: string) => {
      clock.set(at);
      await env.ctx.jobs.runDue();
    };
    await run('2026-03-10T03:00:00Z');
    expect(await sent('opening.reevaluationDue')).toEqual([]); // 31 days ahead
    await run('2026-03-11T03:00:00Z');
    const due = await sent('opening.reevaluationDue');
    expect(due.map((n) => Number(n.user_id)).sort()).toEqual(officers.map((o) => Number(o.id)).sort());
    expect(due[0].params).toMatchObject({ dueDate: '2026-04-10', article: 'SY Art 37' });
    await run('2026-03-20T03:00:00Z');
    await run('2026-04-10T03:00:00Z'); // the due day itself is not yet overdue
    expect(await sent('opening.reevaluationDue')).toHaveLength(officers.length);
    expect(await sent('opening.reevaluationOverdue')).toEqual([]);
    await run('2026-04-11T03:00:00Z');
    await run('2026-04-12T05:00:00Z');
    await run('2026-04-13T07:00:00Z');
    const overdue = await sent('opening.reevaluationOverdue');
    expect(overdue).toHaveLength(officers.length);
    expect(overdue[0].params).toMatchObject({ dueDate: '2026-04-10' });
    // recorded: the next cycle's due date is a new reminder, once
    const officer = await env.ctx.db
      .selectFrom('app_user')
      .select('username')
      .where('id', '=', officers[0].id)
      .executeTakeFirstOrThrow();
    const rec = await call(env, 'POST', '/api/opening/reevaluations', {
      cookie: await login(env.app, officer.username),
      payload: { resourceId: Number(r.id), conclusion: 'keep', comment: '开放类型维持不变' },
    });
    expect(rec.json()).toMatchObject({ nextDue: '2026-05-13' });
    await run('2026-04-14T03:00:00Z');
    await run('2026-04-15T03:00:00Z');
    const next = (await sent('opening.reevaluationDue')).filter(
      (n) => (n.params as { dueDate: string }).dueDate === '2026-05-13',
    );
    expect(next).toHaveLength(officers.length);
  }, 300_000); // nine runs of every due platform job: slow on PGlite on a loaded machine
});

describe('no re-evaluation reminders where the regulation has none (xingtai-2024)', () => {
  it('the reminder job sends none', async () => {
    const env = await createTestEnv({
      profile: 'xingtai-2024',
      demo: { populationRows: 10, entityRows: 10 },
    });
    try {
      await env.ctx.db
        .updateTable('resource')
        .set({ published_at: new Date('2020-01-01T00:00:00Z') })
        .execute();
      await env.ctx.jobs.runDue();
      const n = await env.ctx.db
        .selectFrom('notification')
        .select('id')
        .where('kind', 'in', ['opening.reevaluationDue', 'opening.reevaluationOverdue'])
        .execute();
      expect(n).toEqual([]);
    } finally {
      await env.close();
    }
  }, 300_000);
});

describe('open data usage on the portal (issue 11 point 9)', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ profile: 'dongguan-2020', demo: { populationRows: 20, entityRows: 20 } });
  }, 300_000);
  afterAll(async () => env?.close());

  it('counts views and downloads per department, per dataset and per day; lists only datasets the portal lists', async () => {
    const before = (await call(env, 'GET', '/api/open/usage?days=7')).json();
    const ds = (await call(env, 'GET', '/api/open/datasets')).json().items[0];
    expect(ds).toBeTruthy();
    await call(env, 'GET', `/api/open/datasets/${ds.id}`);
    await call(env, 'GET', `/api/open/datasets/${ds.id}`);
    const dl = await call(env, 'GET', `/api/open/datasets/${ds.id}/download?format=csv`);
    expect(dl.statusCode, dl.body.slice(0, 200)).toBe(200);
    const after = (await call(env, 'GET', '/api/open/usage?days=7')).json();
    const org = (u: typeof after, name: string) =>
      u.departments.find((d: { org: { name: string } }) => d.org.name === name) ?? { views: 0, downloads: 0 };
    const provider = ds.department?.name ?? ds.provider?.name;
    expect(provider).toBeTruthy();
    expect(org(after, provider).views - org(before, provider).views).toBe(2);
    expect(org(after, provider).downloads - org(before, provider).downloads).toBe(1);
    const sum = (u: typeof after, k: string) =>
      u.days.reduce((n: number, d: Record<string, number>) => n + d[k], 0);
    expect(sum(after, 'views') - sum(before, 'views')).toBe(2);
    expect(after.datasets.map((d: { id: number }) => d.id)).toContain(ds.id);
    // a closed resource never appears, even with usage recorded against it
    const closed = await env.ctx.db
      .selectFrom('resource')
      .select('id')
      .where('open_type', '=', 'closed')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    await env.ctx.db
      .insertInto('open_usage')
      .values({
        resource_id: closed.id,
        day: after.until,
        views: 99,
        previews: 0,
        downloads: 0,
        api_calls: 0,
      })
      .execute();
    const third = (await call(env, 'GET', '/api/open/usage?days=7')).json();
    expect(third.datasets.map((d: { id: number }) => d.id)).not.toContain(Number(closed.id));
    expect(sum(third, 'views')).toBe(sum(after, 'views'));
  });
});

describe('under dongguan-2020 neither procedure exists and no basis list is published', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ profile: 'dongguan-2020', demo: { populationRows: 20, entityRows: 20 } });
  }, 300_000);
  afterAll(async () => env?.close());

  it('the public lists answer without the not-open basis; the console procedures are refused', async () => {
    const lists = (await call(env, 'GET', '/api/open/lists')).json();
    expect(lists.notOpen).toBeNull();
    expect(lists.article).toBeNull(); // DG has no open list article: the portal cites none
    expect(Array.isArray(lists.departments)).toBe(true);
    const reviewer = await login(env.app, 'reviewer');
    const r = await call(env, 'POST', '/api/opening/restrictions', {
      cookie: reviewer,
      payload: { accountId: 1, measure: 'close', reason: '测试处理' },
    });
    expect(r.json().code).toBe('CASE_NOT_IN_PROFILE');
  });
});
