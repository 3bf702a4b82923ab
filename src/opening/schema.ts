/** Tables of the opening feature (migration 013), merged into the database type in src/db/schema.ts. */
export interface OpenUsageTable {
  resource_id: number;
  /** Beijing date of the accesses */
  day: string;
  views: number;
  previews: number;
  downloads: number;
  api_calls: number;
}

export interface OpeningTables {
  open_usage: OpenUsageTable;
}
