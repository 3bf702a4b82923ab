import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireRole } from '../http/auth.js';
import { idParams } from '../http/schemas.js';
import { AppError } from '../shared/errors.js';
import { reinstateApp } from './anomaly.js';

export async function securityRoutes(app: FastifyInstance, ctx: AppContext) {
  app.post(
    '/api/security/apps/:id/reinstate',
    {
      schema: {
        tags: ['security'],
        summary: 'Lift the suspension the anomaly detector put on an app (platform admin, audited)',
        params: idParams,
      },
    },
    async (req) => {
      const actor = requireRole(req, 'platform_admin');
      const id = (req.params as { id: number }).id;
      const r = await reinstateApp(ctx, actor, id);
      if (!r.reinstated)
        throw new AppError('CONFLICT', [{ field: 'id', reason: `app ${id} is not suspended` }]);
      return r;
    },
  );
}
