/**
 * Quality checks per resource (issue 12 point 2): rules as data (quality_rule), runs as jobs (after every committed
 * import and nightly, one job per resource), a score per rule and per resource stored for every run, the first failing
 * records kept by `_seq` and masked key, and a failed rule opening (or updating) a rectification task where the profile
 * has one (XT Art 22: 10 WD; NY task 8: closed loop) — otherwise the provider is told.
 */
import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { shanghaiDate, type WorkdayCalendar } from '../calendar/model.js';
import { currentCalendar } from '../calendar/service.js';
import { indexColumn } from '../catalog/model.js';
import { getFields, type StoredField } from '../catalog/store.js';
import { type Actor, type AppContext, hasRole } from '../context.js';
import { maskRecord } from '../dataapi/masking.js';
import { maskingPolicy } from '../dataapi/masking-policy.js';
import { type Db, inTx, type Tx } from '../db/index.js';
import { isValidCreditCode, isValidIdNumber, isValidMobilePhone } from '../ingest/checksums.js';
import { daysLate, nextDue } from '../ingest/freshness.js';
import { notify } from '../notify/service.js';
import { assertOrgFilter } from '../orgs/store.js';
import { AppError } from '../shared/errors.js';
import { insertRectification, rectificationEvent } from './rectifications.js';
import {
  canEditRules,
  canReadQuality,
  col,
  defaultRules,
  KIND_DEFAULTS,
  keyKind,
  MAX_FAILURES_KEPT,
  MAX_RULES_PER_RESOURCE,
  normaliseRule,
  type RuleInput,
  type RuleKind,
  type RuleParams,
  resourceScore,
  rulePredicates,
  ruleScore,
  type StoredRule,
  seesAllQuality,
  tableRef,
} from './rules.js';

export const QUALITY_CHECK_JOB = 'quality.check';
export const QUALITY_NIGHTLY_JOB = 'quality.nightly';

type Trigger = 'import' | 'schedule' | 'manual';

async function resourceOf(db: Db | Tx, id: number) {
  return db
    .selectFrom('resource')
    .select([
      'id',
      'name',
      'code',
      'provider_org_id',
      'status',
      'data_table',
      'update_cycle',
      'last_ingest_at',
      'published_at',
      'index_key',
    ])
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Reading or editing a resource's quality: unknown or not yours → 404 (a department does not learn other ids). */
async function visibleResource(db: Db | Tx, actor: Actor, id: number) {
  const r = await resourceOf(db, id);
  if (!r || !canReadQuality(actor, Number(r.provider_org_id))) throw new AppError('NOT_FOUND');
  return r;
}

function ruleView(r: {
  id: number;
  kind: string;
  field_code: string;
  params: unknown;
  threshold: string | number;
  weight: string | number;
  enabled: boolean;
  origin: string;
  updated_at: Date;
}) {
  return {
    id: Number(r.id),
    kind: r.kind as RuleKind,
    fieldCode: r.field_code || null,
    params: (r.params ?? {}) as RuleParams,
    threshold: Number(r.threshold),
    weight: Number(r.weight),
    enabled: r.enabled,
    origin: r.origin,
    updatedAt: r.updated_at,
  };
}

/** Default rules from the catalog fields, added once (a default someone disabled stays disabled). */
async function ensureDefaults(
  trx: Tx | Db,
  r: { id: number; update_cycle: string },
  fields: StoredField[],
  now: Date,
) {
  const defs = defaultRules(fields, r.update_cycle);
  if (!defs.length) return;
  await trx
    .insertInto('quality_rule')
    .values(
      defs.map((d) => ({
        resource_id: r.id,
        kind: d.kind,
        field_code: d.fieldCode,
        params: JSON.stringify(d.params),
        threshold: d.threshold,
        weight: d.weight,
        origin: 'default' as const,
        updated_by: null,
        updated_at: now,
      })),
    )
    .onConflict((oc) => oc.columns(['resource_id', 'kind', 'field_code']).doNothing())
    .execute();
}

async function rulesOf(db: Db | Tx, resourceId: number) {
  return db
    .selectFrom('quality_rule')
    .selectAll()
    .where('resource_id', '=', resourceId)
    .orderBy('kind')
    .orderBy('field_code')
    .execute();
}

export async function listRules(ctx: AppContext, actor: Actor, resourceId: number) {
  const r = await visibleResource(ctx.db, actor, resourceId);
  const fields = await getFields(ctx.db, resourceId);
  await ensureDefaults(ctx.db, r, fields, ctx.clock.now());
  const rules = await rulesOf(ctx.db, resourceId);
  // a consistency rule's partner by name (people see names, not ids and codes)
  const partners = new Map<number, { resourceName: string; fieldName: string | null }>();
  for (const x of rules) {
    const p = (x.params ?? {}) as RuleParams;
    if (x.kind !== 'consistency' || !p.resourceId) continue;
    const other = await resourceOf(ctx.db, p.resourceId);
    const of = other
      ? (await getFields(ctx.db, p.resourceId)).find((f) => f.code === p.fieldCode)
      : undefined;
    partners.set(Number(x.id), { resourceName: other?.name ?? '-', fieldName: of?.name ?? null });
  }
  return {
    resource: { id: Number(r.id), name: r.name, code: r.code, updateCycle: r.update_cycle },
    canEdit: canEditRules(actor, Number(r.provider_org_id)),
    fields: fields.map((f) => ({ code: f.code, name: f.name, type: f.type, validator: f.validator ?? null })),
    items: rules.map((x) => ({ ...ruleView(x), partner: partners.get(Number(x.id)) ?? null })),
  };
}

async function checkConsistencyTarget(
  db: Db | Tx,
  fields: StoredField[],
  params: RuleParams,
  selfId: number,
) {
  const otherId = params.resourceId!;
  const invalid = (reason: string, reasonZh: string) =>
    new AppError('VALIDATION_FAILED', [{ field: 'params.resourceId', reason, reasonZh }]);
  if (otherId === selfId) throw invalid('compare with another resource', '须与另一资源比对');
  const other = await resourceOf(db, otherId);
  if (other?.status !== 'published' || !other.data_table)
    throw invalid('no such published resource with data', '比对资源不存在或尚无数据');
  const otherFields = await getFields(db, otherId);
  const kind = keyKind(fields);
  if (!kind || kind !== keyKind(otherFields))
    throw invalid(
      'both resources must be keyed by the same kind of identifier (ID number or credit code)',
      '两个资源须以同类标识（身份证号或统一社会信用代码）为记录主键',
    );
  if (!otherFields.some((f) => f.code === params.fieldCode))
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'params.fieldCode',
        reason: 'no such field in the other resource',
        reasonZh: '比对资源没有该信息项',
      },
    ]);
}

async function auditRule(
  trx: Tx,
  actor: Actor,
  action: string,
  resourceId: number,
  ruleId: number,
  detail: object,
) {
  await appendAudit(trx, {
    actorUserId: actor.id,
    actorOrgId: actor.orgId,
    action,
    resourceId,
    targetType: 'quality_rule',
    targetId: ruleId,
    decision: 'allow',
    clientIp: actor.clientIp,
    detail: detail as Record<string, unknown>,
  });
}

export async function createRule(ctx: AppContext, actor: Actor, resourceId: number, input: RuleInput) {
  return inTx(ctx.db, async (trx) => {
    const r = await visibleResource(trx, actor, resourceId);
    if (!canEditRules(actor, Number(r.provider_org_id))) throw new AppError('FORBIDDEN');
    const fields = await getFields(trx, resourceId);
    const n = normaliseRule(input, fields);
    if (n.kind === 'consistency') await checkConsistencyTarget(trx, fields, n.params, resourceId);
    const [{ count }] = await trx
      .selectFrom('quality_rule')
      .select(sql<number>`count(*)::int`.as('count'))
      .where('resource_id', '=', resourceId)
      .execute();
    if (count >= MAX_RULES_PER_RESOURCE)
      throw new AppError('VALIDATION_FAILED', [
        {
          field: 'kind',
          reason: `at most ${MAX_RULES_PER_RESOURCE} rules per resource`,
          reasonZh: `每个资源最多 ${MAX_RULES_PER_RESOURCE} 条规则`,
        },
      ]);
    const row = await trx
      .insertInto('quality_rule')
      .values({
        resource_id: resourceId,
        kind: n.kind,
        field_code: n.fieldCode,
        params: JSON.stringify(n.params),
        threshold: n.threshold,
        weight: n.weight,
        enabled: n.enabled,
        origin: 'custom',
        updated_by: actor.id,
        updated_at: ctx.clock.now(),
      })
      .onConflict((oc) => oc.columns(['resource_id', 'kind', 'field_code']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row)
      throw new AppError('VALIDATION_FAILED', [
        {
          field: 'fieldCode',
          reason: 'this field already has a rule of this kind: edit it',
          reasonZh: '该信息项已有同类规则，请修改该规则',
        },
      ]);
    await auditRule(trx, actor, 'quality.rule_created', resourceId, row.id, n);
    return ruleView(row);
  });
}

async function ruleForEdit(trx: Tx, actor: Actor, ruleId: number) {
  const rule = await trx
    .selectFrom('quality_rule')
    .selectAll()
    .where('id', '=', ruleId)
    .forUpdate()
    .executeTakeFirst();
  if (!rule) throw new AppError('NOT_FOUND');
  const r = await visibleResource(trx, actor, Number(rule.resource_id));
  if (!canEditRules(actor, Number(r.provider_org_id))) throw new AppError('FORBIDDEN');
  return rule;
}

/** Threshold, weight, parameters and on/off; the kind and field stay (another kind is another rule). */
export async function updateRule(
  ctx: AppContext,
  actor: Actor,
  ruleId: number,
  input: { threshold?: number; weight?: number; enabled?: boolean; params?: RuleParams },
) {
  return inTx(ctx.db, async (trx) => {
    const rule = await ruleForEdit(trx, actor, ruleId);
    const fields = await getFields(trx, Number(rule.resource_id));
    const n = normaliseRule(
      {
        kind: rule.kind as RuleKind,
        fieldCode: rule.field_code,
        params: input.params ?? (rule.params as RuleParams),
        threshold: input.threshold ?? Number(rule.threshold),
        weight: input.weight ?? Number(rule.weight),
        enabled: input.enabled ?? rule.enabled,
      },
      fields,
    );
    if (n.kind === 'consistency' && input.params)
      await checkConsistencyTarget(trx, fields, n.params, Number(rule.resource_id));
    const row = await trx
      .updateTable('quality_rule')
      .set({
        params: JSON.stringify(n.params),
        threshold: n.threshold,
        weight: n.weight,
        enabled: n.enabled,
        updated_by: actor.id,
        updated_at: ctx.clock.now(),
      })
      .where('id', '=', ruleId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await auditRule(trx, actor, 'quality.rule_updated', Number(rule.resource_id), ruleId, {
      before: {
        threshold: Number(rule.threshold),
        weight: Number(rule.weight),
        enabled: rule.enabled,
        params: rule.params,
      },
      after: { threshold: n.threshold, weight: n.weight, enabled: n.enabled, params: n.params },
    });
    return ruleView(row);
  });
}

/** A custom rule is deleted; a default one is switched off (else the next run would add it again). */
export async function deleteRule(ctx: AppContext, actor: Actor, ruleId: number) {
  return inTx(ctx.db, async (trx) => {
    const rule = await ruleForEdit(trx, actor, ruleId);
    if (rule.origin === 'default')
      await trx
        .updateTable('quality_rule')
        .set({ enabled: false, updated_by: actor.id, updated_at: ctx.clock.now() })
        .where('id', '=', ruleId)
        .execute();
    else await trx.deleteFrom('quality_rule').where('id', '=', ruleId).execute();
    await auditRule(trx, actor, 'quality.rule_deleted', Number(rule.resource_id), ruleId, {
      kind: rule.kind,
      fieldCode: rule.field_code,
      disabledOnly: rule.origin === 'default',
    });
    return { id: ruleId, deleted: rule.origin !== 'default', enabled: false };
  });
}

/**
 * The record key of a failing row: `_key`, or — when a key field is encrypted and `_key` is its keyed hash — the key
 * columns' ciphertexts, decrypted by clearKey before they are masked (docs/ENCRYPTION.md).
 */
function keyColumns(fields: StoredField[]) {
  const keys = fields.filter((f) => f.isKey);
  if (!keys.some((f) => f.encrypted)) return sql.raw('t._key');
  return sql.raw(`to_jsonb(ARRAY[${keys.map((f) => `t.${f.columnName}::text`).join(', ')}])::text`);
}

function clearKey(ctx: AppContext, key: string): string {
  if (!key.startsWith('[')) return key;
  return (JSON.parse(key) as (string | null)[]).map((v) => String(ctx.fieldKeys.decrypt(v) ?? '')).join('|');
}

/** A validity rule on an encrypted column: its values decrypted in batches and checked by the ingest validators. */
async function encryptedValidity(
  ctx: AppContext,
  trx: Tx,
  resourceId: number,
  f: StoredField,
  rule: StoredRule,
  keyCols: ReturnType<typeof keyColumns>,
): Promise<RuleResult> {
  const ok = (v: string): boolean => {
    switch (rule.params.check) {
      case 'idNumber':
        return isValidIdNumber(v);
      case 'creditCode':
        return isValidCreditCode(v);
      case 'mobilePhone':
        return isValidMobilePhone(v);
      case 'enum':
        return (rule.params.values ?? []).includes(v);
      case 'length': {
        const n = Array.from(v).length;
        return n >= (rule.params.min ?? 0) && n <= (rule.params.max ?? 10000);
      }
      default:
        throw new Error(`unknown validity check ${rule.params.check}`);
    }
  };
  let checked = 0;
  let failing = 0;
  const failures: { seq: number; key: string }[] = [];
  let after = 0;
  for (;;) {
    const { rows } = await sql<{ seq: string; v: string | null; key: string }>`
      SELECT t._seq AS seq, ${col('t', f.columnName)} AS v, ${keyCols} AS key FROM ${tableRef(resourceId)} t
      WHERE t._seq > ${after} ORDER BY t._seq LIMIT 5000`.execute(trx);
    if (!rows.length) break;
    for (const x of rows) {
      if (x.v === null) continue;
      checked++;
      if (!ok(String(ctx.fieldKeys.decrypt(x.v)))) {
        failing++;
        if (failures.length < MAX_FAILURES_KEPT)
          failures.push({ seq: Number(x.seq), key: clearKey(ctx, x.key) });
      }
    }
    after = Number(rows[rows.length - 1].seq);
  }
  const score = ruleScore(checked, failing);
  return { rule, checked, failing, score, passed: score >= rule.threshold, detail: {}, failures };
}

/** The record key as people may see it: each key part masked by its field's rule (the one masking module). */
function keyMasker(fields: StoredField[]) {
  const keys = fields.filter((f) => f.isKey);
  return (key: string) => {
    const parts = key.split('|');
    const rec: Record<string, unknown> = {};
    keys.forEach((f, i) => {
      rec[f.code] = parts[i] ?? '';
    });
    // a key part is always masked at least partially: it identifies a person or an entity
    maskRecord(
      rec,
      keys.map((f) => ({ ...f, personal: true })),
    );
    return keys
      .map((f) => String(rec[f.code]))
      .join('|')
      .slice(0, 200);
  };
}

interface RuleResult {
  rule: StoredRule;
  checked: number;
  failing: number;
  score: number;
  passed: boolean;
  detail: Record<string, unknown>;
  failures: { seq: number; key: string }[];
}

/**
 * One run over one resource: all row rules are counted in ONE scan of the data table (a `count(*) FILTER` per rule),
 * then the first failing records of each failed rule are read by `_seq`. Timeliness reuses the freshness computation
 * (src/ingest/freshness.ts). Everything is written in one transaction, so a crash leaves no half run and the job's
 * retry starts again.
 */
export async function runQualityCheck(
  ctx: AppContext,
  resourceId: number,
  o: { trigger: Trigger; batchId?: number | null; actor?: Actor | null },
) {
  // read before the transaction: the calendar's loader uses the pool (PGlite has one connection)
  const cal = await currentCalendar(ctx);
  await ctx.fieldKeys.refresh(false, ctx.db);
  return inTx(ctx.db, async (trx) => {
    const r = await resourceOf(trx, resourceId);
    if (!r?.data_table) return null;
    const now = ctx.clock.now();
    const fields = await getFields(trx, resourceId);
    const keyCols = keyColumns(fields);
    await ensureDefaults(trx, r, fields, now);
    const stored = (await rulesOf(trx, resourceId)).filter((x) => x.enabled);
    const rules: StoredRule[] = stored.map((x) => ({
      id: Number(x.id),
      kind: x.kind as RuleKind,
      fieldCode: x.field_code,
      params: (x.params ?? {}) as RuleParams,
      threshold: Number(x.threshold),
      weight: Number(x.weight),
    }));
    const results: RuleResult[] = [];
    const rowRules: { rule: StoredRule; p: NonNullable<ReturnType<typeof rulePredicates>> }[] = [];
    for (const rule of rules) {
      if (rule.kind === 'timeliness') {
        const since = r.last_ingest_at ?? r.published_at;
        const due = since ? nextDue(r.update_cycle, new Date(since)) : null;
        const late = daysLate(due, now);
        results.push({
          rule,
          checked: due ? 1 : 0,
          failing: late > 0 ? 1 : 0,
          score: late > 0 ? 0 : 100,
          passed: late <= 0 || rule.threshold <= 0,
          detail: { nextDue: due, daysOverdue: late, updateCycle: r.update_cycle },
          failures: [],
        });
        continue;
      }
      const f = rule.fieldCode ? fields.find((x) => x.code === rule.fieldCode) : undefined;
      if (rule.fieldCode && !f) continue; // the field left the catalog in a later version: nothing to check
      let other: { resourceId: number; column: string } | undefined;
      // an encrypted column (docs/ENCRYPTION.md) is judged on its lookup index where equality is all a rule asks
      // (completeness, uniqueness, consistency between two encrypted columns), and by decrypting where it is not
      let column = f?.columnName ?? null;
      if (f?.encrypted && rule.kind === 'validity') {
        results.push(await encryptedValidity(ctx, trx, resourceId, f, rule, keyCols));
        continue;
      }
      if (f?.encrypted) column = indexColumn(f.columnName);
      if (rule.kind === 'consistency') {
        const oid = rule.params.resourceId!;
        const or = await resourceOf(trx, oid);
        const ofields = or?.data_table ? await getFields(trx, oid) : [];
        const of = ofields.find((x) => x.code === rule.params.fieldCode);
        if (!of) continue;
        if (of.encrypted !== (f?.encrypted ?? false)) {
          // one side ciphertext, the other clear: not comparable in SQL; reported, not guessed
          results.push({
            rule,
            checked: 0,
            failing: 0,
            score: 100,
            passed: true,
            detail: { notComparable: 'encryptedVsClear' },
            failures: [],
          });
          continue;
        }
        // the rule compares the two columns (lookup hashes when encrypted) of the records joined on `_key` (hashed when
        // the key is encrypted): hashes under different index-key versions (a rotation is converting resources one by
        // one, docs/ENCRYPTION.md) never meet, so the rule is left out and reported, not scored as failing
        const hashedKeys =
          fields.some((x) => x.isKey && x.encrypted) && ofields.some((x) => x.isKey && x.encrypted);
        if (
          (of.encrypted || hashedKeys) &&
          or?.index_key !== (await resourceOf(trx, resourceId))?.index_key
        ) {
          results.push({
            rule,
            checked: 0,
            failing: 0,
            score: 100,
            passed: true,
            detail: { notComparable: 'indexKeyRotating' },
            failures: [],
          });
          continue;
        }
        other = { resourceId: oid, column: of.encrypted ? indexColumn(of.columnName) : of.columnName };
      }
      const p = rulePredicates(rule, resourceId, column, other);
      if (p) rowRules.push({ rule, p });
    }
    const [{ n }] = (
      await sql<{ n: number }>`SELECT count(*)::bigint AS n FROM ${tableRef(resourceId)}`.execute(trx)
    ).rows;
    if (rowRules.length) {
      const cols = rowRules.map(
        ({ p }, i) =>
          sql`count(*) FILTER (WHERE ${p.checked}) AS ${sql.raw(`k${i}`)}, count(*) FILTER (WHERE ${p.checked} AND ${p.failing}) AS ${sql.raw(`f${i}`)}`,
      );
      const row = (
        await sql<Record<string, number>>`SELECT ${sql.join(cols)} FROM ${tableRef(resourceId)} t ${sql.join(
          rowRules.flatMap(({ p }) => (p.join ? [p.join] : [])),
          sql` `,
        )}`.execute(trx)
      ).rows[0];
      for (let i = 0; i < rowRules.length; i++) {
        const { rule, p } = rowRules[i];
        const checked = Number(row[`k${i}`]);
        const failing = Number(row[`f${i}`]);
        const score = ruleScore(checked, failing);
        let failures: { seq: number; key: string }[] = [];
        if (failing > 0)
          failures = (
            await sql<{
              seq: number;
              key: string;
            }>`SELECT t._seq AS seq, ${keyCols} AS key FROM ${tableRef(resourceId)} t ${p.join ?? sql``}
              WHERE ${p.checked} AND ${p.failing} ORDER BY t._seq LIMIT ${MAX_FAILURES_KEPT}`.execute(trx)
          ).rows.map((x) => ({ seq: x.seq, key: clearKey(ctx, x.key) }));
        results.push({
          rule,
          checked,
          failing,
          score,
          passed: score >= rule.threshold,
          detail: {},
          failures,
        });
      }
    }
    const score = resourceScore(results.map((x) => ({ score: x.score, weight: x.rule.weight })));
    const failed = results.filter((x) => !x.passed);
    const run = await trx
      .insertInto('quality_run')
      .values({
        resource_id: resourceId,
        trigger: o.trigger,
        batch_id: o.batchId ?? null,
        requested_by: o.actor?.id ?? null,
        started_at: now,
        finished_at: ctx.clock.now(),
        row_count: Number(n),
        score,
        rules_failed: failed.length,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const mask = keyMasker(fields);
    for (const x of results) {
      const rr = await trx
        .insertInto('quality_run_rule')
        .values({
          run_id: run.id,
          rule_id: x.rule.id,
          kind: x.rule.kind,
          field_code: x.rule.fieldCode,
          checked: x.checked,
          failing: x.failing,
          score: x.score,
          threshold: x.rule.threshold,
          weight: x.rule.weight,
          passed: x.passed,
          detail: JSON.stringify(x.detail),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      for (let i = 0; i < x.failures.length; i += 500) {
        const chunk = x.failures.slice(i, i + 500);
        await trx
          .insertInto('quality_run_failure')
          .values(chunk.map((f) => ({ run_rule_id: rr.id, seq: f.seq, key_masked: mask(f.key) })))
          .execute();
      }
    }
    await appendAudit(trx, {
      actorUserId: o.actor?.id ?? null,
      actorOrgId: o.actor?.orgId ?? null,
      action: 'quality.check_run',
      resourceId,
      targetType: 'quality_run',
      targetId: run.id,
      decision: 'allow',
      clientIp: o.actor?.clientIp ?? null,
      detail: {
        trigger: o.trigger,
        batchId: o.batchId ?? undefined,
        score,
        rulesFailed: failed.length,
        rows: Number(n),
      },
    });
    if (failed.length)
      await actOnFailures(ctx, trx, cal, { ...r, id: Number(r.id) }, Number(run.id), score, failed);
    return { runId: Number(run.id), score, rulesFailed: failed.length, rowCount: Number(n) };
  });
}

const KIND_ZH: Record<RuleKind, string> = {
  completeness: '完整性',
  validity: '有效性',
  uniqueness: '唯一性',
  timeliness: '及时性',
  consistency: '一致性',
};

/**
 * A failed rule: where the profile has rectification after a quality check (XT Art 22: 10 WD; NY task 8: closed loop)
 * it opens a task through the one rectification path (insertRectification) — or, while the rule's task is still
 * open, adds this run's result to that task's timeline instead of opening another. Under every profile the
 * provider's data officers are told of the failed run.
 */
async function actOnFailures(
  ctx: AppContext,
  trx: Tx,
  cal: WorkdayCalendar,
  r: { id: number; name: string; provider_org_id: number },
  runId: number,
  score: number,
  failed: RuleResult[],
) {
  const q = ctx.profile.quality;
  const now = ctx.clock.now();
  const today = shanghaiDate(now);
  const tasks: number[] = [];
  if (q.rectificationArticle) {
    const authority = await trx
      .selectFrom('org')
      .select('id')
      .where('kind', '=', 'authority')
      .orderBy('id')
      .executeTakeFirst();
    for (const x of failed) {
      const field = x.rule.fieldCode ? `「${x.rule.fieldCode}」` : '';
      const text = `${KIND_ZH[x.rule.kind]}规则${field}得分 ${x.score}，低于阈值 ${x.rule.threshold}（检查 ${x.checked} 条，不合格 ${x.failing} 条，质量检查第 ${runId} 次运行）。`;
      const open = await trx
        .selectFrom('quality_rectification')
        .select(['id', 'due_date'])
        .where('rule_id', '=', x.rule.id)
        .where('status', '=', 'open')
        .forUpdate()
        .executeTakeFirst();
      if (open) {
        await trx
          .updateTable('quality_rectification')
          .set({ run_id: runId })
          .where('id', '=', open.id)
          .execute();
        await rectificationEvent(trx, Number(open.id), 'checkFailed', today, open.due_date, null, text, now);
        tasks.push(Number(open.id));
        continue;
      }
      if (!authority) continue;
      const row = await insertRectification(ctx, trx, cal, {
        resource: r,
        source: 'check',
        title: `${r.name}：${KIND_ZH[x.rule.kind]}检查未达标`.slice(0, 200),
        description: text,
        openedBy: null,
        openedOrgId: Number(authority.id),
        ruleId: x.rule.id,
        runId,
      });
      tasks.push(Number(row.id));
    }
  }
  await notify(trx, [{ orgIds: [r.provider_org_id], roles: ['data_officer'] }], {
    kind: 'quality.checkFailed',
    severity: 'warning',
    params: {
      resource: r.name,
      runId,
      score,
      rulesFailed: failed.length,
      rectificationIds: tasks,
      article: q.rectificationArticle ?? null,
    },
    resourceId: r.id,
  });
}

/** "Run now": the provider's data officer or the authority; runs at once and returns the run. */
export async function runNow(ctx: AppContext, actor: Actor, resourceId: number) {
  const r = await visibleResource(ctx.db, actor, resourceId);
  if (!canEditRules(actor, Number(r.provider_org_id))) throw new AppError('FORBIDDEN');
  if (!r.data_table)
    throw new AppError('VALIDATION_FAILED', [
      { field: 'resourceId', reason: 'the resource has no data yet', reasonZh: '该资源尚无数据' },
    ]);
  const out = await runQualityCheck(ctx, resourceId, { trigger: 'manual', actor });
  return getRun(ctx, actor, out!.runId);
}

// ---- jobs ----

/** Called inside the import's committing transaction: the check runs after the commit, as a job (restart-safe). */
export async function queueCheckAfterImport(ctx: AppContext, trx: Tx, resourceId: number, batchId: number) {
  await ctx.jobs.schedule(trx, {
    kind: QUALITY_CHECK_JOB,
    key: `batch-${batchId}`,
    runAt: ctx.clock.now(),
    payload: { resourceId, batchId, trigger: 'import' },
  });
}

export async function qualityCheckJob(
  ctx: AppContext,
  payload: { resourceId: number; batchId?: number; trigger?: Trigger },
) {
  await runQualityCheck(ctx, payload.resourceId, {
    trigger: payload.trigger === 'import' ? 'import' : 'schedule',
    batchId: payload.batchId ?? null,
  });
}

/**
 * Nightly: one check job per published resource with data (each its own job: one failure does not stop the rest),
 * except those an import or a person checked in the last 12 hours.
 */
export async function scheduleNightlyChecks(ctx: AppContext) {
  const now = ctx.clock.now();
  const since = new Date(now.getTime() - 12 * 3_600_000);
  const rows = await ctx.db
    .selectFrom('resource as r')
    .select('r.id')
    .where('r.status', '=', 'published')
    .where('r.data_table', 'is not', null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('quality_run as q')
            .select('q.id')
            .whereRef('q.resource_id', '=', 'r.id')
            .where('q.finished_at', '>', since),
        ),
      ),
    )
    .execute();
  for (const r of rows)
    await ctx.jobs.schedule(ctx.db, {
      kind: QUALITY_CHECK_JOB,
      key: `scheduled-${r.id}`,
      runAt: now,
      payload: { resourceId: Number(r.id), trigger: 'schedule' },
    });
  return rows.length;
}

// ---- reading ----

/** Resources with their latest score: the provider's own for a department, all for the authority and auditors. */
export async function qualityOverview(ctx: AppContext, actor: Actor) {
  let q = ctx.db
    .selectFrom('resource as r')
    .innerJoin('org as o', 'o.id', 'r.provider_org_id')
    .leftJoin(
      (eb) =>
        eb
          .selectFrom('quality_run')
          .select(['resource_id', sql<number>`max(id)`.as('last_id'), sql<number>`count(*)::int`.as('runs')])
          .groupBy('resource_id')
          .as('lr'),
      (j) => j.onRef('lr.resource_id', '=', 'r.id'),
    )
    .leftJoin('quality_run as qr', 'qr.id', 'lr.last_id')
    .select([
      'r.id',
      'r.name',
      'r.code',
      'r.row_count',
      'o.id as provider_id',
      'o.name as provider_name',
      'qr.id as run_id',
      'qr.score',
      'qr.rules_failed',
      'qr.finished_at',
      'lr.runs',
    ])
    .where('r.status', '=', 'published')
    .where('r.data_table', 'is not', null);
  if (!seesAllQuality(actor)) q = q.where('r.provider_org_id', '=', actor.orgId);
  const rows = await q.orderBy(sql`qr.score ASC NULLS LAST`).orderBy('r.id').limit(1000).execute();
  return {
    items: rows.map((x) => ({
      resourceId: Number(x.id),
      name: x.name,
      code: x.code,
      rowCount: Number(x.row_count ?? 0),
      provider: { id: Number(x.provider_id), name: x.provider_name },
      lastRunId: x.run_id === null ? null : Number(x.run_id),
      score: x.score === null ? null : Number(x.score),
      rulesFailed: x.rules_failed ?? null,
      checkedAt: x.finished_at ?? null,
      runs: x.runs ?? 0,
    })),
  };
}

/**
 * The runs finished in a period (Beijing dates, both ends included), of one provider if `orgId`: the list behind the
 * cockpit's monthly quality trend (issue 12 point 6; the trend's point for a month is these runs' count and mean
 * score). A department's officer sees its own resources' runs only.
 */
export async function listRunsInPeriod(
  ctx: AppContext,
  actor: Actor,
  f: { from: string; to: string; orgId?: number; page?: number; pageSize?: number },
) {
  await assertOrgFilter(ctx.db, f.orgId);
  if (f.from > f.to)
    throw new AppError('VALIDATION_FAILED', [
      { field: 'to', reason: 'the period ends before it starts', reasonZh: '期间的结束日早于开始日' },
    ]);
  const page = f.page ?? 1;
  const pageSize = f.pageSize ?? 20;
  let q = ctx.db
    .selectFrom('quality_run as qr')
    .innerJoin('resource as r', 'r.id', 'qr.resource_id')
    .innerJoin('org as o', 'o.id', 'r.provider_org_id')
    .where(
      sql<boolean>`(qr.finished_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN ${f.from}::date AND ${f.to}::date`,
    );
  if (f.orgId !== undefined) q = q.where('r.provider_org_id', '=', f.orgId);
  if (!seesAllQuality(actor)) {
    if (!hasRole(actor, 'data_officer')) throw new AppError('FORBIDDEN');
    q = q.where('r.provider_org_id', '=', actor.orgId);
  }
  const agg = await q
    .select([
      sql<number>`count(*)::int`.as('total'),
      sql<number | null>`round(avg(qr.score), 1)::float8`.as('mean'),
    ])
    .executeTakeFirstOrThrow();
  const rows = await q
    .select([
      'qr.id',
      'qr.resource_id',
      'r.name',
      'o.id as provider_id',
      'o.name as provider_name',
      'qr.trigger',
      'qr.finished_at',
      'qr.row_count',
      'qr.score',
      'qr.rules_failed',
    ])
    .orderBy('qr.finished_at', 'desc')
    .orderBy('qr.id', 'desc')
    .limit(pageSize)
    .offset((page - 1) * pageSize)
    .execute();
  return {
    total: Number(agg.total),
    meanScore: agg.mean === null ? null : Number(agg.mean),
    page,
    pageSize,
    items: rows.map((x) => ({
      id: Number(x.id),
      resourceId: Number(x.resource_id),
      name: x.name,
      provider: { id: Number(x.provider_id), name: x.provider_name },
      trigger: x.trigger,
      at: x.finished_at,
      rowCount: Number(x.row_count),
      score: Number(x.score),
      rulesFailed: x.rules_failed,
    })),
  };
}

/** Score history for the trend chart (oldest first, newest 200 runs). */
export async function listRuns(ctx: AppContext, actor: Actor, resourceId: number, limit = 200) {
  await visibleResource(ctx.db, actor, resourceId);
  const rows = await ctx.db
    .selectFrom('quality_run')
    .selectAll()
    .where('resource_id', '=', resourceId)
    .orderBy('id', 'desc')
    .limit(Math.min(Math.max(limit, 1), 500))
    .execute();
  return {
    items: rows.reverse().map((x) => ({
      id: Number(x.id),
      trigger: x.trigger,
      batchId: x.batch_id === null ? null : Number(x.batch_id),
      at: x.finished_at,
      rowCount: Number(x.row_count),
      score: Number(x.score),
      rulesFailed: x.rules_failed,
    })),
  };
}

export async function getRun(ctx: AppContext, actor: Actor, runId: number) {
  const run = await ctx.db.selectFrom('quality_run').selectAll().where('id', '=', runId).executeTakeFirst();
  if (!run) throw new AppError('NOT_FOUND');
  await visibleResource(ctx.db, actor, Number(run.resource_id));
  const rules = await ctx.db
    .selectFrom('quality_run_rule')
    .selectAll()
    .where('run_id', '=', runId)
    .orderBy('id')
    .execute();
  return {
    id: Number(run.id),
    resourceId: Number(run.resource_id),
    trigger: run.trigger,
    batchId: run.batch_id === null ? null : Number(run.batch_id),
    at: run.finished_at,
    rowCount: Number(run.row_count),
    score: Number(run.score),
    rulesFailed: run.rules_failed,
    rules: rules.map((x) => ({
      id: Number(x.id),
      ruleId: Number(x.rule_id),
      kind: x.kind as RuleKind,
      fieldCode: x.field_code || null,
      checked: Number(x.checked),
      failing: Number(x.failing),
      kept: Math.min(Number(x.failing), MAX_FAILURES_KEPT),
      score: Number(x.score),
      threshold: Number(x.threshold),
      weight: Number(x.weight),
      passed: x.passed,
      detail: x.detail,
    })),
  };
}

/**
 * The failing records of one rule in one run, one click from the score: masked key (as stored), and the rule's field
 * as it is now, masked by the one masking module for everyone (the list is for finding rows, not reading people).
 * Every read is audited with the rows shown.
 */
export async function failingRows(
  ctx: AppContext,
  actor: Actor,
  runRuleId: number,
  page: { page: number; pageSize: number },
) {
  const rr = await ctx.db
    .selectFrom('quality_run_rule as x')
    .innerJoin('quality_run as r', 'r.id', 'x.run_id')
    .select(['x.id', 'x.kind', 'x.field_code', 'x.failing', 'r.resource_id', 'r.id as run_id'])
    .where('x.id', '=', runRuleId)
    .executeTakeFirst();
  if (!rr) throw new AppError('NOT_FOUND');
  const resourceId = Number(rr.resource_id);
  await visibleResource(ctx.db, actor, resourceId);
  const fields = await getFields(ctx.db, resourceId);
  const f = rr.field_code ? fields.find((x) => x.code === rr.field_code) : undefined;
  // read before the transaction (PGlite has one connection); it also carries the keyring that decrypts
  const policy = await maskingPolicy(ctx);
  return inTx(ctx.db, async (trx) => {
    const items = await trx
      .selectFrom('quality_run_failure')
      .select(['seq', 'key_masked'])
      .where('run_rule_id', '=', runRuleId)
      .orderBy('seq')
      .limit(page.pageSize)
      .offset((page.page - 1) * page.pageSize)
      .execute();
    const seqs = items.map((x) => Number(x.seq));
    const current = new Map<number, unknown>();
    if (f && seqs.length) {
      const rows = (
        await sql<{ seq: number; v: unknown }>`SELECT t._seq AS seq, ${sql.raw(`t.${f.columnName}`)} AS v
          FROM ${tableRef(resourceId)} t WHERE t._seq = ANY(${seqs}::bigint[])`.execute(trx)
      ).rows;
      for (const x of rows) {
        const rec = maskRecord({ [f.code]: x.v }, [{ ...f, personal: f.personal || f.isKey }], policy);
        current.set(Number(x.seq), rec[f.code]);
      }
    }
    const present = new Set<number>();
    if (!f && seqs.length)
      for (const x of (
        await sql<{
          seq: number;
        }>`SELECT t._seq AS seq FROM ${tableRef(resourceId)} t WHERE t._seq = ANY(${seqs}::bigint[])`.execute(
          trx,
        )
      ).rows)
        present.add(Number(x.seq));
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'quality.failures_read',
      resourceId,
      targetType: 'quality_run_rule',
      targetId: runRuleId,
      decision: 'allow',
      rowsReturned: items.length,
      clientIp: actor.clientIp,
      detail: { runId: Number(rr.run_id), page: page.page },
    });
    return {
      runId: Number(rr.run_id),
      kind: rr.kind,
      fieldCode: rr.field_code || null,
      fieldName: f?.name ?? null,
      total: Math.min(Number(rr.failing), MAX_FAILURES_KEPT),
      failing: Number(rr.failing),
      page: page.page,
      pageSize: page.pageSize,
      items: items.map((x) => ({
        seq: Number(x.seq),
        key: x.key_masked,
        value: f ? (current.has(Number(x.seq)) ? current.get(Number(x.seq)) : undefined) : undefined,
        stillPresent: f ? current.has(Number(x.seq)) : present.has(Number(x.seq)),
      })),
    };
  });
}

export { KIND_DEFAULTS };
