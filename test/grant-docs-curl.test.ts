import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantCalls } from '../web/src/dataapi/grantCalls.js';
import type { Field, Grant } from '../web/src/shared/types.js';
import { codeOf, createTestEnv, grantedApp, login, type TestEnv } from './helpers.js';

/*
 * Issue 9 point 9: the API docs drawer of a grant (web/src/dataapi/GrantDocs.tsx) gives the consumer curl commands to
 * try. They are run here, as a person would paste them into a shell, against the platform listening on loopback. The
 * export writes a file: a refused export must fail visibly (curl's exit code and message) and leave no error JSON in
 * export.csv posing as the data.
 */

/** Runs a command with bash in `cwd` (asynchronously: the server answering it runs in this process). */
function sh(
  cmd: string,
  cwd: string,
  apiKey: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', cmd],
      { cwd, env: { ...process.env, API_KEY: apiKey }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

describe('the API docs drawer’s curl commands (issue 9 point 9)', () => {
  let env: TestEnv;
  let origin = '';
  let g: Awaited<ReturnType<typeof grantedApp>>;
  let grant: Grant;
  let fields: Field[] = [];
  let dir = '';

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 120, entityRows: 60 } });
    origin = await env.app.listen({ port: 0, host: '127.0.0.1' });
    g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: await codeOf(env, '人口基础信息'),
      fields: ['idNumber', 'name', 'countyCode'],
      appName: '导出试用',
      quota: { export: true },
    });
    // what the drawer reads: the grant as the grants list gives it, its resource's fields as the catalog gives them
    const cookie = await login(env.app, 'rsj_officer');
    const grants: Grant[] = (
      await env.app.inject({ url: '/api/sharing/grants', headers: { cookie } })
    ).json();
    grant = grants.find((x) => x.id === g.grantId) as Grant;
    expect(grant?.rights.export).toBe(true);
    const resource = (
      await env.app.inject({ url: `/api/catalog/resources/${g.resourceId}`, headers: { cookie } })
    ).json();
    fields = resource.fields.filter((f: Field) => grant.fields.includes(f.code));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'govshare-curl-'));
  }, 300_000);
  afterAll(async () => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    await env?.close();
  });

  const exportCmd = () => {
    const c = grantCalls(grant, fields, origin, '').find((x) => x.id === 'export');
    expect(c, 'the grant with the export right has an export command').toBeDefined();
    return c!.cmd;
  };

  it('the export command, run with the app’s key, writes the CSV and succeeds', async () => {
    const out = await sh(exportCmd(), dir, g.apiKey);
    expect(out.code, out.stderr).toBe(0);
    const csv = fs.readFileSync(path.join(dir, 'export.csv'), 'utf8');
    expect(csv.startsWith('{')).toBe(false);
    expect(csv.split('\n').length).toBeGreaterThan(2);
    fs.rmSync(path.join(dir, 'export.csv'));
  });

  it('a refused export fails visibly: curl exits non-zero naming the HTTP status, and export.csv holds no error JSON', async () => {
    for (const key of ['gs_not-a-key', g.apiKey]) {
      // the right key with a purpose that is not the grant's is refused too (DG Art 26)
      const cmd = key === g.apiKey ? exportCmd().replace(grant.purposeId, 'not-the-purpose') : exportCmd();
      const out = await sh(cmd, dir, key);
      expect(out.code, `${key}: ${out.stderr}`).toBe(22);
      expect(out.stderr).toMatch(/returned error: 40[13]/);
      const file = path.join(dir, 'export.csv');
      const written = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      expect(written).not.toMatch(/"code"|API_KEY_INVALID|PURPOSE/);
    }
  });

  it('the JSON calls still print the error body to the terminal (no --fail: the reason stays readable)', async () => {
    const list = grantCalls(grant, fields, origin, '').find((x) => x.id === 'list');
    const out = await sh(list!.cmd, dir, 'gs_not-a-key');
    expect(JSON.parse(out.stdout).code).toBe('API_KEY_INVALID');
    const ok = await sh(list!.cmd, dir, g.apiKey);
    expect(JSON.parse(ok.stdout).items.length).toBeGreaterThan(0);
  });
});
