import { parse } from 'csv-parse/sync';
import { appendAudit } from '../audit/store.js';
import { canLoadData } from '../catalog/model.js';
import { loadVisibleResource } from '../catalog/service.js';
import * as catalogStore from '../catalog/store.js';
import type { Actor, AppContext } from '../context.js';
import { inTx } from '../db/index.js';
import { AppError, type ErrorDetail } from '../shared/errors.js';
import { decodeCsv, MAX_REPORTED_ERRORS, mapHeader, validateRows } from './model.js';
import { countRows, upsertRows } from './store.js';

export interface IngestResult {
  batchId: number;
  rowsTotal: number;
  inserted: number;
  updated: number;
  unchanged: number;
}

function parseCsv(text: string): { records: string[][]; errors: ErrorDetail[] } {
  try {
    const records = parse(text, {
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      trim: false,
    }) as string[][];
    return { records, errors: [] };
  } catch (e) {
    const err = e as { lines?: number; message: string };
    return {
      records: [],
      errors: [
        {
          row: err.lines ? err.lines - 1 : undefined,
          reason: `CSV syntax: ${err.message}`,
          reasonZh: `CSV 格式错误：${err.message}`,
        },
      ],
    };
  }
}

/**
 * The synchronous upload is parsed and validated in the request: a file over `uploadMaxBytes` (UPLOAD_MAX_BYTES) would
 * hold the event loop for seconds, so it is refused before any parsing (larger loads go through bulk import).
 */
export function checkUploadSize(ctx: AppContext, bytes: number) {
  const max = ctx.config.uploadMaxBytes;
  if (bytes > max) {
    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    throw new AppError('UPLOAD_TOO_LARGE', [
      {
        reason: `the file is ${mib(bytes)}, the synchronous upload limit is ${mib(max)}: split it into smaller files`,
        reasonZh: `文件大小 ${mib(bytes)}，超过在线上传上限 ${mib(max)}，请拆分为多个较小的文件`,
      },
    ]);
  }
}

/** An uploaded file as received: size-checked, then decoded (UTF-8 or GB18030) and ingested. */
export async function ingestCsvUpload(
  ctx: AppContext,
  actor: Actor,
  resourceId: number,
  bytes: Uint8Array,
  opts: { filename?: string | null } = {},
): Promise<IngestResult> {
  checkUploadSize(ctx, bytes.byteLength);
  return ingestCsv(ctx, actor, resourceId, decodeCsv(bytes).text, { ...opts, source: 'upload' });
}

/**
 * Validates a whole CSV batch and writes it in one transaction: either every row lands or none does.
 * A rejected batch is recorded (ingest_batch status 'rejected' + audit) but the resource's data is untouched.
 */
export async function ingestCsv(
  ctx: AppContext,
  actor: Actor,
  resourceId: number,
  text: string,
  opts: { filename?: string | null; source?: 'upload' | 'demo' | 'api' } = {},
): Promise<IngestResult> {
  checkUploadSize(ctx, Buffer.byteLength(text, 'utf8'));
  const resource = await loadVisibleResource(ctx, actor, resourceId);
  if (!canLoadData(actor, { providerOrgId: resource.provider_org_id })) {
    throw new AppError('FORBIDDEN', [
      {
        reason: 'only the providing department loads data into its resource (DG Art 15)',
        reasonZh: '仅数源部门可向本资源汇聚数据（东莞办法第十五条）',
      },
    ]);
  }
  if (resource.status === 'retired')
    throw new AppError('REVIEW_STATE_INVALID', [
      {
        reason: 'the resource is retired; no data is loaded into it',
        reasonZh: '该资源已停用，不再汇聚数据',
      },
    ]);
  const { records, errors: syntaxErrors } = parseCsv(text);
  return ingestRecords(ctx, actor, resource, records, syntaxErrors, opts);
}

export async function ingestRecords(
  ctx: AppContext,
  actor: Actor,
  resource: { id: number; code: string; data_table: string | null },
  records: string[][],
  preErrors: ErrorDetail[],
  opts: { filename?: string | null; source?: 'upload' | 'demo' | 'api' },
): Promise<IngestResult> {
  const fields = await catalogStore.getFields(ctx.db, resource.id);
  const errors: ErrorDetail[] = [...preErrors];
  let batch = {
    rows: [] as (string | null)[][],
    keys: [] as string[],
    hashes: [] as string[],
    errorCount: preErrors.length,
  };
  if (!preErrors.length) {
    if (records.length === 0)
      errors.push({
        row: 0,
        reason: 'the file is empty: a header row is required',
        reasonZh: '文件为空：首行须为表头',
      });
    else {
      const header = mapHeader(records[0], fields);
      errors.push(...header.errors);
      const body = records.slice(1);
      body.forEach((rec, i) => {
        if (rec.length !== records[0].length)
          errors.push({
            row: i + 1,
            reason: `has ${rec.length} columns, the header has ${records[0].length}`,
            reasonZh: `该行有 ${rec.length} 列，表头有 ${records[0].length} 列`,
          });
      });
      if (!errors.length) {
        const v = validateRows(body, header.map, fields);
        errors.push(...v.errors);
        batch = { ...v, errorCount: v.errorCount };
      } else batch.errorCount = errors.length;
    }
  }
  const rowsTotal = Math.max(records.length - 1, 0);
  const source = opts.source ?? 'upload';
  if (errors.length) {
    const errorCount = Math.max(batch.errorCount, errors.length);
    await inTx(ctx.db, async (trx) => {
      const { id } = await trx
        .insertInto('ingest_batch')
        .values({
          resource_id: resource.id,
          source,
          filename: opts.filename ?? null,
          status: 'rejected',
          rows_total: rowsTotal,
          rows_inserted: 0,
          rows_updated: 0,
          error_count: errorCount,
          errors: JSON.stringify(errors.slice(0, 100)),
          created_by: actor.id,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await appendAudit(trx, {
        action: 'ingest.upload',
        decision: 'deny',
        actorUserId: actor.id,
        actorOrgId: actor.orgId,
        resourceId: resource.id,
        targetType: 'ingest_batch',
        targetId: id,
        clientIp: actor.clientIp,
        detail: { rowsTotal, errorCount, filename: opts.filename ?? null },
      });
    });
    throw new AppError('CSV_INVALID', errors.slice(0, MAX_REPORTED_ERRORS), {
      zh: `数据文件校验未通过（${errorCount} 处错误），未写入任何数据`,
      en: `The data file failed validation (${errorCount} errors); nothing was written`,
    }).alreadyAudited();
  }
  return inTx(ctx.db, async (trx) => {
    const { id: batchId } = await trx
      .insertInto('ingest_batch')
      .values({
        resource_id: resource.id,
        source,
        filename: opts.filename ?? null,
        status: 'committed',
        rows_total: rowsTotal,
        rows_inserted: 0,
        rows_updated: 0,
        error_count: 0,
        errors: '[]',
        created_by: actor.id,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const table = resource.data_table!;
    const { inserted, updated } = await upsertRows(
      trx,
      table,
      fields,
      batchId,
      batch.rows,
      batch.keys,
      batch.hashes,
    );
    await trx
      .updateTable('ingest_batch')
      .set({ rows_inserted: inserted, rows_updated: updated })
      .where('id', '=', batchId)
      .execute();
    const total = await countRows(trx, table);
    await trx
      .updateTable('resource')
      .set({ row_count: total, last_ingest_at: new Date() })
      .where('id', '=', resource.id)
      .execute();
    await appendAudit(trx, {
      action: 'ingest.upload',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      resourceId: resource.id,
      targetType: 'ingest_batch',
      targetId: batchId,
      clientIp: actor.clientIp,
      detail: { rowsTotal, inserted, updated, filename: opts.filename ?? null },
    });
    return { batchId, rowsTotal, inserted, updated, unchanged: rowsTotal - inserted - updated };
  });
}

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
    rowsTotal: b.rows_total,
    inserted: b.rows_inserted,
    updated: b.rows_updated,
    errorCount: b.error_count,
    errors: b.errors,
    createdAt: b.created_at,
  }));
}
