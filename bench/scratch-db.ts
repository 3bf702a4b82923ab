import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openContext } from '../src/boot.js';
import { type Config, loadConfig } from '../src/config.js';
import type { AppContext } from '../src/context.js';

/*
 * The benches' scratch database on the PostgreSQL server: a fresh `gs_bench_<rand>` created for one run and dropped
 * after it, so a bench never touches real data and leaves nothing behind.
 */

export interface ScratchDatabase {
  name: string;
  /** the server URL with this database as its path */
  url: string;
  /** `SHOW server_version` */
  version: string;
  drop(): Promise<void>;
}

/**
 * Drops a scratch database. pg.Pool#end resolves before its sockets close, and a forced DROP that terminates a
 * still-closing connection makes that pool emit 'error' (govshare's pool has no listener: the process would crash), so
 * the drop first waits (up to 5 s) for the database's sessions to leave.
 */
export async function dropScratchDatabase(serverUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    for (let i = 0; i < 100; i++) {
      const { rows } = await admin.query(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
        [name],
      );
      if (rows[0].n === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Creates a scratch database; null (after printing SKIP) when the server cannot be reached. */
export async function scratchDatabase(serverUrl: string): Promise<ScratchDatabase | null> {
  const name = `gs_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  try {
    await admin.connect();
  } catch (e) {
    console.log(`PostgreSQL not reachable (${(e as Error).message}): SKIP`);
    return null;
  }
  let version: string;
  try {
    version = String((await admin.query('SHOW server_version')).rows[0].server_version);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return { name, url: u.toString(), version, drop: () => dropScratchDatabase(serverUrl, name) };
}

/**
 * govshare's application context on a scratch database, as the benches open it: the default configuration, no PGlite
 * data directory, a pool of 5 unless `overrides` say otherwise.
 */
export function scratchContext(url: string, overrides: Partial<Config> = {}): Promise<AppContext> {
  return openContext({
    ...loadConfig({}),
    databaseUrl: url,
    dataDir: 'memory://',
    dbPoolSize: 5,
    ...overrides,
  });
}
