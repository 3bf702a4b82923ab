import { appendAudit } from '../audit/store.js';
import { isIsoDate, shanghaiDate } from '../calendar/model.js';
import { type Actor, type AppContext, hasRole } from '../context.js';
import { type Db, inTx, type Tx } from '../db/index.js';
import { AppError } from '../shared/errors.js';
import { statusZh } from '../shared/labels.js';
import * as store from './store.js';
import { assertCanSeeRequest } from './visibility.js';

/*
 * Risk assessment before important data is shared (issue 10 point 10). Where the profile asks for it
 * (`security.riskAssessment`: DG Art 19 — assess the leak risk before sharing important data; XT Art 31; SY Art 42;
 * NY task 11), a request for a resource whose security level (GB/T 43697, derived from its fields) is one of the
 * profile's levels may be approved, but its grant is created 'riskPending': the data API refuses its calls with
 * RISK_ASSESSMENT_REQUIRED until an assessment concluding pass or conditional is recorded, which activates the grant.
 * A failed assessment keeps the grant inactive; a later one may pass. Recorded by the provider's data officers or the
 * authority's staff; audited.
 */
export type RiskRule = { levels: Array<'important' | 'core'>; article: string };
export const RISK_CONCLUSIONS = ['pass', 'conditional', 'fail'] as const;
export type RiskConclusion = (typeof RISK_CONCLUSIONS)[number];

export interface RiskAssessmentInput {
  assessor: string;
  assessedOn: string;
  conclusion: RiskConclusion;
  measures: string;
  attachmentName?: string | null;
}

async function levelOf(db: Db | Tx, resourceId: number) {
  const r = await db
    .selectFrom('resource')
    .select('security_level')
    .where('id', '=', resourceId)
    .executeTakeFirstOrThrow();
  return r.security_level;
}

const passes = (c: string | undefined) => c === 'pass' || c === 'conditional';

async function latest(db: Db | Tx, requestId: number) {
  return db
    .selectFrom('share_risk_assessment')
    .select('conclusion')
    .where('request_id', '=', requestId)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Whether a grant made now for this request must wait for a passing assessment. */
export async function assessmentPending(
  db: Db | Tx,
  rule: RiskRule | undefined,
  resourceId: number,
  requestId: number | null,
): Promise<boolean> {
  if (!rule) return false;
  const level = await levelOf(db, resourceId);
  if (!(rule.levels as string[]).includes(level)) return false;
  if (requestId === null) return true;
  return !passes((await latest(db, requestId))?.conclusion);
}

function canRecord(actor: Actor, providerOrgId: number) {
  if (actor.orgKind === 'authority' && hasRole(actor, 'platform_admin', 'authority_reviewer')) return true;
  return hasRole(actor, 'data_officer', 'section_head') && actor.orgId === Number(providerOrgId);
}

async function loadRequest(db: Db | Tx, actor: Actor, id: number) {
  const r = await store.requestQuery(db).where('q.id', '=', id).executeTakeFirst();
  if (!r)
    throw new AppError('NOT_FOUND', [
      { field: 'id', reason: `share request ${id} not found`, reasonZh: `共享申请 ${id} 不存在` },
    ]);
  await assertCanSeeRequest(db, actor, id);
  return r;
}

/** The request's assessment state: whether one is required (and under which article), its records, whether it passed. */
export async function riskState(ctx: AppContext, actor: Actor, id: number) {
  const r = await loadRequest(ctx.db, actor, id);
  const rule = ctx.profile.security?.riskAssessment;
  const level = await levelOf(ctx.db, r.resource_id);
  const required = Boolean(rule && (rule.levels as string[]).includes(level));
  const items = await ctx.db
    .selectFrom('share_risk_assessment as s')
    .leftJoin('app_user as u', 'u.id', 's.recorded_by')
    .select([
      's.id',
      's.assessor',
      's.assessed_on',
      's.conclusion',
      's.measures',
      's.attachment_name',
      's.article',
      's.recorded_at',
      'u.display_name as recorded_by_name',
    ])
    .where('s.request_id', '=', id)
    .orderBy('s.id', 'desc')
    .execute();
  const grant = r.grant_id
    ? await ctx.db.selectFrom('share_grant').select('status').where('id', '=', r.grant_id).executeTakeFirst()
    : undefined;
  return {
    required,
    level,
    article: required ? rule!.article : null,
    passed: passes(items[0]?.conclusion),
    grantStatus: grant?.status ?? null,
    canRecord:
      required && canRecord(actor, r.provider_org_id) && !['rejected', 'withdrawn'].includes(r.status),
    items: items.map((i) => ({
      id: Number(i.id),
      assessor: i.assessor,
      assessedOn: i.assessed_on,
      conclusion: i.conclusion,
      measures: i.measures,
      attachmentName: i.attachment_name,
      article: i.article,
      recordedAt: i.recorded_at,
      recordedBy: i.recorded_by_name,
    })),
  };
}

/** Records an assessment; a pass or a conditional pass activates the request's waiting grant. Audited. */
export async function recordRiskAssessment(
  ctx: AppContext,
  actor: Actor,
  id: number,
  input: RiskAssessmentInput,
) {
  const rule = ctx.profile.security?.riskAssessment;
  await inTx(ctx.db, async (trx) => {
    const r = await loadRequest(trx, actor, id);
    if (!canRecord(actor, r.provider_org_id))
      throw new AppError('FORBIDDEN', [
        {
          reason: "the provider's data officers or the authority's staff record the risk assessment",
          reasonZh: '只有数源部门的数据专员或数据主管部门的工作人员可以记录安全风险评估结果',
        },
      ]);
    const level = await levelOf(trx, r.resource_id);
    if (!rule || !(rule.levels as string[]).includes(level))
      throw new AppError('CONFLICT', [
        {
          field: 'id',
          reason: 'this resource needs no risk assessment under the active profile',
          reasonZh: '按当前适用的规定，该资源共享前无须风险评估',
        },
      ]);
    if (['rejected', 'withdrawn'].includes(r.status))
      throw new AppError('CONFLICT', [
        {
          field: 'id',
          reason: `the request is ${r.status}`,
          reasonZh: `该共享申请当前状态为「${statusZh(r.status, 'reqStatus')}」`,
        },
      ]);
    const today = shanghaiDate(ctx.clock.now());
    if (!isIsoDate(input.assessedOn) || input.assessedOn > today)
      throw new AppError('VALIDATION_FAILED', [
        {
          field: 'assessedOn',
          value: input.assessedOn,
          reason: 'the assessment date is a past or present date',
          reasonZh: '评估日期不能晚于今天',
        },
      ]);
    if (input.conclusion === 'conditional' && !input.measures.trim())
      throw new AppError('VALIDATION_FAILED', [
        {
          field: 'measures',
          reason: 'a conditional pass states its conditions (the measures)',
          reasonZh: '有条件通过须写明安全措施或条件',
        },
      ]);
    const row = await trx
      .insertInto('share_risk_assessment')
      .values({
        request_id: id,
        resource_id: r.resource_id,
        assessor: input.assessor.trim(),
        assessed_on: input.assessedOn,
        conclusion: input.conclusion,
        measures: input.measures.trim(),
        attachment_name: input.attachmentName?.trim() || null,
        article: rule.article,
        recorded_by: actor.id,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      action: 'share.riskAssessed',
      decision: input.conclusion === 'fail' ? 'deny' : 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      resourceId: r.resource_id,
      appId: r.app_id,
      targetType: 'share_request',
      targetId: id,
      clientIp: actor.clientIp,
      detail: {
        assessmentId: Number(row.id),
        conclusion: input.conclusion,
        assessor: input.assessor.trim().slice(0, 100),
        assessedOn: input.assessedOn,
        level,
        article: rule.article,
      },
    });
    if (passes(input.conclusion)) {
      const activated = await trx
        .updateTable('share_grant')
        .set({ status: 'active' })
        .where('request_id', '=', id)
        .where('status', '=', 'riskPending')
        .returning('id')
        .execute();
      for (const g of activated)
        await appendAudit(trx, {
          action: 'share.grantActivated',
          decision: 'allow',
          actorUserId: actor.id,
          actorOrgId: actor.orgId,
          resourceId: r.resource_id,
          appId: r.app_id,
          grantId: Number(g.id),
          targetType: 'grant',
          targetId: Number(g.id),
          clientIp: actor.clientIp,
          detail: { assessmentId: Number(row.id), article: rule.article },
        });
    }
  });
  return riskState(ctx, actor, id);
}
