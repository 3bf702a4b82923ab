import type { ColumnType, Generated } from 'kysely';

type Ts = ColumnType<Date, Date | string | undefined, Date | string>;

/** Violations detected (issue 12 point 4, migration 030): one row per ongoing violation, tracked to closure. */
export interface ViolationTable {
  id: Generated<number>;
  type: string;
  /** what the violation is about, unique among live findings of a type: 'duty:3', 'resource:5', 'step:12:0', 'app:4', 'openApplication:9' */
  subject: string;
  org_id: number;
  resource_id: number | null;
  article: string;
  evidence: ColumnType<Record<string, unknown>, string, string>;
  status: Generated<'open' | 'acknowledged' | 'rectified' | 'closed'>;
  hits: Generated<number>;
  first_seen_at: Ts;
  last_seen_at: Ts;
  acknowledged_by: number | null;
  acknowledged_at: Ts | null;
  rectified_by: number | null;
  rectified_at: Ts | null;
  rectify_note: string | null;
  closed_by: number | null;
  closed_at: Ts | null;
  /** 'authority' (closed by the authority after rectification) or 'resolved' (the cause went away, found by the job) */
  close_reason: 'authority' | 'resolved' | null;
  close_note: string | null;
}

export interface SupervisionTables {
  violation: ViolationTable;
}
