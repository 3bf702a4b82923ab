import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeContext, openContext } from '../../src/boot.js';
import type { AppContext } from '../../src/context.js';
import { buildApp } from '../../src/http/app.js';
import { clearRows, codeOf, createTestEnv, dataPath, grantedApp, type TestEnv } from '../helpers.js';

/*
 * Issue 10, reliability: "kill -9 the server while 50 clients call the data API; after restart, every response a client
 * received has its audit record and no audit record exists for a call whose transaction rolled back."
 *
 * The server runs in a child process (test/fixtures/server-child.ts) on an on-disk PGlite directory or a PostgreSQL
 * database. 50 keep-alive clients call GET /records/:key; once enough answers have come back the child is sent SIGKILL
 * (no clean-up code runs) while calls are still in flight. The database is then reopened as a restarted server would:
 * - every 200 a client received names its audit record (auditId), and that record is there: data.get, allow, the app,
 *   the grant, the fields served;
 * - the audit holds no more data.get records of the app than calls were sent: a call cut off before its statement
 *   committed left nothing behind (the audit insert is part of the statement that reads the record);
 * - the restarted platform answers the next call, and that call is audited too.
 */
const CLIENTS = 50;
const KILL_AFTER = 400;
const onPg = Boolean(process.env.DATABASE_URL);

describe('kill -9 under load: no response without its audit record (issue 10)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gs-kill-'));
  let env: TestEnv | null = null;
  const KEK = randomBytes(32).toString('base64');
  let config: AppContext['config'];
  let code = '';
  let keys: string[] = [];
  let grant: Awaited<ReturnType<typeof grantedApp>>;

  afterAll(async () => {
    if (env) await env.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('setup: the demo city on disk, a granted app and keys to look up', async () => {
    const t = await createTestEnv({
      demo: { populationRows: 300, entityRows: 20 },
      // the server child shares the key-encryption key, as every node on one database does (docs/ENCRYPTION.md)
      config: { fieldKek: KEK, ...(onPg ? {} : { dataDir: dir }) },
    });
    config = t.ctx.config;
    code = await codeOf(t, '人口基础信息');
    grant = await grantedApp(t.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: code,
      fields: ['idNumber', 'name'],
      appName: '就业登记核验（断电测试）',
    });
    const { data_table } = await t.ctx.db
      .selectFrom('resource')
      .select('data_table')
      .where('code', '=', code)
      .executeTakeFirstOrThrow();
    // `_key` is the ID number's keyed hash (encrypted at rest): the clear keys, decrypted as the product reads them
    keys = (await clearRows(t, data_table!, { limit: 200 })).map((r) => r.key);
    expect(keys.length).toBe(200);
    if (onPg) env = t;
    else await t.close(); // PGlite: one process per data directory
  }, 400_000);

  it('SIGKILL while 50 clients call: every 200 received has its audit record; nothing more than was sent is audited', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join('test', 'fixtures', 'server-child.ts'), dir],
      {
        env: { ...process.env, CHILD_DATABASE_URL: config.databaseUrl ?? '', GOVSHARE_KEK: KEK },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr = (stderr + String(d)).slice(-4000);
    });
    const exited = new Promise<string | null>((resolve) => child.on('exit', (_c, signal) => resolve(signal)));
    const port = await new Promise<number>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d) => {
        buf += String(d);
        const m = /\{"port":(\d+)\}/.exec(buf);
        if (m) resolve(Number(m[1]));
      });
      exited.then(() => reject(new Error(`server child ended before listening: ${stderr}`)));
    });

    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
    const received: number[] = [];
    let sent = 0;
    let otherStatus = 0;
    let killed = false;
    const call = (key: string) =>
      new Promise<{ status: number; body: string } | null>((resolve) => {
        const req = http.get(
          {
            host: '127.0.0.1',
            port,
            agent,
            path: `${dataPath(code)}/records/${encodeURIComponent(key)}`,
            headers: { 'x-api-key': grant.apiKey, 'x-purpose': grant.purposeId },
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c) => {
              body += c;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            res.on('error', () => resolve(null));
          },
        );
        req.on('error', () => resolve(null)); // the connection died with the server
      });
    const client = async (n: number) => {
      for (let i = n; !killed; i += CLIENTS) {
        sent++;
        const r = await call(keys[i % keys.length]);
        if (!r) return;
        if (r.status !== 200) {
          otherStatus++;
          continue;
        }
        received.push((JSON.parse(r.body) as { auditId: number }).auditId);
        if (received.length >= KILL_AFTER && !killed) {
          killed = true;
          child.kill('SIGKILL'); // calls of the other 49 clients are still in flight
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
    agent.destroy();
    expect(await exited, stderr).toBe('SIGKILL');
    expect(otherStatus, 'every answered call was a 200').toBe(0);
    expect(received.length).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(sent - received.length, 'calls were in flight when the server died').toBeGreaterThan(0);
    expect(new Set(received).size, 'each response names its own audit record').toBe(received.length);

    // restart: the database reopened as the next server process would open it
    const ctx = onPg ? env!.ctx : await openContext({ ...config, dataDir: dir });
    try {
      const found = await ctx.db
        .selectFrom('audit_log')
        .select(['id', 'action', 'decision', 'app_id', 'grant_id', 'fields', 'rows_returned'])
        .where('id', 'in', received)
        .execute();
      expect(found.length, 'audit records of the responses received').toBe(received.length);
      for (const a of found)
        expect(a).toMatchObject({
          action: 'data.get',
          decision: 'allow',
          app_id: grant.appId,
          grant_id: grant.grantId,
          rows_returned: 1,
        });
      const all = await ctx.db
        .selectFrom('audit_log')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('action', '=', 'data.get')
        .where('app_id', '=', grant.appId)
        .executeTakeFirstOrThrow();
      // calls answered ≤ calls audited (committed, maybe unanswered) ≤ calls sent
      expect(Number(all.n)).toBeGreaterThanOrEqual(received.length);
      expect(Number(all.n)).toBeLessThanOrEqual(sent);

      // the restarted platform serves and audits the next call
      const app = await buildApp(ctx, { redis: null });
      try {
        const res = await app.inject({
          url: `${dataPath(code)}/records/${encodeURIComponent(keys[0])}`,
          headers: { 'x-api-key': grant.apiKey, 'x-purpose': grant.purposeId },
        });
        expect(res.statusCode, res.body).toBe(200);
        const auditId = res.json().auditId as number;
        expect(auditId).toBeGreaterThan(Math.max(...received));
        const again = await ctx.db
          .selectFrom('audit_log')
          .select('id')
          .where('id', '=', auditId)
          .executeTakeFirst();
        expect(again?.id).toBe(auditId);
      } finally {
        await app.close();
      }
    } finally {
      if (!onPg) await closeContext(ctx);
    }
  }, 300_000);
});
