import { sql } from 'kysely';
import { addDays, shanghaiDate } from '../calendar/model.js';
import { type Actor, type AppContext, hasRole } from '../context.js';
import { daysLate, nextDue } from '../ingest/freshness.js';
import { labelOf } from '../shared/labels.js';
import { myWork } from '../work/service.js';
import { liveViolationCounts, violationRules } from './violations.js';

/*
 * The cockpits (issue 12 point 6): one read per role, each number with what a drill-down needs (the department id, the
 * violation type). The authority sees the city; a department officer its own scorecard and to-do; an auditor the
 * anomalies and violations. Sharing volume comes from usage_daily (the rollup, src/usage/rollup.ts: it stays correct
 * by re-rolling whole days); the rest are small tables (steps, duties, resources, quality runs, evaluation scores),
 * read directly.
 */

export type CockpitView = 'authority' | 'department' | 'auditor';

export function cockpitView(actor: Actor): CockpitView {
  if (actor.orgKind === 'authority' && hasRole(actor, 'platform_admin', 'authority_reviewer'))
    return 'authority';
  if (hasRole(actor, 'auditor')) return 'auditor';
  if (actor.orgKind === 'authority') return 'authority';
  return 'department';
}

const num = (v: unknown) => Number(v ?? 0);

async function volume(ctx: AppContext, from: string, to: string, providerOrgId?: number) {
  let q = ctx.db
    .selectFrom('usage_daily')
    .select([
      'day',
      sql<number>`sum(calls)::bigint`.as('calls'),
      sql<number>`sum(rows_served)::bigint`.as('rows'),
      sql<number>`sum(denied)::bigint`.as('denied'),
    ])
    .where('day', '>=', from)
    .where('day', '<=', to);
  if (providerOrgId) q = q.where('provider_org_id', '=', providerOrgId);
  const rows = await q.groupBy('day').orderBy('day').execute();
  const series = rows.map((r) => ({ day: String(r.day).slice(0, 10), calls: num(r.calls) }));
  return {
    calls: rows.reduce((s, r) => s + num(r.calls), 0),
    rowsServed: rows.reduce((s, r) => s + num(r.rows), 0),
    denied: rows.reduce((s, r) => s + num(r.denied), 0),
    series,
  };
}

/** Steps of share requests due in [from, to]: decided by the due date (Beijing date) is on time; otherwise late. */
async function onTime(ctx: AppContext, from: string, to: string, today: string, orgId?: number) {
  let q = ctx.db
    .selectFrom('share_request_step as s')
    .innerJoin('share_request as q', 'q.id', 's.request_id')
    .innerJoin('resource as r', 'r.id', 'q.resource_id')
    .select([
      'r.provider_org_id as org_id',
      sql<number>`count(*) FILTER (WHERE s.decided_at IS NOT NULL
        AND (s.decided_at AT TIME ZONE 'Asia/Shanghai')::date <= s.due_date)::int`.as('on_time'),
      sql<number>`count(*) FILTER (WHERE (s.decided_at IS NOT NULL
        AND (s.decided_at AT TIME ZONE 'Asia/Shanghai')::date > s.due_date)
        OR (s.decided_at IS NULL AND q.status = 'pending' AND s.due_date < ${today}))::int`.as('late'),
    ])
    .where('s.actor', '=', 'provider')
    .where('s.due_date', '>=', from)
    .where('s.due_date', '<=', to);
  if (orgId) q = q.where('r.provider_org_id', '=', orgId);
  const rows = await q.groupBy('r.provider_org_id').execute();
  const onTimeN = rows.reduce((s, r) => s + num(r.on_time), 0);
  const late = rows.reduce((s, r) => s + num(r.late), 0);
  return {
    onTime: onTimeN,
    late,
    rate: onTimeN + late ? Math.round((onTimeN / (onTimeN + late)) * 1000) / 10 : null,
    byOrg: rows.map((r) => ({ orgId: num(r.org_id), onTime: num(r.on_time), late: num(r.late) })),
  };
}

/** What is overdue today, per department: request steps, stale data, catalog update duties, live violations. */
async function overdueByOrg(ctx: AppContext, today: string, now: Date, orgId?: number) {
  const orgs = await ctx.db
    .selectFrom('org')
    .select(['id', 'name', 'kind'])
    // enterprises that provide data (a public water company) are held to the same duties, so they are rows too
    .where('kind', 'in', ['department', 'authority', 'enterprise'])
    .orderBy('id')
    .execute();
  const authorityId = orgs.find((o) => o.kind === 'authority')?.id;
  const steps = await ctx.db
    .selectFrom('share_request_step as s')
    .innerJoin('share_request as q', 'q.id', 's.request_id')
    .innerJoin('resource as r', 'r.id', 'q.resource_id')
    .select(['s.actor', 's.authority_org_id', 'r.provider_org_id', sql<number>`count(*)::int`.as('n')])
    .where('q.status', '=', 'pending')
    .whereRef('q.current_step', '=', 's.step_index')
    .where('s.decision', 'is', null)
    .where('s.due_date', '<', today)
    .groupBy(['s.actor', 's.authority_org_id', 'r.provider_org_id'])
    .execute();
  const duties = await ctx.db
    .selectFrom('update_duty')
    .select(['org_id', sql<number>`count(*)::int`.as('n')])
    .where('status', '=', 'open')
    .where('due_date', '<', today)
    .groupBy('org_id')
    .execute();
  const resources = await ctx.db
    .selectFrom('resource')
    .select(['provider_org_id', 'update_cycle', 'last_ingest_at', 'published_at'])
    .where('status', '=', 'published')
    .where('data_table', 'is not', null)
    .execute();
  const violations = await liveViolationCounts(ctx);
  const row = new Map(
    orgs.map((o) => [
      Number(o.id),
      { orgId: Number(o.id), name: o.name, requestsLate: 0, dataStale: 0, dutiesLate: 0, violations: 0 },
    ]),
  );
  for (const s of steps) {
    // an authority step is held by its own level's authority (a cross-level request), else the city's (the same rule
    // as GET /api/sharing/requests?overdue=true&orgId=, the list the number links to)
    const id =
      s.actor === 'authority' ? Number(s.authority_org_id ?? authorityId) : Number(s.provider_org_id);
    const e = row.get(id);
    if (e) e.requestsLate += num(s.n);
  }
  for (const d of duties) {
    const e = row.get(Number(d.org_id));
    if (e) e.dutiesLate += num(d.n);
  }
  for (const r of resources) {
    const since = r.last_ingest_at ?? r.published_at;
    const due = since ? nextDue(r.update_cycle, new Date(since)) : null;
    if (!due || daysLate(due, now) <= 0) continue;
    const e = row.get(Number(r.provider_org_id));
    if (e) e.dataStale++;
  }
  for (const v of violations) {
    const e = row.get(v.orgId);
    if (e) e.violations += v.n;
  }
  return [...row.values()]
    .filter((e) => (orgId ? e.orgId === orgId : true))
    .map((e) => ({ ...e, total: e.requestsLate + e.dataStale + e.dutiesLate }))
    .filter((e) => orgId || e.total + e.violations > 0)
    .sort((a, b) => b.total + b.violations - (a.total + a.violations) || a.orgId - b.orgId);
}

/**
 * Mean quality score of the runs finished in each month of the last twelve (whole Beijing months, the current one up to
 * today), of the provider's resources only for a department. Each month carries its period, the filter of the runs list
 * it links to (GET /api/quality/runs?from&to&orgId: its total is `runs`, its mean `score`).
 */
async function qualityTrend(ctx: AppContext, today: string, orgId?: number) {
  const [y, m] = today.split('-').map(Number);
  const first = new Date(Date.UTC(y, m - 1 - 11, 1)).toISOString().slice(0, 10);
  let q = ctx.db
    .selectFrom('quality_run as qr')
    .innerJoin('resource as r', 'r.id', 'qr.resource_id')
    .select([
      sql<string>`to_char(qr.finished_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')`.as('month'),
      sql<number>`round(avg(qr.score), 1)::float8`.as('score'),
      sql<number>`count(*)::int`.as('runs'),
    ])
    .where(
      sql<boolean>`(qr.finished_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN ${first}::date AND ${today}::date`,
    );
  if (orgId) q = q.where('r.provider_org_id', '=', orgId);
  const rows = await q.groupBy(sql`1`).orderBy(sql`1`).execute();
  return rows.map((r) => {
    const [ry, rm] = r.month.split('-').map(Number);
    const last = new Date(Date.UTC(ry, rm, 0)).toISOString().slice(0, 10);
    return {
      month: r.month,
      from: `${r.month}-01`,
      to: last < today ? last : today,
      score: num(r.score),
      runs: num(r.runs),
    };
  });
}

/** The newest evaluation run the actor may see (published for a department; drafts too for the authority). */
async function ranking(ctx: AppContext, actor: Actor) {
  let q = ctx.db.selectFrom('eval_run').select(['id', 'period', 'status', 'published_at']);
  q =
    actor.orgKind === 'authority' || hasRole(actor, 'auditor')
      ? q.where('status', 'in', ['draft', 'published'])
      : q.where('status', '=', 'published');
  const run = await q.orderBy('period_end', 'desc').orderBy('id', 'desc').executeTakeFirst();
  if (!run) return null;
  const scores = await ctx.db
    .selectFrom('eval_score as s')
    .innerJoin('org as o', 'o.id', 's.org_id')
    .select(['s.org_id', 'o.name', 's.total', 's.rank'])
    .where('s.run_id', '=', run.id)
    .orderBy('s.rank')
    .orderBy('s.org_id')
    .execute();
  // the departments' map by score (issue 12 point 6): every department's score per indicator, null = not applicable
  const results = await ctx.db
    .selectFrom('eval_result')
    .select(['org_id', 'indicator', 'score'])
    .where('run_id', '=', run.id)
    .execute();
  const byOrg = new Map<number, Record<string, number | null>>();
  for (const r of results) {
    const m = byOrg.get(num(r.org_id)) ?? {};
    m[r.indicator] = r.score === null ? null : num(r.score);
    byOrg.set(num(r.org_id), m);
  }
  return {
    run: { id: Number(run.id), period: run.period, status: run.status },
    items: scores.map((s) => ({
      orgId: num(s.org_id),
      name: s.name,
      total: num(s.total),
      rank: num(s.rank),
      scores: byOrg.get(num(s.org_id)) ?? {},
    })),
  };
}

async function scorecard(ctx: AppContext, actor: Actor) {
  const r = await ranking(ctx, actor);
  if (!r) return null;
  const mine = r.items.find((x) => x.orgId === actor.orgId);
  const indicators = await ctx.db
    .selectFrom('eval_result')
    .select(['indicator', 'weight', 'value', 'score'])
    .where('run_id', '=', r.run.id)
    .where('org_id', '=', actor.orgId)
    .orderBy('indicator')
    .execute();
  return {
    run: r.run,
    departments: r.items.length,
    total: mine?.total ?? null,
    rank: mine?.rank ?? null,
    indicators: indicators.map((i) => ({
      indicator: i.indicator,
      weight: num(i.weight),
      value: i.value === null ? null : num(i.value),
      score: i.score === null ? null : num(i.score),
    })),
  };
}

async function alerts(ctx: AppContext) {
  const rows = await ctx.db
    .selectFrom('security_alert')
    .select(['rule_code', 'status', sql<number>`count(*)::int`.as('n')])
    .where('status', '<>', 'closed')
    .groupBy(['rule_code', 'status'])
    .execute();
  return rows.map((r) => ({ rule: r.rule_code, status: r.status, n: num(r.n) }));
}

export async function cockpit(ctx: AppContext, actor: Actor, q: { days?: number }) {
  const days = Math.min(Math.max(q.days ?? 30, 1), 366);
  const now = ctx.clock.now();
  const today = shanghaiDate(now);
  const from = addDays(today, -(days - 1));
  const view = cockpitView(actor);
  const rules = violationRules(ctx);
  const byType = (list: { type: string; n: number }[]) =>
    rules.map((r) => ({
      type: r.type,
      article: r.article,
      n: list.filter((x) => x.type === r.type).reduce((s, x) => s + x.n, 0),
    }));
  const base = { view, from, to: today, days, violationsApplicable: rules.length > 0 };
  if (view === 'authority') {
    const [vol, ot, overdue, quality, rank, viol] = await Promise.all([
      volume(ctx, from, today),
      onTime(ctx, from, today, today),
      overdueByOrg(ctx, today, now),
      qualityTrend(ctx, today),
      ranking(ctx, actor),
      liveViolationCounts(ctx),
    ]);
    return { ...base, volume: vol, onTime: ot, overdue, quality, ranking: rank, violations: byType(viol) };
  }
  if (view === 'auditor') {
    const [vol, al, viol, rank] = await Promise.all([
      volume(ctx, from, today),
      alerts(ctx),
      liveViolationCounts(ctx),
      ranking(ctx, actor),
    ]);
    return {
      ...base,
      volume: vol,
      alerts: al,
      violations: byType(viol),
      violationsByOrg: await overdueByOrg(ctx, today, now).then((o) =>
        o.filter((x) => x.violations > 0).map((x) => ({ orgId: x.orgId, name: x.name, n: x.violations })),
      ),
      ranking: rank,
    };
  }
  const [vol, ot, overdue, quality, card, work, viol] = await Promise.all([
    volume(ctx, from, today, actor.orgId),
    onTime(ctx, from, today, today, actor.orgId),
    overdueByOrg(ctx, today, now, actor.orgId),
    qualityTrend(ctx, today, actor.orgId),
    scorecard(ctx, actor),
    myWork(ctx, actor),
    liveViolationCounts(ctx, actor.orgId),
  ]);
  const todo = new Map<string, { kind: string; n: number; overdue: number }>();
  for (const i of work.items) {
    const e = todo.get(i.kind) ?? { kind: i.kind, n: 0, overdue: 0 };
    e.n++;
    if (i.overdue) e.overdue++;
    todo.set(i.kind, e);
  }
  return {
    ...base,
    volume: vol,
    onTime: ot,
    overdue: overdue[0] ?? null,
    quality,
    scorecard: card,
    todo: [...todo.values()],
    violations: byType(viol),
  };
}

/** The cockpit as rows for the XLSX export (section, department, measure, value), worded in the caller's language. */
export function cockpitRows(c: Awaited<ReturnType<typeof cockpit>>, lang: 'zh' | 'en') {
  const L = (key: string) => labelOf(key, lang) ?? key;
  const rows: Record<string, unknown>[] = [];
  const add = (section: string, who: string, measure: string, value: unknown) =>
    rows.push({ section: L(section), who, measure, value });
  add('cockpit.period', '', `${c.from} – ${c.to}`, c.days);
  if ('volume' in c && c.volume) {
    add('cockpit.volume', '', L('cockpit.calls'), c.volume.calls);
    add('cockpit.volume', '', L('cockpit.rowsServed'), c.volume.rowsServed);
    add('cockpit.volume', '', L('cockpit.denied'), c.volume.denied);
    for (const s of c.volume.series) add('cockpit.volumeByDay', s.day, L('cockpit.calls'), s.calls);
  }
  if ('onTime' in c && c.onTime) {
    add('cockpit.onTime', '', L('cockpit.onTimeRate'), c.onTime.rate);
    add('cockpit.onTime', '', L('cockpit.onTimeN'), c.onTime.onTime);
    add('cockpit.onTime', '', L('cockpit.lateN'), c.onTime.late);
  }
  const overdue = 'overdue' in c ? (Array.isArray(c.overdue) ? c.overdue : c.overdue ? [c.overdue] : []) : [];
  for (const o of overdue) {
    add('cockpit.overdue', o.name, L('cockpit.requestsLate'), o.requestsLate);
    add('cockpit.overdue', o.name, L('cockpit.dataStale'), o.dataStale);
    add('cockpit.overdue', o.name, L('cockpit.dutiesLate'), o.dutiesLate);
    add('cockpit.overdue', o.name, L('cockpit.violations'), o.violations);
  }
  if ('quality' in c && c.quality)
    for (const q of c.quality) add('cockpit.quality', q.month, L('cockpit.meanScore'), q.score);
  if ('ranking' in c && c.ranking)
    for (const r of c.ranking.items)
      add('cockpit.ranking', r.name, `${c.ranking.run.period} #${r.rank}`, r.total);
  if ('scorecard' in c && c.scorecard) {
    add('cockpit.scorecard', '', `${c.scorecard.run.period} #${c.scorecard.rank ?? '-'}`, c.scorecard.total);
    for (const i of c.scorecard.indicators)
      add('cockpit.scorecard', '', L(`evaluation.indicator.${i.indicator}`), i.score);
  }
  if ('todo' in c && c.todo) for (const t of c.todo) add('cockpit.todo', '', L(`work.kind.${t.kind}`), t.n);
  if ('alerts' in c && c.alerts)
    for (const a of c.alerts)
      add('cockpit.alerts', L(`alertStatus.${a.status}`), L(`alertRule.${a.rule}`), a.n);
  for (const v of c.violations) add('cockpit.violations', v.article, L(`violationType.${v.type}`), v.n);
  return rows;
}
