import { randomBytes } from 'node:crypto';
import { sql, type Updateable } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { endOfShanghaiDay, shanghaiDate } from '../calendar/model.js';
import { type Actor, type AppContext, hasRole } from '../context.js';
import { type Db, inTx, type Tx } from '../db/index.js';
import type { DB } from '../db/schema.js';
import { nextDue } from '../ingest/freshness.js';
import { notify } from '../notify/service.js';
import { AppError } from '../shared/errors.js';
import { statusZh } from '../shared/labels.js';
import { runUsageRollup } from '../usage/rollup.js';
import {
  DEFAULT_MODEL,
  draw,
  EVIDENCE_IDS,
  type EvalModel,
  INDICATORS,
  type Indicator,
  parsePeriod,
  ranks,
  weightedTotal,
} from './model.js';

/*
 * Department evaluation (issue 12 point 5; DG Art 36: the authority evaluates the departments' data quality, degree of
 * sharing and support for applications and publishes the results; SY Art 12; DG Art 35: random and periodic checks).
 * A run computes one period (a quarter or a year) for every department from what the platform already records, and
 * keeps per indicator the measured value, the score and the evidence (counts and the ids behind them, at most 50 per
 * list), so every score can be traced. Results are a draft until the authority publishes them; published results are
 * visible to every department, a department's evidence to itself.
 */
export const EVALUATION_JOB = 'evaluation.run';

export type RefKind = 'responsibility' | 'resource' | 'qualityRun' | 'request' | 'grant';

export interface Evidence {
  counts: Record<string, number>;
  refs: { kind: RefKind; ids: number[] }[];
}

interface IndicatorResult {
  value: number | null;
  score: number | null;
  evidence: Evidence;
}

export function isAuthorityStaff(actor: Actor): boolean {
  return actor.orgKind === 'authority' && hasRole(actor, 'authority_reviewer', 'platform_admin');
}

export function seesAllEvaluation(actor: Actor): boolean {
  return isAuthorityStaff(actor) || hasRole(actor, 'auditor');
}

function requireStaff(actor: Actor) {
  if (!isAuthorityStaff(actor))
    throw new AppError('FORBIDDEN', [
      {
        reason: 'the data authority runs and publishes evaluations (DG Art 36)',
        reasonZh: '考核评估由数据主管部门组织实施并发布结果（DG Art 36）',
      },
    ]);
}

const bounded = (ids: (number | string)[]) => ids.slice(0, EVIDENCE_IDS).map(Number);
const pct = (num: number, den: number) => (den ? Math.round((num / den) * 10000) / 100 : null);

// ── model ──────────────────────────────────────────────────────────────────────────────────────────────────────────

export async function currentModel(ctx: AppContext): Promise<EvalModel & { id: number | null }> {
  const row = await ctx.db
    .selectFrom('eval_model')
    .select(['id', 'name', 'indicators'])
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return { id: null, ...DEFAULT_MODEL };
  return { id: Number(row.id), name: row.name, indicators: row.indicators as EvalModel['indicators'] };
}

export async function saveModel(ctx: AppContext, actor: Actor, m: EvalModel) {
  requireStaff(actor);
  const codes = new Set(m.indicators.map((i) => i.code));
  if (codes.size !== m.indicators.length)
    throw new AppError('VALIDATION_FAILED', [
      { field: 'indicators', reason: 'an indicator is listed twice', reasonZh: '考核指标重复列出' },
    ]);
  if (!m.indicators.some((i) => i.weight > 0))
    throw new AppError('VALIDATION_FAILED', [
      { field: 'indicators', reason: 'at least one weight above 0', reasonZh: '至少一项指标的权重须大于 0' },
    ]);
  await inTx(ctx.db, async (trx) => {
    const row = await trx
      .insertInto('eval_model')
      .values({
        name: m.name,
        indicators: JSON.stringify(m.indicators.map((i) => ({ code: i.code, weight: i.weight }))),
        updated_by: actor.id,
        updated_at: ctx.clock.now(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'evaluation.model',
      targetType: 'eval_model',
      targetId: row.id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { indicators: m.indicators },
    });
  });
  return currentModel(ctx);
}

// ── indicators ─────────────────────────────────────────────────────────────────────────────────────────────────────

type Scope = { start: string; asOf: string; startAt: Date; endAt: Date };

async function catalogIndicator(ctx: AppContext, s: Scope) {
  // catalog completeness: the department's responsibility items (权责清单) that have a published catalog resource
  const r = await sql<{ org_id: number; total: number; covered: number; uncovered: number[] | null }>`
    SELECT ri.org_id, count(*)::int AS total,
      count(*) FILTER (WHERE r.status = 'published' AND coalesce(r.published_at, r.created_at) <= ${s.endAt})::int AS covered,
      array_agg(ri.id ORDER BY ri.id) FILTER (WHERE r.id IS NULL OR r.status <> 'published'
        OR coalesce(r.published_at, r.created_at) > ${s.endAt}) AS uncovered
    FROM responsibility_item ri LEFT JOIN resource r ON r.id = ri.resource_id
    WHERE ri.created_at <= ${s.endAt} GROUP BY ri.org_id`.execute(ctx.db);
  const out = new Map<number, IndicatorResult>();
  for (const x of r.rows) {
    const score = pct(x.covered, x.total);
    out.set(Number(x.org_id), {
      value: score,
      score,
      evidence: {
        counts: { items: x.total, covered: x.covered },
        refs: [{ kind: 'responsibility', ids: bounded(x.uncovered ?? []) }],
      },
    });
  }
  return out;
}

async function freshnessIndicator(ctx: AppContext, s: Scope) {
  // data freshness (XT Art 20, DG Art 17): resources updated within their declared cycle as of the period's end
  const r = await sql<{ id: number; org_id: number; update_cycle: string; since: Date | null }>`
    SELECT r.id, r.provider_org_id AS org_id, r.update_cycle,
      coalesce(greatest(
        (SELECT max(b.created_at) FROM ingest_batch b WHERE b.resource_id = r.id AND b.status = 'committed'
          AND b.created_at <= ${s.endAt}),
        CASE WHEN r.last_ingest_at <= ${s.endAt} THEN r.last_ingest_at END), r.published_at) AS since
    FROM resource r
    WHERE r.status = 'published' AND r.data_table IS NOT NULL AND r.update_cycle <> 'irregular'
      AND coalesce(r.published_at, r.created_at) <= ${s.endAt}
    ORDER BY r.id`.execute(ctx.db);
  const per = new Map<number, { total: number; overdue: number[] }>();
  for (const x of r.rows) {
    const due = x.since ? nextDue(x.update_cycle, new Date(x.since)) : null;
    const e = per.get(Number(x.org_id)) ?? { total: 0, overdue: [] };
    e.total++;
    if (due && due < s.asOf) e.overdue.push(Number(x.id));
    per.set(Number(x.org_id), e);
  }
  const out = new Map<number, IndicatorResult>();
  for (const [org, e] of per) {
    const score = pct(e.total - e.overdue.length, e.total);
    out.set(org, {
      value: score,
      score,
      evidence: {
        counts: { resources: e.total, fresh: e.total - e.overdue.length, overdue: e.overdue.length },
        refs: [{ kind: 'resource', ids: bounded(e.overdue) }],
      },
    });
  }
  return out;
}

async function qualityIndicator(ctx: AppContext, s: Scope) {
  // quality scores (issue 12 point 2): the mean of each resource's latest quality run by the period's end
  const r = await sql<{ org_id: number; run_id: number; score: string }>`
    SELECT r.provider_org_id AS org_id, qr.id AS run_id, qr.score
    FROM resource r JOIN LATERAL (SELECT q.id, q.score FROM quality_run q WHERE q.resource_id = r.id
      AND q.finished_at <= ${s.endAt} ORDER BY q.id DESC LIMIT 1) qr ON true
    WHERE r.status = 'published' ORDER BY qr.score, qr.id`.execute(ctx.db);
  const per = new Map<number, { runs: number[]; sum: number }>();
  for (const x of r.rows) {
    const e = per.get(Number(x.org_id)) ?? { runs: [], sum: 0 };
    e.runs.push(Number(x.run_id));
    e.sum += Number(x.score);
    per.set(Number(x.org_id), e);
  }
  const out = new Map<number, IndicatorResult>();
  for (const [org, e] of per) {
    const score = Math.round((e.sum / e.runs.length) * 100) / 100;
    out.set(org, {
      value: score,
      score,
      evidence: {
        counts: { resources: e.runs.length },
        refs: [{ kind: 'qualityRun', ids: bounded(e.runs) }],
      },
    });
  }
  return out;
}

async function onTimeIndicator(ctx: AppContext, s: Scope) {
  // on-time answers: the provider's steps of share requests due in the period, decided by their due date
  const r = await sql<{ org_id: number; due: number; on_time: number; late: number[] | null }>`
    SELECT x.org_id, count(*)::int AS due, count(*) FILTER (WHERE x.on_time)::int AS on_time,
      array_agg(DISTINCT x.request_id) FILTER (WHERE NOT x.on_time) AS late
    FROM (
      SELECT r.provider_org_id AS org_id, s.request_id,
        s.decided_at IS NOT NULL AND (s.decided_at AT TIME ZONE 'Asia/Shanghai')::date <= s.due_date AS on_time
      FROM share_request_step s JOIN share_request q ON q.id = s.request_id JOIN resource r ON r.id = q.resource_id
      WHERE s.actor = 'provider' AND s.due_date >= ${s.start}::date AND s.due_date <= ${s.asOf}::date
        AND (s.decided_at IS NOT NULL OR (s.due_date < ${s.asOf}::date AND q.status = 'pending'))
    ) x GROUP BY x.org_id`.execute(ctx.db);
  const out = new Map<number, IndicatorResult>();
  for (const x of r.rows) {
    const score = pct(x.on_time, x.due);
    out.set(Number(x.org_id), {
      value: score,
      score,
      evidence: {
        counts: { due: x.due, onTime: x.on_time, late: x.due - x.on_time },
        refs: [{ kind: 'request', ids: bounded((x.late ?? []).map(Number).sort((a, b) => a - b)) }],
      },
    });
  }
  return out;
}

/** Departments that provide at least one published resource by the period's end: they share, or score 0. */
async function providers(ctx: AppContext, s: Scope): Promise<number[]> {
  const r = await sql<{ org_id: number }>`SELECT DISTINCT provider_org_id AS org_id FROM resource
    WHERE status = 'published' AND coalesce(published_at, created_at) <= ${s.endAt}`.execute(ctx.db);
  return r.rows.map((x) => Number(x.org_id));
}

/**
 * Scores relative to the best department (100 = the most); a provider with none scores 0; null for all when nobody
 * has any.
 */
function relative(
  values: Map<number, { value: number; evidence: Evidence }>,
  zeroFor: number[],
  empty: Evidence,
) {
  for (const org of zeroFor) if (!values.has(org)) values.set(org, { value: 0, evidence: empty });
  const max = Math.max(0, ...[...values.values()].map((v) => v.value));
  const out = new Map<number, IndicatorResult>();
  for (const [org, v] of values)
    out.set(org, {
      value: v.value,
      score: max ? Math.round((v.value / max) * 10000) / 100 : null,
      evidence: { ...v.evidence, counts: { ...v.evidence.counts, best: max } },
    });
  return out;
}

async function volumeIndicator(ctx: AppContext, s: Scope) {
  // sharing volume: governed data calls served on the department's resources (usage_daily, allowed calls)
  const r = await sql<{ org_id: number; calls: string; rows: string; resources: number[] | null }>`
    SELECT u.provider_org_id AS org_id, sum(u.allowed)::bigint AS calls, sum(u.rows_served)::bigint AS rows,
      array_agg(DISTINCT u.resource_id) AS resources
    FROM usage_daily u
    WHERE u.day >= ${s.start}::date AND u.day <= ${s.asOf}::date AND u.provider_org_id <> 0
      AND u.action NOT IN ('data.preview', 'data.refused') AND u.allowed > 0
    GROUP BY u.provider_org_id`.execute(ctx.db);
  const values = new Map<number, { value: number; evidence: Evidence }>();
  for (const x of r.rows)
    values.set(Number(x.org_id), {
      value: Number(x.calls),
      evidence: {
        counts: { calls: Number(x.calls), rowsServed: Number(x.rows) },
        refs: [{ kind: 'resource', ids: bounded((x.resources ?? []).map(Number).sort((a, b) => a - b)) }],
      },
    });
  return relative(values, await providers(ctx, s), {
    counts: { calls: 0, rowsServed: 0 },
    refs: [{ kind: 'resource', ids: [] }],
  });
}

async function applicationsIndicator(ctx: AppContext, s: Scope) {
  // applications supported: distinct apps holding a grant on the department's resources during the period
  const r = await sql<{ org_id: number; apps: number; grants: number; grant_ids: number[] }>`
    SELECT r.provider_org_id AS org_id, count(DISTINCT g.app_id)::int AS apps, count(*)::int AS grants,
      array_agg(g.id ORDER BY g.id) AS grant_ids
    FROM share_grant g JOIN resource r ON r.id = g.resource_id
    WHERE g.created_at <= ${s.endAt} AND g.valid_from <= ${s.endAt} AND g.valid_until >= ${s.startAt}
      AND (g.revoked_at IS NULL OR g.revoked_at >= ${s.startAt})
    GROUP BY r.provider_org_id`.execute(ctx.db);
  const values = new Map<number, { value: number; evidence: Evidence }>();
  for (const x of r.rows)
    values.set(Number(x.org_id), {
      value: x.apps,
      evidence: {
        counts: { apps: x.apps, grants: x.grants },
        refs: [{ kind: 'grant', ids: bounded(x.grant_ids) }],
      },
    });
  return relative(values, await providers(ctx, s), {
    counts: { apps: 0, grants: 0 },
    refs: [{ kind: 'grant', ids: [] }],
  });
}

const COMPUTE: Record<Indicator, (ctx: AppContext, s: Scope) => Promise<Map<number, IndicatorResult>>> = {
  catalog: catalogIndicator,
  freshness: freshnessIndicator,
  quality: qualityIndicator,
  onTime: onTimeIndicator,
  volume: volumeIndicator,
  applications: applicationsIndicator,
};

const NONE: IndicatorResult = { value: null, score: null, evidence: { counts: {}, refs: [] } };

// ── runs ───────────────────────────────────────────────────────────────────────────────────────────────────────────

export async function requestRun(ctx: AppContext, actor: Actor, period: string) {
  requireStaff(actor);
  const p = parsePeriod(period);
  if (!p)
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'period',
        reason: 'YYYY or YYYY-Qn',
        reasonZh: '考核周期应为 YYYY 或 YYYY-Qn 格式（如 2025、2025-Q1）',
      },
    ]);
  const today = shanghaiDate(ctx.clock.now());
  if (p.start > today)
    throw new AppError('VALIDATION_FAILED', [
      { field: 'period', reason: 'the period has not started', reasonZh: '该考核周期尚未开始' },
    ]);
  const model = await currentModel(ctx);
  return inTx(ctx.db, async (trx) => {
    const run = await trx
      .insertInto('eval_run')
      .values({
        model_id: model.id ?? 0,
        model: JSON.stringify({ name: model.name, indicators: model.indicators }),
        period: p.period,
        period_start: p.start,
        period_end: p.end,
        status: 'queued',
        requested_by: actor.id,
        requested_at: ctx.clock.now(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await ctx.jobs.schedule(trx, {
      kind: EVALUATION_JOB,
      key: `run-${run.id}`,
      runAt: ctx.clock.now(),
      payload: { runId: Number(run.id) },
    });
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'evaluation.run',
      targetType: 'eval_run',
      targetId: run.id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { period: p.period },
    });
    return { id: Number(run.id), status: 'queued' as const, period: p.period };
  });
}

/** The job: rolls usage up first (the volume indicator reads it), computes every department, stores a draft. */
export async function evaluationJob(ctx: AppContext, runId: number) {
  const run = await ctx.db.selectFrom('eval_run').selectAll().where('id', '=', runId).executeTakeFirst();
  if (run?.status !== 'queued') return;
  await runUsageRollup(ctx);
  const today = shanghaiDate(ctx.clock.now());
  const asOf = run.period_end < today ? run.period_end : today;
  const scope: Scope = {
    start: run.period_start,
    asOf,
    startAt: new Date(endOfShanghaiDay(run.period_start).getTime() + 1 - 86_400_000),
    endAt: endOfShanghaiDay(asOf),
  };
  const model = run.model as EvalModel;
  const computed = new Map<Indicator, Map<number, IndicatorResult>>();
  for (const i of model.indicators) computed.set(i.code, await COMPUTE[i.code](ctx, scope));
  const orgs = await ctx.db
    .selectFrom('org')
    .select('id')
    .where('kind', '=', 'department')
    .orderBy('id')
    .execute();
  const rows = orgs.map((o) => {
    const orgId = Number(o.id);
    const parts = model.indicators.map((i) => ({
      code: i.code,
      weight: i.weight,
      ...(computed.get(i.code)?.get(orgId) ?? NONE),
    }));
    return { orgId, parts, total: weightedTotal(parts) };
  });
  rows.sort((a, b) => b.total - a.total || a.orgId - b.orgId);
  const rk = ranks(rows.map((r) => r.total));
  await inTx(ctx.db, async (trx) => {
    const claimed = await trx
      .updateTable('eval_run')
      .set({ status: 'draft', computed_at: ctx.clock.now() })
      .where('id', '=', runId)
      .where('status', '=', 'queued')
      .returning('id')
      .executeTakeFirst();
    if (!claimed) return;
    if (rows.length)
      await trx
        .insertInto('eval_score')
        .values(rows.map((r, i) => ({ run_id: runId, org_id: r.orgId, total: r.total, rank: rk[i] })))
        .execute();
    const results = rows.flatMap((r) =>
      r.parts.map((p) => ({
        run_id: runId,
        org_id: r.orgId,
        indicator: p.code,
        weight: p.weight,
        value: p.value,
        score: p.score,
        evidence: JSON.stringify(p.evidence),
      })),
    );
    for (let i = 0; i < results.length; i += 500)
      await trx
        .insertInto('eval_result')
        .values(results.slice(i, i + 500))
        .execute();
  });
}

function runView(r: {
  id: number;
  period: string;
  period_start: string;
  period_end: string;
  status: string;
  model: unknown;
  requested_at: Date;
  computed_at: Date | null;
  published_at: Date | null;
  on_portal: boolean;
}) {
  return {
    id: Number(r.id),
    period: r.period,
    periodKind: r.period.includes('Q') ? ('quarter' as const) : ('year' as const),
    periodStart: r.period_start,
    periodEnd: r.period_end,
    status: r.status,
    model: r.model as EvalModel,
    requestedAt: r.requested_at,
    computedAt: r.computed_at,
    publishedAt: r.published_at,
    onPortal: r.on_portal,
  };
}

const RUN_COLS = [
  'id',
  'period',
  'period_start',
  'period_end',
  'status',
  'model',
  'requested_at',
  'computed_at',
  'published_at',
  'on_portal',
] as const;

export async function listRuns(ctx: AppContext, actor: Actor) {
  let q = ctx.db.selectFrom('eval_run').select([...RUN_COLS]);
  if (!seesAllEvaluation(actor)) q = q.where('status', '=', 'published');
  const rows = await q.orderBy('id', 'desc').limit(200).execute();
  return { items: rows.map(runView) };
}

async function visibleRun(ctx: AppContext, actor: Actor, id: number) {
  const run = await ctx.db
    .selectFrom('eval_run')
    .select([...RUN_COLS])
    .where('id', '=', id)
    .executeTakeFirst();
  // a draft is the authority's until published: to a department it does not exist
  if (!run || (!seesAllEvaluation(actor) && run.status !== 'published'))
    throw new AppError('NOT_FOUND', [
      { field: 'id', reason: 'no such evaluation run', reasonZh: '该次考核不存在' },
    ]);
  return run;
}

/** The ranking: every department's total, rank and indicator scores (evidence by department: orgResult). */
export async function getRun(ctx: AppContext, actor: Actor, id: number) {
  const run = await visibleRun(ctx, actor, id);
  const [scores, results] = await Promise.all([
    ctx.db
      .selectFrom('eval_score as s')
      .innerJoin('org as o', 'o.id', 's.org_id')
      .select(['s.org_id', 'o.name', 'o.short_name', 's.total', 's.rank'])
      .where('s.run_id', '=', id)
      .orderBy('s.rank')
      .orderBy('s.org_id')
      .execute(),
    ctx.db
      .selectFrom('eval_result')
      .select(['org_id', 'indicator', 'weight', 'value', 'score'])
      .where('run_id', '=', id)
      .execute(),
  ]);
  const byOrg = new Map<
    number,
    { indicator: string; weight: number; value: number | null; score: number | null }[]
  >();
  for (const r of results) {
    const l = byOrg.get(Number(r.org_id)) ?? [];
    l.push({
      indicator: r.indicator,
      weight: Number(r.weight),
      value: r.value === null ? null : Number(r.value),
      score: r.score === null ? null : Number(r.score),
    });
    byOrg.set(Number(r.org_id), l);
  }
  const order = new Map<string, number>(INDICATORS.map((c, i) => [c, i]));
  return {
    ...runView(run),
    canPublish: isAuthorityStaff(actor) && run.status === 'draft',
    canSetPortal: isAuthorityStaff(actor) && run.status === 'published',
    ranking: scores.map((s) => ({
      org: { id: Number(s.org_id), name: s.name, shortName: s.short_name },
      total: Number(s.total),
      rank: s.rank,
      own: Number(s.org_id) === actor.orgId,
      indicators: (byOrg.get(Number(s.org_id)) ?? []).sort(
        (a, b) => (order.get(a.indicator) ?? 0) - (order.get(b.indicator) ?? 0),
      ),
    })),
  };
}

/** Names for the ids an evidence list holds, so the drill-down reads as a list of things, not numbers. */
async function resolveRefs(ctx: AppContext, kind: RefKind, ids: number[]) {
  if (!ids.length) return [];
  let rows: { id: number; label: string }[] = [];
  if (kind === 'resource')
    rows = await ctx.db
      .selectFrom('resource')
      .select(['id', 'name as label'])
      .where('id', 'in', ids)
      .execute();
  else if (kind === 'responsibility')
    rows = await ctx.db
      .selectFrom('responsibility_item')
      .select(['id', 'name as label'])
      .where('id', 'in', ids)
      .execute();
  else if (kind === 'qualityRun')
    rows = (
      await ctx.db
        .selectFrom('quality_run as q')
        .innerJoin('resource as r', 'r.id', 'q.resource_id')
        .select(['q.id', 'r.name', 'q.score'])
        .where('q.id', 'in', ids)
        .execute()
    ).map((x) => ({ id: x.id, label: `${x.name} · ${Number(x.score)}` }));
  else if (kind === 'request')
    rows = (
      await ctx.db
        .selectFrom('share_request as q')
        .innerJoin('resource as r', 'r.id', 'q.resource_id')
        .innerJoin('org as o', 'o.id', 'q.consumer_org_id')
        .select(['q.id', 'r.name', 'o.short_name'])
        .where('q.id', 'in', ids)
        .execute()
    ).map((x) => ({ id: x.id, label: `${x.short_name} → ${x.name}` }));
  else if (kind === 'grant')
    rows = (
      await ctx.db
        .selectFrom('share_grant as g')
        .innerJoin('app as p', 'p.id', 'g.app_id')
        .innerJoin('resource as r', 'r.id', 'g.resource_id')
        .select(['g.id', 'p.name', 'r.name as resource'])
        .where('g.id', 'in', ids)
        .execute()
    ).map((x) => ({ id: x.id, label: `${x.name} → ${x.resource}` }));
  const names = new Map(rows.map((r) => [Number(r.id), r.label]));
  return ids.map((id) => ({ id, label: names.get(id) ?? null }));
}

/** One department's indicators with their evidence: the authority and auditors for all, a department for itself. */
export async function orgResult(ctx: AppContext, actor: Actor, id: number, orgId: number) {
  const run = await visibleRun(ctx, actor, id);
  if (!seesAllEvaluation(actor) && orgId !== actor.orgId)
    throw new AppError('FORBIDDEN', [
      { reason: "another department's evidence", reasonZh: '不能查看其他部门的考核结果及佐证材料' },
    ]);
  const [score, results, org] = await Promise.all([
    ctx.db
      .selectFrom('eval_score')
      .select(['total', 'rank'])
      .where('run_id', '=', id)
      .where('org_id', '=', orgId)
      .executeTakeFirst(),
    ctx.db
      .selectFrom('eval_result')
      .selectAll()
      .where('run_id', '=', id)
      .where('org_id', '=', orgId)
      .execute(),
    ctx.db.selectFrom('org').select(['id', 'name']).where('id', '=', orgId).executeTakeFirst(),
  ]);
  if (!score || !org)
    throw new AppError('NOT_FOUND', [
      { field: 'orgId', reason: 'not evaluated in this run', reasonZh: '该部门未参加本次考核' },
    ]);
  const order = new Map<string, number>(INDICATORS.map((c, i) => [c, i]));
  const indicators = [];
  for (const r of results.sort((a, b) => (order.get(a.indicator) ?? 0) - (order.get(b.indicator) ?? 0))) {
    const ev = r.evidence as Evidence;
    indicators.push({
      indicator: r.indicator,
      weight: Number(r.weight),
      value: r.value === null ? null : Number(r.value),
      score: r.score === null ? null : Number(r.score),
      counts: ev.counts,
      refs: await Promise.all(
        ev.refs.map(async (x) => ({ kind: x.kind, items: await resolveRefs(ctx, x.kind, x.ids) })),
      ),
    });
  }
  return {
    run: runView(run),
    org: { id: Number(org.id), name: org.name },
    total: Number(score.total),
    rank: score.rank,
    indicators,
  };
}

/**
 * Moves a run that is in `from` status: `set` applied in one UPDATE guarded by the status, audited as `action`; a run
 * in another status is refused with `code` (409), a missing one with NOT_FOUND. Returns the run's period.
 */
async function changeRun(
  trx: Tx,
  actor: Actor,
  id: number,
  from: 'draft' | 'published',
  set: Updateable<DB['eval_run']>,
  refusal: { code: 'EVALUATION_NOT_DRAFT' | 'EVALUATION_NOT_PUBLISHED'; action: string; detail?: object },
): Promise<string> {
  const run = await trx
    .updateTable('eval_run')
    .set(set)
    .where('id', '=', id)
    .where('status', '=', from)
    .returning(['id', 'period'])
    .executeTakeFirst();
  if (!run) {
    const exists = await trx.selectFrom('eval_run').select('status').where('id', '=', id).executeTakeFirst();
    if (!exists)
      throw new AppError('NOT_FOUND', [
        { field: 'id', reason: 'no such evaluation run', reasonZh: '该次考核不存在' },
      ]);
    throw new AppError(refusal.code, [
      {
        field: 'status',
        reason: exists.status,
        reasonZh: `该次考核当前状态为「${statusZh(exists.status, 'evaluation.status')}」`,
      },
    ]);
  }
  await appendAudit(trx, {
    actorUserId: actor.id,
    actorOrgId: actor.orgId,
    action: refusal.action,
    targetType: 'eval_run',
    targetId: id,
    decision: 'allow',
    clientIp: actor.clientIp,
    detail: { period: run.period, ...refusal.detail },
  });
  return run.period;
}

export async function publishRun(ctx: AppContext, actor: Actor, id: number) {
  requireStaff(actor);
  return inTx(ctx.db, async (trx) => {
    const period = await changeRun(
      trx,
      actor,
      id,
      'draft',
      { status: 'published', published_by: actor.id, published_at: ctx.clock.now() },
      { code: 'EVALUATION_NOT_DRAFT', action: 'evaluation.publish' },
    );
    const depts = await trx.selectFrom('org').select('id').where('kind', '=', 'department').execute();
    await notify(trx, [{ roles: ['data_officer', 'section_head'], orgIds: depts.map((d) => Number(d.id)) }], {
      kind: 'evaluation.published',
      severity: 'info',
      params: { period },
    });
    return { id, status: 'published' as const };
  });
}

/**
 * Puts a published run on the open portal, or takes it off (DG Art 36, SY Art 12: results are published, "optionally
 * on the open portal"). The authority's staff only; a draft cannot go (it is not published yet). Audited.
 */
export async function setOnPortal(ctx: AppContext, actor: Actor, id: number, onPortal: boolean) {
  requireStaff(actor);
  await inTx(ctx.db, (trx) =>
    changeRun(
      trx,
      actor,
      id,
      'published',
      { on_portal: onPortal, portal_at: onPortal ? ctx.clock.now() : null },
      { code: 'EVALUATION_NOT_PUBLISHED', action: 'evaluation.portal', detail: { onPortal } },
    ),
  );
  return { id, onPortal };
}

/**
 * The open portal's view of evaluation results (no login): the runs the authority put on the portal, newest first, each
 * with its ranking (department, total, rank, indicator scores). The evidence behind each score stays in the console.
 */
export async function portalResults(ctx: AppContext) {
  const runs = await ctx.db
    .selectFrom('eval_run')
    .select(['id', 'period', 'period_start', 'period_end', 'published_at', 'portal_at'])
    .where('status', '=', 'published')
    .where('on_portal', '=', true)
    .orderBy('period_end', 'desc')
    .orderBy('id', 'desc')
    .limit(12)
    .execute();
  const ids = runs.map((r) => Number(r.id));
  const [scores, results] = ids.length
    ? await Promise.all([
        ctx.db
          .selectFrom('eval_score as s')
          .innerJoin('org as o', 'o.id', 's.org_id')
          .select(['s.run_id', 's.org_id', 'o.name', 'o.short_name', 's.total', 's.rank'])
          .where('s.run_id', 'in', ids)
          .orderBy('s.rank')
          .orderBy('s.org_id')
          .execute(),
        ctx.db
          .selectFrom('eval_result')
          .select(['run_id', 'org_id', 'indicator', 'score'])
          .where('run_id', 'in', ids)
          .execute(),
      ])
    : [[], []];
  const order = new Map<string, number>(INDICATORS.map((c, i) => [c, i]));
  const indicatorsOf = new Map<string, { indicator: string; score: number | null }[]>();
  for (const r of results) {
    const k = `${r.run_id}:${r.org_id}`;
    const l = indicatorsOf.get(k) ?? [];
    l.push({ indicator: r.indicator, score: r.score === null ? null : Number(r.score) });
    indicatorsOf.set(k, l);
  }
  return {
    items: runs.map((r) => ({
      id: Number(r.id),
      period: r.period,
      periodKind: r.period.includes('Q') ? ('quarter' as const) : ('year' as const),
      periodStart: r.period_start,
      periodEnd: r.period_end,
      publishedAt: r.published_at,
      ranking: scores
        .filter((s) => Number(s.run_id) === Number(r.id))
        .map((s) => ({
          org: { id: Number(s.org_id), name: s.name, shortName: s.short_name },
          total: Number(s.total),
          rank: s.rank,
          indicators: (indicatorsOf.get(`${r.id}:${s.org_id}`) ?? []).sort(
            (a, b) => (order.get(a.indicator) ?? 0) - (order.get(b.indicator) ?? 0),
          ),
        })),
    })),
  };
}

// ── random checks (DG Art 35) ──────────────────────────────────────────────────────────────────────────────────────

export const MAX_DRAW = 50;

export async function drawCheck(
  ctx: AppContext,
  actor: Actor,
  input: { kind: 'department' | 'resource'; count: number; seed?: string },
) {
  requireStaff(actor);
  const seed = input.seed ?? randomBytes(8).toString('hex');
  const candidates =
    input.kind === 'department'
      ? await ctx.db.selectFrom('org').select(['id', 'name']).where('kind', '=', 'department').execute()
      : await ctx.db
          .selectFrom('resource')
          .select(['id', 'name'])
          .where('status', '=', 'published')
          .execute();
  const drawn = draw(
    candidates.map((c) => ({ id: Number(c.id), name: c.name })),
    Math.min(input.count, MAX_DRAW),
    seed,
  );
  return inTx(ctx.db, async (trx) => {
    const row = await trx
      .insertInto('eval_check')
      .values({
        kind: input.kind,
        seed,
        population: candidates.length,
        drawn: JSON.stringify(drawn.map((d) => d.id)),
        drawn_by: actor.id,
        drawn_at: ctx.clock.now(),
        status: 'drawn',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'evaluation.check',
      targetType: 'eval_check',
      targetId: row.id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { kind: input.kind, seed, drawn: drawn.map((d) => d.id) },
    });
    return getCheck(trx, Number(row.id));
  });
}

async function getCheck(db: Db | Tx, id: number) {
  const c = await db.selectFrom('eval_check').selectAll().where('id', '=', id).executeTakeFirst();
  if (!c)
    throw new AppError('NOT_FOUND', [{ field: 'id', reason: 'no such check', reasonZh: '该抽查不存在' }]);
  const ids = c.drawn as number[];
  const named = ids.length
    ? c.kind === 'department'
      ? await db.selectFrom('org').select(['id', 'name']).where('id', 'in', ids).execute()
      : await db.selectFrom('resource').select(['id', 'name']).where('id', 'in', ids).execute()
    : [];
  const names = new Map(named.map((n) => [Number(n.id), n.name]));
  return {
    id: Number(c.id),
    kind: c.kind,
    seed: c.seed,
    population: c.population,
    drawn: ids.map((i) => ({ id: i, name: names.get(i) ?? null })),
    drawnAt: c.drawn_at,
    status: c.status,
    outcome: c.outcome,
    note: c.note,
    recordedAt: c.recorded_at,
  };
}

export async function listChecks(ctx: AppContext, actor: Actor) {
  if (!seesAllEvaluation(actor))
    throw new AppError('FORBIDDEN', [
      { reason: 'checks are the authority’s', reasonZh: '抽查由数据主管部门组织，仅主管部门可以查看' },
    ]);
  const rows = await ctx.db.selectFrom('eval_check').select('id').orderBy('id', 'desc').limit(100).execute();
  return { items: await Promise.all(rows.map((r) => getCheck(ctx.db, Number(r.id)))) };
}

export async function recordCheck(
  ctx: AppContext,
  actor: Actor,
  id: number,
  input: { outcome: 'pass' | 'issues'; note?: string },
) {
  requireStaff(actor);
  return inTx(ctx.db, async (trx) => {
    const done = await trx
      .updateTable('eval_check')
      .set({
        status: 'recorded',
        outcome: input.outcome,
        note: input.note ?? null,
        recorded_by: actor.id,
        recorded_at: ctx.clock.now(),
      })
      .where('id', '=', id)
      .where('status', '=', 'drawn')
      .returning('id')
      .executeTakeFirst();
    if (!done) {
      const exists = await trx.selectFrom('eval_check').select('id').where('id', '=', id).executeTakeFirst();
      if (!exists)
        throw new AppError('NOT_FOUND', [{ field: 'id', reason: 'no such check', reasonZh: '该抽查不存在' }]);
      throw new AppError('EVALUATION_CHECK_RECORDED');
    }
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'evaluation.checkResult',
      targetType: 'eval_check',
      targetId: id,
      decision: 'allow',
      clientIp: actor.clientIp,
      detail: { outcome: input.outcome },
    });
    return getCheck(trx, id);
  });
}
