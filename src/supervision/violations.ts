import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { shanghaiDate } from '../calendar/model.js';
import { type Actor, type AppContext, hasRole } from '../context.js';
import { inTx, type Tx } from '../db/index.js';
import { daysLate, nextDue } from '../ingest/freshness.js';
import { notify } from '../notify/service.js';
import { VIOLATION_TYPES, type ViolationType } from '../profiles/model.js';
import { AppError } from '../shared/errors.js';
import { statusZh } from '../shared/labels.js';

/*
 * Violations detected (issue 12 point 4; XT Art 41, SY Art 47: the authority orders a department to correct them within
 * a time limit). Which types exist and the article each cites is the profile's `supervision.violations`; under a
 * profile without it the job does nothing and the console says so. The job `supervision.violations` (hourly,
 * src/jobs/platform.ts) finds, as of the platform clock's Beijing date:
 *   catalogStale        — an open catalog update duty (权责/职能变化后更新目录) past its due date   one per duty
 *   dataStale           — a published resource with data past its update cycle (the freshness rule) one per resource
 *   requestLate         — a share request's current step undecided past its due date              one per step
 *   purposeMisuse       — an app refused PURPOSE_MISMATCH in the last 30 days (audit_log)          one per app
 *   openApplicationLate — an open-data application still pending past its due date               one per application
 * One ongoing violation is one finding (unique type + subject while not closed: a later run refreshes its evidence and
 * hit count). A new finding is audited and sent to the department's data officers and the authority's staff. The
 * department acknowledges it and records its rectification; the authority closes it; a finding whose cause is gone
 * closes itself on the next run (close_reason 'resolved', audited, the department told).
 */

export const VIOLATION_JOB = 'supervision.violations';
export const VIOLATION_STATUSES = ['open', 'acknowledged', 'rectified', 'closed'] as const;
export type ViolationStatus = (typeof VIOLATION_STATUSES)[number];
/** Purpose-mismatch refusals older than this no longer make a finding ongoing. */
export const MISUSE_WINDOW_DAYS = 30;
const MAX_EVIDENCE_CHARS = 3000;
const MAX_FINDINGS_PER_TYPE = 5000;

export interface Finding {
  type: ViolationType;
  subject: string;
  orgId: number;
  resourceId: number | null;
  evidence: Record<string, unknown>;
}

/** Scalars kept, strings cut, lists cut to 20: a finding's evidence never grows with the data. */
function bound(e: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e).slice(0, 20)) {
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) out[k] = v;
    else if (typeof v === 'string') out[k] = v.slice(0, 200);
    else if (Array.isArray(v))
      out[k] = v.slice(0, 20).map((x) => (typeof x === 'number' ? x : String(x).slice(0, 60)));
  }
  while (JSON.stringify(out).length > MAX_EVIDENCE_CHARS) {
    const key = Object.keys(out).pop();
    if (!key) break;
    delete out[key];
  }
  return out;
}

/** The profile's violation types with their articles; [] when the regulation lists none. */
export function violationRules(ctx: AppContext): { type: ViolationType; article: string }[] {
  return ctx.profile.supervision?.violations ?? [];
}

const dayDiff = (from: string, to: string) => Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000);

// ---------------------------------------------------------------------------------------------------------------
// detectors: each returns the findings ongoing today

async function catalogStale(ctx: AppContext, today: string): Promise<Finding[]> {
  const rows = await ctx.db
    .selectFrom('update_duty')
    .select(['id', 'org_id', 'change_kind', 'what_changed', 'change_date', 'due_date'])
    .where('status', '=', 'open')
    .where('due_date', 'is not', null)
    .where('due_date', '<', today)
    .orderBy('id')
    .limit(MAX_FINDINGS_PER_TYPE)
    .execute();
  return rows.map((d) => ({
    type: 'catalogStale',
    subject: `duty:${d.id}`,
    orgId: Number(d.org_id),
    resourceId: null,
    evidence: {
      dutyId: Number(d.id),
      changeKind: d.change_kind,
      whatChanged: d.what_changed,
      changeDate: d.change_date,
      dueDate: d.due_date,
      daysOverdue: dayDiff(d.due_date as string, today),
    },
  }));
}

async function dataStale(ctx: AppContext, now: Date): Promise<Finding[]> {
  const rows = await ctx.db
    .selectFrom('resource')
    .select(['id', 'code', 'provider_org_id', 'update_cycle', 'last_ingest_at', 'published_at', 'row_count'])
    .where('status', '=', 'published')
    .where('data_table', 'is not', null)
    .orderBy('id')
    .execute();
  const out: Finding[] = [];
  for (const r of rows) {
    const since = r.last_ingest_at ?? r.published_at;
    const due = since ? nextDue(r.update_cycle, new Date(since)) : null;
    const late = daysLate(due, now);
    if (!due || late <= 0) continue;
    out.push({
      type: 'dataStale',
      subject: `resource:${r.id}`,
      orgId: Number(r.provider_org_id),
      resourceId: Number(r.id),
      evidence: {
        resourceId: Number(r.id),
        code: r.code,
        updateCycle: r.update_cycle,
        lastIngestAt: r.last_ingest_at ? new Date(r.last_ingest_at).toISOString() : null,
        rowCount: Number(r.row_count ?? 0),
        dueDate: due,
        daysOverdue: late,
      },
    });
    if (out.length >= MAX_FINDINGS_PER_TYPE) break;
  }
  return out;
}

async function requestLate(ctx: AppContext, today: string): Promise<Finding[]> {
  const authority = await ctx.db
    .selectFrom('org')
    .select('id')
    .where('kind', '=', 'authority')
    .orderBy('id')
    .executeTakeFirst();
  const rows = await ctx.db
    .selectFrom('share_request_step as s')
    .innerJoin('share_request as q', 'q.id', 's.request_id')
    .innerJoin('resource as r', 'r.id', 'q.resource_id')
    .select([
      's.request_id',
      's.step_index',
      's.key',
      's.actor',
      's.due_date',
      's.article',
      'q.resource_id',
      'q.consumer_org_id',
      'q.submitted_at',
      'q.escalated_on',
      'r.provider_org_id',
    ])
    .where('q.status', '=', 'pending')
    .whereRef('q.current_step', '=', 's.step_index')
    .where('s.decision', 'is', null)
    .where('s.due_date', 'is not', null)
    .where('s.due_date', '<', today)
    .orderBy('s.request_id')
    .limit(MAX_FINDINGS_PER_TYPE)
    .execute();
  return rows.map((s) => ({
    type: 'requestLate',
    subject: `step:${s.request_id}:${s.step_index}`,
    orgId: s.actor === 'authority' && authority ? Number(authority.id) : Number(s.provider_org_id),
    resourceId: Number(s.resource_id),
    evidence: {
      requestId: Number(s.request_id),
      step: s.key,
      actor: s.actor,
      consumerOrgId: Number(s.consumer_org_id),
      submittedOn: shanghaiDate(new Date(s.submitted_at)),
      dueDate: s.due_date,
      daysOverdue: dayDiff(s.due_date as string, today),
      escalatedOn: s.escalated_on,
      stepArticle: s.article,
    },
  }));
}

async function purposeMisuse(ctx: AppContext, now: Date): Promise<Finding[]> {
  const since = new Date(now.getTime() - MISUSE_WINDOW_DAYS * 86_400_000);
  // refusals after the last closed finding of the same app do not reopen it: the authority closed what it had seen
  const rows = await sql<{
    app_id: number;
    org_id: number;
    refusals: number;
    first_at: Date;
    last_at: Date;
    resource_ids: number[];
    audit_ids: number[];
  }>`
    SELECT a.app_id, min(p.org_id) AS org_id, count(*)::int AS refusals, min(a.occurred_at) AS first_at,
      max(a.occurred_at) AS last_at,
      (array_agg(DISTINCT a.resource_id) FILTER (WHERE a.resource_id IS NOT NULL))[1:20] AS resource_ids,
      (array_agg(a.id ORDER BY a.id DESC))[1:20] AS audit_ids
    FROM audit_log a
    JOIN app p ON p.id = a.app_id
    LEFT JOIN LATERAL (
      SELECT max(v.closed_at) AS closed_at FROM violation v
      WHERE v.type = 'purposeMisuse' AND v.subject = 'app:' || a.app_id AND v.status = 'closed'
    ) c ON true
    WHERE a.occurred_at >= ${since} AND a.decision = 'deny'
      AND a.app_id IS NOT NULL
      AND a.detail->>'reason' = 'PURPOSE_MISMATCH'
      AND (c.closed_at IS NULL OR a.occurred_at > c.closed_at)
    GROUP BY a.app_id
    ORDER BY a.app_id
    LIMIT ${MAX_FINDINGS_PER_TYPE}`.execute(ctx.db);
  return rows.rows.map((r) => ({
    type: 'purposeMisuse',
    subject: `app:${r.app_id}`,
    orgId: Number(r.org_id),
    resourceId: r.resource_ids?.length === 1 ? Number(r.resource_ids[0]) : null,
    evidence: {
      appId: Number(r.app_id),
      refusals: Number(r.refusals),
      windowDays: MISUSE_WINDOW_DAYS,
      firstOn: shanghaiDate(new Date(r.first_at)),
      lastOn: shanghaiDate(new Date(r.last_at)),
      resourceIds: (r.resource_ids ?? []).map(Number),
      auditIds: (r.audit_ids ?? []).map(Number),
    },
  }));
}

async function openApplicationLate(ctx: AppContext, today: string): Promise<Finding[]> {
  const rows = await ctx.db
    .selectFrom('open_application')
    .select(['id', 'resource_id', 'provider_org_id', 'filed_on', 'due_date', 'article'])
    .where('status', '=', 'pending')
    .where('due_date', 'is not', null)
    .where('due_date', '<', today)
    .orderBy('id')
    .limit(MAX_FINDINGS_PER_TYPE)
    .execute();
  return rows.map((a) => ({
    type: 'openApplicationLate',
    subject: `openApplication:${a.id}`,
    orgId: Number(a.provider_org_id),
    resourceId: Number(a.resource_id),
    evidence: {
      applicationId: Number(a.id),
      filedOn: a.filed_on,
      dueDate: a.due_date,
      daysOverdue: dayDiff(a.due_date as string, today),
      replyArticle: a.article,
    },
  }));
}

async function detect(ctx: AppContext, type: ViolationType, now: Date): Promise<Finding[]> {
  const today = shanghaiDate(now);
  switch (type) {
    case 'catalogStale':
      return catalogStale(ctx, today);
    case 'dataStale':
      return dataStale(ctx, now);
    case 'requestLate':
      return requestLate(ctx, today);
    case 'purposeMisuse':
      return purposeMisuse(ctx, now);
    case 'openApplicationLate':
      return openApplicationLate(ctx, today);
  }
}

async function staffRecipients(trx: Tx, orgId: number) {
  const authority = await trx.selectFrom('org').select('id').where('kind', '=', 'authority').execute();
  return [
    {
      orgIds: authority.map((o) => Number(o.id)),
      roles: ['platform_admin' as const, 'authority_reviewer' as const],
    },
    { orgIds: [orgId], roles: ['data_officer' as const] },
  ];
}

async function orgName(trx: Tx, orgId: number) {
  const o = await trx.selectFrom('org').select('name').where('id', '=', orgId).executeTakeFirst();
  return o?.name ?? '';
}

/**
 * Runs every detector the profile names, as of ctx.clock: records new findings (audited, notified), refreshes ongoing
 * ones, and closes the live findings whose cause is gone. Returns what it did, by type.
 */
export async function detectViolations(
  ctx: AppContext,
): Promise<{ applicable: boolean; found: Record<string, number>; created: number; resolved: number }> {
  const rules = violationRules(ctx);
  const found: Record<string, number> = {};
  if (!rules.length) return { applicable: false, found, created: 0, resolved: 0 };
  const now = ctx.clock.now();
  let created = 0;
  let resolved = 0;
  for (const rule of rules) {
    const findings = await detect(ctx, rule.type, now);
    found[rule.type] = findings.length;
    const subjects = new Set(findings.map((f) => f.subject));
    for (const f of findings) {
      const isNew = await inTx(ctx.db, async (trx) => {
        const evidence = JSON.stringify(bound(f.evidence));
        const r = await sql<{ id: number; created: boolean }>`
          INSERT INTO violation (type, subject, org_id, resource_id, article, evidence, first_seen_at, last_seen_at)
          VALUES (${f.type}, ${f.subject}, ${f.orgId}, ${f.resourceId}, ${rule.article}, ${evidence}::jsonb, ${now},
            ${now})
          ON CONFLICT (type, subject) WHERE status <> 'closed'
          DO UPDATE SET evidence = EXCLUDED.evidence, last_seen_at = EXCLUDED.last_seen_at, hits = violation.hits + 1
          RETURNING id, (xmax = 0) AS created`.execute(trx);
        const row = r.rows[0];
        if (!row.created) return false;
        const id = Number(row.id);
        await appendAudit(trx, {
          action: 'supervision.violationFound',
          decision: 'allow',
          actorOrgId: f.orgId,
          resourceId: f.resourceId,
          targetType: 'violation',
          targetId: id,
          detail: { type: f.type, article: rule.article, subject: f.subject },
        });
        await notify(trx, await staffRecipients(trx, f.orgId), {
          kind: 'supervision.violationFound',
          severity: 'warning',
          params: {
            violationId: id,
            type: f.type,
            article: rule.article,
            orgName: await orgName(trx, f.orgId),
          },
          resourceId: f.resourceId,
        });
        return true;
      });
      if (isNew) created++;
    }
    // live findings of this type whose cause is gone close themselves
    const live = await ctx.db
      .selectFrom('violation')
      .select(['id', 'subject'])
      .where('type', '=', rule.type)
      .where('status', '<>', 'closed')
      .execute();
    for (const v of live.filter((x) => !subjects.has(x.subject))) {
      const done = await inTx(ctx.db, async (trx) => {
        const row = await trx
          .updateTable('violation')
          .set({ status: 'closed', closed_at: now, close_reason: 'resolved' })
          .where('id', '=', v.id)
          .where('status', '<>', 'closed')
          .returning(['id', 'org_id', 'resource_id', 'type', 'article'])
          .executeTakeFirst();
        if (!row) return false;
        await appendAudit(trx, {
          action: 'supervision.violationResolved',
          decision: 'allow',
          actorOrgId: Number(row.org_id),
          resourceId: row.resource_id,
          targetType: 'violation',
          targetId: Number(row.id),
          detail: { type: row.type, subject: v.subject },
        });
        await notify(trx, [{ orgIds: [Number(row.org_id)], roles: ['data_officer'] }], {
          kind: 'supervision.violationResolved',
          severity: 'info',
          params: { violationId: Number(row.id), type: row.type, article: row.article },
          resourceId: row.resource_id,
        });
        return true;
      });
      if (done) resolved++;
    }
  }
  return { applicable: true, found, created, resolved };
}

// ---------------------------------------------------------------------------------------------------------------
// reading and acting

/** The authority's staff close findings; auditors read all of them; a department sees its own. */
export function isSupervisor(actor: Actor): boolean {
  return actor.orgKind === 'authority' && hasRole(actor, 'platform_admin', 'authority_reviewer');
}
function seesAll(actor: Actor): boolean {
  return isSupervisor(actor) || hasRole(actor, 'auditor') || actor.orgKind === 'authority';
}

export interface ViolationQuery {
  type?: ViolationType;
  status?: ViolationStatus | 'live';
  orgId?: number;
  page?: number;
  pageSize?: number;
}

export async function listViolations(ctx: AppContext, actor: Actor, q: ViolationQuery) {
  const page = q.page ?? 1;
  const pageSize = Math.min(q.pageSize ?? 20, 100);
  let base = ctx.db.selectFrom('violation as v');
  if (!seesAll(actor)) base = base.where('v.org_id', '=', actor.orgId);
  if (q.orgId) base = base.where('v.org_id', '=', q.orgId);
  if (q.type) base = base.where('v.type', '=', q.type);
  if (q.status === 'live') base = base.where('v.status', '<>', 'closed');
  else if (q.status) base = base.where('v.status', '=', q.status);
  const total = await base.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  const rows = await base
    .innerJoin('org as o', 'o.id', 'v.org_id')
    .leftJoin('resource as r', 'r.id', 'v.resource_id')
    .selectAll('v')
    .select(['o.name as org_name', 'r.name as resource_name'])
    .orderBy('v.id', 'desc')
    .limit(pageSize)
    .offset((page - 1) * pageSize)
    .execute();
  const rules = violationRules(ctx);
  return {
    applicable: rules.length > 0,
    rules,
    total: Number(total.n),
    page,
    pageSize,
    canClose: isSupervisor(actor),
    items: rows.map((v) => ({
      id: Number(v.id),
      type: v.type,
      article: v.article,
      org: { id: Number(v.org_id), name: v.org_name },
      resource: v.resource_id ? { id: Number(v.resource_id), name: v.resource_name } : null,
      evidence: v.evidence,
      status: v.status,
      hits: v.hits,
      firstSeenAt: v.first_seen_at,
      lastSeenAt: v.last_seen_at,
      acknowledgedAt: v.acknowledged_at,
      rectifiedAt: v.rectified_at,
      rectifyNote: v.rectify_note,
      closedAt: v.closed_at,
      closeReason: v.close_reason,
      closeNote: v.close_note,
      canAcknowledge: v.status === 'open' && isOwnOfficer(actor, Number(v.org_id)),
      canRectify:
        (v.status === 'open' || v.status === 'acknowledged') && isOwnOfficer(actor, Number(v.org_id)),
      canClose: v.status !== 'closed' && isSupervisor(actor),
    })),
  };
}

function isOwnOfficer(actor: Actor, orgId: number) {
  return actor.orgId === orgId && hasRole(actor, 'data_officer');
}

export type ViolationAction = 'acknowledge' | 'rectify' | 'close';
const AUDIT_ACTION: Record<ViolationAction, string> = {
  acknowledge: 'supervision.violationAcknowledged',
  rectify: 'supervision.violationRectified',
  close: 'supervision.violationClosed',
};

/**
 * The department's data officer acknowledges a finding and records its rectification (a note required); the
 * authority's staff close it (a note required). Each step audited; the other party is told.
 */
export async function actOnViolation(
  ctx: AppContext,
  actor: Actor,
  id: number,
  action: ViolationAction,
  note: string | null,
) {
  const text = note?.trim().slice(0, 2000) || null;
  if ((action === 'rectify' || action === 'close') && !text)
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'note',
        reason: action === 'rectify' ? 'state what was rectified' : 'state why the finding is closed',
        reasonZh: action === 'rectify' ? '请说明整改情况' : '请说明关闭理由',
      },
    ]);
  return inTx(ctx.db, async (trx) => {
    const v = await trx
      .selectFrom('violation')
      .select(['id', 'org_id', 'status', 'type', 'article', 'resource_id'])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!v || (!seesAll(actor) && Number(v.org_id) !== actor.orgId))
      throw new AppError('NOT_FOUND', [
        { field: 'id', reason: `violation ${id} not found`, reasonZh: `违规事项 ${id} 不存在` },
      ]);
    const orgId = Number(v.org_id);
    if (action === 'close' ? !isSupervisor(actor) : !isOwnOfficer(actor, orgId))
      throw new AppError('FORBIDDEN', [
        action === 'close'
          ? { reason: "only the authority's staff close a violation", reasonZh: '仅主管部门可关闭违规事项' }
          : {
              reason: "the department's data officer acknowledges and rectifies its violations",
              reasonZh: '由本部门数据专员确认和整改',
            },
      ]);
    const allowed: Record<ViolationAction, string[]> = {
      acknowledge: ['open'],
      rectify: ['open', 'acknowledged'],
      close: ['open', 'acknowledged', 'rectified'],
    };
    if (!allowed[action].includes(v.status))
      throw new AppError('CONFLICT', [
        {
          field: 'id',
          reason: `violation ${id} is ${v.status}`,
          reasonZh: `违规记录 ${id} 当前状态为「${statusZh(v.status, 'violationStatus')}」`,
        },
      ]);
    const now = ctx.clock.now();
    const set =
      action === 'acknowledge'
        ? { status: 'acknowledged' as const, acknowledged_by: actor.id, acknowledged_at: now }
        : action === 'rectify'
          ? { status: 'rectified' as const, rectified_by: actor.id, rectified_at: now, rectify_note: text }
          : {
              status: 'closed' as const,
              closed_by: actor.id,
              closed_at: now,
              close_reason: 'authority' as const,
              close_note: text,
            };
    await trx.updateTable('violation').set(set).where('id', '=', id).execute();
    await appendAudit(trx, {
      action: AUDIT_ACTION[action],
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      resourceId: v.resource_id,
      targetType: 'violation',
      targetId: id,
      clientIp: actor.clientIp,
      detail: { type: v.type, ...(text ? { note: text.slice(0, 200) } : {}) },
    });
    if (action === 'rectify') {
      const authority = await trx.selectFrom('org').select('id').where('kind', '=', 'authority').execute();
      await notify(
        trx,
        [{ orgIds: authority.map((o) => Number(o.id)), roles: ['platform_admin', 'authority_reviewer'] }],
        {
          kind: 'supervision.violationRectified',
          severity: 'info',
          params: { violationId: id, type: v.type, article: v.article, orgName: await orgName(trx, orgId) },
          resourceId: v.resource_id,
        },
      );
    }
    if (action === 'close')
      await notify(trx, [{ orgIds: [orgId], roles: ['data_officer'] }], {
        kind: 'supervision.violationClosed',
        severity: 'info',
        params: { violationId: id, type: v.type, article: v.article },
        resourceId: v.resource_id,
      });
    return { id, status: set.status };
  });
}

/** Counts of live findings by department and type (the cockpit and the officer's scorecard read these). */
export async function liveViolationCounts(ctx: AppContext, orgId?: number) {
  let q = ctx.db
    .selectFrom('violation')
    .select(['org_id', 'type', sql<number>`count(*)::int`.as('n')])
    .where('status', '<>', 'closed');
  if (orgId) q = q.where('org_id', '=', orgId);
  const rows = await q.groupBy(['org_id', 'type']).execute();
  return rows.map((r) => ({ orgId: Number(r.org_id), type: r.type as ViolationType, n: Number(r.n) }));
}

export { VIOLATION_TYPES };
