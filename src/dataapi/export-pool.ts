import { availableParallelism } from 'node:os';
import type { DataKey } from '../security/field-cipher.js';
import { WorkerPool } from '../shared/worker-pool.js';
import type { DecryptMessage, DigestMessage } from './export-worker.js';
import { ledgerDigests } from './ledger-digests.js';

/*
 * Worker threads of the bulk export (EXPORT_WORKERS; bench/README.md "export.ts"): while the export's thread parses
 * and masks one batch, a worker opens the next batch's encrypted values or computes the previous batch's ledger
 * digests. The work and its results are the same as in the export's thread (export-worker.ts runs the same functions);
 * only where it runs changes. One pool per process, started at the first export that uses it.
 */

let pool: WorkerPool | null = null;
let poolSize = 0;

/**
 * Worker threads when EXPORT_WORKERS is not set: one on a host with two cores or more, none on a single core.
 * Measured on the 2-core test machine (bench/README.md "export.ts", 2026-12-01): one worker moves the export's hashing
 * off its thread (that thread's CPU 13–15 → 4.6–6 µs a row; the process as a whole spends ≈ 1 µs a row more, the copies
 * to the worker) and raised the governed export from 64 000–67 000 to 74 000–78 000 rows/s at load ≈ 2 (11:46 on a quiet
 * machine: 37 000–45 000 → 50 000–52 000), ≈ equal at load 3–4 (46 000–54 000 → 54 000), and was inconclusive either way
 * at load 5–7 (spread 23 000–78 000 on both sides). A second worker never beat one (42 000–80 000, more CPU in all):
 * the worker then idles part of the time and the export is bound by the host's two cores. A single-core host has no
 * core to give a worker, so none there.
 */
export function defaultExportWorkers(): number {
  return availableParallelism() >= 2 ? 1 : 0;
}

/** What the workers did in this process (read by tests and the bench: a pool that is configured but unused shows). */
export const exportWorkerStats = { decryptedValues: 0, digestedRows: 0 };

function exportPool(size: number): WorkerPool | null {
  if (size <= 0) return null;
  if (!pool || pool.broken || poolSize !== size) {
    pool?.close().catch(() => undefined);
    const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
    pool = new WorkerPool(new URL(`./export-worker.${ext}`, import.meta.url), size);
    poolSize = size;
  }
  return pool;
}

/** A batch's hashing and decryption, in a worker thread when the pool has any, else here. */
export interface ExportHashing {
  /** Clear texts of `values` (null: not opened there; the caller's keyring decrypts it and reports why) or null when
   * there is no worker to do it (the masking's own decryption then runs as always). */
  decrypt(keys: DataKey[], values: string[]): Promise<(string | null)[]> | null;
  digests(
    secret: Buffer,
    codes: string[],
    keys: string[],
    texts: string[][],
  ): Promise<{ keyMacs: Buffer; rowMacs: Buffer; tags: Buffer }>;
}

const u8 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export function exportHashing(workers: number): ExportHashing {
  const p = exportPool(workers);
  if (!p)
    return {
      decrypt: () => null,
      digests: async (secret, codes, keys, texts) => ledgerDigests(secret, codes, keys, texts),
    };
  return {
    decrypt: async (keys, values) => {
      const out = await p.run<(string | null)[]>({ op: 'decrypt', keys, values } satisfies DecryptMessage);
      for (const t of out) if (t !== null) exportWorkerStats.decryptedValues++;
      return out;
    },
    digests: async (secret, codes, keys, texts) => {
      const r = await p.run<{ keyMacs: Uint8Array; rowMacs: Uint8Array; tags: Uint8Array }>({
        op: 'digests',
        secret,
        codes,
        keys: JSON.stringify(keys),
        texts: JSON.stringify(texts),
      } satisfies DigestMessage);
      exportWorkerStats.digestedRows += keys.length;
      return { keyMacs: u8(r.keyMacs), rowMacs: u8(r.rowMacs), tags: u8(r.tags) };
    },
  };
}
