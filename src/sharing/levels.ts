import type { Db, Tx } from '../db/index.js';
import { PROFILES } from '../profiles/index.js';
import type { Profile, WorkflowStep } from '../profiles/model.js';
import type { ShareType } from './model.js';

/*
 * Cross-level share requests (issue 8 point 9; XT Art 26, GD Art 15). One installation may hold several jurisdiction
 * levels (province → city → county), each with its own data authority (an org of kind 'authority' in that
 * jurisdiction). A request runs before the authority of the provider's level; a department of a lower jurisdiction
 * (a county asking the city) goes through its own authority first, in a step of its own, then the provider's level.
 */

export type JurisdictionLevel = 'province' | 'city' | 'county' | 'town';

export interface LevelAuthority {
  orgId: number;
  orgName: string;
  jurisdictionCode: string;
  level: JurisdictionLevel;
}

/** The rule in force: the profile's own, else its province's (`parent`: a city's rules built on the province's, DG Art 1). */
export function crossLevelRule(profile: Profile): Profile['sharing']['crossLevel'] {
  return (
    profile.sharing.crossLevel ?? (profile.parent ? PROFILES[profile.parent]?.sharing.crossLevel : undefined)
  );
}

/** Jurisdiction codes from `code` up to the top (at most 8 levels: a loop in bad data cannot hang). */
export async function chainOf(
  db: Db | Tx,
  code: string,
): Promise<Array<{ code: string; level: JurisdictionLevel }>> {
  const out: Array<{ code: string; level: JurisdictionLevel }> = [];
  let at: string | null = code;
  while (at && out.length < 8 && !out.some((j) => j.code === at)) {
    const j = await db
      .selectFrom('jurisdiction')
      .select(['code', 'level', 'parent_code'])
      .where('code', '=', at)
      .executeTakeFirst();
    if (!j) break;
    out.push({ code: j.code, level: j.level });
    at = j.parent_code;
  }
  return out;
}

/** The data authority over an organisation: the nearest authority org at its jurisdiction or above; null when none. */
export async function authorityOver(
  db: Db | Tx,
  chain: Array<{ code: string; level: JurisdictionLevel }>,
): Promise<LevelAuthority | null> {
  for (const j of chain) {
    const a = await db
      .selectFrom('org')
      .select(['id', 'name'])
      .where('kind', '=', 'authority')
      .where('jurisdiction_code', '=', j.code)
      .orderBy('id')
      .executeTakeFirst();
    if (a) return { orgId: a.id, orgName: a.name, jurisdictionCode: j.code, level: j.level };
  }
  return null;
}

export interface PlannedStep {
  step: WorkflowStep;
  /** the authority acting on (or, for a provider step, supervising) this step; null: any authority (one level only) */
  authorityOrgId: number | null;
  level: JurisdictionLevel | null;
}

/**
 * The steps a request runs through with the authority of each: the profile's steps at the provider's level, preceded by
 * the requester's own authority's step when the requester sits below the provider's jurisdiction and the profile (or
 * its province) has a cross-level rule for this share type.
 */
export async function planSteps(
  db: Db | Tx,
  profile: Profile,
  shareType: ShareType,
  steps: WorkflowStep[],
  consumerOrgId: number,
  providerOrgId: number,
): Promise<PlannedStep[]> {
  const orgs = await db
    .selectFrom('org')
    .select(['id', 'jurisdiction_code'])
    .where('id', 'in', [consumerOrgId, providerOrgId])
    .execute();
  const jurOf = (id: number) => orgs.find((o) => o.id === id)?.jurisdiction_code;
  const providerChain = await chainOf(db, jurOf(providerOrgId) ?? '');
  const providerAuthority = await authorityOver(db, providerChain);
  const planned: PlannedStep[] = steps.map((step) => ({
    step,
    authorityOrgId: providerAuthority?.orgId ?? null,
    level: providerAuthority?.level ?? null,
  }));
  const rule = crossLevelRule(profile);
  if (!rule || shareType === 'none' || !rule.appliesTo.includes(shareType)) return planned;
  const consumerChain = await chainOf(db, jurOf(consumerOrgId) ?? '');
  const own = await authorityOver(db, consumerChain);
  // upward only: the provider's authority sits above the requester's own (its jurisdiction is an ancestor)
  if (!own || !providerAuthority || own.orgId === providerAuthority.orgId) return planned;
  const ownAt = consumerChain.findIndex((j) => j.code === own.jurisdictionCode);
  const providerAt = consumerChain.findIndex((j) => j.code === providerAuthority.jurisdictionCode);
  if (!(ownAt >= 0 && providerAt > ownAt)) return planned;
  return [{ step: rule.step, authorityOrgId: own.orgId, level: own.level }, ...planned];
}
