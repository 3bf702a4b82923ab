import { FIELD_CODE } from '../catalog/model.js';
import type { AppContext } from '../context.js';
import { AppError } from '../shared/errors.js';
import { keyedHash, sha256Hex } from '../shared/secrets.js';
import { isUnsafeIdentifier } from '../shared/text.js';
import { compileFilter, compileMatch, decodeCursor, encodeCursor } from './filter.js';
import { admit, settle } from './guards.js';
import { type MaskingPolicy, maskValue, recordMasker } from './masking.js';
import { ciphertextsOf, maskingPolicy, openedPolicy } from './masking-policy.js';
import {
  buildMeta,
  type Caller,
  type CallRow,
  type GetItem,
  governedGetBatch,
  governedList,
  governedQuery,
  governedVerifyBatch,
  type ResourceMeta,
  type VerifyItem,
} from './store.js';

/**
 * Resource metadata is cached per process; every call re-checks the cached version inside its SQL,
 * so a changed resource is re-read on the next call on every node. Grants and keys are never cached:
 * revocation takes effect on the next call (GB/T 39477).
 */
const metaCache = new WeakMap<AppContext, Map<string, ResourceMeta>>();
/**
 * When each entry was read: an entry is re-read after 30 s even if the version did not change, so a conversion of the
 * resource's columns to encrypted storage (src/security/key-convert.ts, no catalog version) reaches every node's
 * lookups within 30 s, like a data-key rotation reaches its keyring.
 */
const metaReadAt = new WeakMap<ResourceMeta, number>();
const META_TTL_MS = 30_000;

/** Forgets this node's cached metadata (after a conversion to encrypted storage). */
export function forgetResourceMeta(ctx: AppContext) {
  metaCache.get(ctx)?.clear();
}

async function loadMeta(ctx: AppContext, code: string, fresh = false): Promise<ResourceMeta> {
  let cache = metaCache.get(ctx);
  if (!cache) {
    cache = new Map();
    metaCache.set(ctx, cache);
  }
  const hit = !fresh && cache.get(code);
  if (hit && Date.now() - (metaReadAt.get(hit) ?? 0) < META_TTL_MS) return hit;
  const r = await ctx.db
    .selectFrom('resource')
    .select(['id', 'code', 'version', 'data_table', 'index_key'])
    .where((eb) =>
      eb.or([
        eb('code', '=', code),
        // a code from before GB/T 21063.5 (migration 045) still names its entry
        eb(
          'id',
          '=',
          eb
            .selectFrom('resource_code_alias')
            .select('resource_id')
            .where('resource_code_alias.code', '=', code),
        ),
      ]),
    )
    .where('status', '=', 'published')
    .executeTakeFirst();
  if (!r?.data_table)
    throw new AppError('NOT_FOUND', [
      { field: 'resourceCode', reason: `resource ${code} not found`, reasonZh: `资源 ${code} 不存在` },
    ]);
  const fields = await ctx.db
    .selectFrom('resource_field')
    .select([
      'code',
      'name',
      'ordinal',
      'type',
      'personal',
      'sensitive',
      'masking',
      'is_key',
      'validator',
      'encrypted',
      'sensitive_personal',
    ])
    .where('resource_id', '=', r.id)
    .orderBy('ordinal')
    .execute();
  // the resource's index-key version: hashed lookups use it (a rotation on another node may have made it new here)
  await ctx.fieldKeys.ensureIndex(r.index_key, ctx.db);
  const meta = buildMeta({ ...r, data_table: r.data_table }, fields);
  metaReadAt.set(meta, Date.now());
  cache.set(code, meta);
  return meta;
}

/*
 * Group commit for record reads and verifications (see store.ts): per resource version and statement shape, up to
 * `dataApi.statementsInFlight` statements run at once (1 by default, always 1 on PGlite); calls arriving meanwhile queue
 * and go together in the next statement, which is sent as soon as one returns, before its answers are shaped. An idle
 * platform answers each call alone and at once; a busy one shares write transactions instead of queueing on them.
 * Measured on 2 cores shared by Node and PostgreSQL (bench/README.md): 4 in flight ≈ 6.7 calls a statement and
 * ≈ 90 µs of database CPU a call; 1 in flight ≈ 23 calls a statement and ≈ 56 µs (the bare point select: ≈ 48 µs).
 */
const MAX_BATCH = 100;

interface Waiter<I> {
  item: I;
  resolve: (row: CallRow) => void;
  reject: (err: unknown) => void;
}
interface Lane<I> {
  /** answers a batch of calls in one statement, rows in input order */
  run: (items: I[]) => Promise<CallRow[]>;
  queue: Waiter<I>[];
  inFlight: number;
  scheduled: boolean;
}
// biome-ignore lint/suspicious/noExplicitAny: one map holds lanes of every item type, each lane typed where it is made
type AnyLane = Lane<any>;
const lanes = new WeakMap<AppContext, Map<string, AnyLane>>();
const stats = new WeakMap<AppContext, { statements: number; calls: number }>();

/** How many record-read and verification statements answered how many calls (for benchmarks and tests). */
export function recordReadStats(ctx: AppContext): { statements: number; calls: number } {
  return { ...(stats.get(ctx) ?? { statements: 0, calls: 0 }) };
}

function pump<I>(ctx: AppContext, byShape: Map<string, AnyLane>, laneKey: string, lane: Lane<I>): void {
  // PGlite is one connection: one statement at a time
  const maxInFlight = ctx.database.kind === 'pglite' ? 1 : (ctx.config.dataApi.statementsInFlight ?? 1);
  while (lane.inFlight < maxInFlight && lane.queue.length > 0) {
    const batch = lane.queue.splice(0, MAX_BATCH);
    lane.inFlight++;
    const st = stats.get(ctx) ?? { statements: 0, calls: 0 };
    st.statements++;
    st.calls += batch.length;
    stats.set(ctx, st);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      lane.inFlight--;
      if (lane.queue.length > 0) pump(ctx, byShape, laneKey, lane);
      else if (lane.inFlight === 0) byShape.delete(laneKey);
    };
    lane
      .run(batch.map((w) => w.item))
      .then((rows) => {
        if (rows.length !== batch.length)
          throw new Error(`batch answered ${rows.length} of ${batch.length} calls`);
        // the next batch goes to the database before this one's answers are shaped and sent, so the database is not
        // idle while Node serialises a batch's responses
        release();
        for (const [i, w] of batch.entries()) w.resolve(rows[i]);
      })
      .catch(async (err) => {
        // One failing call must not fail the others that shared its statement: answer each alone.
        if (batch.length === 1) return batch[0].reject(err);
        await Promise.all(
          batch.map((w) =>
            lane.run([w.item]).then(
              ([row]) => (row ? w.resolve(row) : w.reject(err)),
              (e) => w.reject(e),
            ),
          ),
        );
      })
      .finally(release);
  }
}

/**
 * Queues one call on the lane of its statement (`laneKey`: resource, version and statement shape; `run` answers a batch
 * of such calls) and resolves with its own row.
 */
function grouped<I>(
  ctx: AppContext,
  laneKey: string,
  run: (items: I[]) => Promise<CallRow[]>,
  item: I,
): Promise<CallRow> {
  let byShape = lanes.get(ctx);
  if (!byShape) {
    byShape = new Map();
    lanes.set(ctx, byShape);
  }
  let lane: Lane<I> | undefined = byShape.get(laneKey);
  if (!lane) {
    lane = { run, queue: [], inFlight: 0, scheduled: false };
    byShape.set(laneKey, lane);
  }
  const target = lane;
  const shapes = byShape;
  return new Promise<CallRow>((resolve, reject) => {
    target.queue.push({ item, resolve, reject });
    if (ctx.database.kind === 'postgres') return pump(ctx, shapes, laneKey, target);
    // PGlite runs a statement synchronously inside WASM, so no request is read while one runs: wait one
    // event-loop turn so the calls read in the same I/O phase share a statement.
    if (target.scheduled) return;
    target.scheduled = true;
    setImmediate(() => {
      target.scheduled = false;
      pump(ctx, shapes, laneKey, target);
    });
  });
}

function batchedGet(ctx: AppContext, meta: ResourceMeta, item: GetItem): Promise<CallRow> {
  return grouped(
    ctx,
    `get.${meta.id}.${meta.stamp}`,
    (items: GetItem[]) => governedGetBatch(ctx.database, meta, items),
    item,
  );
}

/** Runs the governed statement with the cached resource version, re-reading the metadata once if it changed. */
export async function call(
  ctx: AppContext,
  code: string,
  caller: Caller,
  kind: 'get' | 'list' | 'verify',
  run: (m: ResourceMeta) => Promise<CallRow>,
) {
  let meta = await loadMeta(ctx, code);
  await admit(ctx, caller.keyHash, caller.clientIp, meta, kind);
  let row: CallRow;
  try {
    row = await run(meta);
  } catch (e) {
    // a column the cached metadata names is gone: another node turned a field back to clear storage (keys.decrypt,
    // src/security/key-convert.ts dropped its `c<n>_h`) less than 30 s ago; the statement wrote nothing, read again
    if ((e as { code?: unknown }).code !== '42703') throw e;
    meta = await loadMeta(ctx, code, true);
    row = await run(meta);
  }
  if (!row.current) {
    meta = await loadMeta(ctx, code, true);
    row = await run(meta);
  }
  return { meta, row };
}

/**
 * The fields a call reads, in the resource's order, masked: the one shaping of every data call and export. `clear`: the
 * grant's clear-value right (share_grant.clear_fields), the only way a protected field leaves unmasked (issue 9 point 8).
 * `granted`: the grant's fields, of which `fields` may be a subset (`fields=`): masking decides as if the call asked for
 * all of them, so asking for fewer never shows more (recordMasker).
 */
export function shape(
  meta: ResourceMeta,
  fields: string[],
  rec: Record<string, unknown>,
  policy: MaskingPolicy,
  clear: ReadonlySet<string> = NO_CLEAR,
  granted: readonly string[] | null = null,
) {
  return shaper(meta, fields, policy, clear, granted)(rec);
}

/**
 * `shape` with the shown fields and their masking decided once, for many records read with the same fields (a list
 * call, an export batch): the returned function shapes one record exactly as `shape` does.
 */
export function shaper(
  meta: ResourceMeta,
  fields: string[],
  policy: MaskingPolicy,
  clear: ReadonlySet<string> = NO_CLEAR,
  granted: readonly string[] | null = null,
): (rec: Record<string, unknown>) => Record<string, unknown> {
  const shown = meta.fields.filter((f) => fields.includes(f.code));
  const others = granted
    ? meta.fields.filter((f) => granted.includes(f.code) && !fields.includes(f.code))
    : [];
  const mask = recordMasker(shown, policy, clear, others);
  return (rec) => {
    const out: Record<string, unknown> = {};
    for (const f of shown) out[f.code] = rec[f.code];
    return mask(out);
  };
}

const NO_CLEAR: ReadonlySet<string> = new Set();

/** The clear-value right a governed statement answered with (share_grant.clear_fields). */
export const clearOf = (row: { clear?: string[] | null }): ReadonlySet<string> =>
  row.clear?.length ? new Set(row.clear) : NO_CLEAR;

/** What a data call sends besides its target: the API key, `X-Purpose`, `fields=` and the client address. */
export interface CallInput {
  apiKey: string | undefined;
  /** the raw `X-Purpose` header: the grant's purpose id (`pur_…`), or the purpose text percent-encoded as UTF-8 */
  purpose?: string | undefined;
  /** the raw `fields=` parameter: field codes separated by commas */
  fields?: string | undefined;
  clientIp: string | null;
}

const MAX_PURPOSE = 2000;
const MAX_FIELDS = 200;

/**
 * The purpose a call names (DG Art 26, XT Art 25, SY Art 29, GD Art 21). HTTP headers carry Latin-1 only, so the
 * purpose text travels percent-encoded (`encodeURIComponent`); a purpose id (`pur_` + 16 hex) is sent as is.
 * Compared trimmed and NFC-normalised with the grant's purpose.
 */
export function parsePurpose(raw: string | undefined): string | null {
  if (raw === undefined || raw.trim() === '') return null;
  let text = raw.trim();
  if (text.includes('%')) {
    try {
      text = decodeURIComponent(text);
    } catch {
      throw new AppError('VALIDATION_FAILED', [
        {
          field: 'X-Purpose',
          reason: 'the purpose is not valid percent-encoded UTF-8',
          reasonZh: '用途须为 UTF-8 百分号编码',
        },
      ]);
    }
  }
  text = text.normalize('NFC').trim();
  if (text.length > MAX_PURPOSE || isUnsafeIdentifier(text.replace(/[\n\r\t]/g, ' ')))
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'X-Purpose',
        reason: `the purpose must be at most ${MAX_PURPOSE} printable characters`,
        reasonZh: `用途最多 ${MAX_PURPOSE} 个可打印字符`,
      },
    ]);
  return text;
}

/** `fields=a,b,c`: field codes, at most 200, none twice; null when absent (all granted fields). */
export function parseFields(raw: string | undefined): string[] | null {
  if (raw === undefined) return null;
  const list = raw.split(',').map((f) => f.trim());
  const bad = list.find((f) => !FIELD_CODE.test(f));
  if (list.length > MAX_FIELDS || bad !== undefined || new Set(list).size !== list.length)
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'fields',
        value: bad === undefined ? undefined : bad.slice(0, 40),
        reason: `fields= takes up to ${MAX_FIELDS} distinct field codes separated by commas`,
        reasonZh: `fields= 为逗号分隔的字段代码，最多 ${MAX_FIELDS} 个且不重复`,
      },
    ]);
  return list;
}

export function callerOf(ctx: AppContext, input: CallInput): Caller {
  const keyHash = requireKey(input.apiKey);
  return {
    keyHash,
    clientIp: input.clientIp,
    purpose: parsePurpose(input.purpose),
    fields: parseFields(input.fields),
    purposeChecked: ctx.profile.sharing.purposeLimited !== undefined,
  };
}

function requireKey(apiKey: string | undefined): string {
  if (!apiKey)
    throw new AppError('API_KEY_INVALID', [
      { field: 'X-Api-Key', reason: 'header missing', reasonZh: '缺少请求头 X-Api-Key（应用密钥）' },
    ]);
  return sha256Hex(apiKey);
}

/**
 * A record key as the resource stores it: ID numbers and credit codes carry an upper-case check letter
 * (GB 11643, GB 32100), so `…403x` finds `…403X`. Text that cannot be a key (control characters, unpaired
 * surrogates) is refused here, before it can join a shared statement.
 */
export function normaliseKey(meta: ResourceMeta, key: string): string {
  if (key.length === 0 || isUnsafeIdentifier(key))
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'key',
        reason: 'the key contains characters no record key has',
        reasonZh: '记录主键含有非法字符',
      },
    ]);
  const v = meta.keyField?.validator;
  return v === 'idNumber' || v === 'creditCode' ? key.trim().toUpperCase() : key;
}

/**
 * The record key as the resource table stores it: its keyed hash when a key field is encrypted (docs/ENCRYPTION.md),
 * so a lookup by key never decrypts the table and `_key` never holds the clear ID number.
 */
export function storedKey(ctx: AppContext, meta: ResourceMeta, key: string): string {
  return meta.fields.some((f) => f.isKey && f.encrypted) ? ctx.fieldKeys.index(key, meta.indexVersion) : key;
}

/** The audit log keeps a keyed hash of the record key and its masked form, never the key itself. */
function auditTarget(ctx: AppContext, meta: ResourceMeta, key: string) {
  const f = meta.keyField;
  const masking =
    f && (f.personal || f.sensitive) && f.masking === 'none' ? 'partial' : (f?.masking ?? 'none');
  return { targetHash: keyedHash(ctx.secret, key), targetLabel: String(maskValue(masking, key)) };
}

export async function getRecord(ctx: AppContext, input: CallInput, code: string, key: string) {
  const caller = callerOf(ctx, input);
  let normalised = key;
  const { meta, row } = await call(ctx, code, caller, 'get', (m) => {
    normalised = normaliseKey(m, key);
    return batchedGet(ctx, m, {
      caller,
      key: storedKey(ctx, m, normalised),
      ...auditTarget(ctx, m, normalised),
    });
  });
  await settle(ctx, caller, meta, row, !row.record);
  if (!row.record)
    throw new AppError('RECORD_NOT_FOUND', [
      { field: 'key', reason: 'no record with this key', reasonZh: '没有该主键的记录' },
    ]);
  return {
    resourceCode: meta.code, // the current code, also when called by an old one (migration 045)
    key: normalised,
    record: shape(meta, row.fields!, row.record, await maskingPolicy(ctx), clearOf(row), row.granted),
    grantId: row.grant_id,
    auditId: row.audit_id,
  };
}

export async function listRecords(
  ctx: AppContext,
  input: CallInput,
  code: string,
  after: string | null,
  limit: number,
) {
  const caller = callerOf(ctx, input);
  const { meta, row } = await call(ctx, code, caller, 'list', (m) =>
    governedList(ctx.database, m, caller, after, limit, ctx.config.dataApi.grantRowsPerCall),
  );
  await settle(ctx, caller, meta, row, false);
  const records = row.records ?? [];
  const rowLimit = row.row_limit ?? limit;
  const policy = openedPolicy(ctx, await maskingPolicy(ctx), ciphertextsOf(records));
  const clear = clearOf(row);
  return {
    items: records.map(shaper(meta, row.fields!, policy, clear, row.granted)),
    next: records.length === rowLimit ? String(records[records.length - 1]._seq) : null,
    limit: rowLimit,
    grantId: row.grant_id,
    auditId: row.audit_id,
  };
}

/**
 * A filtered query over granted, unmasked fields (filter.ts), paged by an opaque cursor in `_seq` order (stable, and
 * it reveals no record key). One governed statement: grant, purpose and field checks, the page and the audit row.
 */
export async function queryRecords(
  ctx: AppContext,
  input: CallInput,
  code: string,
  body: { where?: unknown; fields?: string[]; limit?: number; cursor?: string },
) {
  const caller = callerOf(ctx, { ...input, fields: body.fields?.join(',') });
  const after = decodeCursor(body.cursor);
  const limit = body.limit ?? 100;
  let filterFields: string[] = [];
  const { meta, row } = await call(ctx, code, caller, 'list', (m) => {
    const filter = compileFilter(m, body.where, 14, (v) => ctx.fieldKeys.index(v, m.indexVersion));
    filterFields = filter.fields;
    return governedQuery(ctx.database, m, caller, filter, after, limit, ctx.config.dataApi.grantRowsPerCall);
  });
  await settle(ctx, caller, meta, row, false, filterFields);
  const records = row.records ?? [];
  const rowLimit = row.row_limit ?? limit;
  const policy = openedPolicy(ctx, await maskingPolicy(ctx), ciphertextsOf(records));
  const clear = clearOf(row);
  return {
    items: records.map(shaper(meta, row.fields!, policy, clear, row.granted)),
    cursor: records.length === rowLimit ? encodeCursor(String(records[records.length - 1]._seq)) : null,
    limit: rowLimit,
    grantId: row.grant_id,
    auditId: row.audit_id,
  };
}

/**
 * Verification (核验, DG Art 19; DB37/T 3522 class 2): does the record under `key` carry these values? Answers
 * match / no match and nothing else, under the grant's verification right and its own daily quota, audited
 * (`data.verify`, `detail.matched`); a no-match counts toward the enumeration detector like a missed lookup.
 */
export async function verifyRecord(
  ctx: AppContext,
  input: CallInput,
  code: string,
  body: { key: string; match?: Record<string, unknown> },
) {
  const match = body.match ?? {};
  const caller = callerOf(ctx, {
    ...input,
    fields: Object.keys(match).length ? Object.keys(match).join(',') : undefined,
  });
  const { meta, row } = await call(ctx, code, caller, 'verify', (m) => {
    const key = normaliseKey(m, body.key);
    const compiled = compileMatch(m, match, 12, (v) => ctx.fieldKeys.index(v, m.indexVersion));
    // calls matching the same fields share a statement (group commit, as record reads do)
    return grouped(
      ctx,
      `verify.${m.id}.${m.stamp}.${compiled.sql}`,
      (items: VerifyItem[]) => governedVerifyBatch(ctx.database, m, compiled.sql, items),
      { caller, key: storedKey(ctx, m, key), ...auditTarget(ctx, m, key), params: compiled.params },
    );
  });
  await settle(ctx, caller, meta, row, !row.matched);
  return {
    resourceCode: meta.code,
    match: row.matched === true,
    grantId: row.grant_id,
    auditId: row.audit_id,
  };
}
