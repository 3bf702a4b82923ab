import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, login, type TestEnv } from './helpers.js';

/** Issue 10 point 9: the auditor's console filters by department, person, app, resource and grant, and saves queries. */
describe("the auditor's console", () => {
  let env: TestEnv;
  let auditor: string;
  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 300, entityRows: 100 } });
    auditor = await login(env.app, 'auditor');
  });
  afterAll(async () => env?.close());

  const audit = async (query: string) => {
    const res = await env.app.inject({
      url: `/api/audit?pageSize=200&${query}`,
      headers: { cookie: auditor },
    });
    expect(res.statusCode).toBe(200);
    return res.json() as {
      total: number;
      items: { org: { id: number } | null; actor: { id: number } | null; grantId: number | null }[];
    };
  };

  it('GB/T 39477: filters by department, person and grant return only their records', async () => {
    await login(env.app, 'gaj_officer');
    await login(env.app, 'rsj_officer');
    const options = (
      await env.app.inject({ url: '/api/audit/options', headers: { cookie: auditor } })
    ).json();
    const gaj = options.users.find((u: { name: string }) => u.name === '陈志强');
    expect(gaj).toBeTruthy();
    const byPerson = await audit(`userId=${gaj.id}`);
    expect(byPerson.total).toBeGreaterThan(0);
    expect(byPerson.items.every((e) => e.actor?.id === gaj.id)).toBe(true);
    const all = await audit('');
    expect(all.total).toBeGreaterThan(byPerson.total);

    const orgId = byPerson.items[0].org?.id as number;
    const byOrg = await audit(`orgId=${orgId}`);
    expect(byOrg.items.every((e) => e.org?.id === orgId)).toBe(true);
    // the person's records made for that department are all among the department's
    const personInOrg = byPerson.items.filter((e) => e.org?.id === orgId).length;
    expect(personInOrg).toBeGreaterThan(0);
    expect(byOrg.total).toBeGreaterThanOrEqual(personInOrg);

    const grant = await env.ctx.db.selectFrom('share_grant').select('id').limit(1).executeTakeFirst();
    if (grant) {
      const byGrant = await audit(`grantId=${grant.id}`);
      expect(byGrant.items.every((e) => e.grantId === Number(grant.id))).toBe(true);
    }
    const none = await audit('grantId=999999');
    expect(none.total).toBe(0);
  });

  it('saved queries are per auditor, bounded, replaced by name, and deletable; others cannot use them', async () => {
    const save = (name: string, filter: object, cookie = auditor) =>
      env.app.inject({
        method: 'POST',
        url: '/api/audit/saved-queries',
        headers: { cookie },
        payload: { name, filter },
      });
    const first = await save('拒绝的调用', { decision: 'deny' });
    expect(first.statusCode).toBe(200);
    const replaced = await save('拒绝的调用', { decision: 'deny', action: 'data.get' });
    expect(replaced.statusCode).toBe(200);
    let list = (
      await env.app.inject({ url: '/api/audit/saved-queries', headers: { cookie: auditor } })
    ).json();
    expect(list.items).toHaveLength(1);
    expect(list.items[0].filter).toEqual({ decision: 'deny', action: 'data.get' });

    const bad = await save('x', { decision: 'maybe' });
    expect(bad.statusCode).toBe(400);
    const unknown = await save('x', { sql: 'DROP TABLE audit_log' });
    expect(unknown.statusCode).toBe(400);

    for (let i = 0; i < 29; i++) expect((await save(`q${i}`, { page: 1 } as object)).statusCode).toBe(400);
    for (let i = 0; i < 29; i++) expect((await save(`q${i}`, { decision: 'allow' })).statusCode).toBe(200);
    const over = await save('one too many', { decision: 'allow' });
    expect(over.statusCode).toBe(400);
    expect(over.json().details[0].field).toBe('name');

    const officer = await login(env.app, 'gaj_officer');
    expect(
      (await env.app.inject({ url: '/api/audit/saved-queries', headers: { cookie: officer } })).statusCode,
    ).toBe(403);
    const id = list.items[0].id;
    expect(
      (
        await env.app.inject({
          method: 'DELETE',
          url: `/api/audit/saved-queries/${id}`,
          headers: { cookie: officer },
        })
      ).statusCode,
    ).toBe(403);
    const del = await env.app.inject({
      method: 'DELETE',
      url: `/api/audit/saved-queries/${id}`,
      headers: { cookie: auditor },
    });
    expect(del.statusCode).toBe(200);
    list = (await env.app.inject({ url: '/api/audit/saved-queries', headers: { cookie: auditor } })).json();
    expect(list.items.map((q: { name: string }) => q.name)).not.toContain('拒绝的调用');
    expect(list.items).toHaveLength(29);
  });

  it('the filtered view exports as CSV with words, not codes; the export is audited; too large a view is refused', async () => {
    const gaj = (
      await env.ctx.db
        .selectFrom('app_user')
        .select('id')
        .where('username', '=', 'gaj_officer')
        .executeTakeFirstOrThrow()
    ).id;
    const res = await env.app.inject({
      url: `/api/audit/export.csv?userId=${gaj}`,
      headers: { cookie: auditor },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/csv');
    const lines = res.body
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    expect(lines[0]).toBe('时间,操作,结果,操作人,单位,应用,资源,资源代码,对象,用途,返回行数,字段,客户端地址');
    const listed = (await audit(`userId=${gaj}`)).total;
    expect(lines.length - 1).toBe(listed);
    expect(lines.slice(1).every((l) => l.includes('陈志强'))).toBe(true);
    expect(res.body).toContain('登录');
    expect(res.body).not.toMatch(/auth\.login|,allow,/);
    const logged = await env.ctx.db
      .selectFrom('audit_log')
      .select(['rows_returned', 'detail'])
      .where('action', '=', 'audit.log_exported')
      .execute();
    expect(logged).toHaveLength(1);
    expect(logged[0].rows_returned).toBe(listed);
    expect(logged[0].detail).toMatchObject({ filter: { userId: gaj } });

    const officer = await login(env.app, 'gaj_officer');
    expect(
      (await env.app.inject({ url: '/api/audit/export.csv', headers: { cookie: officer } })).statusCode,
    ).toBe(403);
    // a view larger than AUDIT_EXPORT_MAX_ROWS is refused whole, not cut
    env.ctx.config.auditExportMaxRows = listed - 1;
    const big = await env.app.inject({
      url: `/api/audit/export.csv?userId=${gaj}`,
      headers: { cookie: auditor },
    });
    env.ctx.config.auditExportMaxRows = 10_000;
    expect(big.statusCode).toBe(422);
    expect(big.json().code).toBe('AUDIT_EXPORT_TOO_LARGE');
  });

  it('at scale: the count stops at 10 000 ("more"), a page starts at most 10 000 in, newest first by (time, id)', async () => {
    // 10 050 records of one action, their times not in id order (every 7th an hour older), no person
    await env.ctx.database.query(
      `INSERT INTO audit_log (occurred_at, action, decision, app_id, detail)
       SELECT now() - (i % 7) * interval '1 hour' - i * interval '1 second', 'test.bulk',
         CASE WHEN i % 10 = 0 THEN 'deny' ELSE 'allow' END, 424242, '{}'
       FROM generate_series(1, 10050) AS i`,
      [],
    );
    const get = (query: string) =>
      env.app.inject({ url: `/api/audit?action=test.bulk&${query}`, headers: { cookie: auditor } });
    const first = (await get('pageSize=200')).json();
    expect(first.total).toBe(10_000);
    expect(first.more).toBe(true);
    expect(first.items).toHaveLength(200);
    const keys = (first.items as { occurredAt: string; id: number }[]).map(
      (e) => [Date.parse(e.occurredAt), e.id] as const,
    );
    for (let i = 1; i < keys.length; i++)
      expect(
        keys[i - 1][0] > keys[i][0] || (keys[i - 1][0] === keys[i][0] && keys[i - 1][1] > keys[i][1]),
      ).toBe(true);
    // the unfiltered list counts no further either
    const all = await audit('');
    expect(all.total).toBe(10_000);
    expect((all as unknown as { more: boolean }).more).toBe(true);
    // a filter with fewer matches counts exactly
    const denied = (await get('decision=deny&appId=424242&pageSize=200')).json();
    expect(denied.total).toBe(1005);
    expect(denied.more).toBe(false);
    expect(denied.items.every((e: { decision: string }) => e.decision === 'deny')).toBe(true);
    // pages: the last reachable one starts 10 000 in; the next is refused with the field at fault
    const last = await get('pageSize=200&page=51');
    expect(last.statusCode).toBe(200);
    expect(last.json().items).toHaveLength(50);
    const beyond = await get('pageSize=200&page=52');
    expect(beyond.statusCode).toBe(400);
    expect(beyond.json().code).toBe('VALIDATION_FAILED');
    expect(beyond.json().details[0].field).toBe('page');
    // pages do not overlap and follow on: the 200th of page 1 is before the 1st of page 2
    const second = (await get('pageSize=200&page=2')).json();
    const ids = new Set(first.items.map((e: { id: number }) => e.id));
    expect(second.items.some((e: { id: number }) => ids.has(e.id))).toBe(false);
    expect(Date.parse(second.items[0].occurredAt)).toBeLessThanOrEqual(
      Date.parse(first.items[199].occurredAt),
    );
    // the export of a view past its limit is refused (counted to limit + 1, not to the end)
    const big = await env.app.inject({
      url: '/api/audit/export.csv?action=test.bulk',
      headers: { cookie: auditor },
    });
    expect(big.statusCode).toBe(422);
    expect(big.json().code).toBe('AUDIT_EXPORT_TOO_LARGE');
    expect(big.json().details[0].reasonZh).toContain('超过 10000 条');
  });
});
