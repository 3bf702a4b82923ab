import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireRole } from '../http/auth.js';
import { pageQueryProps } from '../http/schemas.js';
import { type AuditFilter, listAudit } from './store.js';

export async function auditRoutes(app: FastifyInstance, ctx: AppContext) {
  app.get(
    '/api/audit',
    {
      schema: {
        tags: ['audit'],
        summary:
          'The audit trail (auditor only, GB/T 39477 separation of duties): every data call and every decision, refusals included',
        querystring: {
          type: 'object',
          properties: {
            action: { type: 'string', maxLength: 50 },
            resourceId: { type: 'integer' },
            appId: { type: 'integer' },
            decision: { type: 'string', enum: ['allow', 'deny'] },
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) => {
      // DG Art 28/33, GB/T 39477: audit is read by the separated auditor role, not by the administrator it audits
      requireRole(req, 'auditor');
      const f = req.query as AuditFilter;
      return { ...(await listAudit(ctx.db, f)), page: f.page, pageSize: f.pageSize };
    },
  );
}
