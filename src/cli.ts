#!/usr/bin/env node
/**
 * govshare's command line, for operators and auditors (same configuration as the server: DATABASE_URL or
 * GOVSHARE_DATA_DIR). PGlite admits one process per data directory: stop the server first, or use a server database.
 *
 *   govshare audit seal                       seal every finished transaction range now
 *   govshare audit status                     blocks, sealed and pending records, signing keys
 *   govshare audit verify [--from N] [--to M] check the chain and every sealed record; exit 1 on any finding
 *   govshare audit export --from N --to M [--out FILE]
 *                                             write blocks N..M with their records and public keys as JSON
 *   govshare audit archive --until DATE --out FILE
 *                                             archive every sealed block not archived yet up to the last record
 *                                             before DATE (NDJSON, streamed; recorded, audited)
 *   govshare audit verify --archive FILE [--key-id ID ...]
 *                                             check an archive file offline (no database), a line at a time
 *   govshare audit retention                  drop the archived months older than AUDIT_RETENTION_MONTHS now
 *   govshare audit verify-export FILE [--key-id ID ...]
 *                                             check an export offline (no database); --key-id pins the
 *                                             signing keys the auditor wrote down, so a forged key list fails
 *   govshare keys status                      cipher, KEKs, data key versions and values left to re-encrypt per resource
 *   govshare keys rotate --resource ID        a new data key version; its older values re-encrypted now, in batches
 *   govshare keys encrypt --resource ID       convert its clear sensitive-personal columns to encrypted storage now
 *   govshare keys new-kek                     put a new KEK at the head of the key file (GOVSHARE_KEK_FILE or the
 *                                             data dir's field-kek.key), keeping the old ones to unwrap
 *   govshare keys rotate-kek                  re-wrap every data key under the current KEK (docs/ENCRYPTION.md)
 *   govshare keys rotate-index                a new lookup-index key version; every resource converted now (one group
 *                                             of resources per transaction), then the old version retired
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { verifyArchiveLines } from './audit/archive-model.js';
import { type AuditExport, type Finding, verifyExport } from './audit/seal-model.js';

const USAGE = `usage: govshare audit seal | status | verify [--from N] [--to M]
                     | export --from N --to M [--out FILE] | verify-export FILE [--key-id ID ...]
                     | archive --until DATE --out FILE | verify --archive FILE [--key-id ID ...] | retention
       govshare keys status | rotate --resource ID | encrypt --resource ID | new-kek | rotate-kek
                     | rotate-index`;

const FINDING_ZH: Record<Finding['kind'], string> = {
  block_missing: '区块缺失',
  block_altered: '区块被篡改',
  signature_invalid: '区块签名无效',
  unknown_key: '签名密钥未登记',
  chain_broken: '区块链接断裂',
  leaves_altered: '区块叶哈希被篡改',
  record_altered: '记录被篡改',
  record_removed: '记录被删除',
  record_inserted: '记录被插入',
};

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function intOption(args: string[], name: string): number | undefined {
  const v = option(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${v}"`);
  return n;
}

function printFindings(findings: Finding[]): void {
  for (const f of findings)
    console.log(
      `  ${FINDING_ZH[f.kind]} (${f.kind}): block ${f.blockSeq}${f.recordId !== undefined ? `, record ${f.recordId}` : ''}`,
    );
}

async function withContext<T>(fn: (ctx: import('./context.js').AppContext) => Promise<T>): Promise<T> {
  const { loadConfig } = await import('./config.js');
  const { openContext, closeContext } = await import('./boot.js');
  const ctx = await openContext({ ...loadConfig(), sealIntervalMs: 0 });
  try {
    return await fn(ctx);
  } finally {
    await closeContext(ctx);
  }
}

async function main(argv: string[]): Promise<number> {
  const [area, command, ...args] = argv;
  if (area === 'keys' && command) return keysCommand(command, args);
  if (area !== 'audit' || !command) {
    console.log(USAGE);
    return area ? 2 : 0;
  }
  const seal = await import('./audit/seal.js');
  switch (command) {
    case 'seal':
      return withContext(async (ctx) => {
        const r = await seal.sealPending(ctx, Number.MAX_SAFE_INTEGER);
        console.log(`sealed ${r.records} records in ${r.blocks} blocks`);
        return 0;
      });
    case 'status':
      return withContext(async (ctx) => {
        console.log(JSON.stringify(await seal.sealStatus(ctx.db), null, 2));
        return 0;
      });
    case 'verify':
      if (option(args, '--archive')) return verifyArchiveFile(option(args, '--archive') as string, args);
      return withContext(async (ctx) => {
        const t0 = Date.now();
        const r = await seal.verifyAudit(ctx, {
          fromSeq: intOption(args, '--from'),
          toSeq: intOption(args, '--to'),
        });
        console.log(
          `blocks ${r.fromSeq}..${r.toSeq}: ${r.blocksChecked} blocks, ${r.recordsChecked} records checked in ${Date.now() - t0} ms`,
        );
        if (r.ok) console.log('OK: the chain and every sealed record are intact');
        else {
          console.log(`FAILED: ${r.findingCount} findings`);
          printFindings(r.findings);
        }
        return r.ok ? 0 : 1;
      });
    case 'export':
      return withContext(async (ctx) => {
        const from = intOption(args, '--from');
        const to = intOption(args, '--to');
        if (!from || !to) throw new Error('export needs --from N --to M');
        const data = await seal.exportAudit(ctx.db, from, to);
        const text = JSON.stringify(data);
        const out = option(args, '--out');
        if (out) fs.writeFileSync(out, text);
        else process.stdout.write(`${text}\n`);
        if (out) console.log(`wrote ${data.blocks.length} blocks to ${out}`);
        return 0;
      });
    case 'archive':
      return withContext(async (ctx) => {
        const until = option(args, '--until');
        const out = option(args, '--out');
        if (!until || !out || Number.isNaN(Date.parse(until)))
          throw new Error('archive needs --until DATE --out FILE');
        const { writeArchive } = await import('./audit/archive.js');
        const stream = fs.createWriteStream(out, { flags: 'wx' });
        try {
          const s = await writeArchive(ctx, {
            until: new Date(until),
            out: stream,
            fileName: out,
            actor: null,
            via: 'cli',
          });
          console.log(
            `archived blocks ${s.fromSeq}..${s.toSeq} (${s.records} records) to ${out}; SHA-256 ${s.fileSha256}; last block hash ${s.lastBlockHash}`,
          );
          return 0;
        } catch (e) {
          stream.destroy();
          fs.rmSync(out, { force: true });
          throw e;
        }
      });
    case 'retention':
      return withContext(async (ctx) => {
        const { applyRetention } = await import('./audit/archive.js');
        const r = await applyRetention(ctx, ctx.clock.now());
        console.log(JSON.stringify(r, null, 2));
        return 0;
      });
    case 'verify-export': {
      const file = args[0];
      if (!file) throw new Error('verify-export needs a file');
      const data = JSON.parse(fs.readFileSync(file, 'utf8')) as AuditExport;
      const pinned = args.flatMap((a, i) => (args[i - 1] === '--key-id' ? [a] : []));
      const unknown = data.keys.filter((k) => pinned.length > 0 && !pinned.includes(k.keyId));
      if (unknown.length) {
        console.log(`FAILED: keys not among the pinned ones: ${unknown.map((k) => k.keyId).join(', ')}`);
        return 1;
      }
      const findings = verifyExport(data);
      const records = data.blocks.reduce((n, b) => n + b.records.length, 0);
      console.log(`${data.blocks.length} blocks, ${records} records in ${file}`);
      if (findings.length === 0) console.log('OK: the export is intact and correctly signed');
      else {
        console.log(`FAILED: ${findings.length} findings`);
        printFindings(findings);
      }
      return findings.length === 0 ? 0 : 1;
    }
    default:
      console.error(`unknown command: audit ${command}`);
      return 2;
  }
}

async function verifyArchiveFile(file: string, args: string[]): Promise<number> {
  const pinned = args.flatMap((a, i) => (args[i - 1] === '--key-id' ? [a] : []));
  const lines = readline.createInterface({
    input: fs.createReadStream(file),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  const r = await verifyArchiveLines(lines, pinned);
  console.log(`${r.blocks} blocks (${r.fromSeq ?? '-'}..${r.toSeq ?? '-'}), ${r.records} records in ${file}`);
  if (r.header?.previous)
    console.log(
      `links to block ${r.header.previous.seq} (hash ${r.header.previous.blockHash}): the archive before`,
    );
  if (r.lastBlockHash) console.log(`last block hash ${r.lastBlockHash}`);
  for (const p of r.problems) console.log(`  ${p}`);
  if (r.ok) console.log('OK: the archive is complete, intact and correctly signed');
  else {
    console.log(`FAILED: ${r.findings.length} findings, ${r.problems.length} problems`);
    printFindings(r.findings.slice(0, 1000));
  }
  return r.ok ? 0 : 1;
}

/** Key management (docs/ENCRYPTION.md): the operator's side of the administrator's console panel, audited alike. */
async function keysCommand(command: string, args: string[]): Promise<number> {
  const keys = await import('./security/key-service.js');
  switch (command) {
    case 'status':
      return withContext(async (ctx) => {
        console.log(JSON.stringify(await keys.keyStatus(ctx, null), null, 2));
        return 0;
      });
    case 'rotate': {
      const id = intOption(args, '--resource');
      if (!id) {
        console.error('keys rotate needs --resource ID');
        return 2;
      }
      return withContext(async (ctx) => {
        const r = await keys.rotateDataKey(ctx, null, id);
        await keys.reencryptJob(ctx, { resourceId: id });
        console.log(`resource ${id}: data key version ${r.version}; every value re-encrypted`);
        return 0;
      });
    }
    case 'encrypt': {
      const id = intOption(args, '--resource');
      if (!id) {
        console.error('keys encrypt needs --resource ID');
        return 2;
      }
      return withContext(async (ctx) => {
        const convert = await import('./security/key-convert.js');
        await convert.requestEncryption(ctx, null, id);
        const fields = await convert.convertResource(ctx, id);
        console.log(`resource ${id}: ${fields.join(', ')} converted to encrypted storage`);
        return 0;
      });
    }
    case 'rotate-index':
      return withContext(async (ctx) => {
        const rot = await import('./security/index-rotation.js');
        const r = await rot.rotateIndexKey(ctx, null);
        await rot.rotateIndexJob(ctx);
        console.log(
          `lookup-index key version ${r.version}: ${r.resourcesLeft} resource(s) converted, older version retired`,
        );
        return 0;
      });
    case 'new-kek': {
      const { loadConfig } = await import('./config.js');
      const { addKekToFile } = await import('./security/field-keys.js');
      const c = loadConfig();
      if (c.fieldKek) {
        console.error('GOVSHARE_KEK is set: put the new key there and the old one in GOVSHARE_KEK_PREVIOUS');
        return 2;
      }
      const file = c.fieldKekFile ?? `${c.dataDir}/field-kek.key`;
      console.log(
        `new key-encryption key ${addKekToFile(file)} at the head of ${file}; now run keys rotate-kek`,
      );
      return 0;
    }
    case 'rotate-kek':
      return withContext(async (ctx) => {
        const r = await keys.rotateKek(ctx, null);
        console.log(`re-wrapped ${r.rewrapped} data keys under ${r.kek}; unreadable: ${r.unreadable}`);
        return r.unreadable ? 1 : 0;
      });
    default:
      console.error(`unknown command: keys ${command}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`govshare: ${e.message}`);
    process.exit(2);
  },
);
