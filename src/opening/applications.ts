import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import {
  addDays,
  dueDate,
  endOfShanghaiDay,
  shanghaiDate,
  type WorkdayCalendar,
  workdaysBetween,
} from '../calendar/model.js';
import { currentCalendar } from '../calendar/service.js';
import { levelsVisibleToAll } from '../catalog/model.js';
import type { Actor, AppContext } from '../context.js';
import { hasRole } from '../context.js';
import { inTx, type Tx } from '../db/index.js';
import { notify } from '../notify/service.js';
import type { OpenRequestStatement } from '../profiles/model.js';
import { AppError, type ErrorDetail } from '../shared/errors.js';
import { deadlineAction } from '../sharing/model.js';
import type { OpenAccount, OpenPrincipal } from './accounts.js';
import { assertOpenAccess } from './governance.js';
import { isListedOpen } from './model.js';
import { noticeAccount } from './notices.js';
import type { OpenApplicationStatus } from './schema.js';
import * as store from './store.js';

/*
 * On-application open data (依申请开放, issue 11 point 4). A public account applies for an on-application dataset
 * stating what the profile's `opening.requestMustState` lists (SY Art 34: purpose, scenario and security measures;
 * XT Art 30: the purpose); the provider department's data officer answers within `opening.onApplicationReply`
 * (SY Art 34: 10 calendar days, moved to the next working day when the last one is a holiday — 民法典 Art 203, through
 * the calendar module; a profile without it sets no due date). A refusal carries its reason. An approval is a grant
 * of the dataset to that account until `grant_until`, for the stated purpose only (XT Art 30): every data call names
 * it, a call naming another purpose is refused and audited. A refused applicant may ask for review (SY Art 47(7)),
 * which the data authority decides. The deadline ticker (tickOpening, run with the sharing ticker) reminds the
 * department one working day before and on the due day, and after it tells it the application is overdue and puts
 * it before the authority (escalation), once each (open_application_event).
 */

/** pending applications one account may have at a time (bounds what an applicant can make a department hold) */
export const MAX_PENDING = 20;
/** the longest grant an approval may give, in days */
export const MAX_GRANT_DAYS = 366;
export const DEFAULT_GRANT_DAYS = 180;

const GRANTED: OpenApplicationStatus[] = ['approved', 'reviewApproved'];

const STATEMENT_FIELDS: Record<OpenRequestStatement, { field: string; en: string; zh: string }> = {
  purpose: { field: 'purpose', en: 'the purpose', zh: '用途' },
  scenario: { field: 'scenario', en: 'the use scenario', zh: '应用场景' },
  securityMeasures: { field: 'securityMeasures', en: 'the security measures', zh: '安全保障措施' },
};

/** What the profile says an application must state; a profile without an opening section asks for the purpose. */
export function requiredStatements(ctx: AppContext): OpenRequestStatement[] {
  return ctx.profile.opening?.requestMustState ?? ['purpose'];
}

export function statementProblems(
  ctx: AppContext,
  input: { purpose?: string; scenario?: string; securityMeasures?: string },
): ErrorDetail[] {
  const article = ctx.profile.opening?.article ?? 'SY Art 34';
  return requiredStatements(ctx)
    .filter((s) => (input[s] ?? '').trim().length < 4)
    .map((s) => ({
      field: STATEMENT_FIELDS[s].field,
      reason: `state ${STATEMENT_FIELDS[s].en} (at least 4 characters; ${article})`,
      reasonZh: `请说明${STATEMENT_FIELDS[s].zh}（不少于 4 个字，${article}）`,
    }));
}

const today = (ctx: AppContext) => shanghaiDate(ctx.clock.now());

export interface ApplicationInput {
  resourceId: number;
  purpose: string;
  scenario?: string;
  securityMeasures?: string;
}

export async function apply(
  ctx: AppContext,
  account: OpenAccount,
  clientIp: string,
  input: ApplicationInput,
) {
  await assertOpenAccess(ctx, account.id, 'call'); // a restricted or closed account applies no more (XT Art 33)
  const r = await store.getResource(ctx.db, input.resourceId);
  if (!r || !isListedOpen(r, levelsVisibleToAll(ctx.profile)))
    throw new AppError('OPEN_DATASET_NOT_FOUND', [
      { field: 'resourceId', reason: `dataset ${input.resourceId}`, reasonZh: `数据集 ${input.resourceId}` },
    ]);
  if (r.open_type !== 'onApplication')
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'resourceId',
        reason: 'this dataset is open without application (SY Art 33): download it or call its API directly',
        reasonZh: '该数据集为无条件开放（SY Art 33），无需申请，可直接下载或调用接口',
      },
    ]);
  const problems = statementProblems(ctx, input);
  if (problems.length) throw new AppError('VALIDATION_FAILED', problems);
  const cal = await currentCalendar(ctx);
  const filedOn = today(ctx);
  const deadline = ctx.profile.opening?.onApplicationReply;
  const due = deadline ? dueDate(cal, filedOn, deadline) : null;
  const article = ctx.profile.opening?.article ?? null;
  return inTx(ctx.db, async (trx) => {
    // one account's applications are serialised, so the bounds below hold under concurrent submissions
    await trx.selectFrom('open_account').select('id').where('id', '=', account.id).forUpdate().execute();
    const pending = await trx
      .selectFrom('open_application')
      .select(['id', 'resource_id'])
      .where('account_id', '=', account.id)
      .where('status', 'in', ['pending', 'reviewPending'])
      .execute();
    if (pending.some((p) => Number(p.resource_id) === r.id))
      throw new AppError('CONFLICT', [
        {
          field: 'resourceId',
          reason: 'an application for this dataset is already waiting for an answer',
          reasonZh: '您对该数据集的申请正在办理中，请勿重复申请',
        },
      ]);
    if (pending.length >= MAX_PENDING)
      throw new AppError('CONFLICT', [
        {
          reason: `at most ${MAX_PENDING} applications may wait for an answer at a time`,
          reasonZh: `同时办理中的申请最多 ${MAX_PENDING} 件`,
        },
      ]);
    const row = await trx
      .insertInto('open_application')
      .values({
        account_id: account.id,
        resource_id: r.id,
        provider_org_id: r.provider_org_id,
        purpose: input.purpose.trim(),
        scenario: (input.scenario ?? '').trim(),
        security_measures: (input.securityMeasures ?? '').trim(),
        filed_on: filedOn,
        filed_at: ctx.clock.now(),
        due_date: due,
        article,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = Number(row.id);
    await appendAudit(trx, {
      action: 'open.apply',
      decision: 'allow',
      resourceId: r.id,
      targetType: 'open_application',
      targetId: id,
      purpose: input.purpose.trim().slice(0, 500),
      clientIp: clientIp.slice(0, 64),
      detail: { openAccountId: account.id, dueDate: due, article },
    });
    await notify(trx, [{ orgIds: [r.provider_org_id], roles: ['data_officer'] }], {
      kind: due ? 'opening.applicationFiled' : 'opening.applicationFiledNoDeadline',
      severity: 'info',
      params: { applicationId: id, resource: r.name, dueDate: due, article },
      resourceId: r.id,
    });
    return getForAccount(trx, ctx, cal, account.id, id);
  });
}

type AppRow = Awaited<ReturnType<typeof loadRows>>[number];

function loadRows(
  db: Tx | AppContext['db'],
  where: { id?: number; accountId?: number; orgId?: number; statuses?: OpenApplicationStatus[] },
) {
  let q = db
    .selectFrom('open_application as a')
    .leftJoin('resource as r', 'r.id', 'a.resource_id')
    .leftJoin('org as o', 'o.id', 'a.provider_org_id')
    .leftJoin('open_account as u', 'u.id', 'a.account_id')
    .selectAll('a')
    .select([
      'r.name as resource_name',
      'o.name as provider_name',
      'u.display_name as applicant_name',
      'u.account_type as applicant_type',
    ]);
  if (where.id !== undefined) q = q.where('a.id', '=', where.id);
  if (where.accountId !== undefined) q = q.where('a.account_id', '=', where.accountId);
  if (where.orgId !== undefined) q = q.where('a.provider_org_id', '=', where.orgId);
  if (where.statuses) q = q.where('a.status', 'in', where.statuses);
  return q.orderBy('a.id', 'desc').limit(200).execute();
}

function viewOf(a: AppRow, cal: WorkdayCalendar, on: string, forStaff: boolean) {
  const overdue = a.status === 'pending' && a.due_date !== null && on > a.due_date;
  const granted = GRANTED.includes(a.status) && a.grant_until !== null;
  return {
    id: Number(a.id),
    dataset: { id: Number(a.resource_id), title: a.resource_name ?? '' },
    department: { id: Number(a.provider_org_id), name: a.provider_name ?? '' },
    purpose: a.purpose,
    scenario: a.scenario,
    securityMeasures: a.security_measures,
    status: a.status,
    filedOn: a.filed_on,
    dueDate: a.due_date,
    overdue,
    workdaysLeft:
      a.status === 'pending' && a.due_date && !overdue ? workdaysBetween(cal, on, a.due_date) : null,
    article: a.article,
    reason: a.reason,
    decidedAt: a.decided_at,
    grantUntil: a.grant_until,
    grantActive: granted && a.grant_until! >= on,
    reviewReason: a.review_reason,
    reviewComment: a.review_comment,
    escalatedOn: a.escalated_on,
    ...(forStaff ? { applicant: { name: a.applicant_name ?? '', type: a.applicant_type } } : {}),
  };
}

async function getForAccount(
  db: Tx | AppContext['db'],
  ctx: AppContext,
  cal: WorkdayCalendar,
  accountId: number,
  id: number,
) {
  const [a] = await loadRows(db, { id, accountId });
  if (!a)
    throw new AppError('NOT_FOUND', [{ field: 'id', reason: `application ${id}`, reasonZh: `申请 ${id}` }]);
  return viewOf(a, cal, today(ctx), false);
}

/** "我的申请": the account's applications, their state and due date. */
export async function myApplications(ctx: AppContext, account: OpenAccount) {
  const cal = await currentCalendar(ctx);
  const rows = await loadRows(ctx.db, { accountId: account.id });
  return { items: rows.map((a) => viewOf(a, cal, today(ctx), false)) };
}

function isAuthority(actor: Actor) {
  return actor.orgKind === 'authority' && hasRole(actor, 'authority_reviewer', 'platform_admin');
}

/** The console list: a department's data officers see theirs; the authority sees all (reviews and escalations). */
export async function departmentApplications(ctx: AppContext, actor: Actor, status?: OpenApplicationStatus) {
  const authority = isAuthority(actor);
  if (!authority && !hasRole(actor, 'data_officer')) throw new AppError('FORBIDDEN');
  const cal = await currentCalendar(ctx);
  const rows = await loadRows(ctx.db, {
    orgId: authority ? undefined : actor.orgId,
    statuses: status ? [status] : undefined,
  });
  const on = today(ctx);
  return {
    items: rows.map((a) => ({
      ...viewOf(a, cal, on, true),
      canDecide: canDecide(actor, a),
      canReview: canReview(actor, a),
    })),
  };
}

/** One application as the console sees it (after a decision). */
async function staffView(ctx: AppContext, actor: Actor, id: number) {
  const cal = await currentCalendar(ctx);
  const [a] = await loadRows(ctx.db, { id });
  return {
    ...viewOf(a, cal, today(ctx), true),
    canDecide: canDecide(actor, a),
    canReview: canReview(actor, a),
  };
}

function canDecide(actor: Actor, a: { status: string; provider_org_id: number }) {
  return (
    a.status === 'pending' && hasRole(actor, 'data_officer') && actor.orgId === Number(a.provider_org_id)
  );
}
function canReview(actor: Actor, a: { status: string }) {
  return a.status === 'reviewPending' && isAuthority(actor) && hasRole(actor, 'authority_reviewer');
}

function grantDays(days: number | undefined): number {
  return Math.min(Math.max(Math.trunc(days ?? DEFAULT_GRANT_DAYS), 1), MAX_GRANT_DAYS);
}

async function lockRow(trx: Tx, id: number) {
  const a = await trx
    .selectFrom('open_application')
    .selectAll()
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!a)
    throw new AppError('NOT_FOUND', [{ field: 'id', reason: `application ${id}`, reasonZh: `申请 ${id}` }]);
  return a;
}

function reasonRequired(article: string | null) {
  return new AppError('VALIDATION_FAILED', [
    {
      field: 'reason',
      reason: `a refusal states its reason (${article ?? 'SY Art 34'})`,
      reasonZh: `不予开放须说明理由（${article ?? 'SY Art 34'}）`,
    },
  ]);
}

async function resourceName(trx: Tx, resourceId: number | string): Promise<string> {
  const r = await trx
    .selectFrom('resource')
    .select('name')
    .where('id', '=', Number(resourceId))
    .executeTakeFirst();
  return r?.name ?? '';
}

/** The provider department's data officer approves (with a grant period) or refuses (with a reason). */
export async function decide(
  ctx: AppContext,
  actor: Actor,
  id: number,
  input: { decision: 'approve' | 'refuse'; reason?: string; grantDays?: number },
) {
  const on = today(ctx);
  await inTx(ctx.db, async (trx) => {
    const a = await lockRow(trx, id);
    if (!hasRole(actor, 'data_officer') || actor.orgId !== Number(a.provider_org_id))
      throw new AppError('FORBIDDEN', [
        {
          reason: "only a data officer of the dataset's department answers",
          reasonZh: '仅数据提供部门的数据专员可答复',
        },
      ]);
    if (a.status !== 'pending')
      throw new AppError('OPEN_APPLICATION_STATE_INVALID', [
        { field: 'id', reason: `the application is ${a.status}`, reasonZh: '该申请已答复' },
      ]);
    const reason = (input.reason ?? '').trim();
    if (input.decision === 'refuse' && reason.length < 2) throw reasonRequired(a.article);
    const until = input.decision === 'approve' ? addDays(on, grantDays(input.grantDays)) : null;
    await trx
      .updateTable('open_application')
      .set({
        status: input.decision === 'approve' ? 'approved' : 'refused',
        decided_by: actor.id,
        decided_at: ctx.clock.now(),
        reason: reason || null,
        grant_until: until,
      })
      .where('id', '=', id)
      .execute();
    await appendAudit(trx, {
      action: input.decision === 'approve' ? 'open.application.approve' : 'open.application.refuse',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      resourceId: Number(a.resource_id),
      targetType: 'open_application',
      targetId: id,
      purpose: a.purpose,
      clientIp: actor.clientIp,
      detail: {
        reason: reason || null,
        grantUntil: until,
        dueDate: a.due_date,
        late: a.due_date !== null && on > a.due_date,
      },
    });
    await noticeAccount(
      trx,
      Number(a.account_id),
      input.decision === 'approve' ? 'applicationApproved' : 'applicationRefused',
      { applicationId: id, resource: await resourceName(trx, a.resource_id), grantUntil: until, reason },
      id,
    );
  });
  return staffView(ctx, actor, id);
}

/** SY Art 47(7): a refused applicant asks the data authority to review the refusal. */
export async function requestReview(
  ctx: AppContext,
  account: OpenAccount,
  clientIp: string,
  id: number,
  reasonText: string,
) {
  const cal = await currentCalendar(ctx);
  return inTx(ctx.db, async (trx) => {
    const a = await lockRow(trx, id);
    if (Number(a.account_id) !== account.id)
      throw new AppError('NOT_FOUND', [{ field: 'id', reason: `application ${id}`, reasonZh: `申请 ${id}` }]);
    if (a.status !== 'refused')
      throw new AppError('OPEN_APPLICATION_STATE_INVALID', [
        {
          field: 'id',
          reason: 'only a refused application can be reviewed',
          reasonZh: '仅被拒绝的申请可申请复核',
        },
      ]);
    await trx
      .updateTable('open_application')
      .set({ status: 'reviewPending', review_reason: reasonText.trim(), review_filed_on: today(ctx) })
      .where('id', '=', id)
      .execute();
    const r = await trx
      .selectFrom('resource')
      .select('name')
      .where('id', '=', a.resource_id)
      .executeTakeFirst();
    await appendAudit(trx, {
      action: 'open.application.reviewRequest',
      decision: 'allow',
      resourceId: Number(a.resource_id),
      targetType: 'open_application',
      targetId: id,
      clientIp: clientIp.slice(0, 64),
      detail: { openAccountId: account.id, article: 'SY Art 47' },
    });
    await notify(trx, [{ roles: ['authority_reviewer'], anyOrg: true }], {
      kind: 'opening.reviewRequested',
      severity: 'warning',
      params: { applicationId: id, resource: r?.name ?? '', article: 'SY Art 47' },
      resourceId: Number(a.resource_id),
    });
    return getForAccount(trx, ctx, cal, account.id, id);
  });
}

/** The authority decides a review: the refusal stands (upheld) or is overturned into a grant. */
export async function decideReview(
  ctx: AppContext,
  actor: Actor,
  id: number,
  input: { decision: 'approve' | 'uphold'; comment: string; grantDays?: number },
) {
  const on = today(ctx);
  await inTx(ctx.db, async (trx) => {
    const a = await lockRow(trx, id);
    if (!isAuthority(actor) || !hasRole(actor, 'authority_reviewer'))
      throw new AppError('FORBIDDEN', [
        {
          reason: 'the data authority reviews refusals (SY Art 47)',
          reasonZh: '由数据主管部门复核（SY Art 47）',
        },
      ]);
    if (a.status !== 'reviewPending')
      throw new AppError('OPEN_APPLICATION_STATE_INVALID', [
        { field: 'id', reason: 'no review is pending', reasonZh: '该申请没有待复核事项' },
      ]);
    const until = input.decision === 'approve' ? addDays(on, grantDays(input.grantDays)) : null;
    await trx
      .updateTable('open_application')
      .set({
        status: input.decision === 'approve' ? 'reviewApproved' : 'reviewUpheld',
        review_decided_by: actor.id,
        review_decided_at: ctx.clock.now(),
        review_comment: input.comment.trim(),
        grant_until: until,
      })
      .where('id', '=', id)
      .execute();
    await appendAudit(trx, {
      action: 'open.application.review',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      resourceId: Number(a.resource_id),
      targetType: 'open_application',
      targetId: id,
      clientIp: actor.clientIp,
      detail: { outcome: input.decision, grantUntil: until, article: 'SY Art 47' },
    });
    await noticeAccount(
      trx,
      Number(a.account_id),
      input.decision === 'approve' ? 'reviewApproved' : 'reviewUpheld',
      {
        applicationId: id,
        resource: await resourceName(trx, a.resource_id),
        grantUntil: until,
        comment: input.comment.trim(),
      },
      id,
    );
  });
  return staffView(ctx, actor, id);
}

/** A purpose as sent in X-Purpose / ?purpose= (percent-encoded or plain), trimmed. */
export function purposeOf(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2000) return null;
  let s = raw;
  try {
    s = decodeURIComponent(raw);
  } catch {
    // plain text
  }
  return s.trim() || null;
}

/**
 * XT Art 30 / SY Art 34: data of an on-application dataset goes only to an account holding an unexpired approved
 * application for it, and only for the purpose that was approved. Refusals are audited here with what was asked.
 */
export async function checkGrant(
  ctx: AppContext,
  principal: OpenPrincipal | null,
  resourceId: number,
  purpose: string | null,
  clientIp: string | null,
): Promise<{ applicationId: number; purpose: string }> {
  const deny = async (
    code: 'OPEN_APPLICATION_REQUIRED' | 'OPEN_PURPOSE_MISMATCH',
    detail: Record<string, unknown>,
    d: ErrorDetail,
  ) => {
    await appendAudit(ctx.db, {
      action: 'open.grant.check',
      decision: 'deny',
      resourceId,
      targetType: 'resource',
      targetId: resourceId,
      purpose: purpose ? purpose.slice(0, 500) : null,
      clientIp: clientIp ? clientIp.slice(0, 64) : null,
      detail: {
        code,
        openAccountId: principal?.accountId ?? null,
        keyId: principal?.keyId ?? null,
        ...detail,
      },
    });
    return new AppError(code, [d]).alreadyAudited();
  };
  const article = ctx.profile.opening?.article ?? 'SY Art 34';
  if (!principal)
    throw await deny(
      'OPEN_APPLICATION_REQUIRED',
      {},
      {
        field: 'X-Api-Key',
        reason: `open on application (${article}): call with the open API key of an account whose application was approved`,
        reasonZh: `依申请开放（${article}）：请使用申请已获批准的账号的开放接口密钥调用`,
      },
    );
  const on = today(ctx);
  const grants = await ctx.db
    .selectFrom('open_application')
    .select(['id', 'purpose', 'grant_until'])
    .where('account_id', '=', principal.accountId)
    .where('resource_id', '=', resourceId)
    .where('status', 'in', GRANTED)
    .where('grant_until', '>=', on)
    .execute();
  if (!grants.length)
    throw await deny(
      'OPEN_APPLICATION_REQUIRED',
      {},
      {
        field: 'id',
        reason: `no approved, unexpired application of this account for the dataset (${article})`,
        reasonZh: `该账号对此数据集没有已批准且在有效期内的申请（${article}）`,
      },
    );
  const match = purpose ? grants.find((g) => g.purpose === purpose || String(g.id) === purpose) : undefined;
  if (!match)
    throw await deny(
      'OPEN_PURPOSE_MISMATCH',
      { approved: grants.map((g) => Number(g.id)) },
      {
        field: 'X-Purpose',
        reason:
          'name the approved purpose (its text, percent-encoded, or the application number) in X-Purpose; use must match it (XT Art 30)',
        reasonZh:
          '请在 X-Purpose 中填写获批申请的用途原文（百分号编码）或申请编号；使用须与申请用途一致（XT Art 30）',
      },
    );
  return { applicationId: Number(match.id), purpose: match.purpose };
}

type EventKind = 'dueSoon' | 'dueToday' | 'overdue' | 'escalated';

/**
 * The opening deadlines on the sharing ticker (tickDeadlines calls this): reminders before and on the due day, then
 * overdue + escalation to the authority, each once per application (open_application_event). Dates decide, not run
 * times: a platform off over the deadline acts on its first tick.
 */
export async function tickOpening(ctx: AppContext): Promise<number> {
  const on = today(ctx);
  const cal = await currentCalendar(ctx);
  const rows = await ctx.db
    .selectFrom('open_application')
    .select(['id', 'due_date'])
    .where('status', '=', 'pending')
    .where('due_date', 'is not', null)
    .orderBy('due_date')
    .limit(5000)
    .execute();
  let n = 0;
  for (const r of rows) {
    const due = r.due_date!;
    const action = deadlineAction(due, on, due >= on ? workdaysBetween(cal, on, due) : 0, 'escalate');
    if (!action) continue;
    n += await inTx(ctx.db, async (trx) => {
      const a = await lockRow(trx, Number(r.id));
      if (a.status !== 'pending') return 0;
      const res = await trx
        .selectFrom('resource')
        .select('name')
        .where('id', '=', a.resource_id)
        .executeTakeFirst();
      const params = {
        applicationId: Number(a.id),
        resource: res?.name ?? '',
        dueDate: due,
        article: a.article,
      };
      const once = async (kind: EventKind) =>
        (await trx
          .insertInto('open_application_event')
          .values({ application_id: Number(a.id), kind, on_date: on })
          .onConflict((oc) => oc.doNothing())
          .returning('kind')
          .executeTakeFirst()) !== undefined;
      const provider = [{ orgIds: [Number(a.provider_org_id)], roles: ['data_officer' as const] }];
      let acted = 0;
      if (action === 'dueSoon' || action === 'dueToday') {
        if (await once(action)) {
          await notify(trx, provider, {
            kind: action === 'dueSoon' ? 'opening.dueSoon' : 'opening.dueToday',
            severity: action === 'dueSoon' ? 'info' : 'warning',
            params,
            resourceId: Number(a.resource_id),
          });
          acted++;
        }
        return acted;
      }
      if (await once('overdue')) {
        await notify(trx, provider, {
          kind: 'opening.overdue',
          severity: 'warning',
          params,
          resourceId: Number(a.resource_id),
        });
        acted++;
      }
      if (await once('escalated')) {
        const escalatedOn = addDays(due, 1);
        await trx
          .updateTable('open_application')
          .set({ escalated_on: sql<string>`coalesce(escalated_on, ${escalatedOn}::date)` })
          .where('id', '=', a.id)
          .execute();
        await appendAudit(trx, {
          action: 'open.application.escalate',
          decision: 'allow',
          actorOrgId: Number(a.provider_org_id),
          resourceId: Number(a.resource_id),
          targetType: 'open_application',
          targetId: Number(a.id),
          detail: {
            dueDate: due,
            deadlineEnded: endOfShanghaiDay(due).toISOString(),
            article: a.article,
            escalatedOn,
          },
        });
        await notify(trx, [{ roles: ['authority_reviewer'], anyOrg: true }], {
          kind: 'opening.escalated',
          severity: 'warning',
          params,
          resourceId: Number(a.resource_id),
        });
        acted++;
      }
      return acted;
    });
  }
  return n;
}

/** The console to-do (src/work): applications waiting for this person's answer or review. */
export async function applicationsToDo(ctx: AppContext, actor: Actor) {
  if (!hasRole(actor, 'data_officer', 'authority_reviewer')) return [];
  const list = await departmentApplications(ctx, actor).catch(() => ({ items: [] as never[] }));
  return list.items.filter((a) => a.canDecide || a.canReview);
}
