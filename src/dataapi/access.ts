import type { FastifyInstance } from 'fastify';
import { appendAudit } from '../audit/store.js';
import { canEditResource } from '../catalog/model.js';
import { loadVisibleResource } from '../catalog/service.js';
import type { Actor, AppContext } from '../context.js';
import { inTx } from '../db/index.js';
import { requireActor } from '../http/auth.js';
import { idParams } from '../http/schemas.js';
import type { Profile } from '../profiles/model.js';
import { AppError } from '../shared/errors.js';

/*
 * Access to a not-shared resource (issue 9 point 4), only in the forms the profile names:
 *   verify     DG Art 19 (profile.sharing.noneOffersVerification): "不宜挂接数据的应提供 API 接口查询或核验服务" — when
 *              the provider enables verification on the resource (resource.verification_enabled), a department requests
 *              it like any conditional resource (the provider's step, the profile's deadlines) and gets a grant that
 *              can only verify: match / no match, never a value, its own daily quota (max_verify_per_day) and audit
 *              (data.verify), misses counted by the enumeration detector.
 *   aggregate  XT Art 23.6, SY Art 26 (profile.sharing.deidentifiedMayBeShared): not-shared data may be shared after
 *              de-identification ("经脱敏等处理后", "经过脱密等技术处理后"). The one de-identified form the platform
 *              produces itself is the aggregate query (可用不可见: counts, sums, distributions with small cells
 *              suppressed), so a request for aggregates only is accepted; the grant never returns a row.
 * Such a grant's rights are locked (share_grant.access_only): editing it cannot add reading, export, the change feed or
 * clear values. Everywhere else a not-shared resource stays NOT_SHAREABLE.
 */
export type NoneAccess = 'verify' | 'aggregate';

/** The article that lets a not-shared resource be reached by `access`, or the refusal. */
export function noneAccessArticle(
  profile: Profile,
  resource: { verification_enabled: boolean; legal_basis: string | null },
  access: NoneAccess | null | undefined,
): string {
  const refuse = (reason: string, reasonZh: string): never => {
    throw new AppError('NOT_SHAREABLE', [{ field: access ? 'access' : 'resourceId', reason, reasonZh }]);
  };
  if (access === 'verify') {
    const art = profile.sharing.noneOffersVerification;
    if (!art)
      refuse(
        'the active regulation offers no verification service on not-shared data',
        '现行规则未规定不予共享数据提供核验服务',
      );
    if (!resource.verification_enabled)
      refuse('the provider has not enabled verification on this resource', '数源部门未对该资源开通核验服务');
    return art!;
  }
  if (access === 'aggregate') {
    const art = profile.sharing.deidentifiedMayBeShared;
    if (!art)
      refuse(
        'the active regulation does not share not-shared data after de-identification',
        '现行规则未规定不予共享数据经脱敏处理后共享',
      );
    return art!;
  }
  return refuse(
    resource.legal_basis ?? 'not shared',
    '该资源不予共享；如数源部门开通核验服务或规则允许脱敏后共享，可申请核验或统计分析',
  );
}

/** The rights a locked grant carries, whatever the approver sets. */
export function lockedRights(access: NoneAccess) {
  return access === 'verify'
    ? {
        verify: true,
        readRecords: false,
        export: false,
        feed: false,
        accessMode: 'rows' as const,
        clearFields: [] as string[],
      }
    : {
        verify: false,
        readRecords: false,
        export: false,
        feed: false,
        accessMode: 'aggregate' as const,
        clearFields: [] as string[],
      };
}

/** An edit of a locked grant may change quotas, never widen its access (a coded 409 naming the field). */
export function checkLockedPatch(
  accessOnly: NoneAccess | null,
  patch: {
    readRecords?: boolean;
    verify?: boolean;
    export?: boolean;
    feed?: boolean;
    accessMode?: 'rows' | 'aggregate';
    clearFields?: string[];
  },
) {
  if (!accessOnly) return;
  const locked = lockedRights(accessOnly);
  const bad: string[] = [];
  if (patch.readRecords === true) bad.push('readRecords');
  if (patch.export === true) bad.push('export');
  if (patch.feed === true) bad.push('feed');
  if (patch.clearFields?.length) bad.push('clearFields');
  if (patch.accessMode !== undefined && patch.accessMode !== locked.accessMode) bad.push('accessMode');
  if (patch.verify === true && !locked.verify) bad.push('verify');
  if (bad.length)
    throw new AppError(
      'CONFLICT',
      bad.map((field) => ({
        field,
        reason: `a ${accessOnly === 'verify' ? 'verification' : 'aggregate'}-only grant on not-shared data cannot gain this right`,
        reasonZh:
          accessOnly === 'verify'
            ? '不予共享资源的核验授权只能核验，不能增加此权限'
            : '不予共享资源的统计分析授权只能做统计分析，不能增加此权限',
      })),
    );
}

/** The provider's data officer turns verification on a resource on or off (DG Art 19); audited. */
export async function setVerification(ctx: AppContext, actor: Actor, id: number, enabled: boolean) {
  const art = ctx.profile.sharing.noneOffersVerification;
  if (!art)
    throw new AppError('CASE_NOT_IN_PROFILE', [
      {
        field: 'enabled',
        reason: 'the active regulation offers no verification service on not-shared data',
        reasonZh: '现行规则未规定不予共享数据提供核验服务',
      },
    ]);
  const r = await loadVisibleResource(ctx, actor, id);
  if (!canEditResource(actor, { providerOrgId: r.provider_org_id })) throw new AppError('FORBIDDEN');
  await inTx(ctx.db, async (trx) => {
    await trx.updateTable('resource').set({ verification_enabled: enabled }).where('id', '=', id).execute();
    await appendAudit(trx, {
      action: 'catalog.verification',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      resourceId: id,
      targetType: 'resource',
      targetId: id,
      clientIp: actor.clientIp,
      detail: { enabled, article: art },
    });
  });
  return { resourceId: id, verificationEnabled: enabled, article: art };
}

export async function accessRoutes(app: FastifyInstance, ctx: AppContext) {
  app.put(
    '/api/catalog/resources/:id/verification',
    {
      schema: {
        tags: ['data'],
        summary:
          'The provider enables (or disables) verification on its resource: a not-shared resource can then be requested for verification only (DG Art 19); CASE_NOT_IN_PROFILE where the regulation has no such service',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['enabled'],
          properties: { enabled: { type: 'boolean' } },
        },
      },
    },
    async (req) =>
      setVerification(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        (req.body as { enabled: boolean }).enabled,
      ),
  );
}
