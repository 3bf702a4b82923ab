import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEmpty, openContext } from '../src/boot.js';
import { loadConfig } from '../src/config.js';
import { loadDemoCity } from '../src/demo/load.js';
import { createTestEnv, type TestEnv } from './helpers.js';

describe('platform surface', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 100, entityRows: 20 } });
  });
  afterAll(async () => env?.close());

  it('GET /api/health answers 200 with the database kind and profile', async () => {
    const res = await env.app.inject({ url: '/api/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', database: env.ctx.database.kind, profile: 'dongguan-2020' });
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('/api/openapi.json describes every route listed in docs/API.md, each with a summary', async () => {
    const spec = (await env.app.inject({ url: '/api/openapi.json' })).json();
    const doc = fs.readFileSync(path.join(import.meta.dirname, '..', 'docs', 'API.md'), 'utf8');
    const routes = [...doc.matchAll(/^\| (GET|POST|PUT|DELETE|PATCH) \| (\/api\/[^ |]+) \|/gm)].map((m) => [
      m[1].toLowerCase(),
      m[2],
    ]);
    expect(routes.length).toBeGreaterThan(20);
    for (const [method, route] of routes) {
      const openapiPath = route.replace(/:(\w+)/g, '{$1}');
      const op = spec.paths[openapiPath]?.[method];
      expect(op, `${method} ${route}`).toBeTruthy();
      expect(op.summary, `${method} ${route} summary`).toBeTruthy();
      expect(op.responses['4XX'] ?? op.responses['4xx'], `${method} ${route} error shape`).toBeTruthy();
    }
    const docs = await env.app.inject({ url: '/api/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
  });

  it('GB/T 39477: the session cookie is httpOnly and SameSite; logout ends the session', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'auditor', password: 'Demo@2026' },
    });
    const c = res.cookies.find((x) => x.name === 'gs_session')!;
    expect(c.httpOnly).toBe(true);
    expect(c.sameSite).toBe('Lax');
    const cookie = `gs_session=${c.value}`;
    expect((await env.app.inject({ url: '/api/auth/me', headers: { cookie } })).json().user.roles).toEqual([
      'auditor',
    ]);
    await env.app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie } });
    expect((await env.app.inject({ url: '/api/auth/me', headers: { cookie } })).statusCode).toBe(401);
  });

  it('stored passwords are argon2id hashes, never the password', async () => {
    const u = await env.ctx.db
      .selectFrom('app_user')
      .select('password_hash')
      .where('username', '=', 'admin')
      .executeTakeFirstOrThrow();
    expect(u.password_hash).toMatch(/^\$argon2id\$/);
    expect(u.password_hash).not.toContain('Demo@2026');
  });

  it('the demo logins list serves the login page', async () => {
    const logins = (await env.app.inject({ url: '/api/demo/logins' })).json();
    expect(logins.map((u: { username: string }) => u.username)).toEqual(
      expect.arrayContaining(['admin', 'reviewer', 'auditor', 'gaj_officer', 'rsj_officer']),
    );
  });
});

describe('embedded database', () => {
  it('keeps all data across a restart on the same data directory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'govshare-restart-'));
    try {
      const config = { ...loadConfig({}), dataDir: dir, databaseUrl: null };
      const first = await openContext(config);
      expect(await isEmpty(first)).toBe(true);
      // a second process (or a second open) on the same directory would corrupt it: refused
      await expect(openContext(config)).rejects.toThrow(/in use by govshare process/);
      const demo = await loadDemoCity(first, { populationRows: 50, entityRows: 10 });
      await first.database.close();
      const second = await openContext(config);
      expect(await isEmpty(second)).toBe(false);
      const { rows } = await second.database.query<{ n: number }>(
        'SELECT sum(row_count)::int AS n FROM resource',
        [],
      );
      expect(rows[0].n).toBe(demo.rows);
      await second.database.close();
      // a pid file left by a process that died is taken over
      fs.writeFileSync(path.join(dir, 'govshare.pid'), '999999999');
      const third = await openContext(config);
      await third.database.close();
      expect(fs.existsSync(path.join(dir, 'govshare.pid'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
