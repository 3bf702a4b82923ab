import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, login, type TestEnv } from '../helpers.js';

/** Findings 3 and 4: who reads the audit trail, and refused requests leave a bounded, aggregated record. */
describe('audit: separation of duties and refused requests', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 500, entityRows: 200 } });
  });
  afterAll(async () => env?.close());

  const denies = (action = 'http.refused') =>
    env.ctx.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', action)
      .where('decision', '=', 'deny')
      .orderBy('id')
      .execute();

  it('GB/T 39477: the platform admin cannot read the audit log; the auditor can', async () => {
    const admin = await env.app.inject({
      url: '/api/audit',
      headers: { cookie: await login(env.app, 'admin') },
    });
    expect(admin.statusCode).toBe(403);
    expect(admin.json().code).toBe('FORBIDDEN');
    const auditor = await env.app.inject({
      url: '/api/audit',
      headers: { cookie: await login(env.app, 'auditor') },
    });
    expect(auditor.statusCode).toBe(200);
  });

  it("GB/T 22239 security audit: the auditor's write attempt is refused and audited", async () => {
    const auditor = await login(env.app, 'auditor');
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: auditor },
      payload: { name: '审计员不应创建的应用' },
    });
    expect(res.statusCode).toBe(403);
    const user = await env.ctx.db
      .selectFrom('app_user')
      .select('id')
      .where('username', '=', 'auditor')
      .executeTakeFirstOrThrow();
    const rows = (await denies()).filter((r) => r.actor_user_id === user.id);
    expect(rows).toHaveLength(1);
    expect(rows[0].detail).toEqual({ code: 'FORBIDDEN', method: 'POST', route: '/api/apps' });
  });

  it("DG Art 11 + audit: viewing another department's section-level entry is refused and audited", async () => {
    const reviewer = await login(env.app, 'reviewer');
    const all = (
      await env.app.inject({ url: '/api/catalog/resources?pageSize=200', headers: { cookie: reviewer } })
    ).json();
    const entry = all.items.find((r: { catalogLevel: string }) => r.catalogLevel === 'section');
    expect(entry).toBeTruthy();
    // provided by the education bureau (LJ-JYJ); the health commission's officer is another department
    const outsider = await login(env.app, 'wjj_officer');
    const res = await env.app.inject({
      url: `/api/catalog/resources/${entry.id}`,
      headers: { cookie: outsider },
    });
    expect(res.statusCode).toBe(404);
    const row = (await denies()).find(
      (r) => (r.detail as { route: string }).route === '/api/catalog/resources/:id',
    );
    expect(row).toBeTruthy();
    expect(row!.target_id).toBe(String(entry.id));
    expect((row!.detail as { code: string }).code).toBe('NOT_FOUND');
  });

  it('DG Art 19 + audit: a share request for a not-shared resource is refused and audited', async () => {
    const consumer = await login(env.app, 'rsj_officer');
    const list = (
      await env.app.inject({ url: '/api/catalog/resources?shareType=none', headers: { cookie: consumer } })
    ).json();
    const none = list.items[0];
    const created = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: consumer },
      payload: { name: '统计分析系统' },
    });
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/sharing/requests',
      headers: { cookie: consumer },
      payload: {
        resourceId: none.id,
        appId: created.json().app.id,
        fields: ['creditCode'],
        purpose: '统计分析',
        validUntil: '2099-12-31',
      },
    });
    expect(res.json().code).toBe('NOT_SHAREABLE');
    const row = (await denies()).find((r) => (r.detail as { code: string }).code === 'NOT_SHAREABLE');
    expect(row).toBeTruthy();
    expect((row!.detail as { route: string }).route).toBe('/api/sharing/requests');
  });

  it('audit flooding: 500 anonymous refusals from one IP are a handful of audit rows and a tally of 500', async () => {
    const before = (await denies()).length;
    for (let i = 0; i < 500; i++) {
      const res = await env.app.inject({
        url: '/api/auth/me',
        remoteAddress: '203.0.113.9',
      });
      expect(res.statusCode).toBe(401);
    }
    const added = (await denies()).length - before;
    expect(added).toBeGreaterThanOrEqual(1);
    expect(added).toBeLessThanOrEqual(3); // one per minute bucket the loop spans
    const tally = await env.ctx.db
      .selectFrom('audit_refusal_tally')
      .selectAll()
      .where('route', '=', '/api/auth/me')
      .where('code', '=', 'UNAUTHENTICATED')
      .where('principal', '=', 'anon')
      .execute();
    expect(tally.reduce((n, t) => n + t.count, 0)).toBe(500);
    // the auditor's list shows the repetition
    const list = (
      await env.app.inject({
        url: '/api/audit?action=http.refused&decision=deny',
        headers: { cookie: await login(env.app, 'auditor') },
      })
    ).json();
    const shown = list.items.filter(
      (e: { detail: { route: string } }) => e.detail.route === '/api/auth/me',
    ) as { repeatCount: number }[];
    expect(shown.reduce((n, e) => n + e.repeatCount, 0)).toBe(500);
  });

  it('audit flooding: a 15 KB URL and header leave no stored string beyond its bound', async () => {
    const big = 'A'.repeat(15 * 1024);
    const res = await env.app.inject({
      url: `/api/auth/me?junk=${big}`,
      headers: { 'x-forwarded-for': `${big}, 10.0.0.1`, 'user-agent': big, referer: big },
    });
    expect(res.statusCode).toBe(401);
    const res2 = await env.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'x-forwarded-for': big },
      payload: { username: big, password: big },
    });
    expect(res2.statusCode).toBe(400);
    const audit = await env.ctx.db.selectFrom('audit_log').selectAll().execute();
    for (const a of audit) {
      expect(JSON.stringify(a.detail).length).toBeLessThanOrEqual(400);
      for (const s of [a.action, a.target_id, a.client_ip, a.target_type])
        expect((s ?? '').length).toBeLessThan(256);
    }
    const tally = await env.ctx.db.selectFrom('audit_refusal_tally').selectAll().execute();
    for (const t of tally) {
      expect(t.client_ip.length).toBeLessThanOrEqual(64);
      expect(t.route.length).toBeLessThanOrEqual(200);
      expect(t.route).not.toContain('junk');
    }
    expect(JSON.stringify(audit)).not.toContain('A'.repeat(100));
  });

  it('a refused request is answered with its original error even when the audit write fails', async () => {
    const { recordHttpRefusal } = await import('../../src/audit/refusals.js');
    const broken = { ...env.ctx, db: undefined as never };
    const logged: unknown[] = [];
    await expect(
      recordHttpRefusal(
        broken,
        { url: '/api/x', method: 'GET', ip: '1.2.3.4', log: { error: (o: unknown) => logged.push(o) } },
        'FORBIDDEN',
        403,
      ),
    ).resolves.toBeUndefined();
    expect(logged).toHaveLength(1);
  });
});
