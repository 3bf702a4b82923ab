import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { idParams, pageQueryProps } from '../http/schemas.js';
import { catalogExcelRoutes } from './excelRoutes.js';
import {
  CATALOG_LEVELS,
  CLASSIFICATIONS,
  DATA_TYPES,
  FIELD_TYPES,
  FORMATS,
  LEGAL_BASIS_KINDS,
  MASKINGS,
  OPEN_TYPES,
  RESOURCE_STATUSES,
  type ResourceInput,
  SECURITY_LEVELS,
  SHARE_METHODS,
  SHARE_TYPES,
  UPDATE_CYCLES,
  VALIDATORS,
} from './model.js';
import * as service from './service.js';

const fieldSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    code: {
      type: 'string',
      minLength: 1,
      maxLength: 40,
      description: 'English identifier used by the API, e.g. idNumber',
    },
    name: { type: 'string', minLength: 1, maxLength: 100, 'x-trim': true, description: '信息项名称' },
    type: {
      type: 'string',
      enum: FIELD_TYPES,
      description: 'storage type; derived from dataType when omitted; must match it when both are given',
    },
    dataType: {
      type: ['string', 'null'],
      enum: [...DATA_TYPES, null],
      description: '1272 信息项数据类型 C N Y D T L M G B I F; derived from type when omitted',
    },
    length: { type: ['integer', 'null'], minimum: 1, maximum: 100000 },
    securityLevel: {
      type: 'string',
      enum: SECURITY_LEVELS,
      description: 'GB/T 43697 一般/重要/核心 (default general); the resource is graded at its highest field',
    },
    sensitivePersonal: {
      type: 'boolean',
      description: '敏感个人信息 (GB/T 35273); implies personal (personal: false with it is refused)',
    },
    required: { type: 'boolean', default: false },
    isKey: { type: 'boolean', default: false },
    // no defaults for the three below: an omitted value is derived from the validator (catalog/model normaliseField)
    personal: {
      type: 'boolean',
      description: '个人信息: masked on every output; implied by idNumber/mobilePhone',
    },
    sensitive: { type: 'boolean', description: 'implied by creditCode' },
    masking: {
      type: 'string',
      enum: MASKINGS,
      description: 'derived when omitted; never "none" for personal, sensitive or validated fields',
    },
    validator: { type: ['string', 'null'], enum: [...VALIDATORS, null] },
    allowedValues: {
      type: ['array', 'null'],
      maxItems: 500,
      items: { type: 'string', minLength: 1, maxLength: 100 },
      description: '值域 code table: the only values the field may take (ENUM_VALUE on ingest); null = any',
    },
  },
  required: ['code', 'name'],
} as const;

export const resourceInputSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200, 'x-trim': true },
    summary: { type: 'string', minLength: 1, maxLength: 4000 },
    classification: { type: 'string', enum: CLASSIFICATIONS },
    classId: {
      type: ['integer', 'null'],
      minimum: 1,
      description:
        'node of the classification tree (GET /api/catalog/classes); default: by topic / own department',
    },
    topic: { type: 'string', maxLength: 100 },
    format: { type: 'string', enum: FORMATS, description: '1272 格式; default database' },
    relatedCodes: {
      type: 'array',
      maxItems: 20,
      items: { type: 'string', minLength: 1, maxLength: 40 },
      description: '关联资源代码: published entries the caller can see',
    },
    infoSystemId: {
      type: ['integer', 'null'],
      minimum: 1,
      description: "one of the provider's information systems",
    },
    catalogLevel: { type: 'string', enum: CATALOG_LEVELS },
    shareType: { type: 'string', enum: SHARE_TYPES },
    shareConditions: { type: ['string', 'null'], maxLength: 2000 },
    legalBasis: { type: ['string', 'null'], maxLength: 2000 },
    legalBasisKind: {
      type: ['string', 'null'],
      enum: [...LEGAL_BASIS_KINDS, null],
      description: '法律 law / 行政法规 adminRegulation / 地方性法规 localRegulation / 规章 rule / other',
    },
    shareMethod: { type: 'string', enum: SHARE_METHODS, default: 'api' },
    openType: { type: 'string', enum: OPEN_TYPES, default: 'closed' },
    updateCycle: { type: 'string', enum: UPDATE_CYCLES },
    securityLevel: {
      type: 'string',
      enum: SECURITY_LEVELS,
      description: 'derived (highest field level, GB/T 43697); a different value is refused',
    },
    keywords: { type: 'array', items: { type: 'string', maxLength: 50 }, maxItems: 20 },
    sectionId: { type: ['integer', 'null'] },
    fields: { type: 'array', minItems: 1, maxItems: 500, items: fieldSchema },
    submit: { type: 'boolean', description: 'true: submit for review at once instead of saving a draft' },
  },
  required: ['name', 'summary', 'classification', 'catalogLevel', 'shareType', 'updateCycle', 'fields'],
} as const;

/** The catalog search's filters: GET /api/catalog/resources and the exports take the same. */
export const searchQuerystring = {
  type: 'object',
  properties: {
    q: {
      type: 'string',
      maxLength: 100,
      description: 'words (segmented by jieba, all must match, the last as a prefix) or a code prefix',
    },
    provider: { type: 'array', maxItems: 50, items: { type: 'integer', minimum: 1 } },
    providerOrgId: { type: 'integer', minimum: 1, description: 'same as provider=<id>' },
    classification: { type: 'array', maxItems: 10, items: { type: 'string', enum: CLASSIFICATIONS } },
    catalogLevel: { type: 'array', maxItems: 10, items: { type: 'string', enum: CATALOG_LEVELS } },
    shareType: { type: 'array', maxItems: 10, items: { type: 'string', enum: SHARE_TYPES } },
    openType: { type: 'array', maxItems: 10, items: { type: 'string', enum: OPEN_TYPES } },
    shareMethod: { type: 'array', maxItems: 10, items: { type: 'string', enum: SHARE_METHODS } },
    updateCycle: { type: 'array', maxItems: 10, items: { type: 'string', enum: UPDATE_CYCLES } },
    securityLevel: { type: 'array', maxItems: 10, items: { type: 'string', enum: SECURITY_LEVELS } },
    format: { type: 'array', maxItems: 10, items: { type: 'string', enum: FORMATS } },
    classCode: {
      type: 'string',
      pattern: '^[0-9]{1,20}$',
      description: 'a class of the tree (its 分类码): entries filed under it or below',
    },
    sort: {
      type: 'string',
      enum: ['relevance', 'name', 'updated'],
      description: 'default: relevance with q, name without',
    },
    status: {
      type: 'string',
      enum: RESOURCE_STATUSES,
      description: "default published; other statuses list the caller's own department's entries",
    },
    ...pageQueryProps,
  },
} as const;

export async function catalogRoutes(app: FastifyInstance, ctx: AppContext) {
  app.get(
    '/api/catalog/resources',
    {
      schema: {
        tags: ['catalog'],
        summary:
          'Full-text search of the catalog with facets and highlights; section-level entries only inside their department (DG Art 11)',
        querystring: searchQuerystring,
      },
    },
    async (req) =>
      service.listResources(ctx, requireActor(req), req.query as Parameters<typeof service.listResources>[2]),
  );

  app.get(
    '/api/catalog/classes',
    {
      schema: {
        tags: ['catalog'],
        summary:
          'The classification tree (类/项/目/细目: base libraries, themes with lead and contributing departments, departments) with counts of the published entries the caller can see',
      },
    },
    async (req) => service.classTree(ctx, requireActor(req)),
  );

  app.post(
    '/api/catalog/classes',
    {
      schema: {
        tags: ['catalog'],
        summary:
          'The authority adds a theme (under 主题, with its lead and contributing departments, DG Art 12) or a 目/细目 under a class',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            parentId: { type: 'integer', minimum: 1 },
            name: { type: 'string', minLength: 1, maxLength: 100, 'x-trim': true },
            nameEn: {
              type: ['string', 'null'],
              maxLength: 100,
              'x-trim': true,
              description: 'English name, shown in the en-US console (else the Chinese name is)',
            },
            leadOrgId: { type: ['integer', 'null'], minimum: 1 },
            contributorOrgIds: { type: 'array', maxItems: 100, items: { type: 'integer', minimum: 1 } },
          },
          required: ['parentId', 'name'],
        },
      },
    },
    async (req, reply) => {
      const r = await service.addClass(
        ctx,
        requireActor(req),
        req.body as Parameters<typeof service.addClass>[2],
      );
      return reply.code(201).send(r);
    },
  );

  app.put(
    '/api/catalog/classes/:id/departments',
    {
      schema: {
        tags: ['catalog'],
        summary: "The authority sets a theme's lead and contributing departments (DG Art 12)",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            leadOrgId: { type: 'integer', minimum: 1 },
            contributorOrgIds: { type: 'array', maxItems: 100, items: { type: 'integer', minimum: 1 } },
          },
          required: ['leadOrgId'],
        },
      },
    },
    async (req) => {
      const b = req.body as { leadOrgId: number; contributorOrgIds?: number[] };
      return service.setThemeLead(ctx, requireActor(req), (req.params as { id: number }).id, b);
    },
  );

  app.get(
    '/api/catalog/resources/:id',
    { schema: { tags: ['catalog'], summary: 'One resource with its fields', params: idParams } },
    async (req) => service.getResource(ctx, requireActor(req), (req.params as { id: number }).id),
  );

  app.post(
    '/api/catalog/resources',
    {
      schema: {
        tags: ['catalog'],
        summary: "Register a table resource in the caller's organisation's catalog",
        body: resourceInputSchema,
      },
    },
    async (req, reply) => {
      const { submit, ...input } = req.body as ResourceInput & { submit?: boolean };
      const r = await service.registerResource(ctx, requireActor(req), input, { submit });
      reply.code(201);
      return r;
    },
  );

  app.put(
    '/api/catalog/resources/:id',
    {
      schema: {
        tags: ['catalog'],
        summary:
          'Edit a draft/returned entry, or propose a new version of a published one (reviewed again; the live version keeps serving)',
        params: idParams,
        body: resourceInputSchema,
      },
    },
    async (req) => {
      const { submit, ...input } = req.body as ResourceInput & { submit?: boolean };
      return service.saveResource(ctx, requireActor(req), (req.params as { id: number }).id, input, {
        submit,
      });
    },
  );

  app.post(
    '/api/catalog/resources/:id/submit',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Submit the draft or returned version for review',
        params: idParams,
      },
    },
    async (req) => service.submitResource(ctx, requireActor(req), (req.params as { id: number }).id),
  );

  const commentBody = {
    type: 'object',
    additionalProperties: false,
    properties: { comment: { type: ['string', 'null'], maxLength: 2000 } },
  } as const;
  app.post(
    '/api/catalog/resources/:id/publish',
    {
      schema: {
        tags: ['catalog'],
        summary: "The level's reviewer approves and publishes the submitted version (DG Art 11)",
        params: idParams,
        body: commentBody,
      },
    },
    async (req) =>
      service.decideResource(ctx, requireActor(req), (req.params as { id: number }).id, {
        decision: 'publish',
        comment: (req.body as { comment?: string | null } | undefined)?.comment ?? null,
      }),
  );
  app.post(
    '/api/catalog/resources/:id/return',
    {
      schema: {
        tags: ['catalog'],
        summary: 'The reviewer returns the submitted version with comments',
        params: idParams,
        body: { ...commentBody, required: ['comment'] },
      },
    },
    async (req) =>
      service.decideResource(ctx, requireActor(req), (req.params as { id: number }).id, {
        decision: 'return',
        comment: (req.body as { comment: string }).comment,
      }),
  );
  app.post(
    '/api/catalog/resources/:id/retire',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Retire a published entry with a reason',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: { type: 'string', minLength: 1, maxLength: 2000 } },
          required: ['reason'],
        },
      },
    },
    async (req) =>
      service.retireResource(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        (req.body as { reason: string }).reason,
      ),
  );
  app.get(
    '/api/catalog/resources/:id/versions',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Version history with decisions, comments and a field-by-field diff',
        params: idParams,
      },
    },
    async (req) => service.resourceHistory(ctx, requireActor(req), (req.params as { id: number }).id),
  );
  app.get(
    '/api/catalog/review-inbox',
    { schema: { tags: ['catalog'], summary: 'Submitted versions waiting for the caller, oldest first' } },
    async (req) => service.reviewInbox(ctx, requireActor(req)),
  );

  app.get(
    '/api/catalog/resources/:id/preview',
    {
      schema: {
        tags: ['catalog'],
        summary: "The provider's masked preview of the first rows (audited)",
        params: idParams,
      },
    },
    async (req) => service.previewResource(ctx, requireActor(req), (req.params as { id: number }).id),
  );

  await catalogExcelRoutes(app, ctx);
}
