import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { myWork } from './service.js';

export async function workRoutes(app: FastifyInstance, ctx: AppContext) {
  app.get(
    '/api/work',
    {
      schema: {
        tags: ['work'],
        summary:
          "What waits for me: requests I decide and catalog versions I review, overdue first, with due dates and working days left; the inventories' counts",
      },
    },
    async (req) => myWork(ctx, requireActor(req)),
  );
}
