/**
 * Rectification tasks (整改, issue 12 point 2): XT Art 22 gives the provider 10 working days after the authority finds a
 * problem (`quality.rectificationDeadline`, `quality.rectificationArticle`); NY task 8 asks for a closed loop without a
 * deadline. The authority opens a task from a failed quality check (described) or from a confirmed objection; the
 * provider's data officers close it with evidence and, where data changed, the import batch that carried it. Deadlines
 * run on the quality ticker (src/quality/deadlines.ts) with the same reminders and escalation as objections.
 */
import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import {
  dueDate as computeDueDate,
  shanghaiDate,
  type WorkdayCalendar,
  workdaysBetween,
} from '../calendar/model.js';
import { currentCalendar } from '../calendar/service.js';
import type { Actor, AppContext } from '../context.js';
import { type Db, inTx, type Tx } from '../db/index.js';
import { notify } from '../notify/service.js';
import { AppError } from '../shared/errors.js';
import { canCloseRectification, canOpenRectification, canSeeObjection, seesAllObjections } from './model.js';

export interface NewRectification {
  resourceId?: number | null;
  objectionId?: number | null;
  title: string;
  description: string;
}

const invalid = (field: string, reason: string, reasonZh: string) =>
  new AppError('VALIDATION_FAILED', [{ field, reason, reasonZh }]);

async function audit(
  trx: Tx,
  actor: Actor,
  action: string,
  r: { id: number; resource_id: number },
  detail: object,
) {
  await appendAudit(trx, {
    actorUserId: actor.id,
    actorOrgId: actor.orgId,
    action,
    resourceId: r.resource_id,
    targetType: 'quality_rectification',
    targetId: r.id,
    decision: 'allow',
    clientIp: actor.clientIp,
    detail: detail as Record<string, unknown>,
  });
}

export async function rectificationEvent(
  trx: Tx,
  id: number,
  kind: string,
  onDate: string,
  due: string | null,
  actorUserId: number | null,
  text: string | null,
  at: Date,
): Promise<boolean> {
  const r = await trx
    .insertInto('quality_rectification_event')
    .values({
      rectification_id: id,
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

export interface RectificationOpening {
  resource: { id: number; name: string; provider_org_id: number };
  source: 'objection' | 'check';
  objectionId?: number | null;
  title: string;
  description: string;
  /** null: opened by the platform from a failed quality check (src/quality/checks.ts) */
  openedBy: number | null;
  openedOrgId: number;
  clientIp?: string | null;
  ruleId?: number | null;
  runId?: number | null;
}

/**
 * Opens a task inside the caller's transaction: due date from the profile (XT Art 22: 10 WD; NY task 8: none), the
 * `opened` event, the provider's notification and the audit record. The one way a task is opened — by the authority
 * (openRectification) or by a failed quality check (src/quality/checks.ts). The calendar is read before the
 * transaction (its loader uses the pool: on PGlite's single connection it would wait for this transaction).
 */
export async function insertRectification(
  ctx: AppContext,
  trx: Tx,
  cal: WorkdayCalendar,
  o: RectificationOpening,
) {
  const q = ctx.profile.quality;
  const resource = o.resource;
  const now = ctx.clock.now();
  const today = shanghaiDate(now);
  const due = q.rectificationDeadline ? computeDueDate(cal, today, q.rectificationDeadline) : null;
  const floor = await trx
    .selectFrom('ingest_batch')
    .select(sql<number>`coalesce(max(id), 0)::bigint`.as('id'))
    .where('resource_id', '=', resource.id)
    .executeTakeFirstOrThrow();
  const row = await trx
    .insertInto('quality_rectification')
    .values({
      resource_id: resource.id,
      provider_org_id: resource.provider_org_id,
      source: o.source,
      objection_id: o.objectionId ?? null,
      title: o.title,
      description: o.description,
      opened_by: o.openedBy,
      opened_org_id: o.openedOrgId,
      opened_on: today,
      opened_at: now,
      due_date: due,
      due_provisional: due ? !cal.isYearKnown(Number(due.slice(0, 4))) : false,
      deadline_article: q.rectificationArticle ?? null,
      batch_floor: Number(floor.id),
      rule_id: o.ruleId ?? null,
      run_id: o.runId ?? null,
    })
    .returning(['id', 'resource_id'])
    .executeTakeFirstOrThrow();
  await rectificationEvent(trx, row.id, 'opened', today, due, o.openedBy, null, now);
  await notify(trx, [{ orgIds: [resource.provider_org_id], roles: ['data_officer'] }], {
    kind: 'quality.rectificationOpened',
    severity: 'warning',
    params: {
      rectificationId: row.id,
      resource: resource.name,
      title: o.title,
      dueDate: due,
      article: q.rectificationArticle ?? null,
    },
    resourceId: resource.id,
  });
  await appendAudit(trx, {
    actorUserId: o.openedBy,
    actorOrgId: o.openedOrgId,
    action: 'quality.rectification_opened',
    resourceId: row.resource_id,
    targetType: 'quality_rectification',
    targetId: row.id,
    decision: 'allow',
    clientIp: o.clientIp ?? null,
    detail: {
      source: o.source,
      objectionId: o.objectionId ?? undefined,
      ruleId: o.ruleId ?? undefined,
      runId: o.runId ?? undefined,
      dueDate: due,
      article: q.rectificationArticle ?? null,
    },
  });
  return row;
}

export async function openRectification(ctx: AppContext, actor: Actor, input: NewRectification) {
  if (!canOpenRectification(actor)) throw new AppError('FORBIDDEN');
  const cal = await currentCalendar(ctx);
  return inTx(ctx.db, async (trx) => {
    let resourceId = input.resourceId ?? null;
    if (input.objectionId) {
      const o = await trx
        .selectFrom('quality_objection')
        .select(['id', 'resource_id', 'status'])
        .where('id', '=', input.objectionId)
        .executeTakeFirst();
      if (!o) throw invalid('objectionId', 'no such objection', '异议不存在');
      // only a confirmed objection shows a problem to rectify
      if (o.status !== 'corrected')
        throw invalid('objectionId', 'the objection is not confirmed', '该异议尚未确认，不能据此发起整改');
      resourceId = o.resource_id;
    }
    if (!resourceId) throw invalid('resourceId', 'name the resource or the objection', '须指定资源或异议');
    const resource = await trx
      .selectFrom('resource')
      .select(['id', 'name', 'provider_org_id'])
      .where('id', '=', resourceId)
      .executeTakeFirst();
    if (!resource) throw invalid('resourceId', 'no such resource', '资源不存在');
    const row = await insertRectification(ctx, trx, cal, {
      resource,
      source: input.objectionId ? 'objection' : 'check',
      objectionId: input.objectionId ?? null,
      title: input.title,
      description: input.description,
      openedBy: actor.id,
      openedOrgId: actor.orgId,
      clientIp: actor.clientIp,
    });
    return getRectificationIn(ctx, trx, actor, row.id);
  });
}

export async function closeRectification(
  ctx: AppContext,
  actor: Actor,
  id: number,
  input: { evidence: string; batchId?: number | null },
) {
  return inTx(ctx.db, async (trx) => {
    const r = await trx
      .selectFrom('quality_rectification')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!r || !canSeeObjection(actor, { providerOrgId: r.provider_org_id, objectorOrgId: r.opened_org_id }))
      throw new AppError('NOT_FOUND');
    if (!canCloseRectification(actor, r.provider_org_id)) throw new AppError('FORBIDDEN');
    if (r.status !== 'open')
      throw new AppError('RECTIFICATION_STATE_INVALID', [
        { field: 'status', reason: 'the task is closed', reasonZh: '整改任务已办结' },
      ]);
    if (input.batchId != null) {
      const b = await trx
        .selectFrom('ingest_batch')
        .select(['id', 'resource_id', 'status'])
        .where('id', '=', input.batchId)
        .executeTakeFirst();
      if (
        !b ||
        Number(b.resource_id) !== Number(r.resource_id) ||
        b.status !== 'committed' ||
        Number(b.id) <= Number(r.batch_floor)
      )
        throw invalid(
          'batchId',
          'the evidence import is a committed import of the same resource after the task was opened',
          '整改佐证须为任务下达后本资源已入库的导入批次',
        );
    }
    const now = ctx.clock.now();
    const today = shanghaiDate(now);
    await trx
      .updateTable('quality_rectification')
      .set({
        status: 'closed',
        evidence: input.evidence,
        batch_id: input.batchId ?? null,
        closed_by: actor.id,
        closed_at: now,
        closed_on: today,
      })
      .where('id', '=', id)
      .execute();
    await rectificationEvent(trx, id, 'closed', today, r.due_date, actor.id, input.evidence, now);
    const resource = await trx
      .selectFrom('resource')
      .select('name')
      .where('id', '=', r.resource_id)
      .executeTakeFirstOrThrow();
    await notify(trx, [{ orgIds: [r.opened_org_id], roles: ['authority_reviewer', 'platform_admin'] }], {
      kind: 'quality.rectificationClosed',
      severity: 'info',
      params: { rectificationId: id, resource: resource.name, title: r.title, reason: input.evidence },
      resourceId: r.resource_id,
    });
    await audit(trx, actor, 'quality.rectification_closed', r, {
      dueDate: r.due_date,
      late: r.due_date !== null && today > r.due_date,
      batchId: input.batchId ?? undefined,
    });
    return getRectificationIn(ctx, trx, actor, id);
  });
}

function baseQuery(db: Db | Tx) {
  return db
    .selectFrom('quality_rectification as t')
    .innerJoin('resource as r', 'r.id', 't.resource_id')
    .innerJoin('org as p', 'p.id', 't.provider_org_id')
    .selectAll('t')
    .select(['r.name as resource_name', 'p.name as provider_name']);
}

type Row = Awaited<ReturnType<ReturnType<typeof baseQuery>['executeTakeFirstOrThrow']>>;

function view(actor: Actor, r: Row, today: string, cal: Awaited<ReturnType<typeof currentCalendar>>) {
  const open = r.status === 'open';
  const overdue = open && r.due_date !== null && today > r.due_date;
  return {
    id: Number(r.id),
    resource: { id: Number(r.resource_id), name: r.resource_name },
    provider: { id: Number(r.provider_org_id), name: r.provider_name },
    source: r.source,
    objectionId: r.objection_id === null ? null : Number(r.objection_id),
    title: r.title,
    description: r.description,
    status: r.status,
    openedOn: r.opened_on,
    dueDate: r.due_date,
    dueDateProvisional: r.due_provisional,
    article: r.deadline_article,
    escalatedOn: r.escalated_on,
    evidence: r.evidence,
    batchId: r.batch_id === null ? null : Number(r.batch_id),
    closedOn: r.closed_on,
    overdue,
    workdaysLeft: open && r.due_date && !overdue ? workdaysBetween(cal, today, r.due_date) : null,
    workdaysOverdue: overdue && r.due_date ? workdaysBetween(cal, r.due_date, today) : null,
    canClose: open && canCloseRectification(actor, Number(r.provider_org_id)),
  };
}

async function getRectificationIn(ctx: AppContext, db: Db | Tx, actor: Actor, id: number) {
  const r = await baseQuery(db).where('t.id', '=', id).executeTakeFirst();
  if (
    !r ||
    !canSeeObjection(actor, {
      providerOrgId: Number(r.provider_org_id),
      objectorOrgId: Number(r.opened_org_id),
    })
  )
    throw new AppError('NOT_FOUND');
  const cal = await currentCalendar(ctx);
  const events = await db
    .selectFrom('quality_rectification_event as e')
    .leftJoin('app_user as u', 'u.id', 'e.actor_user_id')
    .select(['e.id', 'e.kind', 'e.on_date as onDate', 'e.text', 'e.at', 'u.display_name as actorName'])
    .where('e.rectification_id', '=', id)
    .orderBy('e.id')
    .limit(200)
    .execute();
  return {
    ...view(actor, r, shanghaiDate(ctx.clock.now()), cal),
    events: events.map((e) => ({ ...e, id: Number(e.id) })),
  };
}

export function getRectification(ctx: AppContext, actor: Actor, id: number) {
  return getRectificationIn(ctx, ctx.db, actor, id);
}

export async function listRectifications(
  ctx: AppContext,
  actor: Actor,
  f: { status?: 'open' | 'closed'; escalated?: boolean; mine?: boolean; page: number; pageSize: number },
) {
  let q = baseQuery(ctx.db);
  if (f.mine || !seesAllObjections(actor)) q = q.where('t.provider_org_id', '=', actor.orgId);
  if (f.status) q = q.where('t.status', '=', f.status);
  if (f.escalated) q = q.where('t.escalated_on', 'is not', null);
  const [{ total }] = await q.clearSelect().select(sql<number>`count(*)::int`.as('total')).execute();
  const rows = await q
    .orderBy(sql`CASE WHEN t.status = 'open' THEN 0 ELSE 1 END`)
    .orderBy(sql`t.due_date NULLS LAST`)
    .orderBy('t.id', 'desc')
    .limit(f.pageSize)
    .offset((f.page - 1) * f.pageSize)
    .execute();
  const cal = await currentCalendar(ctx);
  const today = shanghaiDate(ctx.clock.now());
  return { total, page: f.page, pageSize: f.pageSize, items: rows.map((r) => view(actor, r, today, cal)) };
}

/** Open tasks the department must rectify; for the authority's reviewers, the escalated ones (src/work). */
export async function rectificationsToDo(ctx: AppContext, actor: Actor) {
  const items: Awaited<ReturnType<typeof listRectifications>>['items'] = [];
  if (actor.roles.includes('data_officer') && actor.orgKind !== 'authority')
    items.push(
      ...(await listRectifications(ctx, actor, { mine: true, status: 'open', page: 1, pageSize: 200 })).items,
    );
  if (actor.orgKind === 'authority' && actor.roles.includes('authority_reviewer'))
    items.push(
      ...(await listRectifications(ctx, actor, { status: 'open', escalated: true, page: 1, pageSize: 200 }))
        .items,
    );
  return items;
}
