import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, login, type TestEnv } from '../helpers.js';

/** Finding 5: revocations are idempotent and the grant list shows the state the data API enforces. */
describe('state transitions', () => {
  let env: TestEnv;
  let admin: string;
  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 500, entityRows: 200 } });
    admin = await login(env.app, 'admin');
  });
  afterAll(async () => env?.close());

  const auditCount = async (action: string, targetId: number) =>
    (
      await env.ctx.db
        .selectFrom('audit_log')
        .select('id')
        .where('action', '=', action)
        .where('target_id', '=', String(targetId))
        .execute()
    ).length;

  async function newGrant(appName: string) {
    const consumer = await login(env.app, 'rsj_officer');
    const created = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: consumer },
      payload: { name: appName },
    });
    const app = created.json().app as { id: number; orgId: number };
    const resource = await env.ctx.db
      .selectFrom('resource')
      .select('id')
      .where('share_type', '=', 'unconditional')
      .executeTakeFirstOrThrow();
    const g = await env.ctx.db
      .insertInto('share_grant')
      .values({
        resource_id: resource.id,
        consumer_org_id: app.orgId,
        app_id: app.id,
        fields: ['x'],
        purpose: 'test',
        valid_until: new Date(Date.now() + 86_400_000),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { grantId: g.id, appId: app.id, consumer };
  }

  it('GB/T 39477 audit integrity: revoking a revoked grant is idempotent (same body, same revokedAt, no second record)', async () => {
    const { grantId } = await newGrant('幂等撤销测试应用');
    const first = await env.app.inject({
      method: 'POST',
      url: `/api/sharing/grants/${grantId}/revoke`,
      headers: { cookie: admin },
    });
    expect(first.statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    const second = await env.app.inject({
      method: 'POST',
      url: `/api/sharing/grants/${grantId}/revoke`,
      headers: { cookie: admin },
    });
    expect(second.statusCode).toBe(200);
    expect(second.json()).toEqual(first.json());
    expect(second.json().revokedAt).toBe(first.json().revokedAt);
    expect(await auditCount('share.revoke', grantId)).toBe(1);
  });

  it('GB/T 39477 audit integrity: revoking a revoked app is idempotent (same body, same revokedAt, no second record)', async () => {
    const { appId, consumer } = await newGrant('幂等撤销应用');
    const first = await env.app.inject({
      method: 'POST',
      url: `/api/apps/${appId}/revoke`,
      headers: { cookie: consumer },
    });
    expect(first.statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    const second = await env.app.inject({
      method: 'POST',
      url: `/api/apps/${appId}/revoke`,
      headers: { cookie: consumer },
    });
    expect(second.statusCode).toBe(200);
    expect(second.json()).toEqual(first.json());
    expect(await auditCount('app.revoke', appId)).toBe(1);
  });

  it('GB/T 39477 access control: the grant list shows expired grants and grants of revoked apps as not active', async () => {
    const expired = await newGrant('过期授权应用');
    await env.ctx.db
      .updateTable('share_grant')
      .set({ valid_until: new Date(Date.now() - 1000) })
      .where('id', '=', expired.grantId)
      .execute();
    const appGone = await newGrant('吊销应用的授权');
    await env.app.inject({
      method: 'POST',
      url: `/api/apps/${appGone.appId}/revoke`,
      headers: { cookie: appGone.consumer },
    });
    const live = await newGrant('有效授权应用');
    const grants = (
      await env.app.inject({ url: '/api/sharing/grants', headers: { cookie: admin } })
    ).json() as {
      id: number;
      status: string;
    }[];
    const state = (id: number) => grants.find((g) => g.id === id)?.status;
    expect(state(expired.grantId)).toBe('expired');
    expect(state(appGone.grantId)).toBe('appRevoked');
    expect(state(live.grantId)).toBe('active');
  });
});
