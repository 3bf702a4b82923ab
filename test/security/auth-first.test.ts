import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers.js';

describe('Authenticate before validating: anonymous calls are 401 whatever their body', () => {
  let env: TestEnv;
  let webDir: string;
  beforeAll(async () => {
    webDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gs-web-'));
    fs.writeFileSync(
      path.join(webDir, 'index.html'),
      '<!doctype html><html><head><meta name="csp-nonce" content="__CSP_NONCE__" /></head><body></body></html>',
    );
    fs.writeFileSync(path.join(webDir, 'app.js'), 'console.log(1)');
    env = await createTestEnv({ demo: false, config: { webDir } });
  });
  afterAll(async () => {
    await env?.close();
    fs.rmSync(webDir, { recursive: true, force: true });
  });

  it('Auth first: anonymous POSTs with invalid bodies are 401 UNAUTHENTICATED, not 400', async () => {
    const calls: { url: string; payload: unknown; type?: string }[] = [
      { url: '/api/apps', payload: {} },
      { url: '/api/apps', payload: { name: 'x'.repeat(5000), extra: 1 } },
      { url: '/api/catalog/resources', payload: { name: 1 } },
      { url: '/api/sharing/requests', payload: { validUntil: 'tomorrow' } },
      { url: '/api/sharing/requests/abc/approve', payload: [] },
      { url: '/api/calendar/years', payload: { year: 'x' } },
      { url: '/api/apps/0/revoke', payload: {} },
      { url: '/api/ingest/resources/x/csv', payload: 'a,b\n', type: 'text/csv' },
      { url: '/api/apps', payload: 'not json', type: 'application/json' },
      { url: '/api/apps', payload: 'plain', type: 'text/plain' },
    ];
    for (const c of calls) {
      const res = await env.app.inject({
        method: 'POST',
        url: c.url,
        headers: c.type ? { 'content-type': c.type } : {},
        payload: c.payload as string,
      });
      expect(res.statusCode, `${c.url} ${res.body}`).toBe(401);
      expect(res.json().code).toBe('UNAUTHENTICATED');
    }
    const query = await env.app.inject({ url: '/api/audit?page=abc&from=never' });
    expect(query.statusCode).toBe(401);
    const badCookie = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: 'gs_session=forged' },
      payload: {},
    });
    expect(badCookie.statusCode).toBe(401);
  });

  it('Auth first: the public routes (config.public) answer without a session', async () => {
    expect((await env.app.inject({ url: '/api/health' })).statusCode).toBe(200);
    // no demo city in this database: the demo logins route does not exist (insecure defaults finding)
    expect((await env.app.inject({ url: '/api/demo/logins' })).statusCode).toBe(404);
    expect((await env.app.inject({ url: '/api/openapi.json' })).statusCode).toBe(200);
    expect((await env.app.inject({ url: '/api/docs/' })).statusCode).toBe(200);
    const login = await env.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'nobody', password: 'x' },
    });
    expect(login.json().code).toBe('LOGIN_FAILED');
    expect((await env.app.inject({ method: 'POST', url: '/api/auth/logout', payload: {} })).statusCode).toBe(
      200,
    );
    // the API-key routes authenticate by key, not session
    const v1 = await env.app.inject({ url: '/api/v1/data/446000-GAJ-001/records/x' });
    expect(v1.json().code).toBe('API_KEY_INVALID');
    // XT Art 28: the published open list is public; everything else of the inventories needs a session
    expect((await env.app.inject({ url: '/api/inventory/open-list/published' })).statusCode).toBe(200);
    expect((await env.app.inject({ url: '/api/inventory/open-list' })).statusCode).toBe(401);
    // SY Art 33: the open-data portal and its CKAN-compatible API answer without a session
    expect((await env.app.inject({ url: '/api/open/home' })).statusCode).toBe(200);
    expect((await env.app.inject({ url: '/api/3/action/status_show' })).statusCode).toBe(200);
    // unknown API routes stay 404
    expect((await env.app.inject({ url: '/api/nope' })).statusCode).toBe(404);
  });

  it('Auth first: every other /api/ route in the OpenAPI document refuses an anonymous call', async () => {
    const doc = (await env.app.inject({ url: '/api/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const open = new Set([
      '/api/health',
      '/api/demo/logins',
      '/api/auth/login',
      '/api/auth/logout',
      '/api/setup/admin',
      // the published open list is public by law (XT Art 28: 向社会公布); only approved entries
      '/api/inventory/open-list/published',
    ]);
    let checked = 0;
    for (const [p, methods] of Object.entries(doc.paths)) {
      // the open-data portal, its CKAN API and DCAT catalogue are public by law (SY Art 33: 无条件开放 without application)
      if (
        open.has(p) ||
        p.startsWith('/api/v1/') ||
        p.startsWith('/api/open/') ||
        p.startsWith('/api/3/') ||
        p.startsWith('/open/')
      )
        continue;
      for (const method of Object.keys(methods)) {
        const url = p.replace(/\{[^}]+\}/g, '1');
        const res = await env.app.inject({
          method: method.toUpperCase() as 'GET',
          url,
          payload: method === 'get' ? undefined : {},
        });
        expect(res.statusCode, `${method} ${url}`).toBe(401);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15);
  });

  it('CSP: the console HTML carries a fresh nonce and a strict Content-Security-Policy', async () => {
    const a = await env.app.inject({ url: '/' });
    const b = await env.app.inject({ url: '/catalog/12' });
    const c = await env.app.inject({ url: '/index.html' });
    const nonces = [a, b, c].map((res) => {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      const csp = String(res.headers['content-security-policy']);
      const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
      expect(nonce).toBeTruthy();
      expect(res.body).toContain(`<meta name="csp-nonce" content="${nonce}"`);
      expect(res.body).not.toContain('__CSP_NONCE__');
      for (const d of [
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
      ])
        expect(csp).toContain(d);
      expect(csp).not.toContain('unsafe-inline');
      return nonce;
    });
    expect(new Set(nonces).size).toBe(3);
    const head = await env.app.inject({ method: 'HEAD', url: '/' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-security-policy']).toContain("script-src 'self'");
    // static assets are still served as files
    const js = await env.app.inject({ url: '/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.body).toContain('console.log');
  });
});
