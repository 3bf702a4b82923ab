import { hash, verify } from '@node-rs/argon2';
import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import type { Actor, AppContext } from '../context.js';
import { inTx } from '../db/index.js';
import { AppError } from '../shared/errors.js';
import { newSecret, sha256Hex } from '../shared/secrets.js';
import { apiKeyPrefix, canManageApp, canSeeAllApps } from './model.js';
import * as store from './store.js';

// A fixed hash so an unknown username costs the same time as a wrong password.
let dummyHash: Promise<string> | null = null;

export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

/** Start of the fixed window the failure counters of `now` fall in. */
function failureBucket(ctx: AppContext, now = Date.now()): Date {
  const w = Math.max(ctx.config.loginFailureWindowSeconds, 1) * 1000;
  return new Date(Math.floor(now / w) * w);
}

export const boundedIp = (ip: string) => (ip || 'unknown').slice(0, 64);

/**
 * Password spraying (one password over many accounts) never trips a per-account lock: failed sign-ins are also
 * counted per client IP across usernames and platform-wide, in the database so every node sees the same counts.
 */
export async function checkFailureBudget(ctx: AppContext, clientIp: string) {
  const { loginIpFailureLimit: ipLimit, loginGlobalFailureLimit: allLimit } = ctx.config;
  if (!ipLimit && !allLimit) return;
  const rows = await ctx.db
    .selectFrom('login_failure')
    .select(['scope', 'count'])
    .where('bucket', '=', failureBucket(ctx))
    .where((eb) =>
      eb.or([
        eb.and([eb('scope', '=', 'ip'), eb('key', '=', boundedIp(clientIp))]),
        eb.and([eb('scope', '=', 'all'), eb('key', '=', '')]),
      ]),
    )
    .execute();
  const count = (scope: string) => rows.find((r) => r.scope === scope)?.count ?? 0;
  const ipOver = ipLimit > 0 && count('ip') >= ipLimit;
  const allOver = allLimit > 0 && count('all') >= allLimit;
  if (ipOver || allOver) {
    const retry = new Date(failureBucket(ctx).getTime() + ctx.config.loginFailureWindowSeconds * 1000);
    throw new AppError('RATE_LIMITED', [
      {
        reason: `too many failed sign-ins ${ipOver ? 'from this address' : 'on the platform'}; retry after ${retry.toISOString()}`,
        reasonZh: `${ipOver ? '该地址' : '全平台'}登录失败次数过多，请于 ${retry.toISOString()} 后重试`,
      },
    ]);
  }
}

/**
 * Counts one failed sign-in: the account's consecutive failures (locking it at the threshold), the IP and the platform.
 * `table` names the principal kind: staff (app_user) or public accounts of the open-data portal (open_account), which
 * carry the same lock columns and share the IP and platform windows.
 */
export async function recordFailure(
  ctx: AppContext,
  userId: number | null,
  clientIp: string,
  table: 'app_user' | 'open_account' = 'app_user',
): Promise<Date | null> {
  const bucket = failureBucket(ctx);
  let lockedUntil: Date | null = null;
  await inTx(ctx.db, async (trx) => {
    for (const [scope, key] of [
      ['ip', boundedIp(clientIp)],
      ['all', ''],
    ] as const) {
      const r = await trx
        .insertInto('login_failure')
        .values({ bucket, scope, key, count: 1 })
        .onConflict((oc) =>
          oc.columns(['bucket', 'scope', 'key']).doUpdateSet({ count: sql`login_failure.count + 1` }),
        )
        .returning('count')
        .executeTakeFirstOrThrow();
      // the first failure of a window clears windows that can no longer matter
      if (scope === 'all' && r.count === 1)
        await trx.deleteFrom('login_failure').where('bucket', '<', bucket).execute();
    }
    const { loginLockThreshold: n, loginLockBaseSeconds: base, loginLockMaxSeconds: cap } = ctx.config;
    if (userId !== null && n > 0) {
      // One statement, so concurrent failures on several nodes cannot lose a count. Every right-hand side reads the
      // old row: at the threshold the account locks for base·2^lock_count seconds (capped) and the count restarts.
      const row = await sql<{ locked_until: Date | null }>`
        UPDATE ${sql.table(table)} SET
          failed_logins = CASE WHEN failed_logins + 1 >= ${n} THEN 0 ELSE failed_logins + 1 END,
          lock_count = CASE WHEN failed_logins + 1 >= ${n} THEN lock_count + 1 ELSE lock_count END,
          locked_until = CASE WHEN failed_logins + 1 >= ${n}
            THEN now() + make_interval(secs => LEAST(${base}::float8 * power(2, LEAST(lock_count, 30)), ${cap}::float8))
            ELSE locked_until END
        WHERE id = ${userId}
        RETURNING locked_until`.execute(trx);
      const until = row.rows[0]?.locked_until;
      lockedUntil = until && new Date(until).getTime() > Date.now() ? new Date(until) : null;
    }
  });
  return lockedUntil;
}

export function lockedError(until: Date): AppError {
  return new AppError('ACCOUNT_LOCKED', [
    {
      field: 'username',
      reason: `locked after repeated failed sign-ins until ${until.toISOString()}`,
      reasonZh: `因多次登录失败，账号锁定至 ${until.toISOString()}`,
    },
  ]);
}

export async function login(ctx: AppContext, username: string, password: string, clientIp: string) {
  await checkFailureBudget(ctx, clientIp);
  const user = await store.findUserForLogin(ctx.db, username);
  dummyHash ??= hash('govshare-dummy-password');
  // A locked account is refused even with the right password; the password is not even checked. The refusal is
  // audited (aggregated per minute) by the HTTP error handler, so hammering a locked account cannot flood the log.
  if (user?.locked_until && user.locked_until.getTime() > Date.now()) throw lockedError(user.locked_until);
  let ok = false;
  if (user && !user.disabled) ok = await verify(user.password_hash, password);
  else await verify(await dummyHash, password);
  if (!user || !ok) {
    const lockedUntil = await recordFailure(ctx, user?.id ?? null, clientIp);
    await appendAudit(ctx.db, {
      action: 'auth.login',
      decision: 'deny',
      actorUserId: user?.id ?? null,
      clientIp: boundedIp(clientIp),
      detail: { username: username.slice(0, 64), ...(lockedUntil ? { lockedUntil } : {}) },
    });
    throw new AppError('LOGIN_FAILED').alreadyAudited();
  }
  const token = newSecret();
  const expires = new Date(Date.now() + ctx.config.sessionTtlHours * 3600_000);
  await inTx(ctx.db, async (trx) => {
    // expired sessions of this user go when a new one starts, so the table stays the size of active use
    await trx
      .deleteFrom('session')
      .where('user_id', '=', user.id)
      .where('expires_at', '<=', new Date())
      .execute();
    await store.insertSession(trx, sha256Hex(token), user.id, expires);
    await trx
      .updateTable('app_user')
      .set({ failed_logins: 0, lock_count: 0, locked_until: null })
      .where('id', '=', user.id)
      .execute();
    await appendAudit(trx, {
      action: 'auth.login',
      decision: 'allow',
      actorUserId: user.id,
      actorOrgId: user.org_id,
      clientIp,
    });
  });
  return { token, expires, userId: user.id };
}

export async function logout(ctx: AppContext, token: string) {
  await store.deleteSession(ctx.db, sha256Hex(token));
}

export async function me(ctx: AppContext, userId: number) {
  const u = await store.getUserProfile(ctx.db, userId);
  return {
    user: {
      id: u.id,
      username: u.username,
      displayName: u.display_name,
      roles: u.roles,
      org: { id: u.org_id, code: u.org_code, name: u.org_name, kind: u.org_kind },
      section: u.section_id ? { id: u.section_id, code: u.section_code, name: u.section_name } : null,
    },
    profile: { id: ctx.profile.id, nameZh: ctx.profile.nameZh, nameEn: ctx.profile.nameEn },
  };
}

export async function listApps(ctx: AppContext, actor: Actor) {
  return store.listApps(ctx.db, canSeeAllApps(actor) ? null : actor.orgId);
}

export async function createApp(
  ctx: AppContext,
  actor: Actor,
  input: { name: string; description?: string },
) {
  if (!canManageApp(actor, actor.orgId)) throw new AppError('FORBIDDEN');
  const apiKey = `gs_${newSecret(6)}_${newSecret(24)}`;
  return inTx(ctx.db, async (trx) => {
    const { id } = await trx
      .insertInto('app')
      .values({
        org_id: actor.orgId,
        name: input.name,
        description: input.description ?? '',
        key_prefix: apiKeyPrefix(apiKey),
        key_hash: sha256Hex(apiKey),
        created_by: actor.id,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      action: 'app.create',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      appId: id,
      targetType: 'app',
      targetId: id,
      clientIp: actor.clientIp,
    });
    const app = await store.getApp(trx, id);
    return { app: store.appView(app!), apiKey };
  });
}

/** The longest overlap a rotation may give the replaced key (30 days). */
export const KEY_ROTATION_MAX_OVERLAP_HOURS = 720;

/**
 * API key rotation with overlap (issue 10 point 7): a new key is issued (shown once), the replaced one keeps working
 * for the overlap (the request's hours, else API_KEY_ROTATION_OVERLAP_HOURS, 24 by default; 0 = stops at once) and
 * then stops. A key replaced by an earlier rotation that is still in its overlap stops now: only one previous key is
 * ever accepted. Audited (`app.keyRotate`, with the overlap's end). Only for an app that is not revoked.
 */
export async function rotateAppKey(
  ctx: AppContext,
  actor: Actor,
  appId: number,
  input: { overlapHours?: number },
) {
  const hours = input.overlapHours ?? ctx.config.dataApi.keyRotationOverlapHours ?? 24;
  const apiKey = `gs_${newSecret(6)}_${newSecret(24)}`;
  return inTx(ctx.db, async (trx) => {
    const app = await trx
      .selectFrom('app')
      .select(['id', 'org_id', 'status', 'key_hash'])
      .where('id', '=', appId)
      .forUpdate()
      .executeTakeFirst();
    if (!app)
      throw new AppError('NOT_FOUND', [
        { field: 'id', reason: `app ${appId} not found`, reasonZh: `应用 ${appId} 不存在` },
      ]);
    if (!canManageApp(actor, app.org_id)) throw new AppError('FORBIDDEN');
    if (app.status === 'revoked')
      throw new AppError('CONFLICT', [
        { field: 'id', reason: 'a revoked app gets no new key', reasonZh: '已撤销的应用不能更换密钥' },
      ]);
    const until = new Date(Date.now() + hours * 3600_000);
    await trx
      .updateTable('app')
      .set({
        key_prefix: apiKeyPrefix(apiKey),
        key_hash: sha256Hex(apiKey),
        prev_key_hash: hours > 0 ? app.key_hash : null,
        prev_key_until: hours > 0 ? until : null,
      })
      .where('id', '=', appId)
      .execute();
    await appendAudit(trx, {
      action: 'app.keyRotate',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      appId,
      targetType: 'app',
      targetId: appId,
      clientIp: actor.clientIp,
      detail: { overlapHours: hours, previousKeyUntil: hours > 0 ? until.toISOString() : null },
    });
    const view = store.appView((await store.getApp(trx, appId))!);
    return { app: view, apiKey, previousKeyUntil: hours > 0 ? until : null };
  });
}

export async function revokeApp(ctx: AppContext, actor: Actor, appId: number) {
  return inTx(ctx.db, async (trx) => {
    const app = await store.getApp(trx, appId);
    if (!app)
      throw new AppError('NOT_FOUND', [
        { field: 'id', reason: `app ${appId} not found`, reasonZh: `应用 ${appId} 不存在` },
      ]);
    if (!canManageApp(actor, app.org_id)) throw new AppError('FORBIDDEN');
    // Idempotent: a second revoke keeps the first revokedAt and writes no second audit record.
    const changed = await trx
      .updateTable('app')
      .set({ status: 'revoked', revoked_at: new Date() })
      .where('id', '=', appId)
      .where('status', '<>', 'revoked')
      .executeTakeFirst();
    if (Number(changed.numUpdatedRows) === 0) return store.appView((await store.getApp(trx, appId))!);
    await appendAudit(trx, {
      action: 'app.revoke',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      appId,
      targetType: 'app',
      targetId: appId,
      clientIp: actor.clientIp,
    });
    return store.appView((await store.getApp(trx, appId))!);
  });
}
