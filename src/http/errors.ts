import type { ErrorCode } from '../shared/errors.js';

export { AppError, type ErrorCode, type ErrorDetail } from '../shared/errors.js';

/** The HTTP layer's mapping of each domain error code to a status. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  LEGAL_BASIS_REQUIRED: 400,
  CATALOG_RULE_VIOLATED: 400,
  REVIEW_STATE_INVALID: 409,
  FIELD_CHANGE_NOT_ADDITIVE: 409,
  RESOURCE_NOT_PUBLISHED: 409,
  UNAUTHENTICATED: 401,
  LOGIN_FAILED: 401,
  API_KEY_INVALID: 401,
  FORBIDDEN: 403,
  CLOCK_NOT_ADJUSTABLE: 409,
  GRANT_REQUIRED: 403,
  NOT_SHAREABLE: 403,
  NOT_FOUND: 404,
  RECORD_NOT_FOUND: 404,
  CONFLICT: 409,
  INCIDENT_NOTICE_PENDING: 409,
  REQUEST_NOT_PENDING: 409,
  CSV_INVALID: 422,
  CATALOG_IMPORT_INVALID: 422,
  CATALOG_IMPORT_TOO_LARGE: 413,
  CATALOG_EXPORT_TOO_LARGE: 422,
  AUDIT_EXPORT_TOO_LARGE: 422,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  OPEN_DATASET_NOT_FOUND: 404,
  OPEN_APPLICATION_REQUIRED: 403,
  UNSUPPORTED_MEDIA_TYPE: 415,
  ORIGIN_REJECTED: 403,
  URI_TOO_LONG: 414,
  UPLOAD_TOO_LARGE: 413,
  ACCOUNT_LOCKED: 423,
  SETUP_INVALID: 401,
  APP_SUSPENDED: 403,
  QUOTA_EXCEEDED: 429,
  PURPOSE_REQUIRED: 403,
  PURPOSE_MISMATCH: 403,
  FIELD_NOT_GRANTED: 403,
  READ_NOT_GRANTED: 403,
  VERIFY_NOT_GRANTED: 403,
  EXPORT_NOT_GRANTED: 403,
  EXPORT_QUOTA_EXCEEDED: 429,
  FILTER_INVALID: 400,
  FILTER_FIELD_MASKED: 400,
  DATABASE_UNAVAILABLE: 503,
  SYSTEM_NOT_READY: 409,
  OBJECTION_STATE_INVALID: 409,
  OBJECTION_PAUSE_NOT_ALLOWED: 409,
  RECTIFICATION_STATE_INVALID: 409,
  INTERNAL: 500,
};

export const errorResponseSchema = {
  type: 'object',
  properties: {
    code: { type: 'string' },
    message: { type: 'string' },
    messageEn: { type: 'string' },
    details: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          row: { type: 'integer' },
          field: { type: 'string' },
          reason: { type: 'string' },
          reasonZh: { type: 'string' },
          // file imports and ingest: where in the file, the offending value (masked when personal), the problem's code
          sheet: { type: 'string' },
          column: { type: ['string', 'null'] },
          value: {
            type: ['string', 'null'],
            description: 'the offending value, masked when personal, truncated',
          },
          code: {
            type: 'string',
            description:
              'reason code of a row-level finding (ingest: REQUIRED, BAD_DATE…; catalog import: its error code)',
          },
        },
      },
    },
  },
  required: ['code', 'message', 'messageEn', 'details'],
} as const;
