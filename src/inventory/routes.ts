import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { dateString, idParams, pageQueryProps } from '../http/schemas.js';
import {
  BASIS_KINDS,
  CHANGE_KINDS,
  DUTY_STATUSES,
  NEGATIVE_STATUSES,
  OPEN_LIST_STATUSES,
  OPEN_LIST_TYPES,
  SYSTEM_STATUSES,
} from './model.js';
import * as service from './service.js';

const text = (max: number, min = 1) =>
  ({ type: 'string', minLength: min, maxLength: max, 'x-trim': true }) as const;
const decision = {
  type: 'object',
  additionalProperties: false,
  properties: { approve: { type: 'boolean' }, comment: { type: ['string', 'null'], maxLength: 2000 } },
  required: ['approve'],
} as const;
const orgFilter = { orgId: { type: 'integer', minimum: 1 } } as const;

function csv(reply: FastifyReply, name: string, body: string) {
  reply.header('content-type', 'text/csv; charset=utf-8');
  reply.header('content-disposition', `attachment; filename="${name}"`);
  return body;
}

type Q<T> = T;

export async function inventoryRoutes(app: FastifyInstance, ctx: AppContext) {
  const tags = ['inventory'];

  app.get(
    '/api/inventory/inbox',
    { schema: { tags, summary: 'What waits for the signed-in user in the inventories' } },
    async (req) => service.inbox(ctx, requireActor(req)),
  );

  // --- negative list (DG Art 19, XT Art 23, SY Art 23, GD Art 18)
  const negFilter = { ...orgFilter, status: { type: 'string', enum: NEGATIVE_STATUSES } } as const;
  app.get(
    '/api/inventory/negative-list',
    {
      schema: {
        tags,
        summary: 'The negative list (负面清单): departments see their own entries, the authority all',
        querystring: { type: 'object', properties: { ...negFilter, ...pageQueryProps } },
      },
    },
    async (req) => service.listNegative(ctx, requireActor(req), req.query as Q<service.NegativeFilter>),
  );
  app.get(
    '/api/inventory/negative-list.csv',
    {
      schema: {
        tags,
        summary: 'The negative list as CSV (UTF-8 with BOM)',
        querystring: { type: 'object', properties: negFilter },
      },
    },
    async (req, reply) =>
      csv(
        reply,
        'negative-list.csv',
        await service.exportNegativeCsv(ctx, requireActor(req), req.query as service.NegativeFilter),
      ),
  );
  app.get(
    '/api/inventory/negative-list/:id',
    { schema: { tags, summary: 'One negative-list entry', params: idParams } },
    async (req) => service.getNegative(ctx, requireActor(req), (req.params as { id: number }).id),
  );
  app.post(
    '/api/inventory/negative-list',
    {
      schema: {
        tags,
        summary:
          "A department's data officer proposes (or files, where the profile says so) an entry for its conditional/not-shared resource",
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            resourceId: { type: 'integer', minimum: 1 },
            basisText: text(2000),
            basisKind: { type: 'string', enum: BASIS_KINDS },
            reason: text(2000),
          },
          required: ['resourceId', 'basisText', 'basisKind', 'reason'],
        },
      },
    },
    async (req, reply) => {
      reply.code(201);
      return service.proposeNegative(
        ctx,
        requireActor(req),
        req.body as Parameters<typeof service.proposeNegative>[2],
      );
    },
  );
  app.post(
    '/api/inventory/negative-list/:id/decide',
    {
      schema: {
        tags,
        summary: 'The authority reviewer approves or rejects (a rejection states its reason)',
        params: idParams,
        body: decision,
      },
    },
    async (req) =>
      service.decideNegative(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        req.body as { approve: boolean; comment?: string },
      ),
  );
  app.post(
    '/api/inventory/negative-list/:id/withdraw',
    { schema: { tags, summary: 'The department withdraws its entry', params: idParams } },
    async (req) => service.withdrawNegative(ctx, requireActor(req), (req.params as { id: number }).id),
  );

  // --- update duties (DG Art 11, XT Art 14)
  app.get(
    '/api/inventory/duties',
    {
      schema: {
        tags,
        summary:
          'Catalog update duties after a legal or functional change, with due date and working days left / overdue',
        querystring: {
          type: 'object',
          properties: {
            ...orgFilter,
            status: { type: 'string', enum: DUTY_STATUSES },
            overdueOnly: { type: 'boolean', default: false },
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) => service.listDuties(ctx, requireActor(req), req.query as service.DutyFilter),
  );
  app.get(
    '/api/inventory/duties/:id',
    { schema: { tags, summary: "One duty with the department's catalog entries to tick", params: idParams } },
    async (req) => service.getDuty(ctx, requireActor(req), (req.params as { id: number }).id),
  );
  app.post(
    '/api/inventory/duties',
    {
      schema: {
        tags,
        summary:
          'Record a legal or functional change affecting a department; the deadline comes from the profile',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            orgId: { type: 'integer', minimum: 1 },
            changeKind: { type: 'string', enum: CHANGE_KINDS },
            whatChanged: text(2000),
            basis: text(2000),
            changeDate: dateString,
          },
          required: ['changeKind', 'whatChanged', 'basis', 'changeDate'],
        },
      },
    },
    async (req, reply) => {
      reply.code(201);
      return service.recordDuty(ctx, requireActor(req), req.body as Parameters<typeof service.recordDuty>[2]);
    },
  );
  app.put(
    '/api/inventory/duties/:id/resources',
    {
      schema: {
        tags,
        summary: 'Tick the catalog entries the change affects',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            resourceIds: { type: 'array', items: { type: 'integer', minimum: 1 }, maxItems: 1000 },
          },
          required: ['resourceIds'],
        },
      },
    },
    async (req) =>
      service.setDutyResources(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        (req.body as { resourceIds: number[] }).resourceIds,
      ),
  );
  app.post(
    '/api/inventory/duties/:id/done',
    {
      schema: {
        tags,
        summary: "The department's officer marks the duty done once its entries are updated",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { note: { type: ['string', 'null'], maxLength: 2000 } },
        },
      },
    },
    async (req) =>
      service.completeDuty(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        (req.body ?? {}) as { note?: string },
      ),
  );

  // --- information systems (DG Art 13/22, GD Art 11, XT Art 37, SY Art 14)
  app.get(
    '/api/inventory/systems',
    {
      schema: {
        tags,
        summary:
          'Information systems with their mounted resources and compliance (ready for acceptance or not)',
        querystring: {
          type: 'object',
          properties: {
            ...orgFilter,
            status: { type: 'string', enum: SYSTEM_STATUSES },
            notReady: { type: 'boolean', default: false },
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) => service.listSystems(ctx, requireActor(req), req.query as service.SystemFilter),
  );
  app.get(
    '/api/inventory/systems/:id',
    { schema: { tags, summary: 'One information system', params: idParams } },
    async (req) => service.getSystem(ctx, requireActor(req), (req.params as { id: number }).id),
  );
  app.post(
    '/api/inventory/systems',
    {
      schema: {
        tags,
        summary: 'Register an information system',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: text(200),
            ownerOrgId: { type: 'integer', minimum: 1 },
            fiscal: { type: 'boolean' },
            status: { type: 'string', enum: SYSTEM_STATUSES, default: 'planned' },
            description: { type: 'string', maxLength: 4000 },
          },
          required: ['name', 'fiscal'],
        },
      },
    },
    async (req, reply) => {
      reply.code(201);
      return service.registerSystem(ctx, requireActor(req), req.body as service.SystemInput);
    },
  );
  app.post(
    '/api/inventory/systems/:id/status',
    {
      schema: {
        tags,
        summary:
          'Move a system to planned/built/accepted; a fiscally funded system is accepted only when compliant (SYSTEM_NOT_READY)',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { type: 'string', enum: SYSTEM_STATUSES } },
          required: ['status'],
        },
      },
    },
    async (req) =>
      service.setSystemStatus(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        (req.body as { status: 'accepted' }).status,
      ),
  );
  const mountSchema = {
    type: 'object',
    properties: { id: { type: 'integer', minimum: 1 }, resourceId: { type: 'integer', minimum: 1 } },
    required: ['id', 'resourceId'],
  } as const;
  app.put(
    '/api/inventory/systems/:id/resources/:resourceId',
    {
      schema: {
        tags,
        summary: "Mount one of the owner department's catalog entries on the system",
        params: mountSchema,
      },
    },
    async (req) => {
      const p = req.params as { id: number; resourceId: number };
      return service.mountResource(ctx, requireActor(req), p.id, p.resourceId, true);
    },
  );
  app.delete(
    '/api/inventory/systems/:id/resources/:resourceId',
    { schema: { tags, summary: 'Unmount a catalog entry', params: mountSchema } },
    async (req) => {
      const p = req.params as { id: number; resourceId: number };
      return service.mountResource(ctx, requireActor(req), p.id, p.resourceId, false);
    },
  );

  // --- responsibility and demand lists (NY task 6, SY Art 18)
  app.get(
    '/api/inventory/responsibilities',
    {
      schema: {
        tags,
        summary: "Departments' responsibility lists (what each must supply)",
        querystring: { type: 'object', properties: { ...orgFilter, ...pageQueryProps } },
      },
    },
    async (req) =>
      service.listResponsibilities(
        ctx,
        requireActor(req),
        req.query as { page: number; pageSize: number; orgId?: number },
      ),
  );
  app.post(
    '/api/inventory/responsibilities',
    {
      schema: {
        tags,
        summary: "Add an item to the officer's department's responsibility list",
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: text(200),
            description: { type: 'string', maxLength: 2000 },
            basis: { type: 'string', maxLength: 2000 },
            resourceId: { type: ['integer', 'null'], minimum: 1 },
          },
          required: ['name'],
        },
      },
    },
    async (req, reply) => {
      reply.code(201);
      return service.addResponsibility(
        ctx,
        requireActor(req),
        req.body as Parameters<typeof service.addResponsibility>[2],
      );
    },
  );
  const demandFilter = {
    ...orgFilter,
    state: { type: 'string', enum: ['matched', 'proposed', 'unmatched'] },
  } as const;
  app.get(
    '/api/inventory/demands',
    {
      schema: {
        tags,
        summary:
          "Departments' demand lists with proposed and confirmed matches; state=unmatched is the authority's worklist",
        querystring: { type: 'object', properties: { ...demandFilter, ...pageQueryProps } },
      },
    },
    async (req) => service.listDemands(ctx, requireActor(req), req.query as service.DemandFilter),
  );
  app.get(
    '/api/inventory/matching.csv',
    {
      schema: {
        tags,
        summary: 'The supply–demand matching list (供需对接清单) as CSV (UTF-8 with BOM)',
        querystring: { type: 'object', properties: demandFilter },
      },
    },
    async (req, reply) =>
      csv(
        reply,
        'supply-demand-matching.csv',
        await service.exportMatchingCsv(ctx, requireActor(req), req.query as service.DemandFilter),
      ),
  );
  app.get(
    '/api/inventory/demands/:id',
    { schema: { tags, summary: 'One demand with its matches', params: idParams } },
    async (req) => service.getDemand(ctx, requireActor(req), (req.params as { id: number }).id),
  );
  app.post(
    '/api/inventory/demands',
    {
      schema: {
        tags,
        summary: 'Add a demand; govshare proposes matching catalog entries at once',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: text(200),
            purpose: text(2000),
            basis: { type: 'string', maxLength: 2000 },
            wantedFields: { type: 'array', items: { type: 'string', maxLength: 50 }, maxItems: 50 },
          },
          required: ['name', 'purpose'],
        },
      },
    },
    async (req, reply) => {
      reply.code(201);
      return service.addDemand(ctx, requireActor(req), req.body as Parameters<typeof service.addDemand>[2]);
    },
  );
  app.post(
    '/api/inventory/demands/:id/matches/:resourceId',
    {
      schema: {
        tags,
        summary: "The demanding department's officer confirms or rejects a proposed match",
        params: mountSchema,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { confirm: { type: 'boolean' } },
          required: ['confirm'],
        },
      },
    },
    async (req) => {
      const p = req.params as { id: number; resourceId: number };
      return service.decideMatch(
        ctx,
        requireActor(req),
        p.id,
        p.resourceId,
        (req.body as { confirm: boolean }).confirm,
      );
    },
  );

  // --- open list (XT Art 28)
  app.get(
    '/api/inventory/open-list',
    {
      schema: {
        tags,
        summary: 'Open-list proposals and their confidentiality review',
        querystring: {
          type: 'object',
          properties: {
            ...orgFilter,
            status: { type: 'string', enum: OPEN_LIST_STATUSES },
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) =>
      service.listOpen(
        ctx,
        requireActor(req),
        req.query as { page: number; pageSize: number; orgId?: number; status?: string },
      ),
  );
  app.get(
    '/api/inventory/open-list/published',
    {
      config: { public: true },
      schema: {
        tags,
        summary:
          'The published open list per department (approved after confidentiality review); public, for the open portal',
        querystring: { type: 'object', properties: orgFilter },
      },
    },
    async (req) => service.publishedOpenList(ctx, (req.query as { orgId?: number }).orgId),
  );
  app.post(
    '/api/inventory/open-list',
    {
      schema: {
        tags,
        summary: "A department's officer proposes one of its catalog entries for opening",
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            resourceId: { type: 'integer', minimum: 1 },
            openType: { type: 'string', enum: OPEN_LIST_TYPES },
            conditions: { type: ['string', 'null'], maxLength: 2000 },
          },
          required: ['resourceId', 'openType'],
        },
      },
    },
    async (req, reply) => {
      reply.code(201);
      return service.proposeOpen(
        ctx,
        requireActor(req),
        req.body as Parameters<typeof service.proposeOpen>[2],
      );
    },
  );
  app.post(
    '/api/inventory/open-list/:id/decide',
    {
      schema: {
        tags,
        summary: 'Confidentiality review (保密审查) by the authority reviewer',
        params: idParams,
        body: decision,
      },
    },
    async (req) =>
      service.decideOpen(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        req.body as { approve: boolean; comment?: string },
      ),
  );
}
