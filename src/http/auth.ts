import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Actor, AppContext, Role } from '../context.js';
import { hasRole } from '../context.js';
import { AppError } from '../shared/errors.js';
import { labelOf } from '../shared/labels.js';
import { sha256Hex } from '../shared/secrets.js';

export const SESSION_COOKIE = 'gs_session';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
}

/** Resolves the session cookie to an Actor; routes then ask `requireActor` / `requireRole`. */
export async function resolveActor(ctx: AppContext, req: FastifyRequest): Promise<Actor | null> {
  const token = req.cookies?.[SESSION_COOKIE];
  if (!token) return null;
  const row = await ctx.db
    .selectFrom('session as s')
    .innerJoin('app_user as u', 'u.id', 's.user_id')
    .innerJoin('org as o', 'o.id', 'u.org_id')
    .select(['u.id', 'u.username', 'u.display_name', 'u.org_id', 'o.kind', 'u.section_id', 'u.roles'])
    .where('s.token_hash', '=', sha256Hex(token))
    .where('s.expires_at', '>', new Date())
    .where('u.disabled', '=', false)
    .executeTakeFirst();
  if (!row) return null;
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    orgId: row.org_id,
    orgKind: row.kind,
    sectionId: row.section_id,
    roles: row.roles as Role[],
    clientIp: req.ip,
  };
}

export function requireActor(req: FastifyRequest): Actor {
  if (!req.actor) throw new AppError('UNAUTHENTICATED');
  return req.actor;
}

export function requireRole(req: FastifyRequest, ...roles: Role[]): Actor {
  const actor = requireActor(req);
  if (!hasRole(actor, ...roles))
    throw new AppError('FORBIDDEN', [
      {
        reason: `requires one of: ${roles.join(', ')}`,
        reasonZh: `须具备以下角色之一：${roles.map((r) => labelOf(`role.${r}`) ?? r).join('、')}`,
      },
    ]);
  return actor;
}

/** Secure when SECURE_COOKIES=true or the request came over HTTPS (X-Forwarded-Proto from a trusted proxy). */
function secure(ctx: AppContext, reply: FastifyReply): boolean {
  return ctx.config.secureCookies || reply.request.protocol === 'https';
}

export function setSessionCookie(
  ctx: AppContext,
  reply: FastifyReply,
  token: string,
  expires: Date,
  name = SESSION_COOKIE,
): void {
  reply.setCookie(name, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: secure(ctx, reply),
    expires,
  });
}

export function clearSessionCookie(ctx: AppContext, reply: FastifyReply, name = SESSION_COOKIE): void {
  reply.clearCookie(name, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: secure(ctx, reply),
  });
}
