import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, login, type TestEnv, userIdOf } from './helpers.js';

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
    const gaj = await userIdOf(env, 'gaj_officer');
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
    // the window is the deployment's (AUDIT_LIST_WINDOW): 1 000 counts and pages to 1 000, and says so
    env.ctx.config.auditListWindow = 1000;
    try {
      const small = (await get('pageSize=100')).json();
      expect([small.total, small.more, small.window]).toEqual([1000, true, 1000]);
      expect((await get('pageSize=100&page=11')).statusCode).toBe(200);
      const past = await get('pageSize=100&page=12');
      expect(past.statusCode).toBe(400);
      expect(past.json().details[0].reasonZh).toContain('第 1000 条');
    } finally {
      env.ctx.config.auditListWindow = 10_000;
    }
    expect((await get('pageSize=100')).json().window).toBe(10_000);
  });
  it('keyset paging: nextCursor reaches every record past the 10 000 offset limit, none repeated or skipped, ties included', async () => {
    // 10 050 records of one action, times not in id order (seven interleaved hours): in each hour three per second,
    // two of them at the very same microsecond and the third 1 µs older (a cursor kept to the millisecond would skip or
    // repeat them); two apps, every 5th refused
    await env.ctx.database.query(
      `INSERT INTO audit_log (occurred_at, action, decision, app_id, detail)
       SELECT now() - interval '30 minutes' - (i % 7) * interval '1 hour' - (i / 21) * interval '1 second'
           - CASE WHEN (i / 7) % 3 = 0 THEN interval '1 microsecond' ELSE interval '0' END,
         'test.keyset', CASE WHEN i % 5 = 0 THEN 'deny' ELSE 'allow' END,
         CASE WHEN i % 2 = 0 THEN 434343 ELSE 535353 END, '{}'
       FROM generate_series(1, 10050) AS i`,
      [],
    );
    type ListPage = {
      total: number;
      more: boolean;
      page: number | null;
      nextCursor: string | null;
      items: { id: number; action: string; decision: string; app: { id: number } | null }[];
    };
    const get = (query: string) =>
      env.app.inject({ url: `/api/audit?action=test.keyset&${query}`, headers: { cookie: auditor } });
    /** every id of a view, paged by cursor from the first page */
    const walk = async (query: string) => {
      const ids: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await get(`pageSize=200&${query}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.statusCode, res.body).toBe(200);
        const body = res.json() as ListPage;
        if (cursor) expect(body.page).toBeNull();
        expect(body.items.length).toBeGreaterThan(0);
        ids.push(...body.items.map((e) => e.id));
        cursor = body.nextCursor;
        pages++;
        expect(pages).toBeLessThan(100);
      } while (cursor);
      return ids;
    };
    const ordered = async (where: string) =>
      (
        await env.ctx.database.query<{ id: string | number }>(
          `SELECT id FROM audit_log WHERE action = 'test.keyset' ${where} ORDER BY occurred_at DESC, id DESC`,
          [],
        )
      ).rows.map((r) => Number(r.id));

    // the whole view: 51 pages, the last record reached, in the exact order of a full ordered read
    const all = await walk('');
    const expected = await ordered('');
    expect(expected).toHaveLength(10_050);
    expect(all).toEqual(expected);
    // the count stays capped on a cursor page
    const firstPage = (await get('pageSize=200')).json() as ListPage;
    expect(firstPage.total).toBe(10_000);
    expect(firstPage.more).toBe(true);
    const deep = (await get(`pageSize=200&cursor=${firstPage.nextCursor}`)).json() as ListPage;
    expect(deep.total).toBe(10_000);
    expect(deep.more).toBe(true);

    // filters apply on every cursor page
    const filtered = await walk('appId=434343&decision=deny');
    expect(filtered).toEqual(await ordered(`AND app_id = 434343 AND decision = 'deny'`));
    expect(filtered.length).toBe(1005);
    const lastPage = (await get('pageSize=200&appId=535353&page=26')).json() as ListPage;
    expect(lastPage.nextCursor).toBeNull();

    // the offset pages hand over to the cursor: page 51 (10 000 in) and its nextCursor reach the rest
    const p51 = (await get('pageSize=200&page=51')).json() as ListPage;
    expect(p51.items.map((e) => e.id)).toEqual(expected.slice(10_000, 10_050));
    expect(p51.nextCursor).toBeNull();
    const p50 = (await get('pageSize=200&page=50')).json() as ListPage;
    const after50 = (await get(`pageSize=200&cursor=${p50.nextCursor}`)).json() as ListPage;
    expect(after50.items.map((e) => e.id)).toEqual(expected.slice(10_000, 10_050));

    // a malformed or altered cursor is refused with the field at fault, and the refusal is audited
    const raw = Buffer.from(firstPage.nextCursor as string, 'base64url').toString();
    const [, at, id, mac] = raw.split('|');
    const bad = [
      'not-a-cursor',
      Buffer.from(`a1|${at}|${Number(id) + 1}|${mac}`).toString('base64url'),
      Buffer.from(`a1|${at.replace(/\d(?=Z)/, (d) => String((Number(d) + 1) % 10))}|${id}|${mac}`).toString(
        'base64url',
      ),
      Buffer.from(`a1|${at}|${id}|${'0'.repeat(24)}`).toString('base64url'),
    ];
    for (const c of bad) {
      const res = await get(`pageSize=200&cursor=${c}`);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
      expect(res.json().details[0].field).toBe('cursor');
      expect(res.json().details[0].reasonZh).toContain('游标无效');
    }
    const auditorId = await userIdOf(env, 'auditor');
    const refused = await env.ctx.db
      .selectFrom('audit_log')
      .select(['detail', 'actor_user_id'])
      .where('action', '=', 'http.refused')
      .where('decision', '=', 'deny')
      .execute();
    expect(
      refused.some(
        (r) =>
          (r.detail as { code?: string }).code === 'VALIDATION_FAILED' &&
          (r.detail as { route?: string }).route === '/api/audit' &&
          r.actor_user_id === auditorId,
      ),
    ).toBe(true);

    // the CSV export of the view is unchanged by paging: still refused past its limit
    const big = await env.app.inject({
      url: '/api/audit/export.csv?action=test.keyset',
      headers: { cookie: auditor },
    });
    expect(big.statusCode).toBe(422);
  });
});
