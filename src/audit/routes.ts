import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireRole } from '../http/auth.js';
import { dateTimeString, pageQueryProps } from '../http/schemas.js';
import { keyedHash } from '../shared/secrets.js';
import { EXPORT_MAX_BLOCKS, exportAudit, sealStatus, verifyAudit } from './seal.js';
import { type AuditFilter, appendAudit, listAudit } from './store.js';

const seqRange = {
  type: 'object',
  additionalProperties: false,
  properties: {
    fromSeq: { type: 'integer', minimum: 1, description: 'first block (default 1)' },
    toSeq: { type: 'integer', minimum: 1, description: 'last block (default: the newest)' },
  },
} as const;

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

  app.get(
    '/api/audit/seal',
    {
      schema: {
        tags: ['audit'],
        summary:
          'The sealed audit chain: blocks, sealed and pending records, the newest block hash, the signing keys (auditor only)',
      },
    },
    async (req) => {
      requireRole(req, 'auditor');
      return sealStatus(ctx.db);
    },
  );

  app.post(
    '/api/audit/verify',
    {
      schema: {
        tags: ['audit'],
        summary:
          'Verifies the chain and every sealed record in a block range: names each altered, removed or inserted record and each altered, missing or unsigned block (auditor only; the check is itself audited)',
        body: seqRange,
      },
    },
    async (req) => {
      const actor = requireRole(req, 'auditor');
      const range = (req.body ?? {}) as { fromSeq?: number; toSeq?: number };
      const report = await verifyAudit(ctx.db, range);
      await appendAudit(ctx.db, {
        actorUserId: actor.id,
        actorOrgId: actor.orgId,
        action: 'audit.verified',
        decision: 'allow',
        clientIp: actor.clientIp,
        detail: {
          fromSeq: report.fromSeq,
          toSeq: report.toSeq,
          blocks: report.blocksChecked,
          records: report.recordsChecked,
          findings: report.findingCount,
        },
      });
      return report;
    },
  );

  app.get(
    '/api/audit/export',
    {
      schema: {
        tags: ['audit'],
        summary: `Exports sealed blocks (at most ${EXPORT_MAX_BLOCKS}) with their records, leaf hashes and public keys, for an offline check with \`govshare audit verify-export\` (auditor only; audited)`,
        querystring: { ...seqRange, required: ['fromSeq', 'toSeq'] },
      },
    },
    async (req, reply) => {
      const actor = requireRole(req, 'auditor');
      const { fromSeq, toSeq } = req.query as { fromSeq: number; toSeq: number };
      const data = await exportAudit(ctx.db, fromSeq, toSeq);
      await appendAudit(ctx.db, {
        actorUserId: actor.id,
        actorOrgId: actor.orgId,
        action: 'audit.exported',
        decision: 'allow',
        clientIp: actor.clientIp,
        detail: {
          fromSeq,
          toSeq: fromSeq + data.blocks.length - 1,
          blocks: data.blocks.length,
          records: data.blocks.reduce((n, b) => n + b.records.length, 0),
        },
      });
      reply.header('content-disposition', `attachment; filename="govshare-audit-${fromSeq}-${toSeq}.json"`);
      return data;
    },
  );
}
