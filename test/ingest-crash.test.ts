import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { closeContext, openContext } from '../src/boot.js';
import { createResourceWithTable } from '../src/catalog/service.js';
import type { AppContext } from '../src/context.js';
import { resumeImports, spoolDir, startImport } from '../src/ingest/pipeline.js';
import { POPULATION_META } from './fixtures/catalog.js';
import { createTestEnv, type TestEnv, testIdNumber } from './helpers.js';

/*
 * Issue 7 point 5: a crash mid-import leaves the whole batch applied or none of it. A child process runs the import
 * and is killed with SIGKILL (no clean-up code runs): once while it stages rows, once inside the merge transaction
 * after every row was merged. The database, reopened, holds no row of the batch; the import resumes at start-up
 * and then holds all of them.
 */
const ROWS = 12_000;
const onPg = Boolean(process.env.DATABASE_URL);

describe('crash consistency of imports (issue 7 point 5)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gs-crash-'));
  let env: TestEnv | null = null;
  /** the platform's key-encryption key, configured alike in this process and the child (as on every node) */
  const KEK = randomBytes(32).toString('base64');
  let ctx: AppContext;
  let table = '';
  let resourceId = 0;
  let file = '';

  afterAll(async () => {
    if (env) await env.close();
    else if (ctx && !closed) await closeContext(ctx);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  let closed = true;
  async function open() {
    if (env) return env.ctx;
    ctx = await openContext({ ...env_config(), dataDir: dir });
    closed = false;
    return ctx;
  }
  async function shut(c: AppContext) {
    await closeContext(c);
    closed = true;
  }
  let baseConfig: AppContext['config'];
  const env_config = () => baseConfig;

  async function queue(c: AppContext) {
    const spool = path.join(spoolDir(c), `crash-${Date.now()}.upload`);
    fs.copyFileSync(file, spool);
    const { id } = await c.db
      .insertInto('ingest_batch')
      .values({
        resource_id: resourceId,
        source: 'upload',
        filename: 'crash.csv',
        status: 'queued',
        rows_total: 0,
        rows_inserted: 0,
        rows_updated: 0,
        error_count: 0,
        errors: '[]',
        created_by: null,
        spool_path: spool,
        bytes_total: fs.statSync(spool).size,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return id;
  }

  /** Runs the import in a child process and SIGKILLs it once `when` says so; resolves when it has died. */
  function runChildAndKill(
    batchId: number,
    how: string,
    when: (p: { phase: string; rowsRead: number }) => boolean,
  ) {
    return new Promise<{ killedAt: { phase: string; rowsRead: number } | null }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', path.join('test', 'fixtures', 'ingest-child.ts'), dir, String(batchId), how],
        {
          // every process on one database shares the key-encryption key (docs/ENCRYPTION.md)
          env: { ...process.env, CHILD_DATABASE_URL: env?.ctx.config.databaseUrl ?? '', GOVSHARE_KEK: KEK },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let killedAt: { phase: string; rowsRead: number } | null = null;
      let buf = '';
      let err = '';
      child.stderr.on('data', (d) => {
        err += String(d);
      });
      child.stdout.on('data', (d) => {
        buf += String(d);
        let i = buf.indexOf('\n');
        while (i >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          i = buf.indexOf('\n');
          try {
            const p = JSON.parse(line);
            if (!killedAt && p.phase && when(p)) {
              killedAt = p;
              child.kill('SIGKILL');
            }
          } catch {
            /* not a progress line */
          }
        }
      });
      child.on('exit', (code, signal) => {
        if (signal === 'SIGKILL') resolve({ killedAt });
        else reject(new Error(`child ended without being killed (code ${code}): ${err.slice(-2000)}`));
      });
    });
  }

  it('setup: a resource and a 12 000-row file', async () => {
    if (onPg) {
      env = await createTestEnv({ demo: { populationRows: 10, entityRows: 10 }, config: { fieldKek: KEK } });
      baseConfig = env.ctx.config;
    } else {
      const t = await createTestEnv({
        demo: { populationRows: 10, entityRows: 10 },
        config: { dataDir: dir, fieldKek: KEK },
      });
      baseConfig = t.ctx.config;
      await t.close(); // PGlite: one process per data directory
    }
    const c = await open();
    const org = await c.db
      .selectFrom('org')
      .select('id')
      .where('kind', '=', 'department')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    resourceId = await c.db.transaction().execute(async (trx) => {
      const created = await createResourceWithTable(
        trx,
        c.profile,
        {
          name: '人口（崩溃测试）',
          summary: '崩溃一致性测试用资源',
          ...POPULATION_META,
          fields: [
            { code: 'idNumber', name: '身份证号', type: 'string', isKey: true, validator: 'idNumber' },
            { code: 'name', name: '姓名', type: 'string' },
            { code: 'age', name: '年龄', type: 'integer' },
          ],
        },
        { providerOrgId: org.id, createdBy: null },
      );
      return created.id;
    });
    table = (
      await c.db
        .selectFrom('resource')
        .select('data_table')
        .where('id', '=', resourceId)
        .executeTakeFirstOrThrow()
    ).data_table!;
    file = path.join(dir, 'rows.csv');
    const lines = ['idNumber,name,age'];
    for (let i = 0; i < ROWS; i++) lines.push(`${testIdNumber(i)},居民${i},${i % 90}`);
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    expect(fs.statSync(file).size).toBeGreaterThan(100_000);
    if (!onPg) await shut(c);
    // an on-disk demo city (now with its quality objections) on a loaded machine: more than the default 60 s
  }, 400_000);

  async function countRows(c: AppContext) {
    const { rows } = await sql.raw<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`).execute(c.db);
    return rows[0].n;
  }

  for (const [how, when, label] of [
    [
      'kill-while-reading',
      (p: { phase: string; rowsRead: number }) => p.phase === 'reading' && p.rowsRead >= 3000,
      'while staging rows',
    ],
    [
      'hang-in-commit',
      (p: { phase: string }) => p.phase === 'committing',
      'inside the merge transaction, every row merged',
    ],
  ] as const)
    it(`SIGKILL ${label}: reopened, the resource holds none of the batch; resumed, all of it`, async () => {
      let c = await open();
      const before = await countRows(c);
      const batchId = await queue(c);
      if (!onPg) await shut(c);
      const { killedAt } = await runChildAndKill(batchId, how, when);
      expect(killedAt).not.toBeNull();
      c = await open();
      expect(await countRows(c)).toBe(before);
      const b = await c.db
        .selectFrom('ingest_batch')
        .select(['status'])
        .where('id', '=', batchId)
        .executeTakeFirstOrThrow();
      expect(b.status).toBe('running');
      // start-up: the interrupted import runs again from its spooled file
      const resumed = await resumeImports(c, 0);
      expect(resumed).toContain(batchId);
      await startImport(c, batchId);
      const done = await c.db
        .selectFrom('ingest_batch')
        .selectAll()
        .where('id', '=', batchId)
        .executeTakeFirstOrThrow();
      expect(done.status).toBe('committed');
      expect(await countRows(c)).toBe(ROWS);
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ingest_staging`.execute(c.db);
      expect(rows[0].n).toBe(0);
      // the second scenario starts from an empty table again
      await sql.raw(`DELETE FROM ${table}`).execute(c.db);
      if (!onPg) await shut(c);
      // three opens of an on-disk PGlite and a child process on a loaded machine: more than the default 60 s
    }, 400_000);
});
