import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { dateString } from '../http/schemas.js';
import { GRANT_USAGE_MAX_DAYS, grantUsage, type UsageQuery, usageOptions, usageReport } from './service.js';

const ACTIONS = [
  'data.get',
  'data.list',
  'data.query',
  'data.verify',
  'data.export',
  'data.preview',
  'data.refused',
];

/** Usage monitoring (issue 12 point 3, NY task 10): counts, rows, denials, errors and latency per day or month. */
export async function usageRoutes(app: FastifyInstance, ctx: AppContext) {
  app.get(
    '/api/usage',
    {
      schema: {
        tags: ['usage'],
        summary:
          'Data calls by day or month from the daily rollup: totals, series, top resources and apps, and per department × app × resource × call type × purpose with denials, errors, rows and latency percentiles. A department sees its calls as consumer and as provider; the authority and auditors all',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            org: { type: 'integer', minimum: 1 },
            app: { type: 'integer', minimum: 1 },
            resource: { type: 'integer', minimum: 1 },
            action: { type: 'string', enum: ACTIONS },
            from: dateString,
            to: dateString,
            granularity: { type: 'string', enum: ['day', 'month'] },
          },
        },
      },
    },
    async (req) => usageReport(ctx, requireActor(req), req.query as UsageQuery),
  );
  app.get(
    '/api/usage/grants',
    {
      schema: {
        tags: ['usage'],
        summary:
          "Each visible grant's daily calls and refusals over the last days (default 30), from the daily rollup (its app's calls on its resource), today's calls at least the live quota counters' (`today`): a department the grants it holds or gives, the authority and auditors all",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { days: { type: 'integer', minimum: 1, maximum: GRANT_USAGE_MAX_DAYS } },
        },
      },
    },
    async (req) => grantUsage(ctx, requireActor(req), req.query as { days?: number }),
  );
  app.get(
    '/api/usage/options',
    {
      schema: {
        tags: ['usage'],
        summary: "The departments, apps and resources the caller's usage filters offer",
      },
    },
    async (req) => usageOptions(ctx, requireActor(req)),
  );
}
