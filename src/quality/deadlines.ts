/**
 * The objection deadlines on the platform's ticker (issue 12 point 1). Same rules and arithmetic as the sharing ticker
 * (src/sharing/reminders.ts `remindOrEscalate`, the one working-day calendar): one working day before the due date the
 * provider is reminded ('dueSoon'), on it again ('dueToday'), after it the objection is overdue and escalated to the
 * data authority (DG Art 35 supervision; XT Art 41 / SY Art 47 name late answers as violations) and the objector is
 * told. A paused objection's clock stands still (DG Art 28), so the ticker passes it by; when it resumes its due date
 * has moved, and the moved date earns its own reminders: each action is a quality_objection_event row keyed by
 * (objection, kind, due date), inserted in the transaction that acts, so two nodes or a rerun act once. Dates decide,
 * not run times: a platform that was off acts on its first tick. Rectification tasks (XT Art 22: 10 WD) run the same
 * loop over their own table.
 */
import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { shanghaiDate, type WorkdayCalendar, workdaysBetween } from '../calendar/model.js';
import { currentCalendar } from '../calendar/service.js';
import type { AppContext } from '../context.js';
import { inTx, type Tx } from '../db/index.js';
import { type NotificationKind, notify, type Recipients } from '../notify/service.js';
import { deadlineAction } from '../sharing/model.js';
import { type NoticeKind, remindOrEscalate } from '../sharing/reminders.js';
import { RUNNING_OBJECTION } from './model.js';
import { event } from './objections.js';
import { rectificationEvent } from './rectifications.js';

export const QUALITY_DEADLINES_JOB = 'quality.deadlines';

/** The one quality ticker job: objections, then rectification tasks. */
export async function tickQuality(ctx: AppContext): Promise<{ actions: number }> {
  const a = await tickObjections(ctx);
  const b = await tickRectifications(ctx);
  return { actions: a.actions + b.actions };
}

/** What a quality task's deadline needs from its own table, read under the row lock. */
interface DueTask {
  id: number;
  resourceId: number;
  providerOrgId: number;
  params: Record<string, unknown>;
  article: string | null;
  /** besides the authority, who hears of the escalation (the objector) */
  alsoTold: Recipients[];
  /** notification kind per notice */
  kinds: Record<NoticeKind, NotificationKind>;
  once: (kind: NoticeKind) => Promise<boolean>;
  table: 'quality_objection' | 'quality_rectification';
  escalatedAction: string;
}

/**
 * One pass over a quality table's due rows: rows whose deadline asks for nothing today are passed by without a
 * transaction; the others are locked (serialising the ticker with the provider answering at the same moment) and
 * reminded or escalated through `remindOrEscalate`.
 */
async function tickDue(
  ctx: AppContext,
  due: { id: number; due_date: string | null }[],
  lock: (trx: Tx, id: number, due: string, today: string, now: Date) => Promise<DueTask | null>,
): Promise<{ actions: number }> {
  const now = ctx.clock.now();
  const today = shanghaiDate(now);
  const cal: WorkdayCalendar = await currentCalendar(ctx);
  let actions = 0;
  for (const r of due) {
    const dueDate = r.due_date as string;
    if (
      !deadlineAction(dueDate, today, dueDate >= today ? workdaysBetween(cal, today, dueDate) : 0, 'escalate')
    )
      continue;
    actions += await inTx(ctx.db, async (trx) => {
      const t = await lock(trx, r.id, dueDate, today, now);
      if (!t) return 0;
      const provider: Recipients = { orgIds: [t.providerOrgId], roles: ['data_officer'] };
      const { n } = await remindOrEscalate(
        { due: dueDate, onTimeout: 'escalate', today, cal },
        {
          once: t.once,
          holders: [provider],
          escalateTo: [{ roles: ['authority_reviewer'], anyOrg: true }, ...t.alsoTold],
          send: (to, kind, severity) =>
            notify(trx, to, { kind: t.kinds[kind], severity, params: t.params, resourceId: t.resourceId }),
          escalate: async (on) => {
            await trx
              .updateTable(t.table)
              .set({ escalated_on: sql<string>`coalesce(escalated_on, ${on}::date)` })
              .where('id', '=', t.id)
              .execute();
            await appendAudit(trx, {
              action: t.escalatedAction,
              decision: 'allow',
              actorOrgId: t.providerOrgId,
              resourceId: t.resourceId,
              targetType: t.table,
              targetId: t.id,
              detail: { dueDate, article: t.article, escalatedOn: on, actedOn: today },
            });
            return 1;
          },
        },
      );
      return n;
    });
  }
  return { actions };
}

async function resourceName(trx: Tx, id: number): Promise<string> {
  const r = await trx.selectFrom('resource').select('name').where('id', '=', id).executeTakeFirstOrThrow();
  return r.name;
}

export async function tickObjections(ctx: AppContext): Promise<{ actions: number }> {
  const rows = await ctx.db
    .selectFrom('quality_objection')
    .select(['id', 'due_date'])
    .where('status', 'in', [...RUNNING_OBJECTION])
    .where('due_date', 'is not', null)
    .orderBy('due_date')
    .limit(5000)
    .execute();
  return tickDue(ctx, rows, async (trx, id, due, today, now) => {
    const o = await trx
      .selectFrom('quality_objection')
      .select([
        'id',
        'status',
        'due_date',
        'resource_id',
        'provider_org_id',
        'objector_org_id',
        'deadline_article',
      ])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!o || !RUNNING_OBJECTION.includes(o.status) || o.due_date !== due) return null;
    return {
      id: o.id,
      resourceId: o.resource_id,
      providerOrgId: o.provider_org_id,
      article: o.deadline_article,
      params: {
        objectionId: o.id,
        resource: await resourceName(trx, o.resource_id),
        dueDate: due,
        article: o.deadline_article,
      },
      alsoTold: [{ orgIds: [o.objector_org_id], roles: ['data_officer', 'consumer_staff'] }],
      kinds: {
        dueSoon: 'quality.objectionDueSoon',
        dueToday: 'quality.objectionDueToday',
        overdue: 'quality.objectionOverdue',
        escalated: 'quality.objectionEscalated',
      },
      once: (kind) => event(trx, o.id, kind, today, due, null, null, now),
      table: 'quality_objection',
      escalatedAction: 'quality.objection_escalated',
    };
  });
}

/**
 * Rectification tasks (XT Art 22: 10 WD): the same reminders to the provider, then overdue and escalation to the
 * authority, keyed once per (task, kind, due date) in quality_rectification_event.
 */
export async function tickRectifications(ctx: AppContext): Promise<{ actions: number }> {
  const rows = await ctx.db
    .selectFrom('quality_rectification')
    .select(['id', 'due_date'])
    .where('status', '=', 'open')
    .where('due_date', 'is not', null)
    .orderBy('due_date')
    .limit(5000)
    .execute();
  return tickDue(ctx, rows, async (trx, id, due, today, now) => {
    const t = await trx
      .selectFrom('quality_rectification')
      .select(['id', 'status', 'due_date', 'resource_id', 'provider_org_id', 'title', 'deadline_article'])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (t?.status !== 'open' || t.due_date !== due) return null;
    return {
      id: t.id,
      resourceId: t.resource_id,
      providerOrgId: t.provider_org_id,
      article: t.deadline_article,
      params: {
        rectificationId: t.id,
        resource: await resourceName(trx, t.resource_id),
        title: t.title,
        dueDate: due,
        article: t.deadline_article,
      },
      alsoTold: [],
      kinds: {
        dueSoon: 'quality.rectificationDueSoon',
        dueToday: 'quality.rectificationDueToday',
        overdue: 'quality.rectificationOverdue',
        escalated: 'quality.rectificationEscalated',
      },
      once: (kind) => rectificationEvent(trx, t.id, kind, today, due, null, null, now),
      table: 'quality_rectification',
      escalatedAction: 'quality.rectification_escalated',
    };
  });
}
