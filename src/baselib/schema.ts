import type { ColumnType, Generated } from 'kysely';

/** Base and theme libraries and purchased data (issue 7 points 7–8, migration 027). */
export interface BaseLibraryTables {
  base_library: BaseLibraryTable;
  base_library_field: BaseLibraryFieldTable;
  base_library_source: BaseLibrarySourceTable;
  base_library_run: BaseLibraryRunTable;
  base_library_record: BaseLibraryRecordTable;
  base_library_conflict: BaseLibraryConflictTable;
  resource_purchase: ResourcePurchaseTable;
}

export interface BaseLibraryTable {
  id: Generated<number>;
  name: string;
  kind: 'base' | 'theme';
  key_kind: 'idNumber' | 'creditCode';
  class_id: number | null;
  description: Generated<string>;
  version: Generated<number>;
  created_by: number;
  created_at: Date;
  updated_by: number;
  updated_at: Date;
  last_run_id: number | null;
}

export interface BaseLibraryFieldTable {
  library_id: number;
  ordinal: number;
  code: string;
  name: string;
}

export interface BaseLibrarySourceTable {
  library_id: number;
  field_code: string;
  /** 0 = the authoritative source (一数一源), 1… the secondary sources in order */
  priority: number;
  resource_id: number;
  source_field: string;
  key_field: string;
}

export interface BaseLibraryRunTable {
  id: Generated<number>;
  library_id: number;
  library_version: number;
  status: Generated<'queued' | 'running' | 'done' | 'failed'>;
  requested_by: number | null;
  requested_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  steps_total: Generated<number>;
  steps_done: Generated<number>;
  records: Generated<number>;
  conflicts_open: Generated<number>;
  conflicts_new: Generated<number>;
  conflicts_cleared: Generated<number>;
  error: string | null;
}

export interface BaseLibraryRecordTable {
  library_id: number;
  key: string;
  seq: Generated<number>;
  vals: ColumnType<unknown, string, string>;
  srcs: ColumnType<unknown, string, string>;
  run_id: number;
}

export interface BaseLibraryConflictTable {
  id: Generated<number>;
  library_id: number;
  key: string;
  field_code: string;
  auth_resource_id: number;
  auth_value: string | null;
  sec_resource_id: number;
  sec_value: string | null;
  status: Generated<'open' | 'resolved' | 'cleared'>;
  first_run_id: number;
  last_run_id: number;
  found_at: Date;
  resolution: 'authoritative' | 'secondary' | 'neither' | null;
  note: string | null;
  resolved_by: number | null;
  resolved_at: Date | null;
}

export interface ResourcePurchaseTable {
  resource_id: number;
  supplier: string;
  contract_ref: string;
  period_from: ColumnType<string, string, string>;
  period_to: ColumnType<string, string, string>;
  declared_by: number;
  declared_at: Date;
  approval: Generated<'pending' | 'approved' | 'refused'>;
  approval_ref: string | null;
  approval_note: string | null;
  decided_by: number | null;
  decided_at: Date | null;
}
