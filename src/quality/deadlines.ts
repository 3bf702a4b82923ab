/**
 * The objection deadlines on the platform's ticker (issue 12 point 1). Same rules and arithmetic as the sharing ticker
 * (src/sharing/deadlines.ts: `deadlineAction`, the one working-day calendar): one working day before the due date the
 * provider is reminded ('dueSoon'), on it again ('dueToday'), after it the objection is overdue and escalated to the
 * data authority (DG Art 35 supervision; XT Art 41 / SY Art 47 name late answers as violations) and the objector is
 * told. A paused objection's clock stands still (DG Art 28), so the ticker passes it by; when it resumes its due date
 * has moved, and the moved date earns its own reminders: each action is a quality_objection_event row keyed by
 * (objection, kind, due date), inserted in the transaction that acts, so two nodes or a rerun act once. Dates decide,
 * not run times: a platform that was off acts on its first tick.
 */
import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { addDays, shanghaiDate, workdaysBetween } from '../calendar/model.js';
import { currentCalendar } from '../calendar/service.js';
import type { AppContext } from '../context.js';
import { inTx } from '../db/index.js';
import { type NotificationKind, notify, type Recipients } from '../notify/service.js';
import { deadlineAction } from '../sharing/model.js';
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

export async function tickObjections(ctx: AppContext): Promise<{ actions: number }> {
  const now = ctx.clock.now();
  const today = shanghaiDate(now);
  const cal = await currentCalendar(ctx);
  const rows = await ctx.db
    .selectFrom('quality_objection')
    .select(['id', 'due_date'])
    .where('status', 'in', [...RUNNING_OBJECTION])
    .where('due_date', 'is not', null)
    .orderBy('due_date')
    .limit(5000)
    .execute();
  let actions = 0;
  for (const r of rows) {
    const due = r.due_date as string;
    const action = deadlineAction(
      due,
      today,
      due >= today ? workdaysBetween(cal, today, due) : 0,
      'escalate',
    );
    if (!action) continue;
    actions += await inTx(ctx.db, async (trx) => {
      // the row lock serialises this with the provider answering at the same moment
      const locked = await trx
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
        .where('id', '=', r.id)
        .forUpdate()
        .executeTakeFirst();
      const o = locked && {
        ...locked,
        name: (
          await trx
            .selectFrom('resource')
            .select('name')
            .where('id', '=', locked.resource_id)
            .executeTakeFirstOrThrow()
        ).name,
      };
      if (!o || !RUNNING_OBJECTION.includes(o.status) || o.due_date !== due) return 0;
      const params = { objectionId: o.id, resource: o.name, dueDate: due, article: o.deadline_article };
      const provider: Recipients = { orgIds: [o.provider_org_id], roles: ['data_officer'] };
      const send = (to: Recipients[], kind: NotificationKind, severity: 'info' | 'warning') =>
        notify(trx, to, { kind, severity, params, resourceId: o.resource_id });
      let n = 0;
      if (action === 'dueSoon' && (await event(trx, o.id, 'dueSoon', today, due, null, null, now))) {
        await send([provider], 'quality.objectionDueSoon', 'info');
        n++;
      } else if (action === 'dueToday' && (await event(trx, o.id, 'dueToday', today, due, null, null, now))) {
        await send([provider], 'quality.objectionDueToday', 'warning');
        n++;
      } else if (action === 'escalate') {
        if (await event(trx, o.id, 'overdue', today, due, null, null, now)) {
          await send([provider], 'quality.objectionOverdue', 'warning');
          n++;
        }
        if (await event(trx, o.id, 'escalated', today, due, null, null, now)) {
          const on = addDays(due, 1);
          await trx
            .updateTable('quality_objection')
            .set({ escalated_on: sql<string>`coalesce(escalated_on, ${on}::date)` })
            .where('id', '=', o.id)
            .execute();
          await send(
            [
              { roles: ['authority_reviewer'], anyOrg: true },
              { orgIds: [o.objector_org_id], roles: ['data_officer', 'consumer_staff'] },
            ],
            'quality.objectionEscalated',
            'warning',
          );
          await appendAudit(trx, {
            action: 'quality.objection_escalated',
            decision: 'allow',
            actorOrgId: o.provider_org_id,
            resourceId: o.resource_id,
            targetType: 'quality_objection',
            targetId: o.id,
            detail: { dueDate: due, article: o.deadline_article, escalatedOn: on, actedOn: today },
          });
          n++;
        }
      }
      return n;
    });
  }
  return { actions };
}

/**
 * Rectification tasks (XT Art 22: 10 WD): the same reminders to the provider, then overdue and escalation to the
 * authority, keyed once per (task, kind, due date) in quality_rectification_event.
 */
export async function tickRectifications(ctx: AppContext): Promise<{ actions: number }> {
  const now = ctx.clock.now();
  const today = shanghaiDate(now);
  const cal = await currentCalendar(ctx);
  const rows = await ctx.db
    .selectFrom('quality_rectification')
    .select(['id', 'due_date'])
    .where('status', '=', 'open')
    .where('due_date', 'is not', null)
    .orderBy('due_date')
    .limit(5000)
    .execute();
  let actions = 0;
  for (const r of rows) {
    const due = r.due_date as string;
    const action = deadlineAction(
      due,
      today,
      due >= today ? workdaysBetween(cal, today, due) : 0,
      'escalate',
    );
    if (!action) continue;
    actions += await inTx(ctx.db, async (trx) => {
      const t = await trx
        .selectFrom('quality_rectification')
        .select(['id', 'status', 'due_date', 'resource_id', 'provider_org_id', 'title', 'deadline_article'])
        .where('id', '=', r.id)
        .forUpdate()
        .executeTakeFirst();
      if (t?.status !== 'open' || t.due_date !== due) return 0;
      const { name } = await trx
        .selectFrom('resource')
        .select('name')
        .where('id', '=', t.resource_id)
        .executeTakeFirstOrThrow();
      const params = {
        rectificationId: t.id,
        resource: name,
        title: t.title,
        dueDate: due,
        article: t.deadline_article,
      };
      const provider: Recipients = { orgIds: [t.provider_org_id], roles: ['data_officer'] };
      const send = (to: Recipients[], kind: NotificationKind, severity: 'info' | 'warning') =>
        notify(trx, to, { kind, severity, params, resourceId: t.resource_id });
      const once = (kind: string) => rectificationEvent(trx, t.id, kind, today, due, null, null, now);
      let n = 0;
      if (action === 'dueSoon' && (await once('dueSoon'))) {
        await send([provider], 'quality.rectificationDueSoon', 'info');
        n++;
      } else if (action === 'dueToday' && (await once('dueToday'))) {
        await send([provider], 'quality.rectificationDueToday', 'warning');
        n++;
      } else if (action === 'escalate') {
        if (await once('overdue')) {
          await send([provider], 'quality.rectificationOverdue', 'warning');
          n++;
        }
        if (await once('escalated')) {
          const on = addDays(due, 1);
          await trx
            .updateTable('quality_rectification')
            .set({ escalated_on: sql<string>`coalesce(escalated_on, ${on}::date)` })
            .where('id', '=', t.id)
            .execute();
          await send(
            [{ roles: ['authority_reviewer'], anyOrg: true }],
            'quality.rectificationEscalated',
            'warning',
          );
          await appendAudit(trx, {
            action: 'quality.rectification_escalated',
            decision: 'allow',
            actorOrgId: t.provider_org_id,
            resourceId: t.resource_id,
            targetType: 'quality_rectification',
            targetId: t.id,
            detail: { dueDate: due, article: t.deadline_article, escalatedOn: on, actedOn: today },
          });
          n++;
        }
      }
      return n;
    });
  }
  return { actions };
}
