import { sql } from 'kysely';
import { shanghaiDate } from '../calendar/model.js';
import type { AppContext } from '../context.js';

/*
 * Periodic re-evaluation of published resources: of their share type (XT Art 23.5, SY Art 31; src/sharing/
 * reevaluation.ts) and of their opening (SY Art 37; src/opening/governance.ts). Both ask the same thing: which
 * published resources of given types are due, `months` after their last evaluation or, when there is none, their
 * publication. One query answers both.
 */

/** How far ahead a coming re-evaluation shows on the provider's to-do (calendar days). */
export const REEVALUATION_NOTICE_DAYS = 30;

/** `date` (YYYY-MM-DD) plus whole months, clamped to the last day of the target month. */
export function addMonths(date: string, months: number): string {
  const [y, m, d] = date.split('-').map(Number);
  const total = y * 12 + (m - 1) + months;
  const year = Math.floor(total / 12);
  const month = (total % 12) + 1;
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return `${year}-${String(month).padStart(2, '0')}-${String(Math.min(d, last)).padStart(2, '0')}`;
}

export interface ReviewKind {
  /** share: the share type and share_evaluation; open: the open type and open_evaluation */
  kind: 'share' | 'open';
  types: readonly string[];
  months: number;
  /** one provider department, or null for all */
  orgId: number | null;
}

/** Published resources of the given types with their re-evaluation due date (at most 2 000, by id). */
export async function resourcesDueForReview(ctx: AppContext, k: ReviewKind) {
  if (!k.types.length) return [];
  const typeColumn = k.kind === 'share' ? 'r.share_type' : 'r.open_type';
  const evaluations = k.kind === 'share' ? 'share_evaluation' : 'open_evaluation';
  let q = ctx.db
    .selectFrom('resource as r')
    .innerJoin('org', 'org.id', 'r.provider_org_id')
    .select([
      'r.id',
      'r.name',
      'r.code',
      sql<string>`${sql.ref(typeColumn)}`.as('type'),
      'r.provider_org_id',
      'org.name as org_name',
      sql<string>`to_char(r.published_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')`.as('published_on'),
      sql<
        string | null
      >`(SELECT to_char(max(e.evaluated_on), 'YYYY-MM-DD') FROM ${sql.table(evaluations)} e WHERE e.resource_id = r.id)`.as(
        'last_on',
      ),
      // a new catalog version waiting in review (e.g. a conversion): the caller may hold the resource back until decided
      sql<
        number | null
      >`(SELECT max(v.version_no) FROM resource_version v WHERE v.resource_id = r.id AND v.status = 'submitted')`.as(
        'in_review',
      ),
    ])
    .where('r.status', '=', 'published')
    .where(sql.ref(typeColumn), 'in', [...k.types]);
  if (k.orgId !== null) q = q.where('r.provider_org_id', '=', k.orgId);
  const rows = await q.orderBy('r.id').limit(2000).execute();
  const today = shanghaiDate(ctx.clock.now());
  return rows.map((r) => ({ ...r, dueDate: addMonths(r.last_on ?? r.published_on ?? today, k.months) }));
}
