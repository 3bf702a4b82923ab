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

/**
 * The body of a write route (POST/PUT/PATCH/DELETE) that takes none: absent, `null` or `{}`. Anything else — an
 * array, a string, an object with any property — is 400 VALIDATION_FAILED naming it, never silently ignored. The
 * HTTP layer gives it to every such route without a body schema of its own (routes reading a raw upload declare
 * `consumes` and keep their own parser).
 */
export const noBody = {
  description: 'no body (or an empty JSON object)',
  if: { type: 'object' },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else, a plain object never awaited
  then: { type: 'object', additionalProperties: false },
  // `enum`, not `type: 'null'`: the validator coerces types, and would take `false` or `0` for null
  else: { enum: [null] },
} as const;

/** The OpenAPI body of a raw upload (`consumes` without a body schema): its own parser reads the bytes. */
export const rawBody = { description: "the file's bytes, in one of the route's content types" } as const;
