import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { dateTimeString, pageQueryProps } from '../http/schemas.js';
import { INCIDENT_RECIPIENTS } from '../profiles/model.js';
import { INCIDENT_CATEGORIES, INCIDENT_SEVERITIES } from './incident-model.js';
import {
  addIncidentEvent,
  closeIncident,
  getIncident,
  type IncidentEventInput,
  listIncidents,
  type NewIncident,
  reportIncident,
} from './incidents.js';

const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max, 'x-trim': true }) as const;
const idParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1 } },
  required: ['id'],
} as const;

/** Security incidents (DG Art 32, SY Art 44, GD Art 27). */
export async function incidentRoutes(app: FastifyInstance, ctx: AppContext) {
  const tags = ['security'];
  app.get(
    '/api/security/incidents',
    {
      schema: {
        tags,
        summary:
          'Security incidents: the authority and auditors see all, a data officer those of their department; each with the notices its regulation requires and whether they are recorded',
        querystring: {
          type: 'object',
          properties: { status: { type: 'string', enum: ['open', 'closed'] }, ...pageQueryProps },
        },
      },
    },
    async (req) => listIncidents(ctx, requireActor(req), req.query as never),
  );

  app.post(
    '/api/security/incidents',
    {
      schema: {
        tags,
        summary:
          "Reports an incident: the authority, the affected departments' officers and the auditors are notified in the same transaction; audited",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['title', 'category', 'severity', 'description', 'detectedAt'],
          properties: {
            title: text(100),
            category: { type: 'string', enum: INCIDENT_CATEGORIES },
            severity: { type: 'string', enum: INCIDENT_SEVERITIES },
            description: text(4000),
            occurredAt: { ...dateTimeString, nullable: true },
            detectedAt: dateTimeString,
            affectedOrgIds: { type: 'array', maxItems: 50, items: { type: 'integer', minimum: 1 } },
          },
        },
      },
    },
    async (req) => reportIncident(ctx, requireActor(req), req.body as NewIncident),
  );

  app.get(
    '/api/security/incidents/:id',
    { schema: { tags, summary: 'One incident with its response steps and notices', params: idParams } },
    async (req) => getIncident(ctx, requireActor(req), (req.params as { id: number }).id),
  );

  app.post(
    '/api/security/incidents/:id/events',
    {
      schema: {
        tags,
        summary:
          'Records a response step, or a notice (who was told, when, how: the cyberspace administration, the affected users, the authority); audited',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'text', 'at'],
          properties: {
            kind: { type: 'string', enum: ['response', 'notice'] },
            recipient: { type: ['string', 'null'], enum: [...INCIDENT_RECIPIENTS, null] },
            channel: { type: ['string', 'null'], maxLength: 50 },
            text: text(2000),
            at: dateTimeString,
          },
        },
      },
    },
    async (req) =>
      addIncidentEvent(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        req.body as IncidentEventInput,
      ),
  );

  app.post(
    '/api/security/incidents/:id/close',
    {
      schema: {
        tags,
        summary:
          'Closes an incident with its report (the authority only); refused with INCIDENT_NOTICE_PENDING while a notice the regulation requires is unrecorded; audited',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['report'],
          properties: { report: text(8000) },
        },
      },
    },
    async (req) =>
      closeIncident(
        ctx,
        requireActor(req),
        (req.params as { id: number }).id,
        (req.body as { report: string }).report,
      ),
  );
}
