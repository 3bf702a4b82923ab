/**
 * Audit at province scale (issue 10 point 12): monthly partitions created ahead, archives of sealed blocks, and the
 * retention that drops archived months from the database without breaking the verification of what remains.
 * Migration 041 describes the tables; docs/AUDIT.md the design and its limits.
 *
 * Duties (GB/T 39477, docs/SECURITY.md): archiving is reading the audit log, so it is the auditor's (console/API) or the
 * host operator's (CLI, which runs with the database's credentials anyway); nobody drops audit by hand — the retention
 * job drops a month only when it is older than AUDIT_RETENTION_MONTHS *and* an archive holds every record of it, and
 * it audits the drop. The platform administrator has no part in either.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { sql } from 'kysely';
import type { Actor, AppContext } from '../context.js';
import type { Db } from '../db/index.js';
import { AppError } from '../shared/errors.js';
import { ARCHIVE_FORMAT, type ArchiveEnd, type ArchiveHeader } from './archive-model.js';
import { canonicalTexts } from './canonical.js';
import { blockBefore, blockRows, publicKeys, recordIdsInRange, recordReader, toSealed } from './seal.js';
import { appendAudit } from './store.js';

export const PARTITIONS_JOB = 'audit.partitions';
export const RETENTION_JOB = 'audit.retention';

/** Months ahead of the current one whose partitions exist at all times. */
export const MONTHS_AHEAD = 3;

const BEIJING_MS = 8 * 3600_000;

/** The first day (yyyy-mm-01) of the Beijing calendar month `offset` months from the one holding `at`. */
export function beijingMonth(at: Date, offset = 0): string {
  const b = new Date(at.getTime() + BEIJING_MS);
  const d = new Date(Date.UTC(b.getUTCFullYear(), b.getUTCMonth() + offset, 1));
  return d.toISOString().slice(0, 10);
}

/** The instant a Beijing month (yyyy-mm-01) begins. */
export function beijingMonthStart(month: string): Date {
  return new Date(Date.parse(`${month}T00:00:00Z`) - BEIJING_MS);
}

/** Creates the partitions of the current month and the next MONTHS_AHEAD ones where missing; the names created. */
export async function ensureAuditPartitions(db: Db, now: Date): Promise<string[]> {
  const created: string[] = [];
  for (let i = -1; i <= MONTHS_AHEAD; i++) {
    const m = beijingMonth(now, i);
    const { rows } = await sql<{ ok: boolean }>`SELECT audit_log_add_month(${m}::date) AS ok`.execute(db);
    if (rows[0].ok) created.push(partitionName(m));
  }
  return created;
}

export function partitionName(month: string): string {
  return `audit_log_y${month.slice(0, 4)}m${month.slice(5, 7)}`;
}

export interface AuditPartition {
  name: string;
  /** yyyy-mm-01 of its Beijing month; null for the default partition */
  month: string | null;
  from: Date | null;
  to: Date | null;
}

/** The partitions of audit_log, oldest month first, the default one last. */
export async function auditPartitions(db: Db): Promise<AuditPartition[]> {
  const { rows } = await sql<{ name: string }>`SELECT c.relname AS name FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_log'::regclass ORDER BY c.relname`.execute(
    db,
  );
  const out: AuditPartition[] = [];
  let dflt: AuditPartition | null = null;
  for (const r of rows) {
    const m = /^audit_log_y(\d{4})m(\d{2})$/.exec(r.name);
    if (!m) {
      dflt = { name: r.name, month: null, from: null, to: null };
      continue;
    }
    const month = `${m[1]}-${m[2]}-01`;
    out.push({
      name: r.name,
      month,
      from: beijingMonthStart(month),
      to: beijingMonthStart(beijingMonth(beijingMonthStart(month), 1)),
    });
  }
  return dflt ? [...out, dflt] : out;
}

export interface ArchiveSummary {
  id: number;
  until: Date;
  fromSeq: number;
  toSeq: number;
  blocks: number;
  records: number;
  lastBlockHash: string;
  fileName: string;
  fileSha256: string;
  fileBytes: number;
}

/** Writes `text` to `out`, waiting when the stream asks to (a file of millions of records is never held in memory). */
function writeLine(out: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = out.write(text, (err) => (err ? reject(err) : undefined));
    if (ok) resolve();
    else out.once('drain', resolve);
  });
}

/**
 * Archives every sealed block not archived yet up to the one holding the last record that occurred before `until`
 * (blocks are transaction ranges, so the last block may also hold a few later records: they are archived too). Every
 * record before `until` must be sealed (else AUDIT_ARCHIVE_UNSEALED: seal first). Writes the file to `out`, then
 * records it (audit_archive) and audits the act in one transaction.
 */
export async function writeArchive(
  ctx: AppContext,
  opts: {
    until: Date;
    out: Writable;
    /** the name recorded for the file, or how to name it from its block range */
    fileName: string | ((fromSeq: number, toSeq: number) => string);
    actor: Actor | null;
    via: 'cli' | 'api';
  },
): Promise<ArchiveSummary> {
  const db = ctx.db;
  const lastArchive = await db
    .selectFrom('audit_archive')
    .select(['to_seq', 'to_xid', 'last_block_hash'])
    .orderBy('to_seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const fromSeq = lastArchive ? Number(lastArchive.to_seq) + 1 : 1;
  const fromXid = lastArchive ? Number(lastArchive.to_xid) : 0;
  const lastBlock = await db
    .selectFrom('audit_block')
    .select(['seq', 'to_xid'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const sealedTo = lastBlock ? Number(lastBlock.to_xid) : 0;
  const { rows: unsealed } = await sql<{ id: string }>`SELECT id::text FROM audit_log
    WHERE occurred_at < ${opts.until} AND seal_xid >= ${String(sealedTo)}::xid8 LIMIT 1`.execute(db);
  if (unsealed.length)
    throw new AppError('AUDIT_ARCHIVE_UNSEALED', [
      {
        field: 'until',
        reason: `record ${unsealed[0].id} before ${opts.until.toISOString()} is not sealed yet; seal first (govshare audit seal)`,
        reasonZh: `截止时间前的审计记录 ${unsealed[0].id} 尚未封存，请先封存`,
      },
    ]);
  const { rows: mx } = await sql<{ x: string | null }>`SELECT max(seal_xid)::text AS x FROM audit_log
    WHERE occurred_at < ${opts.until} AND seal_xid >= ${String(fromXid)}::xid8`.execute(db);
  const maxXid = mx[0].x;
  const toBlock =
    maxXid == null
      ? undefined
      : await db
          .selectFrom('audit_block')
          .select('seq')
          .where('from_xid', '<=', Number(maxXid))
          .where('to_xid', '>', Number(maxXid))
          .executeTakeFirst();
  if (!toBlock || Number(toBlock.seq) < fromSeq)
    throw new AppError('AUDIT_ARCHIVE_EMPTY', [
      {
        field: 'until',
        reason: `every sealed record before ${opts.until.toISOString()} is already archived (archives end at block ${fromSeq - 1})`,
        reasonZh: `该时间之前的审计记录均已归档（已归档至第 ${fromSeq - 1} 块）`,
      },
    ]);
  const toSeq = Number(toBlock.seq);
  const fileName = typeof opts.fileName === 'string' ? opts.fileName : opts.fileName(fromSeq, toSeq);
  const prev = await blockBefore(db, fromSeq);
  const keys = await publicKeys(db);
  const sha = createHash('sha256');
  let bytes = 0;
  const emit = async (obj: unknown) => {
    const text = `${JSON.stringify(obj)}\n`;
    sha.update(text);
    bytes += Buffer.byteLength(text);
    await writeLine(opts.out, text);
  };
  const header: ArchiveHeader = {
    format: ARCHIVE_FORMAT,
    createdAt: new Date().toISOString(),
    until: opts.until.toISOString(),
    fromSeq,
    previous: prev ? { seq: prev.seq, blockHash: prev.block_hash } : null,
    keys: [...keys].map(([keyId, publicKeyPem]) => ({ keyId, publicKeyPem })),
  };
  await emit(header);
  let blocks = 0;
  let records = 0;
  let lastHash = prev?.block_hash ?? '';
  let toXid = fromXid;
  const reader = recordReader(ctx, 1);
  try {
    for (let s = fromSeq; s <= toSeq; s += 100) {
      const batch = (await blockRows(db, s, Math.min(toSeq, s + 99))).map(toSealed);
      for (const b of batch) {
        const recs = canonicalTexts(await reader.read(b.fromXid, b.toXid));
        await emit({
          block: {
            ...b,
            leafHashes: b.leafHashes.map((l) => l.toString('hex')),
            records: [...recs].map(([id, canonical]) => ({ id, canonical })).sort((x, y) => x.id - y.id),
          },
        });
        blocks++;
        records += recs.size;
        lastHash = b.blockHash;
        toXid = b.toXid;
      }
    }
  } finally {
    await reader.close();
  }
  const end: ArchiveEnd = { toSeq, blocks, records, lastBlockHash: lastHash };
  await emit({ end });
  await new Promise<void>((resolve, reject) => {
    opts.out.once('error', reject);
    opts.out.end(resolve);
  });
  const fileSha256 = sha.digest('hex');
  const id = await db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('audit_archive')
      .values({
        until_at: opts.until,
        from_seq: fromSeq,
        to_seq: toSeq,
        to_xid: toXid,
        last_block_hash: lastHash,
        block_count: blocks,
        record_count: records,
        file_name: fileName.slice(0, 300),
        file_sha256: fileSha256,
        file_bytes: bytes,
        created_by: opts.actor?.id ?? null,
        via: opts.via,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actorUserId: opts.actor?.id ?? null,
      actorOrgId: opts.actor?.orgId ?? null,
      action: 'audit.archived',
      decision: 'allow',
      targetType: 'audit_archive',
      targetId: row.id,
      clientIp: opts.actor?.clientIp ?? null,
      detail: { via: opts.via, until: opts.until.toISOString(), fromSeq, toSeq, blocks, records, fileSha256 },
    });
    return row.id;
  });
  return {
    id,
    until: opts.until,
    fromSeq,
    toSeq,
    blocks,
    records,
    lastBlockHash: lastHash,
    fileName,
    fileSha256,
    fileBytes: bytes,
  };
}

export type ArchiveChain = 'linked' | 'gap' | 'mismatch';

/**
 * The archives with what the auditor's page shows of each: the period it covers (from the archive before it, or from
 * the start), and its place in the chain — `linked` (it starts at the block after the previous archive and its last
 * block's hash is the one the database or the retention anchor still holds), `gap` (blocks between it and the previous
 * archive are in no archive), `mismatch` (the database's block of that sequence now has another hash). `inDatabase`:
 * its blocks are still in the database (not yet dropped by retention).
 */
export async function archivesWithChain(db: Db) {
  const list = await listArchives(db);
  const seqs = list.map((a) => a.toSeq);
  const blocks = seqs.length
    ? await db.selectFrom('audit_block').select(['seq', 'block_hash']).where('seq', 'in', seqs).execute()
    : [];
  const hashOf = new Map(blocks.map((b) => [Number(b.seq), b.block_hash]));
  const anchors = await db.selectFrom('audit_retention').select(['anchor_seq', 'anchor_hash']).execute();
  for (const r of anchors)
    if (!hashOf.has(Number(r.anchor_seq))) hashOf.set(Number(r.anchor_seq), r.anchor_hash);
  const anchorSeq = anchors.reduce((m, r) => Math.max(m, Number(r.anchor_seq)), 0);
  return list.map((a, i) => {
    const prev = list[i + 1]; // ordered newest first
    const known = hashOf.get(a.toSeq);
    const chain: ArchiveChain =
      a.fromSeq !== (prev ? prev.toSeq + 1 : 1)
        ? 'gap'
        : known !== undefined && known !== a.lastBlockHash
          ? 'mismatch'
          : 'linked';
    return { ...a, periodFrom: prev?.until ?? null, chain, inDatabase: a.toSeq > anchorSeq };
  });
}

/** Archives into AUDIT_ARCHIVE_DIR on the server (the auditor's API); the file is named after its block range. */
export async function archiveToDir(
  ctx: AppContext,
  until: Date,
  actor: Actor | null,
): Promise<ArchiveSummary> {
  fs.mkdirSync(ctx.config.auditArchiveDir, { recursive: true });
  const tmp = path.join(ctx.config.auditArchiveDir, `.archive-${process.pid}-${Date.now()}.ndjson`);
  const out = fs.createWriteStream(tmp, { flags: 'wx', mode: 0o640 });
  const name = (from: number, to: number) =>
    `govshare-audit-${String(from).padStart(9, '0')}-${String(to).padStart(9, '0')}.ndjson`;
  try {
    const s = await writeArchive(ctx, { until, out, fileName: name, actor, via: 'api' });
    fs.renameSync(tmp, path.join(ctx.config.auditArchiveDir, s.fileName));
    return s;
  } catch (e) {
    out.destroy();
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

export async function listArchives(db: Db) {
  const rows = await db
    .selectFrom('audit_archive as r')
    .leftJoin('app_user as u', 'u.id', 'r.created_by')
    .selectAll('r')
    .select('u.display_name as created_by_name')
    .orderBy('r.to_seq', 'desc')
    .limit(500)
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    until: r.until_at,
    fromSeq: Number(r.from_seq),
    toSeq: Number(r.to_seq),
    blocks: r.block_count,
    records: Number(r.record_count),
    lastBlockHash: r.last_block_hash,
    fileName: path.basename(r.file_name),
    fileSha256: r.file_sha256,
    fileBytes: Number(r.file_bytes),
    via: r.via,
    createdBy: r.created_by == null ? null : Number(r.created_by),
    createdByName: r.created_by_name ?? null,
    createdAt: r.created_at,
  }));
}

export interface RetentionResult {
  dropped: string[];
  droppedBefore: Date | null;
  anchorSeq: number | null;
  blocksRemoved: number;
  archivedIds: number;
  /** why an old month was kept: not archived yet, or no retention configured */
  kept: { partition: string; reason: 'not_archived' }[];
}

/**
 * Drops the monthly partitions that ended more than AUDIT_RETENTION_MONTHS ago, oldest first, as long as an archive
 * holds every record in them (all their records' transactions are below the newest archive's bound). In one
 * transaction: drop them, record the anchor (the last block wholly inside the dropped months; blocks up to it leave
 * audit_block), the ids dropped from blocks straddling the boundary, and an audit record of the drop.
 */
export async function applyRetention(ctx: AppContext, now: Date): Promise<RetentionResult> {
  const result: RetentionResult = {
    dropped: [],
    droppedBefore: null,
    anchorSeq: null,
    blocksRemoved: 0,
    archivedIds: 0,
    kept: [],
  };
  const months = ctx.config.auditRetentionMonths;
  if (months <= 0) return result;
  const cutoff = beijingMonthStart(beijingMonth(now, -months));
  const archive = await ctx.db
    .selectFrom('audit_archive')
    .select(['id', 'to_seq', 'to_xid'])
    .orderBy('to_seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const parts = (await auditPartitions(ctx.db)).filter((p) => p.to && p.to.getTime() <= cutoff.getTime());
  const drop: AuditPartition[] = [];
  let straddleTo = 0;
  for (const p of parts) {
    const { rows } = await sql<{
      x: string | null;
    }>`SELECT max(seal_xid)::text AS x FROM ${sql.table(p.name)}`.execute(ctx.db);
    const x = rows[0].x == null ? null : Number(rows[0].x);
    if (x !== null && (!archive || x >= Number(archive.to_xid))) {
      result.kept.push({ partition: p.name, reason: 'not_archived' });
      break; // only the oldest months, contiguously: the boundary stays one instant
    }
    if (x !== null) straddleTo = Math.max(straddleTo, x);
    drop.push(p);
  }
  if (!drop.length || !archive) return result;
  const droppedBefore = drop[drop.length - 1].to as Date;
  await ctx.db.transaction().execute(async (trx) => {
    for (const p of drop) await sql`DROP TABLE ${sql.table(p.name)}`.execute(trx);
    // the first block still holding a record kept in the database; the blocks before it are wholly dropped
    const { rows: mn } = await sql<{
      x: string | null;
    }>`SELECT min(seal_xid)::text AS x FROM audit_log`.execute(trx);
    const first =
      mn[0].x == null
        ? undefined
        : await trx
            .selectFrom('audit_block')
            .select('seq')
            .where('from_xid', '<=', Number(mn[0].x))
            .where('to_xid', '>', Number(mn[0].x))
            .executeTakeFirst();
    const previous = await trx
      .selectFrom('audit_retention')
      .select(sql<number>`coalesce(max(anchor_seq), 0)`.as('s'))
      .executeTakeFirstOrThrow();
    const anchorSeq = Math.max(
      Number(previous.s),
      Math.min(first ? Number(first.seq) - 1 : Number(archive.to_seq), Number(archive.to_seq)),
    );
    const anchorRow = await trx
      .selectFrom('audit_block')
      .select('block_hash')
      .where('seq', '=', anchorSeq)
      .executeTakeFirst();
    const anchorHash =
      anchorRow?.block_hash ??
      (
        await trx
          .selectFrom('audit_retention')
          .select('anchor_hash')
          .where('anchor_seq', '=', anchorSeq)
          .executeTakeFirst()
      )?.anchor_hash ??
      '0'.repeat(64);
    // blocks after the anchor that held records of the dropped months: those records are now only in the archive
    const straddling =
      straddleTo > 0
        ? await trx
            .selectFrom('audit_block')
            .select(['seq', 'from_xid', 'to_xid', 'record_ids'])
            .where('seq', '>', anchorSeq)
            .where('from_xid', '<=', straddleTo)
            .orderBy('seq')
            .execute()
        : [];
    const archivedIds: number[] = [];
    for (const b of straddling) {
      const present = await recordIdsInRange(trx, Number(b.from_xid), Number(b.to_xid));
      for (const id of b.record_ids.map(Number)) if (!present.has(id)) archivedIds.push(id);
    }
    const toRemove = await trx
      .selectFrom('audit_block')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('seq', '<=', anchorSeq)
      .executeTakeFirstOrThrow();
    // the anchor is recorded first: the audit_block trigger lets a block go only at or below a recorded anchor
    await trx
      .insertInto('audit_retention')
      .values({
        dropped_before: droppedBefore,
        partitions: drop.map((p) => p.name),
        archive_id: Number(archive.id),
        anchor_seq: anchorSeq,
        anchor_hash: anchorHash,
        archived_ids: archivedIds,
        blocks_removed: toRemove.n,
      })
      .execute();
    const removed = await trx.deleteFrom('audit_block').where('seq', '<=', anchorSeq).executeTakeFirst();
    result.blocksRemoved = Number(removed.numDeletedRows);
    await appendAudit(trx, {
      action: 'audit.retentionDropped',
      decision: 'allow',
      targetType: 'audit_archive',
      targetId: Number(archive.id),
      detail: {
        partitions: drop.map((p) => p.name),
        droppedBefore: droppedBefore.toISOString(),
        retentionMonths: months,
        archiveId: Number(archive.id),
        anchorSeq,
        anchorHash,
        blocksRemoved: result.blocksRemoved,
        archivedIdsInStraddlingBlocks: archivedIds.length,
      },
    });
    result.anchorSeq = anchorSeq;
    result.archivedIds = archivedIds.length;
  });
  result.dropped = drop.map((p) => p.name);
  result.droppedBefore = droppedBefore;
  return result;
}
