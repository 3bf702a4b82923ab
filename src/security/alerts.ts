import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { shanghaiDate } from '../calendar/model.js';
import { currentCalendar } from '../calendar/service.js';
import { type Actor, type AppContext, hasRole } from '../context.js';
import { type Db, inTx, type Tx } from '../db/index.js';
import { notify } from '../notify/service.js';
import { AppError } from '../shared/errors.js';
import { statusZh } from '../shared/labels.js';

/*
 * Anomaly alerts (issue 10 point 5; SY Art 43: monitor and warn of abnormal access; NY task 11: 数据安全预警).
 * Four rules, each a row of security_alert_rule (defaults seeded by migration 023, changed by the administrator):
 *   volume      — an app's calls in the window exceed max(threshold, factor × its own norm), the norm being its mean
 *                 calls per active hour over the last baseline_days (security_app_hour, folded from audit_log);
 *   offHours    — rows an app was served in hours outside working time (work_start–work_end on the calendar's
 *                 working days, Beijing time) within the window exceed threshold;
 *   enumeration — record lookups / verifications of an app mostly miss (≥ threshold misses, ≥ factor of its lookups)
 *                 within the window: counted inline on the data API (src/dataapi/guards.ts), no job needed;
 *   denials     — one app or one person was refused ≥ threshold times within the window (audit_log deny rows, with
 *                 the repeat counts of audit_refusal_tally).
 * The job `security.alerts` (src/jobs/platform.ts) evaluates volume, offHours and denials every 5 minutes. One ongoing
 * anomaly is one alert (unique rule + subject while open or acknowledged: a repeat raises its hit count and refreshes
 * its evidence); a new alert is audited, notifies the authority's staff, the auditors and the app's department, and,
 * when its rule says so, suspends the app (its calls are then refused with APP_SUSPENDED, audited) until the
 * authority reinstates it.
 */

export const ALERT_RULES = ['volume', 'offHours', 'enumeration', 'denials'] as const;
export type AlertRuleCode = (typeof ALERT_RULES)[number];
export const ALERT_STATUSES = ['open', 'acknowledged', 'closed'] as const;
export const ALERT_JOB = 'security.alerts';

export interface AlertRule {
  code: AlertRuleCode;
  enabled: boolean;
  autoSuspend: boolean;
  threshold: number | null;
  factor: number | null;
  windowMinutes: number;
  baselineDays: number | null;
  workStart: string | null;
  workEnd: string | null;
  updatedAt: Date | null;
}

const RULE_TTL_MS = 30_000;
const ruleCache = new WeakMap<AppContext, { at: number; rules: Map<AlertRuleCode, AlertRule> }>();

/** The rules, cached for 30 s per node (the enumeration check reads them on the data API's path). */
export async function alertRules(ctx: AppContext): Promise<Map<AlertRuleCode, AlertRule>> {
  const hit = ruleCache.get(ctx);
  if (hit && Date.now() - hit.at < RULE_TTL_MS) return hit.rules;
  const rows = await ctx.db.selectFrom('security_alert_rule').selectAll().execute();
  const rules = new Map<AlertRuleCode, AlertRule>(
    rows.map((r) => [
      r.code,
      {
        code: r.code,
        enabled: r.enabled,
        autoSuspend: r.auto_suspend,
        threshold: r.threshold,
        factor: r.factor === null ? null : Number(r.factor),
        windowMinutes: r.window_minutes,
        baselineDays: r.baseline_days,
        workStart: r.work_start,
        workEnd: r.work_end,
        updatedAt: r.updated_at,
      },
    ]),
  );
  ruleCache.set(ctx, { at: Date.now(), rules });
  return rules;
}

/** The authority's staff act on alerts (acknowledge, close, reinstate); auditors read them; GB/T 39477 duties. */
export function isSecurityStaff(actor: Actor): boolean {
  return actor.orgKind === 'authority' && hasRole(actor, 'platform_admin', 'authority_reviewer');
}

function canSeeAll(actor: Actor): boolean {
  return isSecurityStaff(actor) || hasRole(actor, 'auditor');
}

export interface Detection {
  rule: AlertRuleCode;
  appId?: number | null;
  userId?: number | null;
  resourceId?: number | null;
  /** the numbers that made the rule fire; bounded (scalars and short lists) */
  evidence: Record<string, unknown>;
}

const MAX_EVIDENCE_CHARS = 3000;

/** Scalars kept, strings cut, lists cut to 10 entries: an alert's evidence never grows with what a caller sends. */
export function boundEvidence(e: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e).slice(0, 20)) {
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) out[k] = v;
    else if (typeof v === 'string') out[k] = v.slice(0, 200);
    else if (Array.isArray(v))
      out[k] = v.slice(0, 10).map((x) => (typeof x === 'number' ? x : String(x).slice(0, 60)));
  }
  let json = JSON.stringify(out);
  while (json.length > MAX_EVIDENCE_CHARS) {
    const key = Object.keys(out).pop();
    if (!key) break;
    delete out[key];
    json = JSON.stringify(out);
  }
  return out;
}

/**
 * Records a detection: a new alert (audited, notified, and the app suspended when the rule says so), or one more hit on
 * the alert already open for this rule and subject. Returns the alert and whether it is new.
 */
export async function raiseAlert(
  ctx: AppContext,
  rule: AlertRule,
  d: Detection,
): Promise<{ alertId: number; created: boolean; suspended: boolean }> {
  const subject = d.appId ? `app:${d.appId}` : `user:${d.userId}`;
  const evidence = JSON.stringify(boundEvidence(d.evidence));
  const now = ctx.clock.now();
  return inTx(ctx.db, async (trx) => {
    const app = d.appId
      ? await trx
          .selectFrom('app')
          .select(['id', 'org_id', 'name', 'status'])
          .where('id', '=', d.appId)
          .executeTakeFirst()
      : undefined;
    const user = d.userId
      ? await trx
          .selectFrom('app_user')
          .select(['id', 'org_id', 'display_name'])
          .where('id', '=', d.userId)
          .executeTakeFirst()
      : undefined;
    const orgId = app?.org_id ?? user?.org_id ?? null;
    const r = await sql<{ id: number; created: boolean; suspended: boolean }>`
      INSERT INTO security_alert (rule_code, subject, app_id, user_id, org_id, resource_id, evidence, first_seen_at,
        last_seen_at)
      VALUES (${d.rule}, ${subject}, ${d.appId ?? null}, ${d.userId ?? null}, ${orgId}, ${d.resourceId ?? null},
        ${evidence}::jsonb, ${now}, ${now})
      ON CONFLICT (rule_code, subject) WHERE status IN ('open', 'acknowledged')
      DO UPDATE SET evidence = EXCLUDED.evidence, last_seen_at = EXCLUDED.last_seen_at,
        hits = security_alert.hits + 1
      RETURNING id, (xmax = 0) AS created, suspended`.execute(trx);
    const row = r.rows[0];
    const alertId = Number(row.id);
    if (!row.created) return { alertId, created: false, suspended: row.suspended };
    await appendAudit(trx, {
      action: 'security.alertRaised',
      decision: 'allow',
      actorOrgId: orgId,
      actorUserId: d.userId ?? null,
      appId: d.appId ?? null,
      resourceId: d.resourceId ?? null,
      targetType: 'securityAlert',
      targetId: alertId,
      detail: { rule: d.rule, evidence: JSON.parse(evidence) as unknown },
    });
    let suspended = false;
    if (rule.autoSuspend && app && app.status === 'active') {
      suspended = await suspendApp(trx, app.id, { rule: d.rule, alertId, resourceId: d.resourceId ?? null });
      if (suspended)
        await trx.updateTable('security_alert').set({ suspended: true }).where('id', '=', alertId).execute();
    }
    const resource = d.resourceId
      ? await trx
          .selectFrom('resource')
          .select(['provider_org_id', 'name'])
          .where('id', '=', d.resourceId)
          .executeTakeFirst()
      : undefined;
    const authority = await trx.selectFrom('org').select('id').where('kind', '=', 'authority').execute();
    const to = [
      {
        orgIds: authority.map((o) => Number(o.id)),
        roles: ['platform_admin', 'authority_reviewer'] as const,
      },
      { roles: ['auditor'] as const, anyOrg: true },
      {
        orgIds: [orgId, resource?.provider_org_id].filter((x): x is number => x != null).map(Number),
        roles: ['data_officer'] as const,
      },
    ].map((r) => ({ ...r, roles: [...r.roles] }));
    const subjectName = app?.name ?? user?.display_name ?? subject;
    // the enumeration detector's suspension keeps its own notice (it names the lookups and misses)
    if (suspended && d.rule === 'enumeration')
      await notify(trx, to, {
        kind: 'security.appSuspended',
        severity: 'critical',
        params: {
          appName: subjectName,
          resourceName: resource?.name ?? '',
          alertId,
          ...JSON.parse(evidence),
        },
        resourceId: d.resourceId ?? null,
        appId: d.appId ?? null,
      });
    else
      await notify(trx, to, {
        kind: suspended ? 'security.alertSuspended' : 'security.alertRaised',
        severity: suspended ? 'critical' : 'warning',
        params: { subjectName, rule: d.rule, alertId },
        resourceId: d.resourceId ?? null,
        appId: d.appId ?? null,
      });
    return { alertId, created: true, suspended };
  });
}

/** Suspends an active app (audited); false when it was not active. Every node refuses its next call. */
async function suspendApp(
  trx: Tx,
  appId: number,
  why: { rule: AlertRuleCode; alertId: number; resourceId: number | null },
): Promise<boolean> {
  const app = await trx
    .updateTable('app')
    .set({
      status: 'suspended',
      suspended_at: new Date(),
      suspended_reason: JSON.stringify({ kind: why.rule, alertId: why.alertId }),
    })
    .where('id', '=', appId)
    .where('status', '=', 'active')
    .returning(['id', 'org_id'])
    .executeTakeFirst();
  if (!app) return false;
  await appendAudit(trx, {
    action: 'security.appSuspended',
    decision: 'deny',
    actorOrgId: app.org_id,
    appId,
    resourceId: why.resourceId,
    targetType: 'app',
    targetId: appId,
    detail: { reason: why.rule, alertId: why.alertId },
  });
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// the job

const HOUR_MS = 3_600_000;
const truncHour = (t: number) => Math.floor(t / HOUR_MS) * HOUR_MS;

/**
 * Folds each app's served calls and rows per hour from audit_log: from the last folded hour, and always the last
 * `recentMinutes` again (late commits count). The first run folds the baseline's days.
 */
async function foldHours(db: Db, now: Date, baselineDays: number, recentMinutes: number): Promise<void> {
  const last = await db
    .selectFrom('security_app_hour')
    .select(sql<Date | null>`max(hour)`.as('hour'))
    .where('hour', '<=', now)
    .executeTakeFirst();
  const floor = truncHour(now.getTime() - baselineDays * 24 * HOUR_MS);
  const from = last?.hour
    ? Math.max(
        floor,
        Math.min(new Date(last.hour).getTime(), truncHour(now.getTime() - recentMinutes * 60_000)),
      )
    : floor;
  await sql`
    INSERT INTO security_app_hour (app_id, hour, calls, rows_served)
    SELECT app_id, date_trunc('hour', occurred_at), count(*)::int, coalesce(sum(rows_returned), 0)::bigint
    FROM audit_log
    WHERE occurred_at >= ${new Date(from)} AND occurred_at <= ${now} AND app_id IS NOT NULL
      AND action LIKE 'data.%' AND decision = 'allow'
    GROUP BY 1, 2
    ON CONFLICT (app_id, hour) DO UPDATE SET calls = EXCLUDED.calls, rows_served = EXCLUDED.rows_served`.execute(
    db,
  );
  // the norm needs no more than 90 days
  await db
    .deleteFrom('security_app_hour')
    .where('hour', '<', new Date(now.getTime() - 91 * 24 * HOUR_MS))
    .execute();
}

const minutesOf = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
};

/** Whether the hour starting at `hour` lies wholly outside working time (Beijing time, the calendar's working days). */
export function offHours(
  cal: { isWorkday(date: string): boolean },
  hour: Date,
  workStart: string,
  workEnd: string,
): boolean {
  if (!cal.isWorkday(shanghaiDate(hour))) return true;
  const local = new Date(hour.getTime() + 8 * HOUR_MS);
  const start = local.getUTCHours() * 60 + local.getUTCMinutes();
  return start + 60 <= minutesOf(workStart) || start >= minutesOf(workEnd);
}

/** Beijing-time 'YYYY-MM-DD HH:00' of an hour bucket, for the evidence. */
const hourLabel = (h: Date) =>
  `${shanghaiDate(h)} ${String(new Date(h.getTime() + 8 * HOUR_MS).getUTCHours()).padStart(2, '0')}:00`;

/** Evaluates the job's rules at ctx.clock's now; returns the detections (new alerts and repeats). */
export async function evaluateAlerts(ctx: AppContext): Promise<Detection[]> {
  const rules = await alertRules(ctx);
  const now = ctx.clock.now();
  const found: Detection[] = [];
  const volume = rules.get('volume');
  const off = rules.get('offHours');
  const denials = rules.get('denials');
  // the off-hours rule reads its whole window from the folded hours, so that window is folded afresh each run
  await foldHours(ctx.db, now, volume?.baselineDays ?? 14, Math.max(off?.windowMinutes ?? 0, 60));

  if (volume?.enabled) {
    const w = volume.windowMinutes;
    const since = new Date(now.getTime() - w * 60_000);
    const current = await ctx.db
      .selectFrom('audit_log')
      .select(['app_id', sql<number>`count(*)::int`.as('calls')])
      .where('occurred_at', '>', since)
      .where('occurred_at', '<=', now)
      .where('app_id', 'is not', null)
      .where('action', 'like', 'data.%')
      .where('decision', '=', 'allow')
      .groupBy('app_id')
      .execute();
    const floor = volume.threshold ?? 1000;
    const candidates = current.filter((c) => c.calls > floor);
    if (candidates.length) {
      const days = volume.baselineDays ?? 14;
      const norms = await ctx.db
        .selectFrom('security_app_hour')
        .select(['app_id', sql<number>`avg(calls)::float8`.as('mean')])
        .where(
          'app_id',
          'in',
          candidates.map((c) => Number(c.app_id)),
        )
        .where('hour', '>=', new Date(now.getTime() - days * 24 * HOUR_MS))
        .where('hour', '<', new Date(truncHour(since.getTime())))
        .where('calls', '>', 0)
        .groupBy('app_id')
        .execute();
      const normOf = new Map(norms.map((n) => [Number(n.app_id), Number(n.mean)]));
      const factor = volume.factor ?? 10;
      for (const c of candidates) {
        const perHour = normOf.get(Number(c.app_id)) ?? 0;
        const limit = Math.max(floor, Math.ceil(factor * perHour * (w / 60)));
        if (c.calls > limit)
          found.push({
            rule: 'volume',
            appId: Number(c.app_id),
            evidence: {
              calls: c.calls,
              windowMinutes: w,
              normPerHour: Math.round(perHour * 10) / 10,
              baselineDays: days,
              factor,
              limit,
            },
          });
      }
    }
  }

  if (off?.enabled) {
    const cal = await currentCalendar(ctx);
    const ws = off.workStart ?? '08:30';
    const we = off.workEnd ?? '18:00';
    const hours = await ctx.db
      .selectFrom('security_app_hour')
      .select(['app_id', 'hour', 'rows_served'])
      .where('hour', '>=', new Date(truncHour(now.getTime() - off.windowMinutes * 60_000)))
      .where('hour', '<=', now)
      .where('rows_served', '>', 0)
      .execute();
    const byApp = new Map<number, { rows: number; hours: Date[] }>();
    for (const h of hours) {
      const at = new Date(h.hour);
      if (!offHours(cal, at, ws, we)) continue;
      const e = byApp.get(Number(h.app_id)) ?? { rows: 0, hours: [] };
      e.rows += Number(h.rows_served);
      e.hours.push(at);
      byApp.set(Number(h.app_id), e);
    }
    const limit = off.threshold ?? 1000;
    for (const [appId, e] of byApp)
      if (e.rows > limit)
        found.push({
          rule: 'offHours',
          appId,
          evidence: {
            rows: e.rows,
            limit,
            windowMinutes: off.windowMinutes,
            workStart: ws,
            workEnd: we,
            hours: e.hours.sort((a, b) => a.getTime() - b.getTime()).map(hourLabel),
          },
        });
  }

  if (denials?.enabled) {
    const since = new Date(now.getTime() - denials.windowMinutes * 60_000);
    const rows = await sql<{ app_id: number | null; user_id: number | null; code: string | null; n: number }>`
      SELECT a.app_id, CASE WHEN a.app_id IS NULL THEN a.actor_user_id END AS user_id,
        coalesce(a.detail->>'code', a.detail->>'reason') AS code, sum(coalesce(t.count, 1))::int AS n
      FROM audit_log a LEFT JOIN audit_refusal_tally t ON t.audit_id = a.id
      WHERE a.occurred_at > ${since} AND a.occurred_at <= ${now} AND a.decision = 'deny'
        AND a.action NOT LIKE 'security.%' AND (a.app_id IS NOT NULL OR a.actor_user_id IS NOT NULL)
        AND coalesce(a.detail->>'reason', '') <> 'APP_SUSPENDED'
      GROUP BY 1, 2, 3`.execute(ctx.db);
    const by = new Map<
      string,
      { appId: number | null; userId: number | null; n: number; codes: Map<string, number> }
    >();
    for (const r of rows.rows) {
      const key = r.app_id ? `app:${r.app_id}` : `user:${r.user_id}`;
      const e = by.get(key) ?? {
        appId: r.app_id === null ? null : Number(r.app_id),
        userId: r.user_id === null ? null : Number(r.user_id),
        n: 0,
        codes: new Map(),
      };
      e.n += Number(r.n);
      const code = r.code ?? 'FORBIDDEN';
      e.codes.set(code, (e.codes.get(code) ?? 0) + Number(r.n));
      by.set(key, e);
    }
    const limit = denials.threshold ?? 30;
    for (const e of by.values())
      if (e.n >= limit)
        found.push({
          rule: 'denials',
          appId: e.appId,
          userId: e.userId,
          evidence: {
            refusals: e.n,
            limit,
            windowMinutes: denials.windowMinutes,
            codes: [...e.codes.entries()].sort((a, b) => b[1] - a[1]).map(([c]) => c),
          },
        });
  }

  for (const d of found) await raiseAlert(ctx, rules.get(d.rule)!, d);
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// the board

export async function listAlerts(
  ctx: AppContext,
  actor: Actor,
  f: {
    status?: (typeof ALERT_STATUSES)[number];
    /** the cockpit's drill-down (issue 12 point 6): alerts of one rule */
    rule?: AlertRuleCode;
    page?: number;
    pageSize?: number;
  },
) {
  const page = f.page ?? 1;
  const pageSize = f.pageSize ?? 20;
  let q = ctx.db
    .selectFrom('security_alert as s')
    .leftJoin('app as p', 'p.id', 's.app_id')
    .leftJoin('app_user as u', 'u.id', 's.user_id')
    .leftJoin('org as o', 'o.id', 's.org_id')
    .leftJoin('resource as r', 'r.id', 's.resource_id');
  if (!canSeeAll(actor)) {
    if (!hasRole(actor, 'data_officer')) throw new AppError('FORBIDDEN');
    q = q.where('s.org_id', '=', actor.orgId);
  }
  if (f.status) q = q.where('s.status', '=', f.status);
  if (f.rule) q = q.where('s.rule_code', '=', f.rule);
  const [{ total }] = await q.select(sql<number>`count(*)::int`.as('total')).execute();
  const rows = await q
    .select([
      's.id',
      's.rule_code',
      's.app_id',
      'p.name as app_name',
      'p.status as app_status',
      's.user_id',
      'u.display_name as user_name',
      's.org_id',
      'o.name as org_name',
      's.resource_id',
      'r.name as resource_name',
      's.evidence',
      's.status',
      's.suspended',
      's.hits',
      's.first_seen_at',
      's.last_seen_at',
      's.acknowledged_at',
      's.closed_at',
      's.note',
    ])
    .orderBy('s.id', 'desc')
    .limit(pageSize)
    .offset((page - 1) * pageSize)
    .execute();
  return {
    total,
    page,
    pageSize,
    canAct: isSecurityStaff(actor),
    items: rows.map((r) => ({
      id: Number(r.id),
      rule: r.rule_code,
      app: r.app_id ? { id: Number(r.app_id), name: r.app_name, status: r.app_status } : null,
      user: r.user_id ? { id: Number(r.user_id), name: r.user_name } : null,
      org: r.org_id ? { id: Number(r.org_id), name: r.org_name } : null,
      resource: r.resource_id ? { id: Number(r.resource_id), name: r.resource_name } : null,
      evidence: r.evidence,
      status: r.status,
      suspended: r.suspended,
      hits: r.hits,
      firstSeenAt: r.first_seen_at,
      lastSeenAt: r.last_seen_at,
      acknowledgedAt: r.acknowledged_at,
      closedAt: r.closed_at,
      note: r.note,
    })),
  };
}

/** Acknowledge (being looked at) or close (handled) an alert; the authority's staff only; audited. */
export async function actOnAlert(
  ctx: AppContext,
  actor: Actor,
  id: number,
  action: 'acknowledge' | 'close',
  note: string | null,
) {
  if (!isSecurityStaff(actor))
    throw new AppError('FORBIDDEN', [
      {
        reason: "only the authority's staff act on security alerts",
        reasonZh: '仅数据主管部门工作人员可处理安全告警',
      },
    ]);
  return inTx(ctx.db, async (trx) => {
    const now = ctx.clock.now();
    const from = action === 'acknowledge' ? ['open'] : ['open', 'acknowledged'];
    const row = await trx
      .updateTable('security_alert')
      .set(
        action === 'acknowledge'
          ? { status: 'acknowledged', acknowledged_by: actor.id, acknowledged_at: now, note }
          : { status: 'closed', closed_by: actor.id, closed_at: now, ...(note ? { note } : {}) },
      )
      .where('id', '=', id)
      .where('status', 'in', from as never)
      .returning(['id', 'app_id', 'rule_code', 'status'])
      .executeTakeFirst();
    if (!row) {
      const exists = await trx
        .selectFrom('security_alert')
        .select('status')
        .where('id', '=', id)
        .executeTakeFirst();
      if (!exists)
        throw new AppError('NOT_FOUND', [
          { field: 'id', reason: `alert ${id} not found`, reasonZh: `告警 ${id} 不存在` },
        ]);
      throw new AppError('CONFLICT', [
        {
          field: 'id',
          reason: `alert ${id} is ${exists.status}`,
          reasonZh: `告警 ${id} 当前状态为「${statusZh(exists.status, 'alertStatus')}」`,
        },
      ]);
    }
    await appendAudit(trx, {
      action: action === 'acknowledge' ? 'security.alertAcknowledged' : 'security.alertClosed',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      appId: row.app_id,
      targetType: 'securityAlert',
      targetId: id,
      clientIp: actor.clientIp,
      detail: { rule: row.rule_code, ...(note ? { note: note.slice(0, 200) } : {}) },
    });
    return { id, status: row.status };
  });
}

export interface RulePatch {
  enabled?: boolean;
  autoSuspend?: boolean;
  threshold?: number | null;
  factor?: number | null;
  windowMinutes?: number;
  baselineDays?: number | null;
  workStart?: string | null;
  workEnd?: string | null;
}

/** Changes a rule (the administrator: configuration is the administrator's duty, GB/T 39477); audited. */
export async function updateRule(ctx: AppContext, actor: Actor, code: AlertRuleCode, p: RulePatch) {
  if (p.workStart && p.workEnd && minutesOf(p.workStart) >= minutesOf(p.workEnd))
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'workEnd',
        reason: 'working hours must end after they start',
        reasonZh: '下班时间须晚于上班时间',
      },
    ]);
  const set = {
    ...(p.enabled !== undefined ? { enabled: p.enabled } : {}),
    ...(p.autoSuspend !== undefined ? { auto_suspend: p.autoSuspend } : {}),
    ...(p.threshold !== undefined ? { threshold: p.threshold } : {}),
    ...(p.factor !== undefined ? { factor: p.factor } : {}),
    ...(p.windowMinutes !== undefined ? { window_minutes: p.windowMinutes } : {}),
    ...(p.baselineDays !== undefined ? { baseline_days: p.baselineDays } : {}),
    ...(p.workStart !== undefined ? { work_start: p.workStart } : {}),
    ...(p.workEnd !== undefined ? { work_end: p.workEnd } : {}),
  };
  await inTx(ctx.db, async (trx) => {
    const r = await trx
      .updateTable('security_alert_rule')
      .set({ ...set, updated_by: actor.id, updated_at: ctx.clock.now() })
      .where('code', '=', code)
      .returning('code')
      .executeTakeFirst();
    if (!r)
      throw new AppError('NOT_FOUND', [
        { field: 'code', reason: `rule ${code} not found`, reasonZh: `规则 ${code} 不存在` },
      ]);
    await appendAudit(trx, {
      action: 'security.alertRuleChanged',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      targetType: 'securityAlertRule',
      targetId: code,
      clientIp: actor.clientIp,
      detail: { ...p },
    });
  });
  ruleCache.delete(ctx);
  return (await alertRules(ctx)).get(code)!;
}
