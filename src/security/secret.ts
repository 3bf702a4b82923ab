import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/index.js';

const KEY = 'platform_secret';

/**
 * The platform secret keys the audit log's record-key hashes. `GOVSHARE_SECRET` (≥ 32 characters) sets it;
 * otherwise the first start generates 32 random bytes and keeps them in `platform_state`, and every node (and
 * every later start) reads the same value. Changing it makes earlier audit entries unsearchable by key.
 */
export async function loadPlatformSecret(db: Db, fromEnv: string | null): Promise<Buffer> {
  if (fromEnv) return Buffer.from(fromEnv, 'utf8');
  await sql`INSERT INTO platform_state (key, value) VALUES (${KEY}, ${JSON.stringify({ hex: randomBytes(32).toString('hex') })}::jsonb)
    ON CONFLICT (key) DO NOTHING`.execute(db);
  const row = await db
    .selectFrom('platform_state')
    .select('value')
    .where('key', '=', KEY)
    .executeTakeFirstOrThrow();
  return Buffer.from((row.value as { hex: string }).hex, 'hex');
}
