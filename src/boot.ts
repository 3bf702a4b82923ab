import { Redis } from 'ioredis';
import { createCalendar } from './calendar/model.js';
import { backfillEntryClasses, ensureClassTree } from './catalog/classes.js';
import { backfillSearchDocuments } from './catalog/search.js';
import type { Config } from './config.js';
import type { AppContext } from './context.js';
import { closeNats } from './dataapi/nats.js';
import { migrate, openDatabase } from './db/index.js';
import { createJobs } from './jobs/index.js';
import { registerPlatformJobs } from './jobs/platform.js';
import { getProfile } from './profiles/index.js';
import { memoryCounters, redisCounters } from './security/counters.js';
import { FieldKeys } from './security/field-keys.js';
import { loadPlatformSecret } from './security/secret.js';
import { type Clock, systemClock, trainingClock } from './shared/clock.js';
import { keyedHash } from './shared/secrets.js';

/** Opens the database, runs migrations and assembles the context every service receives. */
export async function openContext(
  config: Config,
  opts: { clock?: Clock; nodeId?: string; loadDataDir?: Blob } = {},
): Promise<AppContext> {
  const profile = getProfile(config.profile);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    loadDataDir: opts.loadDataDir,
    poolSize: config.dbPoolSize,
    connectTimeoutMs: config.dbConnectTimeoutMs,
  });
  await migrate(database.db);
  // catalog entries written before search existed get their search document (idempotent)
  await backfillSearchDocuments(database.db);
  // the catalog's classification tree: base libraries, the profile's themes, one node per department (idempotent)
  await ensureClassTree(database.db, profile);
  await backfillEntryClasses(database.db);
  const secret = await loadPlatformSecret(database.db, config.secret);
  const redis = config.redisUrl ? connectRedis(config.redisUrl) : null;
  const clock = opts.clock ?? (config.trainingClock ? trainingClock() : systemClock);
  const ctx: AppContext = {
    config,
    database,
    db: database.db,
    profile,
    calendar: createCalendar(),
    redis,
    // one installation's counters: nodes sharing a database share the secret, so the prefix; another database
    // on the same Redis (a test, a second city) counts apart
    counters: redis
      ? redisCounters(redis, `gs:c:${keyedHash(secret, 'counters').slice(0, 16)}:`)
      : memoryCounters(),
    secret,
    clock,
    jobs: createJobs({ db: database.db, clock, nodeId: opts.nodeId }),
    fieldKeys: new FieldKeys(database.db, config),
  };
  await ctx.fieldKeys.refresh(true, ctx.db);
  await registerPlatformJobs(ctx);
  return ctx;
}

export async function isEmpty(ctx: AppContext): Promise<boolean> {
  const row = await ctx.db.selectFrom('org').select('id').limit(1).executeTakeFirst();
  return !row;
}

/** Closes what openContext opened. */
export async function closeContext(ctx: AppContext): Promise<void> {
  await ctx.jobs.stop();
  await closeNats(ctx);
  ctx.redis?.disconnect();
  await ctx.database.close();
}

function connectRedis(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  // ioredis reconnects by itself; say so once instead of an unhandled 'error' event per retry
  let down = false;
  redis.on('error', (e: Error) => {
    if (!down) console.error(`govshare: Redis unavailable: ${e.message}`);
    down = true;
  });
  redis.on('ready', () => {
    down = false;
  });
  return redis;
}
