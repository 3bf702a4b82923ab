import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { idParams } from '../http/schemas.js';
import * as service from './service.js';

export async function ingestRoutes(app: FastifyInstance, ctx: AppContext) {
  app.post(
    '/api/ingest/resources/:id/csv',
    {
      schema: {
        tags: ['ingest'],
        summary:
          'Upload a CSV in UTF-8 or GBK/GB18030 (header = field codes or names); all rows are written or none (CSV_INVALID lists row/field)',
        params: idParams,
        querystring: { type: 'object', properties: { filename: { type: 'string', maxLength: 255 } } },
        consumes: ['text/csv'],
      },
      bodyLimit: ctx.config.uploadMaxBytes,
    },
    async (req) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      return service.ingestCsvUpload(ctx, requireActor(req), (req.params as { id: number }).id, body, {
        filename: (req.query as { filename?: string }).filename ?? null,
      });
    },
  );

  app.get(
    '/api/ingest/resources/:id/batches',
    { schema: { tags: ['ingest'], summary: 'Import history of a resource', params: idParams } },
    async (req) => service.listBatches(ctx, requireActor(req), (req.params as { id: number }).id),
  );
}
