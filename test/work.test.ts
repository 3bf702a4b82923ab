import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, login, type TestEnv } from './helpers.js';

interface Item {
  kind: string;
  id: number;
  title: string;
  party: string;
  stepZh: string | null;
  dueDate: string | null;
  overdue: boolean;
  workdaysLeft: number | null;
  workdaysOverdue: number | null;
}

// Brief: each role's home page is its own work — what waits for me, due when, how many working days are left.
describe('my work (GET /api/work)', () => {
  let env: TestEnv;
  let requestId: number;
  const work = async (username: string) => {
    const res = await env.app.inject({
      url: '/api/work',
      headers: { cookie: await login(env.app, username) },
    });
    expect(res.statusCode, `${username}: ${res.body}`).toBe(200);
    return res.json() as { today: string; items: Item[]; inventories: Record<string, number> | null };
  };

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 100, entityRows: 20 } });
    const rsj = await login(env.app, 'rsj_officer');
    const app = (
      await env.app.inject({
        method: 'POST',
        url: '/api/apps',
        headers: { cookie: rsj },
        payload: { name: '待办测试系统' },
      })
    ).json();
    const population = (
      await env.app.inject({ url: '/api/catalog/resources?q=446000-GAJ-001', headers: { cookie: rsj } })
    ).json().items[0];
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/sharing/requests',
      headers: { cookie: rsj },
      payload: {
        resourceId: population.id,
        appId: app.app.id,
        fields: ['idNumber', 'name'],
        purpose: '办理就业登记时核验身份',
        scope: '就业登记业务办理',
        validUntil: '2099-12-31',
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    requestId = res.json().id;
  });
  afterAll(async () => env?.close());

  it('DG Art 20: the provider sees the request it must decide, with its due date and working days left; the requester does not', async () => {
    const mine = await work('gaj_officer');
    const item = mine.items.find((i) => i.kind === 'shareRequest' && i.id === requestId);
    expect(item).toBeDefined();
    const request = (
      await env.app.inject({
        url: `/api/sharing/requests/${requestId}`,
        headers: { cookie: await login(env.app, 'gaj_officer') },
      })
    ).json();
    expect(item).toMatchObject({
      title: '人口基础信息',
      party: '临江市人力资源和社会保障局',
      dueDate: request.dueDate,
    });
    expect(item!.stepZh).toBeTruthy();
    // filed today: the step's deadline is 10 WD (DG Art 20 via GD Art 19), all of it still ahead
    expect(item!.overdue).toBe(false);
    expect(item!.workdaysLeft).toBe(10);
    const requester = await work('rsj_officer');
    expect(requester.items.some((i) => i.kind === 'shareRequest' && i.id === requestId)).toBe(false);
  });

  it('an overdue request comes first, with the working days it is late', async () => {
    // move the due date back: 10 working days before today is certainly past
    const today = (await work('gaj_officer')).today;
    const past = await sql<{ d: string }>`SELECT (${today}::date - 30)::text AS d`.execute(env.ctx.db);
    await env.ctx.db
      .updateTable('share_request')
      .set({ due_date: past.rows[0].d })
      .where('id', '=', requestId)
      .execute();
    const mine = await work('gaj_officer');
    expect(mine.items[0]).toMatchObject({
      kind: 'shareRequest',
      id: requestId,
      overdue: true,
      workdaysLeft: null,
    });
    // 30 calendar days hold at least 15 working days in any month of 2025–2027
    expect(mine.items[0].workdaysOverdue).toBeGreaterThanOrEqual(15);
  });

  it("the authority's reviewer sees the catalog versions waiting for review (DG Art 11)", async () => {
    const mine = await work('reviewer');
    expect(mine.items.some((i) => i.kind === 'catalogReview')).toBe(true);
    expect(mine.inventories).not.toBeNull();
  });

  it('every demo user gets their own list', async () => {
    const users = await env.ctx.db.selectFrom('app_user').select('username').execute();
    for (const u of users) await work(u.username);
  });
});
