import { addDays, type WorkdayCalendar, workdaysBetween } from '../calendar/model.js';
import type { Recipients } from '../notify/service.js';
import type { TimeoutAction } from '../profiles/model.js';
import { type DeadlineAction, deadlineAction } from './model.js';

export type NoticeKind = 'dueSoon' | 'dueToday' | 'overdue' | 'escalated';

/**
 * The reminders and the escalation of one deadline, for anything that waits on a decision by a due date: a share
 * request's current step, a bulk or proxy grant request (NY task 7, ./bulk.ts). One working day before the due date the
 * holders are reminded ('dueSoon'), on it again ('dueToday'); after it they are told it is overdue, and where the
 * timeout action is 'escalate' it is put before the authority and the authority and the consumer are told. Each action
 * happens once: `once(kind)` inserts the subject's event row (false: already done). Returns what it did and the action
 * due today, so the caller acts on the others (deemed consent, SY Art 25) itself.
 */
export async function remindOrEscalate(
  d: { due: string; onTimeout: TimeoutAction; today: string; cal: WorkdayCalendar },
  s: {
    once: (kind: NoticeKind) => Promise<boolean>;
    holders: Recipients[];
    escalateTo: Recipients[];
    send: (to: Recipients[], kind: NoticeKind, severity: 'info' | 'warning') => Promise<unknown>;
    /** marks the subject escalated as of `on` (the day after its due date) and audits it; returns actions taken */
    escalate: (on: string) => Promise<number>;
  },
): Promise<{ n: number; action: DeadlineAction }> {
  const action = deadlineAction(
    d.due,
    d.today,
    d.due >= d.today ? workdaysBetween(d.cal, d.today, d.due) : 0,
    d.onTimeout,
  );
  let n = 0;
  if (action === 'dueSoon' && (await s.once('dueSoon'))) {
    await s.send(s.holders, 'dueSoon', 'info');
    n++;
  } else if (action === 'dueToday' && (await s.once('dueToday'))) {
    await s.send(s.holders, 'dueToday', 'warning');
    n++;
  } else if (action === 'remind' || action === 'escalate') {
    if (await s.once('overdue')) {
      await s.send(s.holders, 'overdue', 'warning');
      n++;
    }
    if (action === 'escalate' && (await s.once('escalated'))) {
      n += await s.escalate(addDays(d.due, 1));
      await s.send(s.escalateTo, 'escalated', 'warning');
    }
  }
  return { n, action };
}
