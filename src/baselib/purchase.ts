import { appendAudit } from '../audit/store.js';
import { loadVisibleResource } from '../catalog/service.js';
import type { Actor, AppContext } from '../context.js';
import { inTx } from '../db/index.js';
import { notify } from '../notify/service.js';
import { AppError } from '../shared/errors.js';
import { canDecidePurchase, canDeclarePurchase } from './model.js';

/*
 * Purchased data (购买的数据, issue 7 point 8). A resource flagged as purchased carries its supplier, contract and
 * period; it is cataloged and shared like any other resource (DG Art 25, XT Art 16). Where the profile says so
 * (`catalog.purchasedData.approvalRequired`, XT Art 16), the authority's approval record must exist before the entry is
 * published or requested: the catalog's publish decision and the sharing request ask `assertPurchaseApproved`.
 */

export interface PurchaseInput {
  supplier: string;
  contractRef: string;
  periodFrom: string;
  periodTo: string;
}

function view(p: {
  supplier: string;
  contract_ref: string;
  period_from: string;
  period_to: string;
  declared_at: Date;
  approval: string;
  approval_ref: string | null;
  approval_note: string | null;
  decided_at: Date | null;
  decided_by_name?: string | null;
}) {
  return {
    supplier: p.supplier,
    contractRef: p.contract_ref,
    periodFrom: p.period_from,
    periodTo: p.period_to,
    declaredAt: p.declared_at,
    approval: p.approval,
    approvalRef: p.approval_ref,
    approvalNote: p.approval_note,
    decidedAt: p.decided_at,
    decidedBy: p.decided_by_name ?? null,
  };
}

export async function getPurchase(ctx: AppContext, actor: Actor, resourceId: number) {
  const r = await loadVisibleResource(ctx, actor, resourceId);
  const p = await ctx.db
    .selectFrom('resource_purchase as p')
    .leftJoin('app_user as u', 'u.id', 'p.decided_by')
    .selectAll('p')
    .select('u.display_name as decided_by_name')
    .where('p.resource_id', '=', resourceId)
    .executeTakeFirst();
  const rule = ctx.profile.catalog.purchasedData;
  return {
    purchase: p ? view(p) : null,
    approvalRequired: rule?.approvalRequired ?? false,
    article: rule?.article ?? null,
    canDeclare: canDeclarePurchase(actor, r.provider_org_id),
    canDecide: canDecidePurchase(actor) && p?.approval === 'pending',
  };
}

/** The provider flags its resource as purchased (or changes the record, which asks for a new approval). */
export async function declarePurchase(
  ctx: AppContext,
  actor: Actor,
  resourceId: number,
  input: PurchaseInput,
) {
  const r = await loadVisibleResource(ctx, actor, resourceId);
  if (!canDeclarePurchase(actor, r.provider_org_id))
    throw new AppError('FORBIDDEN', [
      {
        reason: "the provider's data officer records its purchased data (XT Art 16)",
        reasonZh: '购买的数据由数源部门数据专员登记（XT Art 16）',
      },
    ]);
  const problems = [];
  if (!input.supplier.trim())
    problems.push({ field: 'supplier', reason: 'name the supplier', reasonZh: '须填写供应商' });
  if (!input.contractRef.trim())
    problems.push({
      field: 'contractRef',
      reason: 'give the contract reference',
      reasonZh: '须填写合同编号',
    });
  if (input.periodTo < input.periodFrom)
    problems.push({
      field: 'periodTo',
      reason: 'the period ends after it starts',
      reasonZh: '采购期限的结束日期不得早于开始日期',
    });
  if (problems.length) throw new AppError('VALIDATION_FAILED', problems);
  return inTx(ctx.db, async (trx) => {
    const now = ctx.clock.now();
    const values = {
      supplier: input.supplier.trim(),
      contract_ref: input.contractRef.trim(),
      period_from: input.periodFrom,
      period_to: input.periodTo,
      declared_by: actor.id,
      declared_at: now,
      approval: 'pending' as const,
      approval_ref: null,
      approval_note: null,
      decided_by: null,
      decided_at: null,
    };
    await trx
      .insertInto('resource_purchase')
      .values({ resource_id: resourceId, ...values })
      .onConflict((oc) => oc.column('resource_id').doUpdateSet(values))
      .execute();
    await appendAudit(trx, {
      action: 'purchase.declare',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      resourceId,
      targetType: 'resource',
      targetId: r.code,
      clientIp: actor.clientIp,
      detail: { supplier: values.supplier, contractRef: values.contract_ref },
    });
    return getPurchase({ ...ctx, db: trx }, actor, resourceId);
  });
}

/** XT Art 16: the authority approves (or refuses) the purchase, with its approval reference; audited, provider told. */
export async function decidePurchase(
  ctx: AppContext,
  actor: Actor,
  resourceId: number,
  input: { approve: boolean; approvalRef?: string; note?: string },
) {
  const r = await loadVisibleResource(ctx, actor, resourceId);
  if (!canDecidePurchase(actor))
    throw new AppError('FORBIDDEN', [
      {
        reason: 'the data authority approves purchased data (XT Art 16)',
        reasonZh: '购买数据由数据主管部门批准（XT Art 16）',
      },
    ]);
  if (input.approve && !input.approvalRef?.trim())
    throw new AppError('VALIDATION_FAILED', [
      { field: 'approvalRef', reason: 'an approval has its reference', reasonZh: '批准须填写批准文号' },
    ]);
  return inTx(ctx.db, async (trx) => {
    const p = await trx
      .selectFrom('resource_purchase')
      .select('approval')
      .where('resource_id', '=', resourceId)
      .forUpdate()
      .executeTakeFirst();
    if (!p)
      throw new AppError('NOT_FOUND', [
        { field: 'resourceId', reason: 'not flagged as purchased', reasonZh: '该资源未登记为购买数据' },
      ]);
    if (p.approval !== 'pending')
      throw new AppError('REVIEW_STATE_INVALID', [
        { reason: `already ${p.approval}`, reasonZh: '该购买数据已审批' },
      ]);
    await trx
      .updateTable('resource_purchase')
      .set({
        approval: input.approve ? 'approved' : 'refused',
        approval_ref: input.approvalRef?.trim() || null,
        approval_note: input.note?.trim() || null,
        decided_by: actor.id,
        decided_at: ctx.clock.now(),
      })
      .where('resource_id', '=', resourceId)
      .execute();
    await notify(trx, [{ roles: ['data_officer'], orgIds: [r.provider_org_id] }], {
      kind: 'purchase.decided',
      severity: input.approve ? 'info' : 'warning',
      params: { resourceName: r.name, approved: input.approve, approvalRef: input.approvalRef ?? null },
      resourceId,
    });
    await appendAudit(trx, {
      action: 'purchase.decide',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      resourceId,
      targetType: 'resource',
      targetId: r.code,
      clientIp: actor.clientIp,
      detail: { approve: input.approve, approvalRef: input.approvalRef ?? null },
    });
    return getPurchase({ ...ctx, db: trx }, actor, resourceId);
  });
}
