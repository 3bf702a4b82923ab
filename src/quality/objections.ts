/**
 * Objections (疑义/异议, issue 12 point 1). A consumer department or the authority flags a record (by key), a field or a
 * whole resource as wrong, missing or stale, with a description and evidence; the provider verifies within the active
 * profile's deadline (`quality.objectionDeadline`, counted in working days by the one calendar: DG Art 28 10 WD, NY task
 * 8 5 WD; GD Art 21 and XT Art 21 set none, so the objection carries no due date but must still be answered), may pause
 * the clock for testing, inspection, appraisal or expert review where the profile excludes that time
 * (`quality.objectionExcludesExpertTime`, DG Art 28) and resumes it — the due date moves by the paused working days —
 * and resolves it: corrected (the correction is an ingest batch of the same resource, linked) or rejected with a
 * reason. The objector is told of every outcome. One use case = one transaction, audited, notifications inside it.
 */
import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { dueDate as computeDueDate, shanghaiDate, workdaysBetween } from '../calendar/model.js';
import { currentCalendar } from '../calendar/service.js';
import type { Masking } from '../catalog/model.js';
import type { Actor, AppContext } from '../context.js';
import { maskValue } from '../dataapi/masking.js';
import { type Db, inTx, type Tx } from '../db/index.js';
import { type NotificationKind, notify, type Recipients } from '../notify/service.js';
import { AppError } from '../shared/errors.js';
import {
  canRaiseObjection,
  canSeeObjection,
  canVerifyObjection,
  movedDueDate,
  nextStatus,
  type OBJECTION_PROBLEMS,
  type OBJECTION_TARGETS,
  type ObjectionAction,
  type ObjectionStatus,
  OPEN_OBJECTION,
  pausedWorkdays,
  seesAllObjections,
} from './model.js';

export interface NewObjection {
  resourceId: number;
  target: (typeof OBJECTION_TARGETS)[number];
  recordKey?: string | null;
  fieldCode?: string | null;
  problem: (typeof OBJECTION_PROBLEMS)[number];
  description: string;
  evidence?: string | null;
}

export interface ObjectionActInput {
  action: ObjectionAction;
  /** pause: why the clock stops (the test, inspection, appraisal or expert review); reject: why the data stands */
  reason?: string | null;
  /** correct: what was corrected */
  resolution?: string | null;
  /** correct: the ingest batch that carried the correction */
  batchId?: number | null;
}

const todayOf = (ctx: AppContext) => shanghaiDate(ctx.clock.now());

async function audit(
  trx: Tx,
  actor: Actor,
  action: string,
  o: { id: number; resource_id: number },
  detail: Record<string, unknown>,
) {
  await appendAudit(trx, {
    actorUserId: actor.id,
    actorOrgId: actor.orgId,
    action,
    resourceId: o.resource_id,
    targetType: 'quality_objection',
    targetId: o.id,
    decision: 'allow',
    clientIp: actor.clientIp,
    detail,
  });
}

const invalid = (field: string, reason: string, reasonZh: string) =>
  new AppError('VALIDATION_FAILED', [{ field, reason, reasonZh }]);

export async function raiseObjection(ctx: AppContext, actor: Actor, input: NewObjection) {
  const cal = await currentCalendar(ctx);
  const q = ctx.profile.quality;
  return inTx(ctx.db, async (trx) => {
    const resource = await trx
      .selectFrom('resource')
      .select(['id', 'name', 'provider_org_id', 'status', 'catalog_level'])
      .where('id', '=', input.resourceId)
      .executeTakeFirst();
    if (resource?.status !== 'published') throw new AppError('RESOURCE_NOT_PUBLISHED');
    // DG Art 11: a section-level entry is not seen outside its department, so nobody outside it objects to it
    if (resource.catalog_level === 'section' && !seesAllObjections(actor))
      throw new AppError('RESOURCE_NOT_PUBLISHED');
    if (!canRaiseObjection(actor, resource.provider_org_id)) throw new AppError('FORBIDDEN');
    const recordKey = input.target === 'record' ? (input.recordKey ?? '').trim() : null;
    const fieldCode = input.target === 'field' ? (input.fieldCode ?? '').trim() : null;
    if (input.target === 'record' && !recordKey)
      throw invalid('recordKey', 'a record objection names the record key', '针对记录的异议须填写记录主键');
    if (input.target === 'field') {
      if (!fieldCode)
        throw invalid('fieldCode', 'a field objection names the field', '针对信息项的异议须选择信息项');
      const f = await trx
        .selectFrom('resource_field')
        .select('code')
        .where('resource_id', '=', resource.id)
        .where('code', '=', fieldCode)
        .executeTakeFirst();
      if (!f) throw invalid('fieldCode', 'no such field in this resource', '该资源没有此信息项');
    }
    const now = ctx.clock.now();
    const today = shanghaiDate(now);
    const due = q.objectionDeadline ? computeDueDate(cal, today, q.objectionDeadline) : null;
    const floor = await trx
      .selectFrom('ingest_batch')
      .select(sql<number>`coalesce(max(id), 0)::bigint`.as('id'))
      .where('resource_id', '=', resource.id)
      .executeTakeFirstOrThrow();
    const row = await trx
      .insertInto('quality_objection')
      .values({
        resource_id: resource.id,
        provider_org_id: resource.provider_org_id,
        target: input.target,
        record_key: recordKey,
        field_code: fieldCode,
        problem: input.problem,
        description: input.description,
        evidence: input.evidence?.trim() || null,
        objector_user_id: actor.id,
        objector_org_id: actor.orgId,
        raised_on: today,
        raised_at: now,
        due_date: due,
        due_provisional: due ? !cal.isYearKnown(Number(due.slice(0, 4))) : false,
        deadline_article: q.objectionArticle ?? null,
        excludes_expert_time: q.objectionExcludesExpertTime === true,
        batch_floor: Number(floor.id),
      })
      .returning(['id', 'resource_id'])
      .executeTakeFirstOrThrow();
    await event(trx, row.id, 'raised', today, due, actor.id, null, now);
    await tell(trx, [provider(resource.provider_org_id)], 'quality.objectionRaised', 'warning', {
      objectionId: row.id,
      resource: resource.name,
      dueDate: due,
      article: q.objectionArticle ?? null,
      resourceId: resource.id,
    });
    await audit(trx, actor, 'quality.objection_raised', row, {
      target: input.target,
      field: fieldCode,
      problem: input.problem,
      dueDate: due,
      article: q.objectionArticle ?? null,
    });
    return getObjectionIn(ctx, trx, actor, row.id);
  });
}

const provider = (orgId: number): Recipients => ({ orgIds: [orgId], roles: ['data_officer'] });
const objector = (o: { objector_org_id: number }): Recipients => ({
  orgIds: [o.objector_org_id],
  roles: ['data_officer', 'consumer_staff', 'authority_reviewer', 'platform_admin'],
});

async function tell(
  trx: Tx,
  to: Recipients[],
  kind: NotificationKind,
  severity: 'info' | 'warning' | 'critical',
  params: Record<string, unknown> & { resourceId: number },
) {
  const { resourceId, ...rest } = params;
  await notify(trx, to, { kind, severity, params: rest, resourceId });
}

export async function event(
  trx: Tx,
  objectionId: number,
  kind: string,
  onDate: string,
  due: string | null,
  actorUserId: number | null,
  text: string | null,
  at: Date,
): Promise<boolean> {
  const r = await trx
    .insertInto('quality_objection_event')
    .values({
      objection_id: objectionId,
      kind,
      on_date: onDate,
      due_date: due,
      actor_user_id: actorUserId,
      text,
      at,
    })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  return r !== undefined;
}

const OUTCOME_KIND: Partial<Record<ObjectionAction, NotificationKind>> = {
  pause: 'quality.objectionPaused',
  resume: 'quality.objectionResumed',
  correct: 'quality.objectionCorrected',
  reject: 'quality.objectionRejected',
};

/** The provider's answer: start verifying, pause / resume the clock (DG Art 28), resolve as corrected or rejected. */
export async function actOnObjection(ctx: AppContext, actor: Actor, id: number, input: ObjectionActInput) {
  const cal = await currentCalendar(ctx);
  return inTx(ctx.db, async (trx) => {
    const o = await trx
      .selectFrom('quality_objection')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!o || !canSeeObjection(actor, { providerOrgId: o.provider_org_id, objectorOrgId: o.objector_org_id }))
      throw new AppError('NOT_FOUND');
    if (!canVerifyObjection(actor, o.provider_org_id)) throw new AppError('FORBIDDEN');
    const to = nextStatus(o.status as ObjectionStatus, input.action);
    if (!to)
      throw new AppError('OBJECTION_STATE_INVALID', [
        {
          field: 'action',
          reason: `cannot ${input.action} an objection that is ${o.status}`,
          reasonZh: '异议当前状态不允许此操作',
        },
      ]);
    const now = ctx.clock.now();
    const today = shanghaiDate(now);
    const reason = input.reason?.trim() || null;
    const set: Record<string, unknown> = { status: to };
    let due = o.due_date;
    let paused = 0;
    if (input.action === 'pause') {
      if (!o.excludes_expert_time)
        throw new AppError('OBJECTION_PAUSE_NOT_ALLOWED', [
          {
            field: 'action',
            reason: `${o.deadline_article ?? 'the regulation'} does not exclude testing or expert time from the deadline`,
            reasonZh: `${o.deadline_article ?? '本地规章'}未规定检测、鉴定或专家评审时间不计入核实期限`,
          },
        ]);
      if (!reason)
        throw invalid(
          'reason',
          'a pause names the test, inspection, appraisal or expert review',
          '暂停计时须说明检测、检验、鉴定或专家评审事由',
        );
      Object.assign(set, { paused_on: today, pause_reason: reason });
    }
    if (input.action === 'resume' || (o.status === 'paused' && to !== 'paused')) {
      paused = o.paused_on ? pausedWorkdays(cal, o.paused_on, today) : 0;
      if (due) due = movedDueDate(cal, due, paused);
      Object.assign(set, {
        paused_on: null,
        paused_workdays: o.paused_workdays + paused,
        due_date: due,
        due_provisional: due ? !cal.isYearKnown(Number(due.slice(0, 4))) : false,
      });
    }
    if (input.action === 'reject' && !reason)
      throw invalid('reason', 'a rejection gives its reason', '不予更正须说明理由');
    if (input.action === 'correct') {
      if (!input.resolution?.trim()) throw invalid('resolution', 'say what was corrected', '须说明更正情况');
      if (input.batchId != null) {
        const b = await trx
          .selectFrom('ingest_batch')
          .select(['id', 'resource_id', 'status'])
          .where('id', '=', input.batchId)
          .executeTakeFirst();
        if (!b || Number(b.resource_id) !== Number(o.resource_id) || b.status !== 'committed')
          throw invalid(
            'batchId',
            'the correction is a committed import of the same resource',
            '更正须关联本资源已入库的导入批次',
          );
        if (Number(b.id) <= Number(o.batch_floor))
          throw invalid('batchId', 'the import predates the objection', '关联的导入批次早于异议提出时间');
      }
    }
    if (input.action === 'correct' || input.action === 'reject')
      Object.assign(set, {
        resolution: input.action === 'correct' ? input.resolution?.trim() : reason,
        batch_id: input.action === 'correct' ? (input.batchId ?? null) : null,
        resolved_by: actor.id,
        resolved_at: now,
        resolved_on: today,
      });
    await trx.updateTable('quality_objection').set(set).where('id', '=', id).execute();
    const text = input.action === 'correct' ? (input.resolution?.trim() ?? null) : reason;
    await event(trx, id, input.action, today, due, actor.id, text, now);
    const resource = await trx
      .selectFrom('resource')
      .select('name')
      .where('id', '=', o.resource_id)
      .executeTakeFirstOrThrow();
    const kind = OUTCOME_KIND[input.action];
    if (kind) {
      const to: Recipients[] = [objector(o)];
      // an escalated objection was put before the authority: it hears the outcome too
      if (o.escalated_on && (input.action === 'correct' || input.action === 'reject'))
        to.push({ roles: ['authority_reviewer'], anyOrg: true });
      await tell(trx, to, kind, input.action === 'reject' ? 'warning' : 'info', {
        objectionId: id,
        resource: resource.name,
        dueDate: due,
        article: o.deadline_article,
        reason: text,
        resourceId: o.resource_id,
      });
    }
    await audit(trx, actor, `quality.objection_${input.action}`, o, {
      from: o.status,
      to,
      dueDate: due,
      pausedWorkdays: paused || undefined,
      batchId: input.batchId ?? undefined,
      article: o.deadline_article,
    });
    return getObjectionIn(ctx, trx, actor, id);
  });
}

type Row = {
  id: number;
  resource_id: number;
  provider_org_id: number;
  objector_org_id: number;
  target: string;
  record_key: string | null;
  field_code: string | null;
  problem: string;
  description: string;
  evidence: string | null;
  status: string;
  raised_on: string;
  raised_at: Date;
  due_date: string | null;
  due_provisional: boolean;
  deadline_article: string | null;
  excludes_expert_time: boolean;
  paused_on: string | null;
  pause_reason: string | null;
  paused_workdays: number;
  escalated_on: string | null;
  resolution: string | null;
  batch_id: number | null;
  resolved_on: string | null;
  resource_name: string;
  provider_name: string;
  objector_org_name: string;
  objector_name: string;
  field_name: string | null;
  key_masking: string | null;
};

function baseQuery(db: Db | Tx) {
  return db
    .selectFrom('quality_objection as o')
    .innerJoin('resource as r', 'r.id', 'o.resource_id')
    .innerJoin('org as p', 'p.id', 'o.provider_org_id')
    .innerJoin('org as c', 'c.id', 'o.objector_org_id')
    .innerJoin('app_user as u', 'u.id', 'o.objector_user_id')
    .leftJoin('resource_field as f', (j) =>
      j.onRef('f.resource_id', '=', 'o.resource_id').onRef('f.code', '=', 'o.field_code'),
    )
    .selectAll('o')
    .select([
      'r.name as resource_name',
      'p.name as provider_name',
      'c.name as objector_org_name',
      'u.display_name as objector_name',
      'f.name as field_name',
      (eb) =>
        eb
          .selectFrom('resource_field as k')
          .whereRef('k.resource_id', '=', 'o.resource_id')
          .where('k.is_key', '=', true)
          .select('k.masking')
          .limit(1)
          .as('key_masking'),
    ]);
}

function view(actor: Actor, r: Row, today: string, cal: Awaited<ReturnType<typeof currentCalendar>>) {
  const open = OPEN_OBJECTION.includes(r.status as ObjectionStatus);
  const running = open && r.status !== 'paused';
  const overdue = running && r.due_date !== null && today > r.due_date;
  // the record key is personal more often than not: the two parties read it, everyone else its masked form
  const party = actor.orgId === Number(r.provider_org_id) || actor.orgId === Number(r.objector_org_id);
  const key =
    r.record_key && !party
      ? String(maskValue((r.key_masking ?? 'partial') as Masking, r.record_key))
      : r.record_key;
  return {
    id: Number(r.id),
    resource: { id: Number(r.resource_id), name: r.resource_name },
    provider: { id: Number(r.provider_org_id), name: r.provider_name },
    objectorOrg: { id: Number(r.objector_org_id), name: r.objector_org_name },
    objector: r.objector_name,
    target: r.target,
    recordKey: key,
    field: r.field_code ? { code: r.field_code, name: r.field_name ?? r.field_code } : null,
    problem: r.problem,
    description: r.description,
    evidence: r.evidence,
    status: r.status,
    raisedOn: r.raised_on,
    raisedAt: r.raised_at,
    dueDate: r.due_date,
    dueDateProvisional: r.due_provisional,
    article: r.deadline_article,
    pauseAllowed: r.excludes_expert_time,
    pausedOn: r.paused_on,
    pauseReason: r.pause_reason,
    pausedWorkdays: r.paused_workdays,
    escalatedOn: r.escalated_on,
    resolution: r.resolution,
    batchId: r.batch_id === null ? null : Number(r.batch_id),
    resolvedOn: r.resolved_on,
    overdue,
    workdaysLeft: running && r.due_date && !overdue ? workdaysBetween(cal, today, r.due_date) : null,
    workdaysOverdue: overdue && r.due_date ? workdaysBetween(cal, r.due_date, today) : null,
    canVerify: open && canVerifyObjection(actor, Number(r.provider_org_id)),
  };
}

async function getObjectionIn(ctx: AppContext, db: Db | Tx, actor: Actor, id: number) {
  const r = (await baseQuery(db).where('o.id', '=', id).executeTakeFirst()) as Row | undefined;
  if (
    !r ||
    !canSeeObjection(actor, {
      providerOrgId: Number(r.provider_org_id),
      objectorOrgId: Number(r.objector_org_id),
    })
  )
    throw new AppError('NOT_FOUND');
  const cal = await currentCalendar(ctx);
  const events = await db
    .selectFrom('quality_objection_event as e')
    .leftJoin('app_user as u', 'u.id', 'e.actor_user_id')
    .select([
      'e.id',
      'e.kind',
      'e.on_date as onDate',
      'e.due_date as dueDate',
      'e.text',
      'e.at',
      'u.display_name as actorName',
    ])
    .where('e.objection_id', '=', id)
    .orderBy('e.id')
    .limit(200)
    .execute();
  return { ...view(actor, r, todayOf(ctx), cal), events: events.map((e) => ({ ...e, id: Number(e.id) })) };
}

export function getObjection(ctx: AppContext, actor: Actor, id: number) {
  return getObjectionIn(ctx, ctx.db, actor, id);
}

export interface ObjectionFilter {
  /** mine: raised by my organisation; toVerify: against my organisation's data; all: the authority and auditors */
  box: 'mine' | 'toVerify' | 'all';
  status?: ObjectionStatus | 'open';
  resourceId?: number;
  /** only those the ticker put before the authority */
  escalated?: boolean;
  page: number;
  pageSize: number;
}

export async function listObjections(ctx: AppContext, actor: Actor, f: ObjectionFilter) {
  let q = baseQuery(ctx.db);
  if (f.box === 'mine') q = q.where('o.objector_org_id', '=', actor.orgId);
  else if (f.box === 'toVerify') q = q.where('o.provider_org_id', '=', actor.orgId);
  else if (!seesAllObjections(actor))
    q = q.where((eb) =>
      eb.or([eb('o.provider_org_id', '=', actor.orgId), eb('o.objector_org_id', '=', actor.orgId)]),
    );
  if (f.status === 'open') q = q.where('o.status', 'in', [...OPEN_OBJECTION]);
  else if (f.status) q = q.where('o.status', '=', f.status);
  if (f.resourceId) q = q.where('o.resource_id', '=', f.resourceId);
  if (f.escalated) q = q.where('o.escalated_on', 'is not', null);
  const [{ total }] = await q.clearSelect().select(sql<number>`count(*)::int`.as('total')).execute();
  const rows = (await q
    // open first, the nearest due date first, then the newest
    .orderBy(sql`CASE WHEN o.status IN ('submitted','verifying','paused') THEN 0 ELSE 1 END`)
    .orderBy(sql`o.due_date NULLS LAST`)
    .orderBy('o.id', 'desc')
    .limit(f.pageSize)
    .offset((f.page - 1) * f.pageSize)
    .execute()) as Row[];
  const cal = await currentCalendar(ctx);
  const today = todayOf(ctx);
  return { total, page: f.page, pageSize: f.pageSize, items: rows.map((r) => view(actor, r, today, cal)) };
}

/** The open objections a data officer's department must answer (the home page's to-do, src/work). */
export async function objectionsToAnswer(ctx: AppContext, actor: Actor) {
  const items: Awaited<ReturnType<typeof listObjections>>['items'] = [];
  if (actor.roles.includes('data_officer'))
    items.push(
      ...(await listObjections(ctx, actor, { box: 'toVerify', status: 'open', page: 1, pageSize: 200 }))
        .items,
    );
  // the authority's reviewers follow up what the ticker escalated (DG Art 35)
  if (actor.orgKind === 'authority' && actor.roles.includes('authority_reviewer'))
    items.push(
      ...(
        await listObjections(ctx, actor, {
          box: 'all',
          status: 'open',
          escalated: true,
          page: 1,
          pageSize: 200,
        })
      ).items.filter((o) => !items.some((i) => i.id === o.id)),
    );
  return items;
}
