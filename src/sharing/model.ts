import type { Actor } from '../context.js';
import { hasRole } from '../context.js';
import type { Profile, StepActor, TimeoutAction, WorkflowStep } from '../profiles/model.js';
import type { ErrorDetail } from '../shared/errors.js';

export type ShareType = 'unconditional' | 'conditional' | 'none';

/** The approval steps a request runs through: the profile decides, per share type (RULES.md §4). */
export function stepsFor(profile: Profile, shareType: ShareType): WorkflowStep[] {
  if (shareType === 'unconditional') return profile.sharing.unconditional.steps;
  return profile.sharing.conditional.steps;
}

export function isOverdue(status: string, due: string | null, today: string): boolean {
  return status === 'pending' && due !== null && today > due;
}

export interface RequestInput {
  resourceId: number;
  appId: number;
  fields: string[];
  purpose: string;
  scenario?: string | null;
  /** the business scope the data serves (DG Art 26) */
  scope?: string | null;
  validUntil: string;
  /** a not-shared resource reached only by verification (DG Art 19) or aggregates (XT Art 23.6, SY Art 26) */
  access?: 'verify' | 'aggregate' | null;
}

/** What a request must state (DG Art 26 purpose and scope, GD Art 19 purpose and data items, XT Art 24 purpose). */
export function checkRequestInput(
  input: RequestInput,
  resourceFieldCodes: string[],
  profile: Profile,
  today: string,
  shareType: ShareType = 'conditional',
): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const must = profile.sharing.conditional.requestMustState;
  if (shareType !== 'unconditional' && must.includes('scope') && (input.scope ?? '').trim().length < 2) {
    errors.push({
      field: 'scope',
      reason: `state the business scope the data is used for (${profile.sharing.conditional.article})`,
      reasonZh: `须明确数据使用的业务范围（${profile.sharing.conditional.article}）`,
    });
  }
  if (must.includes('purpose') && input.purpose.trim().length < 4) {
    errors.push({
      field: 'purpose',
      reason: `state the purpose of use (${profile.sharing.conditional.article})`,
      reasonZh: `须说明数据使用用途（${profile.sharing.conditional.article}）`,
    });
  }
  // every request names its data items; a profile listing 'fields' (GD Art 19) says so in the error's article
  if (input.fields.length === 0) {
    const art = must.includes('fields') ? `（${profile.sharing.conditional.article}）` : '';
    errors.push({
      field: 'fields',
      reason: `request at least one field${art}`,
      reasonZh: `至少申请一个信息项${art}`,
    });
  }
  const known = new Set(resourceFieldCodes);
  for (const f of input.fields)
    if (!known.has(f))
      errors.push({ field: 'fields', reason: `unknown field "${f}"`, reasonZh: `信息项“${f}”不存在` });
  if (new Set(input.fields).size !== input.fields.length)
    errors.push({ field: 'fields', reason: 'a field is listed twice', reasonZh: '信息项重复' });
  if (input.validUntil <= today)
    errors.push({
      field: 'validUntil',
      reason: 'the grant must end after today',
      reasonZh: '有效期须晚于今天',
    });
  return errors;
}

// ---- who may do what ----

/** Departments and public-service enterprises request data for their own apps; the provider does not request its own. */
export function canRequest(actor: Actor, providerOrgId: number): boolean {
  return hasRole(actor, 'data_officer', 'consumer_staff') && actor.orgId !== providerOrgId;
}

/**
 * The current step's actor decides: the provider's data officer (DG Art 20, SY Art 25, NY task 7)
 * or the data authority's reviewer (XT Art 24, GD Art 19).
 */
export function canDecideStep(
  actor: Actor,
  stepActor: 'authority' | 'provider',
  providerOrgId: number,
  /** the authority of the step's level (cross-level requests, XT Art 26, GD Art 15); null/undefined: any authority */
  authorityOrgId?: number | null,
): boolean {
  if (stepActor === 'provider') return actor.orgId === providerOrgId && hasRole(actor, 'data_officer');
  return isLevelAuthority(actor, authorityOrgId);
}

/** A reviewer of the authority a step names (or of any authority when it names none: a one-level installation). */
export function isLevelAuthority(actor: Actor, authorityOrgId?: number | null): boolean {
  if (!(actor.orgKind === 'authority' && hasRole(actor, 'authority_reviewer'))) return false;
  return authorityOrgId === null || authorityOrgId === undefined || Number(authorityOrgId) === actor.orgId;
}

/**
 * The party this person decides a step for: its actor, or a co-actor reviewing in the same step and window
 * (GD Art 19 "会同"); null when neither, or when that party has already approved. A step is approved when every
 * party has approved; any party may refuse it.
 */
export function partyFor(
  actor: Actor,
  step: { actor: StepActor; co_actors: string[]; approvals: string[]; authority_org_id?: number | null },
  providerOrgId: number,
): StepActor | null {
  const parties = [step.actor, ...(step.co_actors as StepActor[])];
  for (const p of parties)
    if (!step.approvals.includes(p) && canDecideStep(actor, p, providerOrgId, step.authority_org_id))
      return p;
  return null;
}

export function stepComplete(step: { actor: string; co_actors: string[]; approvals: string[] }): boolean {
  return [step.actor, ...step.co_actors].every((p) => step.approvals.includes(p));
}

/** What the ticker does today for a pending step due on `due` (dates 'YYYY-MM-DD'; Beijing days). */
export type DeadlineAction = 'dueSoon' | 'dueToday' | TimeoutAction | null;

export function deadlineAction(
  due: string,
  today: string,
  workdaysLeft: number,
  onTimeout: TimeoutAction,
): DeadlineAction {
  if (today > due) return onTimeout;
  if (today === due) return 'dueToday';
  // one working day left: remind before the deadline
  if (workdaysLeft <= 1) return 'dueSoon';
  return null;
}

// Who reads which request: src/sharing/visibility.ts (one SQL predicate for list, detail, statistics and to-do).

/** A grant is revoked by its provider or the platform admin; GB/T 39477: revocation takes effect immediately. */
export function canRevokeGrant(actor: Actor, providerOrgId: number): boolean {
  if (hasRole(actor, 'platform_admin')) return true;
  return actor.orgId === providerOrgId && hasRole(actor, 'data_officer');
}
