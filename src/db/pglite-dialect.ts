import type { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from 'kysely';

/**
 * Kysely over PGlite's own query API. We tried PGlite's node-postgres bridge first: after any failed
 * query its connection is dead ("Connection terminated unexpectedly"), which a server cannot live with.
 * PGlite is one connection, so a FIFO lock hands it to one caller (or one transaction) at a time.
 */
export class Lock {
  #tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => {
      release = r;
    });
    const ready = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => next);
    return ready;
  }
}

function isScript(text: string): boolean {
  const i = text.indexOf(';');
  return i >= 0 && text.slice(i + 1).trim() !== '';
}

export async function pgliteQuery<R>(
  lite: PGlite,
  sql: string,
  parameters: readonly unknown[],
): Promise<QueryResult<R>> {
  if (parameters.length === 0 && isScript(sql)) {
    // migrations: several statements need the simple protocol
    const results = await lite.exec(sql);
    const last = results[results.length - 1];
    return { rows: (last?.rows ?? []) as R[] };
  }
  const res = await lite.query<R>(sql, parameters as unknown[]);
  return {
    rows: res.rows,
    numAffectedRows: res.affectedRows === undefined ? undefined : BigInt(res.affectedRows),
  };
}

class PGliteConnection implements DatabaseConnection {
  constructor(private readonly lite: PGlite) {}

  executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    return pgliteQuery<R>(this.lite, q.sql, q.parameters);
  }

  // biome-ignore lint/correctness/useYield: streaming is not offered on PGlite
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on PGlite');
  }
}

class PGliteDriver implements Driver {
  readonly #releases = new WeakMap<DatabaseConnection, () => void>();
  readonly #conn: PGliteConnection;

  constructor(
    lite: PGlite,
    private readonly lock: Lock,
  ) {
    this.#conn = new PGliteConnection(lite);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.lock.acquire();
    // one PGlite connection: a distinct wrapper per lease so the release goes to the right holder
    const conn = Object.create(this.#conn) as PGliteConnection;
    this.#releases.set(conn, release);
    return conn;
  }

  async beginTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('BEGIN'));
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('COMMIT'));
  }

  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('ROLLBACK'));
  }

  async releaseConnection(conn: DatabaseConnection): Promise<void> {
    this.#releases.get(conn)?.();
    this.#releases.delete(conn);
  }

  async destroy(): Promise<void> {}
}

export class PGliteDialect implements Dialect {
  constructor(
    private readonly lite: PGlite,
    private readonly lock: Lock,
  ) {}

  createAdapter() {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    return new PGliteDriver(this.lite, this.lock);
  }

  createIntrospector(db: Parameters<Dialect['createIntrospector']>[0]) {
    return new PostgresIntrospector(db);
  }

  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}
