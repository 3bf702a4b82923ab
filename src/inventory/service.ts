import { appendAudit } from '../audit/store.js';
import { dueDate, shanghaiDate, type WorkdayCalendar, workdaysBetween } from '../calendar/model.js';
import { currentCalendar } from '../calendar/service.js';
import { loadVisibleResource } from '../catalog/service.js';
import type { Actor, AppContext } from '../context.js';
import { inTx, type Tx } from '../db/index.js';
import { notify } from '../notify/service.js';
import { assertOrgFilter } from '../orgs/store.js';
import { AppError } from '../shared/errors.js';
import { statusZh } from '../shared/labels.js';
import { toCsv } from '../shared/tabular.js';
import {
  type BasisKind,
  canManageSystem,
  canReadOrgLists,
  canRecordDuty,
  checkAcceptance,
  checkNegativeProposal,
  checkOpenProposal,
  complianceProblems,
  demandTerms,
  initialNegativeStatus,
  isAuthority,
  isAuthorityReviewer,
  isOwnOfficer,
  NEGATIVE_IN_FORCE,
  negativeListRule,
  OPEN_LIST_ARTICLE,
  type SystemStatus,
  updateDeadline,
} from './model.js';
import * as store from './store.js';

export { hasApprovedNegativeEntry } from './store.js';

export function today(): string {
  return shanghaiDate(new Date());
}

interface Page {
  page: number;
  pageSize: number;
}

function forbidden(reason: string, reasonZh: string): AppError {
  return new AppError('FORBIDDEN', [{ reason, reasonZh }]);
}

const WHAT_ZH: Record<string, string> = {
  demand: '需求清单条目',
  'information system': '政务信息系统',
  match: '供需对接记录',
  'negative-list entry': '负面清单条目',
  'open-list entry': '开放清单条目',
  'update duty': '更新任务',
};

function notFound(what: string, id: number): AppError {
  return new AppError('NOT_FOUND', [
    { field: 'id', reason: `${what} ${id} not found`, reasonZh: `${WHAT_ZH[what] ?? what} ${id} 不存在` },
  ]);
}

/** Lists of other departments are the authority's; a department sees its own. */
function scopeOrg(actor: Actor, orgId: number | undefined): number | undefined {
  if (isAuthority(actor) || actor.roles.includes('auditor')) return orgId;
  return actor.orgId;
}

/** A resource of the actor's own department (the officer acts for its own catalog entries only). */
async function ownResource(ctx: AppContext, actor: Actor, resourceId: number) {
  const r = await loadVisibleResource(ctx, actor, resourceId);
  if (!isOwnOfficer(actor, r.provider_org_id)) {
    throw forbidden(
      "only the providing department's data officer acts on its catalog entries",
      '仅数源部门的数据专员可对本部门目录进行此操作',
    );
  }
  return r;
}

// ===============================================================================================================
// Negative list (负面清单): DG Art 19, XT Art 23, SY Art 23, GD Art 18

type NegativeRow = Awaited<ReturnType<ReturnType<typeof store.negativeQuery>['execute']>>[number];

function negativeView(actor: Actor, n: NegativeRow) {
  return {
    id: n.id,
    resource: { id: n.resource_id, code: n.resource_code, name: n.resource_name },
    org: { id: n.org_id, name: n.org_name },
    shareType: n.share_type,
    basisText: n.basis_text,
    basisKind: n.basis_kind,
    reason: n.reason,
    status: n.status,
    mode: n.mode,
    article: n.article,
    inForce: (NEGATIVE_IN_FORCE as string[]).includes(n.status),
    proposedBy: n.proposed_by_name,
    proposedAt: n.proposed_at,
    decidedBy: n.decided_by_name,
    decidedAt: n.decided_at,
    comment: n.comment,
    canDecide: n.status === 'proposed' && isAuthorityReviewer(actor),
    canWithdraw: (n.status === 'proposed' || n.status === 'filed') && isOwnOfficer(actor, n.org_id),
  };
}

export interface NegativeFilter extends Page {
  orgId?: number;
  status?: string;
}

function negativeFiltered(ctx: AppContext, actor: Actor, f: Omit<NegativeFilter, 'page' | 'pageSize'>) {
  let q = store.negativeQuery(ctx.db);
  const orgId = scopeOrg(actor, f.orgId);
  if (orgId !== undefined) q = q.where('n.org_id', '=', orgId);
  if (f.status) q = q.where('n.status', '=', f.status as NegativeRow['status']);
  return q;
}

export async function listNegative(ctx: AppContext, actor: Actor, f: NegativeFilter) {
  const base = negativeFiltered(ctx, actor, f);
  const [{ total }] = await base
    .clearSelect()
    .select((eb) => eb.fn.countAll<number>().as('total'))
    .execute();
  const rows = await base
    .orderBy('n.id', 'desc')
    .limit(f.pageSize)
    .offset((f.page - 1) * f.pageSize)
    .execute();
  const rule = negativeListRule(ctx.profile);
  return { total: Number(total), rule, items: rows.map((r) => negativeView(actor, r)) };
}

/** Every export is audited: who took how many rows under which filter. */
function auditExport(ctx: AppContext, actor: Actor, action: string, rows: number, filter: object) {
  return appendAudit(ctx.db, {
    actorUserId: actor.id,
    actorOrgId: actor.orgId,
    action,
    decision: 'allow',
    clientIp: actor.clientIp,
    detail: { rows, ...filter },
  });
}

export async function exportNegativeCsv(
  ctx: AppContext,
  actor: Actor,
  f: Omit<NegativeFilter, 'page' | 'pageSize'>,
) {
  const rows = await negativeFiltered(ctx, actor, f).orderBy('n.org_id').orderBy('n.id').execute();
  await auditExport(ctx, actor, 'inventory.negative_exported', rows.length, f);
  return toCsv(
    [
      '序号',
      '部门',
      '资源代码',
      '资源名称',
      '共享类型',
      '依据类别',
      '法律法规依据',
      '理由',
      '状态',
      '条款',
      '提出人',
      '提出时间',
      '审核意见',
    ],
    rows.map((r, i) => [
      i + 1,
      r.org_name,
      r.resource_code,
      r.resource_name,
      r.share_type === 'none' ? '不予共享' : '有条件共享',
      BASIS_KIND_ZH[r.basis_kind],
      r.basis_text,
      r.reason,
      NEGATIVE_STATUS_ZH[r.status],
      r.article,
      r.proposed_by_name,
      shanghaiDate(new Date(r.proposed_at)),
      r.comment,
    ]),
  );
}

const BASIS_KIND_ZH: Record<BasisKind, string> = {
  law: '法律',
  adminRegulation: '行政法规',
  localRegulation: '地方性法规',
  rule: '规章',
  other: '其他',
};
const NEGATIVE_STATUS_ZH: Record<string, string> = {
  proposed: '待审核',
  approved: '已批准',
  rejected: '已退回',
  filed: '已备案',
  withdrawn: '已撤回',
};

async function loadNegative(ctx: AppContext, actor: Actor, id: number, trx?: Tx) {
  const n = await store
    .negativeQuery(trx ?? ctx.db)
    .where('n.id', '=', id)
    .executeTakeFirst();
  if (!n || !canReadOrgLists(actor, n.org_id)) throw notFound('negative-list entry', id);
  return n;
}

export async function getNegative(ctx: AppContext, actor: Actor, id: number) {
  return negativeView(actor, await loadNegative(ctx, actor, id));
}

export async function proposeNegative(
  ctx: AppContext,
  actor: Actor,
  input: { resourceId: number; basisText: string; basisKind: BasisKind; reason: string },
) {
  const r = await ownResource(ctx, actor, input.resourceId);
  const problems = checkNegativeProposal(
    input,
    { shareType: r.share_type, providerOrgId: r.provider_org_id },
    ctx.profile,
  );
  if (problems.length) throw new AppError('VALIDATION_FAILED', problems);
  const rule = negativeListRule(ctx.profile);
  const id = await inTx(ctx.db, async (trx) => {
    const live = await trx
      .selectFrom('negative_list_entry')
      .select('id')
      .where('resource_id', '=', r.id)
      .where('status', 'in', ['proposed', 'approved', 'filed'])
      .executeTakeFirst();
    if (live) {
      throw new AppError('CONFLICT', [
        {
          field: 'resourceId',
          reason: `the resource already has a live negative-list entry (${live.id})`,
          reasonZh: '该资源已有待审核或生效的负面清单条目',
        },
      ]);
    }
    const status = initialNegativeStatus(rule);
    const { id } = await trx
      .insertInto('negative_list_entry')
      .values({
        resource_id: r.id,
        org_id: r.provider_org_id,
        share_type: r.share_type as 'conditional' | 'none',
        basis_text: input.basisText.trim(),
        basis_kind: input.basisKind,
        reason: input.reason.trim(),
        status,
        mode: rule.authority,
        article: rule.article,
        profile_id: ctx.profile.id,
        proposed_by: actor.id,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: status === 'filed' ? 'inventory.negative_filed' : 'inventory.negative_proposed',
      resourceId: r.id,
      targetType: 'negative_list_entry',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { basisKind: input.basisKind, article: rule.article },
    });
    // approval: the reviewers have work waiting; filing: the authority is told (SY Art 23)
    await notify(trx, [{ roles: ['authority_reviewer'], anyOrg: true }], {
      kind: 'inventory.negativeProposed',
      severity: 'info',
      params: { entryId: id, resourceName: r.name, orgId: r.provider_org_id, mode: rule.authority },
      resourceId: r.id,
    });
    return id;
  });
  return getNegative(ctx, actor, id);
}

export async function decideNegative(
  ctx: AppContext,
  actor: Actor,
  id: number,
  input: { approve: boolean; comment?: string | null },
) {
  if (!isAuthorityReviewer(actor)) {
    throw forbidden(
      'only the authority reviewer decides negative-list entries',
      '仅主管部门审核员可审核负面清单',
    );
  }
  const comment = input.comment?.trim() || null;
  if (!input.approve && !comment) {
    throw new AppError('VALIDATION_FAILED', [
      { field: 'comment', reason: 'a rejection states its reason', reasonZh: '退回须填写意见' },
    ]);
  }
  await inTx(ctx.db, async (trx) => {
    const n = await loadNegative(ctx, actor, id, trx);
    const updated = await trx
      .updateTable('negative_list_entry')
      .set({
        status: input.approve ? 'approved' : 'rejected',
        decided_by: actor.id,
        decided_at: new Date(),
        comment,
      })
      .where('id', '=', id)
      .where('status', '=', 'proposed')
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) {
      throw new AppError('REQUEST_NOT_PENDING', [
        {
          field: 'id',
          reason: `entry is ${n.status}`,
          reasonZh: `该负面清单条目当前状态为「${statusZh(n.status, 'negStatus')}」`,
        },
      ]);
    }
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: input.approve ? 'inventory.negative_approved' : 'inventory.negative_rejected',
      resourceId: n.resource_id,
      targetType: 'negative_list_entry',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { comment, article: n.article },
    });
  });
  return getNegative(ctx, actor, id);
}

export async function withdrawNegative(ctx: AppContext, actor: Actor, id: number) {
  await inTx(ctx.db, async (trx) => {
    const n = await loadNegative(ctx, actor, id, trx);
    if (!isOwnOfficer(actor, n.org_id)) {
      throw forbidden('only the department withdraws its entry', '仅本部门数据专员可撤回');
    }
    const u = await trx
      .updateTable('negative_list_entry')
      .set({ status: 'withdrawn', decided_by: actor.id, decided_at: new Date() })
      .where('id', '=', id)
      .where('status', 'in', ['proposed', 'filed'])
      .executeTakeFirst();
    if (Number(u.numUpdatedRows) !== 1) {
      throw new AppError('REQUEST_NOT_PENDING', [
        {
          field: 'id',
          reason: `entry is ${n.status}`,
          reasonZh: `该负面清单条目当前状态为「${statusZh(n.status, 'negStatus')}」`,
        },
      ]);
    }
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'inventory.negative_withdrawn',
      resourceId: n.resource_id,
      targetType: 'negative_list_entry',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
    });
  });
  return getNegative(ctx, actor, id);
}

// ===============================================================================================================
// Update duties: DG Art 11, XT Art 14

type DutyRow = Awaited<ReturnType<ReturnType<typeof store.dutyQuery>['execute']>>[number];

function dutyView(
  actor: Actor,
  d: DutyRow,
  cal: WorkdayCalendar,
  now: string,
  affected: { id: number; code: string; name: string }[] | undefined,
) {
  const open = d.status === 'open';
  const overdue = open && d.due_date !== null && d.due_date < now;
  return {
    id: d.id,
    org: { id: d.org_id, name: d.org_name },
    changeKind: d.change_kind,
    whatChanged: d.what_changed,
    basis: d.basis,
    changeDate: d.change_date,
    dueDate: d.due_date,
    deadline: d.deadline_amount ? { amount: d.deadline_amount, unit: d.deadline_unit } : null,
    article: d.article,
    status: d.status,
    overdue,
    workdaysLeft: open && d.due_date && !overdue ? workdaysBetween(cal, now, d.due_date) : null,
    workdaysOverdue: overdue && d.due_date ? workdaysBetween(cal, d.due_date, now) : null,
    dueDateProvisional: d.due_date !== null && !cal.isYearKnown(Number(d.due_date.slice(0, 4))),
    recordedBy: d.recorded_by_name,
    recordedAt: d.recorded_at,
    doneBy: d.done_by_name,
    doneOn: d.done_on,
    doneNote: d.done_note,
    affectedResources: affected,
    canComplete: open && isOwnOfficer(actor, d.org_id),
  };
}

export async function recordDuty(
  ctx: AppContext,
  actor: Actor,
  input: {
    orgId?: number;
    changeKind: 'legal' | 'functional';
    whatChanged: string;
    basis: string;
    changeDate: string;
  },
) {
  const orgId = input.orgId ?? actor.orgId;
  if (!canRecordDuty(actor, orgId)) {
    throw forbidden(
      "a department's data officer records its own changes; the authority records them for any department",
      '数据专员只能登记本部门的变化，主管部门可为任一部门登记',
    );
  }
  const org = await ctx.db
    .selectFrom('org')
    .select(['id', 'kind', 'name'])
    .where('id', '=', orgId)
    .executeTakeFirst();
  if (org?.kind !== 'department') {
    throw new AppError('VALIDATION_FAILED', [
      { field: 'orgId', reason: 'choose a department', reasonZh: '请选择政务部门' },
    ]);
  }
  if (input.changeDate > today()) {
    throw new AppError('VALIDATION_FAILED', [
      { field: 'changeDate', reason: 'the change has not happened yet', reasonZh: '变化日期不能晚于今天' },
    ]);
  }
  const { deadline, article } = updateDeadline(ctx.profile);
  const cal = await currentCalendar(ctx);
  // DG Art 11 / XT Art 14: within 15 WD of the day the law was published or the function changed (start day not counted)
  const due = deadline ? dueDate(cal, input.changeDate, deadline) : null;
  const id = await inTx(ctx.db, async (trx) => {
    const { id } = await trx
      .insertInto('update_duty')
      .values({
        org_id: orgId,
        change_kind: input.changeKind,
        what_changed: input.whatChanged.trim(),
        basis: input.basis.trim(),
        change_date: input.changeDate,
        due_date: due,
        deadline_amount: deadline?.amount ?? null,
        deadline_unit: deadline?.unit ?? null,
        article,
        recorded_by: actor.id,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'inventory.duty_recorded',
      targetType: 'update_duty',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { orgId, changeDate: input.changeDate, dueDate: due, article },
    });
    await notify(trx, [{ orgIds: [orgId], roles: ['data_officer'] }], {
      kind: 'inventory.updateDuty',
      severity: 'warning',
      params: { dutyId: id, whatChanged: input.whatChanged.trim(), dueDate: due, article },
    });
    return id;
  });
  return getDuty(ctx, actor, id);
}

async function loadDuty(ctx: AppContext, actor: Actor, id: number, trx?: Tx) {
  const d = await store
    .dutyQuery(trx ?? ctx.db)
    .where('u.id', '=', id)
    .executeTakeFirst();
  if (!d || !canReadOrgLists(actor, d.org_id)) throw notFound('update duty', id);
  return d;
}

async function dutyAffected(ctx: AppContext, dutyId: number) {
  return ctx.db
    .selectFrom('update_duty_resource as a')
    .innerJoin('resource as r', 'r.id', 'a.resource_id')
    .select(['r.id', 'r.code', 'r.name'])
    .where('a.duty_id', '=', dutyId)
    .orderBy('r.code')
    .execute();
}

export async function getDuty(ctx: AppContext, actor: Actor, id: number) {
  const d = await loadDuty(ctx, actor, id);
  const cal = await currentCalendar(ctx);
  // the department's entries possibly affected: all of its catalog entries; the officer ticks the affected ones
  const candidates = await ctx.db
    .selectFrom('resource')
    .select(['id', 'code', 'name', 'status', 'updated_at'])
    .where('provider_org_id', '=', d.org_id)
    .where('status', '<>', 'retired')
    .orderBy('code')
    .execute();
  return { ...dutyView(actor, d, cal, today(), await dutyAffected(ctx, id)), candidates };
}

export interface DutyFilter extends Page {
  orgId?: number;
  status?: 'open' | 'done';
  overdueOnly?: boolean;
}

export async function listDuties(ctx: AppContext, actor: Actor, f: DutyFilter) {
  await assertOrgFilter(ctx.db, f.orgId);
  const now = shanghaiDate(ctx.clock.now());
  let q = store.dutyQuery(ctx.db);
  const orgId = scopeOrg(actor, f.orgId);
  if (orgId !== undefined) q = q.where('u.org_id', '=', orgId);
  if (f.status) q = q.where('u.status', '=', f.status);
  if (f.overdueOnly) q = q.where('u.status', '=', 'open').where('u.due_date', '<', now);
  const [{ total }] = await q
    .clearSelect()
    .select((eb) => eb.fn.countAll<number>().as('total'))
    .execute();
  const rows = await q
    .orderBy('u.status', 'desc') // open first
    .orderBy('u.due_date', 'asc')
    .orderBy('u.id', 'desc')
    .limit(f.pageSize)
    .offset((f.page - 1) * f.pageSize)
    .execute();
  const cal = await currentCalendar(ctx);
  return {
    total: Number(total),
    deadline: updateDeadline(ctx.profile),
    items: rows.map((d) => dutyView(actor, d, cal, now, undefined)),
  };
}

/** The officer ticks the catalog entries the change affects (its own department's entries only). */
export async function setDutyResources(ctx: AppContext, actor: Actor, id: number, resourceIds: number[]) {
  await inTx(ctx.db, async (trx) => {
    const d = await loadDuty(ctx, actor, id, trx);
    if (!canRecordDuty(actor, d.org_id)) {
      throw forbidden(
        "only the department's officer or the authority ticks affected entries",
        '仅本部门数据专员或主管部门可标记受影响目录',
      );
    }
    const ids = [...new Set(resourceIds)];
    if (ids.length) {
      const own = await trx
        .selectFrom('resource')
        .select('id')
        .where('id', 'in', ids)
        .where('provider_org_id', '=', d.org_id)
        .execute();
      if (own.length !== ids.length) {
        throw new AppError('VALIDATION_FAILED', [
          {
            field: 'resourceIds',
            reason: "only the department's own catalog entries",
            reasonZh: '只能勾选本部门的目录',
          },
        ]);
      }
    }
    await trx.deleteFrom('update_duty_resource').where('duty_id', '=', id).execute();
    if (ids.length) {
      await trx
        .insertInto('update_duty_resource')
        .values(ids.map((resource_id) => ({ duty_id: id, resource_id })))
        .execute();
    }
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'inventory.duty_resources_set',
      targetType: 'update_duty',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { resourceIds: ids },
    });
  });
  return getDuty(ctx, actor, id);
}

export async function completeDuty(
  ctx: AppContext,
  actor: Actor,
  id: number,
  input: { note?: string | null },
) {
  await inTx(ctx.db, async (trx) => {
    const d = await loadDuty(ctx, actor, id, trx);
    if (!isOwnOfficer(actor, d.org_id)) {
      throw forbidden("the department's data officer marks its duty done", '由本部门数据专员办结');
    }
    const u = await trx
      .updateTable('update_duty')
      .set({
        status: 'done',
        done_by: actor.id,
        done_at: new Date(),
        done_on: today(),
        done_note: input.note?.trim() || null,
      })
      .where('id', '=', id)
      .where('status', '=', 'open')
      .executeTakeFirst();
    if (Number(u.numUpdatedRows) !== 1) {
      throw new AppError('REQUEST_NOT_PENDING', [
        { field: 'id', reason: 'the duty is already done', reasonZh: '该更新任务已办结' },
      ]);
    }
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'inventory.duty_done',
      targetType: 'update_duty',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { dueDate: d.due_date, doneOn: today(), late: d.due_date !== null && today() > d.due_date },
    });
  });
  return getDuty(ctx, actor, id);
}

// ===============================================================================================================
// Information systems: DG Art 13/22, GD Art 11, XT Art 37, SY Art 14

type SystemRow = Awaited<ReturnType<ReturnType<typeof store.systemQuery>['execute']>>[number];

function systemView(
  ctx: AppContext,
  actor: Actor,
  s: SystemRow,
  resources: Awaited<ReturnType<typeof store.systemResources>>,
) {
  const c = { mounted: s.mounted, empty: s.empty };
  const problems = complianceProblems(c);
  return {
    id: s.id,
    name: s.name,
    ownerOrg: { id: s.owner_org_id, name: s.owner_org_name },
    fiscal: s.fiscal,
    status: s.status,
    description: s.description,
    mounted: s.mounted,
    emptyResources: s.empty,
    problems,
    readyForAcceptance: problems.length === 0,
    acceptanceArticle: ctx.profile.catalog.systemAcceptanceArticle ?? null,
    resources: resources
      .filter((r) => r.system_id === s.id)
      .map((r) => ({
        id: r.id,
        code: r.code,
        name: r.name,
        rowCount: r.row_count,
        lastIngestAt: r.last_ingest_at,
      })),
    canManage: canManageSystem(actor, s.owner_org_id),
  };
}

export interface SystemFilter extends Page {
  orgId?: number;
  status?: SystemStatus;
  /** true: only systems not ready for acceptance */
  notReady?: boolean;
}

export async function listSystems(ctx: AppContext, actor: Actor, f: SystemFilter) {
  let q = store.systemQuery(ctx.db);
  const orgId = scopeOrg(actor, f.orgId);
  if (orgId !== undefined) q = q.where('s.owner_org_id', '=', orgId);
  if (f.status) q = q.where('s.status', '=', f.status);
  const all = await q.orderBy('s.id').execute();
  const filtered = f.notReady ? all.filter((s) => complianceProblems(s).length > 0) : all;
  const page = filtered.slice((f.page - 1) * f.pageSize, f.page * f.pageSize);
  const res = await store.systemResources(
    ctx.db,
    page.map((s) => s.id),
  );
  return { total: filtered.length, items: page.map((s) => systemView(ctx, actor, s, res)) };
}

async function loadSystem(ctx: AppContext, actor: Actor, id: number, trx?: Tx) {
  const s = await store
    .systemQuery(trx ?? ctx.db)
    .where('s.id', '=', id)
    .executeTakeFirst();
  if (!s || !canReadOrgLists(actor, s.owner_org_id)) throw notFound('information system', id);
  return s;
}

export async function getSystem(ctx: AppContext, actor: Actor, id: number) {
  const s = await loadSystem(ctx, actor, id);
  return systemView(ctx, actor, s, await store.systemResources(ctx.db, [id]));
}

export interface SystemInput {
  name: string;
  ownerOrgId?: number;
  fiscal: boolean;
  status: SystemStatus;
  description?: string;
}

export async function registerSystem(ctx: AppContext, actor: Actor, input: SystemInput) {
  const ownerOrgId = input.ownerOrgId ?? actor.orgId;
  if (!canManageSystem(actor, ownerOrgId)) {
    throw forbidden(
      'a data officer registers its own department’s systems',
      '数据专员只能登记本部门的信息系统',
    );
  }
  // a system is registered before it is accepted: it has no resources mounted yet (DG Art 13)
  const problems = checkAcceptance(ctx.profile, input, input.status, { mounted: 0, empty: 0 });
  if (problems.length) throw new AppError('SYSTEM_NOT_READY', problems);
  const id = await inTx(ctx.db, async (trx) => {
    const dup = await trx
      .selectFrom('info_system')
      .select('id')
      .where('owner_org_id', '=', ownerOrgId)
      .where('name', '=', input.name.trim())
      .executeTakeFirst();
    if (dup)
      throw new AppError('CONFLICT', [
        { field: 'name', reason: 'already registered', reasonZh: '该系统已登记' },
      ]);
    const { id } = await trx
      .insertInto('info_system')
      .values({
        name: input.name.trim(),
        owner_org_id: ownerOrgId,
        fiscal: input.fiscal,
        status: input.status,
        description: input.description?.trim() ?? '',
        created_by: actor.id,
        updated_at: new Date(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'inventory.system_registered',
      targetType: 'info_system',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { ownerOrgId, fiscal: input.fiscal, status: input.status },
    });
    return id;
  });
  return getSystem(ctx, actor, id);
}

export async function setSystemStatus(ctx: AppContext, actor: Actor, id: number, status: SystemStatus) {
  await inTx(ctx.db, async (trx) => {
    const s = await loadSystem(ctx, actor, id, trx);
    if (!canManageSystem(actor, s.owner_org_id)) {
      throw forbidden(
        "only the owner department's officer or the authority",
        '仅系统所属部门数据专员或主管部门',
      );
    }
    const problems = checkAcceptance(ctx.profile, s, status, { mounted: s.mounted, empty: s.empty });
    if (problems.length) throw new AppError('SYSTEM_NOT_READY', problems);
    await trx
      .updateTable('info_system')
      .set({ status, updated_at: new Date() })
      .where('id', '=', id)
      .execute();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'inventory.system_status',
      targetType: 'info_system',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { from: s.status, to: status },
    });
  });
  return getSystem(ctx, actor, id);
}

/** Mounts (or unmounts) one of the owner department's catalog entries on the system. */
export async function mountResource(
  ctx: AppContext,
  actor: Actor,
  id: number,
  resourceId: number,
  mount: boolean,
) {
  await inTx(ctx.db, async (trx) => {
    const s = await loadSystem(ctx, actor, id, trx);
    if (!canManageSystem(actor, s.owner_org_id)) {
      throw forbidden(
        "only the owner department's officer or the authority",
        '仅系统所属部门数据专员或主管部门',
      );
    }
    const r = await trx
      .selectFrom('resource')
      .select(['id', 'provider_org_id'])
      .where('id', '=', resourceId)
      .executeTakeFirst();
    if (!r || r.provider_org_id !== s.owner_org_id) {
      throw new AppError('VALIDATION_FAILED', [
        {
          field: 'resourceId',
          reason: "mount the owner department's own catalog entries",
          reasonZh: '只能挂接系统所属部门的目录',
        },
      ]);
    }
    if (mount) {
      await trx
        .insertInto('info_system_resource')
        .values({ system_id: id, resource_id: resourceId, mounted_by: actor.id })
        .onConflict((oc) => oc.doNothing())
        .execute();
    } else {
      await trx
        .deleteFrom('info_system_resource')
        .where('system_id', '=', id)
        .where('resource_id', '=', resourceId)
        .execute();
    }
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: mount ? 'inventory.system_mounted' : 'inventory.system_unmounted',
      resourceId,
      targetType: 'info_system',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
    });
  });
  return getSystem(ctx, actor, id);
}

// ===============================================================================================================
// Responsibility and demand lists: NY task 6, SY Art 18

export async function addResponsibility(
  ctx: AppContext,
  actor: Actor,
  input: { name: string; description?: string; basis?: string; resourceId?: number | null },
) {
  if (!isOwnOfficer(actor, actor.orgId)) {
    throw forbidden(
      "a department's data officer keeps its responsibility list",
      '由部门数据专员维护本部门责任清单',
    );
  }
  if (input.resourceId) await ownResource(ctx, actor, input.resourceId);
  return inTx(ctx.db, async (trx) => {
    const { id } = await trx
      .insertInto('responsibility_item')
      .values({
        org_id: actor.orgId,
        name: input.name.trim(),
        description: input.description?.trim() ?? '',
        basis: input.basis?.trim() ?? '',
        resource_id: input.resourceId ?? null,
        created_by: actor.id,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'inventory.responsibility_added',
      resourceId: input.resourceId ?? null,
      targetType: 'responsibility_item',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
    });
    return { id };
  });
}

export async function listResponsibilities(ctx: AppContext, actor: Actor, f: Page & { orgId?: number }) {
  let q = ctx.db
    .selectFrom('responsibility_item as i')
    .innerJoin('org as o', 'o.id', 'i.org_id')
    .leftJoin('resource as r', 'r.id', 'i.resource_id');
  const orgId = scopeOrg(actor, f.orgId);
  if (orgId !== undefined) q = q.where('i.org_id', '=', orgId);
  const [{ total }] = await q.select((eb) => eb.fn.countAll<number>().as('total')).execute();
  const rows = await q
    .select([
      'i.id',
      'i.org_id',
      'o.name as org_name',
      'i.name',
      'i.description',
      'i.basis',
      'r.id as rid',
      'r.code',
      'r.name as rname',
    ])
    .orderBy('i.org_id')
    .orderBy('i.id')
    .limit(f.pageSize)
    .offset((f.page - 1) * f.pageSize)
    .execute();
  return {
    total: Number(total),
    items: rows.map((r) => ({
      id: r.id,
      org: { id: r.org_id, name: r.org_name },
      name: r.name,
      description: r.description,
      basis: r.basis,
      resource: r.rid ? { id: r.rid, code: r.code, name: r.rname } : null,
    })),
  };
}

/** The officer's demand; govshare proposes matching catalog entries at once (store.matchDemand). */
export async function addDemand(
  ctx: AppContext,
  actor: Actor,
  input: { name: string; purpose: string; basis?: string; wantedFields?: string[] },
) {
  if (!isOwnOfficer(actor, actor.orgId)) {
    throw forbidden("a department's data officer keeps its demand list", '由部门数据专员维护本部门需求清单');
  }
  const wanted = [...new Set((input.wantedFields ?? []).map((f) => f.trim()).filter(Boolean))];
  const id = await inTx(ctx.db, async (trx) => {
    const { id } = await trx
      .insertInto('demand_item')
      .values({
        org_id: actor.orgId,
        name: input.name.trim(),
        purpose: input.purpose.trim(),
        basis: input.basis?.trim() ?? '',
        wanted_fields: wanted,
        created_by: actor.id,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const matches = await store.matchDemand(trx, {
      orgId: actor.orgId,
      terms: demandTerms({ name: input.name, wantedFields: wanted }),
    });
    if (matches.length) {
      await trx
        .insertInto('demand_match')
        .values(
          matches.map((m) => ({
            demand_id: id,
            resource_id: m.resourceId,
            score: m.score,
            matched_terms: m.terms,
          })),
        )
        .execute();
    }
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'inventory.demand_added',
      targetType: 'demand_item',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { proposed: matches.map((m) => m.resourceId) },
    });
    return id;
  });
  return getDemand(ctx, actor, id);
}

async function demandMatches(ctx: AppContext, demandIds: number[]) {
  if (!demandIds.length) return [];
  return ctx.db
    .selectFrom('demand_match as m')
    .innerJoin('resource as r', 'r.id', 'm.resource_id')
    .innerJoin('org as o', 'o.id', 'r.provider_org_id')
    .select([
      'm.demand_id',
      'm.resource_id',
      'r.code',
      'r.name',
      'o.name as provider',
      'm.score',
      'm.matched_terms',
      'm.status',
    ])
    .where('m.demand_id', 'in', demandIds)
    .orderBy('m.score', 'desc')
    .orderBy('m.resource_id')
    .execute();
}

type DemandState = 'matched' | 'proposed' | 'unmatched';

function demandState(ms: { status: string }[]): DemandState {
  if (ms.some((m) => m.status === 'confirmed')) return 'matched';
  if (ms.some((m) => m.status === 'proposed')) return 'proposed';
  return 'unmatched';
}

export interface DemandFilter extends Page {
  orgId?: number;
  state?: DemandState;
}

async function demandRows(ctx: AppContext, actor: Actor, f: Omit<DemandFilter, 'page' | 'pageSize'>) {
  let q = ctx.db.selectFrom('demand_item as d').innerJoin('org as o', 'o.id', 'd.org_id');
  const orgId = scopeOrg(actor, f.orgId);
  if (orgId !== undefined) q = q.where('d.org_id', '=', orgId);
  const rows = await q
    .select([
      'd.id',
      'd.org_id',
      'o.name as org_name',
      'd.name',
      'd.purpose',
      'd.basis',
      'd.wanted_fields',
      'd.created_at',
    ])
    .orderBy('d.org_id')
    .orderBy('d.id')
    .execute();
  const matches = await demandMatches(
    ctx,
    rows.map((r) => r.id),
  );
  const out = rows.map((d) => {
    const ms = matches.filter((m) => m.demand_id === d.id);
    return {
      id: d.id,
      org: { id: d.org_id, name: d.org_name },
      name: d.name,
      purpose: d.purpose,
      basis: d.basis,
      wantedFields: d.wanted_fields,
      createdAt: d.created_at,
      state: demandState(ms),
      matches: ms.map((m) => ({
        resource: { id: m.resource_id, code: m.code, name: m.name, provider: m.provider },
        score: m.score,
        matchedTerms: m.matched_terms,
        status: m.status,
      })),
      canDecide: isOwnOfficer(actor, d.org_id),
    };
  });
  return f.state ? out.filter((d) => d.state === f.state) : out;
}

export async function listDemands(ctx: AppContext, actor: Actor, f: DemandFilter) {
  const all = await demandRows(ctx, actor, f);
  return { total: all.length, items: all.slice((f.page - 1) * f.pageSize, f.page * f.pageSize) };
}

export async function getDemand(ctx: AppContext, actor: Actor, id: number) {
  const d = await ctx.db
    .selectFrom('demand_item')
    .select(['id', 'org_id'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!d || !canReadOrgLists(actor, d.org_id)) throw notFound('demand', id);
  const rows = await demandRows(ctx, actor, { orgId: d.org_id });
  const found = rows.find((r) => r.id === id);
  if (!found) throw notFound('demand', id);
  return found;
}

/** The demanding department's officer confirms or rejects a proposed match. */
export async function decideMatch(
  ctx: AppContext,
  actor: Actor,
  demandId: number,
  resourceId: number,
  confirm: boolean,
) {
  await inTx(ctx.db, async (trx) => {
    const d = await trx
      .selectFrom('demand_item')
      .select(['id', 'org_id'])
      .where('id', '=', demandId)
      .executeTakeFirst();
    if (!d || !canReadOrgLists(actor, d.org_id)) throw notFound('demand', demandId);
    if (!isOwnOfficer(actor, d.org_id)) {
      throw forbidden("the demanding department's officer confirms matches", '由需求部门数据专员确认匹配');
    }
    const u = await trx
      .updateTable('demand_match')
      .set({ status: confirm ? 'confirmed' : 'rejected', decided_by: actor.id, decided_at: new Date() })
      .where('demand_id', '=', demandId)
      .where('resource_id', '=', resourceId)
      .executeTakeFirst();
    if (Number(u.numUpdatedRows) !== 1) throw notFound('match', resourceId);
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: confirm ? 'inventory.match_confirmed' : 'inventory.match_rejected',
      resourceId,
      targetType: 'demand_item',
      targetId: demandId,
      decision: 'allow',
      clientIp: actor.clientIp,
    });
  });
  return getDemand(ctx, actor, demandId);
}

const STATE_ZH: Record<DemandState, string> = { matched: '已匹配', proposed: '待确认', unmatched: '未匹配' };

/** The supply–demand matching list (供需对接清单): one row per demand and confirmed or proposed entry. */
export async function exportMatchingCsv(
  ctx: AppContext,
  actor: Actor,
  f: Omit<DemandFilter, 'page' | 'pageSize'>,
) {
  const demands = await demandRows(ctx, actor, f);
  const rows: unknown[][] = [];
  let n = 0;
  for (const d of demands) {
    const shown = d.matches.filter((m) => m.status !== 'rejected');
    if (!shown.length)
      rows.push([
        ++n,
        d.org.name,
        d.name,
        d.purpose,
        d.basis,
        d.wantedFields,
        STATE_ZH[d.state],
        '',
        '',
        '',
        '',
      ]);
    for (const m of shown) {
      rows.push([
        ++n,
        d.org.name,
        d.name,
        d.purpose,
        d.basis,
        d.wantedFields,
        STATE_ZH[d.state],
        m.resource.provider,
        m.resource.code,
        m.resource.name,
        m.status === 'confirmed' ? '已确认' : '建议',
      ]);
    }
  }
  await auditExport(ctx, actor, 'inventory.matching_exported', rows.length, f);
  return toCsv(
    [
      '序号',
      '需求部门',
      '需求事项',
      '用途',
      '依据',
      '所需信息项',
      '匹配状态',
      '供给部门',
      '资源代码',
      '资源名称',
      '匹配类型',
    ],
    rows,
  );
}

// ===============================================================================================================
// Open list and confidentiality review: XT Art 28

async function openRows(ctx: AppContext, f: { orgId?: number; status?: string; id?: number }, trx?: Tx) {
  let q = (trx ?? ctx.db)
    .selectFrom('open_list_entry as e')
    .innerJoin('resource as r', 'r.id', 'e.resource_id')
    .innerJoin('org as o', 'o.id', 'e.org_id')
    .innerJoin('app_user as p', 'p.id', 'e.proposed_by')
    .leftJoin('app_user as d', 'd.id', 'e.decided_by')
    .select([
      'e.id',
      'e.resource_id',
      'r.code',
      'r.name',
      'r.format',
      'r.update_cycle',
      'e.org_id',
      'o.name as org_name',
      'e.open_type',
      'e.conditions',
      'e.status',
      'p.display_name as proposed_by_name',
      'e.proposed_at',
      'd.display_name as decided_by_name',
      'e.decided_at',
      'e.comment',
    ]);
  if (f.orgId !== undefined) q = q.where('e.org_id', '=', f.orgId);
  if (f.status) q = q.where('e.status', '=', f.status as 'proposed');
  if (f.id !== undefined) q = q.where('e.id', '=', f.id);
  return q.orderBy('e.org_id').orderBy('e.id', 'desc').execute();
}

function openView(actor: Actor, e: Awaited<ReturnType<typeof openRows>>[number]) {
  return {
    id: e.id,
    resource: {
      id: e.resource_id,
      code: e.code,
      name: e.name,
      format: e.format,
      updateCycle: e.update_cycle,
    },
    org: { id: e.org_id, name: e.org_name },
    openType: e.open_type,
    conditions: e.conditions,
    status: e.status,
    article: OPEN_LIST_ARTICLE,
    proposedBy: e.proposed_by_name,
    proposedAt: e.proposed_at,
    decidedBy: e.decided_by_name,
    decidedAt: e.decided_at,
    comment: e.comment,
    canDecide: e.status === 'proposed' && isAuthorityReviewer(actor),
  };
}

export async function listOpen(ctx: AppContext, actor: Actor, f: Page & { orgId?: number; status?: string }) {
  const all = await openRows(ctx, { orgId: scopeOrg(actor, f.orgId), status: f.status });
  return {
    total: all.length,
    items: all.slice((f.page - 1) * f.pageSize, f.page * f.pageSize).map((e) => openView(actor, e)),
  };
}

/** The published open list (approved after confidentiality review), per department; for the open portal. */
export async function publishedOpenList(ctx: AppContext, orgId?: number) {
  const rows = await openRows(ctx, { orgId, status: 'approved' });
  const byOrg = new Map<number, { org: { id: number; name: string }; items: unknown[] }>();
  for (const e of rows) {
    const g = byOrg.get(e.org_id) ?? { org: { id: e.org_id, name: e.org_name }, items: [] };
    g.items.push({
      resource: {
        id: e.resource_id,
        code: e.code,
        name: e.name,
        format: e.format,
        updateCycle: e.update_cycle,
      },
      openType: e.open_type,
      conditions: e.conditions,
      approvedAt: e.decided_at,
    });
    byOrg.set(e.org_id, g);
  }
  return { article: OPEN_LIST_ARTICLE, departments: [...byOrg.values()] };
}

export async function proposeOpen(
  ctx: AppContext,
  actor: Actor,
  input: { resourceId: number; openType: 'open' | 'onApplication'; conditions?: string | null },
) {
  const r = await ownResource(ctx, actor, input.resourceId);
  const problems = checkOpenProposal({ shareType: r.share_type }, input.openType);
  if (input.openType === 'onApplication' && !input.conditions?.trim()) {
    problems.push({
      field: 'conditions',
      reason: 'on-application opening states its conditions',
      reasonZh: '依申请开放须写明开放条件',
    });
  }
  if (problems.length) throw new AppError('VALIDATION_FAILED', problems);
  const id = await inTx(ctx.db, async (trx) => {
    const live = await trx
      .selectFrom('open_list_entry')
      .select('id')
      .where('resource_id', '=', r.id)
      .where('status', 'in', ['proposed', 'approved'])
      .executeTakeFirst();
    if (live) {
      throw new AppError('CONFLICT', [
        {
          field: 'resourceId',
          reason: 'already proposed or on the open list',
          reasonZh: '该资源已在开放清单或待审核',
        },
      ]);
    }
    const { id } = await trx
      .insertInto('open_list_entry')
      .values({
        resource_id: r.id,
        org_id: r.provider_org_id,
        open_type: input.openType,
        conditions: input.conditions?.trim() || null,
        status: 'proposed',
        proposed_by: actor.id,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'inventory.open_proposed',
      resourceId: r.id,
      targetType: 'open_list_entry',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
    });
    await notify(trx, [{ roles: ['authority_reviewer'], anyOrg: true }], {
      kind: 'inventory.openProposed',
      severity: 'info',
      params: { entryId: id, resourceName: r.name },
      resourceId: r.id,
    });
    return id;
  });
  const [row] = await openRows(ctx, { id });
  return openView(actor, row);
}

/** The confidentiality review (保密审查, XT Art 28) by the authority's reviewer. */
export async function decideOpen(
  ctx: AppContext,
  actor: Actor,
  id: number,
  input: { approve: boolean; comment?: string | null },
) {
  if (!isAuthorityReviewer(actor)) {
    throw forbidden(
      `only the authority reviewer performs the confidentiality review (${OPEN_LIST_ARTICLE})`,
      `保密审查由主管部门审核员办理（${OPEN_LIST_ARTICLE}）`,
    );
  }
  const comment = input.comment?.trim() || null;
  if (!input.approve && !comment) {
    throw new AppError('VALIDATION_FAILED', [
      { field: 'comment', reason: 'a rejection states its reason', reasonZh: '退回须填写意见' },
    ]);
  }
  await inTx(ctx.db, async (trx) => {
    const [e] = await openRows(ctx, { id }, trx);
    if (!e) throw notFound('open-list entry', id);
    const u = await trx
      .updateTable('open_list_entry')
      .set({
        status: input.approve ? 'approved' : 'rejected',
        decided_by: actor.id,
        decided_at: new Date(),
        comment,
      })
      .where('id', '=', id)
      .where('status', '=', 'proposed')
      .executeTakeFirst();
    if (Number(u.numUpdatedRows) !== 1)
      throw new AppError('REQUEST_NOT_PENDING', [
        {
          field: 'id',
          reason: `entry is ${e.status}`,
          reasonZh: `该开放清单条目当前状态为「${statusZh(e.status, 'openStatus')}」`,
        },
      ]);
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: input.approve ? 'inventory.open_approved' : 'inventory.open_rejected',
      resourceId: e.resource_id,
      targetType: 'open_list_entry',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { comment, article: OPEN_LIST_ARTICLE },
    });
  });
  const [row] = await openRows(ctx, { id });
  return openView(actor, row);
}

// ===============================================================================================================
// What waits for each role (the console's inventory overview)

export async function inbox(ctx: AppContext, actor: Actor) {
  const authority = isAuthority(actor);
  const orgId = authority ? undefined : actor.orgId;
  const [neg, open, duties, demands, systems] = await Promise.all([
    listNegative(ctx, actor, { orgId, status: 'proposed', page: 1, pageSize: 1 }),
    listOpen(ctx, actor, { orgId, status: 'proposed', page: 1, pageSize: 1 }),
    listDuties(ctx, actor, { orgId, status: 'open', page: 1, pageSize: 200 }),
    listDemands(ctx, actor, { orgId, page: 1, pageSize: 10000 }),
    listSystems(ctx, actor, { orgId, notReady: true, page: 1, pageSize: 1 }),
  ]);
  return {
    negativePending: neg.total,
    openPending: open.total,
    dutiesOpen: duties.total,
    dutiesOverdue: duties.items.filter((d) => d.overdue).length,
    demandsToConfirm: demands.items.filter((d) => d.state === 'proposed').length,
    demandsUnmatched: demands.items.filter((d) => d.state === 'unmatched').length,
    systemsNotReady: systems.total,
  };
}
