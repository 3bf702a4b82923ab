import type { Deadline } from '../calendar/model.js';
import { type Actor, hasRole } from '../context.js';
import type { Profile } from '../profiles/model.js';
import type { ErrorDetail } from '../shared/errors.js';

/*
 * The catalog's inventories (issue 6 points 5, 6, 8, 9, 10): pure rules and policies, each citing its article.
 * Profile data decides what differs between regulations (negative list approval vs filing, the update deadline,
 * the system-acceptance condition); code never asks which city it runs in.
 */

export const BASIS_KINDS = ['law', 'adminRegulation', 'localRegulation', 'rule', 'other'] as const;
export type BasisKind = (typeof BASIS_KINDS)[number];
export const NEGATIVE_STATUSES = ['proposed', 'approved', 'rejected', 'filed', 'withdrawn'] as const;
export type NegativeStatus = (typeof NEGATIVE_STATUSES)[number];
export const CHANGE_KINDS = ['legal', 'functional'] as const;
export const DUTY_STATUSES = ['open', 'done'] as const;
export const SYSTEM_STATUSES = ['planned', 'built', 'accepted'] as const;
export type SystemStatus = (typeof SYSTEM_STATUSES)[number];
export const MATCH_STATUSES = ['proposed', 'confirmed', 'rejected'] as const;
export const OPEN_LIST_TYPES = ['open', 'onApplication'] as const;
export const OPEN_LIST_STATUSES = ['proposed', 'approved', 'rejected', 'withdrawn'] as const;

/** The open list's confidentiality review (XT Art 28: 经对拟开放的公共数据进行保密审查后…). */
export const OPEN_LIST_ARTICLE = 'XT Art 28';

// ---------------------------------------------------------------------------------------------------------------
// Who may do what

/** A department's data officer acts for its own department's lists. */
export function isOwnOfficer(actor: Actor, orgId: number): boolean {
  return actor.orgKind === 'department' && actor.orgId === orgId && hasRole(actor, 'data_officer');
}

/** The authority's reviewer: approves negative-list entries and open-list entries, sees every department. */
export function isAuthorityReviewer(actor: Actor): boolean {
  return actor.orgKind === 'authority' && hasRole(actor, 'authority_reviewer');
}

/** The authority (reviewer or platform admin): sees every department's lists, records duties for any of them. */
export function isAuthority(actor: Actor): boolean {
  return actor.orgKind === 'authority' && hasRole(actor, 'authority_reviewer', 'platform_admin');
}

/** Lists of a department are read by the department itself and by the authority (and the auditor). */
export function canReadOrgLists(actor: Actor, orgId: number): boolean {
  return actor.orgId === orgId || isAuthority(actor) || hasRole(actor, 'auditor');
}

// ---------------------------------------------------------------------------------------------------------------
// Negative list (负面清单): DG Art 19, XT Art 23, SY Art 23, GD Art 18

export interface NegativeListRule {
  /** 'approves': the authority approves or rejects; 'filed': the department's entry takes effect, the authority is told */
  authority: 'approves' | 'filed';
  article: string;
}

/**
 * The active profile's negative-list rule. A profile that names none (XT, GD, NY) still needs the department's
 * classification recorded against its basis; the authority then approves it, under the article that requires a
 * basis for conditional/not-shared data (XT Art 23, GD Art 18), or the catalog article where there is none.
 */
export function negativeListRule(profile: Profile): NegativeListRule {
  return (
    profile.sharing.negativeList ?? {
      authority: 'approves',
      article: profile.sharing.conditionalBasisArticle ?? profile.catalog.updateArticle ?? '',
    }
  );
}

/** Entries in force: approved by the authority, or filed where the profile only asks for filing (SY Art 23). */
export const NEGATIVE_IN_FORCE: NegativeStatus[] = ['approved', 'filed'];

export interface NegativeProposal {
  resourceId: number;
  basisText: string;
  basisKind: BasisKind;
  reason: string;
}

/**
 * DG Art 19/24, GD Art 16/18: a conditional or not-shared classification rests on a law, regulation or rule, not an
 * internal document: where the profile requires a legal basis, the kind "other" is refused.
 */
export function checkNegativeProposal(
  p: NegativeProposal,
  resource: { shareType: string; providerOrgId: number },
  profile: Profile,
): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const article = negativeListRule(profile).article;
  if (resource.shareType !== 'conditional' && resource.shareType !== 'none') {
    errors.push({
      field: 'resourceId',
      reason: `only a conditional or not-shared resource goes on the negative list (${article})`,
      reasonZh: `仅有条件共享或不予共享的资源列入负面清单（${article}）`,
    });
  }
  if (!p.basisText.trim()) {
    errors.push({ field: 'basisText', reason: 'state the legal basis', reasonZh: '请填写法律法规依据' });
  }
  if (!p.reason.trim()) {
    errors.push({ field: 'reason', reason: 'state the reason', reasonZh: '请填写理由' });
  }
  if (p.basisKind === 'other' && profile.sharing.conditionalNeedsLegalBasis) {
    const a = profile.sharing.conditionalBasisArticle ?? article;
    errors.push({
      field: 'basisKind',
      reason: `the basis must be a law, administrative regulation, local regulation or rule, not an internal document (${a})`,
      reasonZh: `依据须为法律、行政法规、地方性法规或规章，不能是内部文件（${a}）`,
    });
  }
  return errors;
}

/** The status a new entry starts in under the profile's rule. */
export function initialNegativeStatus(rule: NegativeListRule): NegativeStatus {
  return rule.authority === 'approves' ? 'proposed' : 'filed';
}

// ---------------------------------------------------------------------------------------------------------------
// Update duty: DG Art 11, XT Art 14 (15 WD after the change)

/** The profile's deadline for updating the catalog after a legal or functional change; null when it sets none. */
export function updateDeadline(profile: Profile): { deadline: Deadline | null; article: string | null } {
  return {
    deadline: profile.catalog.updateAfterChange ?? null,
    article: profile.catalog.updateArticle ?? null,
  };
}

/** An officer records duties for their own department; the authority for any department (DG Art 11, XT Art 14). */
export function canRecordDuty(actor: Actor, orgId: number): boolean {
  return isOwnOfficer(actor, orgId) || isAuthority(actor);
}

// ---------------------------------------------------------------------------------------------------------------
// Information systems: DG Art 13/22, GD Art 11, XT Art 37, SY Art 14

export interface SystemCompliance {
  mounted: number;
  /** mounted resources with no data loaded (row_count = 0 and no committed ingest batch) */
  empty: number;
}

export type ComplianceProblem = 'noResources' | 'noData';

export function complianceProblems(c: SystemCompliance): ComplianceProblem[] {
  const out: ComplianceProblem[] = [];
  if (c.mounted === 0) out.push('noResources');
  if (c.empty > 0) out.push('noData');
  return out;
}

/**
 * A fiscally funded system moves to 'accepted' only when its data resources are mounted on the catalog and loaded
 * (DG Art 13: 挂接至政务数据资源目录，作为项目验收要求; DG Art 22: 全量、实时汇集; GD Art 11; XT Art 37; SY Art 14).
 * Returns the refusal details, or [] when the move is allowed.
 */
export function checkAcceptance(
  profile: Profile,
  system: { fiscal: boolean },
  to: SystemStatus,
  c: SystemCompliance,
): ErrorDetail[] {
  const article = profile.catalog.systemAcceptanceArticle;
  if (to !== 'accepted' || !system.fiscal || !article) return [];
  const out: ErrorDetail[] = [];
  for (const p of complianceProblems(c)) {
    out.push(
      p === 'noResources'
        ? {
            field: 'status',
            reason: `a fiscally funded system is accepted only with its data resources mounted on the catalog (${article})`,
            reasonZh: `财政投资建设的信息系统须将数据资源挂接至目录后方可验收（${article}）`,
          }
        : {
            field: 'status',
            reason: `${c.empty} mounted resource(s) have no data loaded; the system's data must be aggregated before acceptance (${article})`,
            reasonZh: `${c.empty} 个挂接资源尚未汇聚数据，数据汇聚后方可验收（${article}）`,
          },
    );
  }
  return out;
}

export function canManageSystem(actor: Actor, ownerOrgId: number): boolean {
  return isOwnOfficer(actor, ownerOrgId) || isAuthority(actor);
}

// ---------------------------------------------------------------------------------------------------------------
// Responsibility and demand lists: NY task 6, SY Art 18

/**
 * The words a demand is matched on: its name split at spaces and punctuation, and each wanted field; Chinese
 * names without spaces are kept whole and, when long, also cut into the catalog's usual suffix-free stems
 * ("人口基础信息" → "人口基础信息", "人口基础"). The catalog search (issue 6 point 11) replaces this later.
 */
export function demandTerms(d: { name: string; wantedFields: string[] }): string[] {
  const out = new Set<string>();
  const add = (t: string) => {
    const w = t.trim();
    if (w.length >= 2 && w.length <= 50) out.add(w);
  };
  for (const part of d.name.split(/[\s,，、;；/（）()]+/)) {
    add(part);
    const stem = part.replace(/(基础信息|信息|数据|资料|记录|名单|清单)$/, '');
    if (stem !== part) add(stem);
  }
  for (const f of d.wantedFields) add(f);
  return [...out].slice(0, 20);
}

// ---------------------------------------------------------------------------------------------------------------
// Open list: XT Art 28

export function checkOpenProposal(resource: { shareType: string }, openType: string): ErrorDetail[] {
  if (resource.shareType === 'none') {
    return [
      {
        field: 'resourceId',
        reason: 'a not-shared resource is not opened (not-shared implies not-open)',
        reasonZh: '不予共享的资源不得开放',
      },
    ];
  }
  if (!(OPEN_LIST_TYPES as readonly string[]).includes(openType)) {
    return [
      { field: 'openType', reason: 'open or onApplication', reasonZh: '开放类型须为无条件开放或依申请开放' },
    ];
  }
  return [];
}
