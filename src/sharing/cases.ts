import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { addDays, endOfShanghaiDay } from '../calendar/model.js';
import { loadVisibleResource } from '../catalog/service.js';
import type { Actor, AppContext, Role } from '../context.js';
import { hasRole } from '../context.js';
import { type Db, inTx, type Tx } from '../db/index.js';
import { notify, type Recipients } from '../notify/service.js';
import { AppError } from '../shared/errors.js';
import { statusZh } from '../shared/labels.js';
import { createGrant, todayOf } from './service.js';
import { requestScope, scopeCondition } from './visibility.js';

/** A grant still in force or about to be: one waiting for its risk assessment (DG Art 19) is capped and ended too. */
const LIVE_GRANT = ['active', 'riskPending'] as const;

/*
 * Sharing cases beside the request path (issue 8 points 6–8). Each exists only where the active profile names it, and
 * a call under a profile that does not is refused with CASE_NOT_IN_PROFILE (a rule is enforced or not offered):
 *   disputes     DG Art 15, SY Art 28 (profile.sharing.disputes: who resolves, in order)
 *   supply stops SY Art 27 (profile.sharing.stopSupplyNeedsFiling: a justification filed with the authority in advance);
 *                under other profiles a provider may stop at once, still with its reason on record
 *   emergencies  XT Art 23.7 (reclassify: requests are treated as unconditional), NY task 7 (green channel: every step
 *                is due the day it starts) — profile.sharing.emergency
 * Every change is audited in its transaction and the parties are notified through the one notification module.
 */

const DAY_MS = 86_400_000;
/** The first instant of a Beijing date. */
export function startOfShanghaiDay(date: string): Date {
  return new Date(endOfShanghaiDay(date).getTime() + 1 - DAY_MS);
}

const authority: Recipients = { roles: ['authority_reviewer'], anyOrg: true };
const officersOf = (orgIds: number[], roles: Role[] = ['data_officer']): Recipients => ({ orgIds, roles });

function isAuthorityReviewer(actor: Actor): boolean {
  return actor.orgKind === 'authority' && hasRole(actor, 'authority_reviewer');
}

function text(value: string | null | undefined, field: string, min: number, zh: string, en: string) {
  const t = (value ?? '').trim();
  if (t.length < min) throw new AppError('VALIDATION_FAILED', [{ field, reason: en, reasonZh: zh }]);
  return t;
}

// ---------------------------------------------------------------- disputes (DG Art 15, SY Art 28)

export type DisputeOutcome = 'upheld' | 'overturned' | 'referred';

/** A consumer contests a refusal: its requester or data officer, once per refused request at a time. */
export async function raiseDispute(ctx: AppContext, actor: Actor, requestId: number, reason: string) {
  const rule = ctx.profile.sharing.disputes;
  if (!rule)
    throw new AppError('CASE_NOT_IN_PROFILE', [
      {
        field: 'dispute',
        reason: 'the active regulation provides no dispute procedure',
        reasonZh: '现行规则未规定争议处理程序',
      },
    ]);
  const why = text(
    reason,
    'reason',
    4,
    '请说明争议的理由（至少 4 个字）',
    'state why the refusal is contested (4 characters or more)',
  );
  const id = await inTx(ctx.db, async (trx) => {
    const q = await trx
      .selectFrom('share_request as q')
      .innerJoin('resource as r', 'r.id', 'q.resource_id')
      .select([
        'q.id',
        'q.status',
        'q.consumer_org_id',
        'q.requester_id',
        'q.resource_id',
        'q.app_id',
        'r.provider_org_id',
        'r.name as resource_name',
      ])
      .where('q.id', '=', requestId)
      .forUpdate('q')
      .executeTakeFirst();
    if (!q || q.consumer_org_id !== actor.orgId)
      throw new AppError('NOT_FOUND', [
        {
          field: 'id',
          reason: `share request ${requestId} not found`,
          reasonZh: `共享申请 ${requestId} 不存在`,
        },
      ]);
    if (!(q.requester_id === actor.id || hasRole(actor, 'data_officer')))
      throw new AppError('FORBIDDEN', [
        {
          reason: "the requester or its organisation's data officer contests a refusal",
          reasonZh: '只有申请人或其所在部门的数据专员可以对不予共享决定提出争议',
        },
      ]);
    if (q.status !== 'rejected')
      throw new AppError('CASE_STATE_INVALID', [
        {
          field: 'id',
          reason: 'only a refused request can be contested',
          reasonZh: '只有未获同意的申请才能提出争议',
        },
      ]);
    const live = await liveDispute(trx, requestId);
    if (live)
      throw new AppError('CASE_STATE_INVALID', [
        {
          field: 'id',
          reason: `dispute ${live} about this request is still open`,
          reasonZh: `该申请的争议（编号 ${live}）尚在处理中`,
        },
      ]);
    const { id } = await trx
      .insertInto('share_dispute')
      .values({
        request_id: requestId,
        resource_id: q.resource_id,
        consumer_org_id: q.consumer_org_id,
        provider_org_id: q.provider_org_id,
        raised_by: actor.id,
        raised_at: ctx.clock.now(),
        reason: why,
        article: rule.article,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      action: 'share.dispute.raise',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      appId: q.app_id,
      resourceId: q.resource_id,
      targetType: 'share_dispute',
      targetId: id,
      clientIp: actor.clientIp,
      detail: { requestId, article: rule.article },
    });
    await notify(trx, [authority, officersOf([q.provider_org_id])], {
      kind: 'sharing.disputeRaised',
      severity: 'warning',
      params: { disputeId: id, requestId, resource: q.resource_name, article: rule.article },
      resourceId: q.resource_id,
    });
    return id;
  });
  return getDispute(ctx, actor, id);
}

async function liveDispute(db: Db | Tx, requestId: number): Promise<number | null> {
  const d = await db
    .selectFrom('share_dispute')
    .select('id')
    .where('request_id', '=', requestId)
    .where('status', 'in', ['open', 'referred'])
    .executeTakeFirst();
  return d?.id ?? null;
}

/**
 * The authority settles a dispute: the refusal stands (upheld) or is set aside and the data shared (overturned: the
 * request is approved and its grant created, marked as decided on dispute). Under SY Art 28 what the authority cannot
 * settle is referred to the city government, whose decision the authority then records (decided at government level).
 */
export async function decideDispute(
  ctx: AppContext,
  actor: Actor,
  id: number,
  input: { outcome: DisputeOutcome; comment: string },
) {
  const rule = ctx.profile.sharing.disputes;
  if (!rule)
    throw new AppError('CASE_NOT_IN_PROFILE', [
      {
        field: 'dispute',
        reason: 'the active regulation provides no dispute procedure',
        reasonZh: '现行规则未规定争议处理程序',
      },
    ]);
  if (!(await disputeScope(ctx, actor)).decider)
    throw new AppError('FORBIDDEN', [
      {
        reason: `the city's data authority settles disputes (${rule.article})`,
        reasonZh: `争议由市政务数据主管部门协调处理（${rule.article}）`,
      },
    ]);
  const comment = text(input.comment, 'comment', 2, '请写明处理意见', 'state the decision and its grounds');
  const today = todayOf(ctx);
  await inTx(ctx.db, async (trx) => {
    const d = await trx
      .selectFrom('share_dispute as d')
      .innerJoin('resource as r', 'r.id', 'd.resource_id')
      .selectAll('d')
      .select('r.name as resource_name')
      .where('d.id', '=', id)
      .forUpdate('d')
      .executeTakeFirst();
    if (!d)
      throw new AppError('NOT_FOUND', [
        { field: 'id', reason: `dispute ${id} not found`, reasonZh: `争议 ${id} 不存在` },
      ]);
    const parties = [
      officersOf([d.consumer_org_id], ['data_officer', 'consumer_staff']),
      officersOf([d.provider_org_id]),
    ];
    const params = { disputeId: id, requestId: d.request_id, resource: d.resource_name, article: d.article };
    if (input.outcome === 'referred') {
      if (!rule.resolvedBy.includes('government'))
        throw new AppError('CASE_NOT_IN_PROFILE', [
          {
            field: 'outcome',
            reason: `the active regulation has the authority decide (${rule.article}); there is no referral`,
            reasonZh: `现行规则由数据主管部门协调处理（${rule.article}），不报市政府决定`,
          },
        ]);
      if (d.status !== 'open') throw stateError(d.status);
      await trx
        .updateTable('share_dispute')
        .set({ status: 'referred', referred_by: actor.id, referred_on: today, referral_note: comment })
        .where('id', '=', id)
        .execute();
      await appendAudit(trx, {
        action: 'share.dispute.refer',
        decision: 'allow',
        actorUserId: actor.id,
        actorOrgId: actor.orgId,
        resourceId: d.resource_id,
        targetType: 'share_dispute',
        targetId: id,
        clientIp: actor.clientIp,
        detail: { requestId: d.request_id, article: d.article, referredOn: today },
      });
      await notify(trx, parties, {
        kind: 'sharing.disputeReferred',
        severity: 'info',
        params,
        resourceId: d.resource_id,
      });
      return;
    }
    if (d.status !== 'open' && d.status !== 'referred') throw stateError(d.status);
    const level = d.status === 'referred' ? 'government' : 'authority';
    let grantId: number | null = null;
    if (input.outcome === 'overturned') {
      const q = await trx
        .selectFrom('share_request')
        .selectAll()
        .where('id', '=', d.request_id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      if (q.status !== 'rejected') throw stateError(q.status);
      if (q.valid_until <= today)
        throw new AppError('CASE_STATE_INVALID', [
          {
            field: 'id',
            reason: 'the period the request asked for has ended; the consumer files a new request',
            reasonZh: '申请的使用期限已过，请需求部门重新申请',
          },
        ]);
      grantId = await createGrant(trx, q, undefined, false, ctx.profile.security?.riskAssessment);
      await trx
        .updateTable('share_request')
        .set({ status: 'approved', grant_id: grantId, decided_at: ctx.clock.now() })
        .where('id', '=', q.id)
        .execute();
      await appendAudit(trx, {
        action: 'share.grant',
        decision: 'allow',
        actorUserId: actor.id,
        actorOrgId: actor.orgId,
        appId: q.app_id,
        grantId,
        resourceId: q.resource_id,
        targetType: 'share_grant',
        targetId: grantId,
        purpose: q.purpose,
        fields: q.fields,
        detail: { reason: 'dispute', disputeId: id, level, article: d.article },
      });
    }
    await trx
      .updateTable('share_dispute')
      .set({
        status: input.outcome,
        decided_by: actor.id,
        decided_at: ctx.clock.now(),
        decided_level: level,
        decision_comment: comment,
        grant_id: grantId,
      })
      .where('id', '=', id)
      .execute();
    await appendAudit(trx, {
      action: 'share.dispute.decide',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      resourceId: d.resource_id,
      targetType: 'share_dispute',
      targetId: id,
      clientIp: actor.clientIp,
      detail: { requestId: d.request_id, outcome: input.outcome, level, article: d.article, grantId },
    });
    await notify(trx, parties, {
      kind: input.outcome === 'overturned' ? 'sharing.disputeOverturned' : 'sharing.disputeUpheld',
      severity: 'info',
      params: { ...params, comment },
      resourceId: d.resource_id,
    });
  });
  return getDispute(ctx, actor, id);
}

function stateError(status: string) {
  return new AppError('CASE_STATE_INVALID', [
    {
      field: 'status',
      reason: `state ${status}`,
      reasonZh: `当前状态为「${statusZh(status, 'disputeStatus', 'reqStatus', 'stopStatus', 'emergencyStatus')}」`,
    },
  ]);
}

function disputeQuery(db: Db | Tx) {
  return db
    .selectFrom('share_dispute as d')
    .innerJoin('resource as r', 'r.id', 'd.resource_id')
    .innerJoin('org as co', 'co.id', 'd.consumer_org_id')
    .innerJoin('org as po', 'po.id', 'd.provider_org_id')
    .innerJoin('share_request as q', 'q.id', 'd.request_id')
    .innerJoin('app_user as u', 'u.id', 'd.raised_by')
    .select([
      'd.id',
      'd.request_id',
      'd.resource_id',
      'r.name as resource_name',
      'r.code as resource_code',
      'd.consumer_org_id',
      'co.name as consumer_name',
      'd.provider_org_id',
      'po.name as provider_name',
      'q.purpose',
      'u.display_name as raised_by_name',
      'd.raised_at',
      'd.reason',
      'd.status',
      'd.article',
      'd.referred_on',
      'd.referral_note',
      'd.decided_at',
      'd.decided_level',
      'd.decision_comment',
      'd.grant_id',
    ]);
}

type DisputeRow = NonNullable<Awaited<ReturnType<ReturnType<typeof disputeQuery>['executeTakeFirst']>>>;

function disputeView(ctx: AppContext, d: DisputeRow, decider: boolean) {
  const rule = ctx.profile.sharing.disputes;
  const open = d.status === 'open' || d.status === 'referred';
  return {
    id: d.id,
    requestId: d.request_id,
    resource: { id: d.resource_id, code: d.resource_code, name: d.resource_name },
    consumerOrg: { id: d.consumer_org_id, name: d.consumer_name },
    providerOrg: { id: d.provider_org_id, name: d.provider_name },
    purpose: d.purpose,
    raisedBy: d.raised_by_name,
    raisedAt: d.raised_at,
    reason: d.reason,
    status: d.status,
    article: d.article,
    referredOn: d.referred_on,
    referralNote: d.referral_note,
    decidedAt: d.decided_at,
    decidedLevel: d.decided_level,
    decision: d.decision_comment,
    grantId: d.grant_id,
    /** what this person may do now: the authority decides; under SY Art 28 it may refer an open dispute */
    canDecide: !!rule && open && decider,
    canRefer: !!rule?.resolvedBy.includes('government') && d.status === 'open' && decider,
  };
}

function overseer(actor: Actor) {
  return hasRole(actor, 'platform_admin', 'authority_reviewer', 'auditor');
}

/**
 * Who reads a dispute: the request's readers (src/sharing/visibility.ts: a county authority its own jurisdiction's, a
 * department its own). Who settles it: the reviewers of the top authority only — DG Art 15 and SY Art 28 put it before
 * the city's (市) data authority, so a county authority reads its county's disputes but does not decide them.
 */
async function disputeScope(ctx: AppContext, actor: Actor) {
  const scope = await requestScope(ctx.db, actor);
  return { condition: scopeCondition(scope), decider: isAuthorityReviewer(actor) && scope.kind === 'all' };
}

export async function getDispute(ctx: AppContext, actor: Actor, id: number) {
  const { condition, decider } = await disputeScope(ctx, actor);
  let q = disputeQuery(ctx.db).where('d.id', '=', id);
  if (condition) q = q.where(condition);
  const d = await q.executeTakeFirst();
  if (!d)
    throw new AppError('NOT_FOUND', [
      { field: 'id', reason: `dispute ${id} not found`, reasonZh: `争议 ${id} 不存在` },
    ]);
  return disputeView(ctx, d, decider);
}

export async function listDisputes(
  ctx: AppContext,
  actor: Actor,
  f: { status?: string; page: number; pageSize: number },
) {
  const { condition, decider } = await disputeScope(ctx, actor);
  let q = disputeQuery(ctx.db);
  if (condition) q = q.where(condition);
  if (f.status) q = q.where('d.status', '=', f.status as DisputeRow['status']);
  const [rows, total] = await Promise.all([
    q
      .orderBy(sql`d.status IN ('open','referred')`, 'desc')
      .orderBy('d.id', 'desc')
      .limit(f.pageSize)
      .offset((f.page - 1) * f.pageSize)
      .execute(),
    q
      .clearSelect()
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return {
    items: rows.map((d) => disputeView(ctx, d, decider)),
    total: Number(total.n),
    page: f.page,
    pageSize: f.pageSize,
  };
}

// ---------------------------------------------------------------- supply stops (SY Art 27)

/** A stop filed or in force on the resource: new requests are refused from its filing on. */
export async function stopOf(db: Db | Tx, resourceId: number) {
  return db
    .selectFrom('supply_stop')
    .select(['id', 'status', 'effective_on'])
    .where('resource_id', '=', resourceId)
    .where('status', 'in', ['filed', 'effective'])
    .orderBy('id', 'desc')
    .executeTakeFirst();
}

/**
 * The provider announces that it stops supplying a published resource, with its justification. Under SY Art 27 the
 * stop is filed with the authority in advance: it takes effect on a later day, never the day of filing. Every grant on
 * the resource is cut back to end when the stop takes effect (so the data API refuses from that moment even before
 * the ticker runs), and its consumers are told now.
 */
export async function fileSupplyStop(
  ctx: AppContext,
  actor: Actor,
  input: { resourceId: number; reason: string; effectiveOn: string },
) {
  const resource = await loadVisibleResource(ctx, actor, input.resourceId);
  if (actor.orgId !== resource.provider_org_id || !hasRole(actor, 'data_officer'))
    throw new AppError('FORBIDDEN', [
      {
        reason: "the provider's data officer stops supplying its resource",
        reasonZh: '只有数源部门的数据专员可以申报停止提供本部门的资源',
      },
    ]);
  if (resource.status !== 'published')
    throw new AppError('RESOURCE_NOT_PUBLISHED', [
      {
        field: 'resourceId',
        reason: `status ${resource.status}`,
        reasonZh: `目录条目当前状态为「${statusZh(resource.status, 'resStatus')}」`,
      },
    ]);
  const article = ctx.profile.sharing.stopSupplyNeedsFiling ?? null;
  const reason = text(
    input.reason,
    'reason',
    4,
    article ? `停止提供须说明正当理由（${article}）` : '请说明停止提供的理由',
    article ? `a stop states its justification (${article})` : 'state why supply stops',
  );
  const today = todayOf(ctx);
  const earliest = article ? addDays(today, 1) : today;
  if (input.effectiveOn < earliest || input.effectiveOn > addDays(today, 366))
    throw new AppError('VALIDATION_FAILED', [
      article
        ? {
            field: 'effectiveOn',
            reason: `filed in advance (${article}): the stop takes effect from ${earliest} on, within a year`,
            reasonZh: `停止提供须提前报数据主管部门备案（${article}），生效日期最早为 ${earliest}，且在一年之内`,
          }
        : {
            field: 'effectiveOn',
            reason: `the stop takes effect between ${today} and a year from today`,
            reasonZh: `生效日期须在 ${today} 至一年之内`,
          },
    ]);
  const id = await inTx(ctx.db, async (trx) => {
    const live = await stopOf(trx, resource.id);
    if (live)
      throw new AppError('CASE_STATE_INVALID', [
        {
          field: 'resourceId',
          reason: `supply of this resource is already stopping or stopped (${live.effective_on})`,
          reasonZh: `该资源已申报停止提供（${live.effective_on} 起）`,
        },
      ]);
    const cut = startOfShanghaiDay(input.effectiveOn);
    const grants = await trx
      .selectFrom('share_grant')
      .select(['id', 'valid_until', 'consumer_org_id'])
      .where('resource_id', '=', resource.id)
      .where('status', 'in', LIVE_GRANT)
      .where('valid_until', '>', cut)
      .forUpdate()
      .execute();
    const { id } = await trx
      .insertInto('supply_stop')
      .values({
        resource_id: resource.id,
        provider_org_id: resource.provider_org_id,
        filed_by: actor.id,
        filed_at: ctx.clock.now(),
        filed_on: today,
        reason,
        effective_on: input.effectiveOn,
        article,
        capped_grants: JSON.stringify(
          grants.map((g) => ({ id: g.id, validUntil: new Date(g.valid_until).toISOString() })),
        ),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (grants.length)
      await trx
        .updateTable('share_grant')
        .set({ valid_until: cut })
        .where(
          'id',
          'in',
          grants.map((g) => g.id),
        )
        .execute();
    await appendAudit(trx, {
      action: 'share.supplyStop.file',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      resourceId: resource.id,
      targetType: 'supply_stop',
      targetId: id,
      clientIp: actor.clientIp,
      detail: { effectiveOn: input.effectiveOn, article, grantsCut: grants.map((g) => g.id) },
    });
    const consumers = [...new Set(grants.map((g) => g.consumer_org_id))];
    const to = [officersOf(consumers, ['data_officer', 'consumer_staff'])];
    // 备案: under SY Art 27 the authority receives the filing
    if (article) to.push(authority);
    await notify(trx, to, {
      kind: 'sharing.supplyStopFiled',
      severity: 'warning',
      params: {
        stopId: id,
        resource: resource.name,
        effectiveOn: input.effectiveOn,
        reason,
        article: article ?? '',
      },
      resourceId: resource.id,
    });
    if (input.effectiveOn <= today) await takeEffect(ctx, trx, id);
    return id;
  });
  return getSupplyStop(ctx, actor, id);
}

/** The provider withdraws a stop before it takes effect (its grants get their own end back), or resumes supply after. */
export async function cancelSupplyStop(ctx: AppContext, actor: Actor, id: number) {
  await inTx(ctx.db, async (trx) => {
    const s = await trx
      .selectFrom('supply_stop')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!s || (s.provider_org_id !== actor.orgId && !overseer(actor)))
      throw new AppError('NOT_FOUND', [
        { field: 'id', reason: `supply stop ${id} not found`, reasonZh: `停止提供申报 ${id} 不存在` },
      ]);
    if (s.provider_org_id !== actor.orgId || !hasRole(actor, 'data_officer'))
      throw new AppError('FORBIDDEN', [
        {
          reason: "the provider's data officer withdraws its stop",
          reasonZh: '只有数源部门的数据专员可以撤销本部门的停止提供申报',
        },
      ]);
    if (s.status === 'cancelled') throw stateError(s.status);
    const cut = startOfShanghaiDay(s.effective_on);
    let restored = 0;
    if (s.status === 'filed') {
      for (const g of s.capped_grants) {
        // only a grant still ending at the cut (not revoked or changed since) gets its own end back
        const r = await trx
          .updateTable('share_grant')
          .set({ valid_until: new Date(g.validUntil) })
          .where('id', '=', g.id)
          .where('status', 'in', LIVE_GRANT)
          .where('valid_until', '=', cut)
          .executeTakeFirst();
        restored += Number(r.numUpdatedRows);
      }
    }
    await trx
      .updateTable('supply_stop')
      .set({ status: 'cancelled', cancelled_at: ctx.clock.now() })
      .where('id', '=', id)
      .execute();
    await appendAudit(trx, {
      action: 'share.supplyStop.cancel',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      resourceId: s.resource_id,
      targetType: 'supply_stop',
      targetId: id,
      clientIp: actor.clientIp,
      detail: { wasStatus: s.status, grantsRestored: restored },
    });
  });
  return getSupplyStop(ctx, actor, id);
}

/** The stop's day has come: every grant on the resource ends, and its consumers and the authority are told. */
async function takeEffect(ctx: AppContext, trx: Tx, id: number) {
  const s = await trx
    .selectFrom('supply_stop as s')
    .innerJoin('resource as r', 'r.id', 's.resource_id')
    .select(['s.id', 's.resource_id', 's.effective_on', 's.status', 's.article', 'r.name'])
    .where('s.id', '=', id)
    .forUpdate('s')
    .executeTakeFirstOrThrow();
  if (s.status !== 'filed') return 0;
  const at = startOfShanghaiDay(s.effective_on);
  const ended = await trx
    .updateTable('share_grant')
    .set({ status: 'revoked', revoked_at: at })
    .where('resource_id', '=', s.resource_id)
    .where('status', 'in', LIVE_GRANT)
    .returning(['id', 'consumer_org_id'])
    .execute();
  await trx
    .updateTable('supply_stop')
    .set({ status: 'effective', effective_at: at })
    .where('id', '=', id)
    .execute();
  await appendAudit(trx, {
    action: 'share.supplyStop.effective',
    decision: 'allow',
    resourceId: s.resource_id,
    targetType: 'supply_stop',
    targetId: id,
    detail: { effectiveOn: s.effective_on, grantsEnded: ended.map((g) => g.id), article: s.article },
  });
  const consumers = [...new Set(ended.map((g) => g.consumer_org_id))];
  if (consumers.length)
    await notify(trx, [officersOf(consumers, ['data_officer', 'consumer_staff'])], {
      kind: 'sharing.supplyStopped',
      severity: 'warning',
      params: { stopId: id, resource: s.name, effectiveOn: s.effective_on },
      resourceId: s.resource_id,
    });
  return 1;
}

function stopQuery(db: Db | Tx) {
  return db
    .selectFrom('supply_stop as s')
    .innerJoin('resource as r', 'r.id', 's.resource_id')
    .innerJoin('org as o', 'o.id', 's.provider_org_id')
    .innerJoin('app_user as u', 'u.id', 's.filed_by')
    .select([
      's.id',
      's.resource_id',
      'r.name as resource_name',
      'r.code as resource_code',
      's.provider_org_id',
      'o.name as provider_name',
      'u.display_name as filed_by_name',
      's.filed_on',
      's.reason',
      's.effective_on',
      's.article',
      's.status',
      's.capped_grants',
      's.cancelled_at',
    ]);
}

type StopRow = NonNullable<Awaited<ReturnType<ReturnType<typeof stopQuery>['executeTakeFirst']>>>;

function stopView(actor: Actor, s: StopRow) {
  return {
    id: s.id,
    resource: { id: s.resource_id, code: s.resource_code, name: s.resource_name },
    providerOrg: { id: s.provider_org_id, name: s.provider_name },
    filedBy: s.filed_by_name,
    filedOn: s.filed_on,
    reason: s.reason,
    effectiveOn: s.effective_on,
    article: s.article,
    status: s.status,
    grantsAffected: s.capped_grants.length,
    cancelledAt: s.cancelled_at,
    canCancel:
      s.status !== 'cancelled' && actor.orgId === s.provider_org_id && hasRole(actor, 'data_officer'),
  };
}

export async function getSupplyStop(ctx: AppContext, actor: Actor, id: number) {
  const s = await stopQuery(ctx.db).where('s.id', '=', id).executeTakeFirst();
  if (!s)
    throw new AppError('NOT_FOUND', [
      { field: 'id', reason: `supply stop ${id} not found`, reasonZh: `停止提供申报 ${id} 不存在` },
    ]);
  return stopView(actor, s);
}

/** Stops are public inside the platform: every consumer must be able to see what will no longer be supplied. */
export async function listSupplyStops(ctx: AppContext, actor: Actor, f: { page: number; pageSize: number }) {
  const q = stopQuery(ctx.db);
  const [rows, total] = await Promise.all([
    q
      .orderBy(sql`s.status = 'filed'`, 'desc')
      .orderBy('s.id', 'desc')
      .limit(f.pageSize)
      .offset((f.page - 1) * f.pageSize)
      .execute(),
    q
      .clearSelect()
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return {
    items: rows.map((s) => stopView(actor, s)),
    total: Number(total.n),
    page: f.page,
    pageSize: f.pageSize,
  };
}

// ---------------------------------------------------------------- emergencies (XT Art 23.7, NY task 7)

/** The emergency in force over a resource now, if any (the newest). */
export async function activeEmergencyFor(db: Db | Tx, resourceId: number, now: Date) {
  return db
    .selectFrom('share_emergency')
    .select(['id', 'mode', 'article', 'ends_at'])
    .where('status', '=', 'active')
    .where(sql<boolean>`resource_ids @> ARRAY[${resourceId}]::bigint[]`)
    .where('starts_at', '<=', now)
    .where('ends_at', '>', now)
    .orderBy('id', 'desc')
    .executeTakeFirst();
}

const MAX_EMERGENCY_DAYS = 90;

/**
 * The authority declares an emergency over named resources until `endsAt` (at most 90 days). While it lasts, requests
 * for those resources follow the profile's emergency mode (see createRequest); when it ends — by itself at `endsAt` or
 * declared over earlier — the grants made under it lapse.
 */
export async function declareEmergency(
  ctx: AppContext,
  actor: Actor,
  input: { reason: string; resourceIds: number[]; endsAt: string },
) {
  const rule = ctx.profile.sharing.emergency;
  if (!rule)
    throw new AppError('CASE_NOT_IN_PROFILE', [
      {
        field: 'emergency',
        reason: 'the active regulation provides no emergency procedure',
        reasonZh: '现行规则未规定应急共享程序',
      },
    ]);
  if (!isAuthorityReviewer(actor))
    throw new AppError('FORBIDDEN', [
      {
        reason: `the data authority declares an emergency (${rule.article})`,
        reasonZh: `应急共享由数据主管部门启动（${rule.article}）`,
      },
    ]);
  const reason = text(
    input.reason,
    'reason',
    4,
    '请说明突发事件及其处置需要',
    'state the emergency and what it needs',
  );
  const now = ctx.clock.now();
  const endsAt = new Date(input.endsAt);
  if (
    Number.isNaN(endsAt.getTime()) ||
    endsAt <= now ||
    endsAt.getTime() - now.getTime() > MAX_EMERGENCY_DAYS * DAY_MS
  )
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'endsAt',
        reason: `an emergency ends after now and within ${MAX_EMERGENCY_DAYS} days`,
        reasonZh: `结束时间须晚于现在，且不超过 ${MAX_EMERGENCY_DAYS} 天`,
      },
    ]);
  const ids = [...new Set(input.resourceIds)];
  const found = await ctx.db
    .selectFrom('resource')
    .select(['id', 'provider_org_id'])
    .where('id', 'in', ids)
    .where('status', '=', 'published')
    .execute();
  const missing = ids.filter((i) => !found.some((r) => r.id === i));
  if (missing.length)
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'resourceIds',
        reason: `not published resources: ${missing.slice(0, 10).join(', ')}`,
        reasonZh: `以下资源不存在或未发布：${missing.slice(0, 10).join('、')}`,
      },
    ]);
  const id = await inTx(ctx.db, async (trx) => {
    const { id } = await trx
      .insertInto('share_emergency')
      .values({
        declared_by: actor.id,
        reason,
        resource_ids: ids,
        mode: rule.mode,
        article: rule.article,
        starts_at: now,
        ends_at: endsAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      action: 'share.emergency.declare',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      targetType: 'share_emergency',
      targetId: id,
      clientIp: actor.clientIp,
      detail: { mode: rule.mode, article: rule.article, resourceIds: ids, endsAt: endsAt.toISOString() },
    });
    await notify(trx, [officersOf([...new Set(found.map((r) => r.provider_org_id))])], {
      kind: 'sharing.emergencyDeclared',
      severity: 'critical',
      params: {
        emergencyId: id,
        reason,
        count: ids.length,
        endsAt: endsAt.toISOString(),
        article: rule.article,
      },
    });
    return id;
  });
  return getEmergency(ctx, id);
}

/** Ends an emergency (declared over by the authority, or its end time passed): its temporary grants lapse with it. */
async function endEmergency(trx: Tx, id: number, at: Date, by: Actor | null) {
  const e = await trx
    .selectFrom('share_emergency')
    .selectAll()
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!e || e.status !== 'active') return false;
  const end = at < e.ends_at ? at : e.ends_at;
  await trx
    .updateTable('share_emergency')
    .set({ status: 'ended', ended_at: end, ended_by: by?.id ?? null })
    .where('id', '=', id)
    .execute();
  const lapsed = await trx
    .updateTable('share_grant')
    .set({ valid_until: sql`least(valid_until, ${end})`, status: 'revoked', revoked_at: end })
    .where('emergency_id', '=', id)
    .where('status', 'in', LIVE_GRANT)
    .returning('id')
    .execute();
  await appendAudit(trx, {
    action: 'share.emergency.end',
    decision: 'allow',
    actorUserId: by?.id ?? null,
    actorOrgId: by?.orgId ?? null,
    targetType: 'share_emergency',
    targetId: id,
    clientIp: by?.clientIp ?? null,
    detail: {
      endedAt: end.toISOString(),
      early: by !== null,
      grantsLapsed: lapsed.map((g) => g.id),
      article: e.article,
    },
  });
  return true;
}

export async function closeEmergency(ctx: AppContext, actor: Actor, id: number) {
  if (!isAuthorityReviewer(actor))
    throw new AppError('FORBIDDEN', [
      {
        reason: 'the data authority declares an emergency over',
        reasonZh: '只有数据主管部门可以宣布应急共享结束',
      },
    ]);
  await inTx(ctx.db, async (trx) => {
    const e = await trx
      .selectFrom('share_emergency')
      .select('status')
      .where('id', '=', id)
      .executeTakeFirst();
    if (!e)
      throw new AppError('NOT_FOUND', [
        { field: 'id', reason: `emergency ${id} not found`, reasonZh: `应急共享 ${id} 不存在` },
      ]);
    if (!(await endEmergency(trx, id, ctx.clock.now(), actor))) throw stateError(e.status);
  });
  return getEmergency(ctx, id);
}

async function getEmergency(ctx: AppContext, id: number) {
  const e = (await emergencies(ctx.db, id))[0];
  if (!e)
    throw new AppError('NOT_FOUND', [
      { field: 'id', reason: `emergency ${id} not found`, reasonZh: `应急共享 ${id} 不存在` },
    ]);
  return e;
}

async function emergencies(db: Db, id?: number) {
  let q = db
    .selectFrom('share_emergency as e')
    .innerJoin('app_user as u', 'u.id', 'e.declared_by')
    .select([
      'e.id',
      'e.reason',
      'e.resource_ids',
      'e.mode',
      'e.article',
      'e.starts_at',
      'e.ends_at',
      'e.status',
      'e.ended_at',
      'u.display_name as declared_by_name',
      sql<
        { id: number; name: string }[]
      >`(SELECT coalesce(json_agg(json_build_object('id', r.id, 'name', r.name) ORDER BY r.id), '[]')
        FROM resource r WHERE r.id = ANY(e.resource_ids))`.as('resources'),
      sql<number>`(SELECT count(*)::int FROM share_grant g WHERE g.emergency_id = e.id)`.as('grants'),
    ]);
  if (id !== undefined) q = q.where('e.id', '=', id);
  const rows = await q.orderBy(sql`e.status = 'active'`, 'desc').orderBy('e.id', 'desc').limit(200).execute();
  return rows.map((e) => ({
    id: e.id,
    reason: e.reason,
    mode: e.mode,
    article: e.article,
    resources: e.resources,
    startsAt: e.starts_at,
    endsAt: e.ends_at,
    status: e.status,
    endedAt: e.ended_at,
    declaredBy: e.declared_by_name,
    grants: e.grants,
  }));
}

/** Emergencies are visible to every signed-in department: they change how its requests are handled. */
export const listEmergencies = (ctx: AppContext) => emergencies(ctx.db);

// ---------------------------------------------------------------- the ticker's part

/**
 * Run with the deadline ticker: stops whose day has come take effect, emergencies whose end has passed end. Both are
 * date/time based and idempotent (a row changes state once, under its row lock), so several nodes and catch-up after
 * downtime are safe.
 */
export async function tickCases(ctx: AppContext): Promise<{ actions: number }> {
  const today = todayOf(ctx);
  const now = ctx.clock.now();
  let actions = 0;
  const stops = await ctx.db
    .selectFrom('supply_stop')
    .select('id')
    .where('status', '=', 'filed')
    .where('effective_on', '<=', today)
    .limit(1000)
    .execute();
  for (const s of stops) actions += await inTx(ctx.db, (trx) => takeEffect(ctx, trx, s.id));
  const ended = await ctx.db
    .selectFrom('share_emergency')
    .select('id')
    .where('status', '=', 'active')
    .where('ends_at', '<=', now)
    .limit(1000)
    .execute();
  for (const e of ended) if (await inTx(ctx.db, (trx) => endEmergency(trx, e.id, now, null))) actions++;
  return { actions };
}

/** The end instant of a grant made under an emergency: the earlier of the requested end and the emergency's end. */
export function emergencyGrantEnd(validUntil: string, emergencyEndsAt: Date): Date {
  const own = endOfShanghaiDay(validUntil);
  return own < emergencyEndsAt ? own : emergencyEndsAt;
}
