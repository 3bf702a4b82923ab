// Fastify's validator is Ajv 8 (a dependency of @fastify/ajv-compiler); only its types are used here.
import type { Ajv, ErrorObject } from 'ajv';
import type { DataValidationCxt } from 'ajv/dist/types/index.js';

/**
 * `x-trim: true` on a string property: trims leading and trailing whitespace in place and refuses a value
 * that is blank once trimmed. For names (app, resource, field, display names), so "  公安局 " and " " never
 * reach the database. Registered through Fastify's `ajv.plugins`.
 */
export function trimKeyword(ajv: Ajv): Ajv {
  function validate(schema: boolean, data: unknown, _parent?: unknown, cxt?: DataValidationCxt): boolean {
    if (!schema || typeof data !== 'string') return true;
    const trimmed = data.trim();
    if (cxt?.parentData && cxt.parentDataProperty !== undefined)
      (cxt.parentData as Record<string | number, unknown>)[cxt.parentDataProperty] = trimmed;
    if (trimmed.length > 0) return true;
    validate.errors = [{ keyword: 'x-trim', message: 'must not be blank', params: {} }];
    return false;
  }
  validate.errors = undefined as Partial<ErrorObject>[] | undefined;
  return ajv.addKeyword({
    keyword: 'x-trim',
    type: 'string',
    schemaType: 'boolean',
    modifying: true,
    errors: true,
    validate,
  });
}

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

const SUBSCHEMA_MAPS = ['properties', 'patternProperties', 'definitions', '$defs'];
const SUBSCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];
const SUBSCHEMAS = ['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains'];

/**
 * A copy of a request schema in which every `integer` without its own bounds is a PostgreSQL `integer`
 * (-2^31 … 2^31-1): `page=1e300` or a field length of 2^40 is then a 400 naming the field, not a database
 * error. A schema that needs bigger integers says so with its own minimum/maximum.
 */
export function boundIntegers<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map((s) => boundIntegers(s)) as T;
  if (!schema || typeof schema !== 'object') return schema;
  const s = { ...(schema as Record<string, unknown>) };
  const types = Array.isArray(s.type) ? s.type : [s.type];
  if (types.includes('integer')) {
    if (s.maximum === undefined && s.exclusiveMaximum === undefined) s.maximum = INT32_MAX;
    if (s.minimum === undefined && s.exclusiveMinimum === undefined) s.minimum = INT32_MIN;
  }
  for (const k of SUBSCHEMA_MAPS) {
    const m = s[k];
    if (m && typeof m === 'object')
      s[k] = Object.fromEntries(Object.entries(m).map(([name, sub]) => [name, boundIntegers(sub)]));
  }
  for (const k of [...SUBSCHEMA_LISTS, ...SUBSCHEMAS])
    if (s[k] && typeof s[k] === 'object') s[k] = boundIntegers(s[k]);
  return s as T;
}
