import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PGlite, types } from '@electric-sql/pglite';
import { Kysely, type Migration, Migrator, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { from as pgCopyFrom } from 'pg-copy-streams';
import * as m001 from './migrations/001_foundation.js';
import * as m002 from './migrations/002_holiday_year.js';
import * as m003 from './migrations/003_data_api_guards.js';
import * as m004 from './migrations/004_accounts_hardening.js';
import * as m005 from './migrations/005_catalog_search.js';
import * as m006 from './migrations/006_catalog_review.js';
import * as m007 from './migrations/007_inventory.js';
import * as m008 from './migrations/008_catalog_metadata.js';
import * as m009 from './migrations/009_catalog_search_gin.js';
import * as m010 from './migrations/010_jobs_sharing.js';
import * as m011 from './migrations/011_aggregation.js';
import * as m012 from './migrations/012_audit_seal.js';
import * as m013 from './migrations/013_opening.js';
import * as m014 from './migrations/014_data_api.js';
import * as m015 from './migrations/015_quality.js';
import * as m016 from './migrations/016_catalog_search_name.js';
import * as m017 from './migrations/017_data_export.js';
import * as m018 from './migrations/018_open_accounts.js';
import * as m019 from './migrations/019_quality_checks.js';
import * as m020 from './migrations/020_sharing_cases.js';
import * as m021 from './migrations/021_change_feed.js';
import * as m022 from './migrations/022_data_aggregate.js';
import * as m023 from './migrations/023_security_alerts.js';
import * as m024 from './migrations/024_usage_evaluation.js';
import * as m025 from './migrations/025_open_governance.js';
import * as m026 from './migrations/026_ingest_copy_enums.js';
import * as m027 from './migrations/027_base_library.js';
import * as m028 from './migrations/028_sharing_more.js';
import * as m029 from './migrations/029_cross_level_sharing.js';
import * as m030 from './migrations/030_violations.js';
import * as m031 from './migrations/031_bulk_proxy_grants.js';
import * as m032 from './migrations/032_leak_trace_key_rotation.js';
import * as m033 from './migrations/033_open_notices.js';
import * as m034 from './migrations/034_export_watermark.js';
import * as m035 from './migrations/035_bulk_grant_deadlines.js';
import * as m037 from './migrations/037_open_usage_slots.js';
import * as m038 from './migrations/038_eval_portal.js';
import * as m039 from './migrations/039_notify_senders.js';
import * as m040 from './migrations/040_field_encryption.js';
import * as m041 from './migrations/041_audit_partitions.js';
import * as m043 from './migrations/043_class_name_en.js';
import * as m044 from './migrations/044_audit_list_indexes.js';
import * as m045 from './migrations/045_resource_code_alias.js';
import * as m046 from './migrations/046_record_key_ref.js';
import * as m047 from './migrations/047_export_ledger_batches.js';
import * as m049 from './migrations/049_audit_resource_index.js';
import * as m050 from './migrations/050_index_key_version.js';
import * as m051 from './migrations/051_join_index.js';
import * as m052 from './migrations/052_aggregate_budget.js';
import * as m053 from './migrations/053_grant_epsilon_budget.js';
import { Lock, PGliteDialect, pgliteQuery } from './pglite-dialect.js';
import type { DB } from './schema.js';

export type { DB } from './schema.js';
export type Tx = Transaction<DB>;
export type Db = Kysely<DB>;

// Ids fit in a JS number; dates stay 'YYYY-MM-DD' strings so no time zone shifts a deadline.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** One statement outside Kysely, for hot paths: a named prepared statement on PostgreSQL. */
  query<R>(text: string, values: unknown[], name?: string): Promise<{ rows: R[] }>;
  /**
   * Bulk load: `COPY … FROM STDIN` with `data` (COPY text or CSV, as the statement says) on a connection of its own,
   * outside any transaction. PostgreSQL: pg-copy-streams; PGlite: its COPY from `/dev/blob` (the statement's
   * `FROM STDIN` is rewritten). Same statement on both.
   */
  copyFrom(copySql: string, data: string | Uint8Array<ArrayBuffer>): Promise<void>;
  /** PGlite only: the whole data directory as an uncompressed tarball (what `loadDataDir` starts from). */
  dumpDataDir?(): Promise<Blob>;
  close(): Promise<void>;
}

export interface OpenOptions {
  databaseUrl: string | null;
  /** PGlite data directory, or `memory://` */
  dataDir: string;
  poolSize?: number;
  /** Give up on a new PostgreSQL connection after this long (default 5 s), so a dead server fails fast. */
  connectTimeoutMs?: number;
  /**
   * PGlite only: start from this data-directory tarball (`dumpDataDir`) instead of an empty directory. The tests
   * clone one migrated, demo-loaded database this way instead of migrating and loading it again in every file.
   */
  loadDataDir?: Blob;
}

const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown (pg_terminate_backend, fast shutdown)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, recovery)
  '53300', // too_many_connections
]);
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const UNAVAILABLE_MESSAGES = [
  'Connection terminated', // pg: "… unexpectedly", "… due to connection timeout"
  'timeout exceeded when trying to connect', // pg-pool connectionTimeoutMillis
  'is not queryable', // pg: a client that already lost its connection
  'Cannot use a pool after calling end',
];

/**
 * True when `err` says the database cannot be reached or dropped the connection (SQLSTATE class 08, 57P01-03,
 * 53300, socket errors, pool timeouts): the request failed closed and can be retried, it is not a bug. The one
 * place that decides this; the HTTP layer answers 503 DATABASE_UNAVAILABLE for it.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string') {
      if (code.length === 5 && code.startsWith('08')) return true;
      if (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_ERRNOS.has(code)) return true;
    }
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => message.includes(m))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * True when `err` says the database could not write for lack of resources: SQLSTATE 53100 disk_full, 53200
 * out_of_memory, 53400 configuration_limit_exceeded, 53000 insufficient_resources, 58030 io_error. The statement (and
 * with it any data it would have served) failed with its audit record: the HTTP layer answers 503
 * DATABASE_RESOURCES_EXHAUSTED, fail closed.
 */
export function isDatabaseExhausted(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { code } = e as { code?: unknown };
    if (typeof code === 'string' && ['53000', '53100', '53200', '53400', '58030'].includes(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** PGlite: the largest COPY payload passed through the one reused buffer (its address space is reserved up front). */
const COPY_BUFFER_MAX = 64 << 20;

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: opts.poolSize ?? 20,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
      // No JIT: the governed statements' row estimates (LIMIT by a grant's column, per-row subqueries) put their cost
      // above jit_above_cost, and compiling them took ≈ 280 ms of a change-feed page's ≈ 310 ms (auto_explain, 1 M
      // changes); these statements run in milliseconds and are planned again per call, so JIT never pays back.
      options: '-c jit=off',
    });
    // A connection killed by the server (restart, failover, pg_terminate_backend) must not crash the process.
    // Idle in the pool: the pool emits 'error', drops it and opens a new one on the next query. Checked out:
    // the client itself emits 'error' (nobody else listens then), and the query in flight rejects, which the
    // HTTP layer answers with 503 DATABASE_UNAVAILABLE; the pool discards the broken client on release.
    let lastLog = 0;
    const lost = (err: Error) => {
      const now = Date.now();
      if (now - lastLog < 1000) return; // one line per second at most while the server is down
      lastLog = now;
      console.error(`govshare: database connection lost: ${err.message}`);
    };
    pool.on('error', lost);
    pool.on('connect', (client) => client.on('error', lost));
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      kind: 'postgres',
      query: async <R>(text: string, values: unknown[], name?: string) => {
        const r = await pool.query({ text, values, name });
        return { rows: r.rows as R[] };
      },
      copyFrom: async (copySql: string, data: string | Uint8Array<ArrayBuffer>) => {
        const client = await pool.connect();
        try {
          await pipeline(
            async function* () {
              yield data;
            },
            client.query(pgCopyFrom(copySql)),
          );
          client.release();
        } catch (e) {
          // a failed COPY: the connection is not handed out again
          client.release(e as Error);
          throw e;
        }
      },
      close: () => db.destroy(),
    };
  }
  const unlock = opts.dataDir.startsWith('memory://') ? () => {} : lockDataDir(opts.dataDir);
  const lite = await PGlite.create(opts.dataDir, {
    ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
    // ids fit in a JS number; dates stay 'YYYY-MM-DD' strings, as on the pg path
    parsers: { [types.INT8]: (v: string) => Number(v), [types.DATE]: (v: string) => v },
  });
  const lock = new Lock();
  const db = new Kysely<DB>({ dialect: new PGliteDialect(lite, lock) });
  /*
   * The bytes of one COPY, handed to PGlite as its /dev/blob. PGlite reads a blob only through `arrayBuffer()` (a fresh
   * copy each time) and takes that buffer's length as the end of the data. A Blob per staging chunk thus left two
   * ≈ 2 MB copies per 10 000 rows; promoted to V8's old generation while PGlite's COPY ran, they stayed until a full GC,
   * so RSS grew with the file (≈ 300 MB of dead ArrayBuffers at 1 M rows). One resizable buffer, used under the lock,
   * set to each chunk's length, leaves no garbage; a chunk larger than its maximum goes as a Blob, as before.
   */
  const copyBuf = new (
    ArrayBuffer as unknown as new (
      n: number,
      o: { maxByteLength: number },
    ) => ArrayBuffer & { resize(n: number): void }
  )(0, { maxByteLength: COPY_BUFFER_MAX });
  const copySource = (data: string | Uint8Array<ArrayBuffer>): Blob => {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (bytes.length > COPY_BUFFER_MAX) return new Blob([bytes]);
    copyBuf.resize(bytes.length);
    new Uint8Array(copyBuf).set(bytes);
    return { arrayBuffer: async () => copyBuf } as unknown as Blob;
  };
  return {
    db,
    kind: 'pglite',
    query: async <R>(text: string, values: unknown[]) => {
      const release = await lock.acquire();
      try {
        return await pgliteQuery<R>(lite, text, values);
      } finally {
        release();
      }
    },
    copyFrom: async (copySql: string, data: string | Uint8Array<ArrayBuffer>) => {
      const release = await lock.acquire();
      try {
        await lite.query(copySql.replace(/\bFROM STDIN\b/i, "FROM '/dev/blob'"), [], {
          blob: copySource(data),
        });
      } finally {
        release();
      }
    },
    dumpDataDir: async () => {
      const release = await lock.acquire();
      try {
        return await lite.dumpDataDir('none');
      } finally {
        release();
      }
    },
    close: async () => {
      await db.destroy();
      await lite.close();
      unlock();
    },
  };
}

const MIGRATIONS: Record<string, Migration> = {
  '001_foundation': m001,
  '002_holiday_year': m002,
  '003_data_api_guards': m003,
  '004_accounts_hardening': m004,
  '005_catalog_search': m005,
  '006_catalog_review': m006,
  '007_inventory': m007,
  '008_catalog_metadata': m008,
  '009_catalog_search_gin': m009,
  '010_jobs_sharing': m010,
  '011_aggregation': m011,
  '012_audit_seal': m012,
  '013_opening': m013,
  '014_data_api': m014,
  '015_quality': m015,
  '016_catalog_search_name': m016,
  '020_sharing_cases': m020,
  '018_open_accounts': m018,
  '019_quality_checks': m019,
  '017_data_export': m017,
  '025_open_governance': m025,
  '022_data_aggregate': m022,
  '021_change_feed': m021,
  '024_usage_evaluation': m024,
  '023_security_alerts': m023,
  '026_ingest_copy_enums': m026,
  '027_base_library': m027,
  '030_violations': m030,
  '032_leak_trace_key_rotation': m032,
  '029_cross_level_sharing': m029,
  '033_open_notices': m033,
  '034_export_watermark': m034,
  '028_sharing_more': m028,
  '031_bulk_proxy_grants': m031,
  '035_bulk_grant_deadlines': m035,
  '037_open_usage_slots': m037,
  '038_eval_portal': m038,
  '039_notify_senders': m039,
  '040_field_encryption': m040,
  '041_audit_partitions': m041,
  '043_class_name_en': m043,
  '044_audit_list_indexes': m044,
  '045_resource_code_alias': m045,
  '046_record_key_ref': m046,
  '047_export_ledger_batches': m047,
  '049_audit_resource_index': m049,
  '050_index_key_version': m050,
  '051_join_index': m051,
  '052_aggregate_budget': m052,
  '053_grant_epsilon_budget': m053,
};

/** The schema's migrator (also for tests that run a migration's down path). */
export function migrator(db: Db): Migrator {
  return new Migrator({
    // branches number their migrations apart (008, 009, 010…) and merge in any order; each is independent
    allowUnorderedMigrations: true,
    db,
    provider: { getMigrations: async () => MIGRATIONS },
  });
}

export async function migrate(db: Db): Promise<void> {
  const { error, results } = await migrator(db).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
}

/**
 * PGlite has no server to arbitrate: two processes on one data directory would corrupt it. A pid file
 * refuses the second one, and a stale file (its process is gone) is taken over.
 */
function lockDataDir(dir: string): () => void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'govshare.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(file, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
        throw new Error(
          `${dir} is in use by govshare process ${pid}; stop it or set GOVSHARE_DATA_DIR to another directory`,
        );
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`cannot lock ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` in a transaction, or inside the caller's when `db` already is one. Use cases compose this way:
 * the demo loader runs many use cases in one transaction, so a crash leaves no half-loaded city.
 */
export function inTx<T>(db: Db | Tx, fn: (trx: Tx) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db as Tx);
  return db.transaction().execute(fn);
}
