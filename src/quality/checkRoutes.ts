import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { dateString, pageQueryProps } from '../http/schemas.js';
import {
  createRule,
  deleteRule,
  failingRows,
  getRun,
  listRules,
  listRuns,
  listRunsInPeriod,
  qualityOverview,
  runNow,
  updateRule,
} from './checks.js';
import { RULE_KINDS, type RuleInput, type RuleParams, VALIDITY_CHECKS } from './rules.js';

const idParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1 } },
  required: ['id'],
} as const;

const paramsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    check: { type: 'string', enum: [...VALIDITY_CHECKS] },
    values: { type: 'array', maxItems: 200, items: { type: 'string', minLength: 1, maxLength: 100 } },
    min: { type: 'integer', minimum: 0, maximum: 10000 },
    max: { type: 'integer', minimum: 0, maximum: 10000 },
    resourceId: { type: 'integer', minimum: 1 },
    fieldCode: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;

const score = { type: 'number', minimum: 0, maximum: 100 } as const;

/** Quality rules, runs and scores per resource (issue 12 point 2; XT Art 20 and 22, DG Art 28, NY task 8). */
export async function qualityCheckRoutes(app: FastifyInstance, ctx: AppContext) {
  const tags = ['quality'];
  const id = (req: { params: unknown }) => (req.params as { id: number }).id;
  app.get(
    '/api/quality/scores',
    {
      schema: {
        tags,
        summary:
          "Published resources with data and their latest quality score (lowest first): a department's data officers see their own, the authority and auditors all",
      },
    },
    async (req) => qualityOverview(ctx, requireActor(req)),
  );
  app.get(
    '/api/quality/resources/:id/rules',
    {
      schema: {
        tags,
        summary:
          "A resource's quality rules (defaults derived from its catalog fields are added on first read) and whether the caller may edit them",
        params: idParams,
      },
    },
    async (req) => listRules(ctx, requireActor(req), id(req)),
  );
  app.post(
    '/api/quality/resources/:id/rules',
    {
      schema: {
        tags,
        summary:
          "Adds a rule (the provider's data officers or the authority): completeness / validity / uniqueness on a field, timeliness, or consistency with another resource keyed by the same kind of identifier; audited",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind'],
          properties: {
            kind: { type: 'string', enum: [...RULE_KINDS] },
            fieldCode: { type: ['string', 'null'], maxLength: 64 },
            params: paramsSchema,
            threshold: score,
            weight: score,
            enabled: { type: 'boolean' },
          },
        },
      },
    },
    async (req) => createRule(ctx, requireActor(req), id(req), req.body as RuleInput),
  );
  app.put(
    '/api/quality/rules/:id',
    {
      schema: {
        tags,
        summary: "Changes a rule's threshold, weight, parameters or on/off; audited with before and after",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { params: paramsSchema, threshold: score, weight: score, enabled: { type: 'boolean' } },
        },
      },
    },
    async (req) =>
      updateRule(
        ctx,
        requireActor(req),
        id(req),
        req.body as { threshold?: number; weight?: number; enabled?: boolean; params?: RuleParams },
      ),
  );
  app.delete(
    '/api/quality/rules/:id',
    {
      schema: {
        tags,
        summary: 'Deletes a custom rule; a default rule is switched off instead; audited',
        params: idParams,
      },
    },
    async (req) => deleteRule(ctx, requireActor(req), id(req)),
  );
  app.post(
    '/api/quality/resources/:id/runs',
    {
      schema: {
        tags,
        summary:
          "Runs the resource's quality check now (the provider's data officers or the authority) and returns the run; failed rules open or update a rectification task where the profile has one (XT Art 22, NY task 8)",
        params: idParams,
      },
    },
    async (req) => runNow(ctx, requireActor(req), id(req)),
  );
  app.get(
    '/api/quality/resources/:id/runs',
    {
      schema: {
        tags,
        summary:
          'Score history of a resource, oldest first (the newest runs up to `limit`), for the trend chart',
        params: idParams,
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 200 } },
        },
      },
    },
    async (req) => listRuns(ctx, requireActor(req), id(req), (req.query as { limit: number }).limit),
  );
  app.get(
    '/api/quality/runs',
    {
      schema: {
        tags,
        summary:
          "Quality runs finished in a period (Beijing dates), newest first, with their count and mean score: the list behind the cockpit's monthly quality trend. A data officer sees their department's only",
        querystring: {
          type: 'object',
          required: ['from', 'to'],
          properties: {
            from: dateString,
            to: dateString,
            orgId: { type: 'integer', minimum: 1, description: "only the provider's resources" },
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) => listRunsInPeriod(ctx, requireActor(req), req.query as never),
  );
  app.get(
    '/api/quality/runs/:id',
    {
      schema: {
        tags,
        summary: 'One run: per rule checked rows, failing rows, score, threshold, weight',
        params: idParams,
      },
    },
    async (req) => getRun(ctx, requireActor(req), id(req)),
  );
  app.get(
    '/api/quality/run-rules/:id/failures',
    {
      schema: {
        tags,
        summary:
          "The failing records of one rule in one run (the first 1 000 are kept): masked key and the field's current value masked by the masking module; audited",
        params: idParams,
        querystring: { type: 'object', properties: { ...pageQueryProps } },
      },
    },
    async (req) =>
      failingRows(ctx, requireActor(req), id(req), req.query as { page: number; pageSize: number }),
  );
}
