import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { clearSessionCookie, requireActor, setSessionCookie } from '../http/auth.js';
import * as accounts from './accounts.js';
import { OPEN_SESSION_COOKIE } from './accounts.js';
import * as applications from './applications.js';
import { MAX_GRANT_DAYS } from './applications.js';
import * as notices from './notices.js';
import { openRateLimit } from './routes.js';

/*
 * Public accounts and on-application requests (issue 11 points 3–4). `/api/open/account/…` and
 * `/api/open/applications/…` are public routes (no staff session) that read the portal's own session cookie
 * `gs_open`; `/api/opening/applications/…` are console routes for the provider department and the authority.
 */
const idParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1 } },
  required: ['id'],
} as const;

const text = (max: number, min = 0) =>
  ({ type: 'string', minLength: min, maxLength: max, 'x-trim': true }) as const;

export async function accountRoutes(app: FastifyInstance, ctx: AppContext) {
  const read = { public: true, rateLimit: openRateLimit(ctx, 'read') };
  const tags = ['opening'];

  app.post(
    '/api/open/account/register',
    {
      schema: {
        tags,
        summary:
          'Register a public account (citizen or company) with an e-mail address or mobile number and a password; the identity check is pluggable; limited per address',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            contact: text(100, 3),
            password: { type: 'string', minLength: 1, maxLength: 256 },
            displayName: text(100, 1),
            accountType: { type: 'string', enum: ['citizen', 'company'] },
          },
          required: ['contact', 'password', 'displayName', 'accountType'],
        },
      },
      config: read,
    },
    async (req) => accounts.register(ctx, req.ip, req.body as Parameters<typeof accounts.register>[2]),
  );

  app.post(
    '/api/open/account/login',
    {
      schema: {
        tags,
        summary:
          'Sign in to the portal with a public account; sets the httpOnly portal session cookie gs_open',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            contact: { type: 'string', minLength: 1, maxLength: 100 },
            password: { type: 'string', minLength: 1, maxLength: 256 },
          },
          required: ['contact', 'password'],
        },
      },
      config: {
        public: true,
        rateLimit: {
          max: ctx.config.loginRateLimitPerMinute,
          timeWindow: '1 minute',
          hook: 'preHandler',
          keyGenerator: (req: { ip: string; body?: unknown }) =>
            `open|${req.ip}|${String((req.body as { contact?: string } | undefined)?.contact ?? '').slice(0, 100)}`,
        },
      },
    },
    async (req, reply) => {
      const { contact, password } = req.body as { contact: string; password: string };
      const { token, expires, accountId } = await accounts.login(ctx, contact, password, req.ip);
      setSessionCookie(ctx, reply, token, expires, OPEN_SESSION_COOKIE);
      return accounts.accountOf(ctx, accountId);
    },
  );

  app.post(
    '/api/open/account/logout',
    { schema: { tags, summary: 'Sign out of the portal' }, config: { public: true } },
    async (req, reply) => {
      const token = req.cookies?.[OPEN_SESSION_COOKIE];
      if (token) await accounts.logout(ctx, token);
      clearSessionCookie(ctx, reply, OPEN_SESSION_COOKIE);
      return { ok: true };
    },
  );

  app.get(
    '/api/open/account',
    {
      schema: { tags, summary: 'The signed-in public account (401 OPEN_ACCOUNT_REQUIRED when none)' },
      config: read,
    },
    async (req) => accounts.accountOf(ctx, (await accounts.requireAccount(ctx, req)).id),
  );

  app.get(
    '/api/open/account/keys',
    {
      schema: {
        tags,
        summary: "The account's open API keys (prefix and state; the secret is shown once at creation)",
      },
      config: read,
    },
    async (req) => ({ items: await accounts.listKeys(ctx, await accounts.requireAccount(ctx, req)) }),
  );

  app.post(
    '/api/open/account/keys',
    {
      schema: {
        tags,
        summary:
          'Create an open API key (256-bit, stored as SHA-256; returned once); at most 10 active per account',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { name: text(50, 1) },
          required: ['name'],
        },
      },
      config: read,
    },
    async (req) =>
      accounts.createKey(
        ctx,
        await accounts.requireAccount(ctx, req),
        req.ip,
        (req.body as { name: string }).name,
      ),
  );

  app.post(
    '/api/open/account/keys/:id/revoke',
    {
      schema: { tags, summary: 'Revoke an open API key (takes effect at once)', params: idParams },
      config: read,
    },
    async (req) =>
      accounts.revokeKey(
        ctx,
        await accounts.requireAccount(ctx, req),
        req.ip,
        (req.params as { id: number }).id,
      ),
  );

  app.get(
    '/api/open/account/downloads',
    { schema: { tags, summary: "The account's recent downloads (newest 100)" }, config: read },
    async (req) => ({ items: await accounts.myDownloads(ctx, await accounts.requireAccount(ctx, req)) }),
  );

  app.get(
    '/api/open/account/notices',
    {
      schema: {
        tags,
        summary:
          "The account's inbox: application and review decisions, access restrictions, grants about to expire (newest 50) and the unread count",
      },
      config: read,
    },
    async (req) => notices.myNotices(ctx, await accounts.requireAccount(ctx, req)),
  );

  app.post(
    '/api/open/account/notices/:id/read',
    { schema: { tags, summary: 'Mark one notice read', params: idParams }, config: read },
    async (req) =>
      notices.markNoticesRead(
        ctx,
        await accounts.requireAccount(ctx, req),
        (req.params as { id: number }).id,
      ),
  );

  app.post(
    '/api/open/account/notices/read-all',
    { schema: { tags, summary: 'Mark every notice read' }, config: read },
    async (req) => notices.markNoticesRead(ctx, await accounts.requireAccount(ctx, req), 'all'),
  );

  app.get(
    '/api/open/applications',
    {
      schema: { tags, summary: "我的申请: the account's on-application requests, state and due date" },
      config: read,
    },
    async (req) => applications.myApplications(ctx, await accounts.requireAccount(ctx, req)),
  );

  app.post(
    '/api/open/applications',
    {
      schema: {
        tags,
        summary:
          "Apply for an on-application open dataset (依申请开放), stating what the profile requires (SY Art 34: purpose, scenario, security measures; XT Art 30: purpose); due date from the profile's reply deadline",
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            resourceId: { type: 'integer', minimum: 1 },
            purpose: text(500, 1),
            scenario: text(1000),
            securityMeasures: text(1000),
          },
          required: ['resourceId', 'purpose'],
        },
      },
      config: read,
    },
    async (req) =>
      applications.apply(
        ctx,
        await accounts.requireAccount(ctx, req),
        req.ip,
        req.body as applications.ApplicationInput,
      ),
  );

  app.post(
    '/api/open/applications/:id/review',
    {
      schema: {
        tags,
        summary: 'Ask the data authority to review a refusal (SY Art 47(7))',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: text(1000, 2) },
          required: ['reason'],
        },
      },
      config: read,
    },
    async (req) =>
      applications.requestReview(
        ctx,
        await accounts.requireAccount(ctx, req),
        req.ip,
        (req.params as { id: number }).id,
        (req.body as { reason: string }).reason,
      ),
  );

  // console (staff session)
  app.get(
    '/api/opening/applications',
    {
      schema: {
        tags,
        summary:
          "On-application requests: the department's (data officer) or all (the authority), with due dates and what the caller may do",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: {
              type: 'string',
              enum: ['pending', 'approved', 'refused', 'reviewPending', 'reviewApproved', 'reviewUpheld'],
            },
          },
        },
      },
    },
    async (req) =>
      applications.departmentApplications(
        ctx,
        requireActor(req),
        (req.query as { status?: Parameters<typeof applications.departmentApplications>[2] }).status,
      ),
  );

  app.post(
    '/api/opening/applications/:id/decision',
    {
      schema: {
        tags,
        summary:
          "The provider's data officer approves (a grant for grantDays, default 180) or refuses with a reason (SY Art 34)",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            decision: { type: 'string', enum: ['approve', 'refuse'] },
            reason: text(1000),
            grantDays: { type: 'integer', minimum: 1, maximum: MAX_GRANT_DAYS },
          },
          required: ['decision'],
        },
      },
    },
    async (req) =>
      applications.decide(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        req.body as Parameters<typeof applications.decide>[3],
      ),
  );

  app.post(
    '/api/opening/applications/:id/review-decision',
    {
      schema: {
        tags,
        summary: 'The data authority decides a review: approve (grant) or uphold the refusal (SY Art 47)',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            decision: { type: 'string', enum: ['approve', 'uphold'] },
            comment: text(1000, 2),
            grantDays: { type: 'integer', minimum: 1, maximum: MAX_GRANT_DAYS },
          },
          required: ['decision', 'comment'],
        },
      },
    },
    async (req) =>
      applications.decideReview(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        req.body as Parameters<typeof applications.decideReview>[3],
      ),
  );
}
