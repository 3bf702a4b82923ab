import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { assertPurchaseApproved } from '../baselib/purchase-rule.js';
import {
  dueDate,
  endOfShanghaiDay,
  shanghaiDate,
  type WorkdayCalendar,
  workdaysBetween,
} from '../calendar/model.js';
import { currentCalendar } from '../calendar/service.js';
import { effectiveShareType } from '../catalog/model.js';
import { loadVisibleResource } from '../catalog/service.js';
import * as catalogStore from '../catalog/store.js';
import type { Actor, AppContext, Role } from '../context.js';
import { hasRole } from '../context.js';
import { checkLockedPatch, lockedRights, noneAccessArticle } from '../dataapi/access.js';
import type { Tx } from '../db/index.js';
import { inTx } from '../db/index.js';
import { hasApprovedNegativeEntry } from '../inventory/store.js';
import { notify } from '../notify/service.js';
import { assertOrgFilter } from '../orgs/store.js';
import { PROFILES } from '../profiles/index.js';
import type { StepActor } from '../profiles/model.js';
import { AppError } from '../shared/errors.js';
import { labelOf, statusZh } from '../shared/labels.js';
import { syncProxies } from './bulk.js';
import { activeEmergencyFor, emergencyGrantEnd, stopOf } from './cases.js';
import { crossLevelRule, planSteps } from './levels.js';
import {
  canRequest,
  canRevokeGrant,
  checkRequestInput,
  isLevelAuthority,
  isOverdue,
  partyFor,
  type RequestInput,
  type ShareType,
  stepComplete,
  stepsFor,
} from './model.js';
import { assessmentPending, type RiskRule } from './risk.js';
import * as store from './store.js';
import { assertCanSeeRequest, grantScopeCondition, requestScope } from './visibility.js';

/** A grant's own limits on the data API (hardening: enumeration and bulk copying); unset = platform default. */
export interface GrantQuota {
  callsPerDay?: number | null;
  rowsPerCall?: number | null;
  /** verification (核验, DG Art 19) calls per day; the platform default where unset */
  verificationsPerDay?: number | null;
  /** the grant's rights on the data API (issue 9): verification, and reading records (false = verification only) */
  verify?: boolean;
  readRecords?: boolean;
  /** bulk export (issue 9 point 5) and the rows it may export per day (null/unset: the platform default) */
  export?: boolean;
  exportRowsPerDay?: number | null;
  /** the privacy budget of noisy aggregate answers, epsilon per Beijing day (null/unset: the platform default) */
  epsilonPerDay?: number | null;
  /** the change feed (issue 9 point 6): changes since a cursor, pulled or pushed */
  feed?: boolean;
  /** 'aggregate': usable but not visible, aggregate queries only, never a row (issue 9 point 7) */
  accessMode?: 'rows' | 'aggregate';
  /** granted fields this grant sees in clear (the clear-value right, issue 9 point 8); every other protected field masked */
  clearFields?: string[];
}

/** The clear-value right names granted fields only (a coded 400 otherwise). */
function checkClearFields(clear: string[] | undefined, granted: string[]) {
  const outside = (clear ?? []).filter((f) => !granted.includes(f));
  if (outside.length)
    throw new AppError(
      'VALIDATION_FAILED',
      outside.slice(0, 20).map((f) => ({
        field: 'clearFields',
        value: f.slice(0, 40),
        reason: `field ${f.slice(0, 40)} is not in the grant`,
        reasonZh: `字段 ${f.slice(0, 40)} 不在授权范围内，不能授予明文权限`,
      })),
    );
}

/** Step names come from the profile the request was filed under (with its cross-level step, XT Art 26, GD Art 15). */
function stepName(profileId: string, key: string): { nameZh: string; nameEn: string } {
  const p = PROFILES[profileId as keyof typeof PROFILES];
  const cross = p ? crossLevelRule(p)?.step : undefined;
  const step =
    p &&
    [...p.sharing.conditional.steps, ...p.sharing.unconditional.steps, ...(cross ? [cross] : [])].find(
      (s) => s.key === key,
    );
  return step ?? { nameZh: key, nameEn: key };
}

/** Today in Beijing by the platform clock (tests drive it). */
export function todayOf(ctx: AppContext): string {
  return shanghaiDate(ctx.clock.now());
}

function requestView(
  actor: Actor,
  r: store.RequestRow,
  steps: store.StepRow[],
  cal: WorkdayCalendar,
  today: string,
  resubmissions: store.ResubmissionRow[] = [],
) {
  const current = steps.find((s) => s.step_index === r.current_step);
  const left = (due: string | null) =>
    due && r.status === 'pending' && due >= today ? workdaysBetween(cal, today, due) : null;
  return {
    id: r.id,
    resource: {
      id: r.resource_id,
      code: r.resource_code,
      name: r.resource_name,
      providerOrgId: r.provider_org_id,
      providerOrgName: r.provider_name,
    },
    consumerOrg: { id: r.consumer_org_id, name: r.consumer_name },
    app: { id: r.app_id, name: r.app_name },
    requester: { id: r.requester_id, displayName: r.requester_name },
    purpose: r.purpose,
    scenario: r.scenario,
    scope: r.scope,
    fields: r.fields,
    /** the fields' names, in the same order (people see words, not codes) */
    fieldNames: r.field_names,
    validUntil: r.valid_until,
    profileId: r.profile_id,
    status: r.status,
    currentStep: r.current_step,
    dueDate: r.due_date,
    /** working days from today to the current step's due date (0 = due today); null when not pending or overdue */
    workdaysLeft: left(r.due_date),
    overdue: isOverdue(r.status, r.due_date, today),
    /** the whole request's deadline where the profile sets one (NY task 7: 10 WD) */
    overallDueDate: r.overall_due_date,
    overallOverdue: isOverdue(r.status, r.overall_due_date, today),
    /** the day a missed deadline put the request before the authority */
    escalatedOn: r.escalated_on,
    /** approved because the provider did not answer in time (SY Art 25) */
    deemedConsent: r.deemed_consent,
    // computed Mon–Fri because the State Council has not announced that year yet (REFERENCE.md)
    dueDateProvisional: r.due_date !== null && !cal.isYearKnown(Number(r.due_date.slice(0, 4))),
    submittedAt: r.submitted_at,
    decidedAt: r.decided_at,
    grantId: r.grant_id,
    steps: steps.map((s) => ({
      index: s.step_index,
      key: s.key,
      actor: s.actor,
      coActors: s.co_actors,
      approvals: s.approvals,
      onTimeout: s.on_timeout,
      ...stepName(r.profile_id, s.key),
      deadline: { amount: s.deadline_amount, unit: s.deadline_unit },
      article: s.article,
      startedOn: s.started_on,
      dueDate: s.due_date,
      // cross-level requests (XT Art 26, GD Art 15): the jurisdiction level and the authority of the step
      level: s.level,
      authorityOrg: s.authority_org_id ? { id: s.authority_org_id, name: s.authority_org_name } : null,
      workdaysLeft: s.step_index === r.current_step ? left(s.due_date) : null,
      /** who holds the step now: its actor and co-actors that have not approved yet */
      holders:
        r.status === 'pending' && s.step_index === r.current_step
          ? [s.actor, ...s.co_actors].filter((p) => !s.approvals.includes(p))
          : [],
      decision: s.decision,
      decidedBy: s.decided_by_name,
      decidedAt: s.decided_at,
      comment: s.comment,
    })),
    canDecide:
      r.status === 'pending' && current !== undefined && partyFor(actor, current, r.provider_org_id) !== null,
    /** the authority may decide an escalated request in place of the late party (DG Art 15/35) */
    canOverride:
      r.status === 'pending' &&
      r.escalated_on !== null &&
      isLevelAuthority(actor, current?.authority_org_id) &&
      !(current !== undefined && partyFor(actor, current, r.provider_org_id) !== null),
    canWithdraw:
      r.status === 'pending' &&
      actor.orgId === r.consumer_org_id &&
      (actor.id === r.requester_id || hasRole(actor, 'data_officer')),
    /** refused requests come back to the consumer, which may amend and resubmit them (issue 8 point 3) */
    canResubmit:
      r.status === 'rejected' &&
      resubmissions.length < MAX_RESUBMISSIONS &&
      actor.orgId === r.consumer_org_id &&
      (actor.id === r.requester_id || hasRole(actor, 'data_officer')),
    /** the timeline's resubmissions: what the refusal said, what the consumer changed, the restarted step's due date */
    resubmissions: resubmissions.map((x) => ({
      id: x.id,
      step: x.step_key,
      ...stepName(r.profile_id, x.step_key),
      refusal: x.refusal,
      refusedBy: x.refused_by_name,
      refusedAt: x.refused_at,
      note: x.note,
      changes: x.changes,
      resubmittedBy: x.resubmitted_by_name,
      resubmittedAt: x.resubmitted_at,
      startedOn: x.started_on,
      dueDate: x.due_date,
    })),
  };
}

/** A request comes back for more information at most this many times; then the consumer files a new one. */
export const MAX_RESUBMISSIONS = 5;

async function loadRequest(ctx: AppContext, actor: Actor, id: number, trx?: Tx) {
  const db = trx ?? ctx.db;
  const r = await store.requestQuery(db).where('q.id', '=', id).executeTakeFirst();
  if (!r)
    throw new AppError('NOT_FOUND', [
      { field: 'id', reason: `share request ${id} not found`, reasonZh: `共享申请 ${id} 不存在` },
    ]);
  // who reads which request: one predicate with the list, the statistics and the to-do (./visibility.ts)
  await assertCanSeeRequest(db, actor, id);
  return requestView(
    actor,
    r,
    await store.getSteps(db, [id]),
    await currentCalendar(ctx),
    todayOf(ctx),
    await store.getResubmissions(db, [id]),
  );
}

export const getRequest = (ctx: AppContext, actor: Actor, id: number) => loadRequest(ctx, actor, id);

export async function createGrant(
  trx: Tx,
  req: {
    id: number;
    resource_id: number;
    consumer_org_id: number;
    app_id: number;
    fields: string[];
    purpose: string;
    valid_until: string;
    /** a locked access (src/dataapi/access.ts): the grant's rights are set by it, whatever the quota says */
    access?: 'verify' | 'aggregate' | null;
  },
  quotaAsked: GrantQuota | undefined,
  deemedConsent = false,
  /** the profile's risk-assessment rule (DG Art 19, XT Art 31, SY Art 42, NY task 11): an important/core resource's
   * grant stays 'riskPending', refused by the data API, until a passing assessment is recorded */
  risk?: RiskRule,
) {
  const quota: GrantQuota | undefined = req.access
    ? { ...quotaAsked, ...lockedRights(req.access) }
    : quotaAsked;
  checkClearFields(quota?.clearFields, req.fields);
  const pending = await assessmentPending(trx, risk, req.resource_id, req.id);
  const agreement = await agreementFor(trx, req);
  const { id } = await trx
    .insertInto('share_grant')
    .values({
      ...(pending ? { status: 'riskPending' as const } : {}),
      request_id: req.id,
      resource_id: req.resource_id,
      consumer_org_id: req.consumer_org_id,
      app_id: req.app_id,
      fields: req.fields,
      purpose: req.purpose,
      valid_until: endOfShanghaiDay(req.valid_until),
      max_calls_per_day: quota?.callsPerDay ?? null,
      max_rows_per_call: quota?.rowsPerCall ?? null,
      max_verify_per_day: quota?.verificationsPerDay ?? null,
      can_verify: quota?.verify ?? false,
      can_read: quota?.readRecords ?? true,
      can_export: quota?.export ?? false,
      can_feed: quota?.feed ?? false,
      max_export_rows_per_day: quota?.exportRowsPerDay ?? null,
      max_epsilon_per_day: quota?.epsilonPerDay ?? null,
      access_mode: quota?.accessMode ?? 'rows',
      clear_fields: quota?.clearFields ? [...new Set(quota.clearFields)] : [],
      deemed_consent: deemedConsent,
      ...(agreement
        ? { agreement_required: true, agreement_article: agreement.article, agreement_terms: agreement.terms }
        : {}),
      access_only: req.access ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  // NY task 7 同等代理授权: a proxy grant over this principal and provider mirrors the new grant
  await syncProxies(trx, id);
  return id;
}

/**
 * The provide-and-use agreement a grant carries under the request's profile (DG Art 18, `sharing.useAgreement`): its
 * terms, filled from the template with the parties, the resource, the purpose and the period; null where none.
 */
async function agreementFor(
  trx: Tx,
  req: { id: number; resource_id: number; consumer_org_id: number; purpose: string; valid_until: string },
) {
  const q = await trx
    .selectFrom('share_request as q')
    .innerJoin('resource as r', 'r.id', 'q.resource_id')
    .innerJoin('org as po', 'po.id', 'r.provider_org_id')
    .innerJoin('org as co', 'co.id', 'q.consumer_org_id')
    .select(['q.profile_id', 'r.name as resource', 'po.name as provider', 'co.name as consumer'])
    .where('q.id', '=', req.id)
    .executeTakeFirst();
  const rule = q && PROFILES[q.profile_id as keyof typeof PROFILES]?.sharing.useAgreement;
  if (!q || !rule) return null;
  const fill = (t: string) =>
    t
      .replaceAll('{provider}', q.provider)
      .replaceAll('{consumer}', q.consumer)
      .replaceAll('{resource}', q.resource)
      .replaceAll('{purpose}', req.purpose.slice(0, 2000))
      .replaceAll('{validUntil}', req.valid_until)
      .replaceAll('{article}', rule.article);
  const terms = `${fill(labelOf('sharing.agreementTemplate', 'zh') ?? '')}\n\n${fill(labelOf('sharing.agreementTemplate', 'en') ?? '')}`;
  return { article: rule.article, terms: terms.slice(0, 8000) };
}

/** Ties a grant to the emergency it was made under: it lapses at the emergency's end at the latest. */
async function markEmergencyGrant(
  trx: Tx,
  grantId: number,
  e: { id: number; ends_at: Date },
  validUntil: string,
) {
  await trx
    .updateTable('share_grant')
    .set({ emergency_id: e.id, valid_until: emergencyGrantEnd(validUntil, new Date(e.ends_at)) })
    .where('id', '=', grantId)
    .execute();
}

export async function createRequest(ctx: AppContext, actor: Actor, input: RequestInput) {
  const resource = await loadVisibleResource(ctx, actor, input.resourceId);
  if (!canRequest(actor, resource.provider_org_id)) {
    throw new AppError('FORBIDDEN', [
      {
        reason: "only another organisation's data officer or staff requests a resource",
        reasonZh: '只有数源部门以外的部门的数据专员或业务人员可以申请共享该资源',
      },
    ]);
  }
  if (resource.status !== 'published') {
    // only a reviewed, published catalog entry is shared (DG Art 11: the level's reviewer 审核确定 it first)
    throw new AppError('RESOURCE_NOT_PUBLISHED', [
      {
        field: 'resourceId',
        reason: `status ${resource.status}`,
        reasonZh: `目录条目当前状态为「${statusZh(resource.status, 'resStatus')}」`,
      },
    ]);
  }
  // XT Art 16: purchased data is shared only with the authority's approval record
  await assertPurchaseApproved(ctx.db, ctx.profile, resource.id);
  // DG Art 19, XT Art 23, GD Art 18, SY Art 23: a conditional or not-shared resource counts as such only with a
  // negative-list entry in force (approved, or filed where the profile asks only for filing); else it is unconditional
  const listed = await hasApprovedNegativeEntry(ctx.db, resource.id);
  const registered = effectiveShareType({ shareType: resource.share_type }, listed, ctx.profile) as ShareType;
  // SY Art 27: a provider that filed a stop supplies no new consumer
  const stop = await stopOf(ctx.db, resource.id);
  if (stop)
    throw new AppError('SUPPLY_STOPPED', [
      {
        field: 'resourceId',
        reason: `supply stops on ${stop.effective_on}`,
        reasonZh: `数源部门已申报自 ${stop.effective_on} 起停止提供该资源`,
      },
    ]);
  // an emergency over the resource (XT Art 23.7: conditional and not-shared data temporarily shared as unconditional;
  // NY task 7: the green channel, every step due the day it starts)
  const emergency = await activeEmergencyFor(ctx.db, resource.id, ctx.clock.now());
  const shareType: ShareType = emergency?.mode === 'reclassify' ? 'unconditional' : registered;
  // DG Art 19: not-shared data is served through verification services only, where the provider enabled them; XT Art
  // 23.6, SY Art 26: after de-identification, i.e. aggregates only (src/dataapi/access.ts); else NOT_SHAREABLE
  const noneArticle =
    shareType === 'none'
      ? noneAccessArticle(
          ctx.profile,
          {
            legal_basis: resource.legal_basis,
            verification_enabled: (
              await ctx.db
                .selectFrom('resource')
                .select('verification_enabled')
                .where('id', '=', resource.id)
                .executeTakeFirstOrThrow()
            ).verification_enabled,
          },
          input.access,
        )
      : null;
  const fields = await catalogStore.getFields(ctx.db, resource.id);
  const problems = checkRequestInput(
    input,
    fields.map((f) => f.code),
    ctx.profile,
    todayOf(ctx),
    shareType,
  );
  if (problems.length) throw new AppError('VALIDATION_FAILED', problems);
  // cross-level requests (XT Art 26, GD Art 15): the requester's own authority first, then the provider's level
  const planned = await planSteps(
    ctx.db,
    ctx.profile,
    shareType,
    stepsFor(ctx.profile, shareType),
    actor.orgId,
    resource.provider_org_id,
  );
  const steps = planned.map((p) => p.step);
  const cal = await currentCalendar(ctx);
  // a request filed on a holiday counts from the next working day: the start day itself is never counted (民法典 Art 201)
  const startedOn = todayOf(ctx);
  const overall = shareType !== 'unconditional' ? ctx.profile.sharing.conditional.overallDeadline : undefined;
  const id = await inTx(ctx.db, async (trx) => {
    const app = await trx
      .selectFrom('app')
      .select(['org_id', 'status'])
      .where('id', '=', input.appId)
      .executeTakeFirst();
    if (!app || app.org_id !== actor.orgId || app.status !== 'active') {
      throw new AppError('VALIDATION_FAILED', [
        {
          field: 'appId',
          reason: 'choose an active app of your own organisation',
          reasonZh: '请选择本单位启用中的应用',
        },
      ]);
    }
    const greenChannel = emergency?.mode === 'greenChannel';
    const firstDue = steps.length
      ? greenChannel
        ? startedOn
        : dueDate(cal, startedOn, steps[0].deadline)
      : null;
    const { id } = await trx
      .insertInto('share_request')
      .values({
        resource_id: resource.id,
        consumer_org_id: actor.orgId,
        app_id: input.appId,
        requester_id: actor.id,
        purpose: input.purpose.trim(),
        scenario: input.scenario ?? null,
        scope: input.scope?.trim() || null,
        overall_due_date: steps.length && overall ? dueDate(cal, startedOn, overall) : null,
        fields: input.fields,
        valid_until: input.validUntil,
        profile_id: ctx.profile.id,
        due_date: firstDue,
        status: steps.length ? 'pending' : 'approved',
        submitted_at: ctx.clock.now(),
        decided_at: steps.length ? null : ctx.clock.now(),
        emergency_id: emergency?.id ?? null,
        access: input.access ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (steps.length) {
      await trx
        .insertInto('share_request_step')
        .values(
          steps.map((s, i) => ({
            request_id: id,
            step_index: i,
            key: s.key,
            actor: s.actor,
            co_actors: s.coActors ?? [],
            on_timeout: s.onTimeout,
            deadline_amount: s.deadline.amount,
            deadline_unit: s.deadline.unit,
            article: s.article,
            started_on: i === 0 ? startedOn : null,
            due_date: i === 0 ? firstDue : null,
            authority_org_id: planned[i].authorityOrgId,
            level: planned[i].level,
          })),
        )
        .execute();
    }
    await appendAudit(trx, {
      action: 'share.request',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      appId: input.appId,
      resourceId: resource.id,
      targetType: 'share_request',
      targetId: id,
      purpose: input.purpose,
      fields: input.fields,
      clientIp: actor.clientIp,
      detail: {
        dueDate: firstDue,
        profile: ctx.profile.id,
        scope: input.scope?.trim() || undefined,
        overallDueDate: steps.length && overall ? dueDate(cal, startedOn, overall) : undefined,
        shareType,
        ...(planned.length > stepsFor(ctx.profile, shareType).length
          ? {
              crossLevel: {
                article: crossLevelRule(ctx.profile)?.article,
                levels: planned.map((p) => p.level),
              },
            }
          : {}),
        ...(input.access ? { access: input.access, accessArticle: noneArticle ?? undefined } : {}),
        ...(emergency
          ? { emergencyId: emergency.id, emergencyMode: emergency.mode, emergencyArticle: emergency.article }
          : {}),
        ...(shareType !== resource.share_type
          ? {
              registeredShareType: resource.share_type,
              notOnNegativeList: ctx.profile.catalog.unlistedIsUnconditional,
            }
          : {}),
      },
    });
    if (!steps.length) {
      // unconditional sharing without approval steps (DG, SY Art 25, NY task 7, GD Art 19): granted at once
      const grantId = await createGrant(
        trx,
        {
          id,
          resource_id: resource.id,
          consumer_org_id: actor.orgId,
          app_id: input.appId,
          fields: input.fields,
          purpose: input.purpose,
          valid_until: input.validUntil,
          access: input.access ?? null,
        },
        undefined,
        false,
        ctx.profile.security?.riskAssessment,
      );
      await trx.updateTable('share_request').set({ grant_id: grantId }).where('id', '=', id).execute();
      if (emergency?.mode === 'reclassify')
        await markEmergencyGrant(trx, grantId, emergency, input.validUntil);
      await appendAudit(trx, {
        action: 'share.grant',
        decision: 'allow',
        actorOrgId: resource.provider_org_id,
        appId: input.appId,
        grantId,
        resourceId: resource.id,
        targetType: 'share_grant',
        targetId: grantId,
        purpose: input.purpose,
        fields: input.fields,
        detail:
          emergency?.mode === 'reclassify'
            ? { reason: 'emergency', emergencyId: emergency.id, article: emergency.article }
            : { reason: 'unconditional', article: ctx.profile.sharing.unconditional.article },
      });
    }
    return id;
  });
  return loadRequest(ctx, actor, id);
}

/**
 * Ends the current step as approved (by people, or deemed by the ticker) and moves on: the next step starts on
 * `startedOn` with its due date from the profile's deadline, or, after the last step, the grant is created.
 * One place for both, so a deemed consent grants exactly as a consent does (SY Art 25).
 */
export async function advanceRequest(
  trx: Tx,
  cal: WorkdayCalendar,
  q: {
    id: number;
    resource_id: number;
    consumer_org_id: number;
    app_id: number;
    fields: string[];
    purpose: string;
    valid_until: string;
    current_step: number;
    emergency_id?: number | null;
  },
  steps: { step_index: number; deadline_amount: number; deadline_unit: 'WD' | 'd' }[],
  o: { startedOn: string; decidedAt: Date; quota?: GrantQuota; deemedConsent?: boolean; risk?: RiskRule },
): Promise<number | null> {
  const next = steps.find((s) => s.step_index === q.current_step + 1);
  const emergency = q.emergency_id
    ? await trx
        .selectFrom('share_emergency')
        .select(['id', 'mode', 'ends_at', 'status'])
        .where('id', '=', q.emergency_id)
        .executeTakeFirst()
    : undefined;
  if (next) {
    // NY task 7 green channel: while the emergency lasts, each step is due the day it starts
    const green = emergency?.mode === 'greenChannel' && emergency.status === 'active';
    const due = green
      ? o.startedOn
      : dueDate(cal, o.startedOn, { amount: next.deadline_amount, unit: next.deadline_unit });
    await trx
      .updateTable('share_request_step')
      .set({ started_on: o.startedOn, due_date: due })
      .where('request_id', '=', q.id)
      .where('step_index', '=', next.step_index)
      .execute();
    await trx
      .updateTable('share_request')
      .set({
        current_step: next.step_index,
        due_date: due,
        ...(o.deemedConsent ? { deemed_consent: true } : {}),
      })
      .where('id', '=', q.id)
      .execute();
    return null;
  }
  const grantId = await createGrant(trx, q, o.quota, o.deemedConsent ?? false, o.risk);
  // a grant made under an emergency is temporary: it ends with the emergency (XT Art 23.7)
  if (emergency?.status === 'active' && emergency.mode === 'reclassify')
    await markEmergencyGrant(trx, grantId, { id: emergency.id, ends_at: emergency.ends_at }, q.valid_until);
  await trx
    .updateTable('share_request')
    .set({
      status: 'approved',
      decided_at: o.decidedAt,
      grant_id: grantId,
      due_date: null,
      ...(o.deemedConsent ? { deemed_consent: true } : {}),
    })
    .where('id', '=', q.id)
    .execute();
  return grantId;
}

export async function decideRequest(
  ctx: AppContext,
  actor: Actor,
  id: number,
  decision: {
    approve: boolean;
    comment?: string | null;
    legalBasis?: string | null;
    /** the grant's quota, set by whoever approves the last step; platform defaults otherwise */
    quota?: GrantQuota;
    /**
     * The data authority decides an escalated request in place of the party that let the deadline pass (DG Art 15/35
     * supervision, NY task 7): recorded as an override on the step and in the audit.
     */
    override?: boolean;
  },
) {
  const cal = await currentCalendar(ctx);
  const today = todayOf(ctx);
  await inTx(ctx.db, async (trx) => {
    // FOR UPDATE: two reviewers clicking at once (or the deadline ticker) cannot both decide the same step
    const q = await trx
      .selectFrom('share_request')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!q)
      throw new AppError('NOT_FOUND', [
        { field: 'id', reason: `share request ${id} not found`, reasonZh: `共享申请 ${id} 不存在` },
      ]);
    const resource = await trx
      .selectFrom('resource')
      .select(['provider_org_id', 'name'])
      .where('id', '=', q.resource_id)
      .executeTakeFirstOrThrow();
    await assertCanSeeRequest(trx, actor, id);
    if (q.status !== 'pending') throw new AppError('REQUEST_NOT_PENDING');
    const steps = await trx
      .selectFrom('share_request_step')
      .selectAll()
      .where('request_id', '=', id)
      .orderBy('step_index')
      .execute();
    const step = steps[q.current_step];
    let party = partyFor(actor, step, resource.provider_org_id);
    const override = decision.override === true;
    if (override) {
      if (!isLevelAuthority(actor, step.authority_org_id))
        throw new AppError('FORBIDDEN', [
          {
            reason: "only the step's data authority overrides it",
            reasonZh: '只有该审批环节所属的数据主管部门可以代为处理',
          },
        ]);
      if (!q.escalated_on)
        throw new AppError('REQUEST_NOT_PENDING', [
          {
            field: 'override',
            reason: 'only a request escalated to the authority after a missed deadline is overridden',
            reasonZh: '只有逾期后提交数据主管部门督办的申请才能由其代为处理',
          },
        ]);
      if (!decision.comment?.trim())
        throw new AppError('VALIDATION_FAILED', [
          { field: 'comment', reason: 'an override states its grounds', reasonZh: '代为处理须写明理由' },
        ]);
      party =
        ([step.actor, ...step.co_actors] as StepActor[]).find((p) => !step.approvals.includes(p)) ?? null;
    }
    if (!party) {
      const who = [step.actor, ...step.co_actors].join(' + ');
      const whoZh = (ps: string[]) => ps.map((p) => labelOf(`actor.${p}`) ?? p).join('、');
      const waiting = [step.actor, ...step.co_actors].filter((p) => !step.approvals.includes(p));
      throw new AppError('FORBIDDEN', [
        {
          reason: step.approvals.length
            ? `this step waits for ${waiting.join(' + ')} (${step.article})`
            : `this step is decided by the ${who} (${step.article})`,
          reasonZh: step.approvals.length
            ? `该审批环节尚待${whoZh(waiting)}审批（${step.article}）`
            : `该审批环节由${whoZh([step.actor, ...step.co_actors])}审批（${step.article}）`,
        },
      ]);
    }
    if (!decision.approve) {
      const sharing = ctx.profile.sharing;
      const missing = [];
      if (!decision.comment?.trim())
        missing.push({
          field: 'reason',
          reason: `a refusal states its reason (${sharing.refusalArticle})`,
          reasonZh: `不予共享须说明理由（${sharing.refusalArticle}）`,
        });
      if (sharing.refusalRequires === 'legalBasis' && !decision.legalBasis?.trim()) {
        missing.push({
          field: 'legalBasis',
          reason: `a refusal cites its legal basis (${sharing.refusalArticle})`,
          reasonZh: `不予共享须提供法律法规依据（${sharing.refusalArticle}）`,
        });
      }
      if (missing.length)
        throw new AppError(
          missing.some((m) => m.field === 'legalBasis') ? 'LEGAL_BASIS_REQUIRED' : 'VALIDATION_FAILED',
          missing,
        );
    }
    const now = ctx.clock.now();
    const comment = decision.approve
      ? (decision.comment ?? null)
      : [decision.comment?.trim(), decision.legalBasis?.trim() ? `依据：${decision.legalBasis.trim()}` : null]
          .filter(Boolean)
          .join('；');
    const approvals = decision.approve ? [...step.approvals, party] : step.approvals;
    // a joint step (GD Art 19) is approved once every party has; until then the approval is recorded on it
    const complete = decision.approve && stepComplete({ ...step, approvals });
    await trx
      .updateTable('share_request_step')
      .set({
        approvals,
        ...(complete || !decision.approve
          ? { decision: decision.approve ? 'approved' : 'rejected', decided_by: actor.id, decided_at: now }
          : {}),
        comment: comment ?? step.comment,
      })
      .where('request_id', '=', id)
      .where('step_index', '=', q.current_step)
      .execute();
    let grantId: number | null = null;
    if (!decision.approve) {
      await trx
        .updateTable('share_request')
        .set({ status: 'rejected', decided_at: now, due_date: null })
        .where('id', '=', id)
        .execute();
    } else if (complete) {
      grantId = await advanceRequest(trx, cal, q, steps, {
        risk: ctx.profile.security?.riskAssessment,
        startedOn: today,
        decidedAt: now,
        quota: decision.quota,
      });
    }
    await appendAudit(trx, {
      action: override ? 'share.override' : decision.approve ? 'share.approve' : 'share.reject',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      appId: q.app_id,
      resourceId: q.resource_id,
      targetType: 'share_request',
      targetId: id,
      purpose: q.purpose,
      fields: q.fields,
      clientIp: actor.clientIp,
      detail: {
        step: step.key,
        party,
        ...(override ? { override: true, approve: decision.approve, escalatedOn: q.escalated_on } : {}),
        stepComplete: complete || !decision.approve,
        article: step.article,
        dueDate: step.due_date,
        decidedOn: today,
        onTime: !step.due_date || today <= step.due_date,
        comment,
      },
    });
    // the consumer hears of the decision; the next step's holders of their turn (in-app notifications)
    const params = { requestId: id, resource: resource.name, step: step.key, article: step.article };
    const consumer = { orgIds: [q.consumer_org_id], roles: ['data_officer', 'consumer_staff'] as Role[] };
    if (!decision.approve || grantId) {
      await notify(trx, [consumer], {
        kind: decision.approve ? 'sharing.approved' : 'sharing.rejected',
        severity: decision.approve ? 'info' : 'warning',
        params: { ...params, comment },
        resourceId: q.resource_id,
      });
    } else if (complete) {
      const next = steps.find((s) => s.step_index === q.current_step + 1);
      if (next) {
        await notify(
          trx,
          [next.actor, ...next.co_actors].map((p) =>
            p === 'provider'
              ? { orgIds: [resource.provider_org_id], roles: ['data_officer'] as Role[] }
              : next.authority_org_id
                ? { orgIds: [next.authority_org_id], roles: ['authority_reviewer'] as Role[] }
                : { roles: ['authority_reviewer'] as Role[], anyOrg: true },
          ),
          {
            kind: 'sharing.yourTurn',
            severity: 'info',
            params: { ...params, step: next.key },
            resourceId: q.resource_id,
          },
        );
      }
    }
    if (grantId) {
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
      });
    }
  });
  return loadRequest(ctx, actor, id);
}

export async function listRequests(
  ctx: AppContext,
  actor: Actor,
  f: {
    box?: 'outgoing' | 'incoming' | 'handled' | 'all';
    status?: string;
    overdue?: boolean;
    orgId?: number;
    dueFrom?: string;
    dueTo?: string;
    providerOrgId?: number;
    timeliness?: 'onTime' | 'late';
    page: number;
    pageSize: number;
  },
) {
  let box = f.box ?? 'outgoing';
  const overseer = hasRole(actor, 'platform_admin', 'authority_reviewer', 'auditor');
  if (box === 'all' && !overseer) box = 'outgoing';
  // the cockpit's drill-down (issue 12): overdue steps held by one department; an unknown department is a coded error
  await assertOrgFilter(ctx.db, f.orgId);
  await assertOrgFilter(ctx.db, f.providerOrgId, 'providerOrgId');
  // the on-time rate's drill-down: a period of provider due dates, both ends or neither
  if ((f.dueFrom === undefined) !== (f.dueTo === undefined) || (f.timeliness && !f.dueFrom))
    throw new AppError('VALIDATION_FAILED', [
      {
        field: f.dueFrom === undefined ? 'dueFrom' : 'dueTo',
        reason: 'dueFrom and dueTo go together (and timeliness needs them)',
        reasonZh: 'dueFrom 与 dueTo 须同时给出（timeliness 也需要它们）',
      },
    ]);
  const cityAuthorityId =
    f.orgId === undefined
      ? undefined
      : (
          await ctx.db
            .selectFrom('org')
            .select('id')
            .where('kind', '=', 'authority')
            .orderBy('id')
            .executeTakeFirst()
        )?.id;
  const { rows, total } = await store.listRequests(ctx.db, {
    overdue: f.overdue,
    holderOrgId: f.orgId,
    cityAuthorityId,
    providerDue:
      f.dueFrom && f.dueTo
        ? { from: f.dueFrom, to: f.dueTo, providerOrgId: f.providerOrgId, timeliness: f.timeliness }
        : undefined,
    today: todayOf(ctx),
    box,
    scope: await requestScope(ctx.db, actor),
    orgId: actor.orgId,
    authority: actor.orgKind === 'authority' && hasRole(actor, 'authority_reviewer'),
    providerOfficer: hasRole(actor, 'data_officer'),
    status: f.status,
    page: f.page,
    pageSize: f.pageSize,
  });
  const cal = await currentCalendar(ctx);
  const today = todayOf(ctx);
  const ids = rows.map((r) => r.id);
  const steps = await store.getSteps(ctx.db, ids);
  const resubmissions = await store.getResubmissions(ctx.db, ids);
  return {
    items: rows.map((r) =>
      requestView(
        actor,
        r,
        steps.filter((s) => s.request_id === r.id),
        cal,
        today,
        resubmissions.filter((x) => x.request_id === r.id),
      ),
    ),
    total,
    page: f.page,
    pageSize: f.pageSize,
  };
}

export async function listGrants(ctx: AppContext, actor: Actor) {
  let q = store.grantQuery(ctx.db);
  // the request scope (src/sharing/visibility.ts): a county authority reads its own jurisdiction's grants only
  const scope = grantScopeCondition(await requestScope(ctx.db, actor));
  if (scope) q = q.where(scope);
  const rows = await q.orderBy('g.id', 'desc').limit(500).execute();
  return rows.map(store.grantView);
}

export async function revokeGrant(ctx: AppContext, actor: Actor, id: number) {
  return inTx(ctx.db, async (trx) => {
    const g = await store.grantQuery(trx).where('g.id', '=', id).executeTakeFirst();
    if (!g)
      throw new AppError('NOT_FOUND', [
        { field: 'id', reason: `grant ${id} not found`, reasonZh: `授权 ${id} 不存在` },
      ]);
    if (!canRevokeGrant(actor, g.provider_org_id)) throw new AppError('FORBIDDEN');
    // Idempotent: revoking a revoked grant changes nothing, keeps the first revokedAt and writes no second record.
    // The conditional UPDATE decides, so two concurrent revokes cannot both count.
    const changed = await trx
      .updateTable('share_grant')
      .set({ status: 'revoked', revoked_at: new Date() })
      .where('id', '=', id)
      .where('status', '<>', 'revoked')
      .executeTakeFirst();
    const fresh = async () =>
      store.grantView((await store.grantQuery(trx).where('g.id', '=', id).executeTakeFirst())!);
    if (Number(changed.numUpdatedRows) === 0) return fresh();
    await syncProxies(trx, id); // a proxy grant's mirrors end with their source (NY task 7)
    await appendAudit(trx, {
      action: 'share.revoke',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      appId: g.app_id,
      grantId: id,
      resourceId: g.resource_id,
      targetType: 'share_grant',
      targetId: id,
      clientIp: actor.clientIp,
    });
    return fresh();
  });
}

/**
 * The provider (its data officer) or the platform admin changes an active grant's rights and limits on the data API:
 * reading, verification, bulk export and their quotas (issue 9 points 1 and 5). Only what the body names changes;
 * `null` for a quota means the platform default. Audited `share.grantEdit` with the values before and after.
 */
export async function editGrant(ctx: AppContext, actor: Actor, id: number, patch: GrantQuota) {
  return inTx(ctx.db, async (trx) => {
    const g = await store.grantQuery(trx).where('g.id', '=', id).executeTakeFirst();
    if (!g)
      throw new AppError('NOT_FOUND', [
        { field: 'id', reason: `grant ${id} not found`, reasonZh: `授权 ${id} 不存在` },
      ]);
    if (!canRevokeGrant(actor, g.provider_org_id)) throw new AppError('FORBIDDEN');
    if (g.status !== 'active')
      throw new AppError('CONFLICT', [
        { field: 'id', reason: 'a revoked grant cannot be edited', reasonZh: '已撤销的授权不能修改' },
      ]);
    const before = store.grantView(g);
    checkClearFields(patch.clearFields, g.fields);
    checkLockedPatch(g.access_only, patch);
    const set = {
      ...(patch.callsPerDay !== undefined ? { max_calls_per_day: patch.callsPerDay } : {}),
      ...(patch.rowsPerCall !== undefined ? { max_rows_per_call: patch.rowsPerCall } : {}),
      ...(patch.verificationsPerDay !== undefined ? { max_verify_per_day: patch.verificationsPerDay } : {}),
      ...(patch.exportRowsPerDay !== undefined ? { max_export_rows_per_day: patch.exportRowsPerDay } : {}),
      ...(patch.epsilonPerDay !== undefined ? { max_epsilon_per_day: patch.epsilonPerDay } : {}),
      ...(patch.verify !== undefined ? { can_verify: patch.verify } : {}),
      ...(patch.readRecords !== undefined ? { can_read: patch.readRecords } : {}),
      ...(patch.export !== undefined ? { can_export: patch.export } : {}),
      ...(patch.feed !== undefined ? { can_feed: patch.feed } : {}),
      ...(patch.accessMode !== undefined ? { access_mode: patch.accessMode } : {}),
      ...(patch.clearFields !== undefined ? { clear_fields: [...new Set(patch.clearFields)] } : {}),
    };
    if (Object.keys(set).length) {
      await trx.updateTable('share_grant').set(set).where('id', '=', id).execute();
      await syncProxies(trx, id); // mirrors keep the same rights (NY task 7 同等代理授权)
    }
    const after = store.grantView((await store.grantQuery(trx).where('g.id', '=', id).executeTakeFirst())!);
    await appendAudit(trx, {
      action: 'share.grantEdit',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      appId: g.app_id,
      grantId: id,
      resourceId: g.resource_id,
      targetType: 'share_grant',
      targetId: id,
      clientIp: actor.clientIp,
      detail: {
        before: {
          rights: before.rights,
          quota: before.quota,
          accessMode: before.accessMode,
          clearFields: before.clearFields,
        },
        after: {
          rights: after.rights,
          quota: after.quota,
          accessMode: after.accessMode,
          clearFields: after.clearFields,
        },
      },
    });
    return after;
  });
}

/** The consumer's own request, locked for update: its requester or its organisation's data officer acts on it. */
async function lockOwnRequest(trx: Tx, actor: Actor, id: number, verb: string, verbZh: string) {
  const q = await trx
    .selectFrom('share_request')
    .selectAll()
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!q || q.consumer_org_id !== actor.orgId)
    throw new AppError('NOT_FOUND', [
      { field: 'id', reason: `share request ${id} not found`, reasonZh: `共享申请 ${id} 不存在` },
    ]);
  if (!(q.requester_id === actor.id || hasRole(actor, 'data_officer')))
    throw new AppError('FORBIDDEN', [
      {
        reason: `the requester or its organisation's data officer ${verb}`,
        reasonZh: `只有申请人或其所在部门的数据专员可以${verbZh}该申请`,
      },
    ]);
  return q;
}

/** The requesting organisation withdraws a pending request (its data officer or the requester); recorded and audited. */
export async function withdrawRequest(ctx: AppContext, actor: Actor, id: number, reason: string | null) {
  await inTx(ctx.db, async (trx) => {
    const q = await lockOwnRequest(trx, actor, id, 'withdraws', '撤回');
    if (q.status !== 'pending') throw new AppError('REQUEST_NOT_PENDING');
    await trx
      .updateTable('share_request')
      .set({ status: 'withdrawn', decided_at: ctx.clock.now(), due_date: null })
      .where('id', '=', id)
      .execute();
    await appendAudit(trx, {
      action: 'share.withdraw',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      appId: q.app_id,
      resourceId: q.resource_id,
      targetType: 'share_request',
      targetId: id,
      clientIp: actor.clientIp,
      detail: { reason: reason?.trim() || undefined, step: q.current_step, withdrawnOn: todayOf(ctx) },
    });
  });
  return loadRequest(ctx, actor, id);
}

export interface ResubmitInput {
  /** what the consumer adds in answer to the refusal (the "more information") */
  note: string;
  purpose?: string;
  scenario?: string | null;
  scope?: string | null;
  fields?: string[];
  validUntil?: string;
}

/**
 * Resubmit after return (issue 8 point 3). No profile has a step that returns a request for more information, so a
 * return is a refusal: the consumer (the requester or its data officer) amends the request and resubmits it within the
 * same request. The step that refused starts again today with its deadline from the profile (a holiday start counts
 * from the next working day, as a new request does), the overall deadline where the profile sets one restarts too, the
 * step's holders are notified, and the resubmission is kept in the request's timeline and audited. A contested refusal
 * (an open dispute) is not resubmitted; at most MAX_RESUBMISSIONS times per request.
 */
export async function resubmitRequest(ctx: AppContext, actor: Actor, id: number, input: ResubmitInput) {
  const cal = await currentCalendar(ctx);
  const today = todayOf(ctx);
  await inTx(ctx.db, async (trx) => {
    const q = await lockOwnRequest(trx, actor, id, 'resubmits', '重新提交');
    if (q.status !== 'rejected')
      throw new AppError('REQUEST_NOT_RETURNED', [
        {
          field: 'id',
          reason: `the request is ${q.status}`,
          reasonZh: '只有被退回（不予同意）的申请才能补正后重新提交',
        },
      ]);
    const done = await trx
      .selectFrom('share_resubmission')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('request_id', '=', id)
      .executeTakeFirstOrThrow();
    if (done.n >= MAX_RESUBMISSIONS)
      throw new AppError('RESUBMISSION_LIMIT', [
        {
          field: 'id',
          reason: `a request is resubmitted at most ${MAX_RESUBMISSIONS} times; file a new request`,
          reasonZh: `同一申请最多重新提交 ${MAX_RESUBMISSIONS} 次，请另行提交新申请`,
        },
      ]);
    const contested = await trx
      .selectFrom('share_dispute')
      .select('id')
      .where('request_id', '=', id)
      .where('status', 'in', ['open', 'referred'])
      .executeTakeFirst();
    if (contested)
      throw new AppError('REFUSAL_DISPUTED', [
        {
          field: 'id',
          reason: 'the refusal is contested: wait for the dispute decision',
          reasonZh: '该不予共享决定正在争议处理中，请等待处理结果',
        },
      ]);
    const note = input.note.trim();
    if (note.length < 2)
      throw new AppError('VALIDATION_FAILED', [
        {
          field: 'note',
          reason: 'state what was added or changed in answer to the refusal',
          reasonZh: '请说明针对退回意见补充或修改的内容',
        },
      ]);
    const amended = {
      resourceId: q.resource_id,
      appId: q.app_id,
      purpose: input.purpose ?? q.purpose,
      scenario: input.scenario !== undefined ? input.scenario : q.scenario,
      scope: input.scope !== undefined ? input.scope : q.scope,
      fields: input.fields ?? q.fields,
      validUntil: input.validUntil ?? q.valid_until,
    };
    const fields = await catalogStore.getFields(trx, q.resource_id);
    const problems = checkRequestInput(
      amended,
      fields.map((f) => f.code),
      ctx.profile,
      today,
    );
    if (problems.length) throw new AppError('VALIDATION_FAILED', problems);
    const steps = await trx
      .selectFrom('share_request_step')
      .selectAll()
      .where('request_id', '=', id)
      .orderBy('step_index')
      .execute();
    const step = steps.find((s) => s.step_index === q.current_step);
    if (!step || step.decision !== 'rejected')
      throw new AppError('REQUEST_NOT_RETURNED', [
        {
          field: 'id',
          reason: 'no refused step to resubmit to',
          reasonZh: '该申请没有被退回的审批环节，不能重新提交',
        },
      ]);
    const due = dueDate(cal, today, { amount: step.deadline_amount, unit: step.deadline_unit });
    const overall = ctx.profile.sharing.conditional.overallDeadline;
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    const before = {
      purpose: q.purpose,
      scenario: q.scenario,
      scope: q.scope,
      fields: q.fields,
      validUntil: q.valid_until,
    };
    const after = {
      purpose: amended.purpose.trim(),
      scenario: amended.scenario ?? null,
      scope: amended.scope?.trim() || null,
      fields: amended.fields,
      validUntil: amended.validUntil,
    };
    for (const k of Object.keys(before) as Array<keyof typeof before>)
      if (JSON.stringify(before[k]) !== JSON.stringify(after[k]))
        changes[k] = { from: before[k], to: after[k] };
    const now = ctx.clock.now();
    await trx
      .updateTable('share_request')
      .set({
        purpose: after.purpose,
        scenario: after.scenario,
        scope: after.scope,
        fields: after.fields,
        valid_until: after.validUntil,
        status: 'pending',
        decided_at: null,
        due_date: due,
        escalated_on: null,
        ...(q.overall_due_date && overall ? { overall_due_date: dueDate(cal, today, overall) } : {}),
      })
      .where('id', '=', id)
      .execute();
    await trx
      .updateTable('share_request_step')
      .set({
        decision: null,
        decided_by: null,
        decided_at: null,
        approvals: [],
        comment: null,
        started_on: today,
        due_date: due,
      })
      .where('request_id', '=', id)
      .where('step_index', '=', step.step_index)
      .execute();
    // the restarted step's reminders fire again: the ticker's once-only marks of the old deadline are cleared (the
    // notifications and audit records of what it did stay)
    await trx
      .deleteFrom('share_request_event')
      .where('request_id', '=', id)
      .where('step_index', 'in', [step.step_index, -1])
      .execute();
    await trx
      .insertInto('share_resubmission')
      .values({
        request_id: id,
        step_index: step.step_index,
        step_key: step.key,
        refusal: step.comment?.slice(0, 4200) ?? null,
        refused_by: step.decided_by,
        refused_at: step.decided_at,
        note: note.slice(0, 2000),
        changes: JSON.stringify(changes),
        resubmitted_by: actor.id,
        resubmitted_at: now,
        started_on: today,
        due_date: due,
      })
      .execute();
    await appendAudit(trx, {
      action: 'share.resubmit',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      appId: q.app_id,
      resourceId: q.resource_id,
      targetType: 'share_request',
      targetId: id,
      purpose: after.purpose,
      fields: after.fields,
      clientIp: actor.clientIp,
      detail: { step: step.key, article: step.article, dueDate: due, changed: Object.keys(changes) },
    });
    const resource = await trx
      .selectFrom('resource')
      .select(['provider_org_id', 'name'])
      .where('id', '=', q.resource_id)
      .executeTakeFirstOrThrow();
    await notify(
      trx,
      [step.actor, ...step.co_actors].map((p) =>
        p === 'provider'
          ? { orgIds: [resource.provider_org_id], roles: ['data_officer'] as Role[] }
          : { roles: ['authority_reviewer'] as Role[], anyOrg: true },
      ),
      {
        kind: 'sharing.resubmitted',
        severity: 'info',
        params: {
          requestId: id,
          resource: resource.name,
          step: step.key,
          dueDate: due,
          article: step.article,
        },
        resourceId: q.resource_id,
      },
    );
  });
  return loadRequest(ctx, actor, id);
}

/**
 * The consumer's data officer confirms the provide-and-use agreement recorded with a grant (DG Art 18). Recorded on the
 * grant (who, when) and audited; confirming twice changes nothing. Data calls are not held back meanwhile: DG Art 18
 * makes the agreement the departments' undertaking to the authority, not a condition of each call.
 */
export async function acceptAgreement(ctx: AppContext, actor: Actor, id: number) {
  return inTx(ctx.db, async (trx) => {
    const g = await store.grantQuery(trx).where('g.id', '=', id).executeTakeFirst();
    if (
      !g ||
      !(
        g.consumer_org_id === actor.orgId ||
        g.provider_org_id === actor.orgId ||
        hasRole(actor, 'platform_admin', 'auditor', 'authority_reviewer')
      )
    )
      throw new AppError('NOT_FOUND', [
        { field: 'id', reason: `grant ${id} not found`, reasonZh: `授权 ${id} 不存在` },
      ]);
    if (g.consumer_org_id !== actor.orgId || !hasRole(actor, 'data_officer'))
      throw new AppError('FORBIDDEN', [
        {
          reason: "the consuming organisation's data officer accepts the agreement",
          reasonZh: '由使用部门的数据管理员确认提供和使用协议',
        },
      ]);
    if (!g.agreement_required)
      throw new AppError('CONFLICT', [
        {
          field: 'id',
          reason: 'the active regulation asks for no provide-and-use agreement',
          reasonZh: '按当前适用的规定，该授权无须签订提供和使用协议',
        },
      ]);
    if (g.status === 'revoked')
      throw new AppError('CONFLICT', [
        { field: 'id', reason: 'the grant is revoked', reasonZh: '授权已撤销' },
      ]);
    const changed = await trx
      .updateTable('share_grant')
      .set({ agreement_accepted_by: actor.id, agreement_accepted_at: ctx.clock.now() })
      .where('id', '=', id)
      .where('agreement_accepted_at', 'is', null)
      .executeTakeFirst();
    if (Number(changed.numUpdatedRows) > 0)
      await appendAudit(trx, {
        action: 'share.agreementAccepted',
        decision: 'allow',
        actorUserId: actor.id,
        actorOrgId: actor.orgId,
        appId: g.app_id,
        grantId: id,
        resourceId: g.resource_id,
        targetType: 'share_grant',
        targetId: id,
        purpose: g.purpose,
        clientIp: actor.clientIp,
        detail: { article: g.agreement_article },
      });
    return store.grantView((await store.grantQuery(trx).where('g.id', '=', id).executeTakeFirst())!);
  });
}
