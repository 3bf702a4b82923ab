import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { clearSessionCookie, requireActor, SESSION_COOKIE, setSessionCookie } from '../http/auth.js';
import { idParams } from '../http/schemas.js';
import { completeSetup } from './bootstrap.js';
import * as service from './service.js';
import * as store from './store.js';

export async function orgRoutes(app: FastifyInstance, ctx: AppContext) {
  app.post(
    '/api/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in; sets the httpOnly session cookie',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 64 },
            password: { type: 'string', minLength: 1, maxLength: 256 },
          },
          required: ['username', 'password'],
        },
      },
      config: {
        public: true,
        rateLimit: {
          max: ctx.config.loginRateLimitPerMinute,
          timeWindow: '1 minute',
          // after body parsing, so the key can include the username
          hook: 'preHandler',
          keyGenerator: (req: { ip: string; body?: unknown }) =>
            `${req.ip}|${String((req.body as { username?: string } | undefined)?.username ?? '')}`,
        },
      },
    },
    async (req, reply) => {
      const { username, password } = req.body as { username: string; password: string };
      const { token, expires, userId } = await service.login(ctx, username, password, req.ip);
      setSessionCookie(ctx, reply, token, expires);
      return service.me(ctx, userId);
    },
  );

  app.post(
    '/api/setup/admin',
    {
      schema: {
        tags: ['auth'],
        summary:
          'First start without an administrator: create the platform admin with the one-time setup token printed at start (works once, then SETUP_INVALID)',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            token: { type: 'string', minLength: 1, maxLength: 200 },
            username: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_.-]{2,63}$' },
            password: { type: 'string', minLength: 1, maxLength: 256 },
            displayName: { type: 'string', minLength: 1, maxLength: 100, 'x-trim': true },
          },
          required: ['token', 'username', 'password'],
        },
      },
      config: {
        public: true,
        rateLimit: {
          max: 10,
          timeWindow: '1 minute',
          keyGenerator: (req: { ip: string }) => `setup|${req.ip}`,
        },
      },
    },
    async (req, reply) => {
      const created = await completeSetup(
        ctx,
        req.body as { token: string; username: string; password: string; displayName?: string },
        req.ip,
      );
      reply.code(201);
      return created;
    },
  );

  app.post(
    '/api/auth/logout',
    { schema: { tags: ['auth'], summary: 'Sign out' }, config: { public: true } },
    async (req, reply) => {
      const token = req.cookies[SESSION_COOKIE];
      if (token) await service.logout(ctx, token);
      clearSessionCookie(ctx, reply);
      return { ok: true };
    },
  );

  app.get(
    '/api/auth/me',
    { schema: { tags: ['auth'], summary: 'The signed-in user, org, roles and active profile' } },
    async (req) => {
      const actor = requireActor(req);
      return service.me(ctx, actor.id);
    },
  );

  app.get(
    '/api/orgs',
    { schema: { tags: ['orgs'], summary: 'Organisations with their sections' } },
    async (req) => {
      requireActor(req);
      return store.listOrgsWithSections(ctx.db);
    },
  );

  app.get(
    '/api/jurisdictions',
    { schema: { tags: ['orgs'], summary: 'Jurisdictions (GB/T 2260 codes)' } },
    async (req) => {
      requireActor(req);
      return ctx.db.selectFrom('jurisdiction').selectAll().orderBy('code').execute();
    },
  );

  app.get(
    '/api/apps',
    { schema: { tags: ['apps'], summary: "The caller's organisation's apps" } },
    async (req) => {
      return service.listApps(ctx, requireActor(req));
    },
  );

  app.post(
    '/api/apps',
    {
      schema: {
        tags: ['apps'],
        summary: 'Register an app; the API key is returned only in this response',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100, 'x-trim': true },
            description: { type: 'string', maxLength: 1000 },
          },
          required: ['name'],
        },
      },
    },
    async (req, reply) => {
      const created = await service.createApp(
        ctx,
        requireActor(req),
        req.body as { name: string; description?: string },
      );
      reply.code(201);
      return created;
    },
  );

  app.post(
    '/api/apps/:id/revoke',
    {
      schema: {
        tags: ['apps'],
        summary: 'Revoke an app and its key, effective immediately',
        params: idParams,
      },
    },
    async (req) => service.revokeApp(ctx, requireActor(req), (req.params as { id: number }).id),
  );

  app.post(
    '/api/apps/:id/rotate-key',
    {
      schema: {
        tags: ['apps'],
        summary:
          "Rotate an app's API key: the new key is answered once; the old key keeps working for the overlap (overlapHours, default API_KEY_ROTATION_OVERLAP_HOURS) and then stops. Audited.",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            overlapHours: {
              type: 'integer',
              minimum: 0,
              maximum: service.KEY_ROTATION_MAX_OVERLAP_HOURS,
              description: 'hours the old key keeps working (0: it stops at once)',
            },
          },
        },
      },
    },
    async (req) =>
      service.rotateAppKey(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        (req.body ?? {}) as { overlapHours?: number },
      ),
  );
}
