import { createCalendar } from './calendar/model.js';
import type { Config } from './config.js';
import type { AppContext } from './context.js';
import { migrate, openDatabase } from './db/index.js';
import { getProfile } from './profiles/index.js';

/** Opens the database, runs migrations and assembles the context every service receives. */
export async function openContext(config: Config): Promise<AppContext> {
  const profile = getProfile(config.profile);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.dbPoolSize,
    connectTimeoutMs: config.dbConnectTimeoutMs,
  });
  await migrate(database.db);
  return { config, database, db: database.db, profile, calendar: createCalendar() };
}

export async function isEmpty(ctx: AppContext): Promise<boolean> {
  const row = await ctx.db.selectFrom('org').select('id').limit(1).executeTakeFirst();
  return !row;
}
