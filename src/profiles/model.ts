import type { Deadline } from '../calendar/model.js';

export type { Deadline } from '../calendar/model.js';

// A profile is one regulation (one column of RULES.md) as data. A deployment runs one
// profile; code asks the profile instead of branching on which city it is in.

export type ProfileId =
  | 'dongguan-2020'
  | 'xingtai-2024'
  | 'shenyang-2019'
  | 'nanyang-2022'
  | 'guangdong-2018';

export type StepActor = 'authority' | 'provider';

/**
 * What the ticker does when a step's deadline passes:
 * remind = notify the step's actor again; escalate = also put it before the data authority,
 * which supervises and coordinates (DG Art 15/35, SY Art 28, XT Art 41); deemedConsent = the
 * request is approved as if the actor had agreed (SY Art 25).
 */
export type TimeoutAction = 'remind' | 'escalate' | 'deemedConsent';

export interface WorkflowStep {
  key: string;
  actor: StepActor;
  /** Parties who review within the same step and window, without a step of their own (GD Art 19). */
  coActors?: StepActor[];
  nameZh: string;
  nameEn: string;
  deadline: Deadline;
  onTimeout: TimeoutAction;
  article: string;
}

/** What a conditional share request must state. */
export type RequestStatement = 'purpose' | 'fields' | 'scope';

/** What an on-application open request must state (SY Art 34, XT Art 30). */
export type OpenRequestStatement = 'purpose' | 'scenario' | 'securityMeasures';

/**
 * Violations the platform detects (XT Art 41, SY Art 47): catalog not updated in time (an update duty past its due
 * date), data not supplied or stale (past its update cycle), a share request's step not answered in time, data used
 * outside its purpose (purpose-mismatch refusals), an open-data application not answered in time.
 */
export const VIOLATION_TYPES = [
  'catalogStale',
  'dataStale',
  'requestLate',
  'purposeMisuse',
  'openApplicationLate',
] as const;
export type ViolationType = (typeof VIOLATION_TYPES)[number];

export interface Profile {
  id: ProfileId;
  nameZh: string;
  nameEn: string;
  regulation: {
    titleZh: string;
    docNumber?: string;
    /** 'YYYY-MM-DD', or 'YYYY' when only the year is known. */
    issued: string;
    /** File name in shared/regulations/. */
    file: string;
    /** 征求意见稿: a consultation draft, not in force; the UI should say so. */
    draft: boolean;
  };
  /** The profile whose rules fill gaps this one leaves (a city inside a province). */
  parent?: ProfileId;
  sharing: {
    /** [] = direct access through the platform, no approval. */
    unconditional: { steps: WorkflowStep[]; article: string };
    conditional: {
      requestMustState: RequestStatement[];
      steps: WorkflowStep[];
      overallDeadline?: Deadline;
      article: string;
    };
    /**
     * Cross-level requests (XT Art 26, GD Art 15): a department of a jurisdiction below the provider's (a county asking
     * the city or the province) requests through its own data authority, which reviews first in a step of its own;
     * then the provider's level runs its normal path. `appliesTo`: the share types that go this way. A city profile
     * without its own rule takes its province's (`parent`, DG Art 1).
     */
    crossLevel?: { step: WorkflowStep; appliesTo: Array<'unconditional' | 'conditional'>; article: string };
    refusalRequires: 'legalBasis' | 'reason';
    refusalArticle: string;
    /** shareType conditional/none need a legal basis, else the resource is unconditional. */
    conditionalNeedsLegalBasis: boolean;
    conditionalBasisArticle?: string;
    /** How the authority takes part in classifying a resource conditional/none. */
    negativeList?: { authority: 'approves' | 'filed'; article: string };
    /** Not-shared resources offer a verification or query API instead of raw data. */
    noneOffersVerification?: string;
    /** Not-shared data may become shared after de-identification/declassification. */
    deidentifiedMayBeShared?: string;
    /** Article limiting use to the stated purpose; undefined where the regulation has none. */
    purposeLimited?: string;
    emergency?: { mode: 'reclassify' | 'greenChannel'; article: string };
    bulkGrants?: {
      kinds: Array<'bulkGrant' | 'proxyGrant'>;
      deadline?: Deadline;
      refusalRequires: 'legalBasis' | 'reason';
      article: string;
    };
    disputes?: { resolvedBy: Array<'authority' | 'government'>; article: string };
    /** A provider that stops supplying published data must justify and file it in advance. */
    stopSupplyNeedsFiling?: string;
    /**
     * The provide-and-use agreement (政务数据资源提供和使用协议, DG Art 18) recorded with every grant: its terms, and the
     * consumer officer's confirmation (who, when), audited. It does not hold data calls back: DG Art 18 makes it the
     * departments' undertaking to the authority, not a condition of each call. Undefined: the regulation asks
     * for none; the grant still shows the use-purpose undertaking the consumer accepted when it filed the request.
     */
    useAgreement?: { article: string };
    /**
     * Periodic re-evaluation of restricted resources (XT Art 23.5: conditional; SY Art 31: conditional and not-shared):
     * the provider keeps the share type or converts it through the catalog's review. Neither regulation gives a
     * period, so the deployment does (SHARE_REEVALUATION_MONTHS) unless `months` is set here.
     */
    reevaluation?: { shareTypes: Array<'conditional' | 'none'>; months?: number; article: string };
  };
  catalog: CatalogRules;
  quality: {
    objectionDeadline?: Deadline;
    objectionArticle?: string;
    /** Time for testing, inspection, appraisal or expert review is not counted (DG Art 28). */
    objectionExcludesExpertTime?: boolean;
    rectificationDeadline?: Deadline;
    rectificationArticle?: string;
  };
  /**
   * The violations the regulation names, each with its article (XT Art 41, SY Art 47); undefined where the regulation
   * lists none: the detection job does not run and the console says so.
   */
  supervision?: { violations: { type: ViolationType; article: string }[] };
  security?: {
    /**
     * Who must be told of a data security incident (DG Art 32: the data authority and the cyberspace administration
     * at once; GD Art 27: the authority; SY Art 44: the affected users and the competent authority). An incident
     * cannot be closed while one of these notices is unrecorded.
     */
    incidentNotify?: { recipients: IncidentRecipient[]; article: string };
    /**
     * Sharing a resource of these security levels (GB/T 43697: important, core) needs a recorded risk assessment
     * before its grant is active (DG Art 19: assess the leak risk before sharing important data; XT Art 31; SY Art 42;
     * NY task 11). Undefined: the regulation asks for none.
     */
    riskAssessment?: { levels: Array<'important' | 'core'>; article: string };
  };
  opening?: {
    onApplicationReply?: Deadline;
    requestMustState?: OpenRequestStatement[];
    article?: string;
    /**
     * The authority restricts or closes a user's access for misuse and may publish the decision on the platform
     * (XT Art 33). Without it the portal has no such procedure.
     */
    violations?: { article: string };
    /**
     * A third party may operate cleansed, de-identified data: the department applies, the authority reviews, the
     * government approves (SY Art 39); what the operator produces is filed with the authority (SY Art 40).
     */
    authorisedOperation?: { article: string; filingArticle: string };
    /** The basis of not opening (and of restricting) is made public (SY Art 34): the portal lists it per resource. */
    publishBasis?: { article: string };
    /** Open lists are published after a confidentiality review (XT Art 28): the portal cites it where the profile does. */
    openList?: { article: string };
    /**
     * Providers re-evaluate their open and on-application resources periodically (SY Art 37, "定期进行评估"); the
     * regulation sets no period, so the deployment does (OPEN_REEVALUATION_MONTHS).
     */
    reevaluation?: { article: string };
  };
}

/** Who must hear of a security incident: the data authority (told in the platform), the cyberspace administration
 * (网信部门) and the affected users (both outside the platform: the notice is recorded with time and channel). */
export const INCIDENT_RECIPIENTS = ['authority', 'cyberspace', 'affectedUsers'] as const;
export type IncidentRecipient = (typeof INCIDENT_RECIPIENTS)[number];

/** Who reviews (审核确定) an entry of a catalog level: the authority, the provider department, or the section head. */
export type CatalogReviewer = 'authority' | 'department' | 'sectionHead';
/** Who sees a published entry of a catalog level: every department, or only the provider department. */
export type CatalogVisibility = 'all' | 'department';
export type CatalogLevel = 'city' | 'department' | 'section';
export interface CatalogLevelRule {
  reviewer: CatalogReviewer;
  visibleTo: CatalogVisibility;
  article: string;
}
export type ShareTypeValue = 'unconditional' | 'conditional' | 'none';
/** Kinds of legal basis (DG Art 24, GD Art 16: 法律、法规、规章, never an internal document). */
export const LEGAL_BASIS_KINDS = ['law', 'adminRegulation', 'localRegulation', 'rule', 'other'] as const;
export type LegalBasisKind = (typeof LEGAL_BASIS_KINDS)[number];

export interface ThemeDomain {
  /** stable key (the tree node's lib_key) */
  key: string;
  nameZh: string;
  nameEn: string;
}

export interface CatalogRules {
  updateAfterChange?: Deadline;
  updateArticle?: string;
  /** Catalog levels: who reviews an entry and who sees it once published (DG Art 11). */
  levels: Record<CatalogLevel, CatalogLevelRule>;
  /** Raising or lowering an entry's share type goes through review (DG Art 11, XT Art 23.5). */
  shareTypeChangeArticle: string;
  /** A conditional or not-shared entry states its conditions / reason in text. */
  conditionsArticle: string;
  /** 不予共享 implies 不予开放. */
  noneClosedArticle: string;
  /** Share types whose legal basis must not be of kind 'other' (an internal document); [] = any kind. */
  basisOtherRefusedFor: ShareTypeValue[];
  basisKindArticle?: string;
  /**
   * Base-library (classification 'base') entries: 'never' = always unconditional (GD Art 17, SY Art 26);
   * 'withLegalBasis' = conditional/none only with a legal basis approved in review (DG Art 21).
   */
  baseLibrary: { restricted: 'never' | 'withLegalBasis'; article: string };
  /**
   * The catalog's classification tree (1272 guideline 类/项): the five base libraries are always there; `themes` are
   * the theme domains the regulation names (XT Art 13, SY Art 26), each compiled by a lead department with
   * contributing departments (DG Art 12). A regulation that names none leaves them to the authority, which adds them
   * under `themesArticle`.
   */
  classTree: { baseArticle: string; themes: ThemeDomain[]; themesArticle: string };
  /** A conditional / not-shared entry without an approved negative-list entry is treated as unconditional. */
  unlistedIsUnconditional?: string;
  /**
   * A fiscally funded information system reaches 'accepted' only with catalog resources mounted and data loaded
   * (DG Art 13/22, GD Art 11, XT Art 37, SY Art 14); undefined = the regulation sets no such condition.
   */
  systemAcceptanceArticle?: string;
  /**
   * Purchased data (购买的数据): cataloged and shared like any other resource (DG Art 25, XT Art 16); where
   * `approvalRequired`, a purchase flagged on a resource needs the authority's approval record before the entry is
   * published or requested (XT Art 16). Undefined = the regulation says nothing on purchased data.
   */
  purchasedData?: { approvalRequired: boolean; article: string };
}

export function wd(amount: number): Deadline {
  return { amount, unit: 'WD' };
}

export function days(amount: number): Deadline {
  return { amount, unit: 'd' };
}
