import { type Actor, hasRole } from '../context.js';
import type { ErrorDetail } from '../shared/errors.js';

/*
 * Base and theme libraries (基础库 / 主题库, issue 7 point 7) and purchased data (point 8): types, limits and the
 * policies, each citing its article. The service asks these; the console shows what they allow.
 */

export const LIBRARY_KINDS = ['base', 'theme'] as const;
export type LibraryKind = (typeof LIBRARY_KINDS)[number];
/** The key identifiers records carry (XT Art 15): citizen ID number or unified social credit code. */
export const KEY_KINDS = ['idNumber', 'creditCode'] as const;
export type KeyKind = (typeof KEY_KINDS)[number];
export const RUN_STATUSES = ['queued', 'running', 'done', 'failed'] as const;
export const CONFLICT_STATUSES = ['open', 'resolved', 'cleared'] as const;
export type ConflictStatus = (typeof CONFLICT_STATUSES)[number];
/** Which side the authority found right when it coordinated a conflict (DG Art 15). */
export const RESOLUTIONS = ['authoritative', 'secondary', 'neither'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];
export const PURCHASE_APPROVALS = ['pending', 'approved', 'refused'] as const;

export const MAX_FIELDS = 40; // jsonb_build_object takes at most 100 arguments: 2 per field, with room
export const MAX_SECONDARY = 5;
export const FIELD_CODE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export interface SourceRef {
  resourceId: number;
  fieldCode: string;
}

export interface LibraryFieldInput {
  code: string;
  name: string;
  /** exactly one authoritative source per field (一数一源, DG Art 15) */
  authoritative: SourceRef;
  secondary?: SourceRef[];
}

export interface LibraryInput {
  name: string;
  kind: LibraryKind;
  keyKind: KeyKind;
  classId?: number | null;
  description?: string;
  fields: LibraryFieldInput[];
}

/**
 * DG Art 21 / XT Art 18–19: the data authority leads the assembly of the base and theme libraries, so it (its reviewer
 * or the platform admin acting for it) defines them and starts their assembly.
 */
export function canDefineLibrary(actor: Actor): boolean {
  return actor.orgKind === 'authority' && hasRole(actor, 'authority_reviewer', 'platform_admin');
}

/** DG Art 15: conflicting values of two departments are coordinated by the authority. */
export function canResolveConflict(actor: Actor): boolean {
  return actor.orgKind === 'authority' && hasRole(actor, 'authority_reviewer', 'platform_admin');
}

/**
 * The assembled records are the authority's, managed centrally (DG Art 21: 由市政务数据主管部门集中统一管理): its
 * reviewer reads them, masked and audited like any data access (DG Art 33). Departments get them through sharing.
 */
export function canReadLibraryRecords(actor: Actor): boolean {
  return actor.orgKind === 'authority' && hasRole(actor, 'authority_reviewer');
}

/**
 * Conflicts: the authority sees all; a department's data officer sees those where its own resource is one side, so it
 * can check its value (DG Art 15: 相关部门应及时协商).
 */
export function canSeeConflict(actor: Actor, sideOrgIds: readonly number[]): boolean {
  if (canResolveConflict(actor)) return true;
  return hasRole(actor, 'data_officer') && sideOrgIds.includes(actor.orgId);
}

/** The provider flags its own resource as purchased data (XT Art 16: the buying department catalogs it). */
export function canDeclarePurchase(actor: Actor, providerOrgId: number): boolean {
  return actor.orgId === providerOrgId && hasRole(actor, 'data_officer');
}

/** XT Art 16: buying social data is approved by the data authority (报本级数据主管部门批准). */
export function canDecidePurchase(actor: Actor): boolean {
  return actor.orgKind === 'authority' && hasRole(actor, 'authority_reviewer');
}

/** Whose provider gave a wrong value, by the authority's resolution: they are told to correct it. */
export function wrongSides(resolution: Resolution): ('authoritative' | 'secondary')[] {
  if (resolution === 'authoritative') return ['secondary'];
  if (resolution === 'secondary') return ['authoritative'];
  return ['authoritative', 'secondary'];
}

/** Shape checks that need no database: codes, duplicates, one authoritative source per field. */
export function checkLibraryShape(input: LibraryInput): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  if (!input.name.trim())
    problems.push({ field: 'name', reason: 'a library has a name', reasonZh: '须填写库名称' });
  if (input.fields.length === 0)
    problems.push({ field: 'fields', reason: 'a library has fields', reasonZh: '至少定义一个信息项' });
  if (input.fields.length > MAX_FIELDS)
    problems.push({
      field: 'fields',
      reason: `at most ${MAX_FIELDS} fields`,
      reasonZh: `信息项不超过 ${MAX_FIELDS} 个`,
    });
  const codes = new Set<string>();
  input.fields.forEach((f, i) => {
    const at = `fields[${i}]`;
    if (!FIELD_CODE.test(f.code))
      problems.push({
        field: `${at}.code`,
        reason: 'a code starts with a letter, then letters, digits or _',
        reasonZh: '信息项代码以字母开头，仅含字母、数字和下划线',
      });
    else if (codes.has(f.code))
      problems.push({ field: `${at}.code`, reason: 'duplicate field code', reasonZh: '信息项代码重复' });
    codes.add(f.code);
    if (!f.name.trim())
      problems.push({ field: `${at}.name`, reason: 'a field has a name', reasonZh: '须填写信息项名称' });
    const secondary = f.secondary ?? [];
    if (secondary.length > MAX_SECONDARY)
      problems.push({
        field: `${at}.secondary`,
        reason: `at most ${MAX_SECONDARY} secondary sources`,
        reasonZh: `辅助来源不超过 ${MAX_SECONDARY} 个`,
      });
    const seen = new Set([f.authoritative.resourceId]);
    secondary.forEach((s, j) => {
      if (seen.has(s.resourceId))
        problems.push({
          field: `${at}.secondary[${j}].resourceId`,
          reason:
            'each source resource appears once per field: one authoritative source, the others secondary (DG Art 15)',
          reasonZh: '同一信息项的来源资源不得重复：权威来源只有一个，其余为辅助来源（DG Art 15）',
        });
      seen.add(s.resourceId);
    });
  });
  return problems;
}
