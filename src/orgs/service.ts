import { hash, verify } from '@node-rs/argon2';
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

export async function login(ctx: AppContext, username: string, password: string, clientIp: string) {
  const user = await store.findUserForLogin(ctx.db, username);
  dummyHash ??= hash('govshare-dummy-password');
  let ok = false;
  if (user && !user.disabled) ok = await verify(user.password_hash, password);
  else await verify(await dummyHash, password);
  if (!user || !ok) {
    await appendAudit(ctx.db, {
      action: 'auth.login',
      decision: 'deny',
      actorUserId: user?.id ?? null,
      clientIp,
      detail: { username },
    });
    throw new AppError('LOGIN_FAILED');
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

export async function revokeApp(ctx: AppContext, actor: Actor, appId: number) {
  return inTx(ctx.db, async (trx) => {
    const app = await store.getApp(trx, appId);
    if (!app) throw new AppError('NOT_FOUND', [{ field: 'id', reason: `app ${appId} not found` }]);
    if (!canManageApp(actor, app.org_id)) throw new AppError('FORBIDDEN');
    await trx
      .updateTable('app')
      .set({ status: 'revoked', revoked_at: new Date() })
      .where('id', '=', appId)
      .execute();
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
