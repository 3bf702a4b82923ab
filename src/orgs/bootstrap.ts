import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import type { Config } from '../config.js';
import type { AppContext } from '../context.js';
import { type Db, inTx, type Tx } from '../db/index.js';
import { AppError, type ErrorDetail } from '../shared/errors.js';
import { newSecret, sha256Hex } from '../shared/secrets.js';
import { hashPassword } from './service.js';

/*
 * Secure defaults (GB/T 22239 8.1.4.1 identification; no default accounts): a production start never gets the demo
 * city's published password. The first platform administrator comes from GOVSHARE_ADMIN_PASSWORD or from a one-time
 * setup link whose token is stored only as a SHA-256 hash.
 */

const SETUP_KEY = 'setup';
const SETUP_TTL_MS = 24 * 3600_000;

/** `auto` loads the demo only into the embedded PGlite default; a server database needs an explicit DEMO=on. */
export function demoWanted(config: Pick<Config, 'demo'>, kind: 'pglite' | 'postgres'): boolean {
  if (config.demo === 'on') return true;
  return config.demo === 'auto' && kind === 'pglite';
}

/** Demo mode: the demo city is in this database and demo is not switched off. Only then are demo logins listed. */
export async function isDemoMode(ctx: AppContext): Promise<boolean> {
  if (ctx.config.demo === 'off') return false;
  const row = await ctx.db
    .selectFrom('platform_state')
    .select('key')
    .where('key', '=', 'demo')
    .executeTakeFirst();
  return !!row;
}

export async function hasPlatformAdmin(db: Db | Tx): Promise<boolean> {
  const row = await db
    .selectFrom('app_user')
    .select('id')
    .where(sql<boolean>`'platform_admin' = ANY(roles)`)
    .where('disabled', '=', false)
    .limit(1)
    .executeTakeFirst();
  return !!row;
}

/** An administrator password: at least 12 characters from at least three of lower case, upper case, digits, symbols. */
export function passwordProblems(password: string, username = ''): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const chars = Array.from(password);
  if (chars.length < 12)
    problems.push({
      field: 'password',
      reason: 'at least 12 characters',
      reasonZh: '密码至少 12 个字符',
    });
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (classes < 3)
    problems.push({
      field: 'password',
      reason: 'mix at least three of: lower case, upper case, digits, symbols',
      reasonZh: '密码须包含小写字母、大写字母、数字、符号中的至少三类',
    });
  if (username && password.toLowerCase().includes(username.toLowerCase()))
    problems.push({
      field: 'password',
      reason: 'must not contain the username',
      reasonZh: '密码不得包含用户名',
    });
  if (/demo@2026/i.test(password))
    problems.push({
      field: 'password',
      reason: 'the published demo password',
      reasonZh: '不得使用公开的演示密码',
    });
  return problems;
}

/** The authority org (the first one, or a new one named from the settings) and its first platform administrator. */
async function createAdmin(
  trx: Tx,
  ctx: AppContext,
  a: { username: string; password: string; displayName: string },
): Promise<{ userId: number; orgId: number }> {
  let org = await trx
    .selectFrom('org')
    .select('id')
    .where('kind', '=', 'authority')
    .orderBy('id')
    .executeTakeFirst();
  if (!org) {
    const c = ctx.config;
    await trx
      .insertInto('jurisdiction')
      .values({ code: c.jurisdictionCode, name: c.jurisdictionName, level: 'city', parent_code: null })
      .onConflict((oc) => oc.column('code').doNothing())
      .execute();
    org = await trx
      .insertInto('org')
      .values({
        code: 'AUTHORITY',
        name: c.authorityName,
        short_name: c.authorityName,
        kind: 'authority',
        jurisdiction_code: c.jurisdictionCode,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
  }
  const taken = await trx
    .selectFrom('app_user')
    .select('id')
    .where('username', '=', a.username)
    .executeTakeFirst();
  if (taken)
    throw new AppError('CONFLICT', [
      {
        field: 'username',
        reason: `username ${a.username} is taken`,
        reasonZh: `用户名 ${a.username} 已被使用`,
      },
    ]);
  const user = await trx
    .insertInto('app_user')
    .values({
      username: a.username,
      display_name: a.displayName,
      org_id: org.id,
      section_id: null,
      roles: ['platform_admin'],
      password_hash: await hashPassword(a.password),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { userId: user.id, orgId: org.id };
}

export type BootstrapOutcome =
  | { kind: 'ready' }
  | { kind: 'adminCreated'; username: string }
  | { kind: 'setupLink'; token: string; path: string; expiresAt: Date };

/**
 * Run at start (src/main.ts) when the demo city is not loaded. With an administrator already there: nothing. Otherwise
 * the administrator comes from GOVSHARE_ADMIN_PASSWORD (refused when weak), or a fresh one-time setup token is issued
 * (a previous one stops working) for POST /api/setup/admin.
 */
export async function bootstrapPlatform(ctx: AppContext): Promise<BootstrapOutcome> {
  if (await hasPlatformAdmin(ctx.db)) {
    await ctx.db.deleteFrom('platform_state').where('key', '=', SETUP_KEY).execute();
    return { kind: 'ready' };
  }
  const { adminPassword, adminUsername } = ctx.config;
  if (adminPassword) {
    const problems = passwordProblems(adminPassword, adminUsername);
    if (problems.length)
      throw new AppError('VALIDATION_FAILED', problems, {
        zh: 'GOVSHARE_ADMIN_PASSWORD 强度不足',
        en: 'GOVSHARE_ADMIN_PASSWORD is too weak',
      });
    await inTx(ctx.db, async (trx) => {
      const { userId, orgId } = await createAdmin(trx, ctx, {
        username: adminUsername,
        password: adminPassword,
        displayName: '平台管理员',
      });
      await appendAudit(trx, {
        action: 'platform.bootstrap',
        decision: 'allow',
        actorUserId: userId,
        actorOrgId: orgId,
        targetType: 'app_user',
        targetId: userId,
        detail: { via: 'GOVSHARE_ADMIN_PASSWORD', username: adminUsername },
      });
    });
    return { kind: 'adminCreated', username: adminUsername };
  }
  const token = newSecret();
  const expiresAt = new Date(Date.now() + SETUP_TTL_MS);
  const value = JSON.stringify({ tokenHash: sha256Hex(token), expiresAt: expiresAt.toISOString() });
  await ctx.db
    .insertInto('platform_state')
    .values({ key: SETUP_KEY, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: new Date() }))
    .execute();
  return { kind: 'setupLink', token, path: '/api/setup/admin', expiresAt };
}

/** POST /api/setup/admin: the setup token works once, then SETUP_INVALID. */
export async function completeSetup(
  ctx: AppContext,
  input: { token: string; username: string; password: string; displayName?: string },
  clientIp: string | null,
) {
  const problems = passwordProblems(input.password, input.username);
  if (problems.length) throw new AppError('VALIDATION_FAILED', problems);
  return inTx(ctx.db, async (trx) => {
    // Deleting the row is the single use: two concurrent calls cannot both find it.
    const used = await trx
      .deleteFrom('platform_state')
      .where('key', '=', SETUP_KEY)
      .where(sql<string>`value->>'tokenHash'`, '=', sha256Hex(input.token))
      .returning('value')
      .executeTakeFirst();
    const expiresAt = (used?.value as { expiresAt?: string } | undefined)?.expiresAt;
    if (!used || !expiresAt || new Date(expiresAt).getTime() < Date.now() || (await hasPlatformAdmin(trx)))
      throw new AppError('SETUP_INVALID');
    const { userId, orgId } = await createAdmin(trx, ctx, {
      username: input.username,
      password: input.password,
      displayName: input.displayName?.trim() || '平台管理员',
    });
    await appendAudit(trx, {
      action: 'platform.setup',
      decision: 'allow',
      actorUserId: userId,
      actorOrgId: orgId,
      targetType: 'app_user',
      targetId: userId,
      clientIp,
      detail: { via: 'setup link', username: input.username },
    });
    return { id: userId, username: input.username };
  });
}
