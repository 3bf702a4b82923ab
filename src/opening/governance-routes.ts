import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { dateString, idParams, pageQueryProps } from '../http/schemas.js';
import { publishedOpenList } from '../inventory/service.js';
import * as gov from './governance.js';
import * as service from './service.js';

const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max, 'x-trim': true }) as const;
type Id = { id: number };
type Page = { page: number; pageSize: number };

/**
 * Governance of the open portal (src/opening/governance.ts): violations (XT Art 33), authorised operation (SY Art
 * 39–40) and the public lists (XT Art 28, SY Art 34). Console routes under /api/opening, public ones under /api/open.
 */
export async function openGovernanceRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  read: Record<string, unknown>,
) {
  const tags = ['opening'];

  // ------------------------------------------------------------------ public (no login)
  app.get(
    '/api/open/lists',
    {
      schema: {
        tags,
        summary:
          "Departments' open lists published after the confidentiality review (XT Art 28); where the profile asks, the basis of every not-open resource (SY Art 34)",
      },
      config: read,
    },
    async () => gov.portalOpenLists(ctx, await publishedOpenList(ctx)),
  );
  app.get(
    '/api/open/usage',
    {
      schema: {
        tags,
        summary:
          'Views, downloads and API calls of the listed open datasets over the last days: per department, top datasets, daily series',
        querystring: {
          type: 'object',
          properties: { days: { type: 'integer', minimum: 1, maximum: 366, default: 30 } },
        },
      },
      config: read,
    },
    async (req) => service.usage(ctx, (req.query as { days: number }).days),
  );
  app.get(
    '/api/open/violations',
    {
      schema: {
        tags,
        summary:
          "Published decisions restricting or closing users' access for misuse (XT Art 33); names masked",
      },
      config: read,
    },
    async () => gov.publishedMeasures(ctx),
  );
  app.get(
    '/api/open/operations',
    {
      schema: { tags, summary: 'Approved authorised operations of de-identified data (SY Art 39–40)' },
      config: read,
    },
    async () => gov.publishedOperations(ctx),
  );

  // ------------------------------------------------------------------ violations (console)
  app.get(
    '/api/opening/accounts',
    {
      schema: {
        tags,
        summary: 'Public accounts found by name or contact (the authority picks whom a measure concerns)',
        querystring: {
          type: 'object',
          properties: { q: { type: 'string', minLength: 1, maxLength: 100 } },
          required: ['q'],
        },
      },
    },
    async (req) => gov.findAccounts(ctx, requireActor(req), (req.query as { q: string }).q),
  );
  app.get(
    '/api/opening/restrictions',
    {
      schema: {
        tags,
        summary: 'Measures on public accounts (XT Art 33), newest first',
        querystring: { type: 'object', properties: { ...pageQueryProps } },
      },
    },
    async (req) => gov.listMeasures(ctx, requireActor(req), req.query as Page),
  );
  app.post(
    '/api/opening/restrictions',
    {
      schema: {
        tags,
        summary: "The authority restricts or closes a public account's access to data for misuse (XT Art 33)",
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            accountId: { type: 'integer', minimum: 1 },
            measure: { type: 'string', enum: ['restrict', 'close'] },
            reason: text(2000),
            until: { ...dateString, nullable: true },
            publish: { type: 'boolean' },
          },
          required: ['accountId', 'measure', 'reason'],
        },
      },
    },
    async (req, reply) => {
      const r = await gov.imposeMeasure(ctx, requireActor(req), req.body as gov.MeasureInput);
      reply.code(201);
      return r;
    },
  );
  app.post(
    '/api/opening/restrictions/:id/lift',
    {
      schema: {
        tags,
        summary: 'The authority lifts a measure',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: text(2000) },
          required: ['reason'],
        },
      },
    },
    async (req) =>
      gov.liftMeasure(ctx, requireActor(req), (req.params as Id).id, (req.body as { reason: string }).reason),
  );

  // ------------------------------------------------------------------ authorised operation (console)
  app.get(
    '/api/opening/operations',
    {
      schema: {
        tags,
        summary: 'Authorised operations (SY Art 39): my department’s; the authority and auditors see all',
        querystring: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: ['submitted', 'reviewed', 'approved', 'rejected', 'ended'] },
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) => gov.listOperations(ctx, requireActor(req), req.query as Page & { status?: string }),
  );
  app.post(
    '/api/opening/operations',
    {
      schema: {
        tags,
        summary:
          'A department applies to have a third party operate its cleansed, de-identified data (SY Art 39)',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            operatorName: text(200),
            operatorCode: { type: 'string', minLength: 18, maxLength: 18 },
            resourceIds: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, maxItems: 50 },
            scope: text(2000),
            deidentification: text(2000),
            termFrom: dateString,
            termTo: dateString,
          },
          required: [
            'operatorName',
            'operatorCode',
            'resourceIds',
            'scope',
            'deidentification',
            'termFrom',
            'termTo',
          ],
        },
      },
    },
    async (req, reply) => {
      const r = await gov.applyOperation(ctx, requireActor(req), req.body as gov.OperationInput);
      reply.code(201);
      return r;
    },
  );
  app.get(
    '/api/opening/operations/:id',
    { schema: { tags, summary: 'One authorised operation with its filings', params: idParams } },
    async (req) => gov.getOperation(ctx, requireActor(req), (req.params as Id).id),
  );
  app.post(
    '/api/opening/operations/:id/review',
    {
      schema: {
        tags,
        summary:
          "The data authority's review: pass it on for the government's approval, or reject it (SY Art 39)",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { pass: { type: 'boolean' }, comment: text(2000) },
          required: ['pass', 'comment'],
        },
      },
    },
    async (req) =>
      gov.reviewOperation(
        ctx,
        requireActor(req),
        (req.params as Id).id,
        req.body as { pass: boolean; comment: string },
      ),
  );
  app.post(
    '/api/opening/operations/:id/approval',
    {
      schema: {
        tags,
        summary:
          "The authority records the city government's decision with its document reference (SY Art 39)",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { approved: { type: 'boolean' }, approvalRef: text(200), approvedOn: dateString },
          required: ['approved', 'approvalRef', 'approvedOn'],
        },
      },
    },
    async (req) =>
      gov.recordApproval(
        ctx,
        requireActor(req),
        (req.params as Id).id,
        req.body as { approved: boolean; approvalRef: string; approvedOn: string },
      ),
  );
  app.post(
    '/api/opening/operations/:id/filings',
    {
      schema: {
        tags,
        summary: 'The supervising department files what the operator produced with the authority (SY Art 40)',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { title: text(200), description: text(2000) },
          required: ['title', 'description'],
        },
      },
    },
    async (req, reply) => {
      const r = await gov.fileProduct(
        ctx,
        requireActor(req),
        (req.params as Id).id,
        req.body as { title: string; description: string },
      );
      reply.code(201);
      return r;
    },
  );
  app.post(
    '/api/opening/operations/:id/end',
    {
      schema: {
        tags,
        summary: 'The department or the authority ends an approved operation',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: text(2000) },
          required: ['reason'],
        },
      },
    },
    async (req) =>
      gov.endOperation(
        ctx,
        requireActor(req),
        (req.params as Id).id,
        (req.body as { reason: string }).reason,
      ),
  );

  // ------------------------------------------------------------------ re-evaluation (console)
  app.get(
    '/api/opening/reevaluations',
    {
      schema: {
        tags,
        summary:
          'Open and on-application resources with the date their periodic re-evaluation falls due (SY Art 37): my department’s; the authority and auditors see all',
        querystring: { type: 'object', properties: { dueOnly: { type: 'boolean', default: false } } },
      },
    },
    async (req) => gov.reevaluations(ctx, requireActor(req), (req.query as { dueOnly: boolean }).dueOnly),
  );
  app.post(
    '/api/opening/reevaluations',
    {
      schema: {
        tags,
        summary:
          'The providing department records a re-evaluation: keep, widen or narrow the opening (SY Art 37)',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            resourceId: { type: 'integer', minimum: 1 },
            conclusion: { type: 'string', enum: ['keep', 'widen', 'narrow'] },
            comment: text(2000),
          },
          required: ['resourceId', 'conclusion', 'comment'],
        },
      },
    },
    async (req, reply) => {
      const r = await gov.recordReevaluation(
        ctx,
        requireActor(req),
        req.body as { resourceId: number; conclusion: 'keep' | 'widen' | 'narrow'; comment: string },
      );
      reply.code(201);
      return r;
    },
  );
}
