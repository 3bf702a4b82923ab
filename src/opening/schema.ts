import type { ColumnType, Generated } from 'kysely';

/** Tables of the opening feature (migrations 013, 018), merged into the database type in src/db/schema.ts. */
export interface OpenUsageTable {
  resource_id: number;
  /** Beijing date of the accesses */
  day: string;
  /** one of OPEN_USAGE_SLOTS rows of the dataset's day (migration 037): concurrent increments rarely meet on a row */
  slot: ColumnType<number, number | undefined, number>;
  views: number;
  previews: number;
  downloads: number;
  api_calls: number;
}

type Ts = ColumnType<Date, Date | string | undefined, Date | string>;

export interface OpenAccountTable {
  id: Generated<number>;
  contact: string;
  contact_kind: 'email' | 'phone';
  account_type: 'citizen' | 'company';
  display_name: string;
  password_hash: string;
  identity_checked_by: string;
  failed_logins: Generated<number>;
  lock_count: Generated<number>;
  locked_until: Date | null;
  disabled: Generated<boolean>;
  created_at: Generated<Date>;
}

export interface OpenSessionTable {
  token_hash: string;
  account_id: number;
  expires_at: Ts;
}

export interface OpenApiKeyTable {
  id: Generated<number>;
  account_id: number;
  name: string;
  key_prefix: string;
  key_hash: string;
  status: Generated<'active' | 'revoked'>;
  created_at: Generated<Date>;
  revoked_at: Date | null;
}

export type OpenApplicationStatus =
  | 'pending'
  | 'approved'
  | 'refused'
  | 'reviewPending'
  | 'reviewApproved'
  | 'reviewUpheld';

export interface OpenApplicationTable {
  id: Generated<number>;
  account_id: number;
  resource_id: number;
  provider_org_id: number;
  purpose: string;
  scenario: string;
  security_measures: string;
  status: Generated<OpenApplicationStatus>;
  filed_on: string;
  filed_at: Ts;
  due_date: string | null;
  article: string | null;
  decided_by: number | null;
  decided_at: Ts | null;
  reason: string | null;
  grant_until: string | null;
  review_reason: string | null;
  review_filed_on: string | null;
  review_decided_by: number | null;
  review_decided_at: Ts | null;
  review_comment: string | null;
  escalated_on: string | null;
}

export interface OpenApplicationEventTable {
  application_id: number;
  kind: string;
  on_date: string;
}

export interface OpenAccountDownloadTable {
  id: Generated<number>;
  account_id: number;
  resource_id: number;
  format: string;
  via: 'portal' | 'key';
  at: Generated<Date>;
}

export interface OpeningTables {
  open_usage: OpenUsageTable;
  open_account: OpenAccountTable;
  open_session: OpenSessionTable;
  open_api_key: OpenApiKeyTable;
  open_application: OpenApplicationTable;
  open_application_event: OpenApplicationEventTable;
  open_account_download: OpenAccountDownloadTable;
  open_restriction: OpenRestrictionTable;
  open_operation: OpenOperationTable;
  open_operation_filing: OpenOperationFilingTable;
  open_evaluation: OpenEvaluationTable;
  open_notice: OpenNoticeTable;
  open_reevaluation_event: OpenReevaluationEventTable;
}

/** Migration 025: restrictions of public accounts (XT Art 33) and authorised operation (SY Art 39–40). */
export interface OpenRestrictionTable {
  id: Generated<number>;
  account_id: number;
  measure: 'restrict' | 'close';
  reason: string;
  article: string;
  publish: boolean;
  /** the last day of the measure (Beijing date); none: until lifted */
  until: ColumnType<string | null, string | null | undefined, string | null>;
  decided_by: number;
  decided_at: Ts;
  status: Generated<'active' | 'lifted'>;
  lifted_by: number | null;
  lifted_at: Date | null;
  lift_reason: string | null;
}

export interface OpenOperationTable {
  id: Generated<number>;
  org_id: number;
  operator_name: string;
  operator_code: string;
  resource_ids: number[];
  scope: string;
  deidentification: string;
  term_from: ColumnType<string, string, string>;
  term_to: ColumnType<string, string, string>;
  article: string;
  status: Generated<'submitted' | 'reviewed' | 'approved' | 'rejected' | 'ended'>;
  submitted_by: number;
  submitted_at: Ts;
  reviewed_by: number | null;
  reviewed_at: Date | null;
  review_comment: string | null;
  approval_ref: string | null;
  approved_on: ColumnType<string | null, string | null | undefined, string | null>;
  recorded_by: number | null;
  ended_at: Date | null;
  end_reason: string | null;
}

export interface OpenEvaluationTable {
  id: Generated<number>;
  resource_id: number;
  org_id: number;
  evaluated_by: number;
  evaluated_on: ColumnType<string, string, string>;
  open_type: string;
  conclusion: 'keep' | 'widen' | 'narrow';
  comment: string;
  article: string;
}

export interface OpenOperationFilingTable {
  id: Generated<number>;
  operation_id: number;
  filed_by: number;
  filed_at: Ts;
  title: string;
  description: string;
}

/** Migration 033: a public account's inbox on the portal, and SY Art 37 reminders acted once. */
export interface OpenNoticeTable {
  id: Generated<number>;
  account_id: number;
  kind: string;
  params: ColumnType<unknown, string | undefined, never>;
  application_id: number | null;
  created_at: Generated<Date>;
  read_at: Date | null;
}

export interface OpenReevaluationEventTable {
  resource_id: number;
  due_date: ColumnType<string, string, string>;
  kind: 'due' | 'overdue';
  on_date: ColumnType<string, string, string>;
}
