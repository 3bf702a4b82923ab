import { appendAudit } from '../audit/store.js';
import { addDays, shanghaiDate, workdaysBetween } from '../calendar/model.js';
import { currentCalendar } from '../calendar/service.js';
import type { ResourceInput } from '../catalog/model.js';
import { addMonths, REEVALUATION_NOTICE_DAYS, resourcesDueForReview } from '../catalog/review-due.js';
import { saveResource } from '../catalog/service.js';
import { type Actor, type AppContext, hasRole } from '../context.js';
import { inTx } from '../db/index.js';
import { notify } from '../notify/service.js';
import { AppError } from '../shared/errors.js';

/*
 * Periodic re-evaluation of restricted resources (issue 8 point 10). XT Art 23.5: conditional data is evaluated
 * periodically and converted to unconditional when it qualifies; SY Art 31: the provider periodically evaluates its
 * not-shared and conditional data. The profile's `sharing.reevaluation` names the share types and the article; neither
 * regulation gives a period, so the profile's `months` or the deployment's SHARE_REEVALUATION_MONTHS (default 12) does.
 * A published resource of those types is due `months` after its last evaluation (or its publication). The provider's
 * data officer keeps the share type, or converts it: a new catalog version with the new share type is submitted for the
 * level's review (src/catalog: DG Art 11, XT Art 23.5), which publishes it or returns it. Each evaluation is recorded
 * and audited; the provider's to-do shows the coming ones with working days left; the deadline ticker reminds the
 * provider before the due date and when it has passed, once each (share_reevaluation_event).
 */

/** The ticker reminds the provider this many working days before the due date. */
export const REEVALUATION_REMIND_WD = 5;

const todayOf = (ctx: AppContext) => shanghaiDate(ctx.clock.now());
const monthsOf = (ctx: AppContext) =>
  ctx.profile.sharing.reevaluation?.months ?? ctx.config.shareReevaluationMonths;
const canSeeAll = (actor: Actor) =>
  actor.orgKind === 'authority' || hasRole(actor, 'auditor', 'platform_admin');

function dueRows(ctx: AppContext, orgId: number | null) {
  const rule = ctx.profile.sharing.reevaluation;
  if (!rule) return Promise.resolve([]);
  return resourcesDueForReview(ctx, { kind: 'share', types: rule.shareTypes, months: monthsOf(ctx), orgId });
}

/**
 * Restricted resources of the caller's department (the authority, auditors and the admin: all) with their
 * re-evaluation due date and working days left. `dueOnly` keeps those due within REEVALUATION_NOTICE_DAYS or overdue.
 */
export async function shareReevaluations(ctx: AppContext, actor: Actor, dueOnly = false) {
  const rule = ctx.profile.sharing.reevaluation;
  const months = monthsOf(ctx);
  if (!rule) return { article: null, months, shareTypes: [], items: [] };
  const cal = await currentCalendar(ctx);
  const today = todayOf(ctx);
  const horizon = addDays(today, REEVALUATION_NOTICE_DAYS);
  const rows = await dueRows(ctx, canSeeAll(actor) ? null : actor.orgId);
  const items = rows
    .map((r) => {
      const overdue = r.dueDate < today;
      return {
        resource: { id: Number(r.id), name: r.name, code: r.code },
        org: { id: Number(r.provider_org_id), name: r.org_name },
        shareType: r.type,
        lastEvaluatedOn: r.last_on,
        dueDate: r.dueDate,
        overdue,
        workdaysLeft: overdue ? null : workdaysBetween(cal, today, r.dueDate),
        /** a conversion submitted for the catalog's review and not decided yet (its version number) */
        inReview: r.in_review,
        canRecord:
          Number(r.provider_org_id) === actor.orgId && hasRole(actor, 'data_officer') && r.in_review === null,
      };
    })
    .filter((x) => !dueOnly || x.dueDate <= horizon)
    .sort((a, b) => a.dueDate.localeCompare(b.dueDate));
  return { article: rule.article, months, shareTypes: rule.shareTypes, items };
}

/** The evaluations recorded for one resource, newest first. */
export async function evaluationHistory(ctx: AppContext, actor: Actor, resourceId: number) {
  const r = await ctx.db
    .selectFrom('resource')
    .select(['provider_org_id'])
    .where('id', '=', resourceId)
    .executeTakeFirst();
  if (!r || !(canSeeAll(actor) || Number(r.provider_org_id) === actor.orgId))
    throw new AppError('NOT_FOUND', [
      {
        field: 'resourceId',
        reason: `resource ${resourceId} not found`,
        reasonZh: `资源 ${resourceId} 不存在`,
      },
    ]);
  const rows = await ctx.db
    .selectFrom('share_evaluation as e')
    .leftJoin('app_user as u', 'u.id', 'e.evaluated_by')
    .selectAll('e')
    .select('u.display_name as evaluated_by_name')
    .where('e.resource_id', '=', resourceId)
    .orderBy('e.id', 'desc')
    .limit(200)
    .execute();
  return rows.map((e) => ({
    id: Number(e.id),
    evaluatedOn: e.evaluated_on,
    evaluatedBy: e.evaluated_by_name,
    shareType: e.share_type,
    conclusion: e.conclusion,
    targetShareType: e.target_share_type,
    versionNo: e.resource_version,
    comment: e.comment,
    article: e.article,
  }));
}

export interface ReevaluationInput {
  resourceId: number;
  conclusion: 'keep' | 'convert';
  /** convert: the new share type, submitted as a new catalog version for review */
  targetShareType?: 'unconditional' | 'conditional' | 'none';
  /** convert to conditional / not-shared: its conditions and legal basis (the catalog's rules check them) */
  shareConditions?: string | null;
  legalBasis?: string | null;
  comment: string;
}

/**
 * The provider's data officer records a re-evaluation: keep, or convert through the catalog's review (a new version
 * with the new share type submitted to the level's reviewer, in the same transaction). Audited `share.reevaluation`.
 */
export async function recordShareReevaluation(ctx: AppContext, actor: Actor, input: ReevaluationInput) {
  const rule = ctx.profile.sharing.reevaluation;
  if (!rule)
    throw new AppError('CASE_NOT_IN_PROFILE', [
      {
        field: 'reevaluation',
        reason: 'the active regulation provides no periodic re-evaluation of shared data',
        reasonZh: '当前适用的规定未规定共享数据的定期评估',
      },
    ]);
  const comment = (input.comment ?? '').trim();
  if (comment.length < 4)
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'comment',
        reason: 'write the evaluation (4+ chars)',
        reasonZh: '请写明评估意见（至少 4 个字）',
      },
    ]);
  return inTx(ctx.db, async (trx) => {
    const r = await trx
      .selectFrom('resource')
      .select(['id', 'provider_org_id', 'share_type', 'status', 'name'])
      .where('id', '=', input.resourceId)
      .forUpdate()
      .executeTakeFirst();
    if (r?.status !== 'published' || !(rule.shareTypes as string[]).includes(r.share_type))
      throw new AppError('NOT_FOUND', [
        {
          field: 'resourceId',
          reason: `no ${rule.shareTypes.join('/')} resource ${input.resourceId} to re-evaluate (${rule.article})`,
          reasonZh: `资源 ${input.resourceId} 不是须定期评估的有条件或不予共享资源（${rule.article}）`,
        },
      ]);
    if (Number(r.provider_org_id) !== actor.orgId || !hasRole(actor, 'data_officer'))
      throw new AppError('FORBIDDEN', [
        {
          reason: `the providing department's data officer evaluates (${rule.article})`,
          reasonZh: `由提供部门的数据管理员进行评估（${rule.article}）`,
        },
      ]);
    let versionNo: number | null = null;
    let target: ReevaluationInput['targetShareType'] | null = null;
    if (input.conclusion === 'convert') {
      target = input.targetShareType ?? null;
      if (!target || target === r.share_type)
        throw new AppError('VALIDATION_FAILED', [
          {
            field: 'targetShareType',
            reason: 'a conversion names a share type other than the current one',
            reasonZh: '转换须选择与当前不同的共享类型',
          },
        ]);
      const live = await trx
        .selectFrom('resource_version')
        .select('snapshot')
        .where('resource_id', '=', r.id)
        .where('status', '=', 'published')
        .executeTakeFirst();
      if (!live)
        throw new AppError('REVIEW_STATE_INVALID', [
          { reason: 'no published version', reasonZh: '该资源没有已发布的版本' },
        ]);
      const snap = live.snapshot as unknown as ResourceInput;
      const restricted = target !== 'unconditional';
      const converted: ResourceInput = {
        ...snap,
        shareType: target,
        shareConditions: restricted ? (input.shareConditions ?? snap.shareConditions ?? null) : null,
        legalBasis: restricted ? (input.legalBasis ?? snap.legalBasis ?? null) : null,
        legalBasisKind: restricted ? (snap.legalBasisKind ?? null) : null,
      };
      // the catalog's own review workflow (DG Art 11, XT Art 23.5): a new version submitted to the level's reviewer
      await saveResource({ ...ctx, db: trx }, actor, r.id, converted, { submit: true });
      const open = await trx
        .selectFrom('resource_version')
        .select('version_no')
        .where('resource_id', '=', r.id)
        .where('status', '=', 'submitted')
        .executeTakeFirst();
      versionNo = open?.version_no ?? null;
    }
    const today = todayOf(ctx);
    const { id } = await trx
      .insertInto('share_evaluation')
      .values({
        resource_id: r.id,
        org_id: r.provider_org_id,
        evaluated_by: actor.id,
        evaluated_on: today,
        share_type: r.share_type as 'conditional' | 'none',
        conclusion: input.conclusion,
        target_share_type: target,
        resource_version: versionNo,
        comment: comment.slice(0, 2000),
        article: rule.article,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'share.reevaluation',
      resourceId: r.id,
      targetType: 'share_evaluation',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: {
        conclusion: input.conclusion,
        shareType: r.share_type,
        targetShareType: target ?? undefined,
        versionNo: versionNo ?? undefined,
        article: rule.article,
      },
    });
    return {
      id: Number(id),
      resourceId: Number(r.id),
      evaluatedOn: today,
      conclusion: input.conclusion,
      targetShareType: target,
      versionNo,
      nextDue: addMonths(today, monthsOf(ctx)),
    };
  });
}

/**
 * The ticker's part (run with the sharing deadlines): a reminder to the provider's data officers REEVALUATION_REMIND_WD
 * working days before a re-evaluation falls due, and one when it has passed; each once per resource and due date,
 * whichever node gets there first.
 */
export async function tickReevaluations(ctx: AppContext): Promise<number> {
  const rule = ctx.profile.sharing.reevaluation;
  if (!rule) return 0;
  const cal = await currentCalendar(ctx);
  const today = todayOf(ctx);
  let n = 0;
  for (const r of await dueRows(ctx, null)) {
    if (r.in_review !== null) continue;
    const kind =
      r.dueDate < today
        ? ('overdue' as const)
        : workdaysBetween(cal, today, r.dueDate) <= REEVALUATION_REMIND_WD
          ? ('dueSoon' as const)
          : null;
    if (!kind) continue;
    n += await inTx(ctx.db, async (trx) => {
      const first = await trx
        .insertInto('share_reevaluation_event')
        .values({ resource_id: r.id, due_date: r.dueDate, kind })
        .onConflict((oc) => oc.doNothing())
        .returning('kind')
        .executeTakeFirst();
      if (!first) return 0;
      await notify(trx, [{ orgIds: [Number(r.provider_org_id)], roles: ['data_officer'] }], {
        kind: kind === 'overdue' ? 'sharing.reevaluationOverdue' : 'sharing.reevaluationDue',
        severity: kind === 'overdue' ? 'warning' : 'info',
        params: { resource: r.name, dueDate: r.dueDate, article: rule.article },
        resourceId: Number(r.id),
      });
      return 1;
    });
  }
  return n;
}
