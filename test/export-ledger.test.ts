import type { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse/sync';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportRecords, keyMac } from '../src/dataapi/export.js';
import { exportWorkerStats } from '../src/dataapi/export-pool.js';
import { explodeLedgerBatches, LEDGER_EXPLODE_JOB } from '../src/dataapi/ledger.js';
import { clearRows, codeOf, createTestEnv, grantedApp, login, type TestEnv } from './helpers.js';

/*
 * Issue 9 point 5 (bulk export speed) with DG Art 28/33 (every delivered row traceable to its recipient): the export
 * records its leak-tracing ledger as one row per served batch, in the batch's transaction (migration 047); the ledger
 * job explodes those rows into the per-digest indexed ledger off the export's path. Leak tracing must name the
 * recipient before and after that job, and a batch whose ledger write fails must serve nothing.
 */
describe('export ledger: per batch on the export path, exploded by the ledger job', () => {
  let env: TestEnv;
  let POPULATION = '';
  let table = '';
  let people: Awaited<ReturnType<typeof clearRows>>;
  let g: { apiKey: string; purposeId: string; grantId: number; appId: number };
  let auditor = '';
  const FIELDS = ['idNumber', 'name', 'gender', 'birthDate', 'countyCode'];
  const BATCH = 16;
  let exportId = 0;
  let lines: string[] = [];
  let before: { byKey: unknown; byLine: unknown; byFile: unknown } | null = null;

  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 70, entityRows: 10 } });
    POPULATION = await codeOf(env, '人口基础信息');
    const r = await env.ctx.db
      .selectFrom('resource')
      .select('data_table')
      .where('code', '=', POPULATION)
      .executeTakeFirstOrThrow();
    table = r.data_table!;
    people = await clearRows(env, table);
    g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: FIELDS,
      appName: '批次台账导出应用',
      quota: { export: true, exportRowsPerDay: 1_000_000 },
    });
    auditor = await login(env.app, 'auditor');
  }, 400_000);
  afterAll(async () => env?.close());

  async function drain(stream: Readable) {
    let text = '';
    try {
      for await (const chunk of stream)
        text += Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
      return { text, error: null };
    } catch (e) {
      return { text, error: e as Error };
    }
  }
  const start = (batch = BATCH) =>
    exportRecords(
      env.ctx,
      { apiKey: g.apiKey, purpose: g.purposeId, clientIp: null, format: 'csv', encoding: 'utf-8' },
      POPULATION,
      batch,
    );
  const batchesOf = (id: number) =>
    env.ctx.db
      .selectFrom('data_export_batch')
      .select([
        'first_ordinal',
        'row_count',
        'exploded_at',
        'created_at',
        (eb) => eb.fn<number | null>('length', ['key_macs']).as('key_bytes'),
      ])
      .where('export_id', '=', id)
      .orderBy('first_ordinal')
      .execute();
  const indexedRows = (id: number) =>
    env.ctx.db
      .selectFrom('data_export_row')
      .select(['ordinal', (eb) => eb.fn<string>('encode', ['key_mac', eb.val('hex')]).as('k')])
      .where('export_id', '=', id)
      .orderBy('ordinal')
      .execute();
  /** The three ways an auditor traces a leak: a record key, a leaked CSV line, a leaked file; this export's answer. */
  async function traces() {
    const post = (url: string, payload: Record<string, unknown> | Buffer) =>
      env.app.inject({
        method: 'POST',
        url,
        headers: Buffer.isBuffer(payload)
          ? { cookie: auditor, 'content-type': 'application/octet-stream' }
          : { cookie: auditor },
        payload,
      });
    const byKey = await post('/api/audit/leak-trace', { key: people[40].key });
    expect(byKey.statusCode, byKey.body).toBe(200);
    const byLine = await post('/api/audit/leak-trace', { csvLine: lines[41] });
    expect(byLine.statusCode, byLine.body).toBe(200);
    // a partial file: the header and 30 rows spread over three batches, reversed
    const file = Buffer.from(`${[lines[0], ...lines.slice(10, 40).reverse()].join('\r\n')}\r\n`);
    const byFile = await post('/api/audit/leak-trace/file', file);
    expect(byFile.statusCode, byFile.body).toBe(200);
    const mine = (items: { exportId: number }[]) => items.find((i) => i.exportId === exportId);
    return {
      byKey: mine(byKey.json().items),
      byLine: mine(byLine.json().items),
      byFile: { recipient: byFile.json().recipients[0], top: byFile.json().exports[0] },
    };
  }

  it('(a) a fresh export is traced to its recipient from its batch rows, before the ledger job has run', async () => {
    const x = await start();
    const { text, error } = await drain(x.stream);
    expect(error).toBeNull();
    exportId = x.exportId;
    lines = text
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    expect(lines).toHaveLength(people.length + 1);
    // the export path wrote one ledger row per batch and nothing in the indexed ledger
    const batches = await batchesOf(exportId);
    expect(batches.map((b) => [b.first_ordinal, b.row_count])).toEqual(
      Array.from({ length: Math.ceil(people.length / BATCH) }, (_, i) => [
        i * BATCH + 1,
        Math.min(BATCH, people.length - i * BATCH),
      ]),
    );
    for (const b of batches) {
      expect(b.exploded_at).toBeNull();
      expect(Number(b.key_bytes)).toBe(b.row_count * 16);
    }
    expect(await indexedRows(exportId)).toEqual([]);
    const t = await traces();
    expect(t.byKey).toMatchObject({
      app: { id: g.appId, name: '批次台账导出应用' },
      matchedBy: { key: 1, row: 0 },
    });
    expect(t.byLine).toMatchObject({
      app: { id: g.appId },
      grantId: g.grantId,
      matchedBy: { key: 0, row: 1 },
    });
    expect(t.byFile.recipient.app.id).toBe(g.appId);
    expect(t.byFile.top).toMatchObject({ exportId, rowsExplained: 30, share: 1 });
    expect(t.byFile.top.watermark.verdict).toBeDefined();
    before = t;
  });

  it('(b) the ledger job explodes the batches: the same answers now come from the indexed rows, the batches marked exploded', async () => {
    expect(before).not.toBeNull();
    const job = await env.ctx.db
      .selectFrom('job')
      .select(['status', 'every_seconds'])
      .where('kind', '=', LEDGER_EXPLODE_JOB)
      .executeTakeFirstOrThrow();
    expect(job).toMatchObject({ status: 'queued', every_seconds: 60 });
    // a run bounded below what waits says it is behind (the job then asks to run again at once); it took the oldest
    const one = await explodeLedgerBatches(env.ctx.db, { maxBatches: 1 });
    expect(one).toEqual({ batches: 1, rows: BATCH, behind: true });
    // the batches are written by several statements in flight at once, so the oldest is not always the first ordinal
    const afterOne = await batchesOf(exportId);
    const oldest = afterOne.reduce((a, b) =>
      new Date(b.created_at).getTime() < new Date(a.created_at).getTime() ? b : a,
    );
    expect(afterOne.filter((b) => b.exploded_at !== null).map((b) => b.first_ordinal)).toEqual([
      oldest.first_ordinal,
    ]);
    await env.ctx.jobs.runDue();
    const batches = await batchesOf(exportId);
    expect(batches.length).toBe(Math.ceil(people.length / BATCH));
    for (const b of batches) {
      expect(b.exploded_at).not.toBeNull();
      expect(b.key_bytes).toBeNull(); // the byte strings live on in data_export_row only
    }
    const rows = await indexedRows(exportId);
    expect(rows.map((r) => r.ordinal)).toEqual(people.map((_, i) => i + 1));
    expect(rows.map((r) => r.k)).toEqual(people.map((p) => keyMac(env.ctx.secret, p._key)));
    // nothing pending anywhere, and the ledger's view counts each row once
    const pending = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM data_export_batch WHERE exploded_at IS NULL`.execute(env.ctx.db);
    expect(Number(pending.rows[0].n)).toBe(0);
    const viewed = await env.ctx.db
      .selectFrom('data_export_ledger')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('export_id', '=', exportId)
      .executeTakeFirstOrThrow();
    expect(Number(viewed.n)).toBe(people.length);
    expect(await traces()).toEqual(before);
  });

  it('(c) a batch whose ledger write fails rolls back: no batch row, none of its rows served, the count and status say so', async () => {
    const x = await start();
    // the third batch's ledger write fails inside its transaction (a constraint, a crash: the same rollback)
    await sql`
      CREATE FUNCTION test_fail_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.export_id = ${sql.lit(x.exportId)} AND NEW.first_ordinal > ${sql.lit(2 * BATCH)} THEN
          RAISE EXCEPTION 'injected ledger failure';
        END IF;
        RETURN NEW;
      END $$`.execute(env.ctx.db);
    await sql`CREATE TRIGGER test_fail_ledger BEFORE INSERT ON data_export_batch
      FOR EACH ROW EXECUTE FUNCTION test_fail_ledger()`.execute(env.ctx.db);
    try {
      const { text, error } = await drain(x.stream);
      expect(error?.message ?? '').toMatch(/injected ledger failure/);
      const served = text
        .replace(/^\uFEFF/, '')
        .trimEnd()
        .split('\r\n')
        .slice(1);
      const batches = await batchesOf(x.exportId);
      expect(batches.map((b) => b.first_ordinal)).toEqual([1, BATCH + 1]);
      // nothing of the failed batch was served: what arrived is a prefix of the first two batches (the ledger's), the
      // same values as the first export's rows (the quoting, the watermark, is each export's own)
      const cells = (l: string) => l.replaceAll('"', '');
      expect(served.length).toBeLessThanOrEqual(2 * BATCH);
      expect(served.map(cells)).toEqual(lines.slice(1, served.length + 1).map(cells));
      const e = await env.ctx.db
        .selectFrom('data_export')
        .select(['row_count', 'status'])
        .where('id', '=', x.exportId)
        .executeTakeFirstOrThrow();
      expect({ rows: Number(e.row_count), status: e.status }).toEqual({ rows: 2 * BATCH, status: 'failed' });
    } finally {
      await sql`DROP TRIGGER test_fail_ledger ON data_export_batch`.execute(env.ctx.db);
      await sql`DROP FUNCTION test_fail_ledger()`.execute(env.ctx.db);
    }
  });
  /** An export with `workers` worker threads (config EXPORT_WORKERS): its records, its ledger bytes, what workers did. */
  async function exportWith(workers: number) {
    const cfg = env.ctx.config.dataApi;
    const saved = cfg.exportWorkers;
    cfg.exportWorkers = workers;
    const was = { ...exportWorkerStats };
    try {
      const x = await start();
      const { text, error } = await drain(x.stream);
      const ledger = await sql<{ o: number; k: string; r: string; t: string }>`
        SELECT first_ordinal AS o, encode(key_macs, 'hex') AS k, encode(row_macs, 'hex') AS r, encode(cell_tags, 'hex') AS t
        FROM data_export_batch WHERE export_id = ${x.exportId} ORDER BY first_ordinal`.execute(env.ctx.db);
      return {
        text,
        error,
        rows: error ? [] : (parseCsv(text, { bom: true }) as string[][]),
        ledger: ledger.rows,
        decrypted: exportWorkerStats.decryptedValues - was.decryptedValues,
        digested: exportWorkerStats.digestedRows - was.digestedRows,
      };
    } finally {
      cfg.exportWorkers = saved;
    }
  }

  it('(d) with worker threads the values are opened and the digests computed there: the same records and ledger bytes', async () => {
    const own = await exportWith(0);
    const pooled = await exportWith(2);
    expect(own.error).toBeNull();
    expect(pooled.error).toBeNull();
    // the workers did the work (the ID number is stored encrypted: one value a row), the export's thread none of it
    expect([own.decrypted, own.digested]).toEqual([0, 0]);
    expect(pooled.decrypted).toBe(people.length);
    expect(pooled.digested).toBe(people.length);
    expect(own.rows).toHaveLength(people.length + 1);
    expect(pooled.rows).toEqual(own.rows); // the cells (the CSV quoting is the export's own watermark)
    expect(pooled.ledger).toHaveLength(Math.ceil(people.length / BATCH));
    expect(pooled.ledger).toEqual(own.ledger);
    expect(pooled.ledger[0].k.slice(0, 32)).toBe(keyMac(env.ctx.secret, people[0]._key));
    // ID numbers leave masked, as without workers
    const idAt = own.rows[0].indexOf('idNumber');
    expect(pooled.rows[1][idAt]).not.toBe(people[0].idNumber);
    expect(pooled.text).not.toContain(people[0].idNumber);
  });

  it('(e) a tampered stored value fails the export closed with workers too: FIELD_INTEGRITY_FAILED, audited, not served', async () => {
    const f = await env.ctx.db
      .selectFrom('resource_field')
      .select(['ordinal', 'resource_id'])
      .where('code', '=', 'idNumber')
      .where('resource_id', '=', Number(/^ds\.r_(\d+)$/.exec(table)![1]))
      .executeTakeFirstOrThrow();
    const col = `c${f.ordinal}`;
    const victim = people[40];
    const { rows } = await sql
      .raw<{ v: string }>(`SELECT ${col} AS v FROM ${table} WHERE _key = '${victim._key}'`)
      .execute(env.ctx.db);
    const v = rows[0].v;
    expect(v.startsWith('ENC1.')).toBe(true);
    const flipped = v.slice(0, -3) + (v.at(-3) === 'A' ? 'B' : 'A') + v.slice(-2);
    const tampers = () =>
      env.ctx.db
        .selectFrom('audit_log')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('action', '=', 'key.tamper')
        .executeTakeFirstOrThrow()
        .then((r) => Number(r.n));
    const before = await tampers();
    await sql
      .raw(`UPDATE ${table} SET ${col} = '${flipped}' WHERE _key = '${victim._key}'`)
      .execute(env.ctx.db);
    try {
      const x = await exportWith(2);
      expect((x.error as { code?: string } | null)?.code).toBe('FIELD_INTEGRITY_FAILED');
      expect(x.text).not.toContain(victim.idNumber);
      // the batch holding the value wrote no ledger row (the two before it did; the one after may have been in flight)
      expect(x.ledger.map((l) => Number(l.o)).slice(0, 2)).toEqual([1, BATCH + 1]);
      expect(x.ledger.map((l) => Number(l.o))).not.toContain(2 * BATCH + 1);
      await env.ctx.fieldKeys.settle();
      await expect.poll(tampers).toBe(before + 1);
    } finally {
      await sql.raw(`UPDATE ${table} SET ${col} = '${v}' WHERE _key = '${victim._key}'`).execute(env.ctx.db);
    }
  });
});
