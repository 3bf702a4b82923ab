import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireRole } from '../http/auth.js';
import { dateTimeString, pageQueryProps } from '../http/schemas.js';
import { keyedHash } from '../shared/secrets.js';
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
            targetKey: {
              type: 'string',
              maxLength: 200,
              description:
                'a record key (e.g. an ID number): finds the calls on it, though the log stores only its keyed hash',
            },
            from: dateTimeString,
            to: dateTimeString,
            ...pageQueryProps,
          },
        },
      },
    },
    async (req) => {
      // DG Art 28/33, GB/T 39477: audit is read by the separated auditor role, not by the administrator it audits
      requireRole(req, 'auditor');
      const { targetKey, ...f } = req.query as AuditFilter & { targetKey?: string };
      if (targetKey) {
        // keys are stored as the data API normalised them: ID numbers and credit codes upper-case
        const forms = new Set([targetKey.trim(), targetKey.trim().toUpperCase()]);
        f.targetHashes = [...forms].map((k) => keyedHash(ctx.secret, k));
      }
      return { ...(await listAudit(ctx.db, f)), page: f.page, pageSize: f.pageSize };
    },
  );
}
