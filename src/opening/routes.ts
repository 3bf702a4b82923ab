import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FORMATS, UPDATE_CYCLES } from '../catalog/model.js';
import type { AppContext } from '../context.js';
import { pageQueryProps } from '../http/schemas.js';
import { accountRoutes } from './account-routes.js';
import { openPrincipal } from './accounts.js';
import { purposeOf } from './applications.js';
import { ckanRoutes } from './ckan.js';
import { dcatRoutes } from './dcat.js';
import { openGovernanceRoutes } from './governance-routes.js';
import { DOWNLOAD_FORMATS, type DownloadFormat, PRIORITY_DOMAINS, PUBLIC_OPEN_TYPES } from './model.js';
import * as service from './service.js';

/** The caller of a public route: its address, and the console user if a session came along. */
export function callerOf(req: FastifyRequest): service.Caller {
  return { ip: req.ip ?? null, userId: req.actor?.id ?? null, orgId: req.actor?.orgId ?? null };
}

/** The caller of a data route: address, plus the public account of an open key or portal session, and the purpose. */
export async function dataCallerOf(
  ctx: AppContext,
  req: FastifyRequest,
  kind: 'call' | 'download',
): Promise<service.Caller> {
  const principal = await openPrincipal(ctx, req, kind);
  const q = req.query as { purpose?: string } | undefined;
  return { ...callerOf(req), principal, purpose: purposeOf(req.headers['x-purpose'] ?? q?.purpose) };
}

/** Per-address limits (@fastify/rate-limit, Redis-backed when REDIS_URL is set: every node counts together). */
export function openRateLimit(ctx: AppContext, kind: 'read' | 'download') {
  return {
    max: kind === 'read' ? ctx.config.openRateLimitPerMinute : ctx.config.openDownloadsPerMinute,
    timeWindow: '1 minute',
    keyGenerator: (req: { ip: string }) => `open-${kind}|${req.ip}`,
  };
}

const idParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1 } },
  required: ['id'],
} as const;

export async function openingRoutes(app: FastifyInstance, ctx: AppContext) {
  await ckanRoutes(app, ctx);
  await dcatRoutes(app, ctx);
  await accountRoutes(app, ctx);
  const read = { public: true, rateLimit: openRateLimit(ctx, 'read') };
  await openGovernanceRoutes(app, ctx, read);

  app.get(
    '/api/open/home',
    {
      schema: {
        tags: ['opening'],
        summary:
          'Open-data portal home (no login): totals, newest open datasets, priority domains with data (SY Art 36), departments with counts',
      },
      config: read,
    },
    async () => service.home(ctx),
  );

  app.get(
    '/api/open/datasets',
    {
      schema: {
        tags: ['opening'],
        summary:
          'Search open datasets (no login; 无条件 and 依申请开放 only, never 不予开放): Chinese full text and facets department, domain, open type, format, update cycle',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            q: { type: 'string', maxLength: 100 },
            department: { type: 'array', maxItems: 20, items: { type: 'integer', minimum: 1 } },
            topic: { type: 'array', maxItems: 20, items: { type: 'string', maxLength: 50 } },
            domain: { type: 'string', enum: PRIORITY_DOMAINS.map((d) => d.key) },
            openType: { type: 'array', maxItems: 2, items: { type: 'string', enum: PUBLIC_OPEN_TYPES } },
            format: { type: 'array', maxItems: 10, items: { type: 'string', enum: FORMATS } },
            updateCycle: { type: 'array', maxItems: 10, items: { type: 'string', enum: UPDATE_CYCLES } },
            sort: { type: 'string', enum: ['relevance', 'name', 'updated'] },
            ...pageQueryProps,
            pageSize: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
          },
        },
      },
      config: read,
    },
    async (req) => {
      const q = req.query as Omit<service.OpenSearchInput, 'provider'> & { department?: number[] };
      return service.searchOpen(ctx, { ...q, provider: q.department });
    },
  );

  app.get(
    '/api/open/datasets/:id',
    {
      schema: {
        tags: ['opening'],
        summary: 'An open dataset: metadata, fields, download formats, API and usage (counts a view)',
        params: idParams,
      },
      config: read,
    },
    async (req) => service.dataset(ctx, (req.params as { id: number }).id),
  );

  app.get(
    '/api/open/datasets/:id/preview',
    {
      schema: {
        tags: ['opening'],
        summary:
          'The first rows of an open dataset, personal fields masked; audited with the client address. On-application datasets need an approved applicant (X-Api-Key or portal session) and the approved purpose (X-Purpose)',
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { purpose: { type: 'string', maxLength: 2000 } },
        },
      },
      config: read,
    },
    async (req) =>
      service.preview(ctx, await dataCallerOf(ctx, req, 'call'), (req.params as { id: number }).id),
  );

  app.get(
    '/api/open/datasets/:id/download',
    {
      schema: {
        tags: ['opening'],
        summary:
          'Download an open dataset as CSV (UTF-8 with BOM or GBK), XLSX or JSON, streamed; masked, audited, rate-limited per address and per open key. On-application datasets: an open API key (X-Api-Key) or portal session of an approved applicant, naming the approved purpose (X-Purpose or ?purpose=; XT Art 30)',
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            format: { type: 'string', enum: DOWNLOAD_FORMATS, default: 'csv' },
            purpose: { type: 'string', maxLength: 2000 },
          },
        },
      },
      config: { public: true, rateLimit: openRateLimit(ctx, 'download') },
    },
    async (req, reply) => {
      const { format } = req.query as { format: DownloadFormat };
      const d = await service.download(
        ctx,
        await dataCallerOf(ctx, req, 'download'),
        (req.params as { id: number }).id,
        format,
      );
      reply
        .type(d.type)
        .header('Cache-Control', 'no-store')
        .header(
          'Content-Disposition',
          `attachment; filename="${d.filename}"; filename*=UTF-8''${encodeURIComponent(`${d.title}.${d.filename.split('.').pop()}`)}`,
        );
      return reply.send(d.stream);
    },
  );
}
