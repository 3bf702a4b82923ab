import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyRetention,
  auditPartitions,
  beijingMonth,
  beijingMonthStart,
  ensureAuditPartitions,
  partitionName,
  writeArchive,
} from '../../src/audit/archive.js';
import { verifyArchiveLines } from '../../src/audit/archive-model.js';
import { sealPending, verifyAudit } from '../../src/audit/seal.js';
import { appendAudit } from '../../src/audit/store.js';
import type { Tx } from '../../src/db/index.js';
import { createTestEnv, login, type TestEnv } from '../helpers.js';

/*
 * Issue 10 point 12, audit at province scale: audit_log is partitioned by month, partitions are created ahead by a job
 * and keep the append-only protections; sealed blocks are archived to a file that verifies offline; months past
 * retention leave the database only once archived, and the chain that remains still verifies (and still catches an
 * edit made behind the trigger with session_replication_role = replica).
 */

const now = new Date();
const monthsAgo = (n: number) => beijingMonth(now, -n);
/** an instant in the middle of the Beijing month n months ago */
const inMonth = (n: number) => new Date(beijingMonthStart(monthsAgo(n)).getTime() + 10 * 86400_000);

async function insertAt(db: Tx | TestEnv['ctx']['db'], at: Date, purpose: string): Promise<number> {
  const { rows } = await sql<{ id: string }>`INSERT INTO audit_log (occurred_at, action, decision, purpose)
    VALUES (${at}, 'data.get', 'allow', ${purpose}) RETURNING id`.execute(db);
  return Number(rows[0].id);
}

const behindTheTrigger = (env: TestEnv, fn: (trx: Tx) => Promise<unknown>) =>
  env.ctx.db.transaction().execute(async (trx) => {
    await sql`SET LOCAL session_replication_role = replica`.execute(trx);
    await fn(trx);
  });

function linesOf(text: string): string[] {
  return text.split('\n');
}

describe('audit at province scale: partitions', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ demo: { populationRows: 50, entityRows: 20 } });
  });
  afterAll(async () => env?.close());

  it('audit_log is partitioned by month: the current and next months exist, a job creates more ahead, a default catches strays', async () => {
    const { rows } = await sql<{ strategy: string }>`SELECT partstrat AS strategy FROM pg_partitioned_table
      WHERE partrelid = 'audit_log'::regclass`.execute(env.ctx.db);
    expect(rows).toEqual([{ strategy: 'r' }]);
    const names = (await auditPartitions(env.ctx.db)).map((p) => p.name);
    for (let i = 0; i <= 3; i++) expect(names).toContain(partitionName(beijingMonth(now, i)));
    expect(names).toContain('audit_log_default');
    // the job, as if run two years from now
    const later = new Date(now.getTime() + 730 * 86400_000);
    expect(names).not.toContain(partitionName(beijingMonth(later, 2)));
    const created = await ensureAuditPartitions(env.ctx.db, later);
    expect(created).toContain(partitionName(beijingMonth(later, 2)));
    expect(await ensureAuditPartitions(env.ctx.db, later)).toEqual([]);
    // a record lands in its month's partition; a stray far in the future in the default partition
    const id = await appendAudit(env.ctx.db, { action: 'data.get', decision: 'allow', purpose: 'part-now' });
    const stray = await insertAt(env.ctx.db, new Date('2199-01-01T00:00:00Z'), 'part-stray');
    const where = await sql<{
      id: string;
      t: string;
    }>`SELECT id::text, tableoid::regclass::text AS t FROM audit_log
      WHERE id IN (${id}, ${stray}) ORDER BY id`.execute(env.ctx.db);
    expect(where.rows.map((r) => r.t)).toEqual([partitionName(beijingMonth(now)), 'audit_log_default']);
    // ids come from one sequence across partitions
    expect(stray).toBeGreaterThan(id);
  });

  it('the append-only protections hold on every partition, including one the job created and the default one', async () => {
    const later = partitionName(beijingMonth(new Date(now.getTime() + 730 * 86400_000), 2));
    const at = beijingMonthStart(beijingMonth(new Date(now.getTime() + 730 * 86400_000), 2));
    const id = await insertAt(env.ctx.db, new Date(at.getTime() + 3600_000), 'part-future');
    for (const stmt of [
      sql`UPDATE audit_log SET purpose = 'x' WHERE id = ${id}`,
      sql`DELETE FROM audit_log WHERE id = ${id}`,
      sql`UPDATE ${sql.table(later)} SET purpose = 'x'`,
      sql`DELETE FROM ${sql.table(later)}`,
      sql`TRUNCATE ${sql.table(later)}`,
      sql`TRUNCATE audit_log_default`,
      sql`DELETE FROM audit_log_default`,
      sql`TRUNCATE audit_log`,
    ]) {
      const err = await stmt.execute(env.ctx.db).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/append-only/);
    }
    const still = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log WHERE id = ${id}`.execute(
      env.ctx.db,
    );
    expect(still.rows[0].n).toBe(1);
  });

  it('sealing and verification work across partitions; an edit behind the trigger (replica) in any partition is named', async () => {
    const old = monthsAgo(5);
    await sql`SELECT audit_log_add_month(${old}::date)`.execute(env.ctx.db);
    const oldId = await insertAt(env.ctx.db, inMonth(5), 'part-old');
    await sealPending(env.ctx);
    expect((await verifyAudit(env.ctx)).ok).toBe(true);
    await behindTheTrigger(env, (trx) =>
      sql`UPDATE audit_log SET purpose = 'edited' WHERE id = ${oldId}`.execute(trx),
    );
    const report = await verifyAudit(env.ctx);
    expect(report.findings).toContainEqual(
      expect.objectContaining({ kind: 'record_altered', recordId: oldId }),
    );
    await behindTheTrigger(env, (trx) =>
      sql`UPDATE audit_log SET purpose = 'part-old' WHERE id = ${oldId}`.execute(trx),
    );
    expect((await verifyAudit(env.ctx)).ok).toBe(true);
  });
});

describe('audit at province scale: archive and retention', () => {
  let env: TestEnv;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gs-archive-'));
  const ids: Record<string, number[]> = { m40: [], m39: [], recent: [] };
  beforeAll(async () => {
    env = await createTestEnv({ demo: false, config: { auditArchiveDir: dir, auditRetentionMonths: 36 } });
  });
  afterAll(async () => {
    await env?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('months past retention are dropped only once archived; the archive verifies offline; the remaining chain verifies', async () => {
    await sql`SELECT audit_log_add_month(${monthsAgo(40)}::date), audit_log_add_month(${monthsAgo(39)}::date)`.execute(
      env.ctx.db,
    );
    // nothing of today before the old records: the first block holds old records only
    const first = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log`.execute(env.ctx.db);
    expect(first.rows[0].n).toBe(0);
    await env.ctx.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 3; i++) ids.m40.push(await insertAt(trx, inMonth(40), `m40-${i}`));
    });
    await sealPending(env.ctx);
    // one transaction writing a record of month -39 and two of today: its block straddles the retention boundary
    await env.ctx.db.transaction().execute(async (trx) => {
      ids.m39.push(await insertAt(trx, inMonth(39), 'm39-0'));
      ids.recent.push(await appendAudit(trx, { action: 'data.get', decision: 'allow', purpose: 'recent-0' }));
      ids.recent.push(await appendAudit(trx, { action: 'data.get', decision: 'allow', purpose: 'recent-1' }));
    });
    await sealPending(env.ctx);
    await env.ctx.db.transaction().execute(async (trx) => {
      ids.recent.push(await appendAudit(trx, { action: 'data.get', decision: 'allow', purpose: 'recent-2' }));
    });
    await sealPending(env.ctx);
    const blocksBefore = await env.ctx.db.selectFrom('audit_block').select(['seq']).orderBy('seq').execute();
    expect(blocksBefore.length).toBe(3);

    // not archived: nothing is dropped
    let r = await applyRetention(env.ctx, now);
    expect(r.dropped).toEqual([]);
    expect(r.kept).toEqual([{ partition: partitionName(monthsAgo(40)), reason: 'not_archived' }]);

    // an unsealed record before the bound refuses the archive
    const late = await insertAt(env.ctx.db, inMonth(39), 'm39-late');
    const file = path.join(dir, 'a1.ndjson');
    const until = beijingMonthStart(monthsAgo(38));
    const unsealed = await writeArchive(env.ctx, {
      until,
      out: fs.createWriteStream(file),
      fileName: file,
      actor: null,
      via: 'cli',
    }).catch((e: { code?: string }) => e.code);
    expect(unsealed).toBe('AUDIT_ARCHIVE_UNSEALED');
    ids.m39.push(late);
    await sealPending(env.ctx);

    const a1 = await writeArchive(env.ctx, {
      until,
      out: fs.createWriteStream(file),
      fileName: file,
      actor: null,
      via: 'cli',
    });
    expect(a1).toMatchObject({ fromSeq: 1, toSeq: 4, blocks: 4 });
    const check = await verifyArchiveLines(linesOf(fs.readFileSync(file, 'utf8')));
    expect(check.problems).toEqual([]);
    expect(check.findings).toEqual([]);
    expect(check).toMatchObject({
      ok: true,
      blocks: 4,
      fromSeq: 1,
      toSeq: 4,
      lastBlockHash: a1.lastBlockHash,
    });
    expect(check.records).toBe(a1.records);

    r = await applyRetention(env.ctx, now);
    expect(r.dropped).toEqual([partitionName(monthsAgo(40)), partitionName(monthsAgo(39))]);
    // block 1 held month -40 only: it leaves the database; block 2 straddles (its month -39 record is archived away),
    // and block 4 (the late month -39 record) lies after blocks with records kept, so it stays with its record absent
    expect(r).toMatchObject({ anchorSeq: 1, blocksRemoved: 1, archivedIds: 2 });
    const names = (await auditPartitions(env.ctx.db)).map((p) => p.name);
    expect(names).not.toContain(partitionName(monthsAgo(40)));
    const left = await sql<{ id: string }>`SELECT id::text FROM audit_log WHERE id IN (${sql.join([
      ...ids.m40,
      ...ids.m39,
      ...ids.recent,
    ])}) ORDER BY id`.execute(env.ctx.db);
    expect(left.rows.map((x) => Number(x.id))).toEqual(ids.recent);
    const report = await verifyAudit(env.ctx);
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ ok: true, fromSeq: 2 });
    // the drop is audited
    const drop = await env.ctx.db
      .selectFrom('audit_log')
      .select(['detail'])
      .where('action', '=', 'audit.retentionDropped')
      .executeTakeFirstOrThrow();
    expect(drop.detail).toMatchObject({ anchorSeq: 1, partitions: r.dropped, archiveId: a1.id });
    // a block above the anchor cannot be removed, nor can the anchor record
    const refused = await sql`DELETE FROM audit_block WHERE seq = 2`.execute(env.ctx.db).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(refused).toMatch(/append-only/);
    const anchorEdit = await sql`UPDATE audit_retention SET anchor_seq = 3`.execute(env.ctx.db).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(anchorEdit).toMatch(/append-only/);
  });

  it('after retention: new records seal and verify; the next archive links to the first; edits behind the trigger are named', async () => {
    await appendAudit(env.ctx.db, { action: 'data.get', decision: 'allow', purpose: 'recent-3' });
    await sealPending(env.ctx);
    expect((await verifyAudit(env.ctx)).ok).toBe(true);
    const file = path.join(dir, 'a2.ndjson');
    const a2 = await writeArchive(env.ctx, {
      until: new Date(Date.now() + 1000),
      out: fs.createWriteStream(file),
      fileName: file,
      actor: null,
      via: 'cli',
    });
    const first = await env.ctx.db
      .selectFrom('audit_archive')
      .selectAll()
      .where('to_seq', '=', 4)
      .executeTakeFirstOrThrow();
    expect(a2.fromSeq).toBe(5);
    const check = await verifyArchiveLines(linesOf(fs.readFileSync(file, 'utf8')));
    expect(check.ok).toBe(true);
    expect(check.header?.previous).toEqual({ seq: 4, blockHash: first.last_block_hash });

    // a record of the straddling block that was NOT archived away, removed behind the trigger: named
    await behindTheTrigger(env, (trx) => sql`DELETE FROM audit_log WHERE id = ${ids.recent[0]}`.execute(trx));
    await behindTheTrigger(env, (trx) =>
      sql`UPDATE audit_log SET purpose = 'forged' WHERE id = ${ids.recent[2]}`.execute(trx),
    );
    const report = await verifyAudit(env.ctx);
    expect(report.ok).toBe(false);
    expect(report.findings).toContainEqual({ kind: 'record_removed', blockSeq: 2, recordId: ids.recent[0] });
    expect(report.findings).toContainEqual(
      expect.objectContaining({ kind: 'record_altered', recordId: ids.recent[2] }),
    );
  });

  it('tampering with an archive file is caught: an edited record, a removed block, a cut file, a forged key', async () => {
    const text = fs.readFileSync(path.join(dir, 'a1.ndjson'), 'utf8');
    const lines = linesOf(text).filter(Boolean);
    // an edited record (the purpose inside a record's canonical text)
    const edited = text.replace('m40-1', 'm40-X');
    expect(edited).not.toBe(text);
    let c = await verifyArchiveLines(linesOf(edited));
    expect(c.ok).toBe(false);
    expect(c.findings).toContainEqual(expect.objectContaining({ kind: 'record_altered', blockSeq: 1 }));
    // a block removed from the middle
    c = await verifyArchiveLines([lines[0], lines[1], lines[3], lines[4], lines[5]]);
    expect(c.ok).toBe(false);
    expect(c.findings.map((f) => f.kind)).toContain('block_missing');
    expect(c.problems.join(' ')).toMatch(/end line says/);
    // cut short
    c = await verifyArchiveLines(lines.slice(0, 3));
    expect(c.ok).toBe(false);
    expect(c.problems.join(' ')).toMatch(/cut short/);
    // a key not pinned by the auditor
    c = await verifyArchiveLines(lines, ['0000000000000000']);
    expect(c.ok).toBe(false);
    // the untouched file passes with its real key pinned
    const keyId = JSON.parse(lines[0]).keys[0].keyId as string;
    expect((await verifyArchiveLines(lines, [keyId])).ok).toBe(true);
  });
});

describe('audit at province scale: the auditor archives through the API', () => {
  let env: TestEnv;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gs-archive-api-'));
  beforeAll(async () => {
    env = await createTestEnv({
      demo: { populationRows: 50, entityRows: 20 },
      config: { auditArchiveDir: dir },
    });
  });
  afterAll(async () => {
    await env?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the auditor archives (audited) and downloads the file; the administrator may not; nothing new to archive is a 409', async () => {
    await sql`SELECT audit_log_add_month(${monthsAgo(40)}::date)`.execute(env.ctx.db);
    await insertAt(env.ctx.db, inMonth(40), 'api-m40');
    await sealPending(env.ctx);
    const until = beijingMonthStart(monthsAgo(38)).toISOString();
    const admin = await login(env.app, 'admin');
    const denied = await env.app.inject({
      method: 'POST',
      url: '/api/audit/archives',
      headers: { cookie: admin },
      payload: { until },
    });
    expect(denied.statusCode).toBe(403);
    const auditor = await login(env.app, 'auditor');
    const res = await env.app.inject({
      method: 'POST',
      url: '/api/audit/archives',
      headers: { cookie: auditor },
      payload: { until },
    });
    expect(res.statusCode, res.body).toBe(201);
    const a = res.json();
    expect(a.fromSeq).toBe(1);
    const again = await env.app.inject({
      method: 'POST',
      url: '/api/audit/archives',
      headers: { cookie: auditor },
      payload: { until },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'AUDIT_ARCHIVE_EMPTY', message: expect.any(String) });
    const list = await env.app.inject({ url: '/api/audit/archives', headers: { cookie: auditor } });
    expect(list.json().archives[0]).toMatchObject({ id: a.id, fileSha256: a.fileSha256, via: 'api' });
    expect(list.json().partitions.length).toBeGreaterThan(4);
    const file = await env.app.inject({
      url: `/api/audit/archives/${a.id}/file`,
      headers: { cookie: auditor },
    });
    expect(file.statusCode).toBe(200);
    const check = await verifyArchiveLines(linesOf(file.body));
    expect(check.ok).toBe(true);
    expect(check.records).toBe(a.records);
    const actions = await env.ctx.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', 'in', ['audit.archived', 'audit.archiveDownloaded'])
      .execute();
    expect(actions.map((x) => x.action).sort()).toEqual(['audit.archiveDownloaded', 'audit.archived']);
    // retention with the default 36 months drops month -40 (archived) and keeps the chain verifiable
    const r = await applyRetention(env.ctx, now);
    expect(r.dropped).toEqual([partitionName(monthsAgo(40))]);
    expect((await verifyAudit(env.ctx)).ok).toBe(true);
  });
});
