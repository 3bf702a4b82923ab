import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrator } from '../src/db/index.js';
import { createTestEnv, type TestEnv } from './helpers.js';

/*
 * The newest migrations' down paths, run for real on both databases: back to 045, then up again. 046 (record_key_ref),
 * 047 (per-batch export ledger: its down path first explodes the pending batches into data_export_row, so no delivery
 * evidence is lost), 049 (the redundant audit index, restored on the way down), 050 (the resource's index-key
 * version; refused once the lookup-index key was rotated) and 051 (the join-index flag of a base-library join key;
 * refused while a column carries a join index).
 */
let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ demo: false });
});
afterAll(async () => {
  await env?.close();
});

const exists = async (name: string) =>
  (await sql<{ r: string | null }>`SELECT to_regclass(${name})::text AS r`.execute(env.ctx.db)).rows[0].r !==
  null;

describe('migration down paths', () => {
  it('046, 047, 049, 050, 051, 052 and 053 go down to 045 and up again; a pending export batch survives the way down as ledger rows', async () => {
    const db = env.ctx.db;
    const mac = (b: number) => Buffer.alloc(16, b);
    // one served batch of two rows not yet exploded by the job export.ledger
    await sql`INSERT INTO data_export_batch (export_id, first_ordinal, row_count, tag_bytes, key_macs, row_macs, cell_tags)
      VALUES (424242, 1, 2, 1, ${Buffer.concat([mac(1), mac(2)])}, ${Buffer.concat([mac(3), mac(4)])}, ${Buffer.from([7, 8])})`.execute(
      db,
    );
    expect(await exists('public.audit_log_resource_idx')).toBe(false);

    const down = await migrator(db).migrateTo('045_resource_code_alias');
    expect(down.error).toBeUndefined();
    expect((down.results ?? []).map((r) => [r.migrationName, r.direction, r.status])).toEqual([
      ['053_grant_epsilon_budget', 'Down', 'Success'],
      ['052_aggregate_budget', 'Down', 'Success'],
      ['051_join_index', 'Down', 'Success'],
      ['050_index_key_version', 'Down', 'Success'],
      ['049_audit_resource_index', 'Down', 'Success'],
      ['047_export_ledger_batches', 'Down', 'Success'],
      ['046_record_key_ref', 'Down', 'Success'],
    ]);
    expect(await exists('public.data_export_batch')).toBe(false);
    expect(await exists('public.data_export_ledger')).toBe(false);
    expect(await exists('public.record_key_ref')).toBe(false);
    expect(await exists('public.aggregate_budget')).toBe(false);
    expect(await exists('public.audit_log_resource_idx')).toBe(true);
    const columnCount = async (table: string, column: string) =>
      (
        await sql<{ n: number }>`SELECT count(*)::int AS n FROM information_schema.columns
          WHERE table_name = ${table} AND column_name = ${column}`.execute(db)
      ).rows[0].n;
    const indexKeyCol = () => columnCount('resource', 'index_key');
    const epsilonCol = () => columnCount('share_grant', 'max_epsilon_per_day');
    expect(await indexKeyCol()).toBe(0);
    expect(await epsilonCol()).toBe(0);
    // the pending batch became two indexed ledger rows, digests cut at their place
    const rows = await sql<{
      ordinal: number;
      key_mac: Uint8Array;
      row_mac: Uint8Array;
      cell_tags: Uint8Array;
    }>`
      SELECT ordinal, key_mac, row_mac, cell_tags FROM data_export_row WHERE export_id = 424242 ORDER BY ordinal`.execute(
      db,
    );
    expect(
      rows.rows.map((r) => [
        r.ordinal,
        Buffer.from(r.key_mac).equals(mac(r.ordinal)),
        Buffer.from(r.row_mac).equals(mac(r.ordinal + 2)),
        [...Buffer.from(r.cell_tags)],
      ]),
    ).toEqual([
      [1, true, true, [7]],
      [2, true, true, [8]],
    ]);

    const up = await migrator(db).migrateToLatest();
    expect(up.error).toBeUndefined();
    expect((up.results ?? []).map((r) => [r.migrationName, r.direction, r.status])).toEqual([
      ['046_record_key_ref', 'Up', 'Success'],
      ['047_export_ledger_batches', 'Up', 'Success'],
      ['049_audit_resource_index', 'Up', 'Success'],
      ['050_index_key_version', 'Up', 'Success'],
      ['051_join_index', 'Up', 'Success'],
      ['052_aggregate_budget', 'Up', 'Success'],
      ['053_grant_epsilon_budget', 'Up', 'Success'],
    ]);
    expect(await indexKeyCol()).toBe(1);
    expect(await epsilonCol()).toBe(1);
    // while a column carries a join index (a clear source of a hash-keyed library), 051 refuses to go down
    // (a field row alone: this database holds no resource, so the foreign key is not checked for this one insert)
    await db.transaction().execute(async (trx) => {
      await sql`SET LOCAL session_replication_role = replica`.execute(trx);
      await sql`INSERT INTO resource_field (resource_id, ordinal, code, name, type, column_name, join_indexed)
        VALUES (987654, 1, 'joinTest', 'joinTest', 'string', 'c1', true)`.execute(trx);
    });
    const kept = await migrator(db).migrateTo('050_index_key_version');
    expect(String(kept.error)).toMatch(/join indexes are in use/);
    expect(
      (
        await sql<{ n: number }>`SELECT count(*)::int AS n FROM information_schema.columns
          WHERE table_name = 'resource_field' AND column_name = 'join_indexed'`.execute(db)
      ).rows[0].n,
    ).toBe(1);
    await sql`DELETE FROM resource_field WHERE resource_id = 987654`.execute(db);
    // once the lookup-index key was rotated (a version 2 exists), 050 refuses to go down: hashes are under version 2
    await sql`INSERT INTO field_key (scope_id, version, purpose, alg, wrapped, kek_id)
      VALUES (0, 2, 'index', 'sm3', 'x', 'x')`.execute(db);
    const refused = await migrator(db).migrateTo('049_audit_resource_index');
    expect(String(refused.error)).toMatch(/rotated/);
    expect(await indexKeyCol()).toBe(1);
    await sql`DELETE FROM field_key WHERE scope_id = 0 AND version = 2`.execute(db);
    expect(await exists('public.audit_log_resource_idx')).toBe(false);
    const ledger = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM data_export_ledger WHERE export_id = 424242`.execute(db);
    expect(ledger.rows[0].n).toBe(2);
  });
});
