import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { pageQueryProps } from '../http/schemas.js';
import { qualityCheckRoutes } from './checkRoutes.js';
import { OBJECTION_PROBLEMS, OBJECTION_STATUSES, OBJECTION_TARGETS } from './model.js';
import {
  actOnObjection,
  getObjection,
  listObjections,
  type NewObjection,
  type ObjectionActInput,
  type ObjectionFilter,
  raiseObjection,
} from './objections.js';
import {
  closeRectification,
  getRectification,
  listRectifications,
  type NewRectification,
  openRectification,
} from './rectifications.js';

const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max, 'x-trim': true }) as const;
const idParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1 } },
  required: ['id'],
} as const;

/** Quality objections (DG Art 28, NY task 8, GD Art 21, XT Art 21). */
export async function qualityRoutes(app: FastifyInstance, ctx: AppContext) {
  const tags = ['quality'];
  await qualityCheckRoutes(app, ctx);
  app.get(
    '/api/quality/objections',
    {
      schema: {
        tags,
        summary:
          "Objections: box=mine (raised by my department), toVerify (against my department's data), all (the authority and auditors: every one; others: both of theirs); open first, nearest due date first, with working days left",
        querystring: {
          type: 'object',
          properties: {
            box: { type: 'string', enum: ['mine', 'toVerify', 'all'], default: 'all' },
            status: { type: 'string', enum: [...OBJECTION_STATUSES, 'open'] },
            resourceId: { type: 'integer', minimum: 1 },
            escalated: { type: 'boolean' },
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) => listObjections(ctx, requireActor(req), req.query as ObjectionFilter),
  );

  app.post(
    '/api/quality/objections',
    {
      schema: {
        tags,
        summary:
          "Raises an objection against a record (by key), a field or a whole resource of another department's published resource; due date from the active profile's objection deadline (working days); the provider's data officers are notified; audited",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['resourceId', 'target', 'problem', 'description'],
          properties: {
            resourceId: { type: 'integer', minimum: 1 },
            target: { type: 'string', enum: OBJECTION_TARGETS },
            recordKey: { type: ['string', 'null'], maxLength: 64 },
            fieldCode: { type: ['string', 'null'], maxLength: 64 },
            problem: { type: 'string', enum: OBJECTION_PROBLEMS },
            description: text(2000),
            evidence: { type: ['string', 'null'], maxLength: 4000 },
          },
        },
      },
    },
    async (req) => raiseObjection(ctx, requireActor(req), req.body as NewObjection),
  );

  app.get(
    '/api/quality/objections/:id',
    { schema: { tags, summary: 'One objection with its timeline', params: idParams } },
    async (req) => getObjection(ctx, requireActor(req), (req.params as { id: number }).id),
  );

  app.post(
    '/api/quality/objections/:id/actions',
    {
      schema: {
        tags,
        summary:
          "The provider's answer: start (verifying), pause (DG Art 28: testing / inspection / appraisal / expert time not counted; reason required; refused with OBJECTION_PAUSE_NOT_ALLOWED where the profile counts it), resume (the due date moves by the paused working days), correct (resolution; batchId of the committed import that carried the correction), reject (reason); the objector is notified; audited",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['action'],
          properties: {
            action: { type: 'string', enum: ['start', 'pause', 'resume', 'correct', 'reject'] },
            reason: { type: ['string', 'null'], maxLength: 500 },
            resolution: { type: ['string', 'null'], maxLength: 2000 },
            batchId: { type: ['integer', 'null'], minimum: 1 },
          },
        },
      },
    },
    async (req) =>
      actOnObjection(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        req.body as ObjectionActInput,
      ),
  );

  app.get(
    '/api/quality/rectifications',
    {
      schema: {
        tags,
        summary:
          'Rectification tasks (XT Art 22): the authority and auditors see all, a department its own; open first, nearest due date first, with working days left',
        querystring: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: ['open', 'closed'] },
            escalated: { type: 'boolean' },
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) => listRectifications(ctx, requireActor(req), req.query as never),
  );

  app.post(
    '/api/quality/rectifications',
    {
      schema: {
        tags,
        summary:
          "The authority opens a rectification task from a failed quality check (resourceId + description) or a confirmed objection (objectionId); due date from the profile's rectification deadline; the provider is notified; audited",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['title', 'description'],
          properties: {
            resourceId: { type: ['integer', 'null'], minimum: 1 },
            objectionId: { type: ['integer', 'null'], minimum: 1 },
            title: text(200),
            description: text(2000),
          },
        },
      },
    },
    async (req) => openRectification(ctx, requireActor(req), req.body as NewRectification),
  );

  app.get(
    '/api/quality/rectifications/:id',
    { schema: { tags, summary: 'One rectification task with its timeline', params: idParams } },
    async (req) => getRectification(ctx, requireActor(req), (req.params as { id: number }).id),
  );

  app.post(
    '/api/quality/rectifications/:id/close',
    {
      schema: {
        tags,
        summary:
          'The provider closes the task with its evidence (and the committed import that carried the correction, if any); the authority is notified; audited',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['evidence'],
          properties: { evidence: text(4000), batchId: { type: ['integer', 'null'], minimum: 1 } },
        },
      },
    },
    async (req) =>
      closeRectification(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        req.body as { evidence: string; batchId?: number | null },
      ),
  );
}
