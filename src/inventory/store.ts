import { sql } from 'kysely';
import type { Db, Tx } from '../db/index.js';
import { NEGATIVE_IN_FORCE } from './model.js';

/** SQL of the inventories. Other features read through the exported helpers, never write here. */

/**
 * True when the resource has a negative-list entry in force (approved, or filed where the profile asks only for
 * filing). For the sharing/catalog code: a conditional or not-shared resource without one is treated as
 * unconditional (DG Art 19, XT Art 23, GD Art 18) — `effectiveShareType(resource, approvedNegativeEntry)`.
 */
export async function hasApprovedNegativeEntry(db: Db | Tx, resourceId: number): Promise<boolean> {
  const row = await db
    .selectFrom('negative_list_entry')
    .select('id')
    .where('resource_id', '=', resourceId)
    .where('status', 'in', NEGATIVE_IN_FORCE)
    .executeTakeFirst();
  return row !== undefined;
}

export function negativeQuery(db: Db | Tx) {
  return db
    .selectFrom('negative_list_entry as n')
    .innerJoin('resource as r', 'r.id', 'n.resource_id')
    .innerJoin('org as o', 'o.id', 'n.org_id')
    .innerJoin('app_user as p', 'p.id', 'n.proposed_by')
    .leftJoin('app_user as d', 'd.id', 'n.decided_by')
    .select([
      'n.id',
      'n.resource_id',
      'r.code as resource_code',
      'r.name as resource_name',
      'n.org_id',
      'o.name as org_name',
      'n.share_type',
      'n.basis_text',
      'n.basis_kind',
      'n.reason',
      'n.status',
      'n.mode',
      'n.article',
      'p.display_name as proposed_by_name',
      'n.proposed_at',
      'd.display_name as decided_by_name',
      'n.decided_at',
      'n.comment',
    ]);
}

export function dutyQuery(db: Db | Tx) {
  return db
    .selectFrom('update_duty as u')
    .innerJoin('org as o', 'o.id', 'u.org_id')
    .innerJoin('app_user as p', 'p.id', 'u.recorded_by')
    .leftJoin('app_user as d', 'd.id', 'u.done_by')
    .select([
      'u.id',
      'u.org_id',
      'o.name as org_name',
      'u.change_kind',
      'u.what_changed',
      'u.basis',
      'u.change_date',
      'u.due_date',
      'u.deadline_amount',
      'u.deadline_unit',
      'u.article',
      'u.status',
      'p.display_name as recorded_by_name',
      'u.recorded_at',
      'd.display_name as done_by_name',
      'u.done_at',
      'u.done_on',
      'u.done_note',
    ]);
}

/** Each system with its mounted resources and how many of them hold no data (no rows loaded). */
export function systemQuery(db: Db | Tx) {
  return db
    .selectFrom('info_system as s')
    .innerJoin('org as o', 'o.id', 's.owner_org_id')
    .select([
      's.id',
      's.name',
      's.owner_org_id',
      'o.name as owner_org_name',
      's.fiscal',
      's.status',
      's.description',
      's.updated_at',
      sql<number>`(SELECT count(*)::int FROM info_system_resource m WHERE m.system_id = s.id)`.as('mounted'),
      sql<number>`(SELECT count(*)::int FROM info_system_resource m JOIN resource r ON r.id = m.resource_id
        WHERE m.system_id = s.id AND (r.row_count = 0 OR NOT EXISTS (
          SELECT 1 FROM ingest_batch b WHERE b.resource_id = r.id AND b.status = 'committed')))`.as('empty'),
    ]);
}

export async function systemResources(db: Db | Tx, systemIds: number[]) {
  if (!systemIds.length) return [];
  return db
    .selectFrom('info_system_resource as m')
    .innerJoin('resource as r', 'r.id', 'm.resource_id')
    .select(['m.system_id', 'r.id', 'r.code', 'r.name', 'r.row_count', 'r.last_ingest_at'])
    .where('m.system_id', 'in', systemIds)
    .orderBy('r.code')
    .execute();
}

/**
 * The demand matcher: proposes published catalog entries of other departments whose name, keywords or field names
 * contain one of the demand's words (ILIKE), scored by how many words hit; section-level entries stay inside their
 * department (DG Art 11). One function, so the catalog's full-text search can replace it.
 */
export async function matchDemand(
  db: Db | Tx,
  demand: { orgId: number; terms: string[] },
  limit = 5,
): Promise<{ resourceId: number; score: number; terms: string[] }[]> {
  if (!demand.terms.length) return [];
  const patterns = demand.terms.map((t) => `%${t.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  const rows = await sql<{ id: number; terms: string[] }>`
    SELECT r.id, array_agg(t.term ORDER BY t.term) AS terms
    FROM resource r
    CROSS JOIN unnest(${sql.val(demand.terms)}::text[], ${sql.val(patterns)}::text[]) AS t(term, pattern)
    WHERE r.status = 'published' AND r.provider_org_id <> ${demand.orgId} AND r.catalog_level <> 'section'
      AND (r.name ILIKE t.pattern
        OR array_to_string(r.keywords, ' ') ILIKE t.pattern
        OR EXISTS (SELECT 1 FROM resource_field f WHERE f.resource_id = r.id AND f.name ILIKE t.pattern))
    GROUP BY r.id
    ORDER BY count(*) DESC, r.id
    LIMIT ${limit}`.execute(db);
  return rows.rows.map((r) => ({ resourceId: Number(r.id), score: r.terms.length, terms: r.terms }));
}
