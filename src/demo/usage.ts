import { sql } from 'kysely';
import { shanghaiDate } from '../calendar/model.js';
import type { AppContext } from '../context.js';

/**
 * A year of data calls (issue 12 points 3, 5 and 6) so 使用监测, the cockpit's 365-day view and the evaluation's
 * quarterly and yearly sharing volume are not empty on first start: on every active grant, record lookups and
 * verifications each day (fewer at weekends), a slow rise over the year, a few refused for a wrong purpose, with
 * latencies; and the demo apps without a grant refused now and then. They are real audit rows, so the usage rollup,
 * the cockpit and the evaluation read one source and agree (no pre-aggregate written beside audit_log). One
 * INSERT … SELECT: about 10 000 rows per active grant (the demo city has few), measured in docs/EVALUATION.md. The rows
 * carry `demoHistory: true` in their detail: an auditor can tell them from real calls.
 */
export async function loadDemoUsage(ctx: AppContext, days = 365): Promise<number> {
  const today = shanghaiDate(ctx.clock.now());
  const r = await sql`
    INSERT INTO audit_log (occurred_at, actor_org_id, app_id, grant_id, action, resource_id, target_type, purpose,
      decision, rows_returned, detail)
    SELECT t.at, g.consumer_org_id, g.app_id, g.id, t.action, g.resource_id, 'record', g.purpose,
      CASE WHEN t.h % 23 = 0 THEN 'deny' ELSE 'allow' END,
      CASE WHEN t.h % 23 = 0 THEN NULL WHEN t.action = 'data.verify' THEN 0 ELSE 1 + t.h % 3 END,
      jsonb_build_object('demoHistory', true, 'ms', round((2 + (t.h % 97) * (1 + t.h % 5) / 4.0)::numeric, 2))
        || CASE WHEN t.h % 23 = 0 THEN '{"reason":"PURPOSE_MISMATCH"}'::jsonb ELSE '{}'::jsonb END
    FROM share_grant g
    CROSS JOIN LATERAL (
      SELECT d.day, n.k,
        abs(hashtext(g.id || ':' || d.day || ':' || n.k)) AS h,
        (d.day::timestamp + interval '8 hours' + (abs(hashtext(d.day || ':' || n.k)) % 36000) * interval '1 second')
          AT TIME ZONE 'Asia/Shanghai' AS at,
        CASE WHEN n.k % 4 = 0 THEN 'data.verify' ELSE 'data.get' END AS action
      FROM (SELECT ${today}::date - o.i AS day FROM generate_series(1, ${days}::int) AS o(i)) d
      CROSS JOIN generate_series(1, 40) AS n(k)
      -- weekdays up to 40 calls, weekends a handful, and a slow rise over the period (up to 9 a day more at its end)
      WHERE n.k <= CASE WHEN extract(isodow FROM d.day) >= 6 THEN 4
        ELSE 12 + (abs(hashtext(g.id || ':' || d.day)) % 20) + (d.day - (${today}::date - ${days}::int)) * 9 / ${days}::int END
    ) t
    WHERE g.status = 'active'`.execute(ctx.db);
  // apps without a grant on the population data, refused now and then (GRANT_REQUIRED)
  const denied = await sql`
    INSERT INTO audit_log (occurred_at, actor_org_id, app_id, action, resource_id, target_type, decision, detail)
    SELECT (d.day::timestamp + interval '15 hours') AT TIME ZONE 'Asia/Shanghai', p.org_id, p.id, 'data.get',
      g.resource_id, 'record', 'deny', '{"demoHistory": true, "reason": "GRANT_REQUIRED", "ms": 1.5}'::jsonb
    FROM (SELECT DISTINCT resource_id FROM share_grant WHERE status = 'active') g
    CROSS JOIN app p
    CROSS JOIN (SELECT ${today}::date - o.i AS day FROM generate_series(1, ${days}::int, 7) AS o(i)) d
    WHERE p.status = 'active' AND NOT EXISTS (SELECT 1 FROM share_grant x WHERE x.app_id = p.id
      AND x.resource_id = g.resource_id)`.execute(ctx.db);
  return Number(r.numAffectedRows ?? 0) + Number(denied.numAffectedRows ?? 0);
}
