import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor, requireRole } from '../http/auth.js';
import { errorResponseSchema } from '../http/errors.js';
import { idParams } from '../http/schemas.js';
import { aggregateRoute } from './aggregate.js';
import {
  EXPORT_ENCODINGS,
  EXPORT_FORMATS,
  type ExportEncoding,
  type ExportFormat,
  exportRecords,
  type LeakTraceInput,
  leakTrace,
} from './export.js';
import {
  createSubscription,
  deleteSubscription,
  FEED_BATCH,
  type FeedTarget,
  feedChanges,
  listDeliveries,
  listSubscriptions,
} from './feed.js';
import { scalar, whereSchema } from './filter.js';
import { KEEP_ENDS_MAX } from './mask-class.js';
import { FIELD_CLASSES, type FieldClass, MASK_STRATEGIES, type MaskRule } from './masking.js';
import { listClassRules, previewMask, setClassRule } from './masking-policy.js';
import * as service from './service.js';

const recordSchema = {
  type: 'object',
  description: 'granted fields only, by field code; personal fields masked',
  additionalProperties: true,
} as const;

/** The longest `X-Api-Key` a data call may present (a key is far shorter; a refusal looks up no longer text). */
export const API_KEY_MAX_LENGTH = 200;

/** Every data call: the app's key and the purpose it calls for (DG Art 26, XT Art 25, SY Art 29, GD Art 21). */
export const callHeaders = {
  type: 'object',
  properties: {
    'x-api-key': { type: 'string', maxLength: API_KEY_MAX_LENGTH, description: "The consumer app's API key" },
    'x-purpose': {
      type: 'string',
      maxLength: 6000,
      description:
        "The purpose of this call: the grant's purpose id (`pur_…`, shown with the grant) or the purpose text " +
        'percent-encoded as UTF-8. Required when the active regulation limits use to the stated purpose ' +
        '(403 PURPOSE_REQUIRED / PURPOSE_MISMATCH); otherwise recorded in the audit log when sent.',
    },
  },
} as const;

const fieldsParam = {
  type: 'string',
  minLength: 1,
  maxLength: 8200,
  description:
    'A subset of the granted fields, codes separated by commas; a field outside the grant is 403 FIELD_NOT_GRANTED',
} as const;

/** The coded refusals every data call can answer (body: the common error shape). */
const callErrors = {
  ...errorResponseSchema,
  description:
    '401 API_KEY_INVALID; 403 GRANT_REQUIRED, APP_SUSPENDED, RISK_ASSESSMENT_REQUIRED, PURPOSE_REQUIRED, PURPOSE_MISMATCH, ' +
    'FIELD_NOT_GRANTED, READ_NOT_GRANTED, AGGREGATE_ONLY (an aggregate-only grant: no record); 429 RATE_LIMITED, QUOTA_EXCEEDED',
};

function callInput(req: FastifyRequest, fields?: string) {
  return {
    apiKey: req.headers['x-api-key'] as string | undefined,
    purpose: req.headers['x-purpose'] as string | undefined,
    fields,
    clientIp: req.ip,
  };
}

export async function dataApiRoutes(app: FastifyInstance, ctx: AppContext) {
  aggregateRoute(app, ctx, { callHeaders, callErrors, callInput: (req: FastifyRequest) => callInput(req) });
  app.get(
    '/api/v1/data/:resourceCode/records/:key',
    {
      schema: {
        tags: ['data'],
        summary:
          'Read one record by key: granted fields only, personal fields masked, audited in the same transaction',
        headers: callHeaders,
        params: {
          type: 'object',
          properties: {
            resourceCode: { type: 'string', maxLength: 100 },
            key: { type: 'string', maxLength: 200 },
          },
          required: ['resourceCode', 'key'],
        },
        querystring: { type: 'object', properties: { fields: fieldsParam } },
        response: {
          200: {
            type: 'object',
            properties: {
              resourceCode: { type: 'string' },
              key: { type: 'string' },
              record: recordSchema,
              grantId: { type: 'integer', description: 'the grant this call was authorised by' },
              auditId: { type: 'integer', description: 'the audit record written with this call' },
            },
            required: ['resourceCode', 'key', 'record', 'grantId', 'auditId'],
          },
          403: callErrors,
        },
      },
    },
    async (req) => {
      const p = req.params as { resourceCode: string; key: string };
      const q = req.query as { fields?: string };
      return service.getRecord(ctx, callInput(req, q.fields), p.resourceCode, p.key);
    },
  );

  app.get(
    '/api/v1/data/:resourceCode/records',
    {
      schema: {
        tags: ['data'],
        summary: 'Page through records (keyset pagination with the opaque `after` cursor); audited per page',
        headers: callHeaders,
        params: {
          type: 'object',
          properties: { resourceCode: { type: 'string', maxLength: 100 } },
          required: ['resourceCode'],
        },
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 20 },
            after: {
              type: 'string',
              pattern: '^[0-9]{1,18}$',
              description: 'the `next` cursor of the previous page',
            },
            fields: fieldsParam,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: recordSchema },
              next: {
                type: ['string', 'null'],
                description: 'pass as `after` for the next page; null on the last',
              },
              limit: {
                type: 'integer',
                description:
                  "rows this page was allowed: the asked limit, capped by the grant's rows per call",
              },
              grantId: { type: 'integer' },
              auditId: { type: 'integer' },
            },
            required: ['items', 'next', 'limit', 'grantId', 'auditId'],
          },
          403: callErrors,
        },
      },
    },
    async (req) => {
      const p = req.params as { resourceCode: string };
      const q = req.query as { limit: number; after?: string; fields?: string };
      return service.listRecords(ctx, callInput(req, q.fields), p.resourceCode, q.after ?? null, q.limit);
    },
  );

  app.post(
    '/api/v1/data/:resourceCode/query',
    {
      schema: {
        tags: ['data'],
        summary:
          'Filtered query over granted, unmasked fields (eq, in, gt/gte/lt/lte, prefix), paged by an opaque cursor; audited per page',
        headers: callHeaders,
        params: {
          type: 'object',
          properties: { resourceCode: { type: 'string', maxLength: 100 } },
          required: ['resourceCode'],
        },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            where: whereSchema(
              'field code → condition, all ANDed; only granted fields that are not masked for this consumer',
            ),
            fields: {
              type: 'array',
              maxItems: 200,
              minItems: 1,
              items: { type: 'string', maxLength: 40 },
              description: 'a subset of the granted fields (403 FIELD_NOT_GRANTED outside it)',
            },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            cursor: {
              type: 'string',
              maxLength: 100,
              description: 'the `cursor` of the previous page',
            },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: recordSchema },
              cursor: { type: ['string', 'null'], description: 'pass for the next page; null on the last' },
              limit: { type: 'integer' },
              grantId: { type: 'integer' },
              auditId: { type: 'integer' },
            },
            required: ['items', 'cursor', 'limit', 'grantId', 'auditId'],
          },
          400: {
            ...errorResponseSchema,
            description:
              'FILTER_INVALID, FILTER_FIELD_MASKED (details: `field` = `where.<code>`), VALIDATION_FAILED',
          },
          403: callErrors,
        },
      },
    },
    async (req) => {
      const p = req.params as { resourceCode: string };
      const body = (req.body ?? {}) as {
        where?: unknown;
        fields?: string[];
        limit?: number;
        cursor?: string;
      };
      return service.queryRecords(ctx, callInput(req), p.resourceCode, body);
    },
  );

  app.post(
    '/api/v1/data/:resourceCode/verify',
    {
      schema: {
        tags: ['data'],
        summary:
          'Verification (核验, DG Art 19): does the record under this key carry these values? match / no match, no data; own right, quota and audit',
        headers: callHeaders,
        params: {
          type: 'object',
          properties: { resourceCode: { type: 'string', maxLength: 100 } },
          required: ['resourceCode'],
        },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['key'],
          properties: {
            key: {
              type: 'string',
              minLength: 1,
              maxLength: 200,
              description: 'the record key (ID number, credit code…)',
            },
            match: {
              type: 'object',
              maxProperties: 10,
              additionalProperties: scalar,
              description:
                "field code → value; all must equal the record's (granted fields only). Empty: the key exists",
            },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              resourceCode: { type: 'string' },
              match: { type: 'boolean' },
              grantId: { type: 'integer' },
              auditId: { type: 'integer' },
            },
            required: ['resourceCode', 'match', 'grantId', 'auditId'],
          },
          403: { ...callErrors, description: `${callErrors.description}; VERIFY_NOT_GRANTED` },
        },
      },
    },
    async (req) => {
      const p = req.params as { resourceCode: string };
      return service.verifyRecord(
        ctx,
        callInput(req),
        p.resourceCode,
        req.body as { key: string; match?: Record<string, unknown> },
      );
    },
  );

  app.get(
    '/api/v1/data/:resourceCode/export',
    {
      schema: {
        tags: ['data'],
        summary:
          "Bulk export of the granted view (CSV in UTF-8 or GBK, NDJSON, XLSX), streamed, masked as the API masks; needs the grant's export right and fits in its export rows per day; every row recorded in the leak-tracing ledger",
        headers: callHeaders,
        params: {
          type: 'object',
          properties: { resourceCode: { type: 'string', maxLength: 100 } },
          required: ['resourceCode'],
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            format: { type: 'string', enum: EXPORT_FORMATS, default: 'csv' },
            encoding: {
              type: 'string',
              enum: EXPORT_ENCODINGS,
              default: 'utf-8',
              description: 'CSV only (GBK for Excel on Chinese Windows); NDJSON and XLSX are UTF-8',
            },
            fields: fieldsParam,
          },
        },
        response: {
          200: {
            description:
              'the file, streamed (header row of field codes for CSV and XLSX); headers X-Export-Id (the ledger) and X-Export-Rows',
            type: 'string',
          },
          403: { ...callErrors, description: `${callErrors.description}; EXPORT_NOT_GRANTED` },
          429: { ...errorResponseSchema, description: 'EXPORT_QUOTA_EXCEEDED, QUOTA_EXCEEDED, RATE_LIMITED' },
        },
      },
    },
    async (req, reply) => {
      const p = req.params as { resourceCode: string };
      const q = req.query as { format: ExportFormat; encoding: ExportEncoding; fields?: string };
      const x = await exportRecords(
        ctx,
        { ...callInput(req, q.fields), format: q.format, encoding: q.encoding },
        p.resourceCode,
      );
      reply
        .type(x.type)
        .header('Cache-Control', 'no-store')
        .header('X-Export-Id', String(x.exportId))
        .header('X-Export-Rows', String(x.rows))
        .header('Content-Disposition', `attachment; filename="${x.filename}"`);
      return reply.send(x.stream);
    },
  );

  // the change feed (issue 9 point 6): changes since a cursor, and push subscriptions of a grant
  const changeSchema = {
    type: 'object',
    properties: {
      op: { type: 'string', enum: ['upsert', 'delete'] },
      key: {
        type: ['string', 'null'],
        description: 'the record key as the API shows it (masked like the key field); null when not granted',
      },
      keyRef: {
        type: 'string',
        description: 'a stable pseudonym of the record key, to match upserts and deletes',
      },
      version: { type: 'integer' },
      changedAt: { type: 'string', format: 'date-time' },
      record: { ...recordSchema, description: 'upsert: the granted fields of this version, masked' },
    },
    required: ['op', 'key', 'keyRef', 'version', 'changedAt'],
  } as const;
  app.get(
    '/api/v1/data/:resourceCode/changes',
    {
      schema: {
        tags: ['data'],
        summary:
          "Change feed: the records' changes (upsert / delete) after a cursor, in commit order, granted fields masked; needs the grant's change-feed right; audited per page",
        headers: callHeaders,
        params: {
          type: 'object',
          properties: { resourceCode: { type: 'string', maxLength: 100 } },
          required: ['resourceCode'],
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            cursor: {
              type: 'string',
              maxLength: 100,
              description: 'the `cursor` of the previous page; absent: from the first change',
            },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            fields: fieldsParam,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              resourceCode: { type: 'string' },
              changes: { type: 'array', items: changeSchema },
              cursor: {
                type: 'string',
                description:
                  'pass as `cursor` next time (the same cursor when nothing changed): stable, opaque',
              },
              hasMore: { type: 'boolean', description: 'true: more changes are waiting, call again at once' },
              limit: { type: 'integer' },
              grantId: { type: 'integer' },
              auditId: { type: 'integer' },
            },
            required: ['resourceCode', 'changes', 'cursor', 'hasMore', 'limit', 'grantId', 'auditId'],
          },
          403: { ...callErrors, description: `${callErrors.description}; FEED_NOT_GRANTED` },
        },
      },
    },
    async (req) => {
      const p = req.params as { resourceCode: string };
      const q = req.query as { cursor?: string; limit: number; fields?: string };
      return feedChanges(ctx, callInput(req, q.fields), p.resourceCode, q.cursor ?? null, q.limit);
    },
  );

  app.get(
    '/api/dataapi/grants/:id/feed-subscriptions',
    {
      schema: {
        tags: ['data'],
        summary:
          "A grant's change-feed push subscriptions (the consumer's app managers): target, status, last cursor, last delivery, failures",
        params: idParams,
      },
    },
    async (req) => listSubscriptions(ctx, requireActor(req), (req.params as { id: number }).id),
  );

  app.post(
    '/api/dataapi/grants/:id/feed-subscriptions',
    {
      schema: {
        tags: ['data'],
        summary: `Subscribe a grant's change feed: pushed in batches of up to ${FEED_BATCH} changes to a webhook (signed X-Govshare-Signature, secret shown once) or NATS JetStream (400 FEED_NATS_UNCONFIGURED without NATS_URL); at least once, the cursor as idempotency key; audited`,
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['target'],
          properties: {
            target: { type: 'string', enum: ['webhook', 'nats'] },
            url: {
              type: 'string',
              minLength: 8,
              maxLength: 2000,
              description: 'webhook: the http(s) URL to POST to',
            },
          },
        },
      },
    },
    async (req, reply) => {
      const r = await createSubscription(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        req.body as { target: FeedTarget; url?: string },
      );
      reply.code(201);
      return r;
    },
  );

  app.delete(
    '/api/dataapi/feed-subscriptions/:id',
    {
      schema: { tags: ['data'], summary: 'End a change-feed subscription (audited)', params: idParams },
    },
    async (req) => deleteSubscription(ctx, requireActor(req), (req.params as { id: number }).id),
  );

  app.get(
    '/api/dataapi/feed-subscriptions/:id/deliveries',
    {
      schema: {
        tags: ['data'],
        summary: "A subscription's last delivery attempts (cursor, changes, status, HTTP status, error)",
        params: idParams,
      },
    },
    async (req) => listDeliveries(ctx, requireActor(req), (req.params as { id: number }).id),
  );

  app.post(
    '/api/audit/leak-trace',
    {
      schema: {
        tags: ['audit'],
        summary:
          'Leak tracing (auditor): which bulk exports delivered this record key or this exact masked row (its values or its CSV line)?',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            key: { type: 'string', minLength: 1, maxLength: 200, description: 'a record key (ID number…)' },
            values: {
              type: 'array',
              minItems: 1,
              maxItems: 200,
              items: { type: 'string', maxLength: 2000 },
              description: "a leaked row's cells in the file's column order",
            },
            csvLine: { type: 'string', minLength: 1, maxLength: 20000, description: 'the leaked CSV line' },
          },
        },
      },
    },
    async (req) => leakTrace(ctx, requireRole(req, 'auditor'), req.body as LeakTraceInput),
  );

  // masking per field class (issue 9 point 8): the one masking implementation's rules, set by the authority
  const ruleSchema = {
    type: 'object',
    additionalProperties: false,
    required: ['strategy'],
    properties: {
      strategy: { type: 'string', enum: MASK_STRATEGIES },
      // the class's own limit is checked by validateRule (mask-class.ts KEEP_ENDS_LIMITS); -1 and -1: a quarter at each end
      first: { type: 'integer', minimum: -1, maximum: KEEP_ENDS_MAX },
      last: { type: 'integer', minimum: -1, maximum: KEEP_ENDS_MAX },
      fill: { type: 'integer', minimum: 1, maximum: 20 },
      with: { type: 'string', maxLength: 20 },
      length: { type: 'integer', minimum: 8, maximum: 64 },
      to: { type: 'string', enum: ['year', 'month'] },
    },
  } as const;
  const classParams = {
    type: 'object',
    properties: { fieldClass: { type: 'string', enum: FIELD_CLASSES } },
    required: ['fieldClass'],
  } as const;

  app.get(
    '/api/masking/classes',
    {
      schema: {
        tags: ['data'],
        summary:
          'Masking rules per field class: the rule in force, the default, whether the authority changed it',
      },
    },
    async (req) => {
      requireActor(req);
      return listClassRules(ctx);
    },
  );

  app.put(
    '/api/masking/classes/:fieldClass',
    {
      schema: {
        tags: ['data'],
        summary:
          "Set a field class's masking rule (the authority: platform admin or authority reviewer); rule null resets the default; audited",
        params: classParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['rule'],
          properties: { rule: { anyOf: [ruleSchema, { type: 'null' }] } },
        },
      },
    },
    async (req) =>
      setClassRule(
        ctx,
        requireActor(req),
        (req.params as { fieldClass: FieldClass }).fieldClass,
        (req.body as { rule: MaskRule | null }).rule,
      ),
  );

  app.post(
    '/api/masking/preview',
    {
      schema: {
        tags: ['data'],
        summary: "Mask sample values with a class's rule in force or a proposed rule (nothing stored)",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['fieldClass', 'values'],
          properties: {
            fieldClass: { type: 'string', enum: FIELD_CLASSES },
            rule: ruleSchema,
            values: { type: 'array', minItems: 1, maxItems: 20, items: { type: 'string', maxLength: 200 } },
          },
        },
      },
    },
    async (req) => {
      requireActor(req);
      return previewMask(ctx, req.body as { fieldClass: FieldClass; rule?: MaskRule; values: string[] });
    },
  );
}
