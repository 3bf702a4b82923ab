import type { Db, Tx } from '../db/index.js';
import type { Profile } from '../profiles/model.js';
import { AppError } from '../shared/errors.js';

/**
 * Refuses publishing or sharing a purchased resource the authority has not approved, where the active profile asks
 * for the approval (XT Art 16). A resource not flagged as purchased, or a profile without the rule, passes.
 */
export async function assertPurchaseApproved(db: Db | Tx, profile: Profile, resourceId: number) {
  const rule = profile.catalog.purchasedData;
  if (!rule?.approvalRequired) return;
  const p = await db
    .selectFrom('resource_purchase')
    .select(['approval'])
    .where('resource_id', '=', resourceId)
    .executeTakeFirst();
  if (!p || p.approval === 'approved') return;
  throw new AppError('PURCHASE_NOT_APPROVED', [
    {
      field: 'resourceId',
      reason: `purchased data is published and shared only with the data authority's approval (${rule.article})`,
      reasonZh: `购买的数据须报数据主管部门批准后方可发布、共享（${rule.article}）`,
    },
  ]);
}
