import type { ColumnType, Generated } from 'kysely';

type Numeric = ColumnType<string, number | string, number | string>;

/** Quality rules, runs and failing records (issue 12 point 2, migration 019); merged into DB in src/db/schema.ts. */
export interface QualityCheckTables {
  quality_rule: {
    id: Generated<number>;
    resource_id: number;
    kind: string;
    field_code: Generated<string>;
    params: ColumnType<unknown, string, string>;
    threshold: Numeric;
    weight: Numeric;
    enabled: Generated<boolean>;
    origin: 'default' | 'custom';
    updated_by: number | null;
    updated_at: Date;
  };
  quality_run: {
    id: Generated<number>;
    resource_id: number;
    trigger: 'import' | 'schedule' | 'manual';
    batch_id: number | null;
    requested_by: number | null;
    started_at: Date;
    finished_at: Date;
    row_count: ColumnType<string, number, number>;
    score: Numeric;
    rules_failed: number;
  };
  quality_run_rule: {
    id: Generated<number>;
    run_id: number;
    rule_id: number;
    kind: string;
    field_code: string;
    checked: ColumnType<string, number, number>;
    failing: ColumnType<string, number, number>;
    score: Numeric;
    threshold: Numeric;
    weight: Numeric;
    passed: boolean;
    detail: ColumnType<unknown, string, string>;
  };
  quality_run_failure: {
    run_rule_id: number;
    seq: ColumnType<string, number | string, number | string>;
    key_masked: string;
  };
}
