import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** A process id that is still running (another suite on this machine may own its test databases). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Names this run for the test templates (test/helpers.ts createTestEnv: one migrated, demo-loaded database per
 * configuration, cloned by every file) and removes them at the end. With DATABASE_URL the suite runs against that
 * PostgreSQL server; drop test databases and templates a killed run left behind (`gs_t_<pid>_…`, `gs_tpl_<pid>_…`
 * whose process is gone), never those of a suite running beside this one.
 */
export async function setup() {
  const run = String(process.pid);
  process.env.GS_TEST_RUN = run;
  const dir = path.join(os.tmpdir(), `gs-tpl-${run}`);
  fs.rmSync(dir, { recursive: true, force: true });
  for (const d of fs.readdirSync(os.tmpdir())) {
    const pid = Number(/^gs-tpl-(\d+)$/.exec(d)?.[1]);
    if (Number.isInteger(pid) && !alive(pid))
      fs.rmSync(path.join(os.tmpdir(), d), { recursive: true, force: true });
  }
  const url = process.env.DATABASE_URL;
  if (url) await dropDatabases(url, (pid) => !alive(pid));
  return async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (url) await dropDatabases(url, (pid) => pid === process.pid);
  };
}

async function dropDatabases(url: string, which: (pid: number) => boolean) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'gs\\_t\\_%' OR datname LIKE 'gs\\_tpl\\_%'",
  );
  for (const r of rows) {
    const pid = Number(/^gs_(?:t|tpl)_(\d+)_/.exec(r.datname)?.[1]);
    if (!Number.isInteger(pid) || !which(pid)) continue;
    await client.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
  }
  await client.end();
}
