/**
 * Leaf hashes of record batches (src/audit/canonical.ts), in this thread or in worker threads. Verifying a million
 * records is a million SM3 calls (≈ 2 µs each here, most of it the call, not the 250 bytes); worker threads take them
 * off the thread that reads and writes the next blocks' texts, and use the host's other cores.
 *
 * A leaf is H(0x00 ‖ canonical text) (src/audit/seal-model.ts); a batch already holds each record as 0x00 ‖ text, so a
 * leaf is one hash call over a slice, here and in the workers alike. The workers also build the Merkle root of the
 * block's stored leaves (as many hash calls again) with seal-model's merkleRootPacked, whose source they are given. The
 * workers' code is the few lines below, given as a string (it needs only node:crypto, and so runs the same under tsx,
 * vitest and the built server).
 */
import crypto, { createHash } from 'node:crypto';
import { WorkerPool } from '../shared/worker-pool.js';
import { canonicalRecords, canonicalWriter } from './canonical.js';
import { type HashAlg, merkleRootPacked } from './seal-model.js';

const HASH_BYTES = 32;

/** Node ≥ 20.12's one-shot hash (about half the cost of createHash for short inputs). */
const oneShot = (crypto as unknown as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer })
  .hash;

/** Hashes input[offsets[i], offsets[i + 1]) for every i into 32-byte leaves, packed. */
export function hashSlices(alg: HashAlg, input: Buffer, offsets: Uint32Array): Buffer {
  const n = offsets.length - 1;
  const out = Buffer.allocUnsafe(HASH_BYTES * n);
  for (let i = 0; i < n; i++) {
    const slice = input.subarray(offsets[i], offsets[i + 1]);
    const h = oneShot ? oneShot(alg, slice, 'buffer') : createHash(alg).update(slice).digest();
    h.copy(out, HASH_BYTES * i);
  }
  return out;
}

const WORKER_SOURCE = `
const crypto = require('node:crypto');
const { parentPort } = require('node:worker_threads');
const __name = (f) => f; // in case a transpiler kept function names in the source below
const merkleRootPacked = (${merkleRootPacked.toString()});
const canonicalRecords = (${canonicalWriter.toString()})();
parentPort.on('message', (m) => {
  try { answer(m); } catch (e) { parentPort.postMessage({ id: m.id, ok: false, error: String(e && e.message || e) }); }
});
function answer(m) {
  const h = crypto.hash
    ? (d) => crypto.hash(m.alg, d, 'buffer')
    : (d) => crypto.createHash(m.alg).update(d).digest();
  const batch = canonicalRecords(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength), m.copyHeader);
  const n = batch.count;
  const out = Buffer.alloc(32 * n);
  for (let i = 0; i < n; i++) h(batch.input.subarray(batch.offsets[i], batch.offsets[i + 1])).copy(out, 32 * i);
  const root = m.stored ? merkleRootPacked(m.stored, h) : null;
  const ids = batch.ids.slice();
  parentPort.postMessage({ id: m.id, ok: true, value: { ids, leaves: out, root } }, [out.buffer, ids.buffer]);
}
`;

/** Records as read: COPY binary output (with its header when copyHeader) or bare tuples (the SELECT path). */
export interface RawRecords {
  data: Buffer;
  copyHeader: boolean;
}

/** Records' ids and leaves (packed, in the order read) and the Merkle root of the block's stored leaves, when asked. */
export interface Hashed {
  ids: Float64Array;
  leaves: Buffer;
  root: string | null;
}

/**
 * Hashes batches' leaves on `workers` worker threads (0: in this thread), a batch at a time per worker, given to the
 * worker with the fewest batches queued (the shared pool, src/shared/worker-pool.ts). close() ends the workers; a
 * hasher is made per verification.
 */
export class LeafHasher {
  readonly #pool: WorkerPool | null;

  constructor(workers: number) {
    this.#pool = workers > 0 ? new WorkerPool({ source: WORKER_SOURCE }, workers) : null;
  }

  get workers(): number {
    return this.#pool?.size ?? 0;
  }

  /**
   * Writes the records' canonical texts (canonical.ts) and hashes their leaves, packed 32 bytes each in the order read,
   * and the Merkle root of `stored` (a block's sealed leaves, packed) when given. `raw.data` is not used afterwards.
   */
  prepare(alg: HashAlg, raw: RawRecords, stored?: Uint8Array): Promise<Hashed> {
    if (!this.#pool) {
      const h = (d: Uint8Array) => (oneShot ? oneShot(alg, d, 'buffer') : createHash(alg).update(d).digest());
      const batch = canonicalRecords(raw.data, raw.copyHeader);
      return Promise.resolve({
        ids: batch.ids,
        leaves: hashSlices(alg, batch.input, batch.offsets),
        root: stored ? Buffer.from(merkleRootPacked(stored, h)).toString('hex') : null,
      });
    }
    // copied, not transferred: the data may be a slice of a larger buffer
    return this.#pool
      .run<{ ids: Float64Array; leaves: Uint8Array; root: Uint8Array | null }>({
        alg,
        data: raw.data,
        copyHeader: raw.copyHeader,
        stored: stored ?? null,
      })
      .then((m) => ({
        ids: m.ids,
        leaves: Buffer.from(m.leaves.buffer, m.leaves.byteOffset, m.leaves.byteLength),
        root: m.root ? Buffer.from(m.root).toString('hex') : null,
      }));
  }

  async close(): Promise<void> {
    await this.#pool?.close();
  }
}
