import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { shanghaiDate } from '../calendar/model.js';
import type { AppContext } from '../context.js';
import { requireActor } from '../http/auth.js';
import { NOT_ENFORCED } from '../profiles/enforcement.js';
import { PROFILES } from '../profiles/index.js';
import { crossLevelRule } from '../sharing/levels.js';

export async function statsRoutes(app: FastifyInstance, ctx: AppContext) {
  app.get(
    '/api/stats/overview',
    { schema: { tags: ['stats'], summary: 'Platform counters and data calls of the last 14 days' } },
    async (req) => {
      requireActor(req);
      const today = shanghaiDate(new Date());
      const [counts, byDay] = await Promise.all([
        sql<{
          resources: number;
          departments: number;
          rows: number;
          pending: number;
          grants: number;
          calls_today: number;
        }>`SELECT
          (SELECT count(*)::int FROM resource WHERE status = 'published') AS resources,
          (SELECT count(*)::int FROM org WHERE kind <> 'authority') AS departments,
          (SELECT coalesce(sum(row_count), 0)::bigint FROM resource) AS rows,
          (SELECT count(*)::int FROM share_request WHERE status = 'pending') AS pending,
          (SELECT count(*)::int FROM share_grant WHERE status = 'active' AND valid_until > now()) AS grants,
          (SELECT count(*)::int FROM audit_log WHERE action LIKE 'data.%'
             AND occurred_at >= (${today}::date::timestamp AT TIME ZONE 'Asia/Shanghai')) AS calls_today`.execute(
          ctx.db,
        ),
        sql<{
          date: string;
          count: number;
        }>`SELECT to_char(occurred_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS date, count(*)::int AS count
          FROM audit_log WHERE action LIKE 'data.%' AND occurred_at > now() - interval '14 days'
          GROUP BY 1 ORDER BY 1`.execute(ctx.db),
      ]);
      const c = counts.rows[0];
      return {
        resources: c.resources,
        departments: c.departments,
        rows: Number(c.rows),
        pendingRequests: c.pending,
        activeGrants: c.grants,
        callsToday: c.calls_today,
        callsByDay: byDay.rows,
      };
    },
  );

  app.get(
    '/api/profile',
    { schema: { tags: ['profiles'], summary: 'The active regulation profile' } },
    async (req) => {
      requireActor(req);
      // the rules page marks these "尚未执行": nothing acts on them yet (src/profiles/enforcement.ts)
      // the cross-level rule in force, also where it comes from the parent profile (DG through GD, src/sharing/levels.ts)
      // the province whose rules fill the gaps, by name: people see words, not profile ids
      const parent = ctx.profile.parent ? PROFILES[ctx.profile.parent] : null;
      return {
        ...ctx.profile,
        parentName: parent ? { zh: parent.nameZh, en: parent.nameEn } : null,
        notEnforced: NOT_ENFORCED,
        crossLevelInForce: crossLevelRule(ctx.profile) ?? null,
      };
    },
  );
}
