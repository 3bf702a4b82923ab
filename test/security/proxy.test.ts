import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createTestEnv, type TestEnv } from '../helpers.js';

const envs: TestEnv[] = [];
afterAll(async () => {
  for (const e of envs) await e.close();
});

async function attempt(env: TestEnv, username: string, headers: Record<string, string> = {}) {
  return env.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers,
    payload: { username, password: 'wrong-password' },
  });
}

async function loginIps(env: TestEnv, username: string): Promise<(string | null)[]> {
  const rows = await env.ctx.db
    .selectFrom('audit_log')
    .select(['client_ip', 'detail'])
    .where('action', '=', 'auth.login')
    .orderBy('id')
    .execute();
  return rows.filter((r) => JSON.stringify(r.detail).includes(username)).map((r) => r.client_ip);
}

describe('trustProxy: X-Forwarded-For is believed only from TRUST_PROXY', () => {
  it('trustProxy: without TRUST_PROXY a rotating X-Forwarded-For does not escape the login rate limit', async () => {
    const env = await createTestEnv({ demo: false, config: { loginRateLimitPerMinute: 3 } });
    envs.push(env);
    const user = `nobody-${randomBytes(4).toString('hex')}`;
    for (let i = 0; i < 3; i++)
      expect((await attempt(env, user, { 'x-forwarded-for': `10.0.0.${i}` })).statusCode).toBe(401);
    const limited = await attempt(env, user, { 'x-forwarded-for': '10.0.0.99' });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('RATE_LIMITED');
  });

  it('trustProxy: without TRUST_PROXY the audit stores the socket address, never the header text', async () => {
    const env = await createTestEnv({ demo: false });
    envs.push(env);
    const user = `nobody-${randomBytes(4).toString('hex')}`;
    await attempt(env, user, { 'x-forwarded-for': '<script>alert(1)</script>' });
    await attempt(env, user, { 'x-forwarded-for': '203.0.113.7' });
    const ips = await loginIps(env, user);
    expect(ips).toEqual(['127.0.0.1', '127.0.0.1']);
  });

  it('trustProxy: with TRUST_PROXY=127.0.0.1 the forwarded client IP is used, but only if it is an IP', async () => {
    const env = await createTestEnv({
      demo: false,
      config: { trustProxy: ['127.0.0.1'], loginRateLimitPerMinute: 2 },
    });
    envs.push(env);
    const user = `nobody-${randomBytes(4).toString('hex')}`;
    await attempt(env, user, { 'x-forwarded-for': '203.0.113.7' });
    await attempt(env, user, { 'x-forwarded-for': 'not-an-ip; DROP TABLE audit_log' });
    expect(await loginIps(env, user)).toEqual(['203.0.113.7', '127.0.0.1']);
    // behind the proxy, clients are told apart by the address it forwards
    expect((await attempt(env, user, { 'x-forwarded-for': '203.0.113.7' })).statusCode).toBe(401);
    expect((await attempt(env, user, { 'x-forwarded-for': '203.0.113.7' })).statusCode).toBe(429);
    expect((await attempt(env, user, { 'x-forwarded-for': '203.0.113.8' })).statusCode).toBe(401);
  });

  it('trustProxy: TRUST_PROXY takes IPs and CIDRs and refuses anything else', () => {
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      '::1',
    ]);
    expect(loadConfig({}).trustProxy).toEqual([]);
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/99' })).toThrow(/TRUST_PROXY/);
  });
});

describe('Secure cookies: the session cookie is Secure over HTTPS', () => {
  const sessionCookie = (res: { cookies: { name: string; secure?: boolean }[] }) =>
    res.cookies.find((c) => c.name === 'gs_session');

  it('Secure cookies: Secure when a trusted proxy says https, not over plain http or from an untrusted hop', async () => {
    const trusted = await createTestEnv({
      demo: { populationRows: 50, entityRows: 20 },
      config: { trustProxy: ['127.0.0.1'] },
    });
    envs.push(trusted);
    const login = (env: TestEnv, headers: Record<string, string>) =>
      env.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers,
        payload: { username: 'admin', password: 'Demo@2026' },
      });
    const https = await login(trusted, { 'x-forwarded-proto': 'https' });
    expect(https.statusCode).toBe(200);
    expect(sessionCookie(https)?.secure).toBe(true);
    const http = await login(trusted, {});
    expect(sessionCookie(http)?.secure).toBeFalsy();

    const untrusted = await createTestEnv({ demo: { populationRows: 50, entityRows: 20 } });
    envs.push(untrusted);
    const spoofed = await login(untrusted, { 'x-forwarded-proto': 'https' });
    expect(sessionCookie(spoofed)?.secure).toBeFalsy();
    untrusted.ctx.config.secureCookies = true; // SECURE_COOKIES=true: always
    expect(sessionCookie(await login(untrusted, {}))?.secure).toBe(true);
  });
});
