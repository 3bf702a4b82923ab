import { type Expression, type SqlBool, sql } from 'kysely';
import type { Actor } from '../context.js';
import { hasRole } from '../context.js';
import type { Db, Tx } from '../db/index.js';
import { AppError } from '../shared/errors.js';
import { authorityOver, chainOf } from './levels.js';

/*
 * Who reads which share requests (issue 8 point 9, XT Art 26, GD Art 15): one rule, one SQL predicate, applied to the
 * request list (every box), the detail with its timeline, the decisions, the risk assessment, the statistics and the
 * to-do (which is built from the list).
 *   all           the platform admin, auditors, and the reviewers of the top authority of the installation (the city's
 *                 data authority: no authority above it) read every request;
 *   jurisdiction  the people of a lower-level authority (a county's data authority) read only requests whose consumer or
 *                 provider sits in its jurisdiction (or below it), or that have a step assigned to that authority;
 *   parties       everyone else reads the requests of their own organisation, as consumer or as provider.
 * A request outside the scope is refused: NOT_FOUND for a department (it does not learn that the request exists), a
 * coded FORBIDDEN for a lower-level authority (it knows the platform, not this request's jurisdiction). Both refusals
 * are audited by the error handler like every refusal (`http.refused`, decision deny, the route and the request id).
 */
export type RequestScope =
  | { kind: 'all' }
  | { kind: 'parties'; orgId: number }
  | { kind: 'jurisdiction'; orgId: number; codes: string[] };

/** The jurisdiction codes of `code` and everything below it (towns under a county). */
async function subtreeOf(db: Db | Tx, code: string): Promise<string[]> {
  const all = await db.selectFrom('jurisdiction').select(['code', 'parent_code']).execute();
  const out = new Set([code]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const j of all)
      if (j.parent_code && out.has(j.parent_code) && !out.has(j.code)) {
        out.add(j.code);
        grew = true;
      }
  }
  return [...out];
}

export async function requestScope(db: Db | Tx, actor: Actor): Promise<RequestScope> {
  if (hasRole(actor, 'platform_admin', 'auditor')) return { kind: 'all' };
  if (actor.orgKind === 'authority') {
    const org = await db
      .selectFrom('org')
      .select('jurisdiction_code')
      .where('id', '=', actor.orgId)
      .executeTakeFirst();
    const chain = org ? await chainOf(db, org.jurisdiction_code) : [];
    // an authority with another above it (a county's under the city's) is a lower level: its own jurisdiction only
    const above = chain.length > 1 ? await authorityOver(db, chain.slice(1)) : null;
    if (above && above.orgId !== actor.orgId)
      return { kind: 'jurisdiction', orgId: actor.orgId, codes: await subtreeOf(db, chain[0].code) };
  }
  if (hasRole(actor, 'authority_reviewer')) return { kind: 'all' };
  return { kind: 'parties', orgId: actor.orgId };
}

/**
 * The scope as a condition on a query that reads share_request as `q`; null for 'all'. Everything it needs it reads by
 * subquery from `q`, so the list, the detail check and the statistics use the same text.
 */
export function scopeCondition(scope: RequestScope): Expression<SqlBool> | null {
  if (scope.kind === 'all') return null;
  if (scope.kind === 'parties')
    return sql<SqlBool>`(q.consumer_org_id = ${scope.orgId} OR EXISTS (SELECT 1 FROM resource vr
      WHERE vr.id = q.resource_id AND vr.provider_org_id = ${scope.orgId}))`;
  const codes = sql`${sql.val(scope.codes)}::text[]`;
  return sql<SqlBool>`(EXISTS (SELECT 1 FROM org vc WHERE vc.id = q.consumer_org_id AND vc.jurisdiction_code = ANY(${codes}))
    OR EXISTS (SELECT 1 FROM resource vr JOIN org vp ON vp.id = vr.provider_org_id
      WHERE vr.id = q.resource_id AND vp.jurisdiction_code = ANY(${codes}))
    OR EXISTS (SELECT 1 FROM share_request_step vs WHERE vs.request_id = q.id AND vs.authority_org_id = ${scope.orgId}))`;
}

/**
 * Refuses a request (known to exist) the actor may not read, by the same predicate the list applies. Returns the scope,
 * so a caller that also lists can reuse it.
 */
export async function assertCanSeeRequest(db: Db | Tx, actor: Actor, id: number): Promise<RequestScope> {
  const scope = await requestScope(db, actor);
  const cond = scopeCondition(scope);
  if (!cond) return scope;
  const seen = await db
    .selectFrom('share_request as q')
    .select('q.id')
    .where('q.id', '=', id)
    .where(cond)
    .executeTakeFirst();
  if (seen) return scope;
  if (scope.kind === 'jurisdiction')
    throw new AppError('FORBIDDEN', [
      {
        field: 'id',
        value: String(id),
        reason:
          "the request's consumer and provider are outside your authority's jurisdiction and no step of it is assigned to your authority",
        reasonZh: '该申请的申请部门和提供部门均不在本级数据主管部门管辖范围内，也没有分配给本部门办理的环节',
      },
    ]);
  throw new AppError('NOT_FOUND', [
    { field: 'id', reason: `share request ${id} not found`, reasonZh: `共享申请 ${id} 不存在` },
  ]);
}

/**
 * The same scope over grants: a query of share_grant as `g` joined to its resource as `r` (the grants list). A grant's
 * parties are its consumer and the resource's provider; a lower-level authority also reads the grants of requests that
 * had a step assigned to it. Null for 'all'.
 */
export function grantScopeCondition(scope: RequestScope): Expression<SqlBool> | null {
  if (scope.kind === 'all') return null;
  if (scope.kind === 'parties')
    return sql<SqlBool>`(g.consumer_org_id = ${scope.orgId} OR r.provider_org_id = ${scope.orgId})`;
  const codes = sql`${sql.val(scope.codes)}::text[]`;
  return sql<SqlBool>`(EXISTS (SELECT 1 FROM org vc WHERE vc.id = g.consumer_org_id AND vc.jurisdiction_code = ANY(${codes}))
    OR EXISTS (SELECT 1 FROM org vp WHERE vp.id = r.provider_org_id AND vp.jurisdiction_code = ANY(${codes}))
    OR EXISTS (SELECT 1 FROM share_request_step vs WHERE vs.request_id = g.request_id AND vs.authority_org_id = ${scope.orgId}))`;
}
