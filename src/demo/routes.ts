import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';

export async function demoRoutes(app: FastifyInstance, ctx: AppContext) {
  app.get(
    '/api/demo/logins',
    {
      schema: {
        tags: ['platform'],
        summary: 'Demo accounts for the login page (empty unless the demo city was loaded)',
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
