import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { addDays, endOfShanghaiDay, workdaysBetween } from '../calendar/model.js';
import { currentCalendar } from '../calendar/service.js';
import type { AppContext } from '../context.js';
import { inTx, type Tx } from '../db/index.js';
import { type NotificationKind, notify, type Recipients } from '../notify/service.js';
import { tickOpening } from '../opening/applications.js';
import type { StepActor } from '../profiles/model.js';
import { tickBulkGrants } from './bulk.js';
import { tickCases } from './cases.js';
import { tickReevaluations } from './reevaluation.js';
import { type NoticeKind, remindOrEscalate } from './reminders.js';
import { advanceRequest, todayOf } from './service.js';

/**
 * The deadline ticker (issue 8 point 2), run by the jobs module every minute on one node at a time. For each pending
 * request it compares the current step's due date with today (Beijing, by ctx.clock) and does what the step's
 * onTimeout (copied from the profile when the request was filed) says:
 *   one working day before the due date — remind the step's holders ('dueSoon');
 *   on the due date — remind them again ('dueToday');
 *   after it — 'remind': tell them it is overdue; 'escalate': also put it before the data authority (DG Art 15/35,
 *   XT Art 41, NY task 7, GD Art 19); 'deemedConsent': the step is approved as if its actor had agreed (SY Art 25),
 *   dated the end of the due day, and the request moves on or is granted, marked deemed in request, grant and audit.
 * The profile's overall deadline (NY task 7: 10 WD) escalates a request still pending after it.
 * Each action is a row in share_request_event keyed (request, step, kind), inserted in the transaction that acts, so two
 * nodes (or a rerun) act once. Dates, not run times, decide: a platform off over a deadline acts on its first tick,
 * dating the consent at the deadline, not at the restart.
 */
export async function tickDeadlines(ctx: AppContext): Promise<{ actions: number }> {
  const today = todayOf(ctx);
  const cal = await currentCalendar(ctx);
  const rows = await ctx.db
    .selectFrom('share_request as q')
    .innerJoin('share_request_step as s', (j) =>
      j.onRef('s.request_id', '=', 'q.id').onRef('s.step_index', '=', 'q.current_step'),
    )
    .select(['q.id', 'q.current_step', 's.due_date', 'q.overall_due_date'])
    .where('q.status', '=', 'pending')
    .orderBy('s.due_date')
    .limit(5000)
    .execute();
  let actions = 0;
  for (const r of rows) {
    const soonOrLate =
      r.due_date !== null && (r.due_date <= today || workdaysBetween(cal, today, r.due_date) <= 1);
    const overall = r.overall_due_date !== null && today > r.overall_due_date;
    if (!soonOrLate && !overall) continue;
    actions += await inTx(ctx.db, (trx) => actOn(ctx, trx, r.id, today, cal));
  }
  // supply stops taking effect (SY Art 27) and emergencies ending (XT Art 23.7, NY task 7) run on the same tick
  actions += (await tickCases(ctx)).actions;
  // on-application open data (issue 11, SY Art 34): the same ticker, the same reminders and escalation
  actions += await tickOpening(ctx);
  // restricted resources coming due for re-evaluation (XT Art 23.5, SY Art 31)
  actions += await tickReevaluations(ctx);
  // bulk and proxy grant requests (NY task 7): the same reminders and escalation as a request's step
  actions += await tickBulkGrants(ctx);
  return { actions };
}

async function actOn(
  ctx: AppContext,
  trx: Tx,
  id: number,
  today: string,
  cal: Awaited<ReturnType<typeof currentCalendar>>,
): Promise<number> {
  // the request row lock serialises this with a person deciding the same step at the same moment
  const q = await trx
    .selectFrom('share_request')
    .selectAll()
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (q?.status !== 'pending') return 0;
  const steps = await trx
    .selectFrom('share_request_step')
    .selectAll()
    .where('request_id', '=', id)
    .orderBy('step_index')
    .execute();
  const step = steps.find((s) => s.step_index === q.current_step);
  if (!step) return 0;
  const resource = await trx
    .selectFrom('resource')
    .select(['provider_org_id', 'name'])
    .where('id', '=', q.resource_id)
    .executeTakeFirstOrThrow();
  const once = async (stepIndex: number, kind: EventKind) => {
    const r = await trx
      .insertInto('share_request_event')
      .values({ request_id: id, step_index: stepIndex, kind, on_date: today })
      .onConflict((oc) => oc.doNothing())
      .returning('kind')
      .executeTakeFirst();
    return r !== undefined;
  };
  const holders = [step.actor, ...(step.co_actors as StepActor[])].filter((p) => !step.approvals.includes(p));
  const recipientsOf = (parties: StepActor[]): Recipients[] =>
    parties.map((p) =>
      p === 'provider'
        ? { orgIds: [resource.provider_org_id], roles: ['data_officer'] }
        : step.authority_org_id
          ? { orgIds: [step.authority_org_id], roles: ['authority_reviewer'] }
          : { roles: ['authority_reviewer'], anyOrg: true },
    );
  const consumer: Recipients = { orgIds: [q.consumer_org_id], roles: ['data_officer', 'consumer_staff'] };
  const params = {
    requestId: id,
    resource: resource.name,
    step: step.key,
    dueDate: step.due_date,
    article: step.article,
  };
  const send = (to: Recipients[], kind: NotificationKind, severity: 'info' | 'warning' | 'critical') =>
    notify(trx, to, { kind, severity, params, resourceId: q.resource_id });
  const { n: reminded, action } = step.due_date
    ? await remindOrEscalate(
        { due: step.due_date, onTimeout: step.on_timeout, today, cal },
        {
          once: (kind) => once(step.step_index, kind),
          holders: recipientsOf(holders),
          escalateTo: [...recipientsOf(['authority']), consumer],
          send: (to, kind, severity) => send(to, REQUEST_NOTICES[kind], severity),
          escalate: (on) => escalate(ctx, trx, q, on, step.article, step.key),
        },
      )
    : { n: 0, action: null };
  let n = reminded;
  if (action === 'deemedConsent' && step.due_date && (await once(step.step_index, 'deemedConsent'))) {
    // SY Art 25 "逾期未答复的，视为同意共享": consent exists from the end of the due day, whenever this runs
    const deemedAt = endOfShanghaiDay(step.due_date);
    const deemedOn = addDays(step.due_date, 1);
    await trx
      .updateTable('share_request_step')
      .set({ decision: 'deemed', decided_at: deemedAt, approvals: [step.actor, ...step.co_actors] })
      .where('request_id', '=', id)
      .where('step_index', '=', step.step_index)
      .execute();
    const grantId = await advanceRequest(trx, cal, q, steps, {
      risk: ctx.profile.security?.riskAssessment,
      startedOn: deemedOn,
      decidedAt: deemedAt,
      deemedConsent: true,
    });
    await appendAudit(trx, {
      action: 'share.deemedConsent',
      decision: 'allow',
      actorOrgId: resource.provider_org_id,
      appId: q.app_id,
      resourceId: q.resource_id,
      targetType: 'share_request',
      targetId: id,
      purpose: q.purpose,
      fields: q.fields,
      detail: { step: step.key, article: step.article, dueDate: step.due_date, deemedOn, actedOn: today },
    });
    if (grantId) {
      await appendAudit(trx, {
        action: 'share.grant',
        decision: 'allow',
        actorOrgId: resource.provider_org_id,
        appId: q.app_id,
        grantId,
        resourceId: q.resource_id,
        targetType: 'share_grant',
        targetId: grantId,
        purpose: q.purpose,
        fields: q.fields,
        detail: { reason: 'deemedConsent', article: step.article, deemedOn },
      });
    }
    await send([...recipientsOf([step.actor]), consumer], 'sharing.deemedConsent', 'info');
    n++;
  }

  // NY task 7 "原则上10个工作日内完成授权": still pending after the overall deadline → before the authority. Told: the
  // reviewers of the authority responsible for the request, the one its current step names (the provider's level: the
  // city's authority for a city request, the county's for a county one; the one that may override it), not every
  // authority of the installation; any authority only for a request filed before steps named theirs (migration 029)
  if (q.overall_due_date && today > q.overall_due_date && (await once(-1, 'overallOverdue'))) {
    const article = ctx.profile.sharing.conditional.article;
    n += await escalate(ctx, trx, q, addDays(q.overall_due_date, 1), article, 'overall');
    await notify(trx, [...recipientsOf(['authority']), consumer], {
      kind: 'sharing.overallOverdue',
      severity: 'warning',
      params: { ...params, dueDate: q.overall_due_date, article },
      resourceId: q.resource_id,
    });
  }
  return n;
}

type EventKind = 'dueSoon' | 'dueToday' | 'overdue' | 'escalated' | 'deemedConsent' | 'overallOverdue';
const REQUEST_NOTICES: Record<NoticeKind, NotificationKind> = {
  dueSoon: 'sharing.dueSoon',
  dueToday: 'sharing.dueToday',
  overdue: 'sharing.overdue',
  escalated: 'sharing.escalated',
};

async function escalate(
  _ctx: AppContext,
  trx: Tx,
  q: { id: number; app_id: number; resource_id: number; escalated_on: string | null },
  on: string,
  article: string,
  what: string,
): Promise<number> {
  await trx
    .updateTable('share_request')
    .set({ escalated_on: sql<string>`coalesce(escalated_on, ${on}::date)` })
    .where('id', '=', q.id)
    .execute();
  await appendAudit(trx, {
    action: 'share.escalate',
    decision: 'allow',
    appId: q.app_id,
    resourceId: q.resource_id,
    targetType: 'share_request',
    targetId: q.id,
    detail: { step: what, article, escalatedOn: on },
  });
  return 1;
}
