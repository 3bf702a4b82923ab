// Shapes of the demo city handed to the loader. Names follow docs GLOSSARY.md so the loader maps
// them one-to-one onto the catalog tables.

export interface DemoJurisdiction {
  code: string;
  name: string;
  level: 'province' | 'city' | 'county' | 'town';
  parentCode: string | null;
}

export interface DemoSection {
  code: string;
  name: string;
}

export interface DemoOrg {
  code: string;
  name: string;
  shortName: string;
  kind: 'authority' | 'department' | 'enterprise';
  jurisdictionCode: string;
  creditCode: string;
  sections: DemoSection[];
}

export type DemoRole =
  | 'platform_admin'
  | 'authority_reviewer'
  | 'data_officer'
  | 'section_head'
  | 'consumer_staff'
  | 'auditor';

export interface DemoUser {
  username: string;
  displayName: string;
  orgCode: string;
  sectionCode: string | null;
  roles: DemoRole[];
  /** Plain text on purpose: the loader hashes it; see DEMO_PASSWORD. */
  password: string;
}

export type FieldType = 'string' | 'integer' | 'decimal' | 'date' | 'datetime' | 'boolean';
export type Masking = 'none' | 'idNumber' | 'name' | 'phone' | 'address' | 'creditCode' | 'partial';

/**
 * Row values by type: string → string; integer → number; decimal → string with exactly `scale`
 * decimals (exact, as PostgreSQL numeric accepts it); date → 'YYYY-MM-DD'; datetime →
 * 'YYYY-MM-DDTHH:mm:ss+08:00'; boolean → boolean. Any optional field may be null.
 */
export interface DemoField {
  code: string;
  name: string;
  type: FieldType;
  /** string: maximum characters; decimal: total digits (precision). */
  length?: number;
  /** decimal only: digits after the point. */
  scale?: number;
  required: boolean;
  isKey: boolean;
  personal: boolean;
  sensitive: boolean;
  masking: Masking;
  validator?: 'idNumber' | 'creditCode' | 'mobilePhone';
  /** GB/T 35273 敏感个人信息 (implies personal) */
  sensitivePersonal?: boolean;
  /** GB/T 43697 level of the field; the resource's level is the highest */
  securityLevel?: 'general' | 'important' | 'core';
  /** 1272 data type letter; derived from `type` when absent */
  dataType?: 'C' | 'N' | 'Y' | 'D' | 'T' | 'L' | 'M' | 'G' | 'B' | 'I' | 'F';
}

/** The catalog code is issued at load time by the one GB/T 21063.5 generator (catalog/classes nextResourceCode). */
export interface DemoResource {
  name: string;
  summary: string;
  providerOrgCode: string;
  sectionCode: string | null;
  classification: 'base' | 'theme' | 'department';
  topic: string;
  catalogLevel: 'city' | 'department' | 'section';
  format: 'database' | 'spreadsheet' | 'serviceApi';
  /** names of other demo resources this one relates to (1272 关联资源代码) */
  related: string[];
  shareType: 'unconditional' | 'conditional' | 'none';
  shareConditions: string | null;
  legalBasis: string | null;
  legalBasisKind: 'law' | 'adminRegulation' | 'localRegulation' | 'rule' | 'other' | null;
  shareMethod: 'api' | 'table' | 'file';
  openType: 'open' | 'onApplication' | 'closed';
  updateCycle: 'realtime' | 'daily' | 'weekly' | 'monthly' | 'quarterly' | 'yearly' | 'irregular';
  /** the intended grade: the fields carrying it get this level (GB/T 43697 grades by field) */
  securityLevel: 'general' | 'important' | 'core';
  keywords: string[];
  fields: DemoField[];
  /** Row-major: each row lists values in the order of `columns`, which are the field codes in field order. */
  rows: { columns: string[]; values: unknown[][] };
}

export interface DemoApp {
  name: string;
  orgCode: string;
  description: string;
}

export interface DemoCity {
  name: string;
  /** 'YYYY-MM-DD': the "today" the data was generated for; no recorded event lies after it (expiry dates may). */
  referenceDate: string;
  jurisdictions: DemoJurisdiction[];
  orgs: DemoOrg[];
  users: DemoUser[];
  resources: DemoResource[];
  apps: DemoApp[];
}
