/** Shapes of docs/API.md, as the console reads them. */

import type { Deadline } from '../../../src/calendar/model.js';
import type { FieldType, Masking, Validator } from '../../../src/catalog/model.js';
import type { Role } from '../../../src/context.js';

export type { Role };

export interface Me {
  user: {
    id: number;
    username: string;
    displayName: string;
    roles: Role[];
    org: { id: number; code: string; name: string; kind: string };
    section: { id: number; code: string; name: string } | null;
  };
  profile: { id: string; nameZh: string; nameEn: string };
}

export interface DemoLogin {
  username: string;
  displayName: string;
  orgName: string;
  roles: Role[];
}

export interface Org {
  id: number;
  code: string;
  name: string;
  shortName: string;
  kind: string;
  jurisdictionCode: string;
  sections: { id: number; code: string; name: string }[];
}

export interface App {
  id: number;
  orgId: number;
  orgName: string;
  name: string;
  description: string;
  keyPrefix: string;
  status: 'active' | 'suspended' | 'revoked';
  createdAt: string;
}

export type { FieldType, Masking, Validator };
export type ShareType = 'unconditional' | 'conditional' | 'none';

export interface Field {
  code: string;
  name: string;
  type: FieldType;
  length?: number | null;
  required: boolean;
  isKey: boolean;
  personal: boolean;
  sensitive: boolean;
  masking: Masking;
  validator: Validator | null;
  /** code table (值域): the only values the field may take, checked on ingest; null = any */
  allowedValues?: string[] | null;
  /** 1272 信息项数据类型 letter */
  dataType?: DataTypeLetter;
  securityLevel?: SecurityLevel;
  sensitivePersonal?: boolean;
  /** stored encrypted at rest (docs/ENCRYPTION.md): a sensitive-personal field of a table created since encryption */
  encrypted?: boolean;
}

export type SecurityLevel = 'general' | 'important' | 'core';
export const DATA_TYPE_LETTERS = ['C', 'N', 'Y', 'D', 'T', 'L', 'M', 'G', 'B', 'I', 'F'] as const;
export type DataTypeLetter = (typeof DATA_TYPE_LETTERS)[number];
/** The storage type each 1272 letter is kept as (the server's DATA_TYPE_STORAGE). */
export const DATA_TYPE_STORAGE: Record<DataTypeLetter, FieldType> = {
  C: 'string',
  N: 'decimal',
  Y: 'decimal',
  D: 'date',
  T: 'datetime',
  L: 'boolean',
  M: 'string',
  G: 'string',
  B: 'decimal',
  I: 'integer',
  F: 'decimal',
};
export const FORMATS = [
  'electronicFile',
  'spreadsheet',
  'database',
  'image',
  'streamingMedia',
  'selfDescribing',
  'serviceApi',
] as const;

export interface ClassNode {
  id: number;
  parentId: number | null;
  depth: number;
  kind: 'base' | 'theme' | 'department';
  code: string;
  name: string;
  /** English name (the roots, base libraries, the profile's themes, or as the authority gave it); null: none */
  nameEn?: string | null;
  lead: { id: number; name: string } | null;
  contributors: { id: number; name: string }[];
  count: number;
}

export interface ResourceSummary {
  id: number;
  code: string;
  name: string;
  summary: string;
  provider: { id: number; name: string };
  classification: 'base' | 'theme' | 'department';
  topic: string;
  catalogLevel: 'city' | 'department' | 'section';
  shareType: ShareType;
  shareConditions: string | null;
  legalBasis: string | null;
  legalBasisKind?: LegalBasisKind | null;
  shareMethod: 'api' | 'table' | 'file';
  openType: 'open' | 'onApplication' | 'closed';
  updateCycle: string;
  securityLevel: 'general' | 'important' | 'core';
  securityReason?: { level: string; fields: { code: string; name: string }[]; article: string } | null;
  classId?: number | null;
  format?: string;
  relatedCodes?: string[];
  infoSystemId?: number | null;
  publishedAt?: string | null;
  keywords: string[];
  status: string;
  version?: number;
  sectionId?: number | null;
  retireReason?: string | null;
  rowCount: number;
  lastIngestAt: string | null;
  createdAt: string;
}

export interface HighlightSegment {
  text: string;
  hit: boolean;
}

export type FacetKey =
  | 'provider'
  | 'classification'
  | 'catalogLevel'
  | 'shareType'
  | 'openType'
  | 'shareMethod'
  | 'updateCycle'
  | 'securityLevel'
  | 'format';

export interface FacetBucket {
  value: string | number;
  label: string;
  count: number;
}

export interface CatalogHit extends ResourceSummary {
  highlight: { name: HighlightSegment[]; summary: HighlightSegment[] } | null;
}

export interface CatalogPage extends Page<CatalogHit> {
  sort: 'relevance' | 'name' | 'updated';
  facets: Record<FacetKey, FacetBucket[]>;
}

export type LegalBasisKind = 'law' | 'adminRegulation' | 'localRegulation' | 'rule' | 'other';

export interface Resource extends ResourceSummary {
  fields: Field[];
  classPath?: { id: number; name: string; nameEn?: string | null; kind: string; depth: number }[];
  infoSystem?: { id: number; name: string } | null;
  related?: { code: string; id: number | null; name: string | null }[];
  canEdit?: boolean;
  canRetire?: boolean;
  reviewer?: 'authority' | 'department' | 'sectionHead';
  workingVersion?: {
    versionNo: number;
    status: 'draft' | 'submitted' | 'returned';
    submittedAt: string | null;
    comment: string | null;
    canReview: boolean;
    canSubmit: boolean;
    snapshot: (ResourceInput & { fields: Field[] }) | null;
  } | null;
}

export interface ReviewItem {
  resourceId: number;
  code: string;
  name: string;
  versionNo: number;
  newVersion: boolean;
  catalogLevel: ResourceSummary['catalogLevel'];
  shareType: ShareType;
  provider: { id: number; name: string };
  submittedAt: string;
  submittedBy: { id: number; displayName: string } | null;
}

export interface DiffRow {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  field?: string;
  fieldName?: string;
  attribute?: string;
  before: unknown;
  after: unknown;
}

export interface VersionEntry {
  versionNo: number;
  status: 'draft' | 'submitted' | 'returned' | 'published' | 'superseded';
  live: boolean;
  createdAt: string;
  createdBy: { id: number; displayName: string } | null;
  submittedAt: string | null;
  submittedBy: { id: number; displayName: string } | null;
  decidedAt: string | null;
  decidedBy: { id: number; displayName: string } | null;
  decision: 'published' | 'returned' | null;
  comment: string | null;
  diff: DiffRow[];
}

export interface ResourceInput {
  name: string;
  summary: string;
  classification: ResourceSummary['classification'];
  classId?: number | null;
  topic?: string;
  format?: string;
  relatedCodes?: string[];
  infoSystemId?: number | null;
  catalogLevel: ResourceSummary['catalogLevel'];
  shareType: ShareType;
  shareConditions?: string;
  legalBasis?: string;
  legalBasisKind?: LegalBasisKind | null;
  shareMethod: ResourceSummary['shareMethod'];
  openType: ResourceSummary['openType'];
  updateCycle: string;
  securityLevel?: ResourceSummary['securityLevel'];
  keywords?: string[];
  sectionId?: number | null;
  fields: Field[];
  submit?: boolean;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}

export interface IngestResult {
  batchId: number | string;
  rowsTotal: number;
  inserted: number;
  updated: number;
}

/** POST /api/catalog/import */
export interface CatalogImportResult {
  format: 'xlsx' | 'csv';
  created: { id: number; code: string; name: string; status: string; row: number }[];
}

export interface Batch {
  id: number | string;
  source: string;
  filename: string | null;
  status: string;
  rowsTotal: number;
  inserted: number;
  updated: number;
  errorCount: number;
  createdAt: string;
}

export interface Step {
  index: number;
  key: string;
  actor: 'authority' | 'provider';
  nameZh: string;
  nameEn: string;
  deadline: Deadline | null;
  article: string | null;
  startedOn: string | null;
  dueDate: string | null;
  /** working days left on the current step (0 = due today); null otherwise */
  workdaysLeft: number | null;
  /** co-reviewers in the same step (GD Art 19) */
  coActors: Array<'authority' | 'provider'>;
  /** parties that approved so far */
  approvals: Array<'authority' | 'provider'>;
  /** who holds the step now */
  holders: Array<'authority' | 'provider'>;
  onTimeout: 'remind' | 'escalate' | 'deemedConsent';
  /** jurisdiction level of the step's authority (cross-level requests, XT Art 26, GD Art 15); null on older requests */
  level?: 'province' | 'city' | 'county' | 'town' | null;
  /** the authority acting on (or supervising) the step */
  authorityOrg?: { id: number; name: string } | null;
  decision: string | null;
  decidedBy: unknown;
  decidedAt: string | null;
  comment: string | null;
}

export interface ShareRequest {
  id: number;
  resource: { id: number; code: string; name: string; providerOrgId: number; providerOrgName: string };
  consumerOrg: { id: number; name: string };
  app: { id: number; name: string };
  requester: { id: number; displayName: string };
  purpose: string;
  scenario: string | null;
  /** business scope (DG Art 26) */
  scope: string | null;
  fields: string[];
  /** the fields' names, in the same order */
  fieldNames?: string[] | null;
  validUntil: string;
  status: 'pending' | 'approved' | 'rejected' | 'withdrawn';
  workdaysLeft: number | null;
  overallDueDate: string | null;
  overallOverdue: boolean;
  escalatedOn: string | null;
  deemedConsent: boolean;
  currentStep: number | string | null;
  dueDate: string | null;
  overdue: boolean;
  /** The due date's year has no State Council holiday notice yet: it was computed Mon–Fri. */
  dueDateProvisional: boolean;
  submittedAt: string;
  decidedAt: string | null;
  grantId: number | null;
  steps: Step[];
  canDecide: boolean;
  /** the requesting organisation may withdraw it while pending */
  canWithdraw: boolean;
  /** the authority may decide an escalated request in place of the late party (DG Art 15/35) */
  canOverride?: boolean;
  /** a refused request may be amended and resubmitted by its consumer (issue 8 point 3) */
  canResubmit?: boolean;
  resubmissions?: Array<{
    id: number;
    step: string;
    nameZh: string;
    nameEn: string;
    refusal: string | null;
    refusedBy: string | null;
    refusedAt: string | null;
    note: string;
    changes: Record<string, { from: unknown; to: unknown }>;
    resubmittedBy: string | null;
    resubmittedAt: string;
    startedOn: string;
    dueDate: string | null;
  }>;
}

export interface Grant {
  id: number;
  requestId: number | null;
  resource: { id: number; code: string; name: string };
  consumerOrg: { id: number; name: string };
  app: { id: number; name: string };
  fields: string[];
  /** the fields' names, in the same order */
  fieldNames: string[] | null;
  purpose: string;
  /** what the consumer's data calls send as X-Purpose (DG Art 26) */
  purposeId: string;
  /** data API rights: reading records (false = verification only) and verification (核验, DG Art 19) */
  rights: { read: boolean; verify: boolean; export: boolean; feed: boolean };
  /** 'aggregate': usable but not visible, aggregate queries only (issue 9 point 7) */
  accessMode: 'rows' | 'aggregate';
  /** the clear-value right: granted fields seen in clear (issue 9 point 8) */
  clearFields: string[];
  validFrom: string;
  validUntil: string;
  /** effective state: a grant past its end or of a revoked app no longer works */
  status: 'active' | 'expired' | 'revoked' | 'appRevoked' | 'appSuspended' | 'riskPending';
  recordStatus: 'active' | 'revoked' | 'riskPending';
  /** the grant's limits on the data API; null = the platform default */
  quota: {
    callsPerDay: number | null;
    rowsPerCall: number | null;
    verificationsPerDay: number | null;
    exportRowsPerDay: number | null;
    /** the privacy budget of noisy aggregate answers (ε per day); null: the platform default */
    epsilonPerDay?: number | null;
  };
  /** granted by deemed consent (SY Art 25) */
  deemedConsent: boolean;
  /** the use-purpose undertaking the consumer accepted when filing the request */
  undertaking?: { purpose: string; acceptedBy: string | null; acceptedAt: string | null };
  /** the provide-and-use agreement (DG Art 18); null where the profile asks for none */
  agreement?: { article: string; terms: string; acceptedBy: string | null; acceptedAt: string | null } | null;
}

export interface AuditEntry {
  id: number | string;
  occurredAt: string;
  actor: { id: number; username: string; displayName: string } | null;
  org: { id: number; name: string } | null;
  app: { id: number; name: string } | null;
  grantId: number | null;
  action: string;
  resource: { id: number; code: string; name: string } | null;
  targetType: string | null;
  targetId: string | number | null;
  /** masked form of a record key (the log stores the key only as a keyed hash) */
  targetLabel: string | null;
  purpose: string | null;
  decision: 'allow' | 'deny';
  rowsReturned: number | null;
  fields: string[] | null;
  /** the fields' names, in the same order */
  fieldNames: string[] | null;
  clientIp: string | null;
  detail: unknown;
  /** identical refusals within the minute this row stands for (1 for everything else) */
  repeatCount: number;
}

export interface Overview {
  resources: number;
  departments: number;
  rows: number;
  pendingRequests: number;
  activeGrants: number;
  callsToday: number;
  callsByDay: { date: string; count: number }[];
}

// ---------- working-day calendar ----------

export type DayKind = 'workday' | 'weekend' | 'holiday' | 'adjustedWorkday';

export interface HolidayYear {
  year: number;
  source: string;
  offDays: string[];
  workingWeekendDays: string[];
  origin: 'shipped' | 'imported';
}

export interface CalendarYears {
  years: HolidayYear[];
  knownYears: number[];
  /** This or next year whose holiday notice is not in the calendar yet. */
  missing: number[];
}

export interface YearView {
  year: number;
  known: boolean;
  days: { date: string; workday: boolean; kind: DayKind }[];
}

export interface DueAnswer {
  start: string;
  dueDate: string;
  yearKnown: boolean;
}

// ---------- regulation profile (src/profiles/model.ts) ----------

export type { Profile, StepActor, WorkflowStep } from '../../../src/profiles/model.js';
// One source of truth: the console reads the server's own profile and calendar types (type-only imports).
export type { Deadline };
