import fs from 'node:fs';
import { createRequire } from 'node:module';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Redis } from 'ioredis';
import { recordHttpRefusal } from '../audit/refusals.js';
import { auditRoutes } from '../audit/routes.js';
import { baselibRoutes } from '../baselib/routes.js';
import { clockRoutes } from '../calendar/clock-routes.js';
import { calendarRoutes } from '../calendar/routes.js';
import { catalogRoutes } from '../catalog/routes.js';
import type { AppContext } from '../context.js';
import { accessRoutes } from '../dataapi/access.js';
import { API_KEY_MAX_LENGTH, dataApiRoutes } from '../dataapi/routes.js';
import { isDatabaseExhausted, isDatabaseUnavailable } from '../db/index.js';
import { demoRoutes } from '../demo/routes.js';
import { evaluationRoutes } from '../evaluation/routes.js';
import { ingestRoutes } from '../ingest/routes.js';
import { inventoryRoutes } from '../inventory/routes.js';
import { notifyRoutes } from '../notify/routes.js';
import { openingRoutes } from '../opening/routes.js';
import { orgRoutes } from '../orgs/routes.js';
import { appOfKeyHash } from '../orgs/store.js';
import { userRoutes } from '../orgs/user-routes.js';
import { qualityRoutes } from '../quality/routes.js';
import { incidentRoutes } from '../security/incident-routes.js';
import { keyRoutes } from '../security/key-routes.js';
import { securityRoutes } from '../security/routes.js';
import { sha256Hex } from '../shared/secrets.js';
import { bulkGrantRoutes } from '../sharing/bulk.js';
import { sharingCaseRoutes } from '../sharing/case-routes.js';
import { sharingRoutes } from '../sharing/routes.js';
import { statsRoutes } from '../stats/routes.js';
import { supervisionRoutes } from '../supervision/routes.js';
import { usageRoutes } from '../usage/routes.js';
import { workRoutes } from '../work/routes.js';
import { boundIntegers, trimKeyword } from './ajv.js';
import { resolveActor } from './auth.js';
import { consoleIndex } from './console.js';
import { AppError, type ErrorDetail, HTTP_STATUS } from './errors.js';
import { guardRequestText } from './guard.js';
import { pinClientIp, trustProxyOption } from './ip.js';
import { checkOrigin } from './origin.js';
import { errorResponses, noBody, rawBody } from './schemas.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route answers without a session. Every other /api/ route (except the API-key routes /api/v1/)
     * requires one, checked before the body is parsed or validated. Exactly `config: { public: true }`.
     */
    public?: boolean;
  }
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Longest path parameter (e.g. a record key); longer ones are 414 URI_TOO_LONG. */
const MAX_PARAM_LENGTH = 256;

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
      reasonZh: v.keyword === 'x-trim' ? '不能为空白' : (zh[i].message ?? undefined),
    };
  });
}

const MiB = (n: number) => `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 1 : 0)} MiB`;

/** Every error, ours or Fastify's, as an AppError: one body shape `{code, message, messageEn, details}`. */
export function toAppError(err: unknown, req: FastifyRequest, ctx: AppContext): AppError {
  if (err instanceof AppError) return err;
  if (isDatabaseUnavailable(err)) {
    req.log.warn({ err }, 'database unavailable');
    return new AppError('DATABASE_UNAVAILABLE');
  }
  if (isDatabaseExhausted(err)) {
    req.log.error({ err }, 'database out of resources');
    return new AppError('DATABASE_RESOURCES_EXHAUSTED');
  }
  const fe = err as FastifyError;
  if (fe?.validation) return new AppError('VALIDATION_FAILED', validationDetails(fe));
  const status = fe?.statusCode;
  switch (fe?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const ct = String(req.headers['content-type'] ?? '');
      const limit = req.routeOptions?.bodyLimit ?? ctx.config.jsonBodyLimit;
      if (
        /^((text|application)\/csv|application\/octet-stream|application\/vnd\.openxmlformats-officedocument\.spreadsheetml)\b/i.test(
          ct,
        )
      )
        return new AppError('UPLOAD_TOO_LARGE', [
          {
            field: 'body',
            reason: `the file is larger than the ${MiB(limit)} upload limit; split it into smaller files and upload each`,
            reasonZh: `文件超过 ${MiB(limit)} 的上传上限，请拆分为多个较小的文件分别上传`,
          },
        ]);
      return new AppError('PAYLOAD_TOO_LARGE', [
        {
          field: 'body',
          reason: `the request body is larger than ${limit} bytes`,
          reasonZh: `请求内容超过 ${limit} 字节`,
        },
      ]);
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', [
        {
          field: 'Content-Type',
          reason: `${String(req.headers['content-type'] ?? 'no content type').slice(0, 100)} is not accepted here`,
          reasonZh: `此接口不接受 ${String(req.headers['content-type'] ?? '缺少内容类型').slice(0, 100)}`,
        },
      ]);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError('URI_TOO_LONG', [
        {
          reason: `a path parameter is longer than ${MAX_PARAM_LENGTH} characters`,
          reasonZh: `路径参数超过 ${MAX_PARAM_LENGTH} 个字符`,
        },
      ]);
    case 'FST_ERR_BAD_URL':
      return new AppError('VALIDATION_FAILED', [
        {
          field: 'url',
          reason: 'the URL is not valid percent-encoding',
          reasonZh: '请求地址的百分号编码不合法',
        },
      ]);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('VALIDATION_FAILED', [
        { field: 'body', reason: 'the JSON body is empty', reasonZh: '请求体为空，应为 JSON' },
      ]);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('VALIDATION_FAILED', [
        { field: 'body', reason: 'the body is not valid JSON', reasonZh: '请求体不是合法的 JSON' },
      ]);
  }
  if (status === 429) return new AppError('RATE_LIMITED');
  if (status === 413) return new AppError('PAYLOAD_TOO_LARGE');
  if (status === 414) return new AppError('URI_TOO_LONG');
  if (status === 415) return new AppError('UNSUPPORTED_MEDIA_TYPE');
  if (err instanceof SyntaxError && status === 400)
    return new AppError('VALIDATION_FAILED', [
      {
        field: 'body',
        reason: `the body is not valid JSON: ${err.message}`,
        reasonZh: '请求体不是合法的 JSON',
      },
    ]);
  if (status && status >= 400 && status < 500)
    return new AppError('VALIDATION_FAILED', [
      {
        reason: String(fe.message).slice(0, 200),
        reasonZh: `请求不合法：${String(fe.message).slice(0, 200)}`,
      },
    ]);
  req.log.error(err);
  return new AppError('INTERNAL');
}

/**
 * Refused calls without a session, per client address and minute: past `ANON_REFUSAL_LIMIT` they are answered
 * 429 at once, and only the first of them and then one in a hundred (standing for a hundred) reach the audit
 * tally, so a flood costs neither a database write per request nor audit rows. Counting failures never refuse.
 */
async function anonymousFlood(
  ctx: AppContext,
  ip: string,
): Promise<{ error: AppError; record: number } | null> {
  const limit = ctx.config.anonRefusalsPerMinute;
  if (limit <= 0) return null;
  let n: number;
  try {
    [n] = await ctx.counters.add([{ key: `anon:${ip}:${Math.floor(Date.now() / 60_000)}`, ttlSeconds: 120 }]);
  } catch {
    return null;
  }
  if (n <= limit) return null;
  const over = n - limit;
  const error = new AppError('RATE_LIMITED', [
    {
      reason: `more than ${limit} refused requests without a session from this address in a minute`,
      reasonZh: `本地址一分钟内未登录被拒绝的请求超过 ${limit} 次`,
    },
  ]);
  return { error, record: over === 1 ? 1 : (over - 1) % 100 === 0 ? 100 : 0 };
}

/**
 * The app whose key a refused data call presented, for its audit row: only data-API calls without a session, only a
 * key of the length the routes accept (`x-api-key` ≤ 200 characters), of which only the SHA-256 is used (nothing of
 * the caller's text is stored). One indexed lookup on the refusal path — never on a served call, whose app the governed
 * statement finds — and refusals without a session are already bounded per address (anonymousFlood). Never throws.
 */
async function refusedCallApp(ctx: AppContext, req: FastifyRequest) {
  if (req.actor || !req.url.startsWith('/api/v1/data/')) return null;
  const key = req.headers['x-api-key'];
  if (typeof key !== 'string' || key.length === 0 || key.length > API_KEY_MAX_LENGTH) return null;
  try {
    return await appOfKeyHash(ctx.db, sha256Hex(key));
  } catch {
    return null;
  }
}

export async function buildApp(ctx: AppContext, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const sendError = async (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    let e = toAppError(err, req, ctx);
    let times = 1;
    if (e.code === 'DATABASE_UNAVAILABLE') reply.header('Retry-After', '5');
    const status = HTTP_STATUS[e.code];
    if (!req.actor && !e.audited && status >= 400 && status < 500) {
      // A flood of refused calls without a session is answered 429 past the limit, and recorded in hundreds
      const flood = await anonymousFlood(ctx, req.ip);
      if (flood) {
        e = flood.error;
        times = flood.record;
        if (times === 0) return reply.code(HTTP_STATUS[e.code]).send(e.toJSON());
      }
    }
    // Every refusal is audited (bounded, aggregated) before its answer goes out, unless the use case that refused
    // already wrote its own deny record; this call never throws. A data call refused before its statement (malformed
    // input: VALIDATION_FAILED, FILTER_*, AGGREGATE_*…) names the app its key belongs to, so per-app denial alerts and
    // usage count it.
    if (!e.audited) {
      // not for rate refusals: an app over its rate is named already (byApp), and an address guessing keys is refused
      // without a lookup (src/dataapi/guards.ts)
      const refusedCall = e.appId === null && e.code !== 'RATE_LIMITED' && HTTP_STATUS[e.code] < 500;
      const app = refusedCall ? await refusedCallApp(ctx, req) : null;
      await recordHttpRefusal(
        ctx,
        req,
        e.code,
        HTTP_STATUS[e.code],
        times,
        e.appId ?? app?.id ?? null,
        app?.orgId,
      );
    }
    // a tampered ciphertext is audited by the keyring (key.tamper) before the answer goes out
    if (e.code === 'FIELD_INTEGRITY_FAILED') await ctx.fieldKeys.settle();
    return reply.code(HTTP_STATUS[e.code]).send(e.toJSON());
  };
  const app = Fastify({
    logger: opts.logger ?? false,
    // JSON bodies; the CSV upload route sets its own (UPLOAD_MAX_BYTES)
    bodyLimit: ctx.config.jsonBodyLimit,
    trustProxy: trustProxyOption(ctx.config.trustProxy),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // errors Fastify raises before routing (bad percent-encoding, a too-long parameter) in our error shape
    frameworkErrors: (err, req, reply) => {
      pinClientIp(req);
      void sendError(err, req, reply);
    },
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true },
      plugins: [trimKeyword],
    },
  });

  app.setErrorHandler((err, req, reply) => sendError(err, req, reply));

  // The console's index.html with a per-response CSP nonce, for / and every client-side route.
  const sendIndex = consoleIndex(ctx.config.webDir);
  app.setNotFoundHandler((req, reply) => {
    if ((req.method === 'GET' || req.method === 'HEAD') && !req.url.startsWith('/api') && sendIndex)
      return sendIndex(reply);
    const route = `${req.method} ${req.url.split('?')[0]}`;
    const e = new AppError('NOT_FOUND', [{ reason: route, reasonZh: `接口不存在：${route}` }]);
    return reply.code(404).send(e.toJSON());
  });

  // Before any plugin registers routes (swagger-ui's /api/docs are public).
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/api/docs')) {
      route.config = { ...route.config, public: true };
      return;
    }
    if (!route.url.startsWith('/api/')) return;
    const schema = { ...route.schema };
    // a write route without a body schema (and no raw upload: `consumes`) takes no body, not any body
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!schema.body && methods.some((m) => WRITE_METHODS.has(m)))
      schema.body = schema.consumes ? rawBody : noBody;
    for (const part of ['body', 'querystring', 'params'] as const)
      if (schema[part]) schema[part] = boundIntegers(schema[part]);
    schema.response = { ...errorResponses, ...(schema.response as object) };
    route.schema = schema;
  });

  await app.register(cookie);
  await app.register(rateLimit, {
    global: false,
    redis: opts.redis ?? undefined,
    errorResponseBuilder: (_req, c) =>
      new AppError('RATE_LIMITED', [
        { reason: `retry in ${c.after}`, reasonZh: `请在 ${Math.max(1, Math.ceil(c.ttl / 1000))} 秒后重试` },
      ]),
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

  app.addHook('onSend', async (_req, reply) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Referrer-Policy', 'same-origin');
  });

  // Order matters: the client address first, then CSRF, then the session, all before the body is read.
  app.addHook('onRequest', async (req) => {
    pinClientIp(req);
    checkOrigin(req, ctx.config.allowedOrigins);
    req.actor = null;
    if (!req.url.startsWith('/api/') || req.url.startsWith('/api/v1/')) return;
    if (req.cookies) req.actor = await resolveActor(ctx, req);
    if (!req.actor && !req.routeOptions.config?.public && !req.is404) throw new AppError('UNAUTHENTICATED');
  });

  // NUL, lone surrogates, controls, bidi and zero-width characters in params, query and JSON body: 400.
  app.addHook('preValidation', async (req) => guardRequestText(req));

  app.get(
    '/api/health',
    { schema: { tags: ['platform'], summary: 'Ready when the database answers' }, config: { public: true } },
    async () => {
      await ctx.db.selectFrom('org').select('id').limit(1).execute();
      return { status: 'ok', database: ctx.database.kind, profile: ctx.profile.id };
    },
  );
  app.get('/api/openapi.json', { schema: { hide: true }, config: { public: true } }, async () =>
    app.swagger(),
  );

  // Fastify parses text/plain by default: a cross-site <form enctype="text/plain"> could then post JSON-looking
  // text without a CORS preflight. JSON only, everywhere.
  app.removeContentTypeParser('text/plain');
  // Raw CSV / NDJSON / XLSX bodies only for the ingest routes (their own encapsulated scopes); elsewhere 415.
  await ingestRoutes(app, ctx);

  for (const routes of [
    orgRoutes,
    userRoutes,
    incidentRoutes,
    catalogRoutes,
    sharingRoutes,
    sharingCaseRoutes,
    bulkGrantRoutes,
    accessRoutes,
    dataApiRoutes,
    auditRoutes,
    statsRoutes,
    calendarRoutes,
    clockRoutes,
    demoRoutes,
    notifyRoutes,
    securityRoutes,
    keyRoutes,
    workRoutes,
    inventoryRoutes,
    qualityRoutes,
    openingRoutes,
    usageRoutes,
    evaluationRoutes,
    baselibRoutes,
    supervisionRoutes,
  ]) {
    await routes(app, ctx);
  }

  if (fs.existsSync(ctx.config.webDir)) {
    await app.register(fastifyStatic, {
      root: ctx.config.webDir,
      prefix: '/',
      wildcard: false,
      // index.html is served by the not-found handler above, with its CSP nonce
      index: false,
      globIgnore: ['index.html'],
    });
  }
  return app;
}
