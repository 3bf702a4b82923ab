/**
 * Quality objections (疑义/异议, issue 12 point 1): vocabulary, who may do what, and the clock arithmetic. Pure: the
 * console imports the vocabulary, the service asks the policies, the ticker asks `objectionAction`.
 */
import { addWorkdays, type WorkdayCalendar, workdaysBetween } from '../calendar/model.js';
import { type Actor, hasRole } from '../context.js';

export const OBJECTION_TARGETS = ['record', 'field', 'resource'] as const;
export const OBJECTION_PROBLEMS = ['wrong', 'missing', 'stale'] as const;
export const OBJECTION_STATUSES = ['submitted', 'verifying', 'paused', 'corrected', 'rejected'] as const;
export type ObjectionStatus = (typeof OBJECTION_STATUSES)[number];
/** the states in which the provider still owes an answer */
export const OPEN_OBJECTION: readonly ObjectionStatus[] = ['submitted', 'verifying', 'paused'];
/** the states whose clock runs (a paused objection's clock stands still: DG Art 28) */
export const RUNNING_OBJECTION: readonly ObjectionStatus[] = ['submitted', 'verifying'];

export type ObjectionAction = 'start' | 'pause' | 'resume' | 'correct' | 'reject';

/** The state machine: submitted → verifying ⇄ paused → corrected | rejected (a paused one may also be resolved). */
export function nextStatus(from: ObjectionStatus, action: ObjectionAction): ObjectionStatus | null {
  switch (action) {
    case 'start':
      return from === 'submitted' ? 'verifying' : null;
    case 'pause':
      return from === 'submitted' || from === 'verifying' ? 'paused' : null;
    case 'resume':
      return from === 'paused' ? 'verifying' : null;
    case 'correct':
      return OPEN_OBJECTION.includes(from) ? 'corrected' : null;
    case 'reject':
      return OPEN_OBJECTION.includes(from) ? 'rejected' : null;
  }
}

function isAuthorityStaff(actor: Actor) {
  return actor.orgKind === 'authority' && hasRole(actor, 'platform_admin', 'authority_reviewer');
}

/**
 * DG Art 28, XT Art 21, GD Art 21, NY task 8: the department using the data reports a doubt to its provider; the
 * authority may too (DG Art 35 supervision). A provider does not object to its own data: it corrects it.
 */
export function canRaiseObjection(actor: Actor, providerOrgId: number): boolean {
  if (isAuthorityStaff(actor)) return true;
  return (
    actor.orgKind === 'department' &&
    actor.orgId !== providerOrgId &&
    hasRole(actor, 'data_officer', 'consumer_staff')
  );
}

/** The provider's data officers verify and answer (DG Art 28 "数源部门应当…核实"). */
export function canVerifyObjection(actor: Actor, providerOrgId: number): boolean {
  return actor.orgId === providerOrgId && hasRole(actor, 'data_officer');
}

/** The two parties, the authority and the auditors read an objection. */
export function canSeeObjection(actor: Actor, o: { providerOrgId: number; objectorOrgId: number }): boolean {
  if (actor.orgId === o.providerOrgId || actor.orgId === o.objectorOrgId) return true;
  return isAuthorityStaff(actor) || hasRole(actor, 'auditor');
}

export function seesAllObjections(actor: Actor): boolean {
  return isAuthorityStaff(actor) || hasRole(actor, 'auditor');
}

/**
 * DG Art 28 "检测、检验、鉴定、专家评审的时间不计算在内": a pause from `pausedOn` to `resumedOn` stops the clock for the
 * working days after the pause day up to and including the resume day (the pause day itself was a working day of the
 * provider's; the resume day is not). The due date moves by that many working days.
 */
export function pausedWorkdays(cal: WorkdayCalendar, pausedOn: string, resumedOn: string): number {
  return resumedOn > pausedOn ? workdaysBetween(cal, pausedOn, resumedOn) : 0;
}

export function movedDueDate(cal: WorkdayCalendar, dueDate: string, paused: number): string {
  return paused > 0 ? addWorkdays(cal, dueDate, paused) : dueDate;
}

/**
 * XT Art 22 "数据主管部门…发现问题的，应当通知数源部门在10个工作日内整改" (NY task 8: a closed loop): the authority
 * opens a rectification task from a failed quality check or a confirmed objection.
 */
export function canOpenRectification(actor: Actor): boolean {
  return isAuthorityStaff(actor);
}

/** The provider's data officers rectify and close the task with evidence. */
export function canCloseRectification(actor: Actor, providerOrgId: number): boolean {
  return actor.orgId === providerOrgId && hasRole(actor, 'data_officer');
}
