import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { isDemoMode } from '../orgs/bootstrap.js';

/**
 * Registered only in demo mode (the demo city is in this database and DEMO is not off): elsewhere the route does not
 * exist (404), so a production platform never lists its accounts to anonymous callers.
 */
export async function demoRoutes(app: FastifyInstance, ctx: AppContext) {
  if (!(await isDemoMode(ctx))) return;
  app.get(
    '/api/demo/logins',
    {
      schema: {
        tags: ['platform'],
        summary: 'Demo accounts for the login page (demo mode only; 404 otherwise)',
      },
      config: { public: true },
    },
    async () => {
      const row = await ctx.db
        .selectFrom('platform_state')
        .select('value')
        .where('key', '=', 'demo')
        .executeTakeFirst();
      return (row?.value as { users?: unknown[] } | undefined)?.users ?? [];
    },
  );
}
