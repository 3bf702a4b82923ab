import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireRole } from '../http/auth.js';
import { dateTimeString, pageQueryProps } from '../http/schemas.js';
import { AppError } from '../shared/errors.js';
import { labelOf } from '../shared/labels.js';
import { keyedHash } from '../shared/secrets.js';
import { toCsv } from '../shared/tabular.js';
import { archivesWithChain, archiveToDir, auditPartitions, listArchives } from './archive.js';
import { traceLeakFile } from './leak-file.js';
import { EXPORT_MAX_BLOCKS, exportAudit, sealStatus, verifyAudit } from './seal.js';
import {
  type AuditFilter,
  appendAudit,
  auditFilterOptions,
  decodeAuditCursor,
  encodeAuditCursor,
  listAudit,
  listSavedQueries,
  SAVED_QUERIES_PER_USER,
} from './store.js';

/** The auditor's filters (GET /api/audit and the saved queries share them). */
const filterProps = {
  action: { type: 'string', maxLength: 50 },
  resourceId: { type: 'integer', minimum: 1 },
  appId: { type: 'integer', minimum: 1 },
  orgId: { type: 'integer', minimum: 1, description: 'the acting department' },
  userId: { type: 'integer', minimum: 1, description: 'the acting person' },
  grantId: { type: 'integer', minimum: 1, description: 'every call a grant served' },
  decision: { type: 'string', enum: ['allow', 'deny'] },
} as const;

const seqRange = {
  type: 'object',
  additionalProperties: false,
  properties: {
    fromSeq: { type: 'integer', minimum: 1, description: 'first block (default 1)' },
    toSeq: { type: 'integer', minimum: 1, description: 'last block (default: the newest)' },
  },
} as const;

const targetKeyProp = {
  type: 'string',
  maxLength: 200,
  description:
    'a record key (e.g. an ID number): finds the calls on it, though the log stores only its keyed hash',
} as const;

export async function auditRoutes(app: FastifyInstance, ctx: AppContext) {
  // leak tracing by file (溯源): the raw file bytes only in this encapsulated context (JSON everywhere else)
  await app.register(async (scoped) => {
    // a leaked JSON file is a file too: its bytes, not a parsed body (which would reach the tracer as no file)
    scoped.removeContentTypeParser('application/json');
    scoped.addContentTypeParser(
      [
        'application/json',
        'application/octet-stream',
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        'text/csv',
        'application/csv',
        'application/x-ndjson',
        'text/plain',
      ],
      { parseAs: 'buffer' },
      (_req, body, done) => done(null, body),
    );
    scoped.post(
      '/api/audit/leak-trace/file',
      {
        schema: {
          tags: ['audit'],
          summary:
            'Leak tracing by file (auditor, 溯源): upload a leaked CSV (UTF-8/GBK), XLSX, JSON or NDJSON file — partial, reordered or with columns dropped — and get the exports and recipients (app, consumer department, grant) ranked by the share of its rows they delivered, with the matched rows and columns, and per CSV export its watermark evidence (the per-cell quoting of the file against the keyed quoting of the export: match rate, cells checked, p-value, verdict). Audited; nothing of the file is stored.',
          consumes: ['application/octet-stream', 'text/csv', 'application/json'],
        },
        bodyLimit: ctx.config.uploadMaxBytes,
      },
      async (req) => {
        const actor = requireRole(req, 'auditor');
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        return traceLeakFile(ctx, actor, body);
      },
    );
  });

  /** The query's filters; a record key becomes its keyed hashes (the log never holds the clear key). */
  const auditFilterOf = ({ targetKey, ...f }: AuditFilter & { targetKey?: string }): AuditFilter => {
    if (!targetKey) return f;
    // keys are stored as the data API normalised them: ID numbers and credit codes upper-case
    const forms = new Set([targetKey.trim(), targetKey.trim().toUpperCase()]);
    return { ...f, targetHashes: [...forms].map((k) => keyedHash(ctx.secret, k)) };
  };

  app.get(
    '/api/audit',
    {
      schema: {
        tags: ['audit'],
        summary:
          'The audit trail (auditor only, GB/T 39477 separation of duties): every data call and every decision, refusals included; newest first by time, then id. `total` counts at most `window` matching records (AUDIT_LIST_WINDOW, default 10 000) and `more` says more match (shown as "超过 10 000 条"). Two ways to page, with the same filters: `page` (a page may start at most `window` records in, else 400 VALIDATION_FAILED on `page`), or keyset paging at any depth: every page carries `nextCursor` (null on the last page), and `cursor=<nextCursor>` gives the page after it at the cost of a first page (`page` is then not used and answered as null). A cursor is opaque and bound to this server: a malformed or altered one is 400 VALIDATION_FAILED on `cursor` (and, like every refusal, audited)',
        querystring: {
          type: 'object',
          properties: {
            ...filterProps,
            targetKey: targetKeyProp,
            from: dateTimeString,
            to: dateTimeString,
            ...pageQueryProps,
            cursor: {
              type: 'string',
              maxLength: 200,
              description:
                "a previous page's `nextCursor`: the records after that page's last one (newest first), any depth",
            },
          },
        },
      },
    },
    async (req) => {
      // DG Art 28/33, GB/T 39477: audit is read by the separated auditor role, not by the administrator it audits
      requireRole(req, 'auditor');
      const { cursor, ...query } = req.query as AuditFilter & { targetKey?: string; cursor?: string };
      const f = auditFilterOf(query);
      if (cursor) f.after = decodeAuditCursor(ctx.secret, cursor);
      const window = ctx.config.auditListWindow;
      const { next, ...list } = await listAudit(ctx.db, f, window);
      return {
        ...list,
        /** how deep `total` counts and `page` reaches (AUDIT_LIST_WINDOW); older records by cursor */
        window,
        page: f.after ? null : f.page,
        pageSize: f.pageSize,
        /** the cursor of the page after this one (`cursor=`), null on the last page */
        nextCursor: next ? encodeAuditCursor(ctx.secret, next) : null,
      };
    },
  );

  // the auditor's filtered view as CSV (issue 10 point 9): words, not codes; bounded; itself audited
  app.get(
    '/api/audit/export.csv',
    {
      schema: {
        tags: ['audit'],
        summary: `The filtered audit view as CSV (auditor only; at most AUDIT_EXPORT_MAX_ROWS rows, default 10 000, else 422 AUDIT_EXPORT_TOO_LARGE; actions, decisions and fields by their Chinese names; the export is itself audited)`,
        querystring: {
          type: 'object',
          properties: { ...filterProps, targetKey: targetKeyProp, from: dateTimeString, to: dateTimeString },
        },
      },
    },
    async (req, reply) => {
      const actor = requireRole(req, 'auditor');
      const f = auditFilterOf(req.query as AuditFilter & { targetKey?: string });
      const max = ctx.config.auditExportMaxRows;
      // counted up to max + 1: enough to know the view is too large, never the whole table
      const { more, items } = await listAudit(ctx.db, { ...f, page: 1, pageSize: max }, max);
      if (more)
        throw new AppError('AUDIT_EXPORT_TOO_LARGE', [
          {
            reason: `more than ${max} records match; an export holds at most ${max}: narrow the filters`,
            reasonZh: `符合条件的审计记录超过 ${max} 条，单次导出最多 ${max} 条，请缩小筛选范围`,
          },
        ]);
      const { targetHashes: _h, ...filter } = f;
      await appendAudit(ctx.db, {
        actorUserId: actor.id,
        actorOrgId: actor.orgId,
        action: 'audit.log_exported',
        decision: 'allow',
        clientIp: actor.clientIp,
        rowsReturned: items.length,
        detail: { rows: items.length, filter: { ...filter, byRecordKey: !!_h } },
      });
      const word = (prefix: string, v: string | null | undefined) =>
        v ? (labelOf(`${prefix}.${v}`) ?? v) : '';
      const body = toCsv(
        [
          '时间',
          '操作',
          '结果',
          '操作人',
          '单位',
          '应用',
          '资源',
          '资源代码',
          '对象',
          '用途',
          '返回行数',
          '字段',
          '客户端地址',
        ],
        items.map((e) => [
          e.occurredAt,
          word('action', e.action),
          word('decision', e.decision),
          e.actor?.displayName ?? '',
          e.org?.name ?? '',
          e.app?.name ?? '',
          e.resource?.name ?? '',
          e.resource?.code ?? '',
          e.targetType
            ? `${word('targetType', e.targetType)} ${e.targetLabel ?? (e.targetType === 'record' ? '' : (e.targetId ?? ''))}`.trim()
            : '',
          e.purpose ?? '',
          e.rowsReturned ?? '',
          (e.fieldNames ?? e.fields ?? []).join('、'),
          e.clientIp ?? '',
        ]),
      );
      reply.header('content-type', 'text/csv; charset=utf-8');
      reply.header('content-disposition', 'attachment; filename="audit-log.csv"');
      return body;
    },
  );

  app.get(
    '/api/audit/seal',
    {
      schema: {
        tags: ['audit'],
        summary:
          'The sealed audit chain: blocks, sealed and pending records, the newest block hash, the signing keys (auditor only)',
      },
    },
    async (req) => {
      requireRole(req, 'auditor');
      return sealStatus(ctx.db);
    },
  );

  app.post(
    '/api/audit/verify',
    {
      schema: {
        tags: ['audit'],
        summary:
          'Verifies the chain and every sealed record in a block range: names each altered, removed or inserted record and each altered, missing or unsigned block (auditor only; the check is itself audited)',
        body: seqRange,
      },
    },
    async (req) => {
      const actor = requireRole(req, 'auditor');
      const range = (req.body ?? {}) as { fromSeq?: number; toSeq?: number };
      const report = await verifyAudit(ctx, range);
      await appendAudit(ctx.db, {
        actorUserId: actor.id,
        actorOrgId: actor.orgId,
        action: 'audit.verified',
        decision: 'allow',
        clientIp: actor.clientIp,
        detail: {
          fromSeq: report.fromSeq,
          toSeq: report.toSeq,
          blocks: report.blocksChecked,
          records: report.recordsChecked,
          findings: report.findingCount,
        },
      });
      return report;
    },
  );

  app.get(
    '/api/audit/export',
    {
      schema: {
        tags: ['audit'],
        summary: `Exports sealed blocks (at most ${EXPORT_MAX_BLOCKS}) with their records, leaf hashes and public keys, for an offline check with \`govshare audit verify-export\` (auditor only; audited)`,
        querystring: { ...seqRange, required: ['fromSeq', 'toSeq'] },
      },
    },
    async (req, reply) => {
      const actor = requireRole(req, 'auditor');
      const { fromSeq, toSeq } = req.query as { fromSeq: number; toSeq: number };
      const data = await exportAudit(ctx.db, fromSeq, toSeq);
      await appendAudit(ctx.db, {
        actorUserId: actor.id,
        actorOrgId: actor.orgId,
        action: 'audit.exported',
        decision: 'allow',
        clientIp: actor.clientIp,
        detail: {
          fromSeq,
          toSeq: fromSeq + data.blocks.length - 1,
          blocks: data.blocks.length,
          records: data.blocks.reduce((n, b) => n + b.records.length, 0),
        },
      });
      reply.header('content-disposition', `attachment; filename="govshare-audit-${fromSeq}-${toSeq}.json"`);
      return data;
    },
  );

  app.get(
    '/api/audit/options',
    {
      schema: {
        tags: ['audit'],
        summary: "The audit filters' choices by name: departments, people, apps, resources (auditor only)",
      },
    },
    async (req) => {
      requireRole(req, 'auditor');
      return auditFilterOptions(ctx.db);
    },
  );

  app.get(
    '/api/audit/saved-queries',
    { schema: { tags: ['audit'], summary: "The signed-in auditor's saved filters" } },
    async (req) => {
      const actor = requireRole(req, 'auditor');
      return { items: await listSavedQueries(ctx.db, actor.id) };
    },
  );

  app.post(
    '/api/audit/saved-queries',
    {
      schema: {
        tags: ['audit'],
        summary: `Saves a filter under a name (at most ${SAVED_QUERIES_PER_USER} per auditor; the same name replaces it)`,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'filter'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 50, 'x-trim': true },
            filter: {
              type: 'object',
              additionalProperties: false,
              properties: {
                ...filterProps,
                targetKey: { type: 'string', maxLength: 200 },
                from: dateTimeString,
                to: dateTimeString,
              },
            },
          },
        },
      },
    },
    async (req) => {
      const actor = requireRole(req, 'auditor');
      const { name, filter } = req.body as { name: string; filter: Record<string, unknown> };
      return ctx.db.transaction().execute(async (trx) => {
        const existing = await trx
          .selectFrom('audit_saved_query')
          .select(['id', 'name'])
          .where('user_id', '=', actor.id)
          .execute();
        if (!existing.some((q) => q.name === name) && existing.length >= SAVED_QUERIES_PER_USER)
          throw new AppError('VALIDATION_FAILED', [
            {
              field: 'name',
              reason: `at most ${SAVED_QUERIES_PER_USER} saved queries; delete one first`,
              reasonZh: `最多保存 ${SAVED_QUERIES_PER_USER} 个查询，请先删除一个`,
            },
          ]);
        return trx
          .insertInto('audit_saved_query')
          .values({ user_id: actor.id, name, filter: JSON.stringify(filter) })
          .onConflict((oc) => oc.columns(['user_id', 'name']).doUpdateSet({ filter: JSON.stringify(filter) }))
          .returning(['id', 'name', 'filter', 'created_at as createdAt'])
          .executeTakeFirstOrThrow();
      });
    },
  );

  // audit at province scale (issue 10 point 12): archives of sealed blocks, kept on the server in AUDIT_ARCHIVE_DIR
  app.post(
    '/api/audit/archives',
    {
      schema: {
        tags: ['audit'],
        summary:
          'Archives every sealed block not archived yet up to the last record that occurred before `until` into a file in AUDIT_ARCHIVE_DIR (NDJSON: blocks, records, leaf hashes, signatures, public keys; check it offline with `govshare audit verify --archive FILE`). Retention drops a month from the database only once an archive holds it (auditor only; audited)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['until'],
          properties: {
            until: { ...dateTimeString, description: 'archive every record before this instant' },
          },
        },
      },
    },
    async (req, reply) => {
      const actor = requireRole(req, 'auditor');
      const { until } = req.body as { until: string };
      const s = await archiveToDir(ctx, new Date(until), actor);
      reply.code(201);
      return s;
    },
  );

  app.get(
    '/api/audit/archives',
    {
      schema: {
        tags: ['audit'],
        summary:
          "The archives made (block range, records, last block hash, the file's SHA-256, who made it, the period it covers from the archive before, its chain status: linked, gap or mismatch, whether its blocks are still in the database), the partitions of the audit log and the retention drops (auditor only)",
      },
    },
    async (req) => {
      requireRole(req, 'auditor');
      const drops = await ctx.db
        .selectFrom('audit_retention')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(100)
        .execute();
      return {
        retentionMonths: ctx.config.auditRetentionMonths,
        archives: await archivesWithChain(ctx.db),
        partitions: (await auditPartitions(ctx.db)).map((p) => ({ name: p.name, from: p.from, to: p.to })),
        retention: drops.map((d) => ({
          id: Number(d.id),
          droppedBefore: d.dropped_before,
          partitions: d.partitions,
          archiveId: Number(d.archive_id),
          anchorSeq: Number(d.anchor_seq),
          anchorHash: d.anchor_hash,
          archivedIds: d.archived_ids.length,
          blocksRemoved: d.blocks_removed,
          droppedAt: d.dropped_at,
        })),
      };
    },
  );

  app.get(
    '/api/audit/archives/:id/file',
    {
      schema: {
        tags: ['audit'],
        summary: 'Downloads an archive file kept in AUDIT_ARCHIVE_DIR (auditor only; audited)',
        params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] },
      },
    },
    async (req, reply) => {
      const actor = requireRole(req, 'auditor');
      const { id } = req.params as { id: number };
      const a = (await listArchives(ctx.db)).find((x) => x.id === id);
      const file = a ? path.join(ctx.config.auditArchiveDir, a.fileName) : null;
      if (!a || !file || a.via !== 'api' || !fs.existsSync(file)) throw new AppError('NOT_FOUND');
      await appendAudit(ctx.db, {
        actorUserId: actor.id,
        actorOrgId: actor.orgId,
        action: 'audit.archiveDownloaded',
        decision: 'allow',
        targetType: 'audit_archive',
        targetId: id,
        clientIp: actor.clientIp,
        detail: { fileName: a.fileName, fileSha256: a.fileSha256 },
      });
      reply.header('content-type', 'application/x-ndjson');
      reply.header('content-disposition', `attachment; filename="${a.fileName}"`);
      return reply.send(fs.createReadStream(file));
    },
  );

  app.delete(
    '/api/audit/saved-queries/:id',
    {
      schema: {
        tags: ['audit'],
        summary: "Deletes one of the signed-in auditor's saved filters",
        params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] },
      },
    },
    async (req) => {
      const actor = requireRole(req, 'auditor');
      const { id } = req.params as { id: number };
      const r = await ctx.db
        .deleteFrom('audit_saved_query')
        .where('id', '=', id)
        .where('user_id', '=', actor.id)
        .executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) throw new AppError('NOT_FOUND');
      return { deleted: id };
    },
  );
}
