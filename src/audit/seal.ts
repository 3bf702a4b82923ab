/**
 * Sealing the audit log into signed, hash-chained blocks, and verifying it (issue 10 point 1; DG Art 28/33, XT Art
 * 34, GB/T 39477). The data call never waits for this: rows are written as before, with their transaction id
 * (`seal_xid`), and the sealer later closes every transaction range that has finished. See migration 012.
 */

import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { AppContext } from '../context.js';
import type { Db, Tx } from '../db/index.js';
import {
  AUDIT_RECORD_COLUMNS,
  AUDIT_RECORD_SEND,
  canonicalRecords,
  canonicalTexts,
  EMPTY_BATCH,
  type RecordBatch,
  tuplesOf,
} from './canonical.js';
import { hashSlices, LeafHasher, type RawRecords } from './leaf-hasher.js';
import {
  type AuditExport,
  type BlockHeader,
  blockHash,
  checkBlockHeader,
  checkRecords,
  DEFAULT_HASH_ALG,
  type Finding,
  GENESIS_HASH,
  type HashAlg,
  keyIdOf,
  merkleRoot,
  packLeaves,
  type SealedBlock,
  signBlockHash,
  unpackLeaves,
} from './seal-model.js';

/**
 * The definition of a record's canonical text, in SQL: the text of a jsonb array of every column in a fixed order (the
 * time in UTC with microseconds, independent of the session's time zone). Every chain so far was sealed over these
 * bytes; since issue 10's verification work the sealer and the verifiers build them in Node (src/audit/canonical.ts,
 * one writer for both), and the seal test checks that writer against this expression on awkward values and on every
 * record of its database. A column added to audit_log must be appended here and to AUDIT_RECORD_COLUMNS.
 */
export const CANONICAL_RECORD_JSONB = sql<string>`jsonb_build_array(
  a.id, to_char(a.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), a.actor_user_id, a.actor_org_id,
  a.app_id, a.grant_id, a.action, a.resource_id, a.target_type, a.target_id, a.target_label, a.purpose, a.decision,
  a.rows_returned, a.fields, a.client_ip, a.detail)::text`;

interface SealKey {
  keyId: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

const keys = new WeakMap<AppContext, SealKey>();

/** The node's signing key: from the key file (created on first use, mode 0600), or a new one per process. */
export function sealKey(ctx: AppContext): SealKey {
  const known = keys.get(ctx);
  if (known) return known;
  const file = ctx.config.sealKeyFile;
  let privateKey: KeyObject;
  if (file && fs.existsSync(file)) privateKey = createPrivateKey(fs.readFileSync(file));
  else {
    privateKey = generateKeyPairSync('ed25519').privateKey;
    if (file) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
        mode: 0o600,
        flag: 'wx',
      });
    }
  }
  const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  const key = { keyId: keyIdOf(publicKeyPem), privateKey, publicKeyPem };
  keys.set(ctx, key);
  return key;
}

/** Any fixed 64-bit number: the advisory lock that lets one node at a time extend the chain. */
const SEAL_LOCK = 7_420_250_812;

export interface SealResult {
  blocks: number;
  records: number;
}

/**
 * Seals every finished transaction range into blocks of at most `sealMaxRecords` records (a transaction's records
 * stay together). Safe on several nodes at once: one holds the lock, the others return at once.
 */
export async function sealPending(ctx: AppContext, maxBlocks = 50): Promise<SealResult> {
  const key = sealKey(ctx);
  await ctx.db
    .insertInto('audit_seal_key')
    .values({
      key_id: key.keyId,
      algorithm: 'ed25519',
      public_key: key.publicKeyPem,
      node: os.hostname().slice(0, 100),
    })
    .onConflict((oc) => oc.column('key_id').doNothing())
    .execute();
  let blocks = 0;
  let records = 0;
  for (; blocks < maxBlocks; blocks++) {
    const n = await ctx.db.transaction().execute((trx) => sealOne(ctx, trx, key));
    if (n === null) break;
    records += n;
  }
  return { blocks, records };
}

async function sealOne(ctx: AppContext, trx: Tx, key: SealKey): Promise<number | null> {
  const lock = await sql<{
    ok: boolean;
  }>`SELECT pg_try_advisory_xact_lock(${SEAL_LOCK}::bigint) AS ok`.execute(trx);
  if (!lock.rows[0].ok) return null;
  const last = await trx
    .selectFrom('audit_block')
    .select(['seq', 'to_xid', 'block_hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const fromXid = last ? Number(last.to_xid) : 0;
  const { rows: h } = await sql<{
    xmin: string;
  }>`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`.execute(trx);
  let toXid = Number(h[0].xmin);
  if (toXid <= fromXid) return null;
  // cap the block: stop before the transaction holding the (max+1)-th record, unless that is the first one
  const { rows: cut } = await sql<{ x: string }>`SELECT seal_xid::text AS x FROM audit_log
    WHERE seal_xid >= ${String(fromXid)}::xid8 AND seal_xid < ${String(toXid)}::xid8
    ORDER BY seal_xid OFFSET ${ctx.config.sealMaxRecords} LIMIT 1`.execute(trx);
  if (cut.length) toXid = Math.max(Number(cut[0].x), fromXid + 1);
  const batch = await recordsInRange(trx, fromXid, toXid);
  if (batch.count === 0) return null;
  const alg: HashAlg = DEFAULT_HASH_ALG;
  // the same texts and leaf hashing the verifiers use; sealed in id order
  const packed = hashSlices(alg, batch.input, batch.offsets);
  const order = Array.from({ length: batch.count }, (_, i) => i).sort((x, y) => batch.ids[x] - batch.ids[y]);
  const ids = order.map((i) => batch.ids[i]);
  const leaves = order.map((i) => packed.subarray(32 * i, 32 * i + 32));
  const header: BlockHeader = {
    seq: last ? Number(last.seq) + 1 : 1,
    fromXid,
    toXid,
    recordCount: ids.length,
    firstId: ids[0],
    lastId: ids[ids.length - 1],
    merkleRoot: merkleRoot(alg, leaves).toString('hex'),
    prevHash: last ? last.block_hash : GENESIS_HASH,
    sealedAt: new Date().toISOString(),
    hashAlg: alg,
    keyId: key.keyId,
  };
  const hash = blockHash(header);
  await trx
    .insertInto('audit_block')
    .values({
      seq: header.seq,
      from_xid: fromXid,
      to_xid: toXid,
      record_count: header.recordCount,
      first_id: header.firstId,
      last_id: header.lastId,
      record_ids: ids,
      leaf_hashes: packLeaves(leaves),
      merkle_root: header.merkleRoot,
      prev_hash: header.prevHash,
      block_hash: hash,
      hash_alg: alg,
      key_id: key.keyId,
      signature: signBlockHash(key.privateKey, hash),
      sealed_at: new Date(header.sealedAt),
    })
    .execute();
  return ids.length;
}

const RANGE = (fromXid: number, toXid: number) =>
  sql`a.seal_xid >= ${String(fromXid)}::xid8 AND a.seal_xid < ${String(toXid)}::xid8`;

/** Each column's send() bytes, c0 … c16: the SELECT path's binary form of a record. */
const SEND_COLUMNS = sql.raw(
  AUDIT_RECORD_COLUMNS.map((c, i) => `${AUDIT_RECORD_SEND[i]}(a.${c}) AS c${i}`).join(', '),
);

/**
 * The canonical texts (src/audit/canonical.ts) of every audit row now stored in a transaction range, by a SELECT of
 * each column's binary form: works on both databases and inside a transaction (the sealer's). Large reads on the
 * PostgreSQL server take recordReader's COPY instead; both give the writer the same bytes.
 */
export async function recordsInRange(db: Db | Tx, fromXid: number, toXid: number): Promise<RecordBatch> {
  const raw = await rawRecordsInRange(db, fromXid, toXid);
  return raw.data.length === 0 ? EMPTY_BATCH : canonicalRecords(raw.data, raw.copyHeader);
}

async function rawRecordsInRange(db: Db | Tx, fromXid: number, toXid: number): Promise<RawRecords> {
  const { rows } = await sql<Record<string, Uint8Array | null>>`SELECT ${SEND_COLUMNS} FROM audit_log a
    WHERE ${RANGE(fromXid, toXid)}`.execute(db);
  return {
    data: tuplesOf(rows.map((r) => AUDIT_RECORD_COLUMNS.map((_, i) => r[`c${i}`] ?? null))),
    copyHeader: false,
  };
}

/** The ids of the audit rows now stored in a transaction range. */
export async function recordIdsInRange(db: Db | Tx, fromXid: number, toXid: number): Promise<Set<number>> {
  const { rows } = await sql<{
    id: number;
  }>`SELECT a.id FROM audit_log a WHERE ${RANGE(fromXid, toXid)}`.execute(db);
  return new Set(rows.map((r) => Number(r.id)));
}

/** Reads transaction ranges' records for a long read (verification, archives). */
export interface RecordReader {
  /** the records' bytes, for canonicalRecords (here or in a worker thread) */
  readRaw(fromXid: number, toXid: number): Promise<RawRecords>;
  read(fromXid: number, toXid: number): Promise<RecordBatch>;
  close(): Promise<void>;
}

/** What a long read needs of the application context. */
export type AuditReadContext = Pick<AppContext, 'db' | 'database' | 'config'>;

/**
 * On the PostgreSQL server: `COPY (SELECT the columns …) TO STDOUT (FORMAT binary)` on `connections` connections of its
 * own (not the pool's: a verification of many blocks must not hold the pool, and COPY needs the raw client), reads
 * handed out in turn, each connection serving its reads in order. The server only sends each column's binary form
 * (≈ 2 s of server CPU per million rows, against ≈ 5 s for building the canonical text in SQL), and the texts are
 * written in Node without an object per row. Elsewhere (PGlite): the SELECT path, one read at a time.
 */
export function recordReader(ctx: AuditReadContext, connections = 2): RecordReader {
  const url = ctx.config.databaseUrl;
  if (ctx.database.kind !== 'postgres' || !url)
    return {
      readRaw: (f, t) => rawRecordsInRange(ctx.db, f, t),
      read: (f, t) => recordsInRange(ctx.db, f, t),
      close: async () => {},
    };
  const clients: Promise<pg.Client>[] = [];
  const open = async () => {
    const c = new pg.Client({ connectionString: url, options: '-c jit=off' });
    // a connection lost mid-read fails that read (its stream errors); this only keeps the process alive
    c.on('error', () => undefined);
    await c.connect();
    return c;
  };
  // each connection's reads run one after the other (a chain of promises per connection)
  const tails: Promise<unknown>[] = [];
  let turn = 0;
  const columns = AUDIT_RECORD_COLUMNS.map((c) => `a.${c}`).join(', ');
  const copy = async (client: pg.Client, fromXid: number, toXid: number) => {
    // integers only: COPY takes no parameters
    const stream = client.query(
      copyTo(`COPY (SELECT ${columns} FROM audit_log a
        WHERE a.seal_xid >= '${Math.trunc(fromXid)}'::xid8 AND a.seal_xid < '${Math.trunc(toXid)}'::xid8)
        TO STDOUT (FORMAT binary)`),
    );
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return { data: Buffer.concat(chunks), copyHeader: true };
  };
  return {
    async read(fromXid, toXid) {
      const raw = await this.readRaw(fromXid, toXid);
      return canonicalRecords(raw.data, raw.copyHeader);
    },
    readRaw(fromXid, toXid) {
      const slot = turn++ % Math.max(1, connections);
      if (!clients[slot]) clients[slot] = open();
      const client = clients[slot];
      const run = (tails[slot] ?? Promise.resolve())
        .catch(() => undefined)
        .then(async () => copy(await client, fromXid, toXid));
      tails[slot] = run;
      return run;
    },
    async close() {
      const all = await Promise.allSettled(clients);
      await Promise.all(all.map((c) => (c.status === 'fulfilled' ? c.value.end() : undefined)));
    },
  };
}

export type BlockRow = Awaited<ReturnType<typeof blockRows>>[number];

export function blockRows(db: Db, fromSeq: number, toSeq: number) {
  return db
    .selectFrom('audit_block')
    .selectAll()
    .where('seq', '>=', fromSeq)
    .where('seq', '<=', toSeq)
    .orderBy('seq')
    .execute();
}

export function toSealed(r: BlockRow): SealedBlock {
  return {
    seq: Number(r.seq),
    fromXid: Number(r.from_xid),
    toXid: Number(r.to_xid),
    recordCount: r.record_count,
    firstId: r.first_id == null ? null : Number(r.first_id),
    lastId: r.last_id == null ? null : Number(r.last_id),
    merkleRoot: r.merkle_root,
    prevHash: r.prev_hash,
    sealedAt: new Date(r.sealed_at).toISOString(),
    hashAlg: r.hash_alg as HashAlg,
    keyId: r.key_id,
    blockHash: r.block_hash,
    signature: r.signature,
    recordIds: r.record_ids.map(Number),
    leafHashes: unpackLeaves(r.leaf_hashes),
  };
}

/**
 * The block just before `fromSeq` (whose hash the first checked block must link to); undefined at the genesis. A block
 * that left the database with its archived months is known by its hash from the retention or archive record.
 */
export async function blockBefore(
  db: Db,
  fromSeq: number,
): Promise<{ seq: number; block_hash: string } | undefined> {
  if (fromSeq <= 1) return undefined;
  const row = await db
    .selectFrom('audit_block')
    .select(['seq', 'block_hash'])
    .where('seq', '=', fromSeq - 1)
    .executeTakeFirst();
  if (row) return { seq: Number(row.seq), block_hash: row.block_hash };
  const kept = await db
    .selectFrom('audit_retention')
    .select(['anchor_seq as seq', 'anchor_hash as block_hash'])
    .where('anchor_seq', '=', fromSeq - 1)
    .executeTakeFirst();
  if (kept) return { seq: Number(kept.seq), block_hash: kept.block_hash };
  const archived = await db
    .selectFrom('audit_archive')
    .select(['to_seq as seq', 'last_block_hash as block_hash'])
    .where('to_seq', '=', fromSeq - 1)
    .executeTakeFirst();
  return archived ? { seq: Number(archived.seq), block_hash: archived.block_hash } : undefined;
}

/**
 * Where the chain kept in the database begins after retention dropped archived months: the anchor block (the last
 * one removed; its hash is what the first remaining block links to) and the ids of records dropped with their month
 * from blocks that straddle the boundary (present in the archive, expected absent here).
 */
export async function retentionAnchor(
  db: Db,
): Promise<{ seq: number; hash: string; archivedIds: Set<number> }> {
  const rows = await db
    .selectFrom('audit_retention')
    .select(['anchor_seq', 'anchor_hash', 'archived_ids'])
    .orderBy('anchor_seq')
    .execute();
  const last = rows[rows.length - 1];
  return {
    seq: last ? Number(last.anchor_seq) : 0,
    hash: last ? last.anchor_hash : GENESIS_HASH,
    archivedIds: new Set(rows.flatMap((r) => r.archived_ids.map(Number))),
  };
}

export async function publicKeys(db: Db): Promise<Map<string, string>> {
  const rows = await db.selectFrom('audit_seal_key').select(['key_id', 'public_key']).execute();
  return new Map(rows.map((k) => [k.key_id, k.public_key]));
}

export interface SealStatus {
  blocks: number;
  sealedRecords: number;
  lastSeq: number | null;
  lastSealedAt: Date | null;
  lastBlockHash: string | null;
  /** audit rows written but not sealed yet (their transaction range is still open or the sealer has not run) */
  pendingRecords: number;
  hashAlg: HashAlg;
  keys: { keyId: string; node: string; createdAt: Date }[];
}

export async function sealStatus(db: Db): Promise<SealStatus> {
  const agg = await db
    .selectFrom('audit_block')
    .select([
      sql<number>`count(*)::int`.as('blocks'),
      sql<number>`coalesce(sum(record_count), 0)::bigint`.as('records'),
      sql<number | null>`max(seq)`.as('last_seq'),
      sql<number>`coalesce(max(to_xid), 0)::bigint`.as('to_xid'),
    ])
    .executeTakeFirstOrThrow();
  const last =
    agg.last_seq == null
      ? null
      : await db
          .selectFrom('audit_block')
          .select(['sealed_at', 'block_hash'])
          .where('seq', '=', Number(agg.last_seq))
          .executeTakeFirst();
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log
    WHERE seal_xid >= ${String(Number(agg.to_xid))}::xid8`.execute(db);
  const keyRows = await db
    .selectFrom('audit_seal_key')
    .select(['key_id', 'node', 'created_at'])
    .orderBy('created_at')
    .execute();
  return {
    blocks: agg.blocks,
    sealedRecords: Number(agg.records),
    lastSeq: agg.last_seq == null ? null : Number(agg.last_seq),
    lastSealedAt: last?.sealed_at ?? null,
    lastBlockHash: last?.block_hash ?? null,
    pendingRecords: rows[0].n,
    hashAlg: DEFAULT_HASH_ALG,
    keys: keyRows.map((k) => ({ keyId: k.key_id, node: k.node, createdAt: k.created_at })),
  };
}

export interface VerifyReport {
  fromSeq: number;
  toSeq: number;
  blocksChecked: number;
  recordsChecked: number;
  ok: boolean;
  /** at most 1 000 findings are listed; `findingCount` has them all */
  findings: Finding[];
  findingCount: number;
}

/** block rows read per query */
const VERIFY_PAGE = 50;
const MAX_FINDINGS = 1000;

export interface VerifyOptions {
  /** worker threads hashing leaves (0: this thread); default: the host's cores less one, 1 to 4 */
  workers?: number;
  /** the PostgreSQL server's connections reading records (COPY); default 2 */
  connections?: number;
  /** blocks read and hashed ahead of the one being checked; default connections + workers + 1 */
  ahead?: number;
}

export function defaultVerifyWorkers(): number {
  return Math.min(4, Math.max(1, os.availableParallelism() - 1));
}

/** Sealed blocks fromSeq..toSeq in order, a page at a time, the next page read while this one is used. */
async function* sealedBlocks(db: Db, fromSeq: number, toSeq: number): AsyncGenerator<SealedBlock> {
  const page = (s: number) => {
    if (s > toSeq) return null;
    const p = blockRows(db, s, Math.min(toSeq, s + VERIFY_PAGE - 1));
    p.catch(() => undefined); // awaited below; only keeps an early failure from being "unhandled"
    return p;
  };
  let next = page(fromSeq);
  for (let s = fromSeq; next; s += VERIFY_PAGE) {
    const rows = await next;
    next = page(s + VERIFY_PAGE);
    for (const r of rows) yield toSealed(r);
  }
}

/**
 * Checks the chain and every sealed record in blocks fromSeq..toSeq (default: all). A pipeline: the records of the next
 * blocks are read (recordReader: COPY on the server's other cores) and their texts written and hashed (LeafHasher: on
 * worker threads) while the block in turn is checked; at most `ahead` blocks' records are held. Findings come in block
 * order, as the blocks are checked one after the other.
 */
export async function verifyAudit(
  ctx: AuditReadContext,
  range: { fromSeq?: number; toSeq?: number } = {},
  opts: VerifyOptions = {},
): Promise<VerifyReport> {
  const db = ctx.db;
  const max = await db
    .selectFrom('audit_block')
    .select(sql<number | null>`max(seq)`.as('m'))
    .executeTakeFirst();
  // blocks up to the retention anchor left the database with their (archived) months: the check starts after it
  const anchor = await retentionAnchor(db);
  const fromSeq = Math.max(1, anchor.seq + 1, range.fromSeq ?? 1);
  const toSeq = range.toSeq ?? Number(max?.m ?? 0);
  const keys = await publicKeys(db);
  const prevRow = await blockBefore(db, fromSeq);
  let previous: { seq: number; blockHash: string | null } | null = prevRow
    ? { seq: Number(prevRow.seq), blockHash: prevRow.block_hash }
    : fromSeq > 1
      ? { seq: fromSeq - 1, blockHash: null }
      : null;
  const findings: Finding[] = [];
  let findingCount = 0;
  let blocksChecked = 0;
  let recordsChecked = 0;
  if (fromSeq > 1 && !previous) {
    findings.push({ kind: 'block_missing', blockSeq: fromSeq - 1 });
    findingCount++;
  }
  const connections = opts.connections ?? 2;
  const workers = opts.workers ?? defaultVerifyWorkers();
  const ahead = Math.max(1, opts.ahead ?? connections + workers + 1);
  const reader = recordReader(ctx, connections);
  const hasher = new LeafHasher(workers);
  const prepare = async (b: SealedBlock) => {
    const raw = await reader.readRaw(b.fromXid, b.toXid);
    const stored = b.leafHashes.every((l) => l.length === 32) ? Buffer.concat(b.leafHashes) : undefined;
    return hasher.prepare(b.hashAlg, raw, stored);
  };
  const check = async (b: SealedBlock, prepared: ReturnType<typeof prepare>) => {
    const { ids, leaves, root } = await prepared;
    recordsChecked += ids.length;
    // a block deleted behind the trigger's back shows as a gap in seq and a broken link after it
    const found = [
      ...checkBlockHeader(b, keys, previous, root ?? undefined),
      ...checkRecords(b, ids, leaves),
    ].filter(
      // a straddling block's record dropped with its archived month is expected absent (and is in the archive)
      (f) => !(f.kind === 'record_removed' && f.recordId !== undefined && anchor.archivedIds.has(f.recordId)),
    );
    findingCount += found.length;
    for (const f of found) if (findings.length < MAX_FINDINGS) findings.push(f);
    blocksChecked++;
    previous = { seq: b.seq, blockHash: b.blockHash };
  };
  const window: { b: SealedBlock; p: ReturnType<typeof prepare> }[] = [];
  try {
    for await (const b of sealedBlocks(db, fromSeq, toSeq)) {
      const p = prepare(b);
      p.catch(() => undefined); // awaited in check(); only keeps an early failure from being "unhandled"
      window.push({ b, p });
      if (window.length > ahead) {
        const w = window.shift() as (typeof window)[number];
        await check(w.b, w.p);
      }
    }
    for (const w of window) await check(w.b, w.p);
  } finally {
    await Promise.allSettled(window.map((w) => w.p));
    await Promise.all([reader.close(), hasher.close()]);
  }
  return { fromSeq, toSeq, blocksChecked, recordsChecked, ok: findingCount === 0, findings, findingCount };
}

export const EXPORT_MAX_BLOCKS = 1000;

export async function exportAudit(db: Db, fromSeq: number, toSeq: number): Promise<AuditExport> {
  const upper = Math.min(toSeq, fromSeq + EXPORT_MAX_BLOCKS - 1);
  const blocks = (await blockRows(db, fromSeq, upper)).map(toSealed);
  const withRecords: AuditExport['blocks'] = [];
  for (const b of blocks) {
    const recs = canonicalTexts(await recordsInRange(db, b.fromXid, b.toXid));
    withRecords.push({
      ...b,
      leafHashes: b.leafHashes.map((l) => l.toString('hex')),
      records: [...recs].map(([id, canonical]) => ({ id, canonical })).sort((x, y) => x.id - y.id),
    });
  }
  const prev = await blockBefore(db, fromSeq);
  const keys = await publicKeys(db);
  return {
    format: 'govshare-audit-export/1',
    exportedAt: new Date().toISOString(),
    keys: [...keys].map(([keyId, publicKeyPem]) => ({ keyId, publicKeyPem })),
    previous: prev ? { seq: Number(prev.seq), blockHash: prev.block_hash } : null,
    blocks: withRecords,
  };
}
