import type { ColumnType, Generated } from 'kysely';

type DateCol = ColumnType<string, string, string>;
type NullableDate = ColumnType<string | null, string | null, string | null>;

/** Sharing cases beside the request path (issue 8 points 6–8, migration 020), merged into DB in src/db/schema.ts. */
export interface ShareDisputeTable {
  id: Generated<number>;
  request_id: number;
  resource_id: number;
  consumer_org_id: number;
  provider_org_id: number;
  raised_by: number;
  raised_at: Date;
  reason: string;
  status: Generated<'open' | 'referred' | 'upheld' | 'overturned'>;
  article: string;
  referred_by: number | null;
  referred_on: NullableDate;
  referral_note: string | null;
  decided_by: number | null;
  decided_at: Date | null;
  decided_level: 'authority' | 'government' | null;
  decision_comment: string | null;
  grant_id: number | null;
}

export interface SupplyStopTable {
  id: Generated<number>;
  resource_id: number;
  provider_org_id: number;
  filed_by: number;
  filed_at: Date;
  filed_on: DateCol;
  reason: string;
  effective_on: DateCol;
  article: string | null;
  status: Generated<'filed' | 'effective' | 'cancelled'>;
  capped_grants: ColumnType<Array<{ id: number; validUntil: string }>, string | undefined, string>;
  effective_at: Date | null;
  cancelled_at: Date | null;
}

export interface ShareEmergencyTable {
  id: Generated<number>;
  declared_by: number;
  reason: string;
  resource_ids: number[];
  mode: 'reclassify' | 'greenChannel';
  article: string;
  starts_at: Date;
  ends_at: Date;
  status: Generated<'active' | 'ended'>;
  ended_at: Date | null;
  ended_by: number | null;
}

/** A refused request amended and resubmitted within the same request (issue 8 point 3, migration 028). */
export interface ShareResubmissionTable {
  id: Generated<number>;
  request_id: number;
  step_index: number;
  step_key: string;
  refusal: string | null;
  refused_by: number | null;
  refused_at: Date | null;
  note: string;
  changes: ColumnType<Record<string, { from: unknown; to: unknown }>, string, string>;
  resubmitted_by: number;
  resubmitted_at: Date;
  started_on: DateCol;
  due_date: NullableDate;
}

/** A periodic re-evaluation of a conditional / not-shared resource (XT Art 23.5, SY Art 31; migration 028). */
export interface ShareEvaluationTable {
  id: Generated<number>;
  resource_id: number;
  org_id: number;
  evaluated_by: number;
  evaluated_on: DateCol;
  share_type: 'conditional' | 'none';
  conclusion: 'keep' | 'convert';
  target_share_type: 'unconditional' | 'conditional' | 'none' | null;
  resource_version: number | null;
  comment: string;
  article: string;
}

export interface ShareReevaluationEventTable {
  resource_id: number;
  due_date: DateCol;
  kind: 'dueSoon' | 'overdue';
  created_at: Generated<Date>;
}

/** NY task 7 bulk (整体授权) and proxy (同等代理授权) grants (migration 031). */
export interface ShareBulkGrantTable {
  id: Generated<number>;
  kind: 'bulkGrant' | 'proxyGrant';
  consumer_org_id: number;
  app_id: number;
  class_id: number | null;
  principal_org_id: number | null;
  provider_org_id: number | null;
  purpose: string;
  valid_until: DateCol;
  requester_id: number;
  submitted_at: Date;
  submitted_on: DateCol;
  due_date: NullableDate;
  profile_id: string;
  article: string;
  status: Generated<'pending' | 'approved' | 'rejected' | 'withdrawn' | 'revoked'>;
  decided_by: number | null;
  decided_at: Date | null;
  decided_on: NullableDate;
  comment: string | null;
  legal_basis: string | null;
  /** the day a missed deadline put it before the authority (migration 035) */
  escalated_on: Generated<string | null>;
}

/** The deadline actions taken on a bulk or proxy grant request, once each (migration 035). */
export interface ShareBulkEventTable {
  bulk_id: number;
  kind: 'dueSoon' | 'dueToday' | 'overdue' | 'escalated';
  on_date: string;
  created_at: Generated<Date>;
}

export interface SharingCaseTables {
  share_bulk_grant: ShareBulkGrantTable;
  share_bulk_event: ShareBulkEventTable;
  share_dispute: ShareDisputeTable;
  supply_stop: SupplyStopTable;
  share_emergency: ShareEmergencyTable;
  share_resubmission: ShareResubmissionTable;
  share_evaluation: ShareEvaluationTable;
  share_reevaluation_event: ShareReevaluationEventTable;
}
