import type { Actor, Role } from '../context.js';
import { hasRole } from '../context.js';

/*
 * Who may do what with organisations' apps. GB/T 39477 §6: central authentication and authorisation;
 * an app's credentials belong to its consumer organisation.
 */
export function canManageApp(actor: Actor, appOrgId: number): boolean {
  if (hasRole(actor, 'platform_admin')) return true;
  return actor.orgId === appOrgId && hasRole(actor, 'data_officer', 'consumer_staff');
}

export function canSeeAllApps(actor: Actor): boolean {
  return hasRole(actor, 'platform_admin', 'auditor');
}

/** API keys: `gs_` + 8-char public prefix (shown in lists) + `_` + secret. Only a hash is stored. */
export function apiKeyPrefix(key: string): string {
  return key.slice(0, 11);
}

/**
 * GB/T 39477-2020 (separated duties): the system administrator, the auditor and the operators (everyone doing the
 * catalog, sharing and data work) are distinct people. Returns the conflicting pair, or null.
 */
export const DUTY_OF: Record<Role, 'admin' | 'audit' | 'operate'> = {
  platform_admin: 'admin',
  auditor: 'audit',
  authority_reviewer: 'operate',
  data_officer: 'operate',
  section_head: 'operate',
  consumer_staff: 'operate',
};

export function dutyConflict(roles: readonly Role[]): [Role, Role] | null {
  for (const a of roles) for (const b of roles) if (DUTY_OF[a] !== DUTY_OF[b]) return [a, b];
  return null;
}
