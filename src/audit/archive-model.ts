/**
 * The audit archive file (issue 10 point 12; X-Road archives its message log the same way): a range of sealed blocks
 * with every record they seal, their leaf hashes, signatures and the public keys, as NDJSON so a file of many millions
 * of records is written and checked a line at a time. Only node:crypto and the chain check of seal-model.ts: an
 * auditor verifies a file with `govshare audit verify --archive FILE`, without the database.
 *
 *   line 1      {"format":"govshare-audit-archive/1","createdAt","until","fromSeq","previous":{seq,blockHash}|null,
 *                "keys":[{keyId,publicKeyPem}]}
 *   each block  {"block":{seq,fromXid,toXid,recordCount,firstId,lastId,merkleRoot,prevHash,sealedAt,hashAlg,keyId,
 *                blockHash,signature,recordIds,leafHashes:[hex],records:[{id,canonical}]}}
 *   last line   {"end":{"toSeq","blocks","records","lastBlockHash"}}
 *
 * The check is the one the database chain gets (verifyBlocks): each record's leaf H(0x00 ‖ canonical text) equals the
 * sealed leaf, the leaves' Merkle root equals the header's, the header's hash equals blockHash, the signature verifies
 * with the listed key, each block's prevHash is the hash of the block before (the first one's is `previous`, the
 * anchor of the archive before, or 64 zeros at the genesis); the end line's counts and last hash match what was read
 * (a cut or padded file fails).
 */
import { type AuditExport, type Finding, type SealedBlock, verifyBlocks } from './seal-model.js';

export const ARCHIVE_FORMAT = 'govshare-audit-archive/1';

export interface ArchiveHeader {
  format: typeof ARCHIVE_FORMAT;
  createdAt: string;
  /** every record that occurred before this instant is in this archive or an earlier one */
  until: string;
  fromSeq: number;
  previous: { seq: number; blockHash: string } | null;
  keys: { keyId: string; publicKeyPem: string }[];
}

export type ArchiveBlock = AuditExport['blocks'][number];

export interface ArchiveEnd {
  toSeq: number;
  blocks: number;
  records: number;
  lastBlockHash: string;
}

export interface ArchiveCheck {
  ok: boolean;
  header: ArchiveHeader | null;
  blocks: number;
  records: number;
  fromSeq: number | null;
  toSeq: number | null;
  lastBlockHash: string | null;
  findings: Finding[];
  /** what makes the file itself unusable: not an archive, a line that is not JSON, a missing or wrong end line */
  problems: string[];
}

/**
 * Checks an archive read line by line. `pinnedKeys`: the key ids an auditor wrote down; a key listed in the file but
 * not pinned makes the check fail (a forger would list a key of their own).
 */
export async function verifyArchiveLines(
  lines: AsyncIterable<string> | Iterable<string>,
  pinnedKeys: readonly string[] = [],
): Promise<ArchiveCheck> {
  const out: ArchiveCheck = {
    ok: false,
    header: null,
    blocks: 0,
    records: 0,
    fromSeq: null,
    toSeq: null,
    lastBlockHash: null,
    findings: [],
    problems: [],
  };
  let keys = new Map<string, string>();
  let previous: { seq: number; blockHash: string | null } | null = null;
  let end: ArchiveEnd | null = null;
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    const line = raw.trim();
    if (!line) continue;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line);
    } catch {
      out.problems.push(`line ${lineNo} is not JSON`);
      break;
    }
    if (!out.header) {
      if (obj.format !== ARCHIVE_FORMAT) {
        out.problems.push(`not a govshare audit archive (format ${String(obj.format)})`);
        break;
      }
      out.header = obj as unknown as ArchiveHeader;
      keys = new Map(out.header.keys.map((k) => [k.keyId, k.publicKeyPem]));
      const foreign = out.header.keys.filter((k) => pinnedKeys.length > 0 && !pinnedKeys.includes(k.keyId));
      if (foreign.length)
        out.problems.push(`keys not among the pinned ones: ${foreign.map((k) => k.keyId).join(', ')}`);
      previous = out.header.previous;
      out.fromSeq = out.header.fromSeq;
      continue;
    }
    if (end) {
      out.problems.push(`line ${lineNo} follows the end line`);
      break;
    }
    if (obj.end) {
      end = obj.end as ArchiveEnd;
      continue;
    }
    const b = obj.block as ArchiveBlock | undefined;
    if (!b) {
      out.problems.push(`line ${lineNo} is neither a block nor the end`);
      break;
    }
    const block: SealedBlock = { ...b, leafHashes: b.leafHashes.map((h) => Buffer.from(h, 'hex')) };
    const records = new Map(b.records.map((r) => [r.id, r.canonical]));
    if (out.blocks === 0 && b.seq !== out.header.fromSeq)
      out.findings.push({ kind: 'block_missing', blockSeq: out.header.fromSeq });
    out.findings.push(...verifyBlocks([block], keys, () => records, previous));
    previous = { seq: b.seq, blockHash: b.blockHash };
    out.blocks++;
    out.records += b.records.length;
    out.toSeq = b.seq;
    out.lastBlockHash = b.blockHash;
  }
  if (out.header && !end && out.problems.length === 0)
    out.problems.push('the end line is missing: the file was cut short');
  if (
    end &&
    (end.blocks !== out.blocks || end.records !== out.records || end.lastBlockHash !== out.lastBlockHash)
  )
    out.problems.push(
      `the end line says ${end.blocks} blocks, ${end.records} records, last hash ${end.lastBlockHash}; the file holds ${out.blocks}, ${out.records}, ${out.lastBlockHash}`,
    );
  if (!out.header && out.problems.length === 0) out.problems.push('the file is empty');
  out.ok = out.problems.length === 0 && out.findings.length === 0;
  return out;
}
