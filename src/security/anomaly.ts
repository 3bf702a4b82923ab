import { appendAudit } from '../audit/store.js';
import type { AppContext } from '../context.js';
import { inTx } from '../db/index.js';
import { alertRules, raiseAlert } from './alerts.js';

export interface EnumerationEvidence {
  resourceId: number;
  resourceCode: string;
  lookups: number;
  misses: number;
  windowMinutes: number;
}

/**
 * The enumeration rule (src/security/alerts.ts), checked inline after a missed lookup: an app whose key lookups mostly
 * miss is guessing keys (e.g. completing a masked ID number). It raises one alert per ongoing anomaly and, when the
 * rule auto-suspends (the default), suspends the app at once — every node refuses its next call, since the data
 * statement checks the app's status — and the provider's and the app's data officers, the authority's staff and every
 * auditor are alerted. Returns whether the app was suspended by this call.
 */
export async function checkEnumeration(
  ctx: AppContext,
  appId: number,
  counts: { lookups: number; misses: number },
  resource: { id: number; code: string },
): Promise<boolean> {
  const rule = (await alertRules(ctx)).get('enumeration');
  if (!rule?.enabled) return false;
  const limit = rule.threshold ?? ctx.config.dataApi.enumerationMisses;
  const share = rule.factor ?? 0.5;
  if (counts.misses < limit || counts.misses < share * counts.lookups) return false;
  const evidence: EnumerationEvidence = {
    resourceId: resource.id,
    resourceCode: resource.code,
    lookups: counts.lookups,
    misses: counts.misses,
    windowMinutes: rule.windowMinutes,
  };
  const r = await raiseAlert(ctx, rule, {
    rule: 'enumeration',
    appId,
    resourceId: resource.id,
    evidence: { ...evidence },
  });
  return r.created && r.suspended;
}

/** The enumeration rule's window in seconds (the data API counts lookups and misses per window). */
export async function enumerationWindowSeconds(ctx: AppContext): Promise<number> {
  return ((await alertRules(ctx)).get('enumeration')?.windowMinutes ?? 10) * 60;
}

/** The authority's staff (security administration) lift a suspension after review (audited). */
export async function reinstateApp(
  ctx: AppContext,
  actor: { id: number; orgId: number; clientIp: string | null },
  appId: number,
) {
  return inTx(ctx.db, async (trx) => {
    const app = await trx
      .updateTable('app')
      .set({ status: 'active', suspended_at: null, suspended_reason: null })
      .where('id', '=', appId)
      .where('status', '=', 'suspended')
      .returning('id')
      .executeTakeFirst();
    if (app)
      await appendAudit(trx, {
        action: 'security.appReinstated',
        decision: 'allow',
        actorUserId: actor.id,
        actorOrgId: actor.orgId,
        appId,
        targetType: 'app',
        targetId: appId,
        clientIp: actor.clientIp,
      });
    return { reinstated: Boolean(app) };
  });
}
