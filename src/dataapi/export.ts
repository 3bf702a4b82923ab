import { createHmac } from 'node:crypto';
import type { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse/sync';
import { CompiledQuery, sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import type { Actor, AppContext } from '../context.js';
import { AppError } from '../shared/errors.js';
import { keyedHash, keyedHashBytes, prefixedHash } from '../shared/secrets.js';
import { type TableStreamOptions, tableStream } from '../shared/tabular.js';
import { settle } from './guards.js';
import { maskingPolicy } from './masking-policy.js';
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

/*
 * Bulk export of a granted view (issue 9 point 5): CSV (UTF-8 or GBK), NDJSON or XLSX, streamed in batches by `_seq`
 * cursor in constant memory, masked by the one masking implementation exactly as the API masks (`shape`).
 *
 * The start is one governed statement (store.ts exportSql): purpose, export right, fields and the grant's daily row
 * quota are decided there, and the `data_export` row and the audit row (`data.export`, allow or deny) are written with
 * it, so a refused export writes an audit row and nothing else. Each batch then runs in its own transaction: the grant
 * is checked again (a revocation stops the export at its next batch), the rows are read and masked, and the leak-tracing
 * ledger of exactly those masked rows (one `data_export_batch` row: their digests concatenated) is written with the
 * export's delivered count, before the batch is sent. The per-digest lookup rows are built later by the ledger job
 * (ledger.ts), off the export's path.
 */

export const EXPORT_FORMATS = ['csv', 'ndjson', 'xlsx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const EXPORT_ENCODINGS = ['utf-8', 'gbk'] as const;
export type ExportEncoding = (typeof EXPORT_ENCODINGS)[number];

/** Rows per batch (one read, one ledger write, one transaction). */
export const EXPORT_BATCH = 2000;

const MEDIA: Record<ExportFormat, { type: (e: ExportEncoding) => string; ext: string }> = {
  csv: { type: (e) => `text/csv; charset=${e}`, ext: 'csv' },
  ndjson: { type: () => 'application/x-ndjson; charset=utf-8', ext: 'ndjson' },
  xlsx: {
    type: () => 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    ext: 'xlsx',
  },
};

/** The text of a delivered cell, as the ledger hashes it: what a CSV cell holds before quoting. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Bytes of a key or row digest in the ledger. */
const MAC_BYTES = 16;

/** The first 16 bytes of an HMAC-SHA256 under the platform secret: the ledger's compact, keyed digests. */
const mac16 = (secret: Buffer, s: string) => keyedHashBytes(secret, s).subarray(0, MAC_BYTES);

const keyText = (key: string) => `key\n${key}`;
const rowText = (cells: string[]) => `row\n${JSON.stringify(cells)}`;

/** The ledger's digest of a record key (the same key form the data API audits: normalised), hex. */
export const keyMac = (secret: Buffer, key: string) => mac16(secret, keyText(key)).toString('hex');

/** The ledger's digest of a delivered row: its cell texts in the export's field order, hex. */
export const rowMac = (secret: Buffer, cells: string[]) => mac16(secret, rowText(cells)).toString('hex');

/** Bytes of one cell tag (the per-field digest of migration 032). */
export const CELL_TAG_BYTES = 4;

/** Per secret and field, the bytes hashed before each cell's text: the cell-tag key and the field code. */
const tagPrefixes = new WeakMap<Buffer, Map<string, Buffer>>();

/** The full SHA-256 a cell tag is cut from (cellTag). */
function cellTagDigest(secret: Buffer, field: string, text: string): Buffer {
  let prefixes = tagPrefixes.get(secret);
  if (!prefixes) {
    prefixes = new Map();
    tagPrefixes.set(secret, prefixes);
  }
  let prefix = prefixes.get(field);
  if (!prefix) {
    const k = createHmac('sha256', secret).update('govshare cell tag/1').digest();
    prefix = Buffer.concat([k, Buffer.from(`${field}\n`, 'utf8')]);
    if (prefixes.size < 10_000) prefixes.set(field, prefix);
  }
  return prefixedHash('sha256', prefix, text);
}

/**
 * One cell's tag, hex: the first 4 bytes of SHA-256(k ‖ field ‖ "\n" ‖ cell text), k = HMAC-SHA256(platform secret,
 * "govshare cell tag/1") (32 bytes, fixed length). A keyed prefix hash is safe here because only 4 of its 32 bytes are
 * kept (no length extension), and it lets each cell cost one hash of a copied state instead of an HMAC's two and a
 * key schedule: the ledger's extra work per delivered cell stays small.
 */
export function cellTag(secret: Buffer, field: string, text: string): string {
  return cellTagDigest(secret, field, text).toString('hex', 0, CELL_TAG_BYTES);
}

/**
 * The ledger's digests of one batch as the three byte strings of its `data_export_batch` row: the key digests (16
 * bytes a row), the row digests (16) and the cell tags (4 a cell, the row's tags in field order), row after row. Each
 * digest is written in place (no hex text per row). Repeated cell values (districts, categories, masked forms) are
 * hashed once per batch, which keeps the ledger's extra cost low.
 */
export function ledgerDigests(
  secret: Buffer,
  codes: string[],
  keys: string[],
  texts: string[][],
): { keyMacs: Buffer; rowMacs: Buffer; tags: Buffer } {
  const n = texts.length;
  const keyMacs = Buffer.allocUnsafe(n * MAC_BYTES);
  const rowMacs = Buffer.allocUnsafe(n * MAC_BYTES);
  const tags = Buffer.allocUnsafe(n * codes.length * CELL_TAG_BYTES);
  const memo = codes.map(() => new Map<string, number>());
  let at = 0;
  for (let r = 0; r < n; r++) {
    keyedHashBytes(secret, keyText(keys[r])).copy(keyMacs, r * MAC_BYTES, 0, MAC_BYTES);
    const cells = texts[r];
    keyedHashBytes(secret, rowText(cells)).copy(rowMacs, r * MAC_BYTES, 0, MAC_BYTES);
    for (let i = 0; i < codes.length; i++, at += CELL_TAG_BYTES) {
      const text = cells[i];
      let t = memo[i].get(text);
      if (t === undefined) {
        t = cellTagDigest(secret, codes[i], text).readUInt32BE(0);
        if (memo[i].size < 10_000) memo[i].set(text, t);
      }
      tags.writeUInt32BE(t, at);
    }
  }
  return { keyMacs, rowMacs, tags };
}

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

/** Reads, masks and records one export batch by batch; ends the export's row with its status. */
async function* exportBatches(
  ctx: AppContext,
  meta: ResourceMeta,
  fields: MetaField[],
  exp: { id: number; grantId: number; maxSeq: number; reserved: number },
  batchSize: number,
): AsyncGenerator<Record<string, unknown>[]> {
  const readSql = exportBatchSql(meta, fields);
  const policy = await maskingPolicy(ctx);
  const codes = fields.map((f) => f.code);
  let status: 'completed' | 'aborted' | 'failed' = 'aborted';
  type Batch = { records: Record<string, unknown>[]; last: number; want: number } | null;
  type Started = { cursor: Promise<number | null>; batch: Promise<Batch> };
  // one batch = one transaction: grant re-checked, rows read and masked, their ledger rows and count written. `cursor`
  // settles as soon as the rows are read (the last _seq when the batch came back full, else null), so the next batch's
  // transaction can start reading while this one is still recording its ledger rows.
  const runBatch = (after: number, delivered: number, want: number): Started => {
    let readDone: (last: number | null) => void = () => undefined;
    const cursor = new Promise<number | null>((resolve) => {
      readDone = resolve;
    });
    const batch = ctx.db
      .transaction()
      .execute(async (trx): Promise<Batch> => {
        const live = await trx.executeQuery<{ clear: string[] | null }>(
          CompiledQuery.raw(EXPORT_LIVE_SQL, [exp.grantId]),
        );
        if (live.rows.length === 0) return null;
        // the clear-value right as it stands now: withdrawing it masks the export's next batch
        const clear = clearOf(live.rows[0]);
        const { rows } = await trx.executeQuery<{
          _seq: number;
          _key: string;
          rec: Record<string, unknown>;
        }>(CompiledQuery.raw(readSql, [after, exp.maxSeq, want]));
        if (rows.length === 0) return { records: [], last: after, want };
        const last = Number(rows[rows.length - 1]._seq);
        readDone(rows.length === want ? last : null);
        const shapeOne = shaper(meta, codes, policy, clear);
        const records = rows.map((r) => shapeOne(r.rec));
        const texts = records.map((rec) => codes.map((c) => cellText(rec[c])));
        // the ledger's digests as three byte strings (16 bytes a key, 16 a row, 4 a cell), cut per row in SQL
        const { keyMacs, rowMacs, tags } = ledgerDigests(
          ctx.secret,
          codes,
          rows.map((r) => r._key),
          texts,
        );
        await trx.executeQuery(
          CompiledQuery.raw(EXPORT_LEDGER_SQL, [
            exp.id,
            delivered,
            keyMacs,
            rowMacs,
            rows.length,
            tags,
            codes.length * CELL_TAG_BYTES,
          ]),
        );
        return { records, last, want };
      })
      .finally(() => readDone(null));
    batch.catch(() => undefined); // awaited (and thrown) in order by the loop below
    return { cursor, batch };
  };
  // Batches in flight besides the one being sent: each holds at most `batchSize` rows, so memory stays constant;
  // two let one transaction record its ledger rows while the next reads (the two run on two connections).
  const AHEAD = 2;
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
    while (queue.length > 0) {
      const batch = await queue[0].batch;
      queue.shift();
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
      yield batch.records;
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
