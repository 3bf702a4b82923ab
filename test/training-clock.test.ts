import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, login, type TestEnv } from './helpers.js';

/*
 * The training clock (config `trainingClock`, GOVSHARE_TRAINING_CLOCK): a class or an acceptance test watches a
 * deadline pass. Off, the date cannot be moved; on, a platform administrator moves it forward, the deadline ticker runs
 * at once, and a request left unanswered past its due date is put before the authority (DG Art 15/35). Every move is
 * audited; a refused one too.
 */
const MARRIAGE = '婚姻登记信息';

async function fileRequest(env: TestEnv, cookie: string) {
  const list = await env.app.inject({
    method: 'GET',
    url: `/api/catalog/resources?q=${encodeURIComponent(MARRIAGE)}`,
    headers: { cookie },
  });
  const item = list.json().items.find((r: { name: string }) => r.name === MARRIAGE);
  const detail = (
    await env.app.inject({ method: 'GET', url: `/api/catalog/resources/${item.id}`, headers: { cookie } })
  ).json();
  const app = (
    await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie },
      payload: { name: '培训演示系统' },
    })
  ).json();
  const res = await env.app.inject({
    method: 'POST',
    url: '/api/sharing/requests',
    headers: { cookie },
    payload: {
      resourceId: item.id,
      appId: app.app.id,
      fields: detail.fields.slice(0, 2).map((f: { code: string }) => f.code),
      purpose: '办理社会保险待遇时核验当事人婚姻状况',
      scope: '本部门社会保险待遇审核业务',
      validUntil: '2099-12-31',
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: number; dueDate: string };
}

describe('training clock: off by default', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 50, entityRows: 20 } });
  });
  afterAll(async () => env?.close());

  it('reports the real date and refuses to move it, with a code, audited as a refusal', async () => {
    const admin = await login(env.app, 'admin');
    const state = (
      await env.app.inject({ method: 'GET', url: '/api/clock', headers: { cookie: admin } })
    ).json();
    expect(state.training).toBe(false);
    expect(state.offsetDays).toBe(0);
    expect(Math.abs(Date.parse(state.now) - Date.now())).toBeLessThan(60_000);
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/clock/advance',
      headers: { cookie: admin },
      payload: { days: 5 },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('CLOCK_NOT_ADJUSTABLE');
    const denied = await env.ctx.db
      .selectFrom('audit_log')
      .select(['decision', 'detail'])
      .where('decision', '=', 'deny')
      .orderBy('id', 'desc')
      .limit(5)
      .execute();
    expect(JSON.stringify(denied)).toContain('CLOCK_NOT_ADJUSTABLE');
  });
});

describe('training clock: on (GOVSHARE_TRAINING_CLOCK=true)', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({
      demo: { populationRows: 50, entityRows: 20 },
      config: { trainingClock: true },
    });
  });
  afterAll(async () => env?.close());

  it('only a platform administrator moves it', async () => {
    const rsj = await login(env.app, 'rsj_officer');
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/clock/advance',
      headers: { cookie: rsj },
      payload: { days: 1 },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('FORBIDDEN');
  });

  it('moving the date past a due date escalates the unanswered request at once (DG Art 15/35), and the move is audited', async () => {
    const rsj = await login(env.app, 'rsj_officer');
    const q = await fileRequest(env, rsj);
    const before = await env.app.inject({
      method: 'GET',
      url: `/api/sharing/requests/${q.id}`,
      headers: { cookie: rsj },
    });
    expect(before.json().escalatedOn).toBe(null);

    const admin = await login(env.app, 'admin');
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/clock/advance',
      headers: { cookie: admin },
      payload: { days: 30 },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().offsetDays).toBe(30);
    expect(res.json().actions).toBeGreaterThan(0);
    expect(Date.parse(res.json().now) - Date.now()).toBeGreaterThan(29 * 86_400_000);

    const after = (
      await env.app.inject({ method: 'GET', url: `/api/sharing/requests/${q.id}`, headers: { cookie: rsj } })
    ).json();
    expect(after.escalatedOn).not.toBe(null);
    expect(after.escalatedOn > q.dueDate).toBe(true);

    const audit = await env.ctx.db
      .selectFrom('audit_log')
      .select(['action', 'decision', 'detail'])
      .where('action', '=', 'clock.advance')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0].decision).toBe('allow');
    expect((audit[0].detail as { days: number }).days).toBe(30);

    const state = (
      await env.app.inject({ method: 'GET', url: '/api/clock', headers: { cookie: rsj } })
    ).json();
    expect(state).toMatchObject({ training: true, offsetDays: 30 });
  });

  it('refuses to move backwards or by more than 60 days at once', async () => {
    const admin = await login(env.app, 'admin');
    for (const days of [0, -1, 61]) {
      const res = await env.app.inject({
        method: 'POST',
        url: '/api/clock/advance',
        headers: { cookie: admin },
        payload: { days },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().details[0].field).toContain('days');
    }
  });
});
