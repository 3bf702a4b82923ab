import { sql } from 'kysely';
import { fieldNamesOf } from '../catalog/store.js';
import type { Db, Tx } from '../db/index.js';
import { type RequestScope, scopeCondition } from './visibility.js';

export function requestQuery(db: Db | Tx) {
  return db
    .selectFrom('share_request as q')
    .innerJoin('resource as r', 'r.id', 'q.resource_id')
    .innerJoin('org as po', 'po.id', 'r.provider_org_id')
    .innerJoin('org as co', 'co.id', 'q.consumer_org_id')
    .innerJoin('app as a', 'a.id', 'q.app_id')
    .innerJoin('app_user as u', 'u.id', 'q.requester_id')
    .select([
      'q.id',
      'q.resource_id',
      'r.code as resource_code',
      'r.name as resource_name',
      'r.provider_org_id',
      'po.name as provider_name',
      'q.consumer_org_id',
      'co.name as consumer_name',
      'q.app_id',
      'a.name as app_name',
      'q.requester_id',
      'u.display_name as requester_name',
      'q.purpose',
      'q.scenario',
      'q.fields',
      fieldNamesOf('q.resource_id', 'q.fields').as('field_names'),
      'q.valid_until',
      'q.status',
      'q.current_step',
      'q.due_date',
      'q.submitted_at',
      'q.decided_at',
      'q.grant_id',
      'q.profile_id',
      'q.scope',
      'q.overall_due_date',
      'q.escalated_on',
      'q.deemed_consent',
    ]);
}

export type RequestRow = NonNullable<
  Awaited<ReturnType<ReturnType<typeof requestQuery>['executeTakeFirst']>>
>;

export async function getSteps(db: Db | Tx, requestIds: number[]) {
  if (!requestIds.length) return [];
  return db
    .selectFrom('share_request_step as s')
    .leftJoin('app_user as u', 'u.id', 's.decided_by')
    .leftJoin('org as ao', 'ao.id', 's.authority_org_id')
    .selectAll('s')
    .select(['u.display_name as decided_by_name', 'ao.name as authority_org_name'])
    .where('s.request_id', 'in', requestIds)
    .orderBy('s.request_id')
    .orderBy('s.step_index')
    .execute();
}

export type StepRow = Awaited<ReturnType<typeof getSteps>>[number];

export interface RequestFilter {
  box: 'outgoing' | 'incoming' | 'handled' | 'all';
  /** what this person may read at all (./visibility.ts), applied to every box */
  scope: RequestScope;
  orgId: number;
  /** the person is the authority's reviewer: authority steps and escalated requests wait for them */
  authority: boolean;
  /** the person is a data officer: provider steps of their organisation wait for them */
  providerOfficer: boolean;
  status?: string;
  /** pending requests whose current step is undecided past its due date (the cockpit's 逾期, issue 12) */
  overdue?: boolean;
  /** the department holding the current step: the provider, or the authority for its own review steps */
  holderOrgId?: number;
  /** the city's authority: an authority step without its own authority_org_id is held by it */
  cityAuthorityId?: number;
  today?: string;
  /**
   * the cockpit's on-time rate (issue 12): requests with a provider step due in [from, to] (Beijing dates), of one
   * provider if `providerOrgId`; `onTime` = decided by its due date, `late` = decided after it or undecided on a
   * pending request past it (the same rule as src/supervision/cockpit.ts onTime)
   */
  providerDue?: { from: string; to: string; providerOrgId?: number; timeliness?: 'onTime' | 'late' };
  page: number;
  pageSize: number;
}

export async function listRequests(db: Db, f: RequestFilter) {
  let q = requestQuery(db);
  const visible = scopeCondition(f.scope);
  if (visible) q = q.where(visible);
  if (f.box === 'outgoing') q = q.where('q.consumer_org_id', '=', f.orgId);
  if (f.box === 'incoming') {
    // 待我审批: pending requests whose current step waits for this person's party (its actor or a co-actor that has not
    // approved yet), and, for the authority, requests a missed deadline put before it
    const holds = (party: 'authority' | 'provider') =>
      sql<boolean>`((s.actor = ${party} OR ${party} = ANY(s.co_actors)) AND NOT (${party} = ANY(s.approvals)))`;
    q = q.where('q.status', '=', 'pending').where(({ exists, selectFrom }) =>
      exists(
        selectFrom('share_request_step as s')
          .select('s.request_id')
          .whereRef('s.request_id', '=', 'q.id')
          .whereRef('s.step_index', '=', 'q.current_step')
          .where((eb) =>
            eb.or([
              // an authority step of a cross-level request waits for that level's authority only (XT Art 26)
              ...(f.authority
                ? [
                    eb.and([
                      eb.or([eb(holds('authority'), '=', true), eb('q.escalated_on', 'is not', null)]),
                      eb.or([eb('s.authority_org_id', 'is', null), eb('s.authority_org_id', '=', f.orgId)]),
                    ]),
                  ]
                : []),
              ...(f.providerOfficer
                ? [eb.and([eb('r.provider_org_id', '=', f.orgId), eb(holds('provider'), '=', true)])]
                : []),
              eb.val(false),
            ]),
          ),
      ),
    );
  }
  if (f.box === 'handled') {
    // every request this organisation takes part in as provider, or the authority in a step or co-review
    q = f.authority
      ? q.where(({ exists, selectFrom }) =>
          exists(
            selectFrom('share_request_step as s')
              .select('s.request_id')
              .whereRef('s.request_id', '=', 'q.id')
              .where((eb) =>
                eb.and([
                  eb.or([
                    eb('s.actor', '=', 'authority'),
                    eb(sql<boolean>`'authority' = ANY(s.co_actors)`, '=', true),
                    eb('q.escalated_on', 'is not', null),
                  ]),
                  eb.or([eb('s.authority_org_id', 'is', null), eb('s.authority_org_id', '=', f.orgId)]),
                ]),
              ),
          ),
        )
      : q.where('r.provider_org_id', '=', f.orgId);
  }
  if (f.status) q = q.where('q.status', '=', f.status as 'pending');
  if (f.overdue || f.holderOrgId !== undefined) {
    const { overdue, holderOrgId, cityAuthorityId, today } = f;
    q = q.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('share_request_step as s')
          .select('s.request_id')
          .whereRef('s.request_id', '=', 'q.id')
          .whereRef('s.step_index', '=', 'q.current_step')
          .where((eb) =>
            eb.and([
              ...(overdue
                ? [
                    eb('q.status', '=', 'pending'),
                    eb('s.decision', 'is', null),
                    eb('s.due_date', '<', today!),
                  ]
                : []),
              ...(holderOrgId !== undefined
                ? [
                    eb.or([
                      eb.and([
                        eb('s.actor', '=', 'authority'),
                        eb(sql`coalesce(s.authority_org_id, ${cityAuthorityId ?? null})`, '=', holderOrgId),
                      ]),
                      eb.and([eb('s.actor', '<>', 'authority'), eb('r.provider_org_id', '=', holderOrgId)]),
                    ]),
                  ]
                : []),
            ]),
          ),
      ),
    );
  }
  if (f.providerDue) {
    const { from, to, providerOrgId, timeliness } = f.providerDue;
    const today = f.today!;
    if (providerOrgId !== undefined) q = q.where('r.provider_org_id', '=', providerOrgId);
    q = q.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('share_request_step as s')
          .select('s.request_id')
          .whereRef('s.request_id', '=', 'q.id')
          .where('s.actor', '=', 'provider')
          .where('s.due_date', '>=', from)
          .where('s.due_date', '<=', to)
          .where(
            timeliness === 'onTime'
              ? sql<boolean>`s.decided_at IS NOT NULL AND (s.decided_at AT TIME ZONE 'Asia/Shanghai')::date <= s.due_date`
              : timeliness === 'late'
                ? sql<boolean>`(s.decided_at IS NOT NULL AND (s.decided_at AT TIME ZONE 'Asia/Shanghai')::date > s.due_date)
                    OR (s.decided_at IS NULL AND q.status = 'pending' AND s.due_date < ${today})`
                : sql<boolean>`(s.decided_at IS NOT NULL
                    OR (s.decided_at IS NULL AND q.status = 'pending' AND s.due_date < ${today}))`,
          ),
      ),
    );
  }
  const rows = await q
    .orderBy('q.id', 'desc')
    .limit(f.pageSize)
    .offset((f.page - 1) * f.pageSize)
    .execute();
  const { total } = await q
    .clearSelect()
    .select(sql<number>`count(*)::int`.as('total'))
    .executeTakeFirstOrThrow();
  return { rows, total };
}

export function grantQuery(db: Db | Tx) {
  return db
    .selectFrom('share_grant as g')
    .innerJoin('resource as r', 'r.id', 'g.resource_id')
    .innerJoin('org as co', 'co.id', 'g.consumer_org_id')
    .innerJoin('app as a', 'a.id', 'g.app_id')
    .leftJoin('share_request as sq', 'sq.id', 'g.request_id')
    .leftJoin('app_user as ru', 'ru.id', 'sq.requester_id')
    .leftJoin('app_user as au', 'au.id', 'g.agreement_accepted_by')
    .select([
      'g.id',
      'g.request_id',
      'sq.submitted_at as undertaken_at',
      'ru.display_name as undertaken_by',
      'g.agreement_required',
      'g.agreement_article',
      'g.agreement_terms',
      'g.agreement_accepted_at',
      'au.display_name as agreement_accepted_by_name',
      'g.resource_id',
      'r.code as resource_code',
      'r.name as resource_name',
      'r.provider_org_id',
      'g.consumer_org_id',
      'co.name as consumer_name',
      'g.app_id',
      'a.name as app_name',
      'g.fields',
      fieldNamesOf('g.resource_id', 'g.fields').as('field_names'),
      'g.purpose',
      'g.valid_from',
      'g.valid_until',
      'g.status',
      'g.revoked_at',
      'a.status as app_status',
      'g.max_calls_per_day',
      'g.max_rows_per_call',
      'g.deemed_consent',
      'g.purpose_id',
      'g.can_read',
      'g.can_verify',
      'g.max_verify_per_day',
      'g.can_export',
      'g.max_export_rows_per_day',
      'g.max_epsilon_per_day',
      'g.access_mode',
      'g.clear_fields',
      'g.can_feed',
      'g.access_only',
      'g.bulk_id',
      'g.proxy_of',
    ]);
}

export type GrantRow = NonNullable<Awaited<ReturnType<ReturnType<typeof grantQuery>['executeTakeFirst']>>>;

/**
 * The state a grant is really in, which the data API enforces: revoked, its app revoked or suspended, or past its end date all
 * stop calls even though the stored status still says 'active'.
 */
export type GrantState = 'active' | 'expired' | 'revoked' | 'appRevoked' | 'appSuspended' | 'riskPending';

export function grantState(
  g: {
    status: string;
    app_status: string;
    valid_until: Date | string;
  },
  now = new Date(),
): GrantState {
  if (g.status === 'revoked') return 'revoked';
  // approved, but the risk assessment the profile requires has not passed yet (DG Art 19, XT Art 31, SY Art 42)
  if (g.status === 'riskPending') return 'riskPending';
  if (g.app_status === 'revoked') return 'appRevoked';
  if (g.app_status === 'suspended') return 'appSuspended';
  if (new Date(g.valid_until).getTime() <= now.getTime()) return 'expired';
  return 'active';
}

export function grantView(g: GrantRow) {
  return {
    id: g.id,
    requestId: g.request_id,
    resource: {
      id: g.resource_id,
      code: g.resource_code,
      name: g.resource_name,
      providerOrgId: g.provider_org_id,
    },
    consumerOrg: { id: g.consumer_org_id, name: g.consumer_name },
    app: { id: g.app_id, name: g.app_name },
    fields: g.fields,
    fieldNames: g.field_names,
    purpose: g.purpose,
    /** what data calls send as `X-Purpose` (or the purpose text, percent-encoded): DG Art 26, XT Art 25, SY Art 29, GD Art 21 */
    purposeId: g.purpose_id,
    /** reading records (false: verification only) and verification (核验, DG Art 19) */
    rights: { read: g.can_read, verify: g.can_verify, export: g.can_export, feed: g.can_feed },
    /** 'aggregate': usable but not visible, aggregate queries only (issue 9 point 7) */
    accessMode: g.access_mode,
    /** the clear-value right: granted fields seen in clear, every other protected field masked (issue 9 point 8) */
    clearFields: g.clear_fields,
    /** 'verify' | 'aggregate': a not-shared resource's grant locked to that access (DG Art 19; XT Art 23.6, SY Art 26) */
    accessOnly: g.access_only,
    /** issued by a bulk or proxy grant (NY task 7), and a proxy grant's source grant */
    bulkId: g.bulk_id,
    proxyOf: g.proxy_of,
    validFrom: g.valid_from,
    validUntil: g.valid_until,
    /** its limits on the data API; null = the platform default */
    quota: {
      callsPerDay: g.max_calls_per_day,
      rowsPerCall: g.max_rows_per_call,
      verificationsPerDay: g.max_verify_per_day,
      exportRowsPerDay: g.max_export_rows_per_day,
      epsilonPerDay: g.max_epsilon_per_day,
    },
    /** effective state (active | expired | revoked | appRevoked | appSuspended); `recordStatus` is the stored one */
    status: grantState(g),
    recordStatus: g.status,
    revokedAt: g.revoked_at,
    /** granted because the provider did not answer in time (SY Art 25) */
    deemedConsent: g.deemed_consent,
    /**
     * The use-purpose undertaking the consumer accepted when it filed the request (DG Art 26, XT Art 25, SY Art 29,
     * GD Art 21): the data is used only for this purpose; by whom and when.
     */
    undertaking: {
      purpose: g.purpose,
      acceptedBy: g.undertaken_by,
      acceptedAt: g.undertaken_at,
    },
    /** the provide-and-use agreement (DG Art 18): null where the profile asks for none */
    agreement: g.agreement_required
      ? {
          article: g.agreement_article,
          terms: g.agreement_terms,
          acceptedBy: g.agreement_accepted_by_name,
          acceptedAt: g.agreement_accepted_at,
        }
      : null,
  };
}

/** The request's resubmissions after a refusal (issue 8 point 3), oldest first: the request's timeline. */
export async function getResubmissions(db: Db | Tx, requestIds: number[]) {
  if (!requestIds.length) return [];
  return db
    .selectFrom('share_resubmission as x')
    .leftJoin('app_user as u', 'u.id', 'x.resubmitted_by')
    .leftJoin('app_user as ru', 'ru.id', 'x.refused_by')
    .selectAll('x')
    .select(['u.display_name as resubmitted_by_name', 'ru.display_name as refused_by_name'])
    .where('x.request_id', 'in', requestIds)
    .orderBy('x.request_id')
    .orderBy('x.id')
    .execute();
}

export type ResubmissionRow = Awaited<ReturnType<typeof getResubmissions>>[number];
