import { verify } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/http/app.js';
import { bootstrapPlatform, demoWanted, passwordProblems } from '../../src/orgs/bootstrap.js';
import { createTestEnv, login, type TestEnv } from '../helpers.js';

const WRONG = 'not-the-password';

/** Finding 1: per-account lockout with backoff, per-IP and platform-wide limits on failed sign-ins. */
describe('login lockout and spraying limits', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({
      demo: { populationRows: 500, entityRows: 200 },
      // demo city loaded but DEMO=off: not demo mode (finding 2)
      config: { demo: 'off', loginIpFailureLimit: 20, loginGlobalFailureLimit: 10_000 },
    });
  });
  afterAll(async () => env?.close());

  const attempt = (username: string, password: string, ip: string, app = env.app) =>
    app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username, password },
      remoteAddress: ip,
    });
  const state = (username: string) =>
    env.ctx.db
      .selectFrom('app_user')
      .select(['failed_logins', 'lock_count', 'locked_until'])
      .where('username', '=', username)
      .executeTakeFirstOrThrow();

  it('GB/T 22239 8.1.4.1 (login failure handling): 5 failures lock the account; the right password then gets 423 ACCOUNT_LOCKED, on every node', async () => {
    // from five different addresses: the lock is per account, not per address
    for (let i = 0; i < 5; i++)
      expect((await attempt('gaj_staff', WRONG, `198.51.100.${i + 1}`)).statusCode).toBe(401);
    const res = await attempt('gaj_staff', 'Demo@2026', '198.51.100.9');
    expect(res.statusCode).toBe(423);
    expect(res.json().code).toBe('ACCOUNT_LOCKED');
    const until = new Date(res.json().details[0].reason.match(/until (\S+)/)[1]).getTime();
    expect(until - Date.now()).toBeGreaterThan(50_000);
    expect(until - Date.now()).toBeLessThanOrEqual(61_000);
    // a second node on the same database agrees
    const node2 = await buildApp(env.ctx);
    await node2.ready();
    expect((await attempt('gaj_staff', 'Demo@2026', '198.51.100.10', node2)).statusCode).toBe(423);
    await node2.close();
  });

  it('GB/T 22239 8.1.4.1: each further lock doubles (1 min, 2 min…), and a successful sign-in resets the count', async () => {
    await env.ctx.db
      .updateTable('app_user')
      .set({ locked_until: new Date(Date.now() - 1000) })
      .where('username', '=', 'gaj_staff')
      .execute();
    for (let i = 0; i < 5; i++) await attempt('gaj_staff', WRONG, '198.51.100.20');
    const s = await state('gaj_staff');
    expect(s.lock_count).toBe(2);
    const left = s.locked_until!.getTime() - Date.now();
    expect(left).toBeGreaterThan(110_000);
    expect(left).toBeLessThanOrEqual(121_000);
    await env.ctx.db
      .updateTable('app_user')
      .set({ locked_until: new Date(Date.now() - 1000) })
      .where('username', '=', 'gaj_staff')
      .execute();
    await attempt('gaj_staff', WRONG, '198.51.100.21');
    expect((await attempt('gaj_staff', 'Demo@2026', '198.51.100.21')).statusCode).toBe(200);
    expect(await state('gaj_staff')).toMatchObject({ failed_logins: 0, lock_count: 0, locked_until: null });
  });

  it('password spraying: failed sign-ins from one IP across many usernames hit the per-IP limit (429), other IPs unaffected', async () => {
    const ip = '192.0.2.77';
    for (let i = 0; i < 20; i++)
      expect((await attempt(`nobody${i}`, 'Spring2026!', ip)).statusCode).toBe(401);
    const blocked = await attempt('rsj_staff', 'Demo@2026', ip);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().code).toBe('RATE_LIMITED');
    expect((await attempt('rsj_staff', 'Demo@2026', '192.0.2.78')).statusCode).toBe(200);
  });

  it('login deny audit rows keep the username bounded', async () => {
    await attempt('x'.repeat(64), WRONG, '192.0.2.90');
    const rows = await env.ctx.db
      .selectFrom('audit_log')
      .select('detail')
      .where('action', '=', 'auth.login')
      .where('decision', '=', 'deny')
      .execute();
    for (const r of rows)
      expect(String((r.detail as { username?: string }).username ?? '').length).toBeLessThanOrEqual(64);
  });

  it('insecure defaults: with the demo loaded but DEMO=off, GET /api/demo/logins does not exist', async () => {
    expect((await env.app.inject({ url: '/api/demo/logins' })).statusCode).toBe(404);
  });
});

describe('platform-wide failed sign-in ceiling', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({
      demo: false,
      config: { loginIpFailureLimit: 0, loginGlobalFailureLimit: 8 },
    });
  });
  afterAll(async () => env?.close());

  it('password spraying from many addresses: the platform-wide ceiling refuses further attempts with 429', async () => {
    for (let i = 0; i < 8; i++) {
      const res = await env.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: `u${i}`, password: 'Spring2026!' },
        remoteAddress: `203.0.113.${i + 1}`,
      });
      expect(res.statusCode).toBe(401);
    }
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'u99', password: 'Spring2026!' },
      remoteAddress: '203.0.113.200',
    });
    expect(res.statusCode).toBe(429);
  });
});

/** Finding 2: no demo city, demo logins or default password on a production start. */
describe('insecure defaults: demo mode and the first administrator', () => {
  it('DEMO=auto loads the demo only into embedded PGlite; a server database needs DEMO=on', () => {
    expect(demoWanted({ demo: 'auto' }, 'postgres')).toBe(false);
    expect(demoWanted({ demo: 'auto' }, 'pglite')).toBe(true);
    expect(demoWanted({ demo: 'on' }, 'postgres')).toBe(true);
    expect(demoWanted({ demo: 'off' }, 'pglite')).toBe(false);
    expect(loadConfig({ DEMO: 'on' }).demo).toBe('on');
    expect(() => loadConfig({ DEMO: 'yes' })).toThrow(/DEMO/);
  });

  it('administrator passwords: 12+ characters, three classes', () => {
    expect(passwordProblems('Demo@2026')).not.toEqual([]);
    expect(passwordProblems('alllowercaseletters')).not.toEqual([]);
    expect(passwordProblems('Admin-2026-临江', 'admin')).not.toEqual([]);
    expect(passwordProblems('Linjiang-2026-Gov')).toEqual([]);
  });

  describe('GOVSHARE_ADMIN_PASSWORD', () => {
    let env: TestEnv;
    beforeAll(async () => {
      env = await createTestEnv({ demo: false });
    });
    afterAll(async () => env?.close());

    it('a production start without the demo lists no demo logins (404)', async () => {
      expect((await env.app.inject({ url: '/api/demo/logins' })).statusCode).toBe(404);
    });

    it('a weak password is refused; a strong one creates the authority and one platform admin (argon2id), audited', async () => {
      const weak = { ...env.ctx, config: { ...env.ctx.config, adminPassword: 'password123' } };
      await expect(bootstrapPlatform(weak)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      const strong = { ...env.ctx, config: { ...env.ctx.config, adminPassword: 'Linjiang-2026-Gov' } };
      expect(await bootstrapPlatform(strong)).toEqual({ kind: 'adminCreated', username: 'admin' });
      const u = await env.ctx.db
        .selectFrom('app_user as u')
        .innerJoin('org as o', 'o.id', 'u.org_id')
        .select(['u.password_hash', 'u.roles', 'o.kind'])
        .execute();
      expect(u).toHaveLength(1);
      expect(u[0].roles).toEqual(['platform_admin']);
      expect(u[0].kind).toBe('authority');
      expect(u[0].password_hash.startsWith('$argon2id$')).toBe(true);
      expect(await verify(u[0].password_hash, 'Linjiang-2026-Gov')).toBe(true);
      await login(env.app, 'admin', 'Linjiang-2026-Gov');
      // a second start changes nothing
      expect(await bootstrapPlatform(strong)).toEqual({ kind: 'ready' });
      const audit = await env.ctx.db
        .selectFrom('audit_log')
        .select('action')
        .where('action', '=', 'platform.bootstrap')
        .execute();
      expect(audit).toHaveLength(1);
    });
  });

  describe('one-time setup link', () => {
    let env: TestEnv;
    beforeAll(async () => {
      env = await createTestEnv({ demo: false });
    });
    afterAll(async () => env?.close());

    it('POST /api/setup/admin works once with the printed token, then SETUP_INVALID; only its hash is stored', async () => {
      const boot = await bootstrapPlatform(env.ctx);
      expect(boot.kind).toBe('setupLink');
      const token = (boot as { token: string }).token;
      const stored = await env.ctx.db
        .selectFrom('platform_state')
        .select('value')
        .where('key', '=', 'setup')
        .executeTakeFirstOrThrow();
      expect(JSON.stringify(stored.value)).not.toContain(token);
      const post = (payload: object) => env.app.inject({ method: 'POST', url: '/api/setup/admin', payload });
      const wrong = await post({ token: 'x'.repeat(43), username: 'root', password: 'Linjiang-2026-Gov' });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json().code).toBe('SETUP_INVALID');
      const weak = await post({ token, username: 'root', password: 'short' });
      expect(weak.statusCode).toBe(400);
      const ok = await post({
        token,
        username: 'root',
        password: 'Linjiang-2026-Gov',
        displayName: '周建国',
      });
      expect(ok.statusCode).toBe(201);
      await login(env.app, 'root', 'Linjiang-2026-Gov');
      const again = await post({ token, username: 'root2', password: 'Linjiang-2026-Gov' });
      expect(again.statusCode).toBe(401);
      expect(again.json().code).toBe('SETUP_INVALID');
      const audit = await env.ctx.db
        .selectFrom('audit_log')
        .selectAll()
        .where('action', '=', 'platform.setup')
        .execute();
      expect(audit).toHaveLength(1);
      expect(audit[0].decision).toBe('allow');
    });
  });
});
