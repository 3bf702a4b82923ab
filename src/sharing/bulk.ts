import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import {
  dueDate,
  endOfShanghaiDay,
  shanghaiDate,
  type WorkdayCalendar,
  workdaysBetween,
} from '../calendar/model.js';
import { currentCalendar } from '../calendar/service.js';
import { effectiveShareType } from '../catalog/model.js';
import type { Actor, AppContext, Role } from '../context.js';
import { hasRole } from '../context.js';
import { inTx, type Tx } from '../db/index.js';
import { requireActor } from '../http/auth.js';
import { dateString, idParams } from '../http/schemas.js';
import { NEGATIVE_IN_FORCE } from '../inventory/model.js';
import { type NotificationKind, notify, type Recipients } from '../notify/service.js';
import { PROFILES } from '../profiles/index.js';
import type { Profile, TimeoutAction } from '../profiles/model.js';
import { AppError } from '../shared/errors.js';
import { type NoticeKind, remindOrEscalate } from './reminders.js';

/*
 * NY task 7: "各部门可采用整体授权或同等代理授权方式简化手续,原则上10个工作日内完成授权,不予授权的应当提供依据。"
 * Both exist only where the profile names them (`sharing.bulkGrants.kinds`); elsewhere every call is refused with
 * CASE_NOT_IN_PROFILE (audited by the error handler, like every refusal).
 *
 *   bulkGrant (整体授权)  one consumer app receives, in one request and one decision, every unconditional resource of a
 *                         catalog class (the class node and its subtree): all its fields, for the stated purpose, until
 *                         the stated day. Resources published in the class later are covered at their publication
 *                         (`coverPublished`, called by the catalog's publish). The class spans providers, so the data
 *                         authority, which runs the platform's 统一授权 (NY task 7), decides. A resource whose grant
 *                         needs a risk assessment first (profile.security.riskAssessment: important/core data, NY
 *                         task 11) is not covered: it keeps its own request, where the assessment is recorded.
 *   proxyGrant (同等代理授权) an agent department's app acts for a principal department with the same rights: every
 *                         live grant the principal holds from one provider is mirrored onto the agent's app (same fields,
 *                         purpose and purpose id, rights, quotas, clear-value fields), and follows its source: edited,
 *                         revoked and ended with it; later grants of the principal from that provider are mirrored
 *                         when issued. The agent files; the provider decides (its data officer).
 *
 * Deadline: `bulkGrants.deadline` from the day of filing (10 WD); a refusal states a reason and, under
 * `refusalRequires: 'legalBasis'`, its basis ("不予授权的应当提供依据"). The issued rows are ordinary share_grant rows
 * (bulk_id, proxy_of), so the data API authorises them with the one rule it applies to every grant.
 */

const todayOf = (ctx: AppContext) => shanghaiDate(ctx.clock.now());

export type BulkKind = 'bulkGrant' | 'proxyGrant';

const LIVE = ['active', 'riskPending'] as const;
const authority: Recipients = { roles: ['authority_reviewer'], anyOrg: true };
const officersOf = (orgIds: number[], roles: Role[] = ['data_officer']): Recipients => ({ orgIds, roles });

function ruleFor(profile: Profile, kind: BulkKind) {
  const rule = profile.sharing.bulkGrants;
  if (!rule || !rule.kinds.includes(kind))
    throw new AppError('CASE_NOT_IN_PROFILE', [
      {
        field: 'kind',
        value: kind,
        reason: `the active regulation provides no ${kind === 'bulkGrant' ? 'bulk' : 'proxy'} grant`,
        reasonZh: `现行规则未规定${kind === 'bulkGrant' ? '整体授权' : '同等代理授权'}`,
      },
    ]);
  return rule;
}

export interface BulkInput {
  kind: BulkKind;
  appId: number;
  purpose: string;
  validUntil: string;
  /** bulkGrant: the catalog class node */
  classId?: number;
  /** proxyGrant: the department acted for, and the provider whose grants to it are mirrored */
  principalOrgId?: number;
  providerOrgId?: number;
}

function bad(field: string, reason: string, reasonZh: string): never {
  throw new AppError('VALIDATION_FAILED', [{ field, reason, reasonZh }]);
}

/** A department files a bulk or proxy grant request for one of its apps. */
export async function fileBulkGrant(ctx: AppContext, actor: Actor, input: BulkInput) {
  const rule = ruleFor(ctx.profile, input.kind);
  if (!hasRole(actor, 'data_officer', 'consumer_staff'))
    throw new AppError('FORBIDDEN', [
      {
        reason: "a department's data officer or staff files for its own apps",
        reasonZh: '只有部门的数据专员或业务人员可以为本部门的应用提出申请',
      },
    ]);
  const purpose = input.purpose.trim();
  if (purpose.length < 4) bad('purpose', 'state the purpose of use', '须说明数据使用用途（至少 4 个字）');
  const today = todayOf(ctx);
  if (input.validUntil <= today) bad('validUntil', 'the grant must end after today', '有效期须晚于今天');
  const cal = await currentCalendar(ctx);
  const due = rule.deadline ? dueDate(cal, today, rule.deadline) : null;
  const id = await inTx(ctx.db, async (trx) => {
    const app = await trx
      .selectFrom('app')
      .select(['org_id', 'status', 'name'])
      .where('id', '=', input.appId)
      .executeTakeFirst();
    if (!app || app.org_id !== actor.orgId || app.status !== 'active')
      bad('appId', 'choose an active app of your own organisation', '请选择本单位启用中的应用');
    let className: string | null = null;
    let providerName: string | null = null;
    if (input.kind === 'bulkGrant') {
      const cls = input.classId
        ? await trx
            .selectFrom('catalog_class')
            .select(['id', 'name'])
            .where('id', '=', input.classId)
            .executeTakeFirst()
        : undefined;
      if (!cls) bad('classId', 'choose a catalog class', '请选择目录分类');
      className = cls.name;
    } else {
      if (!input.principalOrgId || input.principalOrgId === actor.orgId)
        bad('principalOrgId', 'name the department acted for', '请选择被代理的部门（不能是本单位）');
      if (!input.providerOrgId || input.providerOrgId === actor.orgId)
        bad('providerOrgId', 'name the providing department', '请选择数据提供部门');
      const held = await liveGrantsOf(trx, input.principalOrgId, input.providerOrgId);
      if (!held.length)
        bad(
          'principalOrgId',
          'the principal holds no live grant from this provider',
          '被代理部门未持有该提供部门的有效授权',
        );
      providerName =
        (await trx.selectFrom('org').select('name').where('id', '=', input.providerOrgId).executeTakeFirst())
          ?.name ?? null;
    }
    const { id } = await trx
      .insertInto('share_bulk_grant')
      .values({
        kind: input.kind,
        consumer_org_id: actor.orgId,
        app_id: input.appId,
        class_id: input.kind === 'bulkGrant' ? input.classId! : null,
        principal_org_id: input.kind === 'proxyGrant' ? input.principalOrgId! : null,
        provider_org_id: input.kind === 'proxyGrant' ? input.providerOrgId! : null,
        purpose,
        valid_until: input.validUntil,
        requester_id: actor.id,
        submitted_at: ctx.clock.now(),
        submitted_on: today,
        due_date: due,
        profile_id: ctx.profile.id,
        article: rule.article,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      action: 'share.bulk.request',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      appId: input.appId,
      targetType: 'share_bulk_grant',
      targetId: id,
      purpose,
      clientIp: actor.clientIp,
      detail: {
        kind: input.kind,
        classId: input.classId,
        principalOrgId: input.principalOrgId,
        providerOrgId: input.providerOrgId,
        dueDate: due,
        article: rule.article,
      },
    });
    await notify(
      trx,
      input.kind === 'bulkGrant'
        ? [authority]
        : [officersOf([input.providerOrgId!]), officersOf([input.principalOrgId!])],
      {
        kind: 'sharing.bulkFiled',
        severity: 'info',
        params: {
          kind: input.kind,
          scope: className ?? providerName ?? '',
          dueDate: due,
          article: rule.article,
        },
      },
    );
    return id;
  });
  return getBulkGrant(ctx, actor, id);
}

/** Who decides: the authority's reviewer for a class (统一授权), the provider's data officer for a proxy grant. */
function canDecide(actor: Actor, b: { kind: BulkKind; provider_org_id: number | null }): boolean {
  if (b.kind === 'bulkGrant') return actor.orgKind === 'authority' && hasRole(actor, 'authority_reviewer');
  return actor.orgId === b.provider_org_id && hasRole(actor, 'data_officer');
}

function canSee(actor: Actor, b: BulkRow): boolean {
  if (hasRole(actor, 'platform_admin', 'authority_reviewer', 'auditor')) return true;
  return [b.consumer_org_id, b.principal_org_id, b.provider_org_id].includes(actor.orgId);
}

async function liveGrantsOf(trx: Tx, principalOrgId: number, providerOrgId: number) {
  return trx
    .selectFrom('share_grant as g')
    .innerJoin('resource as r', 'r.id', 'g.resource_id')
    .selectAll('g')
    .where('g.consumer_org_id', '=', principalOrgId)
    .where('r.provider_org_id', '=', providerOrgId)
    .where('g.status', 'in', [...LIVE])
    .where('g.proxy_of', 'is', null)
    .where('g.valid_until', '>', sql<Date>`now()`)
    .execute();
}

function bulkQuery(db: Tx | AppContext['db']) {
  return db
    .selectFrom('share_bulk_grant as b')
    .innerJoin('org as co', 'co.id', 'b.consumer_org_id')
    .innerJoin('app as a', 'a.id', 'b.app_id')
    .leftJoin('catalog_class as c', 'c.id', 'b.class_id')
    .leftJoin('org as pr', 'pr.id', 'b.principal_org_id')
    .leftJoin('org as po', 'po.id', 'b.provider_org_id')
    .selectAll('b')
    .select([
      'co.name as consumer_name',
      'a.name as app_name',
      'c.name as class_name',
      'c.full_code as class_code',
      'pr.name as principal_name',
      'po.name as provider_name',
      (eb) =>
        eb
          .selectFrom('share_grant as g')
          .select(sql<number>`count(*)::int`.as('n'))
          .whereRef('g.bulk_id', '=', 'b.id')
          .where('g.status', 'in', [...LIVE])
          .as('grant_count'),
    ]);
}
type BulkRow = NonNullable<Awaited<ReturnType<ReturnType<typeof bulkQuery>['executeTakeFirst']>>>;

function bulkView(actor: Actor, b: BulkRow, today: string) {
  return {
    id: b.id,
    kind: b.kind,
    consumerOrg: { id: b.consumer_org_id, name: b.consumer_name },
    app: { id: b.app_id, name: b.app_name },
    class: b.class_id ? { id: b.class_id, name: b.class_name, code: b.class_code } : null,
    principalOrg: b.principal_org_id ? { id: b.principal_org_id, name: b.principal_name } : null,
    providerOrg: b.provider_org_id ? { id: b.provider_org_id, name: b.provider_name } : null,
    purpose: b.purpose,
    validUntil: b.valid_until,
    status: b.status,
    submittedAt: b.submitted_at,
    dueDate: b.due_date,
    overdue: b.status === 'pending' && b.due_date !== null && today > b.due_date,
    /** the day a missed deadline put it before the authority (the deadline ticker, as for requests) */
    escalatedOn: b.escalated_on,
    article: b.article,
    decidedAt: b.decided_at,
    comment: b.comment,
    legalBasis: b.legal_basis,
    /** live grants it issued (one per covered resource, or per mirrored principal grant) */
    grantCount: Number(b.grant_count ?? 0),
    canDecide: b.status === 'pending' && canDecide(actor, b),
    canRevoke: b.status === 'approved' && (canDecide(actor, b) || hasRole(actor, 'platform_admin')),
  };
}

export async function getBulkGrant(ctx: AppContext, actor: Actor, id: number) {
  const b = await bulkQuery(ctx.db).where('b.id', '=', id).executeTakeFirst();
  if (!b || !canSee(actor, b))
    throw new AppError('NOT_FOUND', [
      { field: 'id', reason: `bulk grant ${id} not found`, reasonZh: `整体授权 ${id} 不存在` },
    ]);
  return bulkView(actor, b, todayOf(ctx));
}

export async function listBulkGrants(ctx: AppContext, actor: Actor) {
  let q = bulkQuery(ctx.db);
  if (!hasRole(actor, 'platform_admin', 'authority_reviewer', 'auditor'))
    q = q.where((eb) =>
      eb.or([
        eb('b.consumer_org_id', '=', actor.orgId),
        eb('b.principal_org_id', '=', actor.orgId),
        eb('b.provider_org_id', '=', actor.orgId),
      ]),
    );
  const rows = await q.orderBy('b.id', 'desc').limit(500).execute();
  const today = todayOf(ctx);
  return {
    /** what the active profile offers (the console hides the form elsewhere) */
    kinds: ctx.profile.sharing.bulkGrants?.kinds ?? [],
    article: ctx.profile.sharing.bulkGrants?.article ?? null,
    items: rows.map((b) => bulkView(actor, b, today)),
  };
}

/** The resources a bulk grant covers now: published, effectively unconditional, in the class subtree, no assessment due. */
async function coveredResources(trx: Tx, profile: Profile, classCode: string, onlyResource?: number) {
  let q = trx
    .selectFrom('resource as r')
    .select(['r.id', 'r.share_type', 'r.security_level', 'r.provider_org_id'])
    .select((eb) =>
      eb
        .exists(
          eb
            .selectFrom('negative_list_entry as n')
            .select('n.id')
            .whereRef('n.resource_id', '=', 'r.id')
            .where('n.status', 'in', [...NEGATIVE_IN_FORCE]),
        )
        .as('listed'),
    )
    .where('r.status', '=', 'published')
    .where('r.class_code', 'like', `${classCode}%`);
  if (onlyResource !== undefined) q = q.where('r.id', '=', onlyResource);
  const rows = await q.execute();
  const risky = (profile.security?.riskAssessment?.levels ?? []) as string[];
  return rows.filter(
    (r) =>
      effectiveShareType({ shareType: r.share_type }, Boolean(r.listed), profile) === 'unconditional' &&
      !risky.includes(r.security_level),
  );
}

async function allFields(trx: Tx, resourceId: number): Promise<string[]> {
  const rows = await trx
    .selectFrom('resource_field')
    .select('code')
    .where('resource_id', '=', resourceId)
    .orderBy('ordinal')
    .execute();
  return rows.map((f) => f.code);
}

/** Issues the grant a bulk grant gives on one resource (all its fields), audited as a grant. */
async function issueBulkResourceGrant(
  trx: Tx,
  b: { id: number; consumer_org_id: number; app_id: number; purpose: string; valid_until: string },
  resourceId: number,
  actorOrgId: number | null,
  reason: string,
) {
  const fields = await allFields(trx, resourceId);
  const { id } = await trx
    .insertInto('share_grant')
    .values({
      request_id: null,
      resource_id: resourceId,
      consumer_org_id: b.consumer_org_id,
      app_id: b.app_id,
      fields,
      purpose: b.purpose,
      valid_until: endOfShanghaiDay(b.valid_until),
      max_calls_per_day: null,
      max_rows_per_call: null,
      max_verify_per_day: null,
      max_export_rows_per_day: null,
      bulk_id: b.id,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await appendAudit(trx, {
    action: 'share.grant',
    decision: 'allow',
    actorOrgId,
    appId: b.app_id,
    grantId: id,
    resourceId,
    targetType: 'share_grant',
    targetId: id,
    purpose: b.purpose,
    fields,
    detail: { reason, bulkId: b.id },
  });
  return id;
}

/** Mirrors one principal grant onto a proxy grant's app: same fields, purpose (and id), rights and quotas. */
async function mirror(
  trx: Tx,
  b: { id: number; consumer_org_id: number; app_id: number; valid_until: string },
  src: {
    id: number;
    resource_id: number;
    status: string;
    valid_until: Date;
  },
  actorOrgId: number | null,
) {
  const end = endOfShanghaiDay(b.valid_until);
  const { id } = await trx
    .insertInto('share_grant')
    .columns([
      'request_id',
      'resource_id',
      'consumer_org_id',
      'app_id',
      'fields',
      'purpose',
      'purpose_id',
      'valid_until',
      'status',
      'max_calls_per_day',
      'max_rows_per_call',
      'max_verify_per_day',
      'can_read',
      'can_verify',
      'can_export',
      'max_export_rows_per_day',
      'max_epsilon_per_day',
      'access_mode',
      'clear_fields',
      'can_feed',
      'access_only',
      'bulk_id',
      'proxy_of',
    ])
    .expression((eb) =>
      eb
        .selectFrom('share_grant as s')
        .select([
          sql<null>`NULL::bigint`.as('request_id'),
          's.resource_id',
          sql<number>`${b.consumer_org_id}::bigint`.as('consumer_org_id'),
          sql<number>`${b.app_id}::bigint`.as('app_id'),
          's.fields',
          's.purpose',
          's.purpose_id',
          sql<Date>`least(s.valid_until, ${end}::timestamptz)`.as('valid_until'),
          's.status',
          's.max_calls_per_day',
          's.max_rows_per_call',
          's.max_verify_per_day',
          's.can_read',
          's.can_verify',
          's.can_export',
          's.max_export_rows_per_day',
          's.max_epsilon_per_day',
          's.access_mode',
          's.clear_fields',
          's.can_feed',
          's.access_only',
          sql<number>`${b.id}::bigint`.as('bulk_id'),
          's.id as proxy_of',
        ])
        .where('s.id', '=', src.id),
    )
    .returning('id')
    .executeTakeFirstOrThrow();
  await appendAudit(trx, {
    action: 'share.grant',
    decision: 'allow',
    actorOrgId,
    appId: b.app_id,
    grantId: id,
    resourceId: src.resource_id,
    targetType: 'share_grant',
    targetId: id,
    detail: { reason: 'proxyGrant', bulkId: b.id, proxyOf: src.id },
  });
  return id;
}

export async function decideBulkGrant(
  ctx: AppContext,
  actor: Actor,
  id: number,
  d: { approve: boolean; comment?: string | null; legalBasis?: string | null },
) {
  const today = todayOf(ctx);
  await inTx(ctx.db, async (trx) => {
    const b = await trx
      .selectFrom('share_bulk_grant')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!b)
      throw new AppError('NOT_FOUND', [
        { field: 'id', reason: `bulk grant ${id} not found`, reasonZh: `整体授权 ${id} 不存在` },
      ]);
    const rule = ruleFor(ctx.profile, b.kind);
    if (!canDecide(actor, b))
      throw new AppError('FORBIDDEN', [
        {
          reason:
            b.kind === 'bulkGrant'
              ? `the data authority decides a bulk grant (${rule.article})`
              : `the providing department decides a proxy grant (${rule.article})`,
          reasonZh:
            b.kind === 'bulkGrant'
              ? `整体授权由数据主管部门决定（${rule.article}）`
              : `同等代理授权由数源部门决定（${rule.article}）`,
        },
      ]);
    if (b.status !== 'pending') throw new AppError('REQUEST_NOT_PENDING');
    if (!d.approve) {
      const missing = [];
      if (!d.comment?.trim())
        missing.push({
          field: 'reason',
          reason: `a refusal states its reason (${rule.article})`,
          reasonZh: `不予授权须说明理由（${rule.article}）`,
        });
      if (rule.refusalRequires === 'legalBasis' && !d.legalBasis?.trim())
        missing.push({
          field: 'legalBasis',
          reason: `a refusal cites its basis (${rule.article})`,
          reasonZh: `不予授权的应当提供依据（${rule.article}）`,
        });
      if (missing.length)
        throw new AppError(
          missing.some((m) => m.field === 'legalBasis') ? 'LEGAL_BASIS_REQUIRED' : 'VALIDATION_FAILED',
          missing,
        );
    }
    const now = ctx.clock.now();
    await trx
      .updateTable('share_bulk_grant')
      .set({
        status: d.approve ? 'approved' : 'rejected',
        decided_by: actor.id,
        decided_at: now,
        decided_on: today,
        comment: d.comment?.trim() || null,
        legal_basis: d.legalBasis?.trim() || null,
      })
      .where('id', '=', id)
      .execute();
    const issued: number[] = [];
    if (d.approve) {
      if (b.kind === 'bulkGrant') {
        const cls = await trx
          .selectFrom('catalog_class')
          .select('full_code')
          .where('id', '=', b.class_id!)
          .executeTakeFirstOrThrow();
        for (const r of await coveredResources(trx, ctx.profile, cls.full_code))
          issued.push(await issueBulkResourceGrant(trx, b, r.id, actor.orgId, 'bulkGrant'));
      } else {
        for (const g of await liveGrantsOf(trx, b.principal_org_id!, b.provider_org_id!))
          issued.push(await mirror(trx, b, g, actor.orgId));
      }
    }
    await appendAudit(trx, {
      action: d.approve ? 'share.bulk.approve' : 'share.bulk.reject',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      appId: b.app_id,
      targetType: 'share_bulk_grant',
      targetId: id,
      purpose: b.purpose,
      clientIp: actor.clientIp,
      detail: {
        kind: b.kind,
        grants: issued.slice(0, 200),
        grantCount: issued.length,
        dueDate: b.due_date,
        decidedOn: today,
        onTime: !b.due_date || today <= b.due_date,
        article: rule.article,
        comment: d.comment?.trim() || undefined,
        legalBasis: d.legalBasis?.trim() || undefined,
      },
    });
    await notify(trx, [officersOf([b.consumer_org_id], ['data_officer', 'consumer_staff'])], {
      kind: d.approve ? 'sharing.bulkApproved' : 'sharing.bulkRejected',
      severity: d.approve ? 'info' : 'warning',
      params: { kind: b.kind, count: issued.length, comment: d.comment?.trim() ?? '', article: rule.article },
    });
  });
  return getBulkGrant(ctx, actor, id);
}

/** Revokes a bulk or proxy grant and every grant it issued, at once (GB/T 39477); audited. */
export async function revokeBulkGrant(ctx: AppContext, actor: Actor, id: number) {
  await inTx(ctx.db, async (trx) => {
    const b = await trx
      .selectFrom('share_bulk_grant')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!b)
      throw new AppError('NOT_FOUND', [
        { field: 'id', reason: `bulk grant ${id} not found`, reasonZh: `整体授权 ${id} 不存在` },
      ]);
    if (!(canDecide(actor, b) || hasRole(actor, 'platform_admin'))) throw new AppError('FORBIDDEN');
    if (b.status !== 'approved')
      throw new AppError('CASE_STATE_INVALID', [
        { field: 'id', reason: 'only an approved grant is revoked', reasonZh: '只有已授权的可以撤销' },
      ]);
    await trx.updateTable('share_bulk_grant').set({ status: 'revoked' }).where('id', '=', id).execute();
    const r = await trx
      .updateTable('share_grant')
      .set({ status: 'revoked', revoked_at: ctx.clock.now() })
      .where('bulk_id', '=', id)
      .where('status', '<>', 'revoked')
      .executeTakeFirst();
    await appendAudit(trx, {
      action: 'share.bulk.revoke',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      appId: b.app_id,
      targetType: 'share_bulk_grant',
      targetId: id,
      clientIp: actor.clientIp,
      detail: { kind: b.kind, grantsRevoked: Number(r.numUpdatedRows) },
    });
  });
  return getBulkGrant(ctx, actor, id);
}

/**
 * Called by the catalog when a resource is published (a first publication or a new version): every approved bulk grant
 * whose class holds it covers it if it is unconditional now (a new grant with all its fields, or its fields widened to
 * the new version's); a resource no longer unconditional loses the grants bulk grants gave it.
 */
export async function coverPublished(trx: Tx, profile: Profile, resourceId: number) {
  if (!profile.sharing.bulkGrants?.kinds.includes('bulkGrant')) return;
  const res = await trx
    .selectFrom('resource')
    .select(['class_code', 'provider_org_id'])
    .where('id', '=', resourceId)
    .executeTakeFirst();
  if (!res) return;
  const bulks = await trx
    .selectFrom('share_bulk_grant as b')
    .innerJoin('catalog_class as c', 'c.id', 'b.class_id')
    .selectAll('b')
    .select('c.full_code')
    .where('b.kind', '=', 'bulkGrant')
    .where('b.status', '=', 'approved')
    .where('b.valid_until', '>=', sql<string>`current_date`)
    .execute();
  for (const b of bulks) {
    const inClass = res.class_code !== null && res.class_code.startsWith(b.full_code);
    const covered = inClass && (await coveredResources(trx, profile, b.full_code, resourceId)).length > 0;
    const existing = await trx
      .selectFrom('share_grant')
      .select(['id'])
      .where('bulk_id', '=', b.id)
      .where('resource_id', '=', resourceId)
      .where('status', '<>', 'revoked')
      .execute();
    if (covered && !existing.length)
      await issueBulkResourceGrant(trx, b, resourceId, res.provider_org_id, 'bulkGrantPublished');
    else if (covered)
      await trx
        .updateTable('share_grant')
        .set({ fields: await allFields(trx, resourceId) })
        .where('bulk_id', '=', b.id)
        .where('resource_id', '=', resourceId)
        .where('status', '<>', 'revoked')
        .execute();
    else if (existing.length) {
      await trx
        .updateTable('share_grant')
        .set({ status: 'revoked', revoked_at: new Date() })
        .where(
          'id',
          'in',
          existing.map((e) => e.id),
        )
        .execute();
      for (const e of existing)
        await appendAudit(trx, {
          action: 'share.revoke',
          decision: 'allow',
          actorOrgId: res.provider_org_id,
          appId: b.app_id,
          grantId: e.id,
          resourceId,
          targetType: 'share_grant',
          targetId: e.id,
          detail: { reason: 'bulkGrantNoLongerCovers', bulkId: b.id },
        });
    }
  }
}

/**
 * A proxy grant's mirrors follow their source (同等: the same rights): called when a grant is issued, edited or revoked.
 * Existing mirrors take the source's fields, purpose, rights, quotas and state; a new grant of a principal from a
 * provider under an approved proxy grant is mirrored. No-op where nothing mirrors it.
 */
export async function syncProxies(trx: Tx, grantId: number) {
  const src = await trx
    .selectFrom('share_grant as g')
    .innerJoin('resource as r', 'r.id', 'g.resource_id')
    .selectAll('g')
    .select('r.provider_org_id')
    .where('g.id', '=', grantId)
    .executeTakeFirst();
  if (!src || src.proxy_of !== null) return;
  await sql`
    UPDATE share_grant m SET fields = s.fields, purpose = s.purpose, purpose_id = s.purpose_id,
      status = CASE WHEN s.status = 'revoked' THEN 'revoked' ELSE s.status END,
      revoked_at = CASE WHEN s.status = 'revoked' THEN coalesce(m.revoked_at, now()) ELSE m.revoked_at END,
      valid_until = least(s.valid_until, (b.valid_until + 1)::timestamp AT TIME ZONE 'Asia/Shanghai' - interval '1 millisecond'),
      max_calls_per_day = s.max_calls_per_day, max_rows_per_call = s.max_rows_per_call,
      max_verify_per_day = s.max_verify_per_day, can_read = s.can_read, can_verify = s.can_verify,
      can_export = s.can_export, max_export_rows_per_day = s.max_export_rows_per_day,
      max_epsilon_per_day = s.max_epsilon_per_day, access_mode = s.access_mode,
      clear_fields = s.clear_fields, can_feed = s.can_feed, access_only = s.access_only
    FROM share_grant s, share_bulk_grant b
    WHERE s.id = ${grantId} AND m.proxy_of = s.id AND b.id = m.bulk_id AND m.status <> 'revoked'`.execute(
    trx,
  );
  if (src.status === 'revoked') return;
  const proxies = await trx
    .selectFrom('share_bulk_grant as b')
    .selectAll('b')
    .where('b.kind', '=', 'proxyGrant')
    .where('b.status', '=', 'approved')
    .where('b.principal_org_id', '=', src.consumer_org_id)
    .where('b.provider_org_id', '=', src.provider_org_id)
    .where('b.valid_until', '>=', sql<string>`current_date`)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('share_grant as m')
            .select('m.id')
            .whereRef('m.bulk_id', '=', 'b.id')
            .where('m.proxy_of', '=', grantId),
        ),
      ),
    )
    .execute();
  for (const b of proxies) await mirror(trx, b, src, src.provider_org_id);
}

// ---------------------------------------------------------------- deadlines

/**
 * The deadline ticker's part for bulk and proxy grant requests (NY task 7: 10 WD): the same reminders and escalation as
 * an ordinary request's step, through the same code (remindOrEscalate): one working day before the due date and on it
 * the deciding party is reminded (the authority's reviewers for a bulk grant, the provider's data officers for a proxy
 * grant), after it told it is overdue and, where the profile's request path escalates (its last conditional step's
 * onTimeout; a deemed consent, which no article gives a bulk grant, escalates instead), put before the authority
 * (`escalated_on`, audit `share.escalate`) with the authority and the consumer told. Each action once
 * (share_bulk_event), under the row lock, whichever node ticks; dated by the due date, not the tick.
 */
export async function tickBulkGrants(ctx: AppContext): Promise<number> {
  const today = todayOf(ctx);
  const cal = await currentCalendar(ctx);
  const rows = await ctx.db
    .selectFrom('share_bulk_grant')
    .select(['id', 'due_date'])
    .where('status', '=', 'pending')
    .where('due_date', 'is not', null)
    .orderBy('due_date')
    .limit(5000)
    .execute();
  let n = 0;
  for (const r of rows) {
    const due = r.due_date!;
    if (!(due <= today || workdaysBetween(cal, today, due) <= 1)) continue;
    n += await inTx(ctx.db, (trx) => actOnBulk(ctx, trx, r.id, today, cal));
  }
  return n;
}

async function actOnBulk(ctx: AppContext, trx: Tx, id: number, today: string, cal: WorkdayCalendar) {
  const locked = await trx
    .selectFrom('share_bulk_grant')
    .select(['status'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (locked?.status !== 'pending') return 0;
  const b = await bulkQuery(trx).where('b.id', '=', id).executeTakeFirstOrThrow();
  if (!b.due_date) return 0;
  const steps = (PROFILES[b.profile_id as keyof typeof PROFILES] ?? ctx.profile).sharing.conditional.steps;
  const last = steps.at(-1)?.onTimeout ?? 'remind';
  const onTimeout: TimeoutAction = last === 'remind' ? 'remind' : 'escalate';
  const once = async (kind: NoticeKind) =>
    (await trx
      .insertInto('share_bulk_event')
      .values({ bulk_id: id, kind, on_date: today })
      .onConflict((oc) => oc.doNothing())
      .returning('kind')
      .executeTakeFirst()) !== undefined;
  const params = {
    bulkId: id,
    kind: b.kind,
    scope: b.class_name ?? b.provider_name ?? '',
    dueDate: b.due_date,
    article: b.article,
  };
  const { n } = await remindOrEscalate(
    { due: b.due_date, onTimeout, today, cal },
    {
      once,
      holders: b.kind === 'bulkGrant' ? [authority] : [officersOf([b.provider_org_id!])],
      escalateTo: [authority, officersOf([b.consumer_org_id], ['data_officer', 'consumer_staff'])],
      send: (to, kind, severity) => notify(trx, to, { kind: BULK_NOTICES[kind], severity, params }),
      escalate: async (on) => {
        await trx
          .updateTable('share_bulk_grant')
          .set({ escalated_on: sql<string>`coalesce(escalated_on, ${on}::date)` })
          .where('id', '=', id)
          .execute();
        await appendAudit(trx, {
          action: 'share.escalate',
          decision: 'allow',
          appId: b.app_id,
          targetType: 'share_bulk_grant',
          targetId: id,
          detail: { kind: b.kind, article: b.article, dueDate: b.due_date, escalatedOn: on },
        });
        return 1;
      },
    },
  );
  return n;
}

const BULK_NOTICES: Record<NoticeKind, NotificationKind> = {
  dueSoon: 'sharing.bulkDueSoon',
  dueToday: 'sharing.bulkDueToday',
  overdue: 'sharing.bulkOverdue',
  escalated: 'sharing.bulkEscalated',
};

// ---------------------------------------------------------------- routes

export async function bulkGrantRoutes(app: FastifyInstance, ctx: AppContext) {
  app.post(
    '/api/sharing/bulk-grants',
    {
      schema: {
        tags: ['sharing'],
        summary:
          'NY task 7: request a bulk grant (整体授权: every unconditional resource of a catalog class, now and later, for one app) or a proxy grant (同等代理授权: the app acts for another department with the same rights as its grants from one provider); CASE_NOT_IN_PROFILE where the active regulation has none',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'appId', 'purpose', 'validUntil'],
          properties: {
            kind: { type: 'string', enum: ['bulkGrant', 'proxyGrant'] },
            appId: { type: 'integer', minimum: 1 },
            purpose: { type: 'string', minLength: 1, maxLength: 2000 },
            validUntil: dateString,
            classId: { type: 'integer', minimum: 1, description: 'bulkGrant: the catalog class node' },
            principalOrgId: {
              type: 'integer',
              minimum: 1,
              description: 'proxyGrant: the department acted for',
            },
            providerOrgId: {
              type: 'integer',
              minimum: 1,
              description: 'proxyGrant: the provider whose grants to the principal are mirrored',
            },
          },
        },
      },
    },
    async (req, reply) => {
      const r = await fileBulkGrant(ctx, requireActor(req), req.body as BulkInput);
      reply.code(201);
      return r;
    },
  );
  app.get(
    '/api/sharing/bulk-grants',
    {
      schema: {
        tags: ['sharing'],
        summary:
          'Bulk and proxy grants the caller files, decides or is party to, with what the profile offers',
      },
    },
    async (req) => listBulkGrants(ctx, requireActor(req)),
  );
  app.get(
    '/api/sharing/bulk-grants/:id',
    { schema: { tags: ['sharing'], summary: 'One bulk or proxy grant', params: idParams } },
    async (req) => getBulkGrant(ctx, requireActor(req), (req.params as { id: number }).id),
  );
  app.post(
    '/api/sharing/bulk-grants/:id/approve',
    {
      schema: {
        tags: ['sharing'],
        summary:
          'Approve (bulk: the data authority; proxy: the provider): the grants are issued in the same transaction',
        params: idParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { comment: { type: ['string', 'null'], maxLength: 2000 } },
        },
      },
    },
    async (req) =>
      decideBulkGrant(ctx, requireActor(req), (req.params as { id: number }).id, {
        approve: true,
        comment: (req.body as { comment?: string | null } | null)?.comment ?? null,
      }),
  );
  app.post(
    '/api/sharing/bulk-grants/:id/reject',
    {
      schema: {
        tags: ['sharing'],
        summary: 'Refuse with a reason and, where the profile requires it (NY task 7), the basis',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['reason'],
          properties: {
            reason: { type: 'string', maxLength: 2000 },
            legalBasis: { type: ['string', 'null'], maxLength: 2000 },
          },
        },
      },
    },
    async (req) => {
      const b = req.body as { reason: string; legalBasis?: string | null };
      return decideBulkGrant(ctx, requireActor(req), (req.params as { id: number }).id, {
        approve: false,
        comment: b.reason,
        legalBasis: b.legalBasis ?? null,
      });
    },
  );
  app.post(
    '/api/sharing/bulk-grants/:id/revoke',
    {
      schema: {
        tags: ['sharing'],
        summary: 'Revoke a bulk or proxy grant and every grant it issued, effective on the next call',
        params: idParams,
      },
    },
    async (req) => revokeBulkGrant(ctx, requireActor(req), (req.params as { id: number }).id),
  );
}
