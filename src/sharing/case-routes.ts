import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { dateString, dateTimeString, idParams, pageQueryProps } from '../http/schemas.js';
import * as cases from './cases.js';

const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max, 'x-trim': true }) as const;
type Id = { id: number };
type Page = { page: number; pageSize: number };

/** Disputes (DG Art 15, SY Art 28), supply stops (SY Art 27) and emergencies (XT Art 23.7, NY task 7): src/sharing/cases.ts. */
export async function sharingCaseRoutes(app: FastifyInstance, ctx: AppContext) {
  const tags = ['sharing'];
  app.post(
    '/api/sharing/requests/:id/dispute',
    {
      schema: {
        tags,
        summary: 'The consumer contests a refusal; the data authority coordinates (DG Art 15, SY Art 28)',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: text(2000) },
          required: ['reason'],
        },
      },
    },
    async (req, reply) => {
      const r = await cases.raiseDispute(
        ctx,
        requireActor(req),
        (req.params as Id).id,
        (req.body as { reason: string }).reason,
      );
      reply.code(201);
      return r;
    },
  );
  app.get(
    '/api/sharing/disputes',
    {
      schema: {
        tags,
        summary: 'Disputes my organisation is party to (the authority and auditors: all); open first',
        querystring: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: ['open', 'referred', 'upheld', 'overturned'] },
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) => cases.listDisputes(ctx, requireActor(req), req.query as Page & { status?: string }),
  );
  app.get(
    '/api/sharing/disputes/:id',
    { schema: { tags, summary: 'One dispute', params: idParams } },
    async (req) => cases.getDispute(ctx, requireActor(req), (req.params as Id).id),
  );
  app.post(
    '/api/sharing/disputes/:id/decide',
    {
      schema: {
        tags,
        summary:
          'The authority decides: upheld (the refusal stands), overturned (the data is shared: the request is approved and granted) or, where the profile sends unsettled disputes on (SY Art 28), referred to the city government, whose decision it then records',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            outcome: { type: 'string', enum: ['upheld', 'overturned', 'referred'] },
            comment: text(2000),
          },
          required: ['outcome', 'comment'],
        },
      },
    },
    async (req) =>
      cases.decideDispute(
        ctx,
        requireActor(req),
        (req.params as Id).id,
        req.body as { outcome: cases.DisputeOutcome; comment: string },
      ),
  );

  app.post(
    '/api/sharing/supply-stops',
    {
      schema: {
        tags,
        summary:
          'The provider stops supplying a published resource from a date, with its justification (SY Art 27: filed with the authority in advance); grants end that day',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            resourceId: { type: 'integer', minimum: 1 },
            reason: text(2000),
            effectiveOn: dateString,
          },
          required: ['resourceId', 'reason', 'effectiveOn'],
        },
      },
    },
    async (req, reply) => {
      const r = await cases.fileSupplyStop(
        ctx,
        requireActor(req),
        req.body as { resourceId: number; reason: string; effectiveOn: string },
      );
      reply.code(201);
      return r;
    },
  );
  app.get(
    '/api/sharing/supply-stops',
    {
      schema: {
        tags,
        summary: 'Resources whose supply stops or has stopped',
        querystring: { type: 'object', properties: { ...pageQueryProps } },
      },
    },
    async (req) => cases.listSupplyStops(ctx, requireActor(req), req.query as Page),
  );
  app.post(
    '/api/sharing/supply-stops/:id/cancel',
    {
      schema: {
        tags,
        summary:
          'The provider withdraws its stop (before it takes effect, grants get their own end back) or resumes supply',
        params: idParams,
      },
    },
    async (req) => cases.cancelSupplyStop(ctx, requireActor(req), (req.params as Id).id),
  );

  app.post(
    '/api/sharing/emergencies',
    {
      schema: {
        tags,
        summary:
          'The authority declares an emergency over named resources until a time (XT Art 23.7: shared as unconditional; NY task 7: green channel); grants made under it lapse when it ends',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            reason: text(2000),
            resourceIds: {
              type: 'array',
              items: { type: 'integer', minimum: 1 },
              minItems: 1,
              maxItems: 500,
            },
            endsAt: dateTimeString,
          },
          required: ['reason', 'resourceIds', 'endsAt'],
        },
      },
    },
    async (req, reply) => {
      const r = await cases.declareEmergency(
        ctx,
        requireActor(req),
        req.body as { reason: string; resourceIds: number[]; endsAt: string },
      );
      reply.code(201);
      return r;
    },
  );
  app.get(
    '/api/sharing/emergencies',
    { schema: { tags, summary: 'Emergencies, active first' } },
    async (req) => {
      requireActor(req);
      return cases.listEmergencies(ctx);
    },
  );
  app.post(
    '/api/sharing/emergencies/:id/end',
    { schema: { tags, summary: 'The authority declares an emergency over early', params: idParams } },
    async (req) => cases.closeEmergency(ctx, requireActor(req), (req.params as Id).id),
  );
}
