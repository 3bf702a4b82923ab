/**
 * The sealed audit chain's pure part: hashes, Merkle roots, block headers, signatures and the verification of a
 * block against its records. Only node:crypto — the CLI's offline check of an exported range uses this file alone.
 *
 * A record's leaf is H(0x00 ‖ canonical text); an inner node H(0x01 ‖ left ‖ right) (domain-separated as in
 * RFC 6962, so a leaf cannot pass for a node); levels pair left to right and an odd last node moves up unchanged. H is SM3 (GB/T 32905,
 * 国密) where this Node build has it, SHA-256 otherwise; each block records which. A block's hash covers its header
 * (sequence, transaction range, record count, first/last id, Merkle root, previous block's hash, time, algorithm,
 * key id); the node signs that hash with Ed25519.
 */
import crypto, { createHash, createPublicKey, getHashes, type KeyObject, sign, verify } from 'node:crypto';

export type HashAlg = 'sm3' | 'sha256';

export const DEFAULT_HASH_ALG: HashAlg = getHashes().includes('sm3') ? 'sm3' : 'sha256';
export const GENESIS_HASH = '0'.repeat(64);
const HASH_BYTES = 32;

/** Node ≥ 20.12's one-shot hash: about half the cost of createHash().update().digest() for short inputs. */
const oneShot = (
  crypto as unknown as { hash?: (alg: string, data: string | Uint8Array, enc: 'buffer') => Buffer }
).hash;

export function digest(alg: HashAlg, ...parts: (Uint8Array | string)[]): Buffer {
  if (oneShot) {
    const data =
      parts.length === 1
        ? parts[0]
        : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
    return oneShot(alg, data, 'buffer');
  }
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return h.digest();
}

const ZERO = Buffer.from([0]);
const ONE = Buffer.from([1]);

export function leafHash(alg: HashAlg, canonical: string): Buffer {
  // "\u0000" + text is the byte 0x00 followed by the text's UTF-8
  return oneShot ? oneShot(alg, `\u0000${canonical}`, 'buffer') : digest(alg, ZERO, canonical);
}

/**
 * The Merkle root of packed 32-byte leaves (in order), `hash` being H over one input. Self-contained on purpose (it uses
 * no name from outside it): the leaf-hash worker threads run this very function's source (src/audit/leaf-hasher.ts),
 * so sealing, the database's verification and the offline checks build roots by one implementation. The level is
 * reduced in place in one copy of the leaves; one 65-byte buffer holds every inner node's input 0x01 ‖ left ‖ right.
 */
export function merkleRootPacked(packed: Uint8Array, hash: (data: Uint8Array) => Uint8Array): Uint8Array {
  const n = Math.floor(packed.length / 32);
  if (n === 0) return hash(new Uint8Array(0));
  const level = new Uint8Array(packed.subarray(0, 32 * n)); // a copy (Buffer#slice would not be one)
  const pair = new Uint8Array(65);
  pair[0] = 1;
  let len = n;
  while (len > 1) {
    let i = 0;
    for (; 2 * i + 1 < len; i++) {
      pair.set(level.subarray(64 * i, 64 * i + 64), 1);
      level.set(hash(pair), 32 * i);
    }
    if (len % 2 === 1) {
      level.copyWithin(32 * i, 32 * (len - 1), 32 * len);
      i++;
    }
    len = i;
  }
  return level.slice(0, 32);
}

/** Merkle root over the leaves, in order. */
export function merkleRoot(alg: HashAlg, leaves: readonly Buffer[]): Buffer {
  if (leaves.every((l) => l.length === HASH_BYTES)) {
    const root = merkleRootPacked(Buffer.concat(leaves), (d) => digest(alg, d));
    return Buffer.from(root.buffer, root.byteOffset, root.byteLength);
  }
  // leaves of another length (a damaged export): never a sealed block's, hashed as they are
  if (leaves.length === 0) return digest(alg, '');
  let level = leaves.slice();
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(digest(alg, ONE, level[i], level[i + 1]));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0];
}

export interface BlockHeader {
  seq: number;
  fromXid: number;
  toXid: number;
  recordCount: number;
  firstId: number | null;
  lastId: number | null;
  merkleRoot: string;
  prevHash: string;
  sealedAt: string;
  hashAlg: HashAlg;
  keyId: string;
}

/** The header's canonical text: fixed key order, so any verifier reproduces it byte for byte. */
export function headerText(h: BlockHeader): string {
  return JSON.stringify([
    'govshare-audit-block/1',
    h.seq,
    h.fromXid,
    h.toXid,
    h.recordCount,
    h.firstId,
    h.lastId,
    h.merkleRoot,
    h.prevHash,
    h.sealedAt,
    h.hashAlg,
    h.keyId,
  ]);
}

export function blockHash(h: BlockHeader): string {
  return digest(h.hashAlg, headerText(h)).toString('hex');
}

export function signBlockHash(privateKey: KeyObject, hash: string): string {
  return sign(null, Buffer.from(hash, 'hex'), privateKey).toString('base64');
}

export function verifyBlockSignature(publicKeyPem: string, hash: string, signature: string): boolean {
  try {
    return verify(
      null,
      Buffer.from(hash, 'hex'),
      createPublicKey(publicKeyPem),
      Buffer.from(signature, 'base64'),
    );
  } catch {
    return false;
  }
}

/** A key's id: the first 16 hex digits of SHA-256 over its DER public key (what an auditor writes down). */
export function keyIdOf(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

export function packLeaves(leaves: readonly Buffer[]): Buffer {
  return Buffer.concat(leaves);
}

export function unpackLeaves(packed: Uint8Array): Buffer[] {
  const buf = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  const out: Buffer[] = [];
  for (let o = 0; o + HASH_BYTES <= buf.length; o += HASH_BYTES) out.push(buf.subarray(o, o + HASH_BYTES));
  return out;
}

/** A sealed block as stored (or exported). */
export interface SealedBlock extends BlockHeader {
  blockHash: string;
  signature: string;
  recordIds: number[];
  leafHashes: Buffer[];
}

export type FindingKind =
  | 'block_missing'
  | 'block_altered'
  | 'signature_invalid'
  | 'unknown_key'
  | 'chain_broken'
  | 'leaves_altered'
  | 'record_altered'
  | 'record_removed'
  | 'record_inserted';

export interface Finding {
  kind: FindingKind;
  blockSeq: number;
  recordId?: number;
}

/**
 * The checks of one block that do not read its records: its place in the sequence, its header hash, signature and key,
 * its link to the block before (`prev`: null before the genesis; a null hash when the block before is unknown), and its
 * leaves against its Merkle root.
 */
export function checkBlockHeader(
  b: SealedBlock,
  keys: ReadonlyMap<string, string>,
  prev: { seq: number; blockHash: string | null } | null,
  /** the root of b.leafHashes when already built (by a worker thread) */
  leavesRoot?: string,
): Finding[] {
  const findings: Finding[] = [];
  const expectedSeq = prev ? prev.seq + 1 : 1;
  if (b.seq !== expectedSeq) findings.push({ kind: 'block_missing', blockSeq: expectedSeq });
  const hash = blockHash(b);
  if (hash !== b.blockHash) findings.push({ kind: 'block_altered', blockSeq: b.seq });
  const key = keys.get(b.keyId);
  if (!key) findings.push({ kind: 'unknown_key', blockSeq: b.seq });
  else if (!verifyBlockSignature(key, b.blockHash, b.signature))
    findings.push({ kind: 'signature_invalid', blockSeq: b.seq });
  // after a missing block, or when the block before the range is unknown, the link cannot be checked
  const expectedPrev = !prev ? GENESIS_HASH : b.seq === prev.seq + 1 ? prev.blockHash : null;
  if (expectedPrev !== null && b.prevHash !== expectedPrev)
    findings.push({ kind: 'chain_broken', blockSeq: b.seq });
  if (
    b.leafHashes.length !== b.recordIds.length ||
    b.recordIds.length !== b.recordCount ||
    (leavesRoot ?? merkleRoot(b.hashAlg, b.leafHashes).toString('hex')) !== b.merkleRoot
  )
    findings.push({ kind: 'leaves_altered', blockSeq: b.seq });
  return findings;
}

/**
 * The records now stored in a block's transaction range against the ids and leaves it sealed. `ids[j]` is the id of
 * stored row j and `leaves` holds its leaf hash at [32 j, 32 j + 32) (rows in any order). Per sealed id, in the block's
 * order: no row → record_removed; rows but none with the sealed leaf → record_altered. Then, by id: a row whose id the
 * block does not seal, and every further row with a sealed id (a second copy, or a forged twin next to the real
 * record) → record_inserted. A row with a sealed id is never silently taken for another.
 */
export function checkRecords(b: SealedBlock, ids: ArrayLike<number>, leaves: Uint8Array): Finding[] {
  const findings: Finding[] = [];
  const at = new Map<number, number>();
  for (let i = 0; i < b.recordIds.length; i++) if (!at.has(b.recordIds[i])) at.set(b.recordIds[i], i);
  // per sealed position: rows whose leaf matches, rows whose leaf does not
  const matched = new Uint32Array(b.recordIds.length);
  const mismatched = new Uint32Array(b.recordIds.length);
  const inserted: number[] = [];
  const leafBuf = Buffer.from(leaves.buffer, leaves.byteOffset, leaves.byteLength);
  for (let j = 0; j < ids.length; j++) {
    const i = at.get(ids[j]);
    if (i === undefined) {
      inserted.push(ids[j]);
      continue;
    }
    const sealed = b.leafHashes[i];
    if (
      sealed &&
      sealed.length === HASH_BYTES &&
      leafBuf.compare(sealed, 0, HASH_BYTES, 32 * j, 32 * j + 32) === 0
    )
      matched[i]++;
    else mismatched[i]++;
  }
  b.recordIds.forEach((id, i) => {
    if (at.get(id) !== i) return; // a repeated id in the block's list: its first place answers for it
    if (matched[i] + mismatched[i] === 0)
      findings.push({ kind: 'record_removed', blockSeq: b.seq, recordId: id });
    else if (matched[i] === 0) findings.push({ kind: 'record_altered', blockSeq: b.seq, recordId: id });
    const extra = matched[i] + mismatched[i] - 1;
    for (let k = 0; k < extra; k++) inserted.push(id);
  });
  inserted.sort((x, y) => x - y);
  for (const id of inserted) findings.push({ kind: 'record_inserted', blockSeq: b.seq, recordId: id });
  return findings;
}

/** Leaf hashes of texts, packed 32 bytes each (the offline checks' way: texts already in memory). */
export function leafHashesOf(alg: HashAlg, texts: Iterable<string>): Buffer {
  const out: Buffer[] = [];
  for (const t of texts) out.push(leafHash(alg, t));
  return Buffer.concat(out);
}

/**
 * Checks blocks (ascending, consecutive as far as the caller has them) and their records. `records(block)` returns
 * the canonical text of every row now stored in the block's transaction range, keyed by id. `previous` is the
 * block before the first one checked (null when checking from the genesis; a null hash when it is unknown). The
 * database's verification (verifyAudit) makes the same two checks, with leaves hashed from its record batches.
 */
export function verifyBlocks(
  blocks: readonly SealedBlock[],
  keys: ReadonlyMap<string, string>,
  records: (b: SealedBlock) => Map<number, string>,
  previous: { seq: number; blockHash: string | null } | null,
): Finding[] {
  const findings: Finding[] = [];
  let prev: { seq: number; blockHash: string | null } | null = previous;
  for (const b of blocks) {
    findings.push(...checkBlockHeader(b, keys, prev));
    const stored = records(b);
    findings.push(...checkRecords(b, [...stored.keys()], leafHashesOf(b.hashAlg, stored.values())));
    prev = { seq: b.seq, blockHash: b.blockHash };
  }
  return findings;
}

/** An exported block range: everything an offline check needs (`govshare audit verify-export FILE`). */
export interface AuditExport {
  format: 'govshare-audit-export/1';
  exportedAt: string;
  keys: { keyId: string; publicKeyPem: string }[];
  /** the block before the range (its hash links the first exported block), null when the range starts at 1 */
  previous: { seq: number; blockHash: string } | null;
  blocks: (Omit<SealedBlock, 'leafHashes'> & {
    leafHashes: string[];
    records: { id: number; canonical: string }[];
  })[];
}

/** The offline check of an export: the same verification, with the file's records and keys. */
export function verifyExport(file: AuditExport): Finding[] {
  if (file.format !== 'govshare-audit-export/1')
    throw new Error(`not a govshare audit export: ${String(file.format)}`);
  const keys = new Map(file.keys.map((k) => [k.keyId, k.publicKeyPem]));
  const blocks: SealedBlock[] = file.blocks.map((b) => ({
    ...b,
    leafHashes: b.leafHashes.map((h) => Buffer.from(h, 'hex')),
  }));
  const records = new Map(
    file.blocks.map((b) => [b.seq, new Map(b.records.map((r) => [r.id, r.canonical]))]),
  );
  return verifyBlocks(blocks, keys, (b) => records.get(b.seq) ?? new Map(), file.previous);
}
