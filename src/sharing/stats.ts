import { sql } from 'kysely';
import { type Actor, type AppContext, hasRole } from '../context.js';
import { requestScope, scopeCondition } from './visibility.js';

/*
 * Request volume and on-time rate per department (issue 8 point 12), for the sharing console's charts. A request is
 * decided when approved or refused; it was decided on time when no step of it was decided after its due date (Beijing
 * day) and none was approved only by deemed consent (SY Art 25: the provider did not answer in time). Counted by the
 * provider department (who answers) and by the consumer department (who asks). The authority, auditors and the admin see
 * every department (a county's authority: the requests of its jurisdiction, ./visibility.ts); anyone else their own
 * department's row only. `from` / `to` bound the filing day (inclusive).
 */
export interface StatsRow {
  org: { id: number; name: string };
  requests: number;
  pending: number;
  decided: number;
  onTime: number;
  /** onTime / decided, 0–1; null when nothing was decided */
  onTimeRate: number | null;
}

export async function requestStats(
  ctx: AppContext,
  actor: Actor,
  f: { from?: string; to?: string } = {},
): Promise<{ byProvider: StatsRow[]; byConsumer: StatsRow[] }> {
  const all = actor.orgKind === 'authority' || hasRole(actor, 'auditor', 'platform_admin');
  // a lower-level (county) authority counts only the requests it may read: the list's predicate (./visibility.ts)
  const scope = await requestScope(ctx.db, actor);
  const visible = scope.kind === 'jurisdiction' ? scopeCondition(scope) : null;
  const late = sql<boolean>`EXISTS (SELECT 1 FROM share_request_step s WHERE s.request_id = q.id
    AND s.due_date IS NOT NULL AND (s.decision = 'deemed'
      OR (s.decided_at IS NOT NULL AND (s.decided_at AT TIME ZONE 'Asia/Shanghai')::date > s.due_date)))`;
  const by = async (side: 'provider' | 'consumer') => {
    const orgCol = side === 'provider' ? 'r.provider_org_id' : 'q.consumer_org_id';
    let q = ctx.db
      .selectFrom('share_request as q')
      .innerJoin('resource as r', 'r.id', 'q.resource_id')
      .innerJoin('org as o', 'o.id', orgCol)
      .select([
        'o.id as org_id',
        'o.name as org_name',
        sql<number>`count(*)::int`.as('requests'),
        sql<number>`(count(*) FILTER (WHERE q.status = 'pending'))::int`.as('pending'),
        sql<number>`(count(*) FILTER (WHERE q.status IN ('approved', 'rejected')))::int`.as('decided'),
        sql<number>`(count(*) FILTER (WHERE q.status IN ('approved', 'rejected') AND NOT ${late}))::int`.as(
          'on_time',
        ),
      ])
      .groupBy(['o.id', 'o.name']);
    if (visible) q = q.where(visible);
    else if (!all) q = q.where(orgCol, '=', actor.orgId);
    if (f.from) q = q.where(sql`(q.submitted_at AT TIME ZONE 'Asia/Shanghai')::date`, '>=', f.from);
    if (f.to) q = q.where(sql`(q.submitted_at AT TIME ZONE 'Asia/Shanghai')::date`, '<=', f.to);
    const rows = await q.orderBy(sql`count(*)`, 'desc').orderBy('o.id').limit(200).execute();
    return rows.map((x) => ({
      org: { id: Number(x.org_id), name: x.org_name },
      requests: x.requests,
      pending: x.pending,
      decided: x.decided,
      onTime: x.on_time,
      onTimeRate: x.decided ? x.on_time / x.decided : null,
    }));
  };
  return { byProvider: await by('provider'), byConsumer: await by('consumer') };
}
