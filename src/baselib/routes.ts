import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { pageQueryProps } from '../http/schemas.js';
import {
  CONFLICT_STATUSES,
  type ConflictStatus,
  KEY_KINDS,
  LIBRARY_KINDS,
  type LibraryInput,
  MAX_FIELDS,
  MAX_SECONDARY,
  RESOLUTIONS,
  type Resolution,
} from './model.js';
import { decidePurchase, declarePurchase, getPurchase, type PurchaseInput } from './purchase.js';
import {
  createLibrary,
  getConflict,
  getLibrary,
  getRun,
  listConflicts,
  listLibraries,
  readRecords,
  resolveConflict,
  startRun,
  updateLibrary,
} from './service.js';

const idParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1 } },
  required: ['id'],
} as const;

const sourceRef = {
  type: 'object',
  additionalProperties: false,
  required: ['resourceId', 'fieldCode'],
  properties: {
    resourceId: { type: 'integer', minimum: 1 },
    fieldCode: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;

const libraryBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind', 'keyKind', 'fields'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    kind: { type: 'string', enum: [...LIBRARY_KINDS] },
    keyKind: { type: 'string', enum: [...KEY_KINDS] },
    classId: { type: ['integer', 'null'], minimum: 1 },
    description: { type: 'string', maxLength: 1000 },
    fields: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_FIELDS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'name', 'authoritative'],
        properties: {
          code: { type: 'string', minLength: 1, maxLength: 64 },
          name: { type: 'string', minLength: 1, maxLength: 100 },
          authoritative: sourceRef,
          secondary: { type: 'array', maxItems: MAX_SECONDARY, items: sourceRef },
        },
      },
    },
  },
} as const;

const date = { type: 'string', format: 'date' } as const;

/** Base and theme libraries (DG Art 15/21, XT Art 18–19) and purchased data (DG Art 25, XT Art 16). */
export async function baselibRoutes(app: FastifyInstance, ctx: AppContext) {
  const tags = ['baselib'];
  const id = (req: { params: unknown }) => (req.params as { id: number }).id;

  app.get(
    '/api/baselib/libraries',
    { schema: { tags, summary: 'Base and theme libraries with their last assembly and open conflicts' } },
    async (req) => listLibraries(ctx, requireActor(req)),
  );
  app.post(
    '/api/baselib/libraries',
    {
      schema: {
        tags,
        summary:
          'Defines a library (the data authority): fields, each with exactly one authoritative source field and optional secondary ones; audited',
        body: libraryBody,
      },
    },
    async (req, reply) => {
      reply.code(201);
      return createLibrary(ctx, requireActor(req), req.body as LibraryInput);
    },
  );
  app.get(
    '/api/baselib/libraries/:id',
    { schema: { tags, summary: 'A library: fields, their sources, recent assembly runs', params: idParams } },
    async (req) => getLibrary(ctx, requireActor(req), id(req)),
  );
  app.put(
    '/api/baselib/libraries/:id',
    {
      schema: {
        tags,
        summary: 'Edits a library (the data authority); its version goes up; audited',
        params: idParams,
        body: libraryBody,
      },
    },
    async (req) => updateLibrary(ctx, requireActor(req), id(req), req.body as LibraryInput),
  );
  app.post(
    '/api/baselib/libraries/:id/runs',
    {
      schema: {
        tags,
        summary:
          'Starts an assembly run as a job (the data authority); answers at once with the run, whose progress is read by GET /api/baselib/runs/{id}',
        params: idParams,
      },
    },
    async (req, reply) => {
      reply.code(202);
      return startRun(ctx, requireActor(req), id(req));
    },
  );
  app.get(
    '/api/baselib/runs/:id',
    { schema: { tags, summary: "An assembly run's progress and counts", params: idParams } },
    async (req) => getRun(ctx, requireActor(req), id(req)),
  );
  app.get(
    '/api/baselib/libraries/:id/records',
    {
      schema: {
        tags,
        summary:
          "Assembled records with each value's source (the authority's reviewer), masked by the masking policy; audited",
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            key: { type: 'string', minLength: 1, maxLength: 64 },
            after: { type: 'integer', minimum: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
          },
        },
      },
    },
    async (req) =>
      readRecords(
        ctx,
        requireActor(req),
        id(req),
        req.query as { key?: string; after?: number; limit: number },
      ),
  );
  app.get(
    '/api/baselib/conflicts',
    {
      schema: {
        tags,
        summary:
          'Conflicts between authoritative and secondary sources, filtered and paged; masked; audited. The authority sees all, a data officer those involving its department',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            libraryId: { type: 'integer', minimum: 1 },
            status: { type: 'string', enum: [...CONFLICT_STATUSES] },
            fieldCode: { type: 'string', minLength: 1, maxLength: 64 },
            resourceId: { type: 'integer', minimum: 1 },
            orgId: { type: 'integer', minimum: 1 },
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) =>
      listConflicts(
        ctx,
        requireActor(req),
        req.query as {
          libraryId?: number;
          status?: ConflictStatus;
          fieldCode?: string;
          resourceId?: number;
          orgId?: number;
          page: number;
          pageSize: number;
        },
      ),
  );
  app.get(
    '/api/baselib/conflicts/:id',
    {
      schema: {
        tags,
        summary: "A conflict with its key's assembled record and other conflicts (masked, audited)",
        params: idParams,
      },
    },
    async (req) => getConflict(ctx, requireActor(req), id(req)),
  );
  app.post(
    '/api/baselib/conflicts/:id/resolve',
    {
      schema: {
        tags,
        summary:
          'The authority marks a conflict resolved: which side was right and a note (DG Art 15); audited; the provider of the wrong value is notified',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['resolution', 'note'],
          properties: {
            resolution: { type: 'string', enum: [...RESOLUTIONS] },
            note: { type: 'string', minLength: 1, maxLength: 2000 },
          },
        },
      },
    },
    async (req) =>
      resolveConflict(ctx, requireActor(req), id(req), req.body as { resolution: Resolution; note: string }),
  );

  app.get(
    '/api/baselib/purchases/:id',
    {
      schema: {
        tags,
        summary:
          "A resource's purchase record and approval, and whether the active profile requires the approval",
        params: idParams,
      },
    },
    async (req) => getPurchase(ctx, requireActor(req), id(req)),
  );
  app.put(
    '/api/baselib/purchases/:id',
    {
      schema: {
        tags,
        summary:
          "The provider's data officer flags its resource as purchased data (supplier, contract, period); a change asks for a new approval; audited",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['supplier', 'contractRef', 'periodFrom', 'periodTo'],
          properties: {
            supplier: { type: 'string', minLength: 1, maxLength: 200 },
            contractRef: { type: 'string', minLength: 1, maxLength: 100 },
            periodFrom: date,
            periodTo: date,
          },
        },
      },
    },
    async (req) => declarePurchase(ctx, requireActor(req), id(req), req.body as PurchaseInput),
  );
  app.post(
    '/api/baselib/purchases/:id/decision',
    {
      schema: {
        tags,
        summary: "The data authority's reviewer approves or refuses the purchase (XT Art 16); audited",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['approve'],
          properties: {
            approve: { type: 'boolean' },
            approvalRef: { type: 'string', maxLength: 100 },
            note: { type: 'string', maxLength: 2000 },
          },
        },
      },
    },
    async (req) =>
      decidePurchase(
        ctx,
        requireActor(req),
        id(req),
        req.body as { approve: boolean; approvalRef?: string; note?: string },
      ),
  );
}
