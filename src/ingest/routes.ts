import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { idParams, pageQueryProps } from '../http/schemas.js';
import { AppError } from '../shared/errors.js';
import { freshnessBoard, runFreshnessCheck } from './freshness.js';
import { discardQuarantined, listQuarantine, resubmitQuarantined, updateQuarantined } from './quarantine.js';
import { reportCsv, reportXlsx } from './report.js';
import * as service from './service.js';

const tags = ['ingest'];
const apiKeyHeader = {
  type: 'object',
  properties: {
    'x-api-key': {
      type: 'string',
      maxLength: 200,
      description: "The providing department's app key (its system)",
    },
  },
} as const;
const modeProps = {
  mode: { type: 'string', enum: ['upsert', 'replace', 'delete'], default: 'upsert' },
  onError: { type: 'string', enum: ['reject', 'quarantine'], default: 'reject' },
} as const;
const STREAM_TYPES = [
  'text/csv',
  'application/csv',
  'application/x-ndjson',
  'application/ndjson',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/octet-stream',
];

type Loader = { actor: NonNullable<FastifyRequest['actor']>; appId: number | null };
const LOADER = Symbol('ingestLoader');

/**
 * The officer's session, or (no session) the department system's app key, resolved in onRequest: these routes are
 * public to the session check, so they authenticate here, before their body or headers are validated (auth first).
 */
function authFirst(ctx: AppContext) {
  return async (req: FastifyRequest) => {
    let who: Loader;
    if (req.actor) who = { actor: req.actor, appId: null };
    else {
      const key = req.headers['x-api-key'] as string | undefined;
      if (!key) throw new AppError('UNAUTHENTICATED');
      who = await service.appActor(ctx, key, req.ip);
    }
    (req as unknown as Record<symbol, Loader>)[LOADER] = who;
  };
}
async function loader(_ctx: AppContext, req: FastifyRequest): Promise<Loader> {
  const who = (req as unknown as Record<symbol, Loader | undefined>)[LOADER];
  if (!who) throw new AppError('UNAUTHENTICATED');
  return who;
}

function parseMapping(raw: string | undefined): Record<string, string> | null {
  if (!raw) return null;
  try {
    const m = JSON.parse(raw) as unknown;
    if (
      m &&
      typeof m === 'object' &&
      !Array.isArray(m) &&
      Object.values(m).every((v) => typeof v === 'string')
    )
      return m as Record<string, string>;
  } catch {
    /* refused below */
  }
  throw new AppError('VALIDATION_FAILED', [
    {
      field: 'mapping',
      reason: 'mapping is a JSON object {"column header": "field code"}',
      reasonZh: '字段映射须为 JSON 对象 {"列名": "信息项代码"}',
    },
  ]);
}

export async function ingestRoutes(app: FastifyInstance, ctx: AppContext) {
  // The quick synchronous CSV upload: raw CSV bytes (bounded by UPLOAD_MAX_BYTES) in its own scope.
  await app.register(async (scoped) => {
    // raw CSV only: a JSON body is 415 UNSUPPORTED_MEDIA_TYPE, not an empty file
    scoped.removeContentTypeParser('application/json');
    scoped.addContentTypeParser(['text/csv', 'application/csv'], { parseAs: 'buffer' }, (_req, body, done) =>
      done(null, body),
    );
    scoped.post(
      '/api/ingest/resources/:id/csv',
      {
        schema: {
          tags,
          summary:
            'Upload a small CSV in UTF-8 or GBK/GB18030 and wait for the result; all rows are written or none (CSV_INVALID lists row/field/code)',
          params: idParams,
          querystring: { type: 'object', properties: { filename: { type: 'string', maxLength: 255 } } },
          consumes: ['text/csv'],
        },
        bodyLimit: ctx.config.uploadMaxBytes,
      },
      async (req) => {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        return service.ingestCsvUpload(ctx, requireActor(req), (req.params as { id: number }).id, body, {
          filename: (req.query as { filename?: string }).filename ?? null,
        });
      },
    );
  });

  // Streamed imports: the body is never parsed in the request, it streams to the spool file.
  await app.register(async (scoped) => {
    // streams only: a JSON body (parsed to an object, which cannot be spooled) is 415 UNSUPPORTED_MEDIA_TYPE
    scoped.removeContentTypeParser('application/json');
    scoped.addContentTypeParser(STREAM_TYPES, (_req, payload, done) => done(null, payload));
    scoped.post(
      '/api/ingest/resources/:id/imports',
      {
        config: { public: true },
        onRequest: authFirst(ctx),
        schema: {
          tags,
          summary:
            'Start an import from a streamed CSV (UTF-8/BOM/GBK/GB18030), NDJSON or XLSX body; answers 202 with the import at once (progress: GET /api/ingest/imports/:id)',
          params: idParams,
          headers: apiKeyHeader,
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              format: { type: 'string', enum: ['csv', 'ndjson', 'xlsx'] },
              ...modeProps,
              filename: { type: 'string', maxLength: 255 },
              sheet: { type: 'string', maxLength: 100 },
              mapping: {
                type: 'string',
                maxLength: 8000,
                description: 'JSON {"column header": "field code"}',
              },
            },
          },
          consumes: STREAM_TYPES,
        },
      },
      async (req, reply) => {
        const { actor, appId } = await loader(ctx, req);
        const q = req.query as {
          format?: 'csv' | 'ndjson' | 'xlsx';
          mode: service.ImportMode;
          onError: service.OnError;
          filename?: string;
          sheet?: string;
          mapping?: string;
        };
        const ct = String(req.headers['content-type'] ?? '');
        const format =
          q.format ??
          (/ndjson/.test(ct)
            ? 'ndjson'
            : /spreadsheetml/.test(ct) || /\.xlsx$/i.test(q.filename ?? '')
              ? 'xlsx'
              : 'csv');
        const out = await service.startUpload(
          ctx,
          actor,
          (req.params as { id: number }).id,
          req.body as never,
          {
            format,
            mode: q.mode,
            onError: q.onError,
            filename: q.filename ?? null,
            sheet: q.sheet ?? null,
            mapping: parseMapping(q.mapping),
            appId,
          },
        );
        reply.code(202);
        return out;
      },
    );
  });

  const recordsBody = {
    type: 'object',
    additionalProperties: false,
    properties: {
      records: {
        type: 'array',
        minItems: 1,
        maxItems: 50_000,
        items: { type: 'object', maxProperties: 500 },
      },
      ...modeProps,
    },
    required: ['records'],
  } as const;
  app.post(
    '/api/ingest/resources/:id/records',
    {
      config: { public: true },
      onRequest: authFirst(ctx),
      schema: {
        tags,
        summary:
          'A JSON batch: records keyed by field code or name, validated and merged in this request (upsert / replace / delete)',
        params: idParams,
        headers: apiKeyHeader,
        body: recordsBody,
      },
    },
    async (req) => {
      const { actor, appId } = await loader(ctx, req);
      return service.submitRecords(ctx, actor, (req.params as { id: number }).id, req.body as never, {
        format: 'json',
        appId,
      });
    },
  );
  app.post(
    '/api/ingest/resources/:id/push',
    {
      config: { public: true },
      onRequest: authFirst(ctx),
      schema: {
        tags,
        summary:
          'Realtime push from an online system (DG Art 17): like a JSON batch; a repeated Idempotency-Key returns the first result and writes nothing',
        params: idParams,
        headers: {
          type: 'object',
          properties: {
            ...apiKeyHeader.properties,
            'idempotency-key': { type: 'string', minLength: 1, maxLength: 200 },
          },
          required: ['idempotency-key'],
        },
        body: recordsBody,
      },
    },
    async (req) => {
      const { actor, appId } = await loader(ctx, req);
      return service.submitRecords(ctx, actor, (req.params as { id: number }).id, req.body as never, {
        format: 'push',
        idempotencyKey: req.headers['idempotency-key'] as string,
        appId,
      });
    },
  );

  app.get(
    '/api/ingest/imports',
    {
      schema: {
        tags,
        summary: 'Imports with their progress (own department; the authority sees all)',
        querystring: {
          type: 'object',
          properties: {
            ...pageQueryProps,
            resourceId: { type: 'integer', minimum: 1 },
            status: {
              type: 'string',
              enum: ['queued', 'running', 'committed', 'rejected', 'failed', 'rolled_back'],
            },
          },
        },
      },
    },
    async (req) => service.listImports(ctx, requireActor(req), req.query as never),
  );
  app.get(
    '/api/ingest/imports/:id',
    {
      schema: {
        tags,
        summary: 'One import: status, rows read / valid / rejected, rate (rows/s), fraction done and ETA',
        params: idParams,
        headers: apiKeyHeader,
      },
      config: { public: true },
      onRequest: authFirst(ctx),
    },
    async (req) => {
      const { actor } = await loader(ctx, req);
      return service.getImport(ctx, actor, (req.params as { id: number }).id);
    },
  );
  app.get(
    '/api/ingest/imports/:id/report',
    {
      schema: {
        tags,
        summary: 'The rejection report (row, field, masked value, reason code, zh/en) as JSON, CSV or XLSX',
        params: idParams,
        querystring: {
          type: 'object',
          properties: { format: { type: 'string', enum: ['json', 'csv', 'xlsx'], default: 'json' } },
        },
      },
    },
    async (req, reply: FastifyReply) => {
      const id = (req.params as { id: number }).id;
      const r = await service.importReport(ctx, requireActor(req), id);
      const format = (req.query as { format: string }).format;
      if (format === 'json') return r;
      if (format === 'csv') {
        reply.header('content-type', 'text/csv; charset=utf-8');
        reply.header('content-disposition', `attachment; filename="import-${id}-report.csv"`);
        return reportCsv(r.errors);
      }
      reply.header('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
      reply.header('content-disposition', `attachment; filename="import-${id}-report.xlsx"`);
      return reportXlsx(r.errors);
    },
  );
  app.post(
    '/api/ingest/imports/:id/rollback',
    {
      schema: {
        tags,
        summary:
          'The authority rolls a whole applied batch back in one transaction (the latest one of its resource)',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: { type: 'string', minLength: 1, maxLength: 2000, 'x-trim': true } },
          required: ['reason'],
        },
      },
    },
    async (req) =>
      service.rollbackImport(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        (req.body as { reason: string }).reason,
      ),
  );

  app.get(
    '/api/ingest/resources/:id/batches',
    { schema: { tags, summary: 'Import history of a resource', params: idParams } },
    async (req) => service.listBatches(ctx, requireActor(req), (req.params as { id: number }).id),
  );
  app.post(
    '/api/ingest/resources/:id/history',
    {
      schema: {
        tags,
        summary:
          "A record's versions (current and replaced: batch, who, when), masked; the key travels in the body, not the URL",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { key: { type: 'string', minLength: 1, maxLength: 500 } },
          required: ['key'],
        },
      },
    },
    async (req) =>
      service.recordHistory(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        (req.body as { key: string }).key,
      ),
  );

  app.get(
    '/api/ingest/resources/:id/quarantine',
    {
      schema: {
        tags,
        summary: 'Quarantined rows of a resource waiting for correction',
        params: idParams,
        querystring: { type: 'object', properties: { ...pageQueryProps } },
      },
    },
    async (req) =>
      listQuarantine(ctx, requireActor(req), (req.params as { id: number }).id, req.query as never),
  );
  app.put(
    '/api/ingest/quarantine/:id',
    {
      schema: {
        tags,
        summary: "Correct a quarantined row's values (by field code); checked again on resubmission",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            values: {
              type: 'object',
              maxProperties: 500,
              additionalProperties: { type: ['string', 'null'], maxLength: 10_000 },
            },
          },
          required: ['values'],
        },
      },
    },
    async (req) =>
      updateQuarantined(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        (req.body as { values: Record<string, string | null> }).values,
      ),
  );
  const idsBody = {
    type: 'object',
    additionalProperties: false,
    properties: {
      ids: { type: 'array', minItems: 1, maxItems: 5000, items: { type: 'integer', minimum: 1 } },
    },
    required: ['ids'],
  } as const;
  app.post(
    '/api/ingest/resources/:id/quarantine/resubmit',
    {
      schema: {
        tags,
        summary:
          'Resubmit corrected quarantined rows as a new batch (all valid or none; report rows = quarantine ids)',
        params: idParams,
        body: idsBody,
      },
    },
    async (req) =>
      resubmitQuarantined(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        (req.body as { ids: number[] }).ids,
      ),
  );
  app.post(
    '/api/ingest/resources/:id/quarantine/discard',
    { schema: { tags, summary: 'Discard quarantined rows', params: idParams, body: idsBody } },
    async (req) =>
      discardQuarantined(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        (req.body as { ids: number[] }).ids,
      ),
  );

  app.get(
    '/api/ingest/freshness',
    {
      schema: {
        tags,
        summary:
          'Freshness board (XT Art 20, DG Art 17): each table resource with its update cycle, last update, next due date and days overdue',
        querystring: {
          type: 'object',
          properties: {
            overdueOnly: { type: 'boolean', default: false },
            orgId: { type: 'integer', minimum: 1, description: "only this department's resources" },
          },
        },
      },
    },
    async (req) => freshnessBoard(ctx, requireActor(req), req.query as never),
  );
  app.post(
    '/api/ingest/freshness/check',
    {
      schema: {
        tags,
        summary: 'Flag overdue resources now (notifies provider and authority once per due date)',
      },
    },
    async (req) => runFreshnessCheck(ctx, requireActor(req)),
  );
}
