/**
 * Data security incidents (issue 10 points 6 and 11): a department or the authority reports one; the platform tells
 * the data authority and the affected departments at once (in-app, in the reporting transaction); the notices the
 * active regulation requires outside the platform (DG Art 32: the cyberspace administration; SY Art 44: the affected
 * users) are recorded with time and channel; response steps are logged; the incident closes only with a report and
 * with every required notice recorded. Every step is audited.
 */
import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { type Actor, type AppContext, hasRole } from '../context.js';
import type { Tx } from '../db/index.js';
import { notify } from '../notify/service.js';
import type { IncidentRecipient } from '../profiles/model.js';
import { AppError } from '../shared/errors.js';
import type { INCIDENT_CATEGORIES, INCIDENT_SEVERITIES } from './incident-model.js';

const RECIPIENT_NAME: Record<IncidentRecipient, { zh: string; en: string }> = {
  authority: { zh: '数据主管部门', en: 'the data authority' },
  cyberspace: { zh: '网信部门', en: 'the cyberspace administration' },
  affectedUsers: { zh: '可能受影响的用户', en: 'the users who may be affected' },
};

export interface NewIncident {
  title: string;
  category: (typeof INCIDENT_CATEGORIES)[number];
  severity: (typeof INCIDENT_SEVERITIES)[number];
  description: string;
  occurredAt?: string | null;
  detectedAt: string;
  affectedOrgIds?: number[];
}

/** Who may report, act on and close incidents: data officers (their own department's) and the authority's staff. */
function isAuthorityStaff(actor: Actor) {
  return actor.orgKind === 'authority' && hasRole(actor, 'platform_admin', 'authority_reviewer');
}

function canReport(actor: Actor) {
  return isAuthorityStaff(actor) || hasRole(actor, 'data_officer');
}

function canAct(actor: Actor, inc: { reporter_org_id: number; affected_org_ids: number[] }) {
  if (isAuthorityStaff(actor)) return true;
  return (
    hasRole(actor, 'data_officer') &&
    (Number(inc.reporter_org_id) === actor.orgId || inc.affected_org_ids.map(Number).includes(actor.orgId))
  );
}

function canSee(actor: Actor, inc: { reporter_org_id: number; affected_org_ids: number[] }) {
  return canAct(actor, inc) || hasRole(actor, 'auditor');
}

/** The notices the active profile requires, and which of them are recorded. */
export function noticeState(required: readonly string[], recorded: readonly string[]) {
  return required.map((r) => ({ recipient: r as IncidentRecipient, done: recorded.includes(r) }));
}

async function audit(trx: Tx, actor: Actor, action: string, id: number, detail: Record<string, unknown>) {
  await appendAudit(trx, {
    actorUserId: actor.id,
    actorOrgId: actor.orgId,
    action,
    targetType: 'security_incident',
    targetId: id,
    decision: 'allow',
    clientIp: actor.clientIp,
    detail,
  });
}

export async function reportIncident(ctx: AppContext, actor: Actor, input: NewIncident) {
  if (!canReport(actor)) throw new AppError('FORBIDDEN');
  const rule = ctx.profile.security?.incidentNotify;
  const required = rule?.recipients ?? [];
  return ctx.db.transaction().execute(async (trx) => {
    const affected = [
      ...new Set([actor.orgKind === 'department' ? actor.orgId : null, ...(input.affectedOrgIds ?? [])]),
    ]
      .filter((x): x is number => x !== null)
      .slice(0, 50);
    if (affected.length) {
      const found = await trx.selectFrom('org').select('id').where('id', 'in', affected).execute();
      if (found.length !== affected.length)
        throw new AppError('VALIDATION_FAILED', [
          { field: 'affectedOrgIds', reason: 'unknown organisation', reasonZh: '受影响单位不存在' },
        ]);
    }
    const row = await trx
      .insertInto('security_incident')
      .values({
        title: input.title,
        category: input.category,
        severity: input.severity,
        description: input.description,
        occurred_at: input.occurredAt ? new Date(input.occurredAt) : null,
        detected_at: new Date(input.detectedAt),
        affected_org_ids: affected,
        required_notices: required,
        notice_article: rule?.article ?? null,
        reported_by: actor.id,
        reporter_org_id: actor.orgId,
      })
      .returning(['id', 'reported_at'])
      .executeTakeFirstOrThrow();
    const id = Number(row.id);
    // the authority hears of it in the same transaction (DG Art 32 立即报告, GD Art 27), and so do the affected
    // departments' data officers; every auditor sees it on the security board
    const authority = await trx.selectFrom('org').select('id').where('kind', '=', 'authority').execute();
    const params = { incidentId: id, title: input.title, severity: input.severity };
    await notify(
      trx,
      [
        { orgIds: authority.map((o) => Number(o.id)), roles: ['platform_admin', 'authority_reviewer'] },
        { orgIds: affected, roles: ['data_officer'] },
        { roles: ['auditor'], anyOrg: true },
      ],
      {
        kind: 'security.incidentReported',
        severity: input.severity === 'minor' ? 'warning' : 'critical',
        params,
      },
    );
    if (required.includes('authority'))
      await trx
        .insertInto('security_incident_event')
        .values({
          incident_id: id,
          kind: 'notice',
          recipient: 'authority',
          channel: 'platform',
          text: 'reported through the platform',
          at: row.reported_at,
          actor_user_id: actor.id,
        })
        .execute();
    await audit(trx, actor, 'security.incident_reported', id, {
      category: input.category,
      severity: input.severity,
      affected,
      required,
    });
    return { id };
  });
}

async function lockIncident(trx: Tx, id: number) {
  const inc = await trx
    .selectFrom('security_incident')
    .selectAll()
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!inc) throw new AppError('NOT_FOUND');
  return inc;
}

export interface IncidentEventInput {
  kind: 'response' | 'notice';
  recipient?: IncidentRecipient | null;
  channel?: string | null;
  text: string;
  at: string;
}

export async function addIncidentEvent(ctx: AppContext, actor: Actor, id: number, e: IncidentEventInput) {
  return ctx.db.transaction().execute(async (trx) => {
    const inc = await lockIncident(trx, id);
    if (!canAct(actor, inc)) throw new AppError('FORBIDDEN');
    if (inc.status === 'closed')
      throw new AppError('CONFLICT', [{ reason: 'the incident is closed', reasonZh: '事件已结案' }]);
    if (e.kind === 'notice' && !e.recipient)
      throw new AppError('VALIDATION_FAILED', [
        { field: 'recipient', reason: 'a notice names who was told', reasonZh: '报告或告知记录须写明对象' },
      ]);
    const at = new Date(e.at);
    if (at.getTime() > Date.now() + 60_000)
      throw new AppError('VALIDATION_FAILED', [
        { field: 'at', reason: 'cannot be in the future', reasonZh: '时间不能晚于当前' },
      ]);
    await trx
      .insertInto('security_incident_event')
      .values({
        incident_id: id,
        kind: e.kind,
        recipient: e.kind === 'notice' ? (e.recipient ?? null) : null,
        channel: e.channel ?? null,
        text: e.text,
        at,
        actor_user_id: actor.id,
      })
      .execute();
    await audit(
      trx,
      actor,
      e.kind === 'notice' ? 'security.incident_notice' : 'security.incident_response',
      id,
      {
        recipient: e.recipient ?? null,
        channel: e.channel ?? null,
      },
    );
    return getIncidentIn(trx, actor, id);
  });
}

export async function closeIncident(ctx: AppContext, actor: Actor, id: number, report: string) {
  if (!isAuthorityStaff(actor)) throw new AppError('FORBIDDEN');
  return ctx.db.transaction().execute(async (trx) => {
    const inc = await lockIncident(trx, id);
    if (inc.status === 'closed')
      throw new AppError('CONFLICT', [{ reason: 'the incident is closed', reasonZh: '事件已结案' }]);
    const recorded = await trx
      .selectFrom('security_incident_event')
      .select('recipient')
      .where('incident_id', '=', id)
      .where('kind', '=', 'notice')
      .execute();
    const pending = noticeState(
      inc.required_notices,
      recorded.map((r) => r.recipient ?? ''),
    ).filter((n) => !n.done);
    if (pending.length)
      throw new AppError(
        'INCIDENT_NOTICE_PENDING',
        pending.map((n) => ({
          field: 'notices',
          reason: `${inc.notice_article}: ${RECIPIENT_NAME[n.recipient].en} not yet told`,
          reasonZh: `${inc.notice_article}：尚未记录向${RECIPIENT_NAME[n.recipient].zh}的报告或告知`,
        })),
      );
    await trx
      .updateTable('security_incident')
      .set({ status: 'closed', closed_by: actor.id, closed_at: new Date(), report })
      .where('id', '=', id)
      .execute();
    await notify(
      trx,
      [
        {
          orgIds: [Number(inc.reporter_org_id), ...inc.affected_org_ids.map(Number)],
          roles: ['data_officer'],
        },
        { roles: ['auditor'], anyOrg: true },
      ],
      { kind: 'security.incidentClosed', severity: 'info', params: { incidentId: id, title: inc.title } },
    );
    await audit(trx, actor, 'security.incident_closed', id, {});
    return getIncidentIn(trx, actor, id);
  });
}

async function getIncidentIn(trx: Tx | AppContext['db'], actor: Actor, id: number) {
  const inc = await trx
    .selectFrom('security_incident as i')
    .innerJoin('app_user as u', 'u.id', 'i.reported_by')
    .innerJoin('org as o', 'o.id', 'i.reporter_org_id')
    .selectAll('i')
    .select(['u.display_name as reporter_name', 'o.name as reporter_org_name'])
    .where('i.id', '=', id)
    .executeTakeFirst();
  if (!inc || !canSee(actor, inc)) throw new AppError('NOT_FOUND');
  const events = await trx
    .selectFrom('security_incident_event as e')
    .innerJoin('app_user as u', 'u.id', 'e.actor_user_id')
    .select(['e.id', 'e.kind', 'e.recipient', 'e.channel', 'e.text', 'e.at', 'u.display_name as actorName'])
    .where('e.incident_id', '=', id)
    .orderBy('e.at')
    .orderBy('e.id')
    .execute();
  const orgs = inc.affected_org_ids.length
    ? await trx
        .selectFrom('org')
        .select(['id', 'name'])
        .where('id', 'in', inc.affected_org_ids.map(Number))
        .execute()
    : [];
  return {
    ...view(inc),
    affectedOrgs: orgs.map((o) => ({ id: Number(o.id), name: o.name })),
    notices: noticeState(
      inc.required_notices,
      events.filter((e) => e.kind === 'notice').map((e) => e.recipient ?? ''),
    ),
    events,
    canAct: inc.status === 'open' && canAct(actor, inc),
    canClose: inc.status === 'open' && isAuthorityStaff(actor),
  };
}

type IncidentRow = {
  id: number;
  title: string;
  category: string;
  severity: string;
  description: string;
  occurred_at: Date | null;
  detected_at: Date;
  status: string;
  reported_at: Date;
  closed_at: Date | null;
  report: string | null;
  notice_article: string | null;
  reporter_name: string;
  reporter_org_name: string;
};

function view(r: IncidentRow) {
  return {
    id: Number(r.id),
    title: r.title,
    category: r.category,
    severity: r.severity,
    description: r.description,
    occurredAt: r.occurred_at,
    detectedAt: r.detected_at,
    status: r.status,
    reportedAt: r.reported_at,
    closedAt: r.closed_at,
    report: r.report,
    noticeArticle: r.notice_article,
    reporter: r.reporter_name,
    reporterOrg: r.reporter_org_name,
  };
}

export function getIncident(ctx: AppContext, actor: Actor, id: number) {
  return getIncidentIn(ctx.db, actor, id);
}

export async function listIncidents(
  ctx: AppContext,
  actor: Actor,
  f: { status?: 'open' | 'closed'; page: number; pageSize: number },
) {
  let q = ctx.db
    .selectFrom('security_incident as i')
    .innerJoin('app_user as u', 'u.id', 'i.reported_by')
    .innerJoin('org as o', 'o.id', 'i.reporter_org_id');
  if (!isAuthorityStaff(actor) && !hasRole(actor, 'auditor')) {
    if (!hasRole(actor, 'data_officer')) throw new AppError('FORBIDDEN');
    q = q.where((eb) =>
      eb.or([
        eb('i.reporter_org_id', '=', actor.orgId),
        sql<boolean>`${actor.orgId} = ANY(i.affected_org_ids)`,
      ]),
    );
  }
  if (f.status) q = q.where('i.status', '=', f.status);
  const [{ total }] = await q.select(sql<number>`count(*)::int`.as('total')).execute();
  const rows = await q
    .selectAll('i')
    .select(['u.display_name as reporter_name', 'o.name as reporter_org_name'])
    .select((eb) =>
      eb
        .selectFrom('security_incident_event as e')
        .whereRef('e.incident_id', '=', 'i.id')
        .where('e.kind', '=', 'notice')
        .select(sql<string[]>`coalesce(array_agg(DISTINCT e.recipient), '{}')`.as('r'))
        .as('recorded'),
    )
    .orderBy('i.status', 'desc')
    .orderBy('i.reported_at', 'desc')
    .limit(f.pageSize)
    .offset((f.page - 1) * f.pageSize)
    .execute();
  return {
    total,
    page: f.page,
    pageSize: f.pageSize,
    items: rows.map((r) => ({
      ...view(r),
      notices: noticeState(r.required_notices, r.recorded ?? []),
    })),
  };
}
