import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { shanghaiDate } from '../calendar/model.js';
import { levelsVisibleToAll } from '../catalog/model.js';
import { addMonths, REEVALUATION_NOTICE_DAYS, resourcesDueForReview } from '../catalog/review-due.js';
import type { Actor, AppContext } from '../context.js';
import { hasRole } from '../context.js';
import { type Db, inTx, type Tx } from '../db/index.js';
import { isValidCreditCode } from '../ingest/checksums.js';
import { notify, type Recipients } from '../notify/service.js';
import { AppError } from '../shared/errors.js';
import { statusZh } from '../shared/labels.js';
import { noticeAccount } from './notices.js';

/*
 * Governance of the open portal (issue 11 points 6 and 7). Each procedure exists only where the active profile names it;
 * under any other profile a call is refused with CASE_NOT_IN_PROFILE (a rule is enforced or not offered).
 *
 * Violations (XT Art 33: "限制或者关闭其数据获取权限等措施并可以在公共数据平台公示"):
 *   restrict — the account's open API calls (by key or session) and new applications are refused
 *              (OPEN_ACCESS_RESTRICTED); it can still sign in, see its account and its restriction, and download
 *              unconditionally open files as anybody can;
 *   close    — the account can no longer sign in, its sessions end at once, every call with its keys is refused
 *              (OPEN_ACCESS_CLOSED).
 *   A measure runs until lifted or through its last day (`until`); the decision is published on the portal when the
 *   authority chooses to, with the account's name masked.
 *
 * Authorised operation (SY Art 39–40): a department applies to have a named third party operate cleansed and
 * de-identified data of its own resources; the data authority reviews; the city government's approval is recorded with
 * its reference; the department files what the operator produces (SY Art 40). Approved operations are listed publicly.
 */

const todayOf = (ctx: AppContext) => shanghaiDate(ctx.clock.now());
const authority: Recipients = { roles: ['authority_reviewer'], anyOrg: true };

function isAuthorityReviewer(actor: Actor): boolean {
  return actor.orgKind === 'authority' && hasRole(actor, 'authority_reviewer');
}

function requireAuthorityReviewer(actor: Actor) {
  if (!isAuthorityReviewer(actor))
    throw new AppError('FORBIDDEN', [
      {
        reason: "only the data authority's reviewer decides this",
        reasonZh: '仅数据主管部门审核人员可以办理',
      },
    ]);
}

function canSeeAll(actor: Actor): boolean {
  return actor.orgKind === 'authority' || hasRole(actor, 'auditor');
}

function violationsRule(ctx: AppContext) {
  const rule = ctx.profile.opening?.violations;
  if (!rule)
    throw new AppError('CASE_NOT_IN_PROFILE', [
      {
        field: 'violations',
        reason: 'the active regulation provides no restriction of open-data users',
        reasonZh: '现行规则未规定对开放数据使用者的限制措施',
      },
    ]);
  return rule;
}

function operationRule(ctx: AppContext) {
  const rule = ctx.profile.opening?.authorisedOperation;
  if (!rule)
    throw new AppError('CASE_NOT_IN_PROFILE', [
      {
        field: 'authorisedOperation',
        reason: 'the active regulation provides no authorised operation',
        reasonZh: '现行规则未规定授权运营',
      },
    ]);
  return rule;
}

function text(value: string | null | undefined, field: string, min: number, zh: string, en: string) {
  const t = (value ?? '').trim();
  if (t.length < min) throw new AppError('VALIDATION_FAILED', [{ field, reason: en, reasonZh: zh }]);
  return t;
}

/** A name as the public list shows it: first character, then one * per further character (at most 4). */
export function maskedName(name: string): string {
  const chars = [...name.trim()];
  if (chars.length <= 1) return '*';
  return chars[0] + '*'.repeat(Math.min(4, chars.length - 1));
}

// ---------------------------------------------------------------- violations (XT Art 33)

export type Measure = 'restrict' | 'close';

/** The measure in force on an account today, if any (a measure past its last day no longer applies). */
export async function activeMeasure(
  ctx: AppContext,
  db: Db | Tx,
  accountId: number,
): Promise<{ id: number; measure: Measure; article: string; until: string | null; reason: string } | null> {
  if (!ctx.profile.opening?.violations) return null;
  const r = await db
    .selectFrom('open_restriction')
    .select(['id', 'measure', 'article', 'until', 'reason'])
    .where('account_id', '=', accountId)
    .where('status', '=', 'active')
    .where((eb) => eb.or([eb('until', 'is', null), eb('until', '>=', todayOf(ctx))]))
    .executeTakeFirst();
  return r
    ? { id: Number(r.id), measure: r.measure, article: r.article, until: r.until, reason: r.reason }
    : null;
}

/**
 * Refuses what a measure forbids: `call` (open API calls and applications) under either measure, `signIn` and
 * everything else under `close`. The refusal is audited by the error handler like every refused call.
 */
export async function assertOpenAccess(
  ctx: AppContext,
  accountId: number,
  what: 'call' | 'signIn' | 'download',
) {
  const m = await activeMeasure(ctx, ctx.db, accountId);
  if (!m) return;
  const detail = [
    {
      field: 'account',
      reason: `${m.measure === 'close' ? 'closed' : 'restricted'} by the data authority${m.until ? ` through ${m.until}` : ''} (${m.article})`,
      reasonZh: `数据主管部门已${m.measure === 'close' ? '关闭' : '限制'}该账号的数据获取权限${m.until ? `（至 ${m.until}）` : ''}（${m.article}）`,
    },
  ];
  if (m.measure === 'close') throw new AppError('OPEN_ACCESS_CLOSED', detail);
  if (what === 'call') throw new AppError('OPEN_ACCESS_RESTRICTED', detail);
}

export interface MeasureInput {
  accountId: number;
  measure: Measure;
  reason: string;
  until?: string | null;
  publish?: boolean;
}

/** The authority restricts or closes an account; a measure already in force is replaced (and recorded as lifted). */
export async function imposeMeasure(ctx: AppContext, actor: Actor, input: MeasureInput) {
  const rule = violationsRule(ctx);
  requireAuthorityReviewer(actor);
  const reason = text(
    input.reason,
    'reason',
    4,
    '请写明违规事实与处理理由（至少 4 个字）',
    'state the misuse (4+ chars)',
  );
  if (input.until && input.until < todayOf(ctx))
    throw new AppError('VALIDATION_FAILED', [
      { field: 'until', reason: 'the last day is in the past', reasonZh: '截止日期不能早于今天' },
    ]);
  const id = await inTx(ctx.db, async (trx) => {
    const account = await trx
      .selectFrom('open_account')
      .select(['id', 'display_name'])
      .where('id', '=', input.accountId)
      .forUpdate()
      .executeTakeFirst();
    if (!account)
      throw new AppError('NOT_FOUND', [
        { field: 'accountId', reason: `account ${input.accountId}`, reasonZh: `账号 ${input.accountId}` },
      ]);
    const now = ctx.clock.now();
    const replaced = await trx
      .updateTable('open_restriction')
      .set({
        status: 'lifted',
        lifted_by: actor.id,
        lifted_at: now,
        lift_reason: `replaced: ${reason}`.slice(0, 2000),
      })
      .where('account_id', '=', input.accountId)
      .where('status', '=', 'active')
      .returning('id')
      .executeTakeFirst();
    const { id } = await trx
      .insertInto('open_restriction')
      .values({
        account_id: input.accountId,
        measure: input.measure,
        reason,
        article: rule.article,
        publish: input.publish ?? true,
        until: input.until ?? null,
        decided_by: actor.id,
        decided_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (input.measure === 'close')
      await trx.deleteFrom('open_session').where('account_id', '=', input.accountId).execute();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: `open.violation.${input.measure}`,
      targetType: 'open_account',
      targetId: input.accountId,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: {
        restrictionId: id,
        until: input.until ?? null,
        publish: input.publish ?? true,
        replaced: replaced ? Number(replaced.id) : null,
        article: rule.article,
      },
    });
    await noticeAccount(
      trx,
      input.accountId,
      input.measure === 'close' ? 'accessClosed' : 'accessRestricted',
      {
        reason,
        until: input.until ?? null,
        article: rule.article,
      },
    );
    return id;
  });
  return getMeasure(ctx, actor, id);
}

export async function liftMeasure(ctx: AppContext, actor: Actor, id: number, reason: string) {
  violationsRule(ctx);
  requireAuthorityReviewer(actor);
  const why = text(reason, 'reason', 2, '请写明解除理由', 'state why the measure is lifted');
  await inTx(ctx.db, async (trx) => {
    const r = await trx
      .selectFrom('open_restriction')
      .select(['id', 'account_id', 'status'])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!r)
      throw new AppError('NOT_FOUND', [{ field: 'id', reason: `restriction ${id}`, reasonZh: `处理 ${id}` }]);
    if (r.status !== 'active')
      throw new AppError('CASE_STATE_INVALID', [
        { field: 'id', reason: 'already lifted', reasonZh: '该处理措施已解除' },
      ]);
    await trx
      .updateTable('open_restriction')
      .set({ status: 'lifted', lifted_by: actor.id, lifted_at: ctx.clock.now(), lift_reason: why })
      .where('id', '=', id)
      .execute();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'open.violation.lift',
      targetType: 'open_account',
      targetId: Number(r.account_id),
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { restrictionId: id },
    });
    await noticeAccount(trx, Number(r.account_id), 'accessRestored', { reason: why });
  });
  return getMeasure(ctx, actor, id);
}

function measureQuery(db: Db) {
  return db
    .selectFrom('open_restriction as r')
    .innerJoin('open_account as a', 'a.id', 'r.account_id')
    .select([
      'r.id',
      'r.account_id',
      'a.display_name',
      'a.account_type',
      'a.contact',
      'r.measure',
      'r.reason',
      'r.article',
      'r.publish',
      'r.until',
      'r.decided_at',
      'r.status',
      'r.lifted_at',
      'r.lift_reason',
    ]);
}

type MeasureRow = Awaited<ReturnType<ReturnType<typeof measureQuery>['executeTakeFirstOrThrow']>>;

function measureView(ctx: AppContext, r: MeasureRow) {
  const expired = r.status === 'active' && r.until !== null && r.until < todayOf(ctx);
  return {
    id: Number(r.id),
    accountId: Number(r.account_id),
    accountName: r.display_name,
    accountType: r.account_type,
    contact: r.contact,
    measure: r.measure,
    reason: r.reason,
    article: r.article,
    publish: r.publish,
    until: r.until,
    decidedAt: r.decided_at,
    status: expired ? ('expired' as const) : r.status,
    liftedAt: r.lifted_at,
    liftReason: r.lift_reason,
  };
}

function requireMeasureReader(actor: Actor) {
  if (!canSeeAll(actor))
    throw new AppError('FORBIDDEN', [
      { reason: 'the data authority and auditors only', reasonZh: '仅数据主管部门和审计人员可以查看' },
    ]);
}

export async function getMeasure(ctx: AppContext, actor: Actor, id: number) {
  requireMeasureReader(actor);
  const r = await measureQuery(ctx.db).where('r.id', '=', id).executeTakeFirst();
  if (!r)
    throw new AppError('NOT_FOUND', [{ field: 'id', reason: `restriction ${id}`, reasonZh: `处理 ${id}` }]);
  return measureView(ctx, r);
}

export async function listMeasures(ctx: AppContext, actor: Actor, f: { page: number; pageSize: number }) {
  violationsRule(ctx);
  requireMeasureReader(actor);
  const [rows, total] = await Promise.all([
    measureQuery(ctx.db)
      .orderBy('r.id', 'desc')
      .limit(f.pageSize)
      .offset((f.page - 1) * f.pageSize)
      .execute(),
    ctx.db
      .selectFrom('open_restriction')
      .select(sql<number>`count(*)::int`.as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return { total: total.n, items: rows.map((r) => measureView(ctx, r)) };
}

/** Accounts the authority can act on: found by name or contact (the console's picker). */
export async function findAccounts(ctx: AppContext, actor: Actor, q: string) {
  violationsRule(ctx);
  requireMeasureReader(actor);
  const like = `%${q.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const rows = await ctx.db
    .selectFrom('open_account')
    .select(['id', 'display_name', 'contact', 'account_type', 'created_at'])
    .where((eb) => eb.or([eb('display_name', 'like', like), eb('contact', 'like', like)]))
    .orderBy('id', 'desc')
    .limit(20)
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    name: r.display_name,
    contact: r.contact,
    accountType: r.account_type,
    createdAt: r.created_at,
  }));
}

/** The decisions published on the portal (XT Art 33), the account's name masked; none under other profiles. */
export async function publishedMeasures(ctx: AppContext) {
  if (!ctx.profile.opening?.violations) return { items: [] };
  const rows = await measureQuery(ctx.db)
    .where('r.publish', '=', true)
    .orderBy('r.id', 'desc')
    .limit(200)
    .execute();
  return {
    article: ctx.profile.opening.violations.article,
    items: rows.map((r) => {
      const v = measureView(ctx, r);
      return {
        id: v.id,
        account: maskedName(v.accountName),
        accountType: v.accountType,
        measure: v.measure,
        reason: v.reason,
        article: v.article,
        until: v.until,
        decidedAt: v.decidedAt,
        status: v.status,
        liftedAt: v.liftedAt,
      };
    }),
  };
}

// ---------------------------------------------------------------- authorised operation (SY Art 39–40)

export interface OperationInput {
  operatorName: string;
  operatorCode: string;
  resourceIds: number[];
  scope: string;
  deidentification: string;
  termFrom: string;
  termTo: string;
}

/** A department's data officer applies for the operation of its own resources by a third party. */
export async function applyOperation(ctx: AppContext, actor: Actor, input: OperationInput) {
  const rule = operationRule(ctx);
  if (actor.orgKind !== 'department' || !hasRole(actor, 'data_officer'))
    throw new AppError('FORBIDDEN', [
      { reason: "a department's data officer applies", reasonZh: '由政务部门数据专员提出申请' },
    ]);
  const problems = [];
  const operatorName = text(input.operatorName, 'operatorName', 2, '请填写运营单位名称', 'name the operator');
  const operatorCode = input.operatorCode.trim().toUpperCase();
  if (!isValidCreditCode(operatorCode))
    problems.push({
      field: 'operatorCode',
      reason: 'not a valid unified social credit code (GB 32100)',
      reasonZh: '统一社会信用代码校验不通过',
    });
  const scope = text(
    input.scope,
    'scope',
    4,
    '请写明运营范围和用途（至少 4 个字）',
    'state the scope (4+ chars)',
  );
  const deid = text(
    input.deidentification,
    'deidentification',
    10,
    '请说明已完成的清洗、脱密和脱敏处理（至少 10 个字，沈阳条例第三十九条）',
    'describe the cleansing, declassification and de-identification done (10+ chars; SY Art 39)',
  );
  if (!(input.termTo > input.termFrom))
    problems.push({
      field: 'termTo',
      reason: 'the term ends after it starts',
      reasonZh: '运营期限的结束日期须晚于开始日期',
    });
  const ids = [...new Set(input.resourceIds)];
  if (!ids.length)
    problems.push({
      field: 'resourceIds',
      reason: 'name at least one resource',
      reasonZh: '请至少选择一项数据资源',
    });
  if (problems.length) throw new AppError('VALIDATION_FAILED', problems);
  const id = await inTx(ctx.db, async (trx) => {
    const own = await trx
      .selectFrom('resource')
      .select(['id', 'provider_org_id', 'status'])
      .where('id', 'in', ids)
      .execute();
    const bad = ids.filter(
      (rid) =>
        !own.some((r) => r.id === rid && r.provider_org_id === actor.orgId && r.status === 'published'),
    );
    if (bad.length)
      throw new AppError('VALIDATION_FAILED', [
        {
          field: 'resourceIds',
          reason: `not published resources of your department: ${bad.join(', ')}`,
          reasonZh: `以下资源不是本部门已发布的资源：${bad.join('、')}`,
        },
      ]);
    const { id } = await trx
      .insertInto('open_operation')
      .values({
        org_id: actor.orgId,
        operator_name: operatorName,
        operator_code: operatorCode,
        resource_ids: ids,
        scope,
        deidentification: deid,
        term_from: input.termFrom,
        term_to: input.termTo,
        article: rule.article,
        submitted_by: actor.id,
        submitted_at: ctx.clock.now(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await auditOperation(trx, actor, 'open.operation.apply', id, {
      operator: operatorName,
      article: rule.article,
    });
    await notify(trx, [authority], {
      kind: 'opening.operationFiled',
      severity: 'info',
      params: { operationId: id, operator: operatorName, article: rule.article },
    });
    return id;
  });
  return getOperation(ctx, actor, id);
}

function auditOperation(trx: Tx, actor: Actor, action: string, id: number, detail: Record<string, unknown>) {
  return appendAudit(trx, {
    actorUserId: actor.id,
    actorOrgId: actor.orgId,
    action,
    targetType: 'open_operation',
    targetId: id,
    decision: 'allow',
    clientIp: actor.clientIp,
    detail,
  });
}

/** Locks an operation for a change, refusing a state the change does not start from. */
async function lockOperation(trx: Tx, id: number, from: string[]) {
  const op = await trx
    .selectFrom('open_operation')
    .selectAll()
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!op)
    throw new AppError('NOT_FOUND', [{ field: 'id', reason: `operation ${id}`, reasonZh: `授权运营 ${id}` }]);
  if (!from.includes(op.status))
    throw new AppError('CASE_STATE_INVALID', [
      {
        field: 'id',
        reason: `the operation is ${op.status}`,
        reasonZh: `该授权运营当前状态为「${statusZh(op.status, 'openOperationStatus')}」`,
      },
    ]);
  return op;
}

/** The data authority's review (审核): passed on to the government for approval, or rejected. */
export async function reviewOperation(
  ctx: AppContext,
  actor: Actor,
  id: number,
  input: { pass: boolean; comment: string },
) {
  const rule = operationRule(ctx);
  requireAuthorityReviewer(actor);
  const comment = text(input.comment, 'comment', 2, '请填写审核意见', 'write the review comment');
  await inTx(ctx.db, async (trx) => {
    const op = await lockOperation(trx, id, ['submitted']);
    await trx
      .updateTable('open_operation')
      .set({
        status: input.pass ? 'reviewed' : 'rejected',
        reviewed_by: actor.id,
        reviewed_at: ctx.clock.now(),
        review_comment: comment,
      })
      .where('id', '=', id)
      .execute();
    await auditOperation(trx, actor, input.pass ? 'open.operation.review' : 'open.operation.reject', id, {
      article: rule.article,
    });
    await notify(trx, [{ orgIds: [op.org_id], roles: ['data_officer'] }], {
      kind: input.pass ? 'opening.operationReviewed' : 'opening.operationRejected',
      severity: input.pass ? 'info' : 'warning',
      params: { operationId: id, operator: op.operator_name, article: rule.article },
    });
  });
  return getOperation(ctx, actor, id);
}

/** The government's decision on a reviewed application, recorded by the authority with its document reference. */
export async function recordApproval(
  ctx: AppContext,
  actor: Actor,
  id: number,
  input: { approved: boolean; approvalRef: string; approvedOn: string },
) {
  const rule = operationRule(ctx);
  requireAuthorityReviewer(actor);
  const ref = text(
    input.approvalRef,
    'approvalRef',
    2,
    '请填写政府批复文号',
    "give the government's document reference",
  );
  if (input.approvedOn > todayOf(ctx))
    throw new AppError('VALIDATION_FAILED', [
      { field: 'approvedOn', reason: 'the decision date is in the future', reasonZh: '批复日期不能晚于今天' },
    ]);
  await inTx(ctx.db, async (trx) => {
    const op = await lockOperation(trx, id, ['reviewed']);
    await trx
      .updateTable('open_operation')
      .set({
        status: input.approved ? 'approved' : 'rejected',
        approval_ref: ref,
        approved_on: input.approvedOn,
        recorded_by: actor.id,
      })
      .where('id', '=', id)
      .execute();
    await auditOperation(
      trx,
      actor,
      input.approved ? 'open.operation.approve' : 'open.operation.reject',
      id,
      {
        approvalRef: ref,
        approvedOn: input.approvedOn,
        level: 'government',
        article: rule.article,
      },
    );
    await notify(trx, [{ orgIds: [op.org_id], roles: ['data_officer'] }], {
      kind: input.approved ? 'opening.operationApproved' : 'opening.operationRejected',
      severity: input.approved ? 'info' : 'warning',
      params: { operationId: id, operator: op.operator_name, article: rule.article },
    });
  });
  return getOperation(ctx, actor, id);
}

/** The supervising department files what the operator produced (SY Art 40), during the approved term. */
export async function fileProduct(
  ctx: AppContext,
  actor: Actor,
  id: number,
  input: { title: string; description: string },
) {
  const rule = operationRule(ctx);
  const title = text(input.title, 'title', 2, '请填写备案名称', 'give the filing a title');
  const description = text(
    input.description,
    'description',
    4,
    '请描述运营产生的数据（至少 4 个字）',
    'describe it',
  );
  await inTx(ctx.db, async (trx) => {
    const op = await lockOperation(trx, id, ['approved']);
    if (op.org_id !== actor.orgId || !hasRole(actor, 'data_officer'))
      throw new AppError('FORBIDDEN', [
        { reason: 'the supervising department files (SY Art 40)', reasonZh: '由负责监督的政务部门备案' },
      ]);
    const today = todayOf(ctx);
    if (today < op.term_from || today > op.term_to)
      throw new AppError('CASE_STATE_INVALID', [
        {
          field: 'id',
          reason: `outside the approved term ${op.term_from} – ${op.term_to}`,
          reasonZh: `不在批准的运营期限（${op.term_from} 至 ${op.term_to}）内`,
        },
      ]);
    const { id: filingId } = await trx
      .insertInto('open_operation_filing')
      .values({ operation_id: id, filed_by: actor.id, filed_at: ctx.clock.now(), title, description })
      .returning('id')
      .executeTakeFirstOrThrow();
    await auditOperation(trx, actor, 'open.operation.file', id, { filingId, article: rule.filingArticle });
    await notify(trx, [authority], {
      kind: 'opening.operationFiling',
      severity: 'info',
      params: { operationId: id, operator: op.operator_name, article: rule.filingArticle },
    });
  });
  return getOperation(ctx, actor, id);
}

/** The department or the authority ends an approved operation early, with its reason. */
export async function endOperation(ctx: AppContext, actor: Actor, id: number, reason: string) {
  operationRule(ctx);
  const why = text(reason, 'reason', 2, '请写明终止理由', 'state why the operation ends');
  await inTx(ctx.db, async (trx) => {
    const op = await lockOperation(trx, id, ['approved']);
    if (!(isAuthorityReviewer(actor) || (op.org_id === actor.orgId && hasRole(actor, 'data_officer'))))
      throw new AppError('FORBIDDEN', [
        {
          reason: 'the supervising department or the authority',
          reasonZh: '由负责监督的政务部门或数据主管部门终止',
        },
      ]);
    await trx
      .updateTable('open_operation')
      .set({ status: 'ended', ended_at: ctx.clock.now(), end_reason: why })
      .where('id', '=', id)
      .execute();
    await auditOperation(trx, actor, 'open.operation.end', id, {});
  });
  return getOperation(ctx, actor, id);
}

function operationQuery(db: Db) {
  return db
    .selectFrom('open_operation as o')
    .innerJoin('org', 'org.id', 'o.org_id')
    .selectAll('o')
    .select([
      'org.name as org_name',
      sql<number>`(SELECT count(*)::int FROM open_operation_filing f WHERE f.operation_id = o.id)`.as(
        'filings',
      ),
    ]);
}

async function resourceNames(db: Db, ids: number[]) {
  if (!ids.length) return new Map<number, { code: string; name: string }>();
  const rows = await db
    .selectFrom('resource')
    .select(['id', 'code', 'name'])
    .where('id', 'in', ids)
    .execute();
  return new Map(rows.map((r) => [Number(r.id), { code: r.code, name: r.name }]));
}

type OperationRow = Awaited<ReturnType<ReturnType<typeof operationQuery>['executeTakeFirstOrThrow']>>;

async function operationViews(db: Db, rows: OperationRow[]) {
  const names = await resourceNames(db, [...new Set(rows.flatMap((r) => r.resource_ids.map(Number)))]);
  return rows.map((o) => ({
    id: Number(o.id),
    org: { id: Number(o.org_id), name: o.org_name },
    operatorName: o.operator_name,
    operatorCode: o.operator_code,
    resources: o.resource_ids
      .map(Number)
      .map((rid) => ({ id: rid, ...(names.get(rid) ?? { code: '', name: '' }) })),
    scope: o.scope,
    deidentification: o.deidentification,
    termFrom: o.term_from,
    termTo: o.term_to,
    article: o.article,
    status: o.status,
    submittedAt: o.submitted_at,
    reviewedAt: o.reviewed_at,
    reviewComment: o.review_comment,
    approvalRef: o.approval_ref,
    approvedOn: o.approved_on,
    endedAt: o.ended_at,
    endReason: o.end_reason,
    filings: Number(o.filings),
  }));
}

export async function getOperation(ctx: AppContext, actor: Actor, id: number) {
  const o = await operationQuery(ctx.db).where('o.id', '=', id).executeTakeFirst();
  if (!o || !(canSeeAll(actor) || o.org_id === actor.orgId))
    throw new AppError('NOT_FOUND', [{ field: 'id', reason: `operation ${id}`, reasonZh: `授权运营 ${id}` }]);
  const [view] = await operationViews(ctx.db, [o]);
  const filings = await ctx.db
    .selectFrom('open_operation_filing')
    .select(['id', 'title', 'description', 'filed_at'])
    .where('operation_id', '=', id)
    .orderBy('id')
    .execute();
  return {
    ...view,
    filingList: filings.map((f) => ({
      id: Number(f.id),
      title: f.title,
      description: f.description,
      filedAt: f.filed_at,
    })),
    canReview: view.status === 'submitted' && isAuthorityReviewer(actor),
    canRecordApproval: view.status === 'reviewed' && isAuthorityReviewer(actor),
    canFile: view.status === 'approved' && view.org.id === actor.orgId && hasRole(actor, 'data_officer'),
    canEnd:
      view.status === 'approved' &&
      (isAuthorityReviewer(actor) || (view.org.id === actor.orgId && hasRole(actor, 'data_officer'))),
  };
}

export async function listOperations(
  ctx: AppContext,
  actor: Actor,
  f: { page: number; pageSize: number; status?: string },
) {
  operationRule(ctx);
  let q = operationQuery(ctx.db);
  if (!canSeeAll(actor)) q = q.where('o.org_id', '=', actor.orgId);
  if (f.status) q = q.where('o.status', '=', f.status as OperationRow['status']);
  const rows = await q
    .orderBy('o.id', 'desc')
    .limit(f.pageSize + 1)
    .offset((f.page - 1) * f.pageSize)
    .execute();
  return {
    items: await operationViews(ctx.db, rows.slice(0, f.pageSize)),
    hasMore: rows.length > f.pageSize,
  };
}

/** The public list of approved operations (SY Art 39), current and ended. */
export async function publishedOperations(ctx: AppContext) {
  const rule = ctx.profile.opening?.authorisedOperation;
  if (!rule) return { items: [] };
  const rows = await operationQuery(ctx.db)
    .where('o.status', 'in', ['approved', 'ended'])
    .orderBy('o.id', 'desc')
    .limit(200)
    .execute();
  const views = await operationViews(ctx.db, rows);
  return {
    article: rule.article,
    items: views.map((v) => ({
      id: v.id,
      org: v.org.name,
      operatorName: v.operatorName,
      operatorCode: v.operatorCode,
      resources: v.resources.map((r) => r.name),
      scope: v.scope,
      termFrom: v.termFrom,
      termTo: v.termTo,
      approvalRef: v.approvalRef,
      approvedOn: v.approvedOn,
      status: v.status,
      filings: v.filings,
    })),
  };
}

/**
 * The portal's open lists (XT Art 28): per department, the entries approved after the confidentiality review. Where the
 * profile asks the basis of not opening to be public (SY Art 34), each published resource that is not open comes with
 * its basis: the legal basis or share conditions recorded in the catalog, or, honestly, none recorded.
 */
export async function portalOpenLists(ctx: AppContext, listed: { departments: unknown[] }) {
  const lists = { departments: listed.departments, article: ctx.profile.opening?.openList?.article ?? null };
  const rule = ctx.profile.opening?.publishBasis;
  if (!rule) return { ...lists, notOpen: null };
  const closed = await ctx.db
    .selectFrom('resource as r')
    .innerJoin('org', 'org.id', 'r.provider_org_id')
    .select([
      'r.id',
      'r.code',
      'r.name',
      'r.provider_org_id',
      'org.name as org_name',
      'r.legal_basis',
      'r.share_conditions',
    ])
    .where('r.status', '=', 'published')
    .where('r.open_type', '=', 'closed')
    .where('r.catalog_level', 'in', levelsVisibleToAll(ctx.profile))
    .orderBy('r.provider_org_id')
    .orderBy('r.id')
    .limit(2000)
    .execute();
  return {
    ...lists,
    notOpen: {
      article: rule.article,
      items: closed.map((r) => ({
        id: Number(r.id),
        code: r.code,
        name: r.name,
        org: { id: Number(r.provider_org_id), name: r.org_name },
        basis: r.legal_basis?.trim() || r.share_conditions?.trim() || null,
      })),
    },
  };
}

// ---------------------------------------------------------------- re-evaluation (SY Art 37)

/**
 * Open and on-application resources of the caller's department (the authority and auditors: all) with the date their
 * re-evaluation falls due: the last evaluation, or the publication when there is none, plus the configured period.
 * `dueOnly` keeps those due within REEVALUATION_NOTICE_DAYS or overdue.
 */
export async function reevaluations(ctx: AppContext, actor: Actor | null, dueOnly = false) {
  const rule = ctx.profile.opening?.reevaluation;
  const months = ctx.config.openReevaluationMonths;
  if (!rule) return { article: null, months, items: [] };
  // no actor: the reminder job (src/opening/notices.ts), over every department
  const rows = await resourcesDueForReview(ctx, {
    kind: 'open',
    types: ['open', 'onApplication'],
    months,
    orgId: actor && !canSeeAll(actor) ? actor.orgId : null,
  });
  const today = todayOf(ctx);
  const horizon = shanghaiDate(new Date(ctx.clock.now().getTime() + REEVALUATION_NOTICE_DAYS * 86_400_000));
  const items = rows
    .map(({ dueDate, ...r }) => {
      return {
        resource: { id: Number(r.id), name: r.name, code: r.code },
        org: { id: Number(r.provider_org_id), name: r.org_name },
        openType: r.type,
        lastEvaluatedOn: r.last_on,
        dueDate,
        overdue: dueDate < today,
        canRecord: !!actor && Number(r.provider_org_id) === actor.orgId && hasRole(actor, 'data_officer'),
      };
    })
    .filter((x) => !dueOnly || x.dueDate <= horizon)
    .sort((a, b) => a.dueDate.localeCompare(b.dueDate));
  return { article: rule.article, months, items };
}

/** The provider records a re-evaluation (SY Art 37): keep, widen or narrow the opening, with its reasoning. */
export async function recordReevaluation(
  ctx: AppContext,
  actor: Actor,
  input: { resourceId: number; conclusion: 'keep' | 'widen' | 'narrow'; comment: string },
) {
  const rule = ctx.profile.opening?.reevaluation;
  if (!rule)
    throw new AppError('CASE_NOT_IN_PROFILE', [
      {
        field: 'reevaluation',
        reason: 'the active regulation provides no periodic re-evaluation',
        reasonZh: '现行规则未规定定期重新评估',
      },
    ]);
  const comment = text(
    input.comment,
    'comment',
    4,
    '请写明评估意见（至少 4 个字）',
    'write the evaluation (4+ chars)',
  );
  return inTx(ctx.db, async (trx) => {
    const r = await trx
      .selectFrom('resource')
      .select(['id', 'provider_org_id', 'open_type', 'status'])
      .where('id', '=', input.resourceId)
      .executeTakeFirst();
    if (r?.status !== 'published' || !['open', 'onApplication'].includes(r.open_type))
      throw new AppError('NOT_FOUND', [
        {
          field: 'resourceId',
          reason: `open resource ${input.resourceId}`,
          reasonZh: `开放资源 ${input.resourceId}`,
        },
      ]);
    if (r.provider_org_id !== actor.orgId || !hasRole(actor, 'data_officer'))
      throw new AppError('FORBIDDEN', [
        { reason: 'the providing department evaluates (SY Art 37)', reasonZh: '由提供部门进行评估' },
      ]);
    const today = todayOf(ctx);
    const { id } = await trx
      .insertInto('open_evaluation')
      .values({
        resource_id: r.id,
        org_id: r.provider_org_id,
        evaluated_by: actor.id,
        evaluated_on: today,
        open_type: r.open_type,
        conclusion: input.conclusion,
        comment,
        article: rule.article,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'open.reevaluation',
      resourceId: r.id,
      targetType: 'open_evaluation',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { conclusion: input.conclusion, article: rule.article },
    });
    return {
      id: Number(id),
      resourceId: Number(r.id),
      evaluatedOn: today,
      conclusion: input.conclusion,
      nextDue: addMonths(today, ctx.config.openReevaluationMonths),
    };
  });
}

/** The console to-do (src/work): operations waiting for the authority, re-evaluations coming due for a department. */
export async function governanceToDo(ctx: AppContext, actor: Actor) {
  const ops =
    ctx.profile.opening?.authorisedOperation && isAuthorityReviewer(actor)
      ? await operationViews(
          ctx.db,
          await operationQuery(ctx.db)
            .where('o.status', 'in', ['submitted', 'reviewed'])
            .orderBy('o.id')
            .limit(200)
            .execute(),
        )
      : [];
  const due = hasRole(actor, 'data_officer')
    ? (await reevaluations(ctx, actor, true)).items.filter((x) => x.canRecord)
    : [];
  return { operations: ops, reevaluations: due };
}
