import { appendAudit } from '../audit/store.js';
import type { AppContext } from '../context.js';
import { inTx } from '../db/index.js';
import { notify } from '../notify/service.js';

export interface EnumerationEvidence {
  resourceId: number;
  resourceCode: string;
  lookups: number;
  misses: number;
  windowMinutes: number;
}

/**
 * An app whose key lookups mostly miss is guessing keys (e.g. completing a masked ID number): it is suspended at
 * once — every node refuses its next call, since the data statement checks the app's status — and the
 * provider's data officers and every auditor are alerted. Only a platform admin reinstates it. Idempotent: an
 * already suspended app is left as it is and nobody is alerted twice.
 */
export async function suspendForEnumeration(
  ctx: AppContext,
  appId: number,
  evidence: EnumerationEvidence,
): Promise<boolean> {
  return inTx(ctx.db, async (trx) => {
    const app = await trx
      .updateTable('app')
      .set({
        status: 'suspended',
        suspended_at: new Date(),
        suspended_reason: JSON.stringify({ kind: 'enumeration', ...evidence }),
      })
      .where('id', '=', appId)
      .where('status', '=', 'active')
      .returning(['id', 'org_id', 'name'])
      .executeTakeFirst();
    if (!app) return false;
    const provider = await trx
      .selectFrom('resource')
      .select(['provider_org_id', 'name'])
      .where('id', '=', evidence.resourceId)
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      action: 'security.appSuspended',
      decision: 'deny',
      actorOrgId: app.org_id,
      appId,
      resourceId: evidence.resourceId,
      targetType: 'app',
      targetId: appId,
      detail: { reason: 'enumeration', ...evidence },
    });
    await notify(
      trx,
      [
        { orgIds: [provider.provider_org_id, app.org_id], roles: ['data_officer'] },
        { roles: ['auditor'], anyOrg: true },
      ],
      {
        kind: 'security.appSuspended',
        severity: 'critical',
        params: { appName: app.name, resourceName: provider.name, ...evidence },
        resourceId: evidence.resourceId,
        appId,
      },
    );
    return true;
  });
}

/** A platform admin lifts a suspension after review (audited). */
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
