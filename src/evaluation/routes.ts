import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { openRateLimit } from '../opening/routes.js';
import { INDICATORS } from './model.js';
import {
  currentModel,
  drawCheck,
  getRun,
  listChecks,
  listRuns,
  MAX_DRAW,
  orgResult,
  portalResults,
  publishRun,
  recordCheck,
  requestRun,
  saveModel,
  setOnPortal,
} from './service.js';

const idParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1 } },
  required: ['id'],
} as const;

/** Department evaluation (issue 12 point 5; DG Art 35–36, SY Art 12). */
export async function evaluationRoutes(app: FastifyInstance, ctx: AppContext) {
  const tags = ['evaluation'];
  const id = (req: { params: unknown }) => (req.params as { id: number }).id;
  app.get(
    '/api/evaluation/model',
    {
      schema: {
        tags,
        summary: 'The scoring model in force: indicators and weights (the default until changed)',
      },
    },
    async (req) => {
      requireActor(req);
      return currentModel(ctx);
    },
  );
  app.put(
    '/api/evaluation/model',
    {
      schema: {
        tags,
        summary:
          "Replaces the scoring model (the authority's reviewers); runs keep the model they were computed with; audited",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'indicators'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100 },
            indicators: {
              type: 'array',
              minItems: 1,
              maxItems: INDICATORS.length,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['code', 'weight'],
                properties: {
                  code: { type: 'string', enum: [...INDICATORS] },
                  weight: { type: 'number', minimum: 0, maximum: 100 },
                },
              },
            },
          },
        },
      },
    },
    async (req) => saveModel(ctx, requireActor(req), req.body as Parameters<typeof saveModel>[2]),
  );
  app.post(
    '/api/evaluation/runs',
    {
      schema: {
        tags,
        summary:
          'Evaluates every department over a quarter (YYYY-Qn) or a year (YYYY) as a job; the result is a draft until published (DG Art 36); audited',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['period'],
          properties: { period: { type: 'string', pattern: '^[0-9]{4}(-Q[1-4])?$' } },
        },
      },
    },
    async (req, reply) => {
      const r = await requestRun(ctx, requireActor(req), (req.body as { period: string }).period);
      return reply.code(202).send(r);
    },
  );
  app.get(
    '/api/evaluation/runs',
    {
      schema: {
        tags,
        summary: 'Evaluation runs: all to the authority and auditors, published ones to departments',
      },
    },
    async (req) => listRuns(ctx, requireActor(req)),
  );
  app.get(
    '/api/evaluation/runs/:id',
    {
      schema: {
        tags,
        summary: "A run's ranking: every department's total, rank and indicator scores",
        params: idParams,
      },
    },
    async (req) => getRun(ctx, requireActor(req), id(req)),
  );
  app.get(
    '/api/evaluation/runs/:id/orgs/:orgId',
    {
      schema: {
        tags,
        summary:
          "One department's indicators with their evidence (counts and the items behind them): the authority and auditors for all, a department for itself",
        params: {
          type: 'object',
          properties: { id: { type: 'integer', minimum: 1 }, orgId: { type: 'integer', minimum: 1 } },
          required: ['id', 'orgId'],
        },
      },
    },
    async (req) => {
      const p = req.params as { id: number; orgId: number };
      return orgResult(ctx, requireActor(req), p.id, p.orgId);
    },
  );
  app.post(
    '/api/evaluation/runs/:id/publish',
    {
      schema: {
        tags,
        summary:
          'Publishes a draft run to every department (DG Art 36, SY Art 12); departments are notified; audited',
        params: idParams,
      },
    },
    async (req) => publishRun(ctx, requireActor(req), id(req)),
  );
  app.post(
    '/api/evaluation/runs/:id/portal',
    {
      schema: {
        tags,
        summary:
          'Shows a published run on the open portal, or withdraws it (DG Art 36, SY Art 12: results published, optionally on the portal); the authority only; audited',
        params: idParams,
        body: {
          type: 'object',
          properties: { onPortal: { type: 'boolean' } },
          required: ['onPortal'],
          additionalProperties: false,
        },
      },
    },
    async (req) => setOnPortal(ctx, requireActor(req), id(req), (req.body as { onPortal: boolean }).onPortal),
  );
  app.get(
    '/api/open/evaluations',
    {
      schema: {
        tags: ['opening'],
        summary:
          'Evaluation results the authority put on the open portal (no login): per run, every department ranked with its indicator scores',
      },
      config: { public: true, rateLimit: openRateLimit(ctx, 'read') },
    },
    async () => portalResults(ctx),
  );
  app.get(
    '/api/evaluation/checks',
    { schema: { tags, summary: 'Random checks drawn and their outcomes (the authority and auditors)' } },
    async (req) => listChecks(ctx, requireActor(req)),
  );
  app.post(
    '/api/evaluation/checks',
    {
      schema: {
        tags,
        summary:
          'Draws departments or published resources at random for a check (DG Art 35); the seed is recorded so the draw can be reproduced; audited',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'count'],
          properties: {
            kind: { type: 'string', enum: ['department', 'resource'] },
            count: { type: 'integer', minimum: 1, maximum: MAX_DRAW },
            seed: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' },
          },
        },
      },
    },
    async (req, reply) => reply.code(201).send(await drawCheck(ctx, requireActor(req), req.body as never)),
  );
  app.post(
    '/api/evaluation/checks/:id/result',
    {
      schema: {
        tags,
        summary: "Records a check's outcome (pass, or issues found with a note); once; audited",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['outcome'],
          properties: {
            outcome: { type: 'string', enum: ['pass', 'issues'] },
            note: { type: 'string', maxLength: 2000 },
          },
        },
      },
    },
    async (req) => recordCheck(ctx, requireActor(req), id(req), req.body as never),
  );
}
