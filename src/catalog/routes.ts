import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { idParams, pageQueryProps } from '../http/schemas.js';
import {
  CATALOG_LEVELS,
  CLASSIFICATIONS,
  FIELD_TYPES,
  MASKINGS,
  OPEN_TYPES,
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
    type: { type: 'string', enum: FIELD_TYPES },
    length: { type: ['integer', 'null'], minimum: 1 },
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
  },
  required: ['code', 'name', 'type'],
} as const;

export const resourceInputSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200, 'x-trim': true },
    summary: { type: 'string', minLength: 1, maxLength: 4000 },
    classification: { type: 'string', enum: CLASSIFICATIONS },
    topic: { type: 'string', maxLength: 100 },
    catalogLevel: { type: 'string', enum: CATALOG_LEVELS },
    shareType: { type: 'string', enum: SHARE_TYPES },
    shareConditions: { type: ['string', 'null'], maxLength: 2000 },
    legalBasis: { type: ['string', 'null'], maxLength: 2000 },
    shareMethod: { type: 'string', enum: SHARE_METHODS, default: 'api' },
    openType: { type: 'string', enum: OPEN_TYPES, default: 'closed' },
    updateCycle: { type: 'string', enum: UPDATE_CYCLES },
    securityLevel: { type: 'string', enum: SECURITY_LEVELS, default: 'general' },
    keywords: { type: 'array', items: { type: 'string', maxLength: 50 }, maxItems: 20 },
    sectionId: { type: ['integer', 'null'] },
    fields: { type: 'array', minItems: 1, maxItems: 500, items: fieldSchema },
  },
  required: ['name', 'summary', 'classification', 'catalogLevel', 'shareType', 'updateCycle', 'fields'],
} as const;

export async function catalogRoutes(app: FastifyInstance, ctx: AppContext) {
  app.get(
    '/api/catalog/resources',
    {
      schema: {
        tags: ['catalog'],
        summary:
          'Full-text search of the catalog with facets and highlights; section-level entries only inside their department (DG Art 11)',
        querystring: {
          type: 'object',
          properties: {
            q: {
              type: 'string',
              maxLength: 100,
              description:
                'words (segmented by jieba, all must match, the last as a prefix) or a code prefix',
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
            sort: {
              type: 'string',
              enum: ['relevance', 'name', 'updated'],
              description: 'default: relevance with q, name without',
            },
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) =>
      service.listResources(ctx, requireActor(req), req.query as Parameters<typeof service.listResources>[2]),
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
      const r = await service.registerResource(ctx, requireActor(req), req.body as ResourceInput);
      reply.code(201);
      return r;
    },
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
}
