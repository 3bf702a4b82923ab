import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { dateString, idParams, pageQueryProps } from '../http/schemas.js';
import type { RequestInput } from './model.js';
import {
  evaluationHistory,
  type ReevaluationInput,
  recordShareReevaluation,
  shareReevaluations,
} from './reevaluation.js';
import { RISK_CONCLUSIONS, type RiskAssessmentInput, recordRiskAssessment, riskState } from './risk.js';
import * as service from './service.js';
import { requestStats } from './stats.js';

/** The export right and its daily rows (issue 9 point 5), where grants are issued and edited. */
const exportQuotaProps = {
  export: { type: 'boolean', description: 'the right to bulk export (CSV, NDJSON, XLSX); default false' },
  exportRowsPerDay: {
    type: ['integer', 'null'],
    minimum: 1,
    maximum: 100_000_000,
    description: 'rows the grant may export per day; null: the platform default (GRANT_EXPORT_ROWS_PER_DAY)',
  },
  epsilonPerDay: {
    type: ['number', 'null'],
    exclusiveMinimum: 0,
    maximum: 1000,
    description:
      "the grant's privacy budget: the epsilon its noisy aggregate answers may spend per Beijing day; null: the platform default (AGGREGATE_EPSILON_PER_DAY)",
  },
  accessMode: {
    type: 'string',
    enum: ['rows', 'aggregate'],
    description:
      "'aggregate': usable but not visible (可用不可见, DG Art 33): aggregate queries only, every record endpoint refuses (AGGREGATE_ONLY); default 'rows'",
  },
  clearFields: {
    type: 'array',
    maxItems: 200,
    items: { type: 'string', minLength: 1, maxLength: 40 },
    description:
      'the clear-value right: granted fields this grant sees in clear; every other personal or sensitive field is masked',
  },
  feed: {
    type: 'boolean',
    description:
      'the change feed right (changes since a cursor, pulled or pushed to a webhook or NATS); default false',
  },
} as const;

export async function sharingRoutes(app: FastifyInstance, ctx: AppContext) {
  app.post(
    '/api/sharing/requests',
    {
      schema: {
        tags: ['sharing'],
        summary:
          "Request a resource's fields for one of the caller's apps; deadlines come from the active profile",
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            resourceId: { type: 'integer', minimum: 1 },
            appId: { type: 'integer', minimum: 1 },
            fields: { type: 'array', items: { type: 'string', maxLength: 40 }, maxItems: 500 },
            purpose: { type: 'string', minLength: 1, maxLength: 2000 },
            scenario: { type: ['string', 'null'], maxLength: 2000 },
            scope: {
              type: ['string', 'null'],
              maxLength: 1000,
              description: 'business scope of use (DG Art 26)',
            },
            validUntil: dateString,
            access: {
              type: ['string', 'null'],
              enum: ['verify', 'aggregate', null],
              description:
                'a grant locked to verification only (a not-shared resource whose provider enabled verification, DG Art 19) or to aggregates only (a not-shared resource where the regulation shares de-identified data, XT Art 23.6, SY Art 26)',
            },
          },
          required: ['resourceId', 'appId', 'fields', 'purpose', 'validUntil'],
        },
      },
    },
    async (req, reply) => {
      const r = await service.createRequest(ctx, requireActor(req), req.body as RequestInput);
      reply.code(201);
      return r;
    },
  );

  app.get(
    '/api/sharing/requests',
    {
      schema: {
        tags: ['sharing'],
        summary:
          'Share requests: outgoing (my org requested), incoming (pending, waiting for me: my party holds the current step, or escalated to the authority), handled (every request my org or the authority takes part in), all (overseers)',
        querystring: {
          type: 'object',
          properties: {
            box: { type: 'string', enum: ['outgoing', 'incoming', 'handled', 'all'], default: 'outgoing' },
            status: { type: 'string', enum: ['pending', 'approved', 'rejected', 'withdrawn'] },
            overdue: {
              type: 'boolean',
              description: 'only pending requests whose current step is undecided past its due date',
            },
            orgId: {
              type: 'integer',
              minimum: 1,
              description:
                'only requests whose current step the department holds (the provider; the authority for its review steps)',
            },
            dueFrom: {
              ...dateString,
              description:
                "with dueTo: only requests whose provider step is due in [dueFrom, dueTo] and decided or late (the cockpit's on-time rate)",
            },
            dueTo: dateString,
            providerOrgId: {
              type: 'integer',
              minimum: 1,
              description: 'with dueFrom/dueTo: of this provider only',
            },
            timeliness: {
              type: 'string',
              enum: ['onTime', 'late'],
              description:
                'with dueFrom/dueTo: decided by the due date, or decided after it / undecided past it',
            },
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) =>
      service.listRequests(ctx, requireActor(req), req.query as Parameters<typeof service.listRequests>[2]),
  );

  app.get(
    '/api/sharing/requests/:id',
    {
      schema: {
        tags: ['sharing'],
        summary: 'One share request with its steps and deadlines',
        params: idParams,
      },
    },
    async (req) => service.getRequest(ctx, requireActor(req), (req.params as { id: number }).id),
  );

  app.get(
    '/api/sharing/requests/:id/risk-assessments',
    {
      schema: {
        tags: ['sharing'],
        summary:
          "Whether the request needs a risk assessment before its grant is active (the profile's security.riskAssessment: DG Art 19, XT Art 31, SY Art 42, NY task 11), with the assessments recorded",
        params: idParams,
      },
    },
    async (req) => riskState(ctx, requireActor(req), (req.params as { id: number }).id),
  );

  app.post(
    '/api/sharing/requests/:id/risk-assessments',
    {
      schema: {
        tags: ['sharing'],
        summary:
          "Records a risk assessment (the provider's data officers or the authority's staff; audited): pass or conditional activates the waiting grant, fail keeps it inactive",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['assessor', 'assessedOn', 'conclusion', 'measures'],
          properties: {
            assessor: { type: 'string', minLength: 1, maxLength: 100, 'x-trim': true },
            assessedOn: dateString,
            conclusion: { type: 'string', enum: [...RISK_CONCLUSIONS] },
            measures: { type: 'string', maxLength: 2000 },
            attachmentName: { type: ['string', 'null'], maxLength: 200 },
          },
        },
      },
    },
    async (req) =>
      recordRiskAssessment(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        req.body as RiskAssessmentInput,
      ),
  );

  app.post(
    '/api/sharing/requests/:id/approve',
    {
      schema: {
        tags: ['sharing'],
        summary: 'Approve the current step; the last approval creates the grant',
        params: idParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            comment: { type: ['string', 'null'], maxLength: 2000 },
            quota: {
              type: 'object',
              additionalProperties: false,
              description: "the grant's limits on the data API; the platform defaults apply where unset",
              properties: {
                callsPerDay: { type: 'integer', minimum: 1, maximum: 100_000_000 },
                rowsPerCall: { type: 'integer', minimum: 1, maximum: 1000 },
                verificationsPerDay: { type: 'integer', minimum: 1, maximum: 100_000_000 },
                verify: {
                  type: 'boolean',
                  description: 'the right to verify (核验, DG Art 19); default false',
                },
                readRecords: {
                  type: 'boolean',
                  description:
                    'the right to read records; false makes a verification-only grant; default true',
                },
                ...exportQuotaProps,
              },
            },
          },
        },
      },
    },
    async (req) => {
      const b = req.body as { comment?: string; quota?: service.GrantQuota } | null;
      return service.decideRequest(ctx, requireActor(req), (req.params as { id: number }).id, {
        approve: true,
        comment: b?.comment ?? null,
        quota: b?.quota,
      });
    },
  );

  app.post(
    '/api/sharing/requests/:id/override',
    {
      schema: {
        tags: ['sharing'],
        summary:
          'The data authority decides an escalated request in place of the party that missed its deadline (DG Art 15/35); recorded as an override',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            approve: { type: 'boolean' },
            comment: { type: 'string', minLength: 1, maxLength: 2000 },
            legalBasis: { type: ['string', 'null'], maxLength: 2000 },
          },
          required: ['approve', 'comment'],
        },
      },
    },
    async (req) => {
      const b = req.body as { approve: boolean; comment: string; legalBasis?: string | null };
      return service.decideRequest(ctx, requireActor(req), (req.params as { id: number }).id, {
        approve: b.approve,
        comment: b.comment,
        legalBasis: b.legalBasis ?? null,
        override: true,
      });
    },
  );

  app.post(
    '/api/sharing/requests/:id/reject',
    {
      schema: {
        tags: ['sharing'],
        summary:
          'Refuse the request with a reason (and legal basis where the profile requires one, e.g. DG Art 24)',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            reason: { type: 'string', maxLength: 2000 },
            legalBasis: { type: ['string', 'null'], maxLength: 2000 },
          },
          required: ['reason'],
        },
      },
    },
    async (req) => {
      const b = req.body as { reason: string; legalBasis?: string | null };
      return service.decideRequest(ctx, requireActor(req), (req.params as { id: number }).id, {
        approve: false,
        comment: b.reason,
        legalBasis: b.legalBasis ?? null,
      });
    },
  );

  app.post(
    '/api/sharing/requests/:id/withdraw',
    {
      schema: {
        tags: ['sharing'],
        summary:
          "The requesting organisation withdraws a pending request (the requester or the org's data officer)",
        params: idParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { reason: { type: ['string', 'null'], maxLength: 2000 } },
        },
      },
    },
    async (req) =>
      service.withdrawRequest(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        (req.body as { reason?: string | null } | null)?.reason ?? null,
      ),
  );

  app.post(
    '/api/sharing/requests/:id/resubmit',
    {
      schema: {
        tags: ['sharing'],
        summary:
          'The consumer amends a refused (returned) request and resubmits it within the same request: the refusing step restarts with its deadline from the profile; recorded in the timeline, audited, its holders notified',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['note'],
          properties: {
            note: { type: 'string', minLength: 1, maxLength: 2000, description: 'what was added or changed' },
            purpose: { type: 'string', minLength: 1, maxLength: 2000 },
            scenario: { type: ['string', 'null'], maxLength: 2000 },
            scope: { type: ['string', 'null'], maxLength: 1000 },
            fields: { type: 'array', items: { type: 'string', maxLength: 40 }, maxItems: 500 },
            validUntil: dateString,
          },
        },
      },
    },
    async (req) =>
      service.resubmitRequest(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        req.body as service.ResubmitInput,
      ),
  );

  app.post(
    '/api/sharing/grants/:id/agreement',
    {
      schema: {
        tags: ['sharing'],
        summary:
          "The consumer's data officer confirms the provide-and-use agreement recorded with the grant (DG Art 18)",
        params: idParams,
      },
    },
    async (req) => service.acceptAgreement(ctx, requireActor(req), (req.params as { id: number }).id),
  );

  app.get(
    '/api/sharing/stats',
    {
      schema: {
        tags: ['sharing'],
        summary:
          'Request volume and on-time rate per department, by provider and by consumer (the authority, auditors and the admin: every department; others: their own)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { from: dateString, to: dateString },
        },
      },
    },
    async (req) => requestStats(ctx, requireActor(req), req.query as { from?: string; to?: string }),
  );

  // ------------------------------------------------------------ periodic re-evaluation (XT Art 23.5, SY Art 31)
  app.get(
    '/api/sharing/reevaluations',
    {
      schema: {
        tags: ['sharing'],
        summary:
          "Conditional / not-shared resources with the date their periodic re-evaluation falls due and working days left (the profile's sharing.reevaluation: XT Art 23.5, SY Art 31): my department's; the authority, auditors and the admin see all",
        querystring: { type: 'object', properties: { dueOnly: { type: 'boolean', default: false } } },
      },
    },
    async (req) => shareReevaluations(ctx, requireActor(req), (req.query as { dueOnly: boolean }).dueOnly),
  );
  app.get(
    '/api/sharing/reevaluations/:id',
    {
      schema: {
        tags: ['sharing'],
        summary: 'The re-evaluations recorded for one resource (id = the resource), newest first',
        params: idParams,
      },
    },
    async (req) => evaluationHistory(ctx, requireActor(req), (req.params as { id: number }).id),
  );
  app.post(
    '/api/sharing/reevaluations',
    {
      schema: {
        tags: ['sharing'],
        summary:
          "The provider's data officer records a re-evaluation: keep the share type, or convert it (a new catalog version with the new share type submitted for the level's review); audited",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['resourceId', 'conclusion', 'comment'],
          properties: {
            resourceId: { type: 'integer', minimum: 1 },
            conclusion: { type: 'string', enum: ['keep', 'convert'] },
            targetShareType: { type: 'string', enum: ['unconditional', 'conditional', 'none'] },
            shareConditions: { type: ['string', 'null'], maxLength: 2000 },
            legalBasis: { type: ['string', 'null'], maxLength: 2000 },
            comment: { type: 'string', minLength: 1, maxLength: 2000 },
          },
        },
      },
    },
    async (req, reply) => {
      const r = await recordShareReevaluation(ctx, requireActor(req), req.body as ReevaluationInput);
      reply.code(201);
      return r;
    },
  );

  app.get(
    '/api/sharing/grants',
    { schema: { tags: ['sharing'], summary: "Grants held or given by the caller's organisation" } },
    async (req) => service.listGrants(ctx, requireActor(req)),
  );

  app.patch(
    '/api/sharing/grants/:id',
    {
      schema: {
        tags: ['sharing'],
        summary:
          "Change an active grant's rights (read, verify, export, change feed) and limits (the provider's data officer or the platform admin); audited with before and after",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            callsPerDay: { type: ['integer', 'null'], minimum: 1, maximum: 100_000_000 },
            rowsPerCall: { type: ['integer', 'null'], minimum: 1, maximum: 1000 },
            verificationsPerDay: { type: ['integer', 'null'], minimum: 1, maximum: 100_000_000 },
            verify: { type: 'boolean' },
            readRecords: { type: 'boolean' },
            ...exportQuotaProps,
          },
        },
      },
    },
    async (req) =>
      service.editGrant(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        req.body as service.GrantQuota,
      ),
  );

  app.post(
    '/api/sharing/grants/:id/revoke',
    {
      schema: { tags: ['sharing'], summary: 'Revoke a grant, effective on the next call', params: idParams },
    },
    async (req) => service.revokeGrant(ctx, requireActor(req), (req.params as { id: number }).id),
  );
}
