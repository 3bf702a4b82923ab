import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dutyConflict } from '../../src/orgs/model.js';
import { createTestEnv, login, type TestEnv } from '../helpers.js';

/** Issue 10 points 4 and 7 (GB/T 39477): separated duties, and every privilege change audited and effective at once. */
describe('accounts: separated duties and audited privilege changes', () => {
  let env: TestEnv;
  let admin: string;
  let authorityId: number;
  let gajId: number;
  const strong = 'Lj-Secure#2026x';
  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 200, entityRows: 100 } });
    admin = await login(env.app, 'admin');
    const orgs = await env.ctx.db.selectFrom('org').select(['id', 'kind', 'code']).execute();
    authorityId = Number(orgs.find((o) => o.kind === 'authority')?.id);
    gajId = Number(orgs.find((o) => o.code === 'LJ-GAJ')?.id);
  });
  afterAll(async () => env?.close());

  const create = (payload: object, cookie = admin) =>
    env.app.inject({ method: 'POST', url: '/api/users', headers: { cookie }, payload });
  const auditOf = (action: string) =>
    env.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id').execute();

  it('GB/T 39477: administrator, auditor and operator duties never meet in one account (API and database)', async () => {
    expect(dutyConflict(['platform_admin', 'auditor'])).not.toBeNull();
    expect(dutyConflict(['auditor', 'data_officer'])).not.toBeNull();
    expect(dutyConflict(['data_officer', 'consumer_staff'])).toBeNull();
    const res = await create({
      username: 'two.hats',
      displayName: '兼任者',
      orgId: authorityId,
      roles: ['platform_admin', 'auditor'],
      password: strong,
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().details[0].field).toBe('roles');
    // below the application too: a direct write is refused by the database
    await expect(
      env.ctx.db
        .updateTable('app_user')
        .set({ roles: ['auditor', 'data_officer'] })
        .where('username', '=', 'auditor')
        .execute(),
    ).rejects.toThrow(/app_user_separated_duties/);
  });

  it('an account is created with a strong password, in the right organisation, audited; a weak one is refused', async () => {
    const weak = await create({
      username: 'weak.pw',
      displayName: '弱口令',
      orgId: gajId,
      roles: ['consumer_staff'],
      password: 'abc',
    });
    expect(weak.statusCode).toBe(400);
    const notAuthority = await create({
      username: 'fake.reviewer',
      displayName: '越权审核',
      orgId: gajId,
      roles: ['authority_reviewer'],
      password: strong,
    });
    expect(notAuthority.statusCode).toBe(400);
    expect(notAuthority.json().details[0].field).toBe('roles');
    const officer = await login(env.app, 'gaj_officer');
    expect(
      (
        await create(
          { username: 'x.y', displayName: 'x', orgId: gajId, roles: ['consumer_staff'], password: strong },
          officer,
        )
      ).statusCode,
    ).toBe(403);
    const ok = await create({
      username: 'gaj.newstaff',
      displayName: '新同事',
      orgId: gajId,
      roles: ['consumer_staff'],
      password: strong,
    });
    expect(ok.statusCode).toBe(200);
    const rows = await auditOf('user.created');
    expect(rows.at(-1)?.target_id).toBe(String(ok.json().id));
    expect(await login(env.app, 'gaj.newstaff', strong)).toBeTruthy();
    const list = (
      await env.app.inject({ url: `/api/users?orgId=${gajId}&q=newstaff`, headers: { cookie: admin } })
    ).json();
    expect(list.items.map((u: { username: string }) => u.username)).toEqual(['gaj.newstaff']);
  });

  it('a role change is audited with before and after and ends the sessions at once; nobody changes their own roles', async () => {
    const staff = await login(env.app, 'gaj.newstaff', strong);
    expect((await env.app.inject({ url: '/api/auth/me', headers: { cookie: staff } })).statusCode).toBe(200);
    const user = await env.ctx.db
      .selectFrom('app_user')
      .select('id')
      .where('username', '=', 'gaj.newstaff')
      .executeTakeFirstOrThrow();
    const res = await env.app.inject({
      method: 'PUT',
      url: `/api/users/${user.id}/roles`,
      headers: { cookie: admin },
      payload: { roles: ['data_officer'] },
    });
    expect(res.statusCode).toBe(200);
    expect((await env.app.inject({ url: '/api/auth/me', headers: { cookie: staff } })).statusCode).toBe(401);
    const changed = (await auditOf('user.roles_changed')).at(-1);
    expect(changed?.detail).toMatchObject({ before: ['consumer_staff'], after: ['data_officer'] });

    const me = await env.ctx.db
      .selectFrom('app_user')
      .select('id')
      .where('username', '=', 'admin')
      .executeTakeFirstOrThrow();
    const self = await env.app.inject({
      method: 'PUT',
      url: `/api/users/${me.id}/roles`,
      headers: { cookie: admin },
      payload: { roles: ['platform_admin', 'auditor'] },
    });
    expect([403, 409]).toContain(self.statusCode);
  });

  it('a disabled account cannot sign in and its sessions end; administrators act on each other, never on themselves', async () => {
    const user = await env.ctx.db
      .selectFrom('app_user')
      .select('id')
      .where('username', '=', 'gaj.newstaff')
      .executeTakeFirstOrThrow();
    const session = await login(env.app, 'gaj.newstaff', strong);
    const off = await env.app.inject({
      method: 'POST',
      url: `/api/users/${user.id}/disable`,
      headers: { cookie: admin },
    });
    expect(off.statusCode).toBe(200);
    expect((await env.app.inject({ url: '/api/auth/me', headers: { cookie: session } })).statusCode).toBe(
      401,
    );
    const again = await env.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'gaj.newstaff', password: strong },
    });
    expect(again.statusCode).toBe(401);
    expect((await auditOf('user.disabled')).length).toBe(1);
    const on = await env.app.inject({
      method: 'POST',
      url: `/api/users/${user.id}/enable`,
      headers: { cookie: admin },
    });
    expect(on.statusCode).toBe(200);
    expect(await login(env.app, 'gaj.newstaff', strong)).toBeTruthy();

    // four eyes: a second administrator acts on the first; nobody acts on their own account
    const second = await create({
      username: 'admin.two',
      displayName: '第二管理员',
      orgId: authorityId,
      roles: ['platform_admin'],
      password: strong,
    });
    expect(second.statusCode).toBe(200);
    const two = await login(env.app, 'admin.two', strong);
    const first = await env.ctx.db
      .selectFrom('app_user')
      .select('id')
      .where('username', '=', 'admin')
      .executeTakeFirstOrThrow();
    expect(
      (
        await env.app.inject({
          method: 'POST',
          url: `/api/users/${first.id}/disable`,
          headers: { cookie: two },
        })
      ).statusCode,
    ).toBe(200);
    const last = await env.app.inject({
      method: 'POST',
      url: `/api/users/${second.json().id}/disable`,
      headers: { cookie: two },
    });
    expect(last.statusCode).toBe(403); // self
    const admin2 = await env.ctx.db
      .selectFrom('app_user')
      .select('id')
      .where('username', '=', 'admin.two')
      .executeTakeFirstOrThrow();
    await env.app.inject({ method: 'POST', url: `/api/users/${first.id}/enable`, headers: { cookie: two } });
    const firstAgain = await login(env.app, 'admin');
    const demote = await env.app.inject({
      method: 'PUT',
      url: `/api/users/${admin2.id}/roles`,
      headers: { cookie: firstAgain },
      payload: { roles: ['authority_reviewer'] },
    });
    expect(demote.statusCode).toBe(200);
    // 'admin' is the only administrator again; it cannot disable itself, so one always remains
    const reviewerSelf = await env.app.inject({
      method: 'POST',
      url: `/api/users/${first.id}/disable`,
      headers: { cookie: firstAgain },
    });
    expect(reviewerSelf.statusCode).toBe(403);
  });
});
