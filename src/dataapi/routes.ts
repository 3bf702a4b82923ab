import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import * as service from './service.js';

const recordSchema = {
  type: 'object',
  description: 'granted fields only, by field code; personal fields masked',
  additionalProperties: true,
} as const;

const apiKeyHeader = {
  type: 'object',
  properties: { 'x-api-key': { type: 'string', description: "The consumer app's API key" } },
} as const;

export async function dataApiRoutes(app: FastifyInstance, ctx: AppContext) {
  app.get(
    '/api/v1/data/:resourceCode/records/:key',
    {
      schema: {
        tags: ['data'],
        summary:
          'Read one record by key: granted fields only, personal fields masked, audited in the same transaction',
        headers: apiKeyHeader,
        params: {
          type: 'object',
          properties: {
            resourceCode: { type: 'string', maxLength: 100 },
            key: { type: 'string', maxLength: 200 },
          },
          required: ['resourceCode', 'key'],
        },
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
        },
      },
    },
    async (req) => {
      const p = req.params as { resourceCode: string; key: string };
      return service.getRecord(
        ctx,
        req.headers['x-api-key'] as string | undefined,
        p.resourceCode,
        p.key,
        req.ip,
      );
    },
  );

  app.get(
    '/api/v1/data/:resourceCode/records',
    {
      schema: {
        tags: ['data'],
        summary: 'Page through records (keyset pagination with the opaque `after` cursor); audited per page',
        headers: apiKeyHeader,
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
        },
      },
    },
    async (req) => {
      const p = req.params as { resourceCode: string };
      const q = req.query as { limit: number; after?: string };
      return service.listRecords(
        ctx,
        req.headers['x-api-key'] as string | undefined,
        p.resourceCode,
        q.after ?? null,
        q.limit,
        req.ip,
      );
    },
  );
}
