import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import { canLoadData } from '../catalog/model.js';
import { loadVisibleResource } from '../catalog/service.js';
import * as catalogStore from '../catalog/store.js';
import type { Actor, AppContext, Role } from '../context.js';
import { hasRole } from '../context.js';
import { queueFeedAfterChange } from '../dataapi/feed.js';
import { inTx } from '../db/index.js';
import { joinIndexAfterWrite } from '../security/join-index.js';
import { AppError, type ErrorDetail } from '../shared/errors.js';
import { sha256Hex } from '../shared/secrets.js';
import { MAX_REPORTED_ERRORS } from './model.js';
import type { IngestFormat, RawRecord } from './parse.js';
import { type ImportOutcome, queueImport, runImport, spoolDir } from './pipeline.js';
import { countRows, recordVersions, rollbackBatchRows } from './store.js';
import { shownValue } from './validate.js';

export type ImportMode = 'upsert' | 'replace' | 'delete';
export type OnError = 'reject' | 'quarantine';

export interface IngestResult {
  batchId: number;
  rowsTotal: number;
  inserted: number;
  updated: number;
  unchanged: number;
}

export interface ImportOptions {
  format: IngestFormat;
  mode?: ImportMode;
  onError?: OnError;
  filename?: string | null;
  sheet?: string | null;
  mapping?: Record<string, string> | null;
  source?: 'upload' | 'demo' | 'api';
  appId?: number | null;
}

/**
 * A department's system sends data with its app key (DG Art 17): the app must be active and belong to the providing
 * department. It acts with the rights of a data officer of its org; the audit names the app.
 */
export async function appActor(ctx: AppContext, apiKey: string | undefined, clientIp: string) {
  if (!apiKey)
    throw new AppError('API_KEY_INVALID', [
      { field: 'X-Api-Key', reason: 'header missing', reasonZh: '缺少应用密钥' },
    ]);
  const app = await ctx.db
    .selectFrom('app as a')
    .innerJoin('org as o', 'o.id', 'a.org_id')
    .select(['a.id', 'a.org_id', 'a.created_by', 'a.name', 'o.kind'])
    .where((eb) =>
      eb.or([
        eb('a.key_hash', '=', sha256Hex(apiKey)),
        eb.and([eb('a.prev_key_hash', '=', sha256Hex(apiKey)), eb('a.prev_key_until', '>', new Date())]),
      ]),
    )
    .where('a.status', '=', 'active')
    .executeTakeFirst();
  if (!app) throw new AppError('API_KEY_INVALID');
  const actor: Actor = {
    id: app.created_by ?? 0,
    username: `app:${app.id}`,
    displayName: app.name,
    orgId: app.org_id,
    orgKind: app.kind as Actor['orgKind'],
    sectionId: null,
    roles: ['data_officer' as Role],
    clientIp,
  };
  return { actor, appId: app.id };
}

/** The provider's data officer (or its system) loads data into a published or registered, not retired resource. */
export async function authorizeLoad(ctx: AppContext, actor: Actor, resourceId: number) {
  const resource = await loadVisibleResource(ctx, actor, resourceId);
  if (!canLoadData(actor, { providerOrgId: resource.provider_org_id }))
    throw new AppError('FORBIDDEN', [
      {
        reason: 'only the providing department loads data into its resource',
        reasonZh: '仅数源部门可向本资源汇聚数据',
      },
    ]);
  if (resource.status === 'retired' || !resource.data_table)
    throw new AppError('REVIEW_STATE_INVALID', [
      {
        reason: 'the resource is retired; no data is loaded into it',
        reasonZh: '该资源已停用，不再汇聚数据',
      },
    ]);
  return resource;
}

/** A queued batch over a spooled file; the import job (or `runImport`, as the benches call it) reads it from there. */
export async function createBatch(
  ctx: AppContext,
  actor: Pick<Actor, 'id'> | null,
  resourceId: number,
  o: ImportOptions,
  spool: { path: string | null; bytes: number | null },
) {
  const { id } = await ctx.db
    .insertInto('ingest_batch')
    .values({
      resource_id: resourceId,
      source: o.source ?? 'upload',
      filename: o.filename ?? null,
      status: 'queued',
      rows_total: 0,
      rows_inserted: 0,
      rows_updated: 0,
      error_count: 0,
      errors: '[]',
      created_by: actor?.id || null,
      format: o.format,
      mode: o.mode ?? 'upsert',
      on_error: o.onError ?? 'reject',
      options: JSON.stringify({ sheet: o.sheet ?? null, mapping: o.mapping ?? null }),
      spool_path: spool.path,
      bytes_total: spool.bytes,
      app_id: o.appId ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

function newSpoolPath(ctx: AppContext) {
  return path.join(spoolDir(ctx), `${Date.now()}-${randomBytes(6).toString('hex')}.upload`);
}

/**
 * Streams a request body to the spool file (never into memory), refusing it past `maxBytes`. The file is what the
 * import (and a resumed import after a restart) reads.
 */
export async function spoolStream(ctx: AppContext, body: Readable, maxBytes: number) {
  const file = newSpoolPath(ctx);
  let bytes = 0;
  try {
    await pipeline(
      body,
      async function* (src: AsyncIterable<Buffer>) {
        for await (const chunk of src) {
          bytes += chunk.length;
          if (bytes > maxBytes)
            throw new AppError('UPLOAD_TOO_LARGE', [
              {
                field: 'body',
                reason: `the upload is larger than ${maxBytes} bytes`,
                reasonZh: `上传内容超过 ${maxBytes} 字节`,
              },
            ]);
          yield chunk;
        }
      },
      fs.createWriteStream(file),
    );
  } catch (e) {
    fs.rmSync(file, { force: true });
    throw e;
  }
  return { path: file, bytes };
}

/**
 * A streamed upload (CSV / NDJSON / XLSX): spooled, queued, and processed in the background; returns the import at
 * once. Progress: getImport.
 */
export async function startUpload(
  ctx: AppContext,
  actor: Actor,
  resourceId: number,
  body: Readable,
  o: ImportOptions,
) {
  await authorizeLoad(ctx, actor, resourceId);
  const spool = await spoolStream(ctx, body, ctx.config.ingestMaxBytes);
  const id = await createBatch(ctx, actor, resourceId, o, spool);
  await queueImport(ctx, id);
  return getImport(ctx, actor, id);
}

function rejectedError(out: ImportOutcome): AppError {
  return new AppError('CSV_INVALID', out.errors.slice(0, MAX_REPORTED_ERRORS), {
    zh: `数据校验未通过（${out.errorCount} 处错误），未写入任何数据`,
    en: `The data failed validation (${out.errorCount} errors); nothing was written`,
  }).alreadyAudited();
}

/**
 * The synchronous CSV upload (small files, the console's quick path): the same pipeline, awaited. A rejected batch
 * answers CSV_INVALID with every finding located; nothing is written.
 */
export async function ingestCsvUpload(
  ctx: AppContext,
  actor: Actor,
  resourceId: number,
  bytes: Uint8Array,
  opts: { filename?: string | null } = {},
): Promise<IngestResult> {
  checkUploadSize(ctx, bytes.byteLength);
  await authorizeLoad(ctx, actor, resourceId);
  const file = newSpoolPath(ctx);
  fs.writeFileSync(file, bytes);
  const id = await createBatch(
    ctx,
    actor,
    resourceId,
    { format: 'csv', filename: opts.filename },
    {
      path: file,
      bytes: bytes.byteLength,
    },
  );
  const out = await runImport(ctx, id);
  if (out.status !== 'committed') throw rejectedError(out);
  return resultOf(id, out);
}

function resultOf(batchId: number, out: ImportOutcome): IngestResult {
  return {
    batchId,
    rowsTotal: out.rowsRead,
    inserted: out.inserted,
    updated: out.updated,
    unchanged:
      out.rowsRead - out.inserted - out.updated - out.deleted - (out.errorCount ? out.errorCount : 0),
  };
}

export function checkUploadSize(ctx: AppContext, bytes: number) {
  const max = ctx.config.uploadMaxBytes;
  if (bytes > max) {
    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    throw new AppError('UPLOAD_TOO_LARGE', [
      {
        reason: `the file is ${mib(bytes)}, the synchronous upload limit is ${mib(max)}: use the streaming import`,
        reasonZh: `文件大小 ${mib(bytes)}，超过在线上传上限 ${mib(max)}，请使用流式导入`,
      },
    ]);
  }
}

/** The demo loader: rows already in memory (header first), loaded inside its transaction. */
export async function ingestRecords(
  ctx: AppContext,
  actor: Actor,
  resource: { id: number; code: string; data_table: string | null },
  records: string[][],
  _preErrors: ErrorDetail[],
  opts: { filename?: string | null; source?: 'upload' | 'demo' | 'api' },
): Promise<IngestResult> {
  // a small demo city may leave a derived resource without rows: nothing to import, no batch
  if (records.length <= 1) return { batchId: 0, rowsTotal: 0, inserted: 0, updated: 0, unchanged: 0 };
  const id = await createBatch(
    ctx,
    actor,
    resource.id,
    { format: 'csv', ...opts },
    { path: null, bytes: null },
  );
  const out = await runImport(
    ctx,
    id,
    undefined,
    records.map((cells, row) => ({ row, cells })),
  );
  if (out.status !== 'committed') throw rejectedError(out);
  return resultOf(id, out);
}

/**
 * A JSON batch or a realtime push (DG Art 17): records as objects keyed by field code or name, validated and merged
 * in this request. With an idempotency key, a repeated call returns the first call's result and writes nothing.
 */
export async function submitRecords(
  ctx: AppContext,
  actor: Actor,
  resourceId: number,
  body: { records: unknown[]; mode?: ImportMode; onError?: OnError },
  o: {
    format: 'json' | 'push';
    idempotencyKey?: string | null;
    appId?: number | null;
    /** row numbers the report uses (quarantine ids on resubmission); default 1..n */
    rowNumbers?: number[];
  },
) {
  await authorizeLoad(ctx, actor, resourceId);
  if (o.idempotencyKey) {
    const seen = await ctx.db
      .selectFrom('ingest_idempotency')
      .select('batch_id')
      .where('resource_id', '=', resourceId)
      .where('idem_key', '=', o.idempotencyKey)
      .executeTakeFirst();
    if (seen) return { ...(await importView(ctx, seen.batch_id)), replayed: true };
  }
  const id = await createBatch(
    ctx,
    actor,
    resourceId,
    { format: o.format, mode: body.mode, onError: body.onError, source: 'api', appId: o.appId },
    { path: null, bytes: null },
  );
  const records: RawRecord[] = body.records.map((object, i) => ({
    row: o.rowNumbers?.[i] ?? i + 1,
    object,
  }));
  const out = await runImport(ctx, id, undefined, records);
  if (out.status !== 'committed') throw rejectedError(out);
  if (o.idempotencyKey) {
    const inserted = await ctx.db
      .insertInto('ingest_idempotency')
      .values({ resource_id: resourceId, idem_key: o.idempotencyKey, batch_id: id })
      .onConflict((oc) => oc.doNothing())
      .returning('batch_id')
      .executeTakeFirst();
    // two concurrent calls with one key: the later one reports the earlier batch
    if (!inserted) {
      const first = await ctx.db
        .selectFrom('ingest_idempotency')
        .select('batch_id')
        .where('resource_id', '=', resourceId)
        .where('idem_key', '=', o.idempotencyKey)
        .executeTakeFirstOrThrow();
      return { ...(await importView(ctx, first.batch_id)), replayed: true };
    }
  }
  return { ...(await importView(ctx, id)), replayed: false };
}

/** Who may see an import: the provider's staff and the authority (platform admins too). */
function canSeeImports(actor: Actor, providerOrgId: number) {
  return actor.orgId === providerOrgId || actor.orgKind === 'authority' || hasRole(actor, 'platform_admin');
}

async function importView(ctx: AppContext, id: number) {
  const b = await ctx.db
    .selectFrom('ingest_batch as b')
    .innerJoin('resource as r', 'r.id', 'b.resource_id')
    .leftJoin('app_user as u', 'u.id', 'b.created_by')
    .select([
      'b.id',
      'b.resource_id',
      'r.name as resource_name',
      'r.provider_org_id',
      'b.format',
      'b.mode',
      'b.on_error',
      'b.source',
      'b.filename',
      'b.status',
      'b.encoding',
      'b.bytes_total',
      'b.bytes_read',
      'b.rows_read',
      'b.rows_valid',
      'b.rows_rejected',
      'b.rows_inserted',
      'b.rows_updated',
      'b.rows_deleted',
      'b.error_count',
      'b.created_at',
      'b.started_at',
      'b.progress_at',
      'b.finished_at',
      'b.rolled_back_at',
      'u.display_name as created_by_name',
    ])
    .where('b.id', '=', id)
    .executeTakeFirst();
  if (!b) throw new AppError('NOT_FOUND');
  const started = b.started_at ? new Date(b.started_at).getTime() : null;
  const upto = b.finished_at ?? b.progress_at;
  const secs = started && upto ? Math.max((new Date(upto).getTime() - started) / 1000, 0.001) : null;
  const rate = secs && b.rows_read ? Math.round(b.rows_read / secs) : null;
  const fraction =
    b.status === 'committed' || b.status === 'rejected' || b.status === 'rolled_back'
      ? 1
      : b.bytes_total
        ? Math.min(Number(b.bytes_read) / Number(b.bytes_total), 0.99)
        : null;
  const etaSeconds =
    fraction !== null && fraction > 0 && fraction < 1 && secs
      ? Math.round((secs * (1 - fraction)) / fraction)
      : null;
  return {
    id: b.id,
    resourceId: b.resource_id,
    resourceName: b.resource_name,
    providerOrgId: b.provider_org_id,
    format: b.format,
    mode: b.mode,
    onError: b.on_error,
    source: b.source,
    filename: b.filename,
    status: b.status,
    encoding: b.encoding,
    bytesTotal: b.bytes_total === null ? null : Number(b.bytes_total),
    bytesRead: Number(b.bytes_read),
    rowsRead: b.rows_read,
    rowsValid: b.rows_valid,
    rowsRejected: b.rows_rejected,
    inserted: b.rows_inserted,
    updated: b.rows_updated,
    deleted: b.rows_deleted,
    errorCount: b.error_count,
    rate,
    fraction,
    etaSeconds,
    createdBy: b.created_by_name,
    createdAt: b.created_at,
    startedAt: b.started_at,
    finishedAt: b.finished_at,
    rolledBackAt: b.rolled_back_at,
  };
}

export async function getImport(ctx: AppContext, actor: Actor, id: number) {
  const v = await importView(ctx, id);
  if (!canSeeImports(actor, v.providerOrgId)) throw new AppError('NOT_FOUND');
  return v;
}

/** The findings of an import (row, field, masked value, reason code, zh/en). */
export async function importReport(ctx: AppContext, actor: Actor, id: number) {
  const v = await getImport(ctx, actor, id);
  const b = await ctx.db
    .selectFrom('ingest_batch')
    .select(['errors'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return { import: v, errors: (b.errors as ErrorDetail[]) ?? [] };
}

export async function listImports(
  ctx: AppContext,
  actor: Actor,
  f: { resourceId?: number; status?: string; page: number; pageSize: number },
) {
  let q = ctx.db.selectFrom('ingest_batch as b').innerJoin('resource as r', 'r.id', 'b.resource_id');
  if (!(actor.orgKind === 'authority' || hasRole(actor, 'platform_admin')))
    q = q.where('r.provider_org_id', '=', actor.orgId);
  if (f.resourceId) q = q.where('b.resource_id', '=', f.resourceId);
  if (f.status) q = q.where('b.status', '=', f.status as 'committed');
  const { total } = await q.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  const ids = await q
    .select('b.id')
    .orderBy('b.id', 'desc')
    .limit(f.pageSize)
    .offset((f.page - 1) * f.pageSize)
    .execute();
  const items = [];
  for (const { id } of ids) items.push(await importView(ctx, id));
  return { total: Number(total), page: f.page, pageSize: f.pageSize, items };
}

/** Kept for the resource page: the latest imports of one resource. */
export async function listBatches(ctx: AppContext, actor: Actor, resourceId: number) {
  const resource = await loadVisibleResource(ctx, actor, resourceId);
  if (actor.orgId !== resource.provider_org_id && !actor.roles.includes('platform_admin'))
    throw new AppError('FORBIDDEN');
  const rows = await ctx.db
    .selectFrom('ingest_batch')
    .selectAll()
    .where('resource_id', '=', resourceId)
    .orderBy('id', 'desc')
    .limit(100)
    .execute();
  return rows.map((b) => ({
    id: b.id,
    source: b.source,
    filename: b.filename,
    status: b.status,
    mode: b.mode,
    format: b.format,
    rowsTotal: b.rows_total,
    inserted: b.rows_inserted,
    updated: b.rows_updated,
    deleted: b.rows_deleted,
    errorCount: b.error_count,
    errors: b.errors,
    createdAt: b.created_at,
  }));
}

/**
 * The authority rolls a whole batch back (issue 7 point 4): in one transaction, audited. Only the resource's latest
 * committed batch can be rolled back, so no later change is silently undone.
 */
export async function rollbackImport(ctx: AppContext, actor: Actor, id: number, reason: string) {
  if (!(actor.orgKind === 'authority' && hasRole(actor, 'authority_reviewer', 'platform_admin')))
    throw new AppError('FORBIDDEN', [
      { reason: 'only the data authority rolls a batch back', reasonZh: '仅政务数据主管部门可回滚批次' },
    ]);
  return inTx(ctx.db, async (trx) => {
    const b = await trx
      .selectFrom('ingest_batch')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!b) throw new AppError('NOT_FOUND');
    await trx.selectFrom('resource').select('id').where('id', '=', b.resource_id).forUpdate().execute();
    if (b.status !== 'committed')
      throw new AppError('CONFLICT', [
        {
          field: 'status',
          reason: `the batch is ${b.status}, not applied`,
          reasonZh: '该批次未生效，无需回滚',
        },
      ]);
    const later = await trx
      .selectFrom('ingest_batch')
      .select('id')
      .where('resource_id', '=', b.resource_id)
      .where('status', '=', 'committed')
      .where('id', '>', id)
      .orderBy('id')
      .executeTakeFirst();
    if (later)
      throw new AppError('CONFLICT', [
        {
          field: 'id',
          reason: `batch ${later.id} was applied after this one: roll that back first`,
          reasonZh: `本批次之后已有批次 ${later.id} 生效，请先回滚该批次`,
        },
      ]);
    const resource = await catalogStore.getResourceRow(trx, b.resource_id);
    const fields = await catalogStore.getFields(trx, b.resource_id);
    const r = await rollbackBatchRows(trx, resource!.data_table!, b.resource_id, fields, id);
    // the versions restored from record_history (which keeps no join index) get theirs (security/join-index.ts)
    await joinIndexAfterWrite(
      trx,
      ctx.fieldKeys,
      b.resource_id,
      resource!.data_table!,
      fields,
      '_key IN (SELECT rkey FROM record_history WHERE resource_id = $2 AND replaced_by_batch = $3)',
      [b.resource_id, id],
    );
    await queueFeedAfterChange(ctx, trx, b.resource_id);
    await trx
      .updateTable('ingest_batch')
      .set({ status: 'rolled_back', rolled_back_by: actor.id, rolled_back_at: new Date() })
      .where('id', '=', id)
      .execute();
    await trx
      .updateTable('resource')
      .set({ row_count: await countRows(trx, resource!.data_table!) })
      .where('id', '=', b.resource_id)
      .execute();
    await appendAudit(trx, {
      action: 'ingest.rollback',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      resourceId: b.resource_id,
      targetType: 'ingest_batch',
      targetId: id,
      clientIp: actor.clientIp,
      detail: { ...r, reason },
    });
    return { id, ...r };
  });
}

/**
 * A record's versions (issue 7 point 4): the current one and every replaced one, with the batch, who and when.
 * Values are masked by the fields' rules; the lookup is audited like any record access.
 */
export async function recordHistory(ctx: AppContext, actor: Actor, resourceId: number, key: string) {
  const resource = await loadVisibleResource(ctx, actor, resourceId);
  if (!canSeeImports(actor, resource.provider_org_id) || !resource.data_table)
    throw new AppError('FORBIDDEN');
  const fields = await catalogStore.getFields(ctx.db, resourceId);
  await ctx.fieldKeys.refresh(false, ctx.db);
  const out = await inTx(ctx.db, async (trx) => {
    // an encrypted key field: the table keys the record by its keyed hash (docs/ENCRYPTION.md), under the resource's
    // index-key version, read once the table is held in share mode: a rotation of the index key (which holds it
    // exclusively while it rewrites the hashes and switches the version) has either committed or not begun
    let stored = key;
    if (fields.some((f) => f.isKey && f.encrypted)) {
      await sql.raw(`LOCK TABLE ${resource.data_table} IN ACCESS SHARE MODE`).execute(trx);
      const w = await ctx.fieldKeys.writer(resourceId, trx);
      stored = w.index(key);
    }
    const v = await recordVersions(trx, resource.data_table!, resourceId, fields, stored);
    await appendAudit(trx, {
      action: 'ingest.history',
      decision: v.current || v.past.length ? 'allow' : 'deny',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      resourceId,
      targetType: 'record',
      targetId: null,
      clientIp: actor.clientIp,
      detail: { versions: v.past.length + (v.current ? 1 : 0) },
    });
    // the deny row must commit: the refusal is thrown once the transaction is through, not inside it
    if (!v.current && !v.past.length) return null;
    const show = (data: unknown) =>
      Object.fromEntries(
        fields.map((f, i) => {
          // decrypted here, then masked by the field's rule (shownValue), as every other reader
          const raw = ctx.fieldKeys.decrypt((data as (string | null)[])[i]) as string | null | undefined;
          return [f.code, raw === null || raw === undefined ? null : shownValue(f, raw)];
        }),
      );
    const batches = new Map<number, { by: string | null; at: Date }>();
    const who = async (batchId: number) => {
      if (!batches.has(batchId)) {
        const b = await trx
          .selectFrom('ingest_batch as b')
          .leftJoin('app_user as u', 'u.id', 'b.created_by')
          .select(['u.display_name', 'b.created_at'])
          .where('b.id', '=', batchId)
          .executeTakeFirst();
        batches.set(batchId, { by: b?.display_name ?? null, at: b?.created_at ?? new Date(0) });
      }
      return batches.get(batchId)!;
    };
    const versions = [];
    if (v.current) {
      const w = await who(v.current.batch_id);
      versions.push({
        version: v.current.version,
        current: true,
        batchId: v.current.batch_id,
        by: w.by,
        validFrom: v.current.valid_from,
        validTo: null,
        endedBy: null,
        values: show(v.current.data),
      });
    }
    for (const h of v.past) {
      const w = await who(h.batch_id);
      versions.push({
        version: h.version,
        current: false,
        batchId: h.batch_id,
        by: w.by,
        validFrom: h.valid_from,
        validTo: h.valid_to,
        endedBy: { batchId: h.replaced_by_batch, op: h.op },
        values: show(h.data),
      });
    }
    return { resourceId, fields: fields.map((f) => ({ code: f.code, name: f.name })), versions };
  });
  if (!out)
    throw new AppError('RECORD_NOT_FOUND', [
      { field: 'key', reason: 'no record with this key', reasonZh: '没有此主键的记录' },
    ]).alreadyAudited();
  return out;
}
