import { errorResponseSchema } from './errors.js';

export const idParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1 } },
  required: ['id'],
} as const;

export const pageQueryProps = {
  page: { type: 'integer', minimum: 1, default: 1 },
  pageSize: { type: 'integer', minimum: 1, maximum: 200, default: 20 },
} as const;

/** Error responses every API route may give, so the OpenAPI document shows the one error shape. */
export const errorResponses = {
  '4xx': {
    description: 'Client error: `code` names it (see docs/API.md), `details` the row/field at fault',
    ...errorResponseSchema,
  },
  '5xx': { description: 'Server error (`INTERNAL`); nothing was written', ...errorResponseSchema },
} as const;

/** A calendar date YYYY-MM-DD that exists (no 2026-13-45), year 1000-9999. */
export const dateString = { type: 'string', pattern: '^[1-9]\\d{3}-\\d{2}-\\d{2}$', format: 'date' } as const;

/** An RFC 3339 timestamp, year 1000-9999 (PostgreSQL has no year 0; JS and SQL agree on this range). */
export const dateTimeString = { type: 'string', format: 'date-time', pattern: '^[1-9]\\d{3}-' } as const;
