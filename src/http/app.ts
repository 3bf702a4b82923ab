import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { recordHttpRefusal } from '../audit/refusals.js';
import { auditRoutes } from '../audit/routes.js';
import { calendarRoutes } from '../calendar/routes.js';
import { catalogRoutes } from '../catalog/routes.js';
import type { AppContext } from '../context.js';
import { demoRoutes } from '../demo/routes.js';
import { ingestRoutes } from '../ingest/routes.js';
import { orgRoutes } from '../orgs/routes.js';
import { serviceRoutes } from '../service/routes.js';
import { sharingRoutes } from '../sharing/routes.js';
import { statsRoutes } from '../stats/routes.js';
import { resolveActor } from './auth.js';
import { AppError, type ErrorDetail, HTTP_STATUS } from './errors.js';
import { errorResponses } from './schemas.js';

// ajv-i18n is CommonJS whose typings claim an ES default export; load it the CommonJS way.
const localizeZh = createRequire(import.meta.url)('ajv-i18n/localize/zh') as (errors: unknown[]) => void;

export interface BuildOptions {
  logger?: boolean | { level: string };
  /** Shared rate-limit state for several nodes; in-process when absent. */
  redis?: Redis | null;
}

function validationDetails(err: FastifyError): ErrorDetail[] {
  const zh = (err.validation ?? []).map((v) => ({ ...v }));
  localizeZh(zh);
  return (err.validation ?? []).map((v, i) => {
    const params = v.params as { missingProperty?: string; additionalProperty?: string };
    const base = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const prop = params.missingProperty ?? params.additionalProperty;
    const field = [err.validationContext === 'body' ? '' : err.validationContext, base, prop]
      .filter(Boolean)
      .join('.');
    return {
      field: field || err.validationContext || undefined,
      reason: v.message ?? 'invalid',
      reasonZh: zh[i].message ?? undefined,
    };
  });
}

export async function buildApp(ctx: AppContext, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: 200 * 1024 * 1024,
    trustProxy: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  });

  app.setErrorHandler(async (err: FastifyError | AppError, req, reply) => {
    let e: AppError;
    if (err instanceof AppError) e = err;
    else if ((err as FastifyError).validation)
      e = new AppError('VALIDATION_FAILED', validationDetails(err as FastifyError));
    else if ((err as FastifyError).statusCode === 429) e = new AppError('RATE_LIMITED');
    else if ((err as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      e = new AppError('PAYLOAD_TOO_LARGE');
    else if ((err as FastifyError).statusCode && (err as FastifyError).statusCode! < 500) {
      e = new AppError('VALIDATION_FAILED', [{ reason: err.message }]);
    } else {
      req.log.error(err);
      e = new AppError('INTERNAL');
    }
    // Every refusal is audited (bounded, aggregated) before its answer goes out; this call never throws.
    await recordHttpRefusal(ctx, req, e.code, HTTP_STATUS[e.code]);
    return reply.code(HTTP_STATUS[e.code]).send(e.toJSON());
  });

  app.setNotFoundHandler((req, reply) => {
    const indexHtml = path.join(ctx.config.webDir, 'index.html');
    if (req.method === 'GET' && !req.url.startsWith('/api') && fs.existsSync(indexHtml)) {
      return reply.type('text/html').send(fs.createReadStream(indexHtml));
    }
    const e = new AppError('NOT_FOUND', [{ reason: `${req.method} ${req.url.split('?')[0]}` }]);
    return reply.code(404).send(e.toJSON());
  });

  app.addContentTypeParser(
    ['text/csv', 'text/plain', 'application/csv'],
    { parseAs: 'buffer' },
    (_req, body, done) => done(null, body),
  );

  await app.register(cookie);
  await app.register(rateLimit, {
    global: false,
    redis: opts.redis ?? undefined,
    errorResponseBuilder: (_req, c) => new AppError('RATE_LIMITED', [{ reason: `retry in ${c.after}` }]),
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'govshare API',
        version: '0.1.0',
        description:
          '政务数据目录、汇聚、共享与开放平台 API. Console routes use the session cookie; /api/v1/data routes use an app API key (X-Api-Key). Every error is {code, message, messageEn, details[]}.',
      },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'gs_session' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });

  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/') || route.url.startsWith('/api/docs')) return;
    route.schema = {
      ...route.schema,
      response: { ...errorResponses, ...(route.schema?.response as object) },
    };
  });

  // Conservative browser protections; the console's CSS-in-JS needs inline styles, so no strict CSP here yet.
  app.addHook('onSend', async (_req, reply) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Referrer-Policy', 'same-origin');
  });

  app.addHook('onRequest', async (req) => {
    req.actor = null;
    if (req.url.startsWith('/api/') && !req.url.startsWith('/api/v1/') && req.cookies) {
      req.actor = await resolveActor(ctx, req);
    }
  });

  app.get(
    '/api/health',
    { schema: { tags: ['platform'], summary: 'Ready when the database answers' } },
    async () => {
      await ctx.db.selectFrom('org').select('id').limit(1).execute();
      return { status: 'ok', database: ctx.database.kind, profile: ctx.profile.id };
    },
  );
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  for (const routes of [
    orgRoutes,
    catalogRoutes,
    ingestRoutes,
    sharingRoutes,
    serviceRoutes,
    auditRoutes,
    statsRoutes,
    calendarRoutes,
    demoRoutes,
  ]) {
    await routes(app, ctx);
  }

  if (fs.existsSync(ctx.config.webDir)) {
    await app.register(fastifyStatic, {
      root: ctx.config.webDir,
      prefix: '/',
      wildcard: false,
      index: ['index.html'],
    });
  }
  return app;
}
