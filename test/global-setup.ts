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
 * With DATABASE_URL the suite runs against that PostgreSQL server; drop test databases a killed run left behind
 * (`gs_t_<pid>_…` whose process is gone), never those of a suite running beside this one.
 */
export async function setup() {
  const url = process.env.DATABASE_URL;
  if (!url) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'gs\\_t\\_%'",
  );
  for (const r of rows) {
    const pid = Number(/^gs_t_(\d+)_/.exec(r.datname)?.[1]);
    if (Number.isInteger(pid) && alive(pid)) continue;
    await client.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
  }
  await client.end();
}
