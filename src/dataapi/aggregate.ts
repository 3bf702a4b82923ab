import type { FastifyInstance } from 'fastify';
import { addDays, shanghaiDate } from '../calendar/model.js';
import type { AppContext } from '../context.js';
import { errorResponseSchema } from '../http/errors.js';
import { AppError } from '../shared/errors.js';
import { keyedHash } from '../shared/secrets.js';
import { type CompiledFilter, compileFilter, maskedForConsumer, whereSchema } from './filter.js';
import { settle } from './guards.js';
import { measureNeedsNoise } from './mask-class.js';
import { type CallInput, call, callerOf } from './service.js';
import {
  answers,
  auditInsert,
  authorisedCalls,
  type Caller,
  type CallRow,
  callParams,
  type MetaField,
  type ResourceMeta,
} from './store.js';

/*
 * Usable but not visible (可用不可见, DG Art 33; 隐私计算, XT Art 35; issue 9 point 7): counts, sums, averages, min/max and
 * distributions over a resource, grouped by granted dimension fields, filtered on granted fields with the query's filter
 * language (filter.ts: parameterised SQL only). No record ever leaves: only cells, and a cell with fewer than k
 * contributing records (AGGREGATE_MIN_CELL) is suppressed inside the statement, never sent.
 *
 * One governed statement per call (store.ts authorisedCalls, right 'aggregate'): key, app, grant, purpose, fields asked
 * (dimensions and measured fields) and filter fields are checked, the cells computed and the audit row (`data.aggregate`,
 * allow or deny, with what was asked and how many cells were shown and suppressed) written in the same transaction.
 * An aggregate-only grant (share_grant.access_mode = 'aggregate') may call this and nothing else; a grant that reads
 * records may call it too (same suppression).
 *
 * Suppression (k-anonymity threshold k):
 *  - primary: every cell with 1 ≤ n < k records is withheld (its group and its measures);
 *  - complementary: when exactly one cell is withheld, the next smallest is withheld too, so the total of the resource
 *    (from a query without groupBy) minus the visible cells gives the sum of two cells, never one cell's count;
 *  - limit (documented in README): with two or more dimensions the margins of a table, or differencing across calls with
 *    overlapping filters, can still isolate a small cell; noise (below) is the mitigation. A sum or average of a personal
 *    or sensitive field is therefore answered only with noise (else AGGREGATE_DIMENSION_PERSONAL): differencing two
 *    exact sums whose filters differ by one record gives that record's value.
 * Noise (optional; config AGGREGATE_EPSILON or the call's `noise.epsilon`, never below AGGREGATE_EPSILON_MIN): Laplace noise
 * on each count and each sum, the call's epsilon split evenly across them; a count's sensitivity is 1, a sum's the largest
 * |value| in the cell (data-dependent: a practical calibration, not a formal ε-DP guarantee for sums).
 * The noise is derived from an HMAC of the grant, the request (its epsilon included), the resource's data state and the
 * cell, so repeating a call over unchanged data returns the same noisy answer and cannot be averaged away, while the
 * same question at another epsilon or after a change draws independent noise. Suppression decides on the true count.
 * Privacy budget: noisy answers spend the grant's epsilon per Beijing day (AGGREGATE_EPSILON_PER_DAY, aggregateSql's
 * `spend`); a repeated request over unchanged data is not charged; past it, PRIVACY_BUDGET_EXHAUSTED.
 */

export const AGGREGATE_FNS = ['count', 'sum', 'avg', 'min', 'max'] as const;
export type AggregateFn = (typeof AGGREGATE_FNS)[number];
export interface Measure {
  fn: AggregateFn;
  field?: string;
}
export interface AggregateBody {
  measures: Measure[];
  groupBy?: string[];
  where?: unknown;
  noise?: { epsilon: number };
}

const MAX_MEASURES = 10;
const MAX_GROUP_BY = 3;
/** the most cells one call returns (more are cut and the answer says so) */
export const MAX_CELLS = 1000;
const EPSILON_MAX = 10;
const NUMERIC = new Set(['integer', 'decimal']);
const ORDERED = new Set(['integer', 'decimal', 'date', 'datetime']);

const bad = (field: string, reason: string, reasonZh: string) =>
  new AppError('AGGREGATE_INVALID', [{ field: field.slice(0, 60), reason, reasonZh }]);

/** The key of a measure in each cell's `values`: `count`, `sum_registeredCapital`… */
export const measureKey = (m: Measure) => (m.fn === 'count' ? 'count' : `${m.fn}_${m.field}`);

function fieldOf(meta: ResourceMeta, code: string, where: string): MetaField {
  const f = meta.fields.find((x) => x.code === code);
  if (!f)
    throw bad(where, `no field ${code.slice(0, 40)} in this resource`, `该资源无字段 ${code.slice(0, 40)}`);
  return f;
}

export interface CompiledAggregate {
  groupBy: MetaField[];
  measures: { m: Measure; f: MetaField | null; key: string }[];
  filter: CompiledFilter;
  /** the fields the call reads (dimensions and measured fields), for the grant check */
  fields: string[];
}

/** An encrypted field is neither a dimension nor a measure: its values are ciphertext in the table (FIELD_ENCRYPTED). */
function encryptedRefused(at: string, code: string): AppError {
  return new AppError('FIELD_ENCRYPTED', [
    {
      field: at,
      value: code,
      reason: `${code} is encrypted at rest: it cannot be grouped or aggregated`,
      reasonZh: `${code} 加密存储，不能用于分组或统计`,
    },
  ]);
}

/**
 * Checks an aggregate request against the resource; a coded 400 for anything it cannot answer safely. `noisy`: the call's
 * counts and sums carry Laplace noise (an epsilon is in force).
 */
export function compileAggregate(
  meta: ResourceMeta,
  body: AggregateBody,
  firstParam: number,
  index?: (v: string) => string,
  noisy = false,
): CompiledAggregate {
  const groupCodes = body.groupBy ?? [];
  if (groupCodes.length > MAX_GROUP_BY || new Set(groupCodes).size !== groupCodes.length)
    throw bad(
      'groupBy',
      `at most ${MAX_GROUP_BY} distinct fields`,
      `分组维度最多 ${MAX_GROUP_BY} 个且不重复`,
    );
  const groupBy = groupCodes.map((c, i) => {
    const f = fieldOf(meta, c, `groupBy[${i}]`);
    // grouping by a personal or sensitive field would list its values (DG Art 33)
    if (maskedForConsumer(f))
      throw new AppError('AGGREGATE_DIMENSION_PERSONAL', [
        {
          field: `groupBy[${i}]`,
          value: c,
          reason: `${c} is personal or sensitive: grouping by it would reveal its values`,
          reasonZh: `${c} 为个人信息或敏感字段，按其分组会泄露原值`,
        },
      ]);
    if (f.encrypted) throw encryptedRefused(`groupBy[${i}]`, c);
    if (f.type === 'decimal')
      throw bad(`groupBy[${i}]`, 'a decimal field cannot be a dimension', '小数字段不能作为分组维度');
    return f;
  });
  if (!body.measures?.length || body.measures.length > MAX_MEASURES)
    throw bad('measures', `1 to ${MAX_MEASURES} measures`, `统计指标 1 至 ${MAX_MEASURES} 个`);
  const measures = body.measures.map((m, i) => {
    const at = `measures[${i}]`;
    if (!(AGGREGATE_FNS as readonly string[]).includes(m.fn))
      throw bad(at, 'fn is count, sum, avg, min or max', '统计函数为 count、sum、avg、min 或 max');
    if (m.fn === 'count') {
      if (m.field !== undefined)
        throw bad(at, 'count counts records: no field', 'count 统计记录数，无需字段');
      return { m: { fn: m.fn }, f: null, key: 'count' };
    }
    if (!m.field) throw bad(at, `${m.fn} needs a field`, `${m.fn} 需指定字段`);
    const f = fieldOf(meta, m.field, at);
    if ((m.fn === 'sum' || m.fn === 'avg') && !NUMERIC.has(f.type))
      throw bad(at, `${m.fn} needs a numeric field`, `${m.fn} 仅适用于数值字段`);
    if ((m.fn === 'min' || m.fn === 'max') && !ORDERED.has(f.type))
      throw bad(at, `${m.fn} needs a numeric or date field`, `${m.fn} 仅适用于数值或日期字段`);
    // a minimum or maximum is one record's value: never of a personal or sensitive field
    if ((m.fn === 'min' || m.fn === 'max') && maskedForConsumer(f))
      throw new AppError('AGGREGATE_DIMENSION_PERSONAL', [
        {
          field: at,
          value: f.code,
          reason: `${m.fn} of personal or sensitive ${f.code} is one record's value`,
          reasonZh: `个人信息或敏感字段 ${f.code} 的最值即某条记录的原值`,
        },
      ]);
    // an exact sum or average of a personal or sensitive field is one record's value after differencing: two calls
    // whose filters differ by one record (`gte` and `gt` the same day) subtract to it, each cell well above k. Only
    // noisy answers (the difference of two is then the value plus noise scaled to the cell's largest value)
    if (measureNeedsNoise(m.fn, f) && !noisy)
      throw new AppError('AGGREGATE_DIMENSION_PERSONAL', [
        {
          field: at,
          value: f.code,
          reason: `an exact ${m.fn} of personal or sensitive ${f.code} reveals one record's value by differencing two calls; ask with noise (noise.epsilon)`,
          reasonZh: `个人信息或敏感字段 ${f.code} 的精确${m.fn === 'sum' ? '合计' : '平均值'}可通过两次查询相减得到某条记录的原值，须加噪声（noise.epsilon）查询`,
        },
      ]);
    // after the older refusals (their codes stay what callers already handle): the column holds ciphertext
    if (f.encrypted) throw encryptedRefused(at, f.code);
    return { m: { fn: m.fn, field: f.code }, f, key: measureKey({ fn: m.fn, field: f.code }) };
  });
  const keys = measures.map((x) => x.key);
  if (new Set(keys).size !== keys.length) throw bad('measures', 'a measure is named twice', '统计指标重复');
  const filter = compileFilter(meta, body.where, firstParam, index);
  const fields = [
    ...new Set([...groupBy.map((f) => f.code), ...measures.flatMap((x) => (x.f ? [x.f.code] : []))]),
  ];
  return { groupBy, measures, filter, fields };
}

/** The budget a noisy call is checked against, in aggregateSql: the grant's (row `g`) own, else the platform's ($16). */
const perDayOf = (g: string) => `coalesce(${g}.max_epsilon_per_day, $16::float8)`;

/** The parameter the filter's values start at (aggregateSql). */
const FIRST_FILTER_PARAM = 19;

/**
 * The statement: $1–$11 as every governed call, $12 k, $13 the most cells, $14 the request (audit detail), $15 the
 * epsilon (null: exact answer, nothing spent), $16 the platform's budget per day (a grant's own max_epsilon_per_day
 * comes first), $17 the Beijing day, $18 the request as the noise
 * is seeded with; the filter's values from $19. `ranked` holds every non-empty cell; `d` the cells shown (n ≥ k, and
 * not the complementary one).
 *
 * The privacy budget (noisy calls only): `st` is the resource's data state (its last change), `spend` charges the
 * grant's day (aggregate_budget) the call's epsilon, unless the same request over the same data state was answered
 * that day (same seed, same noise: nothing new is learnt). The upsert's WHERE is evaluated on the row as locked, so
 * concurrent calls never spend past the budget; a call it does not charge is refused PRIVACY_BUDGET_EXHAUSTED, audited
 * by the same statement, and its cells are not computed.
 */
export function aggregateSql(meta: ResourceMeta, a: CompiledAggregate): string {
  const dims = a.groupBy.map((f, i) => `t.${f.columnName} AS g${i}`);
  const meas = a.measures.map((x, i) => {
    if (!x.f) return `count(*) AS m${i}`;
    const col = `t.${x.f.columnName}`;
    if (x.m.fn === 'avg')
      return `round(avg(${col})::numeric, 4) AS m${i}, sum(${col}) AS s${i}, max(abs(${col})) AS b${i}`;
    if (x.m.fn === 'sum') return `sum(${col}) AS m${i}, max(abs(${col})) AS b${i}`;
    return `${x.m.fn}(${col}) AS m${i}`;
  });
  const groupList = a.groupBy.map((_, i) => `g${i}`).join(', ');
  const order = a.groupBy.length ? `ORDER BY ${groupList}` : '';
  // an exact answer ($15 null) spends nothing; a noisy one only if `spend` charged it
  const charged = '($15::float8 IS NULL OR EXISTS (SELECT 1 FROM spend))';
  const late = `CASE WHEN NOT ${charged} THEN 'PRIVACY_BUDGET_EXHAUSTED' END`;
  return `WITH ${authorisedCalls('aggregate', undefined, meta.storageCheck)},
  st AS (SELECT coalesce(max(seq), 0) AS s FROM record_change WHERE resource_id = $4),
  spend AS (
    INSERT INTO aggregate_budget AS b (grant_id, day, spent, requests, per_day)
    SELECT ok.id, $17::date, $15::float8, ARRAY[md5($18::text || ':' || st.s)], ${perDayOf('ok')} FROM ok, st
    WHERE $15::float8 IS NOT NULL AND $15::float8 <= ${perDayOf('ok')} + 1e-9
    ON CONFLICT (grant_id, day) DO UPDATE
      SET spent = b.spent + CASE WHEN excluded.requests[1] = ANY (b.requests) THEN 0 ELSE excluded.spent END,
        requests = CASE WHEN excluded.requests[1] = ANY (b.requests) THEN b.requests
          ELSE b.requests || excluded.requests END,
        per_day = excluded.per_day
      WHERE excluded.requests[1] = ANY (b.requests) OR b.spent + excluded.spent <= excluded.per_day + 1e-9
    RETURNING b.spent
  ),
  cells AS (
    SELECT ${[...dims, 'count(*) AS _n', ...meas].join(', ')}
    FROM ${meta.table} t WHERE EXISTS (SELECT 1 FROM ok) AND ${charged}${a.filter.sql}
    ${a.groupBy.length ? `GROUP BY ${a.groupBy.map((f) => `t.${f.columnName}`).join(', ')}` : ''}
  ),
  ranked AS (
    SELECT cells.*, row_number() OVER (ORDER BY _n${groupList ? `, ${groupList}` : ''}) AS _rank,
      count(*) FILTER (WHERE _n < $12::int) OVER () AS _small
    FROM cells WHERE _n > 0
  ),
  shown AS (SELECT * FROM ranked WHERE _n >= $12::int AND NOT (_small = 1 AND _rank = 2)),
  d AS (SELECT * FROM shown ${order} LIMIT $13::int),
  ${auditInsert(
    'data.aggregate',
    'aggregate',
    '0',
    `$14::jsonb || CASE WHEN g.id IS NOT NULL AND g.refusal IS NULL AND ${charged} THEN jsonb_strip_nulls(jsonb_build_object(
      'cells', (SELECT count(*) FROM d), 'suppressed', (SELECT count(*) FROM ranked) - (SELECT count(*) FROM shown),
      'epsilonSpentToday', (SELECT spend.spent FROM spend)))
      ELSE '{}'::jsonb END
      || CASE WHEN $15::float8 IS NOT NULL AND g.id IS NOT NULL
        THEN jsonb_build_object('epsilonPerDay', ${perDayOf('g')}) ELSE '{}'::jsonb END`,
    late,
  )}
  ${answers(
    `, (SELECT json_agg(to_jsonb(d) - '_rank' - '_small' ${order}) FROM d) AS cells,
    (SELECT count(*) FROM ranked) - (SELECT count(*) FROM shown) AS suppressed,
    (SELECT count(*) FROM shown) AS shown, (SELECT st.s FROM st) AS data_state,
    (SELECT spend.spent FROM spend) AS spent, (SELECT ${perDayOf('ok')} FROM ok) AS per_day`,
    '',
    late,
  )}`;
}

interface AggregateRow extends CallRow {
  cells: Record<string, unknown>[] | null;
  suppressed: number | string | null;
  shown: number | string | null;
  /** the resource's last change (record_change.seq) when answered: part of the noise's seed */
  data_state: number | string | null;
  /** the epsilon the grant has spent today, this call included (null: an exact answer) */
  spent: number | null;
  /** the grant's budget per day: its own, else the platform's (null: no grant passed) */
  per_day: number | null;
}

async function governedAggregate(
  ctx: AppContext,
  meta: ResourceMeta,
  caller: Caller,
  a: CompiledAggregate,
  k: number,
  detail: Record<string, unknown>,
  budget: { epsilon: number | null; perDay: number; request: string },
): Promise<AggregateRow> {
  const { rows } = await ctx.database.query<AggregateRow>(aggregateSql(meta, a), [
    ...callParams(meta, [
      { caller, arg: null, targetHash: null, targetLabel: null, filterFields: a.filter.fields },
    ]),
    k,
    MAX_CELLS,
    JSON.stringify(detail),
    budget.epsilon,
    budget.perDay,
    shanghaiDate(ctx.clock.now()),
    budget.request,
    ...a.filter.params,
  ]);
  return rows[0];
}

/** The job that drops privacy-budget days past BUDGET_DAYS_KEPT (jobs/platform.ts, daily). */
export const BUDGET_PRUNE_JOB = 'dataapi.budgetPrune';
/** Days of aggregate_budget kept (today's decides; the audit log keeps every call's epsilon for as long as it keeps calls). */
export const BUDGET_DAYS_KEPT = 7;

/** Deletes the privacy-budget rows of days older than BUDGET_DAYS_KEPT: the table stays bounded. */
export async function pruneAggregateBudget(ctx: AppContext): Promise<number> {
  const oldest = addDays(shanghaiDate(ctx.clock.now()), -BUDGET_DAYS_KEPT);
  const r = await ctx.db.deleteFrom('aggregate_budget').where('day', '<', oldest).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** An epsilon sum without floating-point dust (0.1 + 0.2 → 0.3). */
export const roundEpsilon = (x: number) => Math.round(x * 1e6) / 1e6;

/** A grant's budget as answered: the day's allowance, what is spent, what is left (never below 0). */
export function budgetOf(
  perDay: number,
  spent: number,
): { perDay: number; spentToday: number; remaining: number } {
  return { perDay, spentToday: roundEpsilon(spent), remaining: roundEpsilon(Math.max(0, perDay - spent)) };
}

/** The privacy budget in force: the epsilon one grant's noisy answers may spend a day (10 when a config sets none). */
export const epsilonPerDay = (ctx: AppContext) => ctx.config.aggregate?.epsilonPerDay ?? 10;

/** The epsilon in force: the platform's, or the call's (which may only add noise), within bounds; null = no noise. */
export function effectiveEpsilon(ctx: AppContext, asked: number | undefined): number | null {
  const cfg = ctx.config.aggregate ?? { minCell: 5, epsilon: 0, epsilonMin: 0.1 };
  if (asked !== undefined && (!(asked >= cfg.epsilonMin) || asked > EPSILON_MAX))
    throw new AppError('AGGREGATE_INVALID', [
      {
        field: 'noise.epsilon',
        value: String(asked),
        reason: `epsilon is from ${cfg.epsilonMin} to ${EPSILON_MAX}`,
        reasonZh: `epsilon 取值范围为 ${cfg.epsilonMin} 至 ${EPSILON_MAX}`,
      },
    ]);
  const platform = cfg.epsilon > 0 ? Math.max(cfg.epsilon, cfg.epsilonMin) : null;
  if (asked === undefined) return platform;
  return platform === null ? asked : Math.min(platform, asked);
}

/** A Laplace(0, scale) draw from a keyed digest: the same inputs give the same noise. */
export function laplace(secret: Buffer, seed: string, scale: number): number {
  const h = keyedHash(secret, `aggregate-noise\n${seed}`);
  // 52 bits of the digest → u uniform in (-0.5, 0.5), never exactly ±0.5
  const u = (Number.parseInt(h.slice(0, 13), 16) + 0.5) / 2 ** 52 - 0.5;
  return -scale * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export async function aggregateRecords(ctx: AppContext, input: CallInput, code: string, body: AggregateBody) {
  const k = ctx.config.aggregate?.minCell ?? 5;
  const epsilon = effectiveEpsilon(ctx, body.noise?.epsilon);
  let compiled: CompiledAggregate | null = null;
  let caller: Caller = callerOf(ctx, input);
  const perDay = epsilonPerDay(ctx);
  // the request as its noise is seeded and its budget charged: what is asked, filter values included, and at which
  // epsilon (the same request at two epsilons must draw independent noise, else the two answers solve for the truth)
  let request = '';
  const { meta, row } = await call(ctx, code, caller, 'list', (m) => {
    compiled = compileAggregate(
      m,
      body,
      FIRST_FILTER_PARAM,
      (v) => ctx.fieldKeys.index(v, m.indexVersion),
      epsilon !== null,
    );
    caller = { ...caller, fields: compiled.fields };
    const groupBy = compiled.groupBy.map((f) => f.code);
    const measures = compiled.measures.map((x) => x.key);
    request = JSON.stringify({ g: groupBy, m: measures, w: body.where ?? null, e: epsilon });
    const detail = {
      groupBy,
      measures,
      filterFields: compiled.filter.fields,
      minCell: k,
      epsilon,
    };
    return governedAggregate(ctx, m, caller, compiled, k, detail, { epsilon, perDay, request });
  });
  const a = compiled as CompiledAggregate | null;
  if (!a) throw new Error('aggregate compiled nothing');
  await settle(ctx, caller, meta, row as AggregateRow, false, a.filter.fields);
  const r = row as AggregateRow;
  // the budget is split evenly over the draws: one for the count (also under every avg), one per summed field
  const draws = new Set(
    a.measures.flatMap((x) =>
      x.m.fn === 'count'
        ? ['count']
        : x.m.fn === 'sum'
          ? [x.key]
          : x.m.fn === 'avg'
            ? ['count', `sum_${x.f?.code}`]
            : [],
    ),
  ).size;
  const cells = (r.cells ?? []).map((c) => {
    const group: Record<string, unknown> = {};
    a.groupBy.forEach((f, i) => {
      group[f.code] = c[`g${i}`] ?? null;
    });
    const values: Record<string, unknown> = {};
    // seeded by the data state too: after a change the same request draws new noise (and is charged again), so the
    // difference of two answers never gives the exact change
    const seed = `${r.grant_id}\n${request}\n${r.data_state ?? 0}\n${JSON.stringify(group)}`;
    const noisy = (what: string, v: number, sensitivity: number) =>
      v + laplace(ctx.secret, `${seed}\n${what}`, (sensitivity * draws) / (epsilon as number));
    // a shown cell has at least k records: its noisy count never says fewer (that much is public anyway)
    const count = () => Math.max(k, Math.round(noisy('count', num(c._n) ?? 0, 1)));
    a.measures.forEach((x, i) => {
      const v = num(c[`m${i}`]);
      if (epsilon === null || v === null || x.m.fn === 'min' || x.m.fn === 'max')
        values[x.key] = c[`m${i}`] ?? null;
      else if (x.m.fn === 'count') values[x.key] = count();
      else if (x.m.fn === 'sum') values[x.key] = noisy(x.key, v, num(c[`b${i}`]) ?? 0);
      else {
        // a noisy sum over a noisy count, from the same draws as the sum and count measures
        const sum = noisy(`sum_${x.f?.code}`, num(c[`s${i}`]) ?? 0, num(c[`b${i}`]) ?? 0);
        values[x.key] = Math.round((sum / Math.max(1, count())) * 10_000) / 10_000;
      }
    });
    return { group, values };
  });
  return {
    resourceCode: code,
    groupBy: a.groupBy.map((f) => f.code),
    measures: a.measures.map((x) => ({ ...x.m, key: x.key })),
    cells,
    suppressedCells: Number(r.suppressed ?? 0),
    truncated: Number(r.shown ?? 0) > cells.length,
    minCell: k,
    noise:
      epsilon === null
        ? null
        : {
            mechanism: 'laplace',
            epsilon,
            budget: budgetOf(Number(r.per_day ?? perDay), Number(r.spent ?? 0)),
          },
    grantId: r.grant_id,
    auditId: r.audit_id,
  };
}

/** POST /api/v1/data/:resourceCode/aggregate (registered by routes.ts). */
export function aggregateRoute(
  app: FastifyInstance,
  ctx: AppContext,
  o: { callHeaders: object; callErrors: object; callInput: (req: never) => CallInput },
) {
  app.post(
    '/api/v1/data/:resourceCode/aggregate',
    {
      schema: {
        tags: ['data'],
        summary:
          'Usable but not visible (可用不可见, DG Art 33): counts, sums, averages, min/max and distributions grouped by granted non-personal fields; cells under k records suppressed, optional Laplace noise; never a record; audited',
        headers: o.callHeaders,
        params: {
          type: 'object',
          properties: { resourceCode: { type: 'string', maxLength: 100 } },
          required: ['resourceCode'],
        },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['measures'],
          properties: {
            measures: {
              type: 'array',
              minItems: 1,
              maxItems: MAX_MEASURES,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['fn'],
                properties: {
                  fn: { type: 'string', enum: AGGREGATE_FNS },
                  field: {
                    type: 'string',
                    maxLength: 40,
                    description: 'sum/avg: numeric; min/max: numeric or date, not personal',
                  },
                },
              },
            },
            groupBy: {
              type: 'array',
              maxItems: MAX_GROUP_BY,
              items: { type: 'string', maxLength: 40 },
              description:
                'granted dimension fields; personal or sensitive ones are refused (AGGREGATE_DIMENSION_PERSONAL)',
            },
            where: whereSchema('the filter language of POST …/query (granted, unmasked fields)'),
            noise: {
              type: 'object',
              additionalProperties: false,
              required: ['epsilon'],
              properties: {
                epsilon: {
                  type: 'number',
                  maximum: EPSILON_MAX,
                  description:
                    'Laplace noise at this epsilon (smaller = more noise; at least AGGREGATE_EPSILON_MIN)',
                },
              },
            },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              resourceCode: { type: 'string' },
              groupBy: { type: 'array', items: { type: 'string' } },
              measures: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { fn: { type: 'string' }, field: { type: 'string' }, key: { type: 'string' } },
                },
              },
              cells: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    group: { type: 'object', additionalProperties: true },
                    values: { type: 'object', additionalProperties: true },
                  },
                },
              },
              suppressedCells: {
                type: 'integer',
                description: 'cells withheld (fewer than minCell records, or complementary)',
              },
              truncated: { type: 'boolean', description: `more than ${MAX_CELLS} cells: the rest were cut` },
              minCell: { type: 'integer' },
              noise: {
                type: ['object', 'null'],
                properties: {
                  mechanism: { type: 'string' },
                  epsilon: { type: 'number' },
                  budget: {
                    type: 'object',
                    description:
                      "the grant's privacy budget per Beijing day (its own quota.epsilonPerDay, else AGGREGATE_EPSILON_PER_DAY) and what its noisy answers spent today, this one included; a repeated request over unchanged data is not charged again",
                    properties: {
                      perDay: { type: 'number' },
                      spentToday: { type: 'number' },
                      remaining: { type: 'number', description: 'perDay − spentToday, never below 0' },
                    },
                  },
                },
              },
              grantId: { type: 'integer' },
              auditId: { type: 'integer' },
            },
            required: ['cells', 'suppressedCells', 'minCell', 'grantId', 'auditId'],
          },
          400: {
            ...errorResponseSchema,
            description:
              'AGGREGATE_INVALID, AGGREGATE_DIMENSION_PERSONAL, FILTER_INVALID, FILTER_FIELD_MASKED',
          },
          403: o.callErrors,
          429: {
            ...errorResponseSchema,
            description:
              "PRIVACY_BUDGET_EXHAUSTED (the noisy answer would spend more than what is left of the grant's epsilon for today), QUOTA_EXCEEDED, RATE_LIMITED",
          },
        },
      },
    },
    async (req) =>
      aggregateRecords(
        ctx,
        o.callInput(req as never),
        (req.params as { resourceCode: string }).resourceCode,
        req.body as AggregateBody,
      ),
  );
}
