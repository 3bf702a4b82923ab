import { sql } from 'kysely';
import type { Actor, AppContext } from '../context.js';
import { hasRole } from '../context.js';
import { inTx } from '../db/index.js';
import { notify } from '../notify/service.js';
import { assertOrgFilter } from '../orgs/store.js';
import { AppError } from '../shared/errors.js';

/*
 * Freshness (XT Art 20: data is updated by its declared cycle; DG Art 17: aggregated in time). The next update is due
 * one cycle after the last applied import (or after publication when none yet); a resource past that date is overdue
 * and its provider and the authority are told once per due date, with how many days late.
 */
export const CYCLE_MONTHS: Record<string, { days?: number; months?: number } | null> = {
  realtime: { days: 1 },
  daily: { days: 1 },
  weekly: { days: 7 },
  monthly: { months: 1 },
  quarterly: { months: 3 },
  yearly: { months: 12 },
  irregular: null,
};

const DAY = 86_400_000;

/** The date (YYYY-MM-DD, UTC) the next update is due, or null for an irregular cycle. */
export function nextDue(cycle: string, since: Date): string | null {
  const c = CYCLE_MONTHS[cycle];
  if (!c) return null;
  const d = new Date(since.getTime());
  if (c.days) d.setUTCDate(d.getUTCDate() + c.days);
  if (c.months) {
    const day = d.getUTCDate();
    d.setUTCDate(1);
    d.setUTCMonth(d.getUTCMonth() + c.months);
    // 31 Jan + 1 month = 28/29 Feb, not 3 Mar
    const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
    d.setUTCDate(Math.min(day, last));
  }
  return d.toISOString().slice(0, 10);
}

export function daysLate(due: string | null, now: Date): number {
  if (!due) return 0;
  const late = Math.floor(
    (Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - Date.parse(due)) / DAY,
  );
  return Math.max(late, 0);
}

async function rows(ctx: AppContext) {
  return ctx.db
    .selectFrom('resource as r')
    .innerJoin('org as o', 'o.id', 'r.provider_org_id')
    .select([
      'r.id',
      'r.name',
      'r.code',
      'r.provider_org_id',
      'o.name as provider_name',
      'r.update_cycle',
      'r.last_ingest_at',
      'r.published_at',
      'r.row_count',
      'r.overdue_notified_due',
    ])
    .where('r.status', '=', 'published')
    .where('r.data_table', 'is not', null)
    .orderBy('r.id')
    .execute();
}

function assess(r: Awaited<ReturnType<typeof rows>>[number], now: Date) {
  const since = r.last_ingest_at ?? r.published_at;
  const due = since ? nextDue(r.update_cycle, new Date(since)) : null;
  const late = daysLate(due, now);
  return { due, late };
}

export async function freshnessBoard(
  ctx: AppContext,
  actor: Actor,
  q: { overdueOnly?: boolean; orgId?: number },
  now = ctx.clock.now(),
) {
  await assertOrgFilter(ctx.db, q.orgId);
  const all = await rows(ctx);
  const mine = actor.orgKind === 'authority' || hasRole(actor, 'platform_admin');
  return all
    .filter((r) => mine || r.provider_org_id === actor.orgId)
    .filter((r) => q.orgId === undefined || r.provider_org_id === q.orgId)
    .map((r) => {
      const { due, late } = assess(r, now);
      return {
        resourceId: r.id,
        code: r.code,
        name: r.name,
        provider: { id: r.provider_org_id, name: r.provider_name },
        updateCycle: r.update_cycle,
        lastIngestAt: r.last_ingest_at,
        rowCount: r.row_count,
        nextDue: due,
        daysOverdue: late,
        overdue: late > 0,
      };
    })
    .filter((r) => !q.overdueOnly || r.overdue)
    .sort((a, b) => b.daysOverdue - a.daysOverdue);
}

/**
 * Flags overdue resources: notifies the provider's data officers and the authority's reviewers, once per due date
 * (the flag resets when an import is applied). Returns the resources flagged now. Run by the authority on demand, and
 * periodically in-process until the platform jobs module schedules it.
 */
export async function checkFreshness(ctx: AppContext, now = new Date()) {
  const flagged: { resourceId: number; nextDue: string; daysOverdue: number }[] = [];
  for (const r of await rows(ctx)) {
    const { due, late } = assess(r, now);
    if (!due || late <= 0 || r.overdue_notified_due === due) continue;
    await inTx(ctx.db, async (trx) => {
      const claimed = await trx
        .updateTable('resource')
        .set({ overdue_notified_due: due })
        .where('id', '=', r.id)
        .where(sql<boolean>`overdue_notified_due IS DISTINCT FROM ${due}::date`)
        .returning('id')
        .executeTakeFirst();
      if (!claimed) return;
      await notify(
        trx,
        [
          { roles: ['data_officer'], orgIds: [r.provider_org_id] },
          { roles: ['authority_reviewer'], anyOrg: true },
        ],
        {
          kind: 'ingest.overdue',
          severity: late > 7 ? 'critical' : 'warning',
          params: { resourceName: r.name, dueDate: due, daysOverdue: late, updateCycle: r.update_cycle },
          resourceId: r.id,
        },
      );
      flagged.push({ resourceId: r.id, nextDue: due, daysOverdue: late });
    });
  }
  return flagged;
}

export async function runFreshnessCheck(ctx: AppContext, actor: Actor) {
  if (!(actor.orgKind === 'authority' || hasRole(actor, 'platform_admin'))) throw new AppError('FORBIDDEN');
  return { flagged: await checkFreshness(ctx) };
}
