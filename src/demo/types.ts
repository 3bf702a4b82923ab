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
}

export interface DemoResource {
  code: string;
  name: string;
  summary: string;
  providerOrgCode: string;
  sectionCode: string | null;
  classification: 'base' | 'theme' | 'department';
  topic: string;
  catalogLevel: 'city' | 'department' | 'section';
  format: 'table';
  shareType: 'unconditional' | 'conditional' | 'none';
  shareConditions: string | null;
  legalBasis: string | null;
  legalBasisKind: 'law' | 'adminRegulation' | 'localRegulation' | 'rule' | 'other' | null;
  shareMethod: 'api' | 'table' | 'file';
  openType: 'open' | 'onApplication' | 'closed';
  updateCycle: 'realtime' | 'daily' | 'weekly' | 'monthly' | 'quarterly' | 'yearly' | 'irregular';
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
