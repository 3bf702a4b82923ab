import { sql } from 'kysely';
import type { AppContext } from '../context.js';
import { inTx } from '../db/index.js';
import type { ErrorCode } from '../shared/errors.js';
import { appendAudit } from './store.js';

/*
 * GB/T 22239 (8.1.4.3 security audit) / DG Art 28: refused requests are audited too, not only granted ones. Anonymous
 * callers must not be able to grow the permanent audit table at will, so:
 *  - every stored string is bounded, and none is taken from the raw URL: the route is Fastify's route pattern;
 *  - identical refusals (same minute, principal, client IP, method, route, code) are aggregated: the first writes a full
 *    audit_log row, the rest only raise the count of its row in audit_refusal_tally.
 */

export const REFUSAL_BOUNDS = {
  ip: 64,
  method: 10,
  route: 200,
  code: 40,
  principal: 40,
  targetId: 64,
} as const;

export interface RefusalInput {
  actorUserId?: number | null;
  actorOrgId?: number | null;
  appId?: number | null;
  clientIp: string | null | undefined;
  method: string;
  /** The route pattern ('/api/sharing/requests/:id/approve'), never the raw URL. */
  route: string | null | undefined;
  code: ErrorCode;
  targetId?: string | number | null;
  /** how many identical refusals this call stands for (the anonymous flood limiter records them in hundreds) */
  times?: number;
}

const bound = (s: string | null | undefined, n: number, fallback: string) => {
  const v = s == null || s === '' ? fallback : String(s);
  // strip control characters so the excerpt cannot forge lines in an export
  return Array.from(v, (ch) => (ch.charCodeAt(0) < 0x20 || ch === '\u007f' ? '?' : ch))
    .slice(0, n)
    .join('');
};

/**
 * Records one refused request: upserts its tally row and, for the first refusal of the bucket, appends the audit_log
 * row (decision 'deny', action 'http.refused') and links it. Both writes commit in one transaction. Returns the tally count.
 */
export async function recordRefusal(ctx: AppContext, r: RefusalInput): Promise<number> {
  const times = Math.max(1, Math.floor(r.times ?? 1));
  const principal = r.actorUserId ? `user:${r.actorUserId}` : r.appId ? `app:${r.appId}` : 'anon';
  const clientIp = bound(r.clientIp, REFUSAL_BOUNDS.ip, 'unknown');
  const method = bound(r.method, REFUSAL_BOUNDS.method, '?').toUpperCase();
  const route = bound(r.route, REFUSAL_BOUNDS.route, '(unmatched)');
  const code = bound(r.code, REFUSAL_BOUNDS.code, 'UNKNOWN');
  const targetId = r.targetId == null ? null : bound(String(r.targetId), REFUSAL_BOUNDS.targetId, '');
  return inTx(ctx.db, async (trx) => {
    const tally = await trx
      .insertInto('audit_refusal_tally')
      .values({
        bucket: sql<Date>`date_trunc('minute', now())`,
        principal,
        client_ip: clientIp,
        method,
        route,
        code,
        count: times,
      })
      .onConflict((oc) =>
        oc
          .columns(['bucket', 'principal', 'client_ip', 'method', 'route', 'code'])
          .doUpdateSet({ count: sql`audit_refusal_tally.count + ${times}`, last_at: sql`now()` }),
      )
      .returning(['bucket', 'count'])
      .executeTakeFirstOrThrow();
    if (tally.count === times) {
      // an app's refusal names its department (the consumer), as the governed statement's rows do; looked up only for
      // the row a bucket writes, not for every refusal it counts
      let actorOrgId = r.actorOrgId ?? null;
      if (actorOrgId === null && r.appId && !r.actorUserId)
        actorOrgId =
          (await trx.selectFrom('app').select('org_id').where('id', '=', r.appId).executeTakeFirst())
            ?.org_id ?? null;
      const auditId = await appendAudit(trx, {
        action: 'http.refused',
        decision: 'deny',
        actorUserId: r.actorUserId ?? null,
        actorOrgId,
        appId: r.appId ?? null,
        targetId,
        clientIp,
        detail: { code, method, route },
      });
      await trx
        .updateTable('audit_refusal_tally')
        .set({ audit_id: auditId })
        .where('bucket', '=', tally.bucket)
        .where('principal', '=', principal)
        .where('client_ip', '=', clientIp)
        .where('method', '=', method)
        .where('route', '=', route)
        .where('code', '=', code)
        .execute();
    }
    return tally.count;
  });
}

/** The subset of a Fastify request the HTTP layer hands over. */
export interface RefusedRequest {
  url: string;
  method: string;
  ip: string;
  routeOptions?: { url?: string };
  params?: unknown;
  body?: unknown;
  actor?: { id: number; orgId: number } | null;
  log: { error(obj: unknown, msg?: string): void };
}

/**
 * Called once from the HTTP error handler, before the reply goes out, for every 4xx refusal under /api/. Never throws:
 * if the audit write fails the caller still answers the original error (the failure is logged).
 */
export async function recordHttpRefusal(
  ctx: AppContext,
  req: RefusedRequest,
  code: ErrorCode,
  status: number,
  times = 1,
  /** the app a refused data call was made with, when the refusal knew it (AppError.byApp) or its key named it */
  appId: number | null = null,
  /** that app's department (the consumer), when known; else looked up with the audit row (recordRefusal) */
  appOrgId: number | null = null,
) {
  if (status < 400 || status >= 500 || !req.url.startsWith('/api/')) return;
  try {
    const route = req.routeOptions?.url;
    const params = (req.params ?? {}) as Record<string, unknown>;
    let targetId: unknown = params.id ?? params.code ?? null;
    if (route === '/api/auth/login') targetId = (req.body as { username?: unknown } | null)?.username ?? null;
    await recordRefusal(ctx, {
      actorUserId: req.actor?.id ?? null,
      actorOrgId: req.actor?.orgId ?? appOrgId,
      appId,
      clientIp: req.ip,
      method: req.method,
      route,
      code,
      times,
      targetId: typeof targetId === 'string' || typeof targetId === 'number' ? targetId : null,
    });
  } catch (err) {
    req.log.error({ err }, 'could not record a refused request in the audit log');
  }
}
