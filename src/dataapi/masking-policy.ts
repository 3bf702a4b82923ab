import { appendAudit } from '../audit/store.js';
import { type Actor, type AppContext, hasRole } from '../context.js';
import { AppError, type ErrorDetail } from '../shared/errors.js';
import { KEEP_ENDS_LIMITS, keepEndsAllowed } from './mask-class.js';
import {
  applyRule,
  DEFAULT_CLASS_RULES,
  FIELD_CLASSES,
  type FieldClass,
  type MaskingPolicy,
  type MaskRule,
} from './masking.js';

/*
 * The authority's masking strategy per field class (issue 9 point 8), stored in masking_class_rule (migration 017) over
 * the code defaults, audited (`masking.classRule`). Every node re-reads it within 30 s; the node that changes it at once.
 */

const TTL_MS = 30_000;
const cache = new WeakMap<AppContext, { policy: MaskingPolicy; expires: number }>();

/** The masking policy in force: the stored class rules over the defaults, and the platform secret for `hash`. */
export async function maskingPolicy(ctx: AppContext): Promise<MaskingPolicy> {
  const hit = cache.get(ctx);
  const now = Date.now();
  // the keyring reloads every 30 s (a key rotated on another node), when the policy is asked for
  await ctx.fieldKeys.refresh(false, ctx.db);
  if (hit && hit.expires > now) return hit.policy;
  const rows = await ctx.db
    .selectFrom('masking_class_rule')
    .select(['field_class', 'strategy', 'params'])
    .execute();
  const rules = { ...DEFAULT_CLASS_RULES };
  for (const r of rows) {
    if (!(FIELD_CLASSES as readonly string[]).includes(r.field_class)) continue;
    const rule = { ...(r.params as object), strategy: r.strategy } as MaskRule;
    if (validateRule(r.field_class as FieldClass, rule).length === 0)
      rules[r.field_class as FieldClass] = rule;
  }
  const keys = ctx.fieldKeys;
  const policy: MaskingPolicy = { rules, secret: ctx.secret, decrypt: (v) => keys.decrypt(v) };
  cache.set(ctx, { policy, expires: now + TTL_MS });
  return policy;
}

/** The stored ciphertexts among records' values (every field: a field being converted holds both forms a while). */
export function ciphertextsOf(records: Iterable<Record<string, unknown> | null | undefined>): string[] {
  const out: string[] = [];
  for (const r of records) {
    if (!r) continue;
    for (const k in r) {
      const v = r[k];
      if (typeof v === 'string' && v.startsWith('ENC1.')) out.push(v);
    }
  }
  return out;
}

/**
 * The policy for masking a page or batch: its decryption answered from `values` already opened together (`opened`:
 * by an export's worker thread, else here by the keyring's `openAll`, one SM4 call per key instead of one per value).
 * A value not opened there (tampered, its key not loaded on this node) goes to the keyring's `decrypt` as always,
 * which raises and audits it.
 */
export function openedPolicy(
  ctx: AppContext,
  policy: MaskingPolicy,
  values: string[],
  opened: (string | null)[] = ctx.fieldKeys.openAll(values),
): MaskingPolicy {
  const decrypt = policy.decrypt;
  if (!decrypt || values.length === 0) return policy;
  const clearText = new Map<string, string>();
  for (let i = 0; i < values.length; i++) {
    const t = opened[i];
    if (t !== null) clearText.set(values[i], t);
  }
  return { ...policy, decrypt: (v) => (typeof v === 'string' ? clearText.get(v) : undefined) ?? decrypt(v) };
}

const int = (v: unknown, min: number, max: number) =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/**
 * What the authority may set. A rule never shows a whole value in clear except `keep` for gender (the masked ID number's
 * last four already carry it); `keepEnds` keeps at most its class's limit at each end (mask-class.ts KEEP_ENDS_LIMITS: 6,
 * a credit code 8 at the start and 2 at the end), or a quarter of the value at each end where the class allows it; a
 * hash is 8–64 hex characters; date generalisation applies to dates only. Every default rule passes.
 */
export function validateRule(c: FieldClass, rule: MaskRule): ErrorDetail[] {
  const bad = (field: string, reason: string, reasonZh: string): ErrorDetail[] => [
    { field, reason, reasonZh },
  ];
  switch (rule.strategy) {
    case 'keep':
      return c === 'gender'
        ? []
        : bad('strategy', 'only gender may be kept in clear', '仅性别可不脱敏，其他类别须选择脱敏方式');
    case 'keepEnds': {
      if (!keepEndsAllowed(c, rule.first, rule.last)) {
        const lim = KEEP_ENDS_LIMITS[c];
        const quarter = lim.quarter ? ', or a quarter of the value at each end (both -1)' : '';
        const quarterZh = lim.quarter ? '，或按长度首尾各保留四分之一（均为 -1）' : '';
        return bad(
          'first',
          `keep 0–${lim.first} characters at the start and 0–${lim.last} at the end${quarter}`,
          `开头保留 0–${lim.first} 个字符、末尾保留 0–${lim.last} 个字符${quarterZh}`,
        );
      }
      if (rule.fill !== undefined && !int(rule.fill, 1, 20))
        return bad('fill', 'a fixed fill is 1–20 stars', '固定遮盖长度为 1–20 个星号');
      return [];
    }
    case 'replace':
      return typeof rule.with === 'string' && rule.with.length <= 20 && !/[\p{Cc}]/u.test(rule.with)
        ? []
        : bad('with', 'the replacement is at most 20 printable characters', '替换文本最多 20 个可打印字符');
    case 'hash':
      return int(rule.length, 8, 64)
        ? []
        : bad('length', 'a hash keeps 8–64 hex characters', '哈希保留 8–64 位');
    case 'generaliseDate':
      if (c !== 'personalDate')
        return bad('strategy', 'date generalisation applies to dates only', '日期泛化仅适用于日期类别');
      return rule.to === 'year' || rule.to === 'month'
        ? []
        : bad('to', 'generalise to year or month', '日期泛化到年或月');
    case 'suppress':
      return [];
    default:
      return bad('strategy', 'unknown strategy', '未知的脱敏方式');
  }
}

const canSetMasking = (actor: Actor) => hasRole(actor, 'platform_admin', 'authority_reviewer');

function paramsOf(rule: MaskRule): Record<string, unknown> {
  const { strategy: _s, ...params } = rule as MaskRule & Record<string, unknown>;
  return params;
}

/** Every class: its rule in force, the default and whether the authority changed it. */
export async function listClassRules(ctx: AppContext) {
  const rows = await ctx.db.selectFrom('masking_class_rule').selectAll().execute();
  const policy = await maskingPolicy(ctx);
  return FIELD_CLASSES.map((c) => {
    const row = rows.find((r) => r.field_class === c);
    return {
      fieldClass: c,
      rule: policy.rules[c],
      default: DEFAULT_CLASS_RULES[c],
      custom: row !== undefined,
      updatedAt: row?.updated_at ?? null,
    };
  });
}

/** The authority sets a class's rule (or resets it to the default with null); audited with before and after. */
export async function setClassRule(ctx: AppContext, actor: Actor, c: FieldClass, rule: MaskRule | null) {
  if (!canSetMasking(actor))
    throw new AppError('FORBIDDEN', [
      { reason: 'the authority sets masking rules', reasonZh: '脱敏规则由数据主管部门设置' },
    ]);
  if (rule) {
    const problems = validateRule(c, rule);
    if (problems.length) throw new AppError('VALIDATION_FAILED', problems);
  }
  const before = (await maskingPolicy(ctx)).rules[c];
  await ctx.db.transaction().execute(async (trx) => {
    if (rule === null) await trx.deleteFrom('masking_class_rule').where('field_class', '=', c).execute();
    else
      await trx
        .insertInto('masking_class_rule')
        .values({
          field_class: c,
          strategy: rule.strategy,
          params: JSON.stringify(paramsOf(rule)),
          updated_by: actor.id,
        })
        .onConflict((oc) =>
          oc.column('field_class').doUpdateSet({
            strategy: rule.strategy,
            params: JSON.stringify(paramsOf(rule)),
            updated_by: actor.id,
            updated_at: new Date(),
          }),
        )
        .execute();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      action: 'masking.classRule',
      decision: 'allow',
      targetType: 'masking_class',
      targetId: c,
      clientIp: actor.clientIp,
      detail: { before, after: rule ?? DEFAULT_CLASS_RULES[c], reset: rule === null },
    });
  });
  cache.delete(ctx);
  return (await listClassRules(ctx)).find((r) => r.fieldClass === c)!;
}

/** Masks sample values with a class's rule in force, or with a proposed rule (nothing stored, nothing audited). */
export async function previewMask(
  ctx: AppContext,
  input: { fieldClass: FieldClass; rule?: MaskRule; values: string[] },
) {
  const rule = input.rule ?? (await maskingPolicy(ctx)).rules[input.fieldClass];
  if (input.rule) {
    const problems = validateRule(input.fieldClass, input.rule);
    if (problems.length) throw new AppError('VALIDATION_FAILED', problems);
  }
  return {
    fieldClass: input.fieldClass,
    rule,
    items: input.values.map((v) => ({
      value: v,
      masked: applyRule(rule, v, ctx.secret, input.fieldClass) as string | null,
    })),
  };
}
