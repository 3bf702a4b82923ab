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

/** Merkle root over the leaves, in order. */
export function merkleRoot(alg: HashAlg, leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return digest(alg, '');
  let level = leaves.slice();
  // one buffer for every inner node's input 0x01 ‖ left ‖ right (no allocation per node)
  const pair = Buffer.alloc(1 + 2 * HASH_BYTES);
  pair[0] = 1;
  const node = (l: Buffer, r: Buffer) => {
    if (!oneShot || l.length !== HASH_BYTES || r.length !== HASH_BYTES) return digest(alg, ONE, l, r);
    l.copy(pair, 1);
    r.copy(pair, 1 + HASH_BYTES);
    return oneShot(alg, pair, 'buffer');
  };
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(node(level[i], level[i + 1]));
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
 * Checks blocks (ascending, consecutive as far as the caller has them) and their records. `records(block)` returns
 * the canonical text of every row now stored in the block's transaction range, keyed by id. `previous` is the
 * block before the first one checked (null when checking from the genesis; a null hash when it is unknown).
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
      merkleRoot(b.hashAlg, b.leafHashes).toString('hex') !== b.merkleRoot
    )
      findings.push({ kind: 'leaves_altered', blockSeq: b.seq });
    const stored = records(b);
    const sealed = new Set<number>();
    b.recordIds.forEach((id, i) => {
      sealed.add(id);
      const text = stored.get(id);
      if (text === undefined) findings.push({ kind: 'record_removed', blockSeq: b.seq, recordId: id });
      else if (!leafHash(b.hashAlg, text).equals(b.leafHashes[i] ?? Buffer.alloc(0)))
        findings.push({ kind: 'record_altered', blockSeq: b.seq, recordId: id });
    });
    for (const id of stored.keys())
      if (!sealed.has(id)) findings.push({ kind: 'record_inserted', blockSeq: b.seq, recordId: id });
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
