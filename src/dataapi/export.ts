import type { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse/sync';
import { CompiledQuery, sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import type { Actor, AppContext } from '../context.js';
import { AppError } from '../shared/errors.js';
import { keyedHash } from '../shared/secrets.js';
import { type TableStreamOptions, tableStream } from '../shared/tabular.js';
import { defaultExportWorkers, exportHashing } from './export-pool.js';
import { settle } from './guards.js';
import { CELL_TAG_BYTES, cellText, keyMac, rowMac } from './ledger-digests.js';
import type { MaskingPolicy } from './masking.js';
import { ciphertextsOf, maskingPolicy, openedPolicy } from './masking-policy.js';
import { type CallInput, call, callerOf, clearOf, shaper } from './service.js';
import {
  EXPORT_LEDGER_SQL,
  EXPORT_LIVE_SQL,
  exportBatchSql,
  exportExtent,
  governedExportStart,
  type MetaField,
  type ResourceMeta,
} from './store.js';
import { anyText, quoteMarker } from './watermark.js';

export { CELL_TAG_BYTES, cellTag, cellText, keyMac, ledgerDigests, rowMac } from './ledger-digests.js';

/*
 * Bulk export of a granted view (issue 9 point 5): CSV (UTF-8 or GBK), NDJSON or XLSX, streamed in batches by `_seq`
 * cursor in constant memory, masked by the one masking implementation exactly as the API masks (`shape`).
 *
 * The start is one governed statement (store.ts exportSql): purpose, export right, fields and the grant's daily row
 * quota are decided there, and the `data_export` row and the audit row (`data.export`, allow or deny) are written with
 * it, so a refused export writes an audit row and nothing else. Each batch is then read, masked, and the leak-tracing
 * ledger of exactly those masked rows (one `data_export_batch` row: their digests concatenated) is written with the
 * export's delivered count by one statement that re-checks the grant, before the batch is sent: a revocation stops the
 * export at that batch, a changed clear-value right masks it again. The per-digest lookup rows are built later by the
 * ledger job (ledger.ts), off the export's path.
 */

export const EXPORT_FORMATS = ['csv', 'ndjson', 'xlsx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const EXPORT_ENCODINGS = ['utf-8', 'gbk'] as const;
export type ExportEncoding = (typeof EXPORT_ENCODINGS)[number];

/** Rows per batch (one read, one ledger write, one transaction). */
export const EXPORT_BATCH = 2000;

/**
 * Batches one export has in flight (started, not yet handed to the sender): each holds at most EXPORT_BATCH rows, so
 * memory stays constant. While one is read, others are opened, masked, hashed (in the worker) and recorded. Three:
 * since a batch holds no transaction (2026-12-02), three in flight gave ≈ +10 % over two in alternated runs (median
 * ≈ 77 000 against ≈ 69 000 rows/s at 400 000 rows, bench/README.md "export.ts"), four no more than three; when each
 * batch still held a transaction (2026-12-01), three were no faster than two.
 */
export const EXPORT_IN_FLIGHT = 3;

const MEDIA: Record<ExportFormat, { type: (e: ExportEncoding) => string; ext: string }> = {
  csv: { type: (e) => `text/csv; charset=${e}`, ext: 'csv' },
  ndjson: { type: () => 'application/x-ndjson; charset=utf-8', ext: 'ndjson' },
  xlsx: {
    type: () => 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    ext: 'xlsx',
  },
};

function shanghaiDayStart(now: number): Date {
  const day = Math.floor((now + 8 * 3600_000) / 86400_000);
  return new Date(day * 86400_000 - 8 * 3600_000);
}

export interface ExportInput extends CallInput {
  format: ExportFormat;
  encoding: ExportEncoding;
}

export async function exportRecords(
  ctx: AppContext,
  input: ExportInput,
  code: string,
  batchSize = EXPORT_BATCH,
) {
  if (input.encoding === 'gbk' && input.format !== 'csv')
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'encoding',
        value: input.encoding,
        reason: 'GBK is offered for CSV only; NDJSON and XLSX are UTF-8',
        reasonZh: 'GBK 编码仅适用于 CSV，NDJSON 与 XLSX 固定为 UTF-8',
      },
    ]);
  const caller = callerOf(ctx, input);
  let extent = { rows: 0, maxSeq: 0 };
  const { meta, row } = await call(ctx, code, caller, 'list', async (m) => {
    extent = await exportExtent(ctx.database, m);
    return governedExportStart(ctx.db, m, caller, {
      format: input.format,
      encoding: input.encoding,
      defaultRowsPerDay: ctx.config.dataApi.grantExportRowsPerDay ?? 1_000_000,
      dayStart: shanghaiDayStart(Date.now()),
      ...extent,
    });
  });
  await settle(ctx, caller, meta, row, false);
  if (!row.export_id || !row.grant_id || !row.fields) throw new Error('export started without its row');
  const fieldsUsed = row.fields;
  const fields = meta.fields.filter((f) => fieldsUsed.includes(f.code));
  const exp = {
    id: Number(row.export_id),
    grantId: row.grant_id,
    maxSeq: extent.maxSeq,
    reserved: extent.rows,
    // the grant's fields: masking decides as if all were asked for (shape), so `fields=` never shows more
    granted: row.granted,
  };
  const batches = exportBatches(ctx, meta, fields, exp, batchSize);
  const media = MEDIA[input.format];
  // the recipient's watermark (src/dataapi/watermark.ts), no value changed: CSV by keyed quoting per cell, NDJSON by
  // keyed whitespace after each member's colon
  const csvQuote = input.format === 'csv' ? quoteMarker(ctx.secret, exp.id) : undefined;
  const jsonMark = input.format === 'ndjson' ? quoteMarker(ctx.secret, exp.id, anyText) : undefined;
  const jsonSpace = jsonMark && ((field: string, v: unknown) => jsonMark(field, cellText(v)));
  return {
    exportId: exp.id,
    rows: exp.reserved,
    auditId: row.audit_id,
    type: media.type(input.encoding),
    filename: `${meta.code.replaceAll('/', '-')}.${media.ext}`,
    stream: encode(input.format, input.encoding, fields, batches, { csvQuote, jsonSpace }),
  };
}

/**
 * Where a bulk export's wall time goes, summed over batches (ms), for the bench (bench/export.ts, EXPORT_PROFILE=1):
 * off unless `on` is set, then a few clock reads per batch. `stall` is the time the sender waited for the next batch
 * (nothing ready), `send` the time between handing a batch on and asking for the next (CSV text, socket writes).
 */
export const exportProfile = {
  on: false,
  batches: 0,
  /** the most batches one export had in flight at once (started, not yet handed to the sender); kept even when off */
  inFlightMax: 0,
  /** batches masked again because the grant's clear-value right changed before their ledger row; kept even when off */
  remasked: 0,
  ms: { read: 0, decrypt: 0, mask: 0, digests: 0, ledger: 0, stall: 0, send: 0 },
  reset() {
    this.batches = 0;
    this.inFlightMax = 0;
    this.remasked = 0;
    for (const k of Object.keys(this.ms) as (keyof typeof this.ms)[]) this.ms[k] = 0;
  },
};

/** Reads, masks and records one export batch by batch; ends the export's row with its status. */
async function* exportBatches(
  ctx: AppContext,
  meta: ResourceMeta,
  fields: MetaField[],
  exp: { id: number; grantId: number; maxSeq: number; reserved: number; granted: string[] | null },
  batchSize: number,
): AsyncGenerator<Record<string, unknown>[]> {
  const readSql = exportBatchSql(meta, fields);
  const policy = await maskingPolicy(ctx);
  const codes = fields.map((f) => f.code);
  // decryption and ledger digests in a worker thread when there is one (export-pool.ts), same functions, same bytes
  const hashing = exportHashing(ctx.config.dataApi.exportWorkers ?? defaultExportWorkers());
  let status: 'completed' | 'aborted' | 'failed' = 'aborted';
  type Batch = { records: Record<string, unknown>[]; last: number; want: number } | null;
  type Started = { cursor: Promise<number | null>; batch: Promise<Batch> };
  // The grant as it stands: null once it no longer allows exporting; else its clear fields, with which the next batches
  // are masked. Each batch's ledger statement writes only if the grant is still so (EXPORT_LEDGER_SQL), else it is read
  // again here: a revocation stops the export at that batch, a changed clear-value right masks that batch again.
  const liveGrant = async (): Promise<string[] | null> => {
    const live = await ctx.db.executeQuery<{ clear: string[] | null }>(
      CompiledQuery.raw(EXPORT_LIVE_SQL, [exp.grantId]),
    );
    return live.rows.length === 0 ? null : (live.rows[0].clear ?? []);
  };
  let grantClear = await liveGrant();
  // The masking policy of one batch: the masking module's own, its decryption answered from the batch's values opened
  // in a worker thread (a value not opened there is decrypted by the keyring as without workers, failures included).
  const batchPolicy = async (rows: { rec: Record<string, unknown> }[]): Promise<MaskingPolicy> => {
    if (!policy.decrypt) return policy;
    const values = ciphertextsOf(rows.map((r) => r.rec));
    const opening = values.length > 0 ? hashing.decrypt(ctx.fieldKeys.dataKeysOf(meta.id), values) : null;
    return openedPolicy(ctx, policy, values, opening ? await opening : undefined);
  };
  // One batch: its rows read, opened and masked, their ledger row and the export's count written by one statement
  // while the grant still allows it, before the batch is sent. No transaction stays open while the batch is hashed.
  // `cursor` settles as soon as the rows are read (the last _seq when the batch came back full, else null), so the next
  // batch can start reading while this one is still being masked and recorded.
  const runBatch = (after: number, delivered: number, want: number): Started => {
    let readDone: (last: number | null) => void = () => undefined;
    const cursor = new Promise<number | null>((resolve) => {
      readDone = resolve;
    });
    const prof = exportProfile.on ? exportProfile.ms : null;
    let t = prof ? performance.now() : 0;
    const lap = prof
      ? (k: keyof typeof prof) => {
          const now = performance.now();
          prof[k] += now - t;
          t = now;
        }
      : () => undefined;
    const batch = (async (): Promise<Batch> => {
      if (grantClear === null) return null;
      const { rows } = await ctx.db.executeQuery<{
        _seq: number;
        _key: string;
        rec: Record<string, unknown>;
      }>(CompiledQuery.raw(readSql, [after, exp.maxSeq, want]));
      lap('read');
      if (rows.length === 0) return { records: [], last: after, want };
      const last = Number(rows[rows.length - 1]._seq);
      readDone(rows.length === want ? last : null);
      const opened = await batchPolicy(rows);
      lap('decrypt');
      const keys = rows.map((r) => r._key);
      for (let attempt = 1; ; attempt++) {
        const clear = grantClear;
        if (clear === null) return null;
        const shapeOne = shaper(meta, codes, opened, clearOf({ clear }), exp.granted);
        const records = rows.map((r) => shapeOne(r.rec));
        const texts = records.map((rec) => codes.map((c) => cellText(rec[c])));
        lap('mask');
        // the ledger's digests as three byte strings (16 bytes a key, 16 a row, 4 a cell), cut per row in SQL
        const { keyMacs, rowMacs, tags } = await hashing.digests(ctx.secret, codes, keys, texts);
        lap('digests');
        const written = await ctx.db.executeQuery(
          CompiledQuery.raw(EXPORT_LEDGER_SQL, [
            exp.id,
            delivered,
            keyMacs,
            rowMacs,
            rows.length,
            tags,
            codes.length * CELL_TAG_BYTES,
            exp.grantId,
            clear,
          ]),
        );
        lap('ledger');
        if (written.rows.length > 0) return { records, last, want };
        // the grant changed since the batch was masked: read it again (a revoked grant ends the export; a clear right
        // changed masks this batch again); a grant changing at every try is treated as withdrawn
        grantClear = attempt < 3 ? await liveGrant() : null;
        exportProfile.remasked++;
      }
    })().finally(() => {
      readDone(null);
      if (prof) exportProfile.batches++;
    });
    batch.catch(() => undefined); // awaited (and thrown) in order by the loop below
    return { cursor, batch };
  };
  const AHEAD = EXPORT_IN_FLIGHT;
  const queue: Started[] = [];
  let ready: number | null = exp.reserved > 0 ? 0 : null; // the cursor of the next batch, known but not started
  let claimed = 0; // rows asked for by the batches started so far (each started after a full one)
  let closed = false;
  const launch = () => {
    while (!closed && ready !== null && queue.length < AHEAD) {
      const want = Math.min(batchSize, exp.reserved - claimed);
      const after = ready;
      ready = null;
      if (want <= 0) break;
      const started = runBatch(after, claimed, want);
      claimed += want;
      queue.push(started);
      if (queue.length > exportProfile.inFlightMax) exportProfile.inFlightMax = queue.length;
      started.cursor.then((last) => {
        if (last !== null) {
          ready = last;
          launch();
        }
      });
    }
  };
  try {
    launch();
    const prof = exportProfile.on ? exportProfile.ms : null;
    while (queue.length > 0) {
      const t0 = prof ? performance.now() : 0;
      const batch = await queue[0].batch;
      queue.shift();
      if (prof) prof.stall += performance.now() - t0;
      if (batch === null) {
        status = 'aborted';
        throw new AppError('GRANT_REQUIRED', [
          {
            reason: 'the grant was revoked or expired during the export',
            reasonZh: '导出过程中授权已撤销或到期',
          },
        ]);
      }
      if (batch.records.length === 0) break;
      launch();
      const t1 = prof ? performance.now() : 0;
      yield batch.records;
      if (prof) prof.send += performance.now() - t1;
    }
    status = 'completed';
  } catch (e) {
    if (!(e instanceof AppError)) status = 'failed';
    throw e;
  } finally {
    // batches still in flight (the reader went away) settle before the export is closed
    closed = true;
    await Promise.all(queue.map((q) => q.batch.catch(() => undefined)));
    await ctx.db
      .updateTable('data_export')
      .set({ status, finished_at: new Date() })
      .where('id', '=', exp.id)
      .execute()
      .catch(() => undefined);
  }
}

function encode(
  format: ExportFormat,
  encoding: ExportEncoding,
  fields: MetaField[],
  batches: AsyncGenerator<Record<string, unknown>[]>,
  marks: Pick<TableStreamOptions, 'csvQuote' | 'jsonSpace'>,
): Readable {
  const columns = fields.map((f) => ({ key: f.code, header: f.code }));
  return tableStream({ format, encoding: encoding === 'gbk' ? 'gbk' : 'utf8', columns, ...marks }, batches);
}

/** Undoes the CSV-injection guard of a delivered cell (csvCell prefixes ' to a leading = + - @ tab or CR). */
function deliveredText(cell: string): string {
  return /^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
}

export interface LeakTraceInput {
  /** a record key (ID number, credit code…) */
  key?: string;
  /** a leaked row's cell values, in the file's column order */
  values?: string[];
  /** or the leaked CSV line itself */
  csvLine?: string;
}

export const LEAK_TRACE_LIMIT = 100;

/**
 * Leak tracing (issue 9 point 5; the security issue builds on it): which exports delivered this record key or this exact
 * masked row? Answers the exports (app, consumer, grant, resource, purpose, format, fields, rows, when, status) with how
 * many of their ledger rows matched, newest first, at most 100. The auditor's search is itself audited. The ledger is
 * read through the view `data_export_ledger` (migration 047): the indexed per-row ledger plus the batches the ledger
 * job has not exploded yet, so a fresh export is found as well as an old one.
 */
export async function leakTrace(ctx: AppContext, actor: Actor, input: LeakTraceInput) {
  let values = input.values;
  if (input.csvLine !== undefined) {
    let rows: string[][];
    try {
      rows = parseCsv(input.csvLine.replace(/\r?\n$/, ''), { relax_column_count: true, bom: true });
    } catch {
      rows = [];
    }
    if (rows.length !== 1)
      throw new AppError('VALIDATION_FAILED', [
        {
          field: 'csvLine',
          reason: 'give exactly one CSV line',
          reasonZh: '请提供且仅提供一行 CSV',
        },
      ]);
    values = rows[0];
  }
  const key = input.key?.trim();
  if (!key && !values?.length)
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'key',
        reason: "give a record key, a leaked row's values or its CSV line",
        reasonZh: '请提供记录主键、泄露行的各列取值或该行 CSV 原文',
      },
    ]);
  // the ledger keeps the record key as stored: for an encrypted key field, its keyed hash (docs/ENCRYPTION.md), under
  // the index-key version of the resource when the export was delivered — any version, retired ones included (a
  // rotation of the index key does not rewrite the ledger, which is evidence)
  await ctx.fieldKeys.refresh(false, ctx.db);
  const keyMacs = key
    ? [...new Set([key, key.toUpperCase()])]
        .flatMap((k) => [k, ...ctx.fieldKeys.indexAll(k)])
        .map((k) => keyMac(ctx.secret, k))
    : [];
  const rowMacs = values?.length
    ? [
        rowMac(
          ctx.secret,
          values.map((v) => deliveredText(String(v))),
        ),
      ]
    : [];
  const rows = await sql<{
    id: number;
    app_id: number;
    app_name: string | null;
    org_id: number | null;
    org_name: string | null;
    grant_id: number;
    resource_id: number;
    resource_code: string | null;
    resource_name: string | null;
    purpose: string | null;
    format: string;
    encoding: string;
    fields: string[];
    row_count: number;
    started_at: Date;
    finished_at: Date | null;
    status: string;
    key_rows: number;
    row_rows: number;
  }>`
    WITH hit AS (
      SELECT x.export_id, count(*) FILTER (WHERE x.key_mac = ANY (k.m)) AS key_rows,
        count(*) FILTER (WHERE x.row_mac = ANY (r.m)) AS row_rows
      FROM (SELECT coalesce(array_agg(decode(h, 'hex')), '{}') AS m FROM unnest(${keyMacs}::text[]) h) k,
        (SELECT coalesce(array_agg(decode(h, 'hex')), '{}') AS m FROM unnest(${rowMacs}::text[]) h) r,
        data_export_ledger x
      WHERE x.key_mac = ANY (k.m) OR x.row_mac = ANY (r.m)
      GROUP BY x.export_id
    )
    SELECT e.id, e.app_id, app.name AS app_name, e.org_id, org.name AS org_name, e.grant_id, e.resource_id,
      res.code AS resource_code, res.name AS resource_name, e.purpose, e.format, e.encoding, e.fields, e.row_count,
      e.started_at, e.finished_at, e.status, hit.key_rows, hit.row_rows
    FROM hit JOIN data_export e ON e.id = hit.export_id
    LEFT JOIN app ON app.id = e.app_id LEFT JOIN org ON org.id = e.org_id LEFT JOIN resource res ON res.id = e.resource_id
    ORDER BY e.started_at DESC, e.id DESC
    LIMIT ${LEAK_TRACE_LIMIT + 1}
  `.execute(ctx.db);
  const found = rows.rows.slice(0, LEAK_TRACE_LIMIT);
  await appendAudit(ctx.db, {
    actorUserId: actor.id,
    actorOrgId: actor.orgId,
    action: 'audit.leakTrace',
    decision: 'allow',
    targetType: 'data_export',
    // the key only as its keyed hash, like every record key in the log
    targetId: key ? keyedHash(ctx.secret, key.toUpperCase()) : null,
    rowsReturned: found.length,
    clientIp: actor.clientIp,
    detail: { byKey: !!key, byRow: rowMacs.length > 0, cells: values?.length ?? 0 },
  });
  return {
    items: found.map((e) => ({
      exportId: Number(e.id),
      app: { id: e.app_id, name: e.app_name },
      consumerOrg: e.org_id === null ? null : { id: e.org_id, name: e.org_name },
      grantId: e.grant_id,
      resource: { id: e.resource_id, code: e.resource_code, name: e.resource_name },
      purpose: e.purpose,
      format: e.format,
      encoding: e.encoding,
      fields: e.fields,
      rowCount: Number(e.row_count),
      startedAt: e.started_at,
      finishedAt: e.finished_at,
      status: e.status,
      matchedBy: { key: Number(e.key_rows), row: Number(e.row_rows) },
    })),
    truncated: rows.rows.length > LEAK_TRACE_LIMIT,
  };
}
