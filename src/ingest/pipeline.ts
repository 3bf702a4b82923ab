import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import type { StoredField } from '../catalog/store.js';
import * as catalogStore from '../catalog/store.js';
import type { AppContext } from '../context.js';
import { queueFeedAfterChange } from '../dataapi/feed.js';
import { inTx } from '../db/index.js';
import { queueCheckAfterImport } from '../quality/checks.js';
import { isCiphertext } from '../security/field-cipher.js';
import { indexText } from '../security/index-text.js';
import { joinIndexAfterWrite } from '../security/join-index.js';
import { AppError, type ErrorDetail } from '../shared/errors.js';
import { MAX_REPORTED_ERRORS, mapHeader } from './model.js';
import {
  csvRecordBatches,
  detectEncoding,
  ndjsonRecords,
  type RawRecord,
  readHead,
  SourceError,
  xlsxRecords,
} from './parse.js';
import {
  countRows,
  dropStagedRows,
  mergeBatch,
  moveDuplicatesToQuarantine,
  type StagedRow,
  StagingChunk,
  stagedDuplicates,
  stageRows,
} from './store.js';
import { objectCells, validateRecord } from './validate.js';

/*
 * One import = one ingest_batch row whose state lives in the database: queued → running → committed | rejected |
 * failed (→ rolled_back). runImport is restart-safe on its own: it first clears whatever an earlier attempt staged,
 * reads the spooled upload again, stages the valid rows, and applies them in ONE transaction (history, merge,
 * counts, audit, batch status). A crash before that commit leaves the resource table untouched; after it, the batch
 * is committed and a re-run returns at once.
 */

export interface Progress {
  /** reading = parsing, validating, staging; merging = the merge transaction starts; committing = inside the merge transaction, before its commit */
  phase: 'reading' | 'merging' | 'committing';
  rowsRead: number;
  rowsValid: number;
  rowsRejected: number;
  bytesRead: number;
}

/** Where uploads are spooled before processing: next to the PGlite data, or the system temp dir for memory://. */
/**
 * Encrypts a validated row's sensitive-personal values before it is staged (so neither ingest_staging, the resource
 * table nor record_history ever holds them in clear) and appends their lookup indexes; the record key becomes its keyed
 * hash when a key field is encrypted, and the content hash is keyed (an unkeyed hash of a short row could be guessed).
 * Null when the resource has no encrypted field.
 */
export async function stagedSealer(
  ctx: AppContext,
  resourceId: number,
  fields: ReadonlyArray<Pick<StoredField, 'encrypted' | 'isKey' | 'type' | 'validator'>>,
): Promise<((r: StagedRow) => StagedRow) | null> {
  const enc = fields.flatMap((f, i) => (f.encrypted ? [i] : []));
  if (!enc.length) return null;
  const w = await ctx.fieldKeys.writer(resourceId, ctx.db);
  const keyHashed = fields.some((f) => f.isKey && f.encrypted);
  return (r) => {
    const values = r.values.slice();
    for (const i of enc) {
      const v = r.values[i];
      values[i] = v === null ? null : w.encrypt(v);
      // the lookup index of the value's canonical text (index-text.ts), whatever spelling ingest kept
      values.push(v === null ? null : w.index(indexText(fields[i], v)));
    }
    return { row: r.row, key: keyHashed ? w.index(r.key) : r.key, hash: w.index(r.hash), values };
  };
}

/** A quarantined row as `ingest_quarantine.vals` keeps it: values by field code, or the raw cells of a ragged row. */
export type QuarantineVals = Record<string, unknown>;

/**
 * Quarantined rows are encrypted like the table (docs/ENCRYPTION.md): each sensitive-personal field's value, and the
 * raw record of a ragged or malformed row whole (its cells cannot be told apart by field), under the resource's active
 * data key. Null when the resource has no encrypted field. `openQuarantined` is the way back.
 */
export async function quarantineSealer(
  ctx: AppContext,
  resourceId: number,
  fields: ReadonlyArray<Pick<StoredField, 'encrypted' | 'code'>>,
): Promise<((vals: QuarantineVals) => QuarantineVals) | null> {
  const enc = fields.filter((f) => f.encrypted);
  if (!enc.length) return null;
  const w = await ctx.fieldKeys.writer(resourceId, ctx.db);
  return (vals) => {
    const out = { ...vals };
    for (const f of enc) {
      const v = out[f.code];
      if (typeof v === 'string' && v !== '') out[f.code] = w.encrypt(v);
    }
    if (out._cells !== undefined) out._cells = w.encrypt(JSON.stringify(out._cells));
    if (out._raw !== undefined) out._raw = w.encrypt(String(out._raw));
    return out;
  };
}

/** A quarantined row's values in clear (its encrypted fields and raw record decrypted with the keyring). */
export async function openQuarantined(
  ctx: AppContext,
  fields: ReadonlyArray<Pick<StoredField, 'encrypted' | 'code'>>,
  vals: QuarantineVals | null,
): Promise<QuarantineVals> {
  const out = { ...(vals ?? {}) };
  if (!fields.some((f) => f.encrypted)) return out;
  await ctx.fieldKeys.refresh(false, ctx.db);
  for (const f of fields) if (f.encrypted) out[f.code] = ctx.fieldKeys.decrypt(out[f.code]);
  if (isCiphertext(out._raw)) out._raw = ctx.fieldKeys.decrypt(out._raw);
  if (isCiphertext(out._cells)) out._cells = JSON.parse(String(ctx.fieldKeys.decrypt(out._cells)));
  return out;
}

export function spoolDir(ctx: AppContext): string {
  const base = ctx.config.dataDir.startsWith('memory://')
    ? path.join(os.tmpdir(), 'govshare-ingest')
    : path.join(ctx.config.dataDir, 'ingest-spool');
  fs.mkdirSync(base, { recursive: true });
  return base;
}

/** Rows per staging COPY (one chunk staged while the next is parsed: memory holds two at most). */
const STAGE_CHUNK = 10_000;
/** A running import whose progress stopped this long ago is taken to be dead (it writes progress every 0.5 s). */
export const STALE_AFTER_SECONDS = 120;

/** Another run holds the import (its progress is fresh): the job retries later. */
export class ImportBusyError extends Error {
  constructor(readonly batchId: number) {
    super(`import ${batchId} is being processed by another run`);
  }
}
const PROGRESS_EVERY_MS = 500;

type Batch = NonNullable<Awaited<ReturnType<typeof loadBatch>>>;
async function loadBatch(ctx: AppContext, id: number) {
  return ctx.db.selectFrom('ingest_batch').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface ImportOutcome {
  status: 'committed' | 'rejected' | 'failed';
  errors: ErrorDetail[];
  errorCount: number;
  inserted: number;
  updated: number;
  deleted: number;
  rowsRead: number;
}

/**
 * Bytes per CSV read, so records per parsed batch (≈ 500 population rows). A batch's records are alive while it is
 * validated and staged, and whatever is alive at a young-generation GC is promoted to the old generation: with 256 KiB
 * reads (≈ 2 000 rows, ≈ 1 MB live) every scavenge promoted ≈ 1 MB of soon-dead records, the old generation filled with
 * them, and the process's RSS rose with the file until V8's first full GCs (≈ 700 bytes promoted per row).
 */
const CSV_READ_BYTES = 64 * 1024;

function recordsOf(batch: Batch, onBytes: (n: number) => void, onSheets: (s: string[]) => void) {
  const file = batch.spool_path;
  if (!file || !fs.existsSync(file))
    throw new SourceError({
      row: 0,
      code: 'EMPTY_FILE',
      reason: 'the uploaded file is no longer available; upload it again',
      reasonZh: '上传的文件已不可用，请重新上传',
    });
  const options = (batch.options ?? {}) as { sheet?: string | null };
  switch (batch.format) {
    case 'xlsx':
      return { encoding: 'xlsx', records: xlsxRecords(file, options.sheet ?? null, onSheets) };
    case 'csv': {
      const encoding = detectEncoding(readHead(file));
      return {
        encoding,
        records: csvRecordBatches(
          fs.createReadStream(file, { highWaterMark: CSV_READ_BYTES }),
          encoding,
          onBytes,
        ),
      };
    }
    default:
      return {
        encoding: 'utf-8',
        records: ndjsonRecords(fs.createReadStream(file, { highWaterMark: 256 * 1024 }), onBytes),
      };
  }
}

/**
 * Runs (or re-runs) one import to its end. `records` replaces the spooled file for in-memory batches (JSON batch,
 * realtime push, demo loader); `onProgress` is called with the counters as they are written to the batch row.
 */
export async function runImport(
  ctx: AppContext,
  batchId: number,
  onProgress?: (p: Progress) => void | Promise<void>,
  records?: AsyncIterable<RawRecord> | Iterable<RawRecord>,
  opts: { staleAfterSeconds?: number } = {},
): Promise<ImportOutcome> {
  const stale = opts.staleAfterSeconds ?? STALE_AFTER_SECONDS;
  const first = await loadBatch(ctx, batchId);
  if (!first) throw new Error(`import ${batchId} does not exist`);
  if (first.status !== 'queued' && first.status !== 'running') return outcomeOf(first);
  // Claim the batch: one run at a time, whatever runs it (a job on any node, a resumed start-up, a test). A running
  // import writes progress every half second; one whose progress stopped longer than `stale` ago is taken over.
  // A new attempt starts clean: what an interrupted one staged or quarantined is discarded.
  const claimed = await inTx(ctx.db, async (trx) => {
    const c = await trx
      .updateTable('ingest_batch')
      .set((eb) => ({
        status: 'running',
        attempts: eb('attempts', '+', 1),
        started_at: new Date(),
        progress_at: new Date(),
        rows_read: 0,
        rows_valid: 0,
        rows_rejected: 0,
        bytes_read: 0,
      }))
      .where('id', '=', batchId)
      .where((eb) =>
        eb.or([
          eb('status', '=', 'queued'),
          eb.and([
            eb('status', '=', 'running'),
            eb.or([
              eb('progress_at', 'is', null),
              eb('progress_at', '<=', new Date(Date.now() - stale * 1000)),
            ]),
          ]),
        ]),
      )
      .returning('id')
      .executeTakeFirst();
    if (!c) return false;
    // A killed attempt's last COPY chunk may still be ending on its server session (seen in CI: it committed after the
    // discard and the merge met its rows twice). SHARE ROW EXCLUSIVE waits for every transaction writing the staging
    // area to end, and admits one claimer at a time, so nothing of an earlier attempt lands after this discard.
    await sql`LOCK TABLE ingest_staging IN SHARE ROW EXCLUSIVE MODE`.execute(trx);
    await dropStagedRows(trx, batchId, 'all');
    await trx.deleteFrom('ingest_quarantine').where('batch_id', '=', batchId).execute();
    return true;
  });
  if (!claimed) {
    const now = await loadBatch(ctx, batchId);
    if (now && now.status !== 'queued' && now.status !== 'running') return outcomeOf(now);
    throw new ImportBusyError(batchId);
  }
  const batch = (await loadBatch(ctx, batchId))!;
  const resource = await catalogStore.getResourceRow(ctx.db, batch.resource_id);
  const fields = await catalogStore.getFields(ctx.db, batch.resource_id);
  // sensitive-personal columns are encrypted before anything is staged (docs/ENCRYPTION.md)
  const seal = await stagedSealer(ctx, batch.resource_id, fields);
  const sealQuarantined =
    batch.on_error === 'quarantine' ? await quarantineSealer(ctx, batch.resource_id, fields) : null;
  const options = (batch.options ?? {}) as { mapping?: Record<string, string> | null };
  const keysOnly = batch.mode === 'delete';
  const quarantine = batch.on_error === 'quarantine';
  const errors: ErrorDetail[] = [];
  let errorCount = 0;
  let fatal = false;
  const p: Progress = { phase: 'reading', rowsRead: 0, rowsValid: 0, rowsRejected: 0, bytesRead: 0 };
  const report = (e: ErrorDetail) => {
    errorCount++;
    if (errors.length < MAX_REPORTED_ERRORS) errors.push(e);
  };
  let staged = new StagingChunk(batchId, ctx.db);
  let quarantined: { row: number; vals: unknown; errors: ErrorDetail[] }[] = [];
  let lastProgress = 0;
  // One staging insert in flight while the next chunk is parsed and validated (JS and the database work at once);
  // the next flush, and the end of reading, wait for it, so at most two chunks are held and order of writes is kept.
  let inFlight: Promise<void> | null = null;
  const flush = async (force: boolean) => {
    // progress is written at least every half second and after each staged chunk
    let chunkSent = false;
    if (staged.length >= STAGE_CHUNK || (force && staged.length)) {
      chunkSent = true;
      if (inFlight) await inFlight;
      inFlight = stageRows(ctx.database, ctx.db, staged);
      // a failure surfaces at the next await of inFlight; this only keeps it from being reported as unhandled
      inFlight.catch(() => {});
      staged = new StagingChunk(batchId, ctx.db);
    }
    if (force && inFlight) {
      const last = inFlight;
      inFlight = null;
      await last;
    }
    if (quarantined.length >= STAGE_CHUNK || (force && quarantined.length)) {
      await ctx.db
        .insertInto('ingest_quarantine')
        .values(
          quarantined.map((q) => ({
            batch_id: batchId,
            resource_id: batch.resource_id,
            row_no: q.row,
            vals: JSON.stringify(q.vals),
            errors: JSON.stringify(q.errors),
          })),
        )
        .execute();
      quarantined = [];
    }
    const now = Date.now();
    if (force || chunkSent || now - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = now;
      await ctx.db
        .updateTable('ingest_batch')
        .set({
          rows_read: p.rowsRead,
          rows_valid: p.rowsValid,
          rows_rejected: p.rowsRejected,
          bytes_read: p.bytesRead,
          progress_at: new Date(),
        })
        .where('id', '=', batchId)
        .execute();
      await onProgress?.({ ...p });
    }
  };

  let encoding: string | null = null;
  try {
    let source: AsyncIterable<RawRecord | RawRecord[]> | Iterable<RawRecord>;
    if (records) source = records;
    else {
      const opened = recordsOf(
        batch,
        (n) => {
          p.bytesRead += n;
        },
        () => {},
      );
      encoding = opened.encoding;
      source = opened.records;
    }
    let map: number[] | null = null;
    let width = 0;
    let sawHeader = false;
    // readers yield one record or (CSV) a batch of them: no await per row
    reading: for await (const item of source as AsyncIterable<RawRecord | RawRecord[]>) {
      for (const rec of Array.isArray(item) ? item : [item]) {
        let cells: (string | null)[];
        if ('cells' in rec && rec.row === 0) {
          // CSV / XLSX header: by field code or name, or through the officer's explicit mapping
          sawHeader = true;
          const header = rec.cells.map((h) => options.mapping?.[h.trim()] ?? h);
          const m = mapHeader(header, fields, keysOnly);
          if (m.errors.length) {
            for (const e of m.errors) report(e);
            fatal = true;
            break reading;
          }
          map = m.map;
          width = rec.cells.length;
          continue;
        }
        p.rowsRead++;
        let rowErrors: ErrorDetail[] | null = null;
        let raw: unknown;
        if ('cells' in rec) {
          raw = rec.cells;
          if (rec.cells.length !== width) {
            rowErrors = [
              {
                row: rec.row,
                code: 'RAGGED_ROW',
                reason: `has ${rec.cells.length} columns, the header has ${width}`,
                reasonZh: `该行有 ${rec.cells.length} 列，表头有 ${width} 列`,
              },
            ];
            cells = [];
          } else cells = map!.map((c) => (c >= 0 ? (rec.cells[c] ?? '') : null));
        } else {
          raw = rec.object;
          const o = objectCells(rec.object, fields, rec.row);
          if ('errors' in o) {
            rowErrors = o.errors;
            cells = [];
          } else cells = o.cells;
        }
        if (!rowErrors) {
          const v = validateRecord(cells, fields, rec.row, keysOnly);
          if (v.ok) {
            p.rowsValid++;
            staged.push(
              seal
                ? seal({ row: rec.row, key: v.key, hash: v.hash, values: v.values })
                : {
                    row: rec.row,
                    key: v.key,
                    hash: v.hash,
                    values: v.values,
                  },
            );
          } else rowErrors = v.errors;
        }
        if (rowErrors) {
          p.rowsRejected++;
          for (const e of rowErrors) report(e);
          if (quarantine)
            quarantined.push({
              row: rec.row,
              vals: (sealQuarantined ?? ((v: QuarantineVals) => v))(quarantineValues(raw, cells, fields)),
              errors: rowErrors,
            });
        }
        if (staged.length >= STAGE_CHUNK || quarantined.length >= STAGE_CHUNK || p.rowsRead % 1000 === 0)
          await flush(false);
      }
    }
    if (!fatal && p.rowsRead === 0) {
      report({
        row: 0,
        code: 'EMPTY_FILE',
        reason:
          sawHeader || records ? 'the file has no data rows' : 'the file is empty: a header row is required',
        reasonZh: sawHeader || records ? '文件没有数据行' : '文件为空：首行须为表头',
      });
      fatal = true;
    }
  } catch (e) {
    if (!(e instanceof SourceError)) throw e;
    report(e.detail);
    fatal = true;
  }
  await flush(true);

  // duplicate keys inside the batch, found set-based in the staging area (no key set held in memory)
  if (!fatal) {
    const keyField = fields.find((f) => f.isKey)?.code ?? fields[0].code;
    const dups = await stagedDuplicates(ctx.db, batchId, MAX_REPORTED_ERRORS);
    if (dups.length) {
      const n = dups[0].n;
      for (const d of dups)
        if (errors.length < MAX_REPORTED_ERRORS)
          errors.push({
            row: d.row_no,
            field: keyField,
            code: 'DUPLICATE_KEY',
            reason: `duplicate key, same as row ${d.first_row}`,
            reasonZh: `主键重复，与第 ${d.first_row} 行相同`,
          });
      errorCount += n;
      p.rowsRejected += n;
      p.rowsValid -= n;
      if (quarantine) await moveDuplicatesToQuarantine(ctx.db, batchId, batch.resource_id, keyField);
    }
  }
  errors.sort((a, b) => (a.row ?? 0) - (b.row ?? 0));

  const reject = fatal || (errorCount > 0 && !quarantine);
  if (reject) return finishRejected(ctx, batch, p, errors, errorCount, encoding);
  await onProgress?.({ ...p, phase: 'merging' });
  return finishCommitted(
    ctx,
    batch,
    resource!.data_table!,
    fields,
    p,
    errors,
    errorCount,
    encoding,
    onProgress,
  );
}

function quarantineValues(raw: unknown, cells: (string | null)[], fields: StoredField[]) {
  // kept by field code for the correction form; a ragged or malformed record keeps what it had
  if (cells.length === fields.length)
    return Object.fromEntries(fields.map((f, i) => [f.code, cells[i] ?? '']));
  if (Array.isArray(raw)) return { _cells: raw.map((c) => String(c).slice(0, 10_000)) };
  return { _raw: JSON.stringify(raw ?? null).slice(0, 10_000) };
}

async function finishRejected(
  ctx: AppContext,
  batch: Batch,
  p: Progress,
  errors: ErrorDetail[],
  errorCount: number,
  encoding: string | null,
): Promise<ImportOutcome> {
  await inTx(ctx.db, async (trx) => {
    // a rejected batch writes nothing: its staged and quarantined rows go too
    await dropStagedRows(trx, batch.id, 'all');
    await trx.deleteFrom('ingest_quarantine').where('batch_id', '=', batch.id).execute();
    await trx
      .updateTable('ingest_batch')
      .set({
        status: 'rejected',
        rows_total: p.rowsRead,
        rows_read: p.rowsRead,
        rows_valid: p.rowsValid,
        rows_rejected: p.rowsRejected,
        bytes_read: p.bytesRead,
        error_count: errorCount,
        errors: JSON.stringify(errors),
        encoding,
        finished_at: new Date(),
        progress_at: new Date(),
      })
      .where('id', '=', batch.id)
      .execute();
    await appendAudit(trx, {
      action: 'ingest.upload',
      decision: 'deny',
      actorUserId: batch.created_by,
      actorOrgId: null,
      resourceId: batch.resource_id,
      targetType: 'ingest_batch',
      targetId: batch.id,
      clientIp: null,
      detail: {
        rowsTotal: p.rowsRead,
        errorCount,
        filename: batch.filename,
        format: batch.format,
        mode: batch.mode,
      },
    });
  });
  removeSpool(batch);
  return {
    status: 'rejected',
    errors,
    errorCount,
    inserted: 0,
    updated: 0,
    deleted: 0,
    rowsRead: p.rowsRead,
  };
}

async function finishCommitted(
  ctx: AppContext,
  batch: Batch,
  table: string,
  fields: StoredField[],
  p: Progress,
  errors: ErrorDetail[],
  errorCount: number,
  encoding: string | null,
  onProgress?: (p: Progress) => void | Promise<void>,
): Promise<ImportOutcome> {
  const counts = await inTx(ctx.db, async (trx) => {
    // one merge at a time per resource: the row lock orders concurrent imports
    await trx.selectFrom('resource').select('id').where('id', '=', batch.resource_id).forUpdate().execute();
    // staged with the storage read at the start: a conversion to encrypted storage (or back to clear) committed since
    // (key-convert.ts) would receive clear values into its ciphertext columns (or the reverse); the import fails
    // instead, nothing merged
    const now = await catalogStore.getFields(trx, batch.resource_id);
    if (now.some((f, i) => f.encrypted !== fields[i]?.encrypted))
      throw new AppError('INGEST_STORAGE_CHANGED', [
        {
          reason:
            'the storage of the resource was converted (to encrypted storage or back to clear) during this import: upload it again',
          reasonZh: '导入期间该资源的存储方式已转换（加密存储或转回明文），请重新上传',
        },
      ]);
    // hashed with the index-key version read at the start: a rotation of the index key that converted the resource
    // since (security/index-rotation.ts) would receive hashes under the old key; the import fails instead
    if (now.some((f) => f.encrypted)) {
      const { rows: stale } = await sql`SELECT 1 FROM ingest_staging s, resource r
        WHERE s.batch_id = ${batch.id} AND r.id = ${batch.resource_id}
          AND s.rhash LIKE 'H%' AND s.rhash NOT LIKE 'H' || r.index_key || '.%' LIMIT 1`.execute(trx);
      if (stale.length)
        throw new AppError('INGEST_STORAGE_CHANGED', [
          {
            reason: 'the lookup-index key of the resource was rotated during this import: upload it again',
            reasonZh: '导入期间该资源的检索索引密钥已轮换，请重新上传',
          },
        ]);
    }
    const c = await mergeBatch(trx, table, batch.resource_id, fields, batch.id, batch.mode);
    // a clear source of a hash-keyed base library: the join index of the rows this merge wrote, under the version read
    // with the resource's row held (security/join-index.ts); the fields as they are now (a conversion of another
    // source may have added the index since the import started)
    await joinIndexAfterWrite(trx, ctx.fieldKeys, batch.resource_id, table, now, '_batch_id = $2', [
      batch.id,
    ]);
    await dropStagedRows(trx, batch.id, 'all');
    await trx
      .updateTable('ingest_batch')
      .set({
        status: 'committed',
        rows_total: p.rowsRead,
        rows_read: p.rowsRead,
        rows_valid: p.rowsValid,
        rows_rejected: p.rowsRejected,
        bytes_read: p.bytesRead,
        rows_inserted: c.inserted,
        rows_updated: c.updated,
        rows_deleted: c.deleted,
        error_count: errorCount,
        errors: JSON.stringify(errors),
        encoding,
        finished_at: new Date(),
        progress_at: new Date(),
      })
      .where('id', '=', batch.id)
      .execute();
    const total = await countRows(trx, table);
    await trx
      .updateTable('resource')
      .set({ row_count: total, last_ingest_at: new Date(), overdue_notified_due: null })
      .where('id', '=', batch.resource_id)
      .execute();
    // issue 12 point 2: the quality check runs as a job once this import is committed (same transaction)
    await queueCheckAfterImport(ctx, trx, batch.resource_id, batch.id);
    // issue 9 point 6: the change feed's subscriptions of this resource deliver once this import is committed
    await queueFeedAfterChange(ctx, trx, batch.resource_id);
    // the whole batch is merged but not yet committed: a crash from here on still leaves none of it
    await onProgress?.({ ...p, phase: 'committing' });
    await appendAudit(trx, {
      action: 'ingest.upload',
      decision: 'allow',
      actorUserId: batch.created_by,
      actorOrgId: null,
      resourceId: batch.resource_id,
      targetType: 'ingest_batch',
      targetId: batch.id,
      clientIp: null,
      detail: {
        rowsTotal: p.rowsRead,
        ...c,
        quarantined: errorCount ? p.rowsRejected : 0,
        filename: batch.filename,
        format: batch.format,
        mode: batch.mode,
        appId: batch.app_id,
      },
    });
    return c;
  });
  removeSpool(batch);
  return { status: 'committed', errors, errorCount, ...counts, rowsRead: p.rowsRead };
}

function removeSpool(batch: Batch) {
  if (batch.spool_path) fs.rmSync(batch.spool_path, { force: true });
}

function outcomeOf(b: Batch): ImportOutcome {
  return {
    status:
      b.status === 'committed' || b.status === 'rolled_back'
        ? 'committed'
        : b.status === 'rejected'
          ? 'rejected'
          : 'failed',
    errors: (b.errors as ErrorDetail[]) ?? [],
    errorCount: b.error_count,
    inserted: b.rows_inserted,
    updated: b.rows_updated,
    deleted: b.rows_deleted,
    rowsRead: b.rows_read,
  };
}

/** Marks an import failed (an unexpected error): staged rows go, the resource table was never touched. */
export async function failImport(ctx: AppContext, batchId: number, message: string) {
  await inTx(ctx.db, async (trx) => {
    await dropStagedRows(trx, batchId, 'all');
    await trx.deleteFrom('ingest_quarantine').where('batch_id', '=', batchId).execute();
    await trx
      .updateTable('ingest_batch')
      .set({
        status: 'failed',
        finished_at: new Date(),
        errors: JSON.stringify([
          { reason: message.slice(0, 500), reasonZh: `导入失败：${message.slice(0, 200)}` },
        ]),
      })
      .where('id', '=', batchId)
      .where('status', 'in', ['queued', 'running'])
      .execute();
  });
}

const running = new Map<number, Promise<ImportOutcome | null>>();

/**
 * Runs an import in this process now and resolves when it ends (tests, start-up resumption). An unexpected error
 * fails the batch cleanly; a run held elsewhere resolves null.
 */
export function startImport(
  ctx: AppContext,
  batchId: number,
  staleAfterSeconds = STALE_AFTER_SECONDS,
): Promise<ImportOutcome | null> {
  const existing = running.get(batchId);
  if (existing) return existing;
  const run = runImport(ctx, batchId, undefined, undefined, { staleAfterSeconds })
    .catch(async (e: Error) => {
      if (e instanceof ImportBusyError) return null;
      console.error(`govshare: import ${batchId} failed: ${e.message}`);
      await failImport(ctx, batchId, e.message).catch(() => {});
      return null;
    })
    .finally(() => running.delete(batchId));
  running.set(batchId, run);
  return run;
}

export const IMPORT_JOB = 'ingest.import';
export const FRESHNESS_JOB = 'ingest.freshness';

/** Queues an import as a platform job (src/jobs): it survives restarts and runs on exactly one node. */
export async function queueImport(ctx: AppContext, batchId: number) {
  await ctx.jobs.schedule(ctx.db, {
    kind: IMPORT_JOB,
    key: `batch-${batchId}`,
    runAt: ctx.clock.now(),
    payload: { batchId },
    // a run held by a live process is retried with backoff until that process finishes or goes stale
    maxAttempts: 20,
  });
}

/** The job handler: an unexpected error fails the batch (no retry of a broken file); a busy batch retries later. */
export async function importJob(ctx: AppContext, batchId: number) {
  try {
    await runImport(ctx, batchId);
  } catch (e) {
    if (e instanceof ImportBusyError) throw e;
    await failImport(ctx, batchId, (e as Error).message);
  }
}

/**
 * At start-up: imports left queued or running by a stopped process are run again from their spooled file (the
 * earlier attempt's staging is discarded first); one whose file is gone fails cleanly. Nothing was merged for them.
 */
export async function resumeImports(
  ctx: AppContext,
  staleAfterSeconds = STALE_AFTER_SECONDS,
): Promise<number[]> {
  // queued or running ones whose progress stopped (their process is gone); a live run on another node is left alone
  const open = await ctx.db
    .selectFrom('ingest_batch')
    .select(['id', 'spool_path'])
    .where('status', 'in', ['queued', 'running'])
    .where(
      // the database's clock on both sides: created_at is the database's now() with microseconds, and a Node Date
      // (milliseconds) taken within the same millisecond compared as earlier (seen in CI with staleAfterSeconds = 0)
      sql<boolean>`coalesce(progress_at, created_at) <= now() - ${staleAfterSeconds}::float8 * interval '1 second'`,
    )
    .orderBy('id')
    .execute();
  const ids: number[] = [];
  for (const b of open) {
    if (!b.spool_path || !fs.existsSync(b.spool_path)) {
      await failImport(ctx, b.id, 'interrupted, and its data is not kept: upload it again');
      continue;
    }
    ids.push(b.id);
    void startImport(ctx, b.id, staleAfterSeconds);
  }
  return ids;
}
