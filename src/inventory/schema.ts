import type { ColumnType, Generated } from 'kysely';

/** Table types of migration 007 (the inventories); src/db/schema.ts's DB extends them. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface NegativeListEntryTable {
  id: Generated<number>;
  resource_id: number;
  org_id: number;
  share_type: 'conditional' | 'none';
  basis_text: string;
  basis_kind: 'law' | 'adminRegulation' | 'localRegulation' | 'rule' | 'other';
  reason: string;
  status: 'proposed' | 'approved' | 'rejected' | 'filed' | 'withdrawn';
  mode: 'approves' | 'filed';
  article: string;
  profile_id: string;
  proposed_by: number;
  proposed_at: Generated<Date>;
  decided_by: number | null;
  decided_at: Timestamp | null;
  comment: string | null;
}

export interface UpdateDutyTable {
  id: Generated<number>;
  org_id: number;
  change_kind: 'legal' | 'functional';
  what_changed: string;
  basis: string;
  change_date: string;
  due_date: string | null;
  deadline_amount: number | null;
  deadline_unit: string | null;
  article: string | null;
  status: Generated<'open' | 'done'>;
  recorded_by: number;
  recorded_at: Generated<Date>;
  done_by: number | null;
  done_at: Timestamp | null;
  done_on: string | null;
  done_note: string | null;
}

export interface UpdateDutyResourceTable {
  duty_id: number;
  resource_id: number;
}

export interface InfoSystemTable {
  id: Generated<number>;
  name: string;
  owner_org_id: number;
  fiscal: boolean;
  status: 'planned' | 'built' | 'accepted';
  description: Generated<string>;
  created_by: number;
  created_at: Generated<Date>;
  updated_at: Timestamp;
}

export interface InfoSystemResourceTable {
  system_id: number;
  resource_id: number;
  mounted_by: number;
  mounted_at: Generated<Date>;
}

export interface ResponsibilityItemTable {
  id: Generated<number>;
  org_id: number;
  name: string;
  description: Generated<string>;
  basis: Generated<string>;
  resource_id: number | null;
  created_by: number;
  created_at: Generated<Date>;
}

export interface DemandItemTable {
  id: Generated<number>;
  org_id: number;
  name: string;
  purpose: string;
  basis: Generated<string>;
  wanted_fields: string[];
  created_by: number;
  created_at: Generated<Date>;
}

export interface DemandMatchTable {
  demand_id: number;
  resource_id: number;
  score: number;
  matched_terms: string[];
  status: Generated<'proposed' | 'confirmed' | 'rejected'>;
  decided_by: number | null;
  decided_at: Timestamp | null;
}

export interface OpenListEntryTable {
  id: Generated<number>;
  resource_id: number;
  org_id: number;
  open_type: 'open' | 'onApplication';
  conditions: string | null;
  status: 'proposed' | 'approved' | 'rejected' | 'withdrawn';
  proposed_by: number;
  proposed_at: Generated<Date>;
  decided_by: number | null;
  decided_at: Timestamp | null;
  comment: string | null;
}

export interface InventoryTables {
  negative_list_entry: NegativeListEntryTable;
  update_duty: UpdateDutyTable;
  update_duty_resource: UpdateDutyResourceTable;
  info_system: InfoSystemTable;
  info_system_resource: InfoSystemResourceTable;
  responsibility_item: ResponsibilityItemTable;
  demand_item: DemandItemTable;
  demand_match: DemandMatchTable;
  open_list_entry: OpenListEntryTable;
}
