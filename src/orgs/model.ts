import type { Actor } from '../context.js';
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
