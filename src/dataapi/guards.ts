import type { AppContext } from '../context.js';
import { checkEnumeration, enumerationWindowSeconds } from '../security/anomaly.js';
import { AppError, ERRORS } from '../shared/errors.js';
import type { Caller, CallRow, ResourceMeta } from './store.js';

/*
 * Guards around a governed data call, counted in the shared counter store (Redis across nodes, in-process on one):
 *  - an app (API key) makes at most `appRatePerSecond` calls a second;
 *  - a grant answers at most its calls per day (Asia/Shanghai day) and rows per call (the latter in the SQL);
 *  - a client address that keeps presenting unknown keys is refused without a lookup for the rest of the minute;
 *  - an app whose record lookups mostly miss is guessing keys: the enumeration alert rule (src/security/alerts.ts)
 *    raises an alert and, by default, suspends it.
 * The guard before the statement costs one counter round trip (plus, every 30 s per app and resource, one
 * lookup of the grant's quota); the one after it only runs on a miss or an unknown key.
 */

const GRANT_TTL_MS = 30_000;
const MAX_CACHED_GRANTS = 50_000;

interface GrantQuota {
  grantId: number;
  /** the app the key belongs to: a quota or rate refusal's audit row names it */
  appId: number;
  callsPerDay: number;
  verificationsPerDay: number;
  expires: number;
}
const grantQuotas = new WeakMap<AppContext, Map<string, GrantQuota>>();

function quotas(ctx: AppContext): Map<string, GrantQuota> {
  let m = grantQuotas.get(ctx);
  if (!m) {
    m = new Map();
    grantQuotas.set(ctx, m);
  }
  return m;
}

const shanghaiDay = (now: number) => Math.floor((now + 8 * 3600_000) / 86400_000);

export async function admit(
  ctx: AppContext,
  keyHash: string,
  clientIp: string | null,
  meta: ResourceMeta,
  kind: 'get' | 'list' | 'verify',
): Promise<void> {
  const now = Date.now();
  const lim = ctx.config.dataApi;
  const known = await grantQuota(ctx, keyHash, meta.id, now);
  const enumWindow = await enumerationWindowSeconds(ctx);
  const entries = [
    { key: `kf:${clientIp}:${Math.floor(now / 60_000)}`, by: 0, ttlSeconds: 120 },
    { key: `ar:${keyHash}:${Math.floor(now / 1000)}`, ttlSeconds: 5 },
  ];
  if (kind === 'get' || kind === 'verify')
    entries.push({
      key: `el:${keyHash}:${enumWindow}:${Math.floor(now / 1000 / enumWindow)}`,
      ttlSeconds: enumWindow * 2,
    });
  // verification has its own daily quota (vq), record reads and pages share the calls quota (gq)
  const quotaKey = kind === 'verify' ? 'vq' : 'gq';
  const perDay = known ? (kind === 'verify' ? known.verificationsPerDay : known.callsPerDay) : 0;
  if (known) entries.push({ key: `${quotaKey}:${known.grantId}:${shanghaiDay(now)}`, ttlSeconds: 2 * 86400 });
  const counts = await ctx.counters.add(entries);
  // an address that keeps guessing keys is refused, but a key known to hold a grant still gets through
  if (counts[0] >= lim.keyFailuresPerMinute && !known)
    throw new AppError('RATE_LIMITED', [
      {
        field: 'X-Api-Key',
        reason: `more than ${lim.keyFailuresPerMinute} calls with unknown API keys from this address in a minute`,
        reasonZh: `本地址一分钟内使用无效密钥超过 ${lim.keyFailuresPerMinute} 次`,
      },
    ]);
  // refused before the governed statement: the HTTP layer audits it, naming the app when its grant is known
  if (counts[1] > lim.appRatePerSecond) {
    const e = new AppError('RATE_LIMITED', [
      {
        field: 'X-Api-Key',
        reason: `the app exceeds ${lim.appRatePerSecond} calls per second`,
        reasonZh: `应用调用频率超过每秒 ${lim.appRatePerSecond} 次`,
      },
    ]);
    throw known ? e.byApp(known.appId) : e;
  }
  if (known && counts[counts.length - 1] > perDay)
    throw new AppError('QUOTA_EXCEEDED', [
      kind === 'verify'
        ? {
            reason: `grant ${known.grantId} allows ${perDay} verifications per day`,
            reasonZh: `该授权每日最多核验 ${perDay} 次`,
          }
        : {
            reason: `grant ${known.grantId} allows ${perDay} calls per day`,
            reasonZh: `该授权每日最多调用 ${perDay} 次`,
          },
    ]).byApp(known.appId);
}

/** The quota of the grant a key would use on a resource, cached for 30 s; null when there is none (the statement refuses). */
async function grantQuota(ctx: AppContext, keyHash: string, resourceId: number, now: number) {
  const cache = quotas(ctx);
  const cacheKey = `${keyHash}|${resourceId}`;
  const hit = cache.get(cacheKey);
  if (hit && hit.expires > now) return hit;
  const g = await ctx.db
    .selectFrom('share_grant as g')
    .innerJoin('app as a', 'a.id', 'g.app_id')
    .select(['g.id', 'g.app_id', 'g.max_calls_per_day', 'g.max_verify_per_day'])
    .where((eb) =>
      eb.or([
        eb('a.key_hash', '=', keyHash),
        eb.and([eb('a.prev_key_hash', '=', keyHash), eb('a.prev_key_until', '>', new Date(now))]),
      ]),
    )
    .where('a.status', '=', 'active')
    .where('g.resource_id', '=', resourceId)
    .where('g.status', '=', 'active')
    .where('g.valid_from', '<=', new Date(now))
    .where('g.valid_until', '>', new Date(now))
    .orderBy('g.id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!g) {
    cache.delete(cacheKey);
    return null;
  }
  if (cache.size >= MAX_CACHED_GRANTS) cache.clear();
  const q = {
    grantId: g.id,
    appId: g.app_id,
    callsPerDay: g.max_calls_per_day ?? ctx.config.dataApi.grantCallsPerDay,
    verificationsPerDay: g.max_verify_per_day ?? ctx.config.dataApi.grantCallsPerDay,
    expires: now + GRANT_TTL_MS,
  };
  cache.set(cacheKey, q);
  return q;
}

/** After the statement: counts what the statement decided and raises on refusals. */
export async function settle(
  ctx: AppContext,
  caller: Caller,
  meta: ResourceMeta,
  row: CallRow,
  miss: boolean,
  filterFields: string[] = [],
): Promise<void> {
  const { keyHash, clientIp } = caller;
  const now = Date.now();
  if (row.app_id === null) {
    await ctx.counters.add([{ key: `kf:${clientIp}:${Math.floor(now / 60_000)}`, ttlSeconds: 120 }]);
    throw new AppError('API_KEY_INVALID', [
      { field: 'X-Api-Key', reason: 'no app holds this key', reasonZh: '应用密钥无效' },
    ]).alreadyAudited();
  }
  // the statement wrote the deny row of each of these
  if (row.app_status === 'suspended')
    throw new AppError('APP_SUSPENDED', [
      { field: 'X-Api-Key', reason: "this key's app is suspended", reasonZh: '该密钥所属应用已被暂停' },
    ]).alreadyAudited();
  if (row.grant_id === null)
    throw new AppError('GRANT_REQUIRED', [
      {
        field: 'resourceCode',
        reason: `no active grant on ${meta.code} for this app`,
        reasonZh: `该应用对资源 ${meta.code} 没有有效的授权`,
      },
    ]).alreadyAudited();
  if (row.refusal) throw refusalError(row.refusal, caller, row.granted ?? [], filterFields).alreadyAudited();
  if (miss) {
    const enumWindow = await enumerationWindowSeconds(ctx);
    const w = `${enumWindow}:${Math.floor(now / 1000 / enumWindow)}`;
    const [lookups, misses] = await ctx.counters.add([
      { key: `el:${keyHash}:${w}`, by: 0, ttlSeconds: enumWindow * 2 },
      { key: `em:${keyHash}:${w}`, ttlSeconds: enumWindow * 2 },
    ]);
    await checkEnumeration(ctx, row.app_id, { lookups, misses }, meta);
  }
}

/** Calls counted against a grant's quota today (Asia/Shanghai day), on every node. */
export async function grantCallsToday(ctx: AppContext, grantId: number): Promise<number> {
  const [n] = await ctx.counters.add([
    { key: `gq:${grantId}:${shanghaiDay(Date.now())}`, by: 0, ttlSeconds: 2 * 86400 },
  ]);
  return n;
}

/**
 * Each grant's calls and verifications counted against its daily quotas today (Asia/Shanghai day), in one round trip:
 * the usage bars of the grants page (GET /api/usage/grants).
 */
export async function grantsUsedToday(
  ctx: AppContext,
  grantIds: number[],
): Promise<{ grantId: number; calls: number; verifications: number }[]> {
  if (grantIds.length === 0) return [];
  const day = shanghaiDay(Date.now());
  const counts = await ctx.counters.add(
    grantIds.flatMap((id) => [
      { key: `gq:${id}:${day}`, by: 0, ttlSeconds: 2 * 86400 },
      { key: `vq:${id}:${day}`, by: 0, ttlSeconds: 2 * 86400 },
    ]),
  );
  return grantIds.map((grantId, i) => ({ grantId, calls: counts[2 * i], verifications: counts[2 * i + 1] }));
}

/** The coded error of a call the grant found does not allow (the statement audited it as a refusal). */
export function refusalError(
  refusal: string,
  caller: Caller,
  granted: string[],
  filterFields: string[] = [],
): AppError {
  switch (refusal) {
    case 'RISK_ASSESSMENT_REQUIRED':
      // DG Art 19, XT Art 31, SY Art 42, NY task 11 (the profile's security.riskAssessment)
      return new AppError('RISK_ASSESSMENT_REQUIRED', [
        {
          reason: 'the grant is not active until a risk assessment of this important/core resource passes',
          reasonZh: '该资源为重要或核心数据，风险评估通过前授权不生效',
        },
      ]);
    case 'PURPOSE_REQUIRED':
      return new AppError('PURPOSE_REQUIRED', [
        {
          field: 'X-Purpose',
          reason: "name the grant's purpose id or its text (percent-encoded) in X-Purpose",
          reasonZh: '请在 X-Purpose 中填写授权的用途编号或用途原文（百分号编码）',
        },
      ]);
    case 'PURPOSE_MISMATCH':
      return new AppError('PURPOSE_MISMATCH', [
        {
          field: 'X-Purpose',
          value: caller.purpose?.slice(0, 100),
          reason: "the purpose named is not the grant's",
          reasonZh: '所述用途与授权用途不符',
        },
      ]);
    case 'FIELD_NOT_GRANTED': {
      const outside = (caller.fields ?? []).filter((f) => !granted.includes(f));
      return new AppError(
        'FIELD_NOT_GRANTED',
        outside.slice(0, 20).map((f) => ({
          field: 'fields',
          value: f,
          reason: `field ${f} is not in the grant`,
          reasonZh: `字段 ${f} 不在授权范围内`,
        })),
      );
    }
    case 'FILTER_NOT_GRANTED': {
      const outside = filterFields.filter((f) => !granted.includes(f));
      return new AppError(
        'FIELD_NOT_GRANTED',
        outside.slice(0, 20).map((f) => ({
          field: `where.${f}`,
          value: f,
          reason: `field ${f} is not in the grant and cannot be filtered on`,
          reasonZh: `字段 ${f} 不在授权范围内，不能作为查询条件`,
        })),
      );
    }
    case 'VERIFY_NOT_GRANTED':
      return new AppError('VERIFY_NOT_GRANTED', [
        { reason: 'this grant does not include verification', reasonZh: '该授权不含核验权限' },
      ]);
    case 'EXPORT_NOT_GRANTED':
      return new AppError('EXPORT_NOT_GRANTED', [
        { reason: 'this grant does not include bulk export', reasonZh: '该授权不含批量导出权限' },
      ]);
    case 'FEED_NOT_GRANTED':
      return new AppError('FEED_NOT_GRANTED', [
        { reason: 'this grant does not include the change feed', reasonZh: '该授权不含变更订阅权限' },
      ]);
    case 'EXPORT_QUOTA_EXCEEDED':
      return new AppError('EXPORT_QUOTA_EXCEEDED', [
        {
          reason: "the export's rows exceed what is left of the grant's export rows per day",
          reasonZh: '导出行数超过该授权今日剩余的导出额度',
        },
      ]);
    case 'PRIVACY_BUDGET_EXHAUSTED':
      return new AppError('PRIVACY_BUDGET_EXHAUSTED', [
        {
          field: 'noise.epsilon',
          reason:
            "the noisy answer would spend more than what is left of the grant's privacy budget (epsilon) for today",
          reasonZh: '本次加噪统计所需的隐私预算（epsilon）超过该授权今日剩余额度',
        },
      ]);
    case 'AGGREGATE_ONLY':
      return new AppError('AGGREGATE_ONLY', [
        {
          reason: 'this grant allows aggregate queries only (POST …/aggregate); no record leaves',
          reasonZh: '该授权仅限统计查询（POST …/aggregate），不返回任何记录',
        },
      ]);
    case 'READ_NOT_GRANTED':
      return new AppError('READ_NOT_GRANTED', [
        { reason: 'this grant allows verification only', reasonZh: '该授权仅限核验' },
      ]);
    default:
      return new AppError('FORBIDDEN', [
        {
          reason: refusal,
          reasonZh: (ERRORS as Record<string, { zh: string }>)[refusal]?.zh ?? '数据调用被拒绝',
        },
      ]);
  }
}
