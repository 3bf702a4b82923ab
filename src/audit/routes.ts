import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireRole } from '../http/auth.js';
import { dateTimeString, pageQueryProps } from '../http/schemas.js';
import { type AuditFilter, listAudit } from './store.js';

export async function auditRoutes(app: FastifyInstance, ctx: AppContext) {
  app.get(
    '/api/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'The audit trail (auditor, platform admin): every data call and every decision',
        querystring: {
          type: 'object',
          properties: {
            action: { type: 'string', maxLength: 50 },
            resourceId: { type: 'integer' },
            appId: { type: 'integer' },
            decision: { type: 'string', enum: ['allow', 'deny'] },
            from: dateTimeString,
            to: dateTimeString,
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) => {
      // DG Art 28/33, GB/T 39477: audit is read by the separated auditor role
      requireRole(req, 'auditor', 'platform_admin');
      const f = req.query as AuditFilter;
      return { ...(await listAudit(ctx.db, f)), page: f.page, pageSize: f.pageSize };
    },
  );
}
