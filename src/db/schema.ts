import type { ColumnType, Generated } from 'kysely';
import type { BaseLibraryTables } from '../baselib/schema.js';
import type { InventoryTables } from '../inventory/schema.js';
import type { OpeningTables } from '../opening/schema.js';
import type { QualityCheckTables } from '../quality/schema.js';
import type { SharingCaseTables } from '../sharing/schema.js';
import type { SupervisionTables } from '../supervision/schema.js';

/** Table types for Kysely. Per-resource data tables (schema `ds`) are generated at run time and queried with raw SQL. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface JurisdictionTable {
  code: string;
  name: string;
  level: 'province' | 'city' | 'county' | 'town';
  parent_code: string | null;
  /** GB/T 21063.5 position 3: '0' province, a letter (no I/O) for a lower level, assigned on first use */
  code_char: string | null;
}

export interface OrgTable {
  id: Generated<number>;
  code: string;
  name: string;
  short_name: string;
  kind: 'authority' | 'department' | 'enterprise';
  jurisdiction_code: string;
  credit_code: string | null;
  created_at: Generated<Date>;
}

export interface SectionTable {
  id: Generated<number>;
  org_id: number;
  code: string;
  name: string;
}

export interface UserTable {
  id: Generated<number>;
  username: string;
  display_name: string;
  org_id: number;
  section_id: number | null;
  roles: string[];
  password_hash: string;
  disabled: Generated<boolean>;
  created_at: Generated<Date>;
  failed_logins: Generated<number>;
  lock_count: Generated<number>;
  locked_until: Date | null;
  mobile: string | null;
  email: string | null;
}

export interface LoginFailureTable {
  bucket: Date;
  scope: 'ip' | 'all';
  key: string;
  count: Generated<number>;
}

export interface AuditRefusalTallyTable {
  bucket: Date;
  principal: string;
  client_ip: string;
  method: string;
  route: string;
  code: string;
  count: Generated<number>;
  audit_id: number | null;
  last_at: Generated<Date>;
}

export interface SessionTable {
  token_hash: string;
  user_id: number;
  created_at: Generated<Date>;
  expires_at: Timestamp;
}

export interface AppTable {
  id: Generated<number>;
  org_id: number;
  name: string;
  description: string;
  key_prefix: string;
  key_hash: string;
  /** the replaced key during a rotation's overlap (migration 032) */
  prev_key_hash: string | null;
  prev_key_until: Date | null;
  status: Generated<'active' | 'suspended' | 'revoked'>;
  created_by: number | null;
  created_at: Generated<Date>;
  revoked_at: Date | null;
  suspended_at: Date | null;
  suspended_reason: ColumnType<unknown, string | null, string | null> | null;
}

export interface ResourceTable {
  id: Generated<number>;
  code: string;
  name: string;
  summary: string;
  provider_org_id: number;
  section_id: number | null;
  classification: 'base' | 'theme' | 'department';
  topic: string;
  catalog_level: 'city' | 'department' | 'section';
  format: string;
  share_type: 'unconditional' | 'conditional' | 'none';
  share_conditions: string | null;
  legal_basis: string | null;
  share_method: 'api' | 'table' | 'file';
  open_type: 'open' | 'onApplication' | 'closed';
  update_cycle: string;
  security_level: 'general' | 'important' | 'core';
  keywords: string[];
  status: Generated<'draft' | 'submitted' | 'returned' | 'published' | 'retired'>;
  legal_basis_kind: 'law' | 'adminRegulation' | 'localRegulation' | 'rule' | 'other' | null;
  published_at: Date | null;
  retired_at: Date | null;
  retired_by: number | null;
  retire_reason: string | null;
  version: Generated<number>;
  data_table: string | null;
  /** the lookup-index key version its stored hashes are under (migration 050, docs/ENCRYPTION.md) */
  index_key: Generated<number>;
  row_count: Generated<number>;
  last_ingest_at: Date | null;
  overdue_notified_due: string | null;
  /** the provider offers verification (核验) on this resource even when it is not shared (DG Art 19; migration 014) */
  verification_enabled: Generated<boolean>;
  created_by: number | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  /** tsvector of jieba tokens (src/catalog/search.ts); read only through SQL */
  search_doc: string | null;
  /** generated: the weight-A (name + keywords) lexemes of search_doc, for the relevance keys (migration 016) */
  search_name: Generated<string | null>;
  class_id: number | null;
  /** the class node's full 分类码, for subtree filters */
  class_code: string | null;
  related_codes: Generated<string[]>;
  info_system_id: number | null;
  /** GB/T 43697: which fields set the resource's security level */
  security_reason: ColumnType<unknown, string | null, string | null> | null;
}

export interface CatalogClassTable {
  id: Generated<number>;
  parent_id: number | null;
  depth: number;
  kind: 'base' | 'theme' | 'department';
  full_code: string;
  name: string;
  /** English name (migration 043): the roots', base libraries' and the profile's themes' from code; else null */
  name_en: string | null;
  lib_key: string | null;
  org_id: number | null;
  lead_org_id: number | null;
  article: string | null;
  created_at: Generated<Date>;
}

export interface CatalogClassContributorTable {
  class_id: number;
  org_id: number;
}

export interface CatalogCodeFrontTable {
  org_id: number;
  front_code: string;
  last_seq: Generated<number>;
}

/** An entry's code from before GB/T 21063.5 (migration 045): resolved to the entry, never issued again. */
export interface ResourceCodeAliasTable {
  code: string;
  resource_id: number;
  replaced_at: Generated<Date>;
}

export interface ResourceVersionTable {
  id: Generated<number>;
  resource_id: number;
  version_no: number;
  status: 'draft' | 'submitted' | 'returned' | 'published' | 'superseded';
  snapshot: ColumnType<unknown, string, string>;
  created_by: number | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  submitted_by: number | null;
  submitted_at: Date | null;
  decided_by: number | null;
  decided_at: Date | null;
  decision: 'published' | 'returned' | null;
  comment: string | null;
}

export interface ResourceFieldTable {
  resource_id: number;
  ordinal: number;
  code: string;
  name: string;
  type: string;
  length: number | null;
  required: boolean;
  is_key: boolean;
  personal: boolean;
  sensitive: boolean;
  masking: string;
  validator: string | null;
  column_name: string;
  data_type: string | null;
  security_level: Generated<'general' | 'important' | 'core'>;
  sensitive_personal: Generated<boolean>;
  /** code table: the values the field may take (migration 026), null = any */
  /** jsonb: written as JSON text, read back as an array */
  allowed_values: string | string[] | null;
  /** the column holds ciphertext and has a `c<n>_h` lookup index (migration 040) */
  encrypted: Generated<boolean>;
  /** a clear column with a `c<n>_h` join index: a source of a hash-keyed base library (migration 051) */
  join_indexed: Generated<boolean>;
}

/** Data keys wrapped by the key-encryption key (migration 040, src/security/field-keys.ts). */
export interface FieldKeyTable {
  scope_id: number;
  version: number;
  purpose: 'data' | 'index';
  alg: string;
  wrapped: string;
  kek_id: string;
  state: Generated<'active' | 'retiring' | 'retired'>;
  created_at: Generated<Date>;
  retired_at: Date | null;
}

export interface IngestBatchTable {
  id: Generated<number>;
  resource_id: number;
  source: 'upload' | 'demo' | 'api';
  filename: string | null;
  status: 'queued' | 'running' | 'committed' | 'rejected' | 'failed' | 'rolled_back';
  rows_total: number;
  rows_inserted: number;
  rows_updated: number;
  error_count: number;
  errors: ColumnType<unknown, string, string>;
  created_by: number | null;
  created_at: Generated<Date>;
  format: Generated<'csv' | 'ndjson' | 'json' | 'xlsx' | 'push'>;
  mode: Generated<'upsert' | 'replace' | 'delete'>;
  on_error: Generated<'reject' | 'quarantine'>;
  options: ColumnType<unknown, string | undefined, string>;
  spool_path: string | null;
  encoding: string | null;
  bytes_total: number | null;
  bytes_read: Generated<number>;
  rows_read: Generated<number>;
  rows_valid: Generated<number>;
  rows_rejected: Generated<number>;
  rows_deleted: Generated<number>;
  attempts: Generated<number>;
  app_id: number | null;
  started_at: Date | null;
  progress_at: Date | null;
  finished_at: Date | null;
  rolled_back_by: number | null;
  rolled_back_at: Date | null;
}

export interface IngestStagingTable {
  batch_id: number;
  row_no: number;
  rkey: string;
  rhash: string;
  vals: (string | null)[];
}

export interface IngestQuarantineTable {
  id: Generated<number>;
  batch_id: number;
  resource_id: number;
  row_no: number;
  vals: ColumnType<unknown, string, string>;
  errors: ColumnType<unknown, string, string>;
  status: Generated<'open' | 'resubmitted' | 'discarded'>;
  resolved_batch_id: number | null;
  resolved_by: number | null;
  resolved_at: Date | null;
}

export interface RecordHistoryTable {
  resource_id: number;
  rkey: string;
  version: number;
  op: 'update' | 'delete';
  data: ColumnType<unknown, string, string>;
  rhash: string;
  batch_id: number;
  valid_from: Date;
  valid_to: Generated<Date>;
  replaced_by_batch: number;
}

export interface IngestIdempotencyTable {
  resource_id: number;
  idem_key: string;
  batch_id: number;
  created_at: Generated<Date>;
}

export interface ShareRequestTable {
  id: Generated<number>;
  resource_id: number;
  consumer_org_id: number;
  app_id: number;
  requester_id: number;
  purpose: string;
  scenario: string | null;
  fields: string[];
  valid_until: string;
  profile_id: string;
  status: Generated<'pending' | 'approved' | 'rejected' | 'withdrawn'>;
  current_step: Generated<number>;
  submitted_at: Generated<Date>;
  due_date: string | null;
  decided_at: Date | null;
  grant_id: number | null;
  /** what the request covers, where the profile demands it (DG Art 26) */
  scope: string | null;
  /** the profile's overall deadline for the whole request (NY task 7: 10 WD) */
  overall_due_date: string | null;
  /** the day a deadline put the request before the authority */
  escalated_on: string | null;
  /** approved because the provider did not answer in time (SY Art 25) */
  deemed_consent: Generated<boolean>;
  /** filed while an emergency covered the resource (XT Art 23.7, NY task 7; migration 020) */
  emergency_id: number | null;
  /** a request for a not-shared resource's verification or aggregates only (migration 031) */
  access: Generated<'verify' | 'aggregate' | null>;
}

export interface ShareRequestStepTable {
  request_id: number;
  step_index: number;
  key: string;
  actor: 'authority' | 'provider';
  deadline_amount: number;
  deadline_unit: 'WD' | 'd';
  article: string;
  started_on: string | null;
  due_date: string | null;
  decision: 'approved' | 'rejected' | 'deemed' | null;
  decided_by: number | null;
  decided_at: Date | null;
  comment: string | null;
  /** parties (actor and co-actors) that approved this step so far (GD Art 19 joint review) */
  approvals: Generated<string[]>;
  co_actors: Generated<string[]>;
  on_timeout: Generated<'remind' | 'escalate' | 'deemedConsent'>;
  /** the authority organisation acting on an authority step (migration 029, cross-level requests); null = any */
  authority_org_id: number | null;
  /** jurisdiction level of the step's authority: county review before the city's path (XT Art 26, GD Art 15) */
  level: 'province' | 'city' | 'county' | 'town' | null;
}

export interface ShareRequestEventTable {
  request_id: number;
  step_index: number;
  kind: 'dueSoon' | 'dueToday' | 'overdue' | 'escalated' | 'deemedConsent' | 'overallOverdue';
  on_date: string;
  created_at: Generated<Date>;
}

export interface JobTable {
  id: Generated<number>;
  kind: string;
  key: string;
  payload: Generated<unknown>;
  run_at: Timestamp;
  every_seconds: number | null;
  daily_at: string | null;
  status: Generated<'queued' | 'done' | 'failed'>;
  attempts: Generated<number>;
  max_attempts: Generated<number>;
  locked_by: string | null;
  locked_until: Timestamp | null;
  last_error: string | null;
  last_run_at: Timestamp | null;
  created_at: Generated<Date>;
}

export interface ShareGrantTable {
  id: Generated<number>;
  request_id: number | null;
  resource_id: number;
  consumer_org_id: number;
  app_id: number;
  fields: string[];
  purpose: string;
  valid_from: Generated<Date>;
  valid_until: Timestamp;
  status: Generated<'active' | 'revoked' | 'riskPending'>;
  created_at: Generated<Date>;
  revoked_at: Date | null;
  /** null: the platform default (config) */
  max_calls_per_day: number | null;
  max_rows_per_call: number | null;
  /** granted by deemed consent (SY Art 25) */
  deemed_consent: Generated<boolean>;
  /** the id of the approved purpose, sent by calls as `X-Purpose` (migration 014) */
  purpose_id: Generated<string>;
  /** false: a verification-only grant (no record leaves) */
  can_read: Generated<boolean>;
  can_verify: Generated<boolean>;
  max_verify_per_day: number | null;
  /** a temporary grant made under an emergency; it lapses when the emergency ends (migration 020) */
  emergency_id: Generated<number | null>;
  /** bulk export right and its daily row quota, null = the platform default (migration 017) */
  can_export: Generated<boolean>;
  max_export_rows_per_day: number | null;
  /** the grant's privacy budget, epsilon per Beijing day; null: AGGREGATE_EPSILON_PER_DAY (migration 053) */
  max_epsilon_per_day: Generated<number | null>;
  /** 'aggregate': usable but not visible, aggregates only, never a row (migration 022) */
  access_mode: Generated<'rows' | 'aggregate'>;
  /** granted protected fields this grant sees in clear (the clear-value right, migration 022) */
  clear_fields: Generated<string[]>;
  /** the change-feed right (migration 021) */
  can_feed: Generated<boolean>;
  /** the provide-and-use agreement (DG Art 18, migration 028): required before data calls where the profile says so */
  agreement_required: Generated<boolean>;
  agreement_article: string | null;
  agreement_terms: string | null;
  agreement_accepted_by: number | null;
  agreement_accepted_at: Date | null;
  /** issued by a bulk or proxy grant decision (NY task 7, migration 031) */
  bulk_id: Generated<number | null>;
  /** a proxy grant's source: the principal's grant whose rights it carries (NY task 7 同等代理授权) */
  proxy_of: Generated<number | null>;
  /** a not-shared resource reached only by verification (DG Art 19) or aggregates (XT Art 23.6, SY Art 26) */
  access_only: Generated<'verify' | 'aggregate' | null>;
}

export interface AuditLogTable {
  id: Generated<number>;
  occurred_at: Generated<Date>;
  actor_user_id: number | null;
  actor_org_id: number | null;
  app_id: number | null;
  grant_id: number | null;
  action: string;
  resource_id: number | null;
  target_type: string | null;
  target_id: string | null;
  target_label: string | null;
  purpose: string | null;
  decision: 'allow' | 'deny';
  rows_returned: number | null;
  fields: string[] | null;
  client_ip: string | null;
  detail: ColumnType<unknown, string | undefined, never>;
  /** the writing transaction's id (xid8, as text); decides the sealed block a row belongs to */
  seal_xid: ColumnType<string, never, never>;
}

export interface AuditSealKeyTable {
  key_id: string;
  algorithm: string;
  public_key: string;
  node: string;
  created_at: Generated<Date>;
}

export interface AuditSavedQueryTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  filter: ColumnType<unknown, string, string>;
  created_at: Generated<Date>;
}

export interface SecurityIncidentTable {
  id: Generated<number>;
  title: string;
  category: string;
  severity: string;
  description: string;
  occurred_at: Date | null;
  detected_at: Date;
  affected_org_ids: Generated<number[]>;
  required_notices: Generated<string[]>;
  notice_article: string | null;
  status: Generated<'open' | 'closed'>;
  reported_by: number;
  reporter_org_id: number;
  reported_at: Generated<Date>;
  closed_by: number | null;
  closed_at: Date | null;
  report: string | null;
}

export interface SecurityIncidentEventTable {
  id: Generated<number>;
  incident_id: number;
  kind: 'response' | 'notice';
  recipient: string | null;
  channel: string | null;
  text: string;
  at: Date;
  actor_user_id: number;
  created_at: Generated<Date>;
}

export interface AuditBlockTable {
  seq: number;
  from_xid: number;
  to_xid: number;
  record_count: number;
  first_id: number | null;
  last_id: number | null;
  record_ids: number[];
  leaf_hashes: Uint8Array;
  merkle_root: string;
  prev_hash: string;
  block_hash: string;
  hash_alg: string;
  key_id: string;
  signature: string;
  sealed_at: Date;
}

/** One archive file of sealed blocks (migration 041). */
export interface AuditArchiveTable {
  id: Generated<number>;
  until_at: Date;
  from_seq: number;
  to_seq: number;
  to_xid: number;
  last_block_hash: string;
  block_count: number;
  record_count: number;
  file_name: string;
  file_sha256: string;
  file_bytes: number;
  created_by: number | null;
  via: 'cli' | 'api';
  created_at: Generated<Date>;
}

/** One retention drop of archived audit partitions (migration 041). */
export interface AuditRetentionTable {
  id: Generated<number>;
  dropped_before: Date;
  partitions: string[];
  archive_id: number;
  anchor_seq: number;
  anchor_hash: string;
  archived_ids: Generated<number[]>;
  blocks_removed: number;
  dropped_at: Generated<Date>;
}

export interface PlatformStateTable {
  key: string;
  value: ColumnType<unknown, string, string>;
  updated_at: Generated<Date>;
}

export interface HolidayYearTable {
  year: number;
  source: string;
  off_days: string[];
  working_weekend_days: string[];
  imported_by: number | null;
  imported_at: Generated<Date>;
}

export interface NotificationTable {
  id: Generated<number>;
  user_id: number;
  kind: string;
  severity: Generated<'info' | 'warning' | 'critical'>;
  params: ColumnType<unknown, string | undefined, never>;
  resource_id: number | null;
  app_id: number | null;
  created_at: Generated<Date>;
  read_at: Date | null;
  outbound_at: Date | null;
}

export interface NotificationDeliveryTable {
  id: Generated<number>;
  notification_id: number;
  user_id: number;
  channel: 'sms' | 'email';
  sender: string;
  status: Generated<'queued' | 'sent' | 'failed'>;
  attempts: Generated<number>;
  last_error: string | null;
  created_at: Generated<Date>;
  sent_at: Date | null;
}

export interface DB
  extends InventoryTables,
    OpeningTables,
    SharingCaseTables,
    QualityCheckTables,
    ExportTables,
    FeedTables,
    BaseLibraryTables,
    SupervisionTables {
  notification: NotificationTable;
  notification_delivery: NotificationDeliveryTable;
  login_failure: LoginFailureTable;
  audit_refusal_tally: AuditRefusalTallyTable;
  holiday_year: HolidayYearTable;
  platform_state: PlatformStateTable;
  jurisdiction: JurisdictionTable;
  org: OrgTable;
  section: SectionTable;
  app_user: UserTable;
  session: SessionTable;
  app: AppTable;
  resource: ResourceTable;
  resource_field: ResourceFieldTable;
  field_key: FieldKeyTable;
  catalog_class: CatalogClassTable;
  catalog_class_contributor: CatalogClassContributorTable;
  catalog_code_front: CatalogCodeFrontTable;
  resource_code_alias: ResourceCodeAliasTable;
  resource_version: ResourceVersionTable;
  ingest_batch: IngestBatchTable;
  ingest_staging: IngestStagingTable;
  ingest_quarantine: IngestQuarantineTable;
  record_history: RecordHistoryTable;
  ingest_idempotency: IngestIdempotencyTable;
  share_request: ShareRequestTable;
  share_request_step: ShareRequestStepTable;
  share_grant: ShareGrantTable;
  share_request_event: ShareRequestEventTable;
  job: JobTable;
  audit_log: AuditLogTable;
  audit_block: AuditBlockTable;
  audit_seal_key: AuditSealKeyTable;
  audit_archive: AuditArchiveTable;
  audit_retention: AuditRetentionTable;
  audit_saved_query: AuditSavedQueryTable;
  security_incident: SecurityIncidentTable;
  security_incident_event: SecurityIncidentEventTable;
  quality_objection: QualityObjectionTable;
  quality_objection_event: QualityObjectionEventTable;
  quality_rectification: QualityRectificationTable;
  quality_rectification_event: QualityRectificationEventTable;
  usage_daily: UsageDailyTable;
  eval_model: EvalModelTable;
  eval_run: EvalRunTable;
  eval_score: EvalScoreTable;
  eval_result: EvalResultTable;
  eval_check: EvalCheckTable;
  security_alert_rule: SecurityAlertRuleTable;
  security_app_hour: SecurityAppHourTable;
  security_alert: SecurityAlertTable;
  share_risk_assessment: ShareRiskAssessmentTable;
}

/** Usage rollup (issue 12 point 3, migration 024): one row per Beijing day × department × app × resource × call type × purpose. */
export interface UsageDailyTable {
  day: ColumnType<string, string, string>;
  org_id: number;
  provider_org_id: number;
  app_id: number;
  resource_id: number;
  action: string;
  purpose: string;
  calls: number;
  allowed: number;
  denied: number;
  errors: number;
  rows_served: number;
  lat_count: number;
  lat_sum_ms: number;
  l0: number;
  l1: number;
  l2: number;
  l3: number;
  l4: number;
  l5: number;
  l6: number;
  l7: number;
  l8: number;
  l9: number;
  l10: number;
  l11: number;
  l12: number;
}

/** Department evaluation (issue 12 point 5, migration 024). */
export interface EvalModelTable {
  id: Generated<number>;
  name: string;
  indicators: ColumnType<unknown, string, string>;
  updated_by: number | null;
  updated_at: Date;
}

export interface EvalRunTable {
  id: Generated<number>;
  model_id: number;
  model: ColumnType<unknown, string, string>;
  period: string;
  period_start: ColumnType<string, string, string>;
  period_end: ColumnType<string, string, string>;
  status: 'queued' | 'draft' | 'published' | 'failed';
  requested_by: number;
  requested_at: Date;
  computed_at: Date | null;
  published_by: number | null;
  published_at: Date | null;
  on_portal: Generated<boolean>;
  portal_at: Date | null;
  error: string | null;
}

export interface EvalScoreTable {
  run_id: number;
  org_id: number;
  total: ColumnType<string, number, number>;
  rank: number;
}

export interface EvalResultTable {
  run_id: number;
  org_id: number;
  indicator: string;
  weight: ColumnType<string, number, number>;
  value: ColumnType<string | null, number | null, number | null>;
  score: ColumnType<string | null, number | null, number | null>;
  evidence: ColumnType<unknown, string, string>;
}

export interface EvalCheckTable {
  id: Generated<number>;
  kind: 'department' | 'resource';
  seed: string;
  population: number;
  drawn: ColumnType<unknown, string, string>;
  drawn_by: number;
  drawn_at: Date;
  status: 'drawn' | 'recorded';
  outcome: 'pass' | 'issues' | null;
  note: string | null;
  recorded_by: number | null;
  recorded_at: Date | null;
}

/** Anomaly alert rules (issue 10 point 5, migration 023). */
export interface SecurityAlertRuleTable {
  code: 'volume' | 'offHours' | 'enumeration' | 'denials';
  enabled: boolean;
  auto_suspend: boolean;
  threshold: number | null;
  factor: number | null;
  window_minutes: number;
  baseline_days: number | null;
  work_start: string | null;
  work_end: string | null;
  updated_by: number | null;
  updated_at: Date | null;
}

export interface SecurityAppHourTable {
  app_id: number;
  hour: Date;
  calls: number;
  rows_served: ColumnType<number, number, number>;
}

export interface SecurityAlertTable {
  id: Generated<number>;
  rule_code: string;
  subject: string;
  app_id: number | null;
  user_id: number | null;
  org_id: number | null;
  resource_id: number | null;
  evidence: ColumnType<Record<string, unknown>, string, string>;
  status: Generated<'open' | 'acknowledged' | 'closed'>;
  suspended: Generated<boolean>;
  hits: Generated<number>;
  first_seen_at: Date;
  last_seen_at: Date;
  acknowledged_by: number | null;
  acknowledged_at: Date | null;
  closed_by: number | null;
  closed_at: Date | null;
  note: string | null;
}

/** Risk assessment before important/core data is shared (issue 10 point 10, migration 023). */
export interface ShareRiskAssessmentTable {
  id: Generated<number>;
  request_id: number;
  resource_id: number;
  assessor: string;
  assessed_on: ColumnType<string, string, string>;
  conclusion: 'pass' | 'conditional' | 'fail';
  measures: string;
  attachment_name: string | null;
  article: string;
  recorded_by: number;
  recorded_at: Generated<Date>;
}

/** Quality objections (issue 12 point 1, migration 015). */
export interface QualityObjectionTable {
  id: Generated<number>;
  resource_id: number;
  provider_org_id: number;
  target: 'record' | 'field' | 'resource';
  record_key: string | null;
  field_code: string | null;
  problem: 'wrong' | 'missing' | 'stale';
  description: string;
  evidence: string | null;
  status: Generated<'submitted' | 'verifying' | 'paused' | 'corrected' | 'rejected'>;
  objector_user_id: number;
  objector_org_id: number;
  raised_on: ColumnType<string, string, string>;
  raised_at: Date;
  due_date: ColumnType<string | null, string | null, string | null>;
  due_provisional: Generated<boolean>;
  deadline_article: string | null;
  excludes_expert_time: Generated<boolean>;
  paused_on: ColumnType<string | null, string | null, string | null>;
  pause_reason: string | null;
  paused_workdays: Generated<number>;
  escalated_on: ColumnType<string | null, string | null, string | null>;
  resolution: string | null;
  batch_floor: Generated<number>;
  batch_id: number | null;
  resolved_by: number | null;
  resolved_at: Date | null;
  resolved_on: ColumnType<string | null, string | null, string | null>;
}

export interface QualityObjectionEventTable {
  id: Generated<number>;
  objection_id: number;
  kind: string;
  on_date: ColumnType<string, string, string>;
  due_date: ColumnType<string | null, string | null, string | null>;
  actor_user_id: number | null;
  text: string | null;
  at: Date;
}

/** Rectification tasks (issue 12 point 2, migration 015). */
export interface QualityRectificationTable {
  id: Generated<number>;
  resource_id: number;
  provider_org_id: number;
  source: 'objection' | 'check';
  objection_id: number | null;
  title: string;
  description: string;
  status: Generated<'open' | 'closed'>;
  opened_by: number | null;
  opened_org_id: number;
  rule_id: Generated<number | null>;
  run_id: Generated<number | null>;
  opened_on: string;
  opened_at: Date;
  due_date: string | null;
  due_provisional: Generated<boolean>;
  deadline_article: string | null;
  escalated_on: string | null;
  evidence: string | null;
  batch_floor: Generated<number>;
  batch_id: number | null;
  closed_by: number | null;
  closed_at: Date | null;
  closed_on: string | null;
}

export interface QualityRectificationEventTable {
  id: Generated<number>;
  rectification_id: number;
  kind: string;
  on_date: string;
  due_date: string | null;
  actor_user_id: number | null;
  text: string | null;
  at: Date;
}

/** Bulk export and its leak-tracing ledger; masking per field class (issue 9 points 5 and 8, migration 017). */
export interface ExportTables {
  data_export: DataExportTable;
  data_export_row: DataExportRowTable;
  data_export_batch: DataExportBatchTable;
  /** a view (migration 047): data_export_row plus the batches not exploded yet, one row per delivered row */
  data_export_ledger: DataExportRowTable;
  masking_class_rule: MaskingClassRuleTable;
  /** the privacy budget of noisy aggregate queries, per grant and Beijing day (migration 052) */
  aggregate_budget: AggregateBudgetTable;
}

export interface AggregateBudgetTable {
  grant_id: number;
  /** the Beijing day, YYYY-MM-DD */
  day: ColumnType<string, string, never>;
  /** the epsilon the grant's noisy answers spent that day */
  spent: number;
  /** digests of the requests (over the data as it then stood) answered that day: repeating one costs nothing */
  requests: string[];
  /** the budget the day's last charge was checked against (the grant's or the platform's; migration 053) */
  per_day: number | null;
}

export interface DataExportTable {
  id: Generated<number>;
  app_id: number;
  org_id: number | null;
  grant_id: number;
  resource_id: number;
  purpose: string | null;
  format: 'csv' | 'ndjson' | 'xlsx';
  encoding: 'utf-8' | 'gbk';
  fields: string[];
  rows_reserved: number;
  row_count: Generated<number>;
  max_seq: number;
  status: Generated<'running' | 'completed' | 'aborted' | 'failed'>;
  audit_id: number | null;
  client_ip: string | null;
  started_at: Generated<Date>;
  finished_at: Date | null;
  /** the watermark scheme the file carries (migration 034): 'csv-quote/1', or null (none) */
  watermark: Generated<string | null>;
}

export interface DataExportRowTable {
  export_id: number;
  ordinal: number;
  key_mac: Buffer;
  row_mac: Buffer;
  /** 4 bytes per field in the export's field order (migration 032); null on rows written before it */
  cell_tags: Buffer | null;
}

/**
 * One served batch of an export's ledger (migration 047), written in the batch's transaction; the ledger job explodes it
 * into data_export_row and drops its byte strings (null once exploded_at is set).
 */
export interface DataExportBatchTable {
  export_id: number;
  /** the ordinal of the batch's first row in its export (1-based) */
  first_ordinal: number;
  row_count: number;
  /** bytes of cell tags per row (4 per field) */
  tag_bytes: number;
  /** 16 bytes a row */
  key_macs: Buffer | null;
  /** 16 bytes a row */
  row_macs: Buffer | null;
  /** tag_bytes a row */
  cell_tags: Buffer | null;
  created_at: Generated<Date>;
  exploded_at: Date | null;
}

export interface MaskingClassRuleTable {
  field_class: string;
  strategy: string;
  params: ColumnType<Record<string, unknown>, string, string>;
  updated_by: number | null;
  updated_at: Generated<Date>;
}

/** The change feed (issue 9 point 6, migration 021). */
export interface FeedTables {
  record_change: RecordChangeTable;
  feed_subscription: FeedSubscriptionTable;
  feed_delivery: FeedDeliveryTable;
  record_key_ref: RecordKeyRefTable;
}

/** The feed's key pseudonym kept across a rekeying (migration 046, src/security/rekey.ts). */
export interface RecordKeyRefTable {
  resource_id: number;
  rkey: string;
  ref: string;
}

export interface RecordChangeTable {
  resource_id: number;
  seq: Generated<number>;
  rkey: string;
  op: 'upsert' | 'delete';
  version: number;
  batch_id: number;
  changed_at: Generated<Date>;
}

export interface FeedSubscriptionTable {
  id: Generated<number>;
  grant_id: number;
  app_id: number;
  resource_id: number;
  target: 'webhook' | 'nats';
  url: string | null;
  subject: string | null;
  purpose: string | null;
  secret_salt: string;
  cursor_seq: Generated<number>;
  /** the upper bound of a batch sent but not yet acknowledged: its retry resends exactly that batch */
  pending_to: number | null;
  status: Generated<'active' | 'stopped' | 'deleted'>;
  delivered: Generated<number>;
  failures: Generated<number>;
  last_error: string | null;
  last_error_code: string | null;
  last_attempt_at: Date | null;
  last_delivery_at: Date | null;
  created_by: number | null;
  created_at: Generated<Date>;
  deleted_at: Date | null;
}

export interface FeedDeliveryTable {
  id: Generated<number>;
  subscription_id: number;
  cursor_from: number;
  cursor_to: number;
  changes: number;
  attempt: number;
  status: 'delivered' | 'failed';
  http_status: number | null;
  error: string | null;
  audit_id: number | null;
  at: Generated<Date>;
}
