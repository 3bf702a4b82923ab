import type { Masking } from '../catalog/model.js';
import type { AppContext } from '../context.js';
import { AppError } from '../shared/errors.js';
import { sha256Hex } from '../shared/secrets.js';
import { maskRecord } from './masking.js';
import {
  buildMeta,
  type CallRow,
  type GetItem,
  governedGetBatch,
  governedList,
  type ResourceMeta,
} from './store.js';

/**
 * Resource metadata is cached per process; every call re-checks the cached version inside its SQL,
 * so a changed resource is re-read on the next call on every node. Grants and keys are never cached:
 * revocation takes effect on the next call (GB/T 39477).
 */
const metaCache = new WeakMap<AppContext, Map<string, ResourceMeta>>();

async function loadMeta(ctx: AppContext, code: string, fresh = false): Promise<ResourceMeta> {
  let cache = metaCache.get(ctx);
  if (!cache) {
    cache = new Map();
    metaCache.set(ctx, cache);
  }
  const hit = !fresh && cache.get(code);
  if (hit) return hit;
  const r = await ctx.db
    .selectFrom('resource')
    .select(['id', 'code', 'version', 'data_table'])
    .where('code', '=', code)
    .where('status', '=', 'published')
    .executeTakeFirst();
  if (!r?.data_table)
    throw new AppError('NOT_FOUND', [{ field: 'resourceCode', reason: `resource ${code} not found` }]);
  const fields = await ctx.db
    .selectFrom('resource_field')
    .select(['code', 'ordinal', 'personal', 'masking'])
    .where('resource_id', '=', r.id)
    .orderBy('ordinal')
    .execute();
  const meta = buildMeta({ ...r, data_table: r.data_table }, fields);
  cache.set(code, meta);
  return meta;
}

/*
 * Group commit for record reads (see store.ts): per resource version, up to MAX_IN_FLIGHT statements run at
 * once; calls arriving meanwhile queue and go together in the next statement. An idle platform answers each
 * call alone and at once; a busy one shares write transactions instead of queueing on them.
 */
const MAX_IN_FLIGHT = { postgres: 4, pglite: 1 } as const; // PGlite is one connection: one statement at a time
const MAX_BATCH = 100;

interface Waiter {
  item: GetItem;
  resolve: (row: CallRow) => void;
  reject: (err: unknown) => void;
}
interface Lane {
  meta: ResourceMeta;
  queue: Waiter[];
  inFlight: number;
  scheduled: boolean;
}
const lanes = new WeakMap<AppContext, Map<string, Lane>>();
const stats = new WeakMap<AppContext, { statements: number; calls: number }>();

/** How many record-read statements answered how many calls (for benchmarks and tests). */
export function recordReadStats(ctx: AppContext): { statements: number; calls: number } {
  return { ...(stats.get(ctx) ?? { statements: 0, calls: 0 }) };
}

function pump(ctx: AppContext, byVersion: Map<string, Lane>, laneKey: string, lane: Lane): void {
  while (lane.inFlight < MAX_IN_FLIGHT[ctx.database.kind] && lane.queue.length > 0) {
    const batch = lane.queue.splice(0, MAX_BATCH);
    lane.inFlight++;
    const st = stats.get(ctx) ?? { statements: 0, calls: 0 };
    st.statements++;
    st.calls += batch.length;
    stats.set(ctx, st);
    governedGetBatch(
      ctx.database,
      lane.meta,
      batch.map((w) => w.item),
    )
      .then((rows) => {
        if (rows.length !== batch.length)
          throw new Error(`batch answered ${rows.length} of ${batch.length} calls`);
        for (const [i, w] of batch.entries()) w.resolve(rows[i]);
      })
      .catch((err) => {
        for (const w of batch) w.reject(err);
      })
      .finally(() => {
        lane.inFlight--;
        if (lane.queue.length > 0) pump(ctx, byVersion, laneKey, lane);
        else if (lane.inFlight === 0) byVersion.delete(laneKey);
      });
  }
}

function batchedGet(ctx: AppContext, meta: ResourceMeta, item: GetItem): Promise<CallRow> {
  let byVersion = lanes.get(ctx);
  if (!byVersion) {
    byVersion = new Map();
    lanes.set(ctx, byVersion);
  }
  const laneKey = `${meta.id}.${meta.version}`;
  let lane = byVersion.get(laneKey);
  if (!lane) {
    lane = { meta, queue: [], inFlight: 0, scheduled: false };
    byVersion.set(laneKey, lane);
  }
  const target = lane;
  return new Promise<CallRow>((resolve, reject) => {
    target.queue.push({ item, resolve, reject });
    if (ctx.database.kind === 'postgres') return pump(ctx, byVersion, laneKey, target);
    // PGlite runs a statement synchronously inside WASM, so no request is read while one runs: wait one
    // event-loop turn so the calls read in the same I/O phase share a statement.
    if (target.scheduled) return;
    target.scheduled = true;
    setImmediate(() => {
      target.scheduled = false;
      pump(ctx, byVersion, laneKey, target);
    });
  });
}

async function call(ctx: AppContext, code: string, run: (m: ResourceMeta) => Promise<CallRow>) {
  let meta = await loadMeta(ctx, code);
  let row = await run(meta);
  if (!row.current) {
    meta = await loadMeta(ctx, code, true);
    row = await run(meta);
  }
  if (row.app_id === null) throw new AppError('API_KEY_INVALID');
  if (row.grant_id === null)
    throw new AppError('GRANT_REQUIRED', [
      { field: 'resourceCode', reason: `no active grant on ${code} for this app` },
    ]);
  return { meta, row };
}

function shape(meta: ResourceMeta, granted: string[], rec: Record<string, unknown>) {
  const out: Record<string, unknown> = {};
  const fields: { code: string; personal: boolean; masking: Masking }[] = [];
  for (const f of meta.fields) {
    if (granted.includes(f.code)) {
      out[f.code] = rec[f.code];
      fields.push({ code: f.code, personal: f.personal, masking: f.masking as Masking });
    }
  }
  return maskRecord(out, fields);
}

function requireKey(apiKey: string | undefined): string {
  if (!apiKey) throw new AppError('API_KEY_INVALID', [{ field: 'X-Api-Key', reason: 'header missing' }]);
  return sha256Hex(apiKey);
}

export async function getRecord(
  ctx: AppContext,
  apiKey: string | undefined,
  code: string,
  key: string,
  clientIp: string | null,
) {
  const keyHash = requireKey(apiKey);
  const { meta, row } = await call(ctx, code, (m) => batchedGet(ctx, m, { keyHash, key, clientIp }));
  if (!row.record)
    throw new AppError('RECORD_NOT_FOUND', [{ field: 'key', reason: `no record with key ${key}` }]);
  return {
    resourceCode: code,
    key,
    record: shape(meta, row.fields!, row.record),
    grantId: row.grant_id,
    auditId: row.audit_id,
  };
}

export async function listRecords(
  ctx: AppContext,
  apiKey: string | undefined,
  code: string,
  after: string | null,
  limit: number,
  clientIp: string | null,
) {
  const keyHash = requireKey(apiKey);
  const { meta, row } = await call(ctx, code, (m) =>
    governedList(ctx.database, m, keyHash, after, limit, clientIp),
  );
  const records = row.records ?? [];
  return {
    items: records.map((r) => shape(meta, row.fields!, r)),
    next: records.length === limit ? String(records[records.length - 1]._seq) : null,
    grantId: row.grant_id,
    auditId: row.audit_id,
  };
}
