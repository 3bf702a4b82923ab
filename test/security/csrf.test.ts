import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, login, type TestEnv } from '../helpers.js';

// app.inject's requests arrive with Host: localhost:80, so this server's own origin is http://localhost.
const SELF = 'http://localhost';
const OTHER_PORT = 'http://localhost:5173';

describe('CSRF: cookie-authenticated writes only from this origin', () => {
  let env: TestEnv;
  let officer: string;
  const appCount = async () =>
    Number(
      (
        await env.ctx.db
          .selectFrom('app')
          .select((e) => e.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 200, entityRows: 50 } });
    officer = await login(env.app, 'rsj_officer');
  });
  afterAll(async () => env?.close());

  it('CSRF: a cross-site text/plain POST is refused (ORIGIN_REJECTED), nothing is written', async () => {
    const before = await appCount();
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: {
        cookie: officer,
        'content-type': 'text/plain',
        origin: OTHER_PORT,
        'sec-fetch-site': 'same-site',
      },
      payload: '{"name":"csrf app"}',
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'ORIGIN_REJECTED', message: expect.any(String) });
    expect(await appCount()).toBe(before);
  });

  it('CSRF: a JSON write with a foreign Origin is refused even without Sec-Fetch-Site', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: officer, origin: 'http://evil.example' },
      payload: { name: 'csrf app' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('ORIGIN_REJECTED');
    const nullOrigin = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: officer, origin: 'null' },
      payload: { name: 'csrf app' },
    });
    expect(nullOrigin.statusCode).toBe(403);
  });

  it('CSRF: Sec-Fetch-Site cross-site or same-site is refused without an Origin header', async () => {
    for (const site of ['cross-site', 'same-site']) {
      const res = await env.app.inject({
        method: 'POST',
        url: '/api/sharing/requests/1/approve',
        headers: { cookie: officer, 'sec-fetch-site': site },
        payload: {},
      });
      expect(res.statusCode, site).toBe(403);
      expect(res.json().code).toBe('ORIGIN_REJECTED');
    }
  });

  it('CSRF: login from another origin is refused (login CSRF)', async () => {
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { origin: OTHER_PORT, 'sec-fetch-site': 'same-site' },
      payload: { username: 'rsj_officer', password: 'Demo@2026' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('ORIGIN_REJECTED');
    expect(res.cookies.find((c) => c.name === 'gs_session')).toBeUndefined();
  });

  it('CSRF: same-origin browser writes, header-less clients, reads and the API-key routes pass', async () => {
    const same = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: officer, origin: SELF, 'sec-fetch-site': 'same-origin' },
      payload: { name: '同源应用' },
    });
    expect(same.statusCode).toBe(201);
    const curl = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: officer },
      payload: { name: '脚本应用' },
    });
    expect(curl.statusCode).toBe(201);
    const typed = await env.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'sec-fetch-site': 'none' },
      payload: { username: 'rsj_officer', password: 'Demo@2026' },
    });
    expect(typed.statusCode).toBe(200);
    const read = await env.app.inject({
      url: '/api/apps',
      headers: { cookie: officer, origin: OTHER_PORT, 'sec-fetch-site': 'cross-site' },
    });
    expect(read.statusCode).toBe(200);
    const v1 = await env.app.inject({
      url: '/api/v1/data/446000-GAJ-001/records/x',
      headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(v1.json().code).not.toBe('ORIGIN_REJECTED');
  });

  it('CSRF: text/plain is not a body type anywhere (415 UNSUPPORTED_MEDIA_TYPE), text/csv only for the upload', async () => {
    const plain = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: officer, 'content-type': 'text/plain' },
      payload: '{"name":"plain"}',
    });
    expect(plain.statusCode).toBe(415);
    expect(plain.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', messageEn: expect.any(String) });
    const form = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: officer, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=form',
    });
    expect(form.statusCode).toBe(415);
    const csvToJsonRoute = await env.app.inject({
      method: 'POST',
      url: '/api/apps',
      headers: { cookie: officer, 'content-type': 'text/csv' },
      payload: 'name\nx\n',
    });
    expect(csvToJsonRoute.statusCode).toBe(415);
    const plainUpload = await env.app.inject({
      method: 'POST',
      url: '/api/ingest/resources/1/csv',
      headers: { cookie: officer, 'content-type': 'text/plain' },
      payload: 'a,b\n1,2\n',
    });
    expect(plainUpload.statusCode).toBe(415);
  });
});

describe('CSRF: ALLOWED_ORIGINS admits a console served from another origin (the Vite dev server)', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ demo: false, config: { allowedOrigins: [OTHER_PORT] } });
  });
  afterAll(async () => env?.close());

  it('CSRF: an origin listed in ALLOWED_ORIGINS may write; others still may not', async () => {
    const allowed = await env.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { origin: OTHER_PORT, 'sec-fetch-site': 'same-origin' },
      payload: { username: 'nobody', password: 'x' },
    });
    expect(allowed.json().code).toBe('LOGIN_FAILED');
    const other = await env.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { origin: 'http://localhost:5174' },
      payload: { username: 'nobody', password: 'x' },
    });
    expect(other.json().code).toBe('ORIGIN_REJECTED');
  });
});
