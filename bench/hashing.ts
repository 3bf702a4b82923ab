/*
 * `npm run bench:hashing`: the keyed hashes govshare computes per value and per row (src/shared/digest.ts), against
 * node:crypto in the same run.
 *
 *   baseline  node:crypto, the fastest form for one short message: the key's pads prepared once, then two one-shot
 *             `crypto.hash` calls (what src/shared/secrets.ts `hmac` did before the JavaScript hashes)
 *   govshare  `hmac()` of src/shared/secrets.ts: the pads' chaining states hashed once per key, each message's own
 *             blocks in JavaScript
 *
 * Messages as the platform hashes them: an SM4 value's tag input (≈ 40 bytes, HMAC-SM3), a ledger key digest
 * (`key\n` + an 18-character ID number, HMAC-SHA256) and a ledger row digest (a JSON array of four masked cells,
 * HMAC-SHA256). Reports ns per HMAC (median of ROUNDS alternating rounds) and the ratio baseline / govshare (> 1:
 * govshare faster). Every digest of both is compared; a difference exits 1. Knobs: ROUNDS (5), N (200000 per round).
 */
import { hash, randomBytes } from 'node:crypto';
import { hmac } from '../src/shared/secrets.js';
import { loadAverage, median } from './stats.js';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const N = Number(process.env.N ?? 200_000);

function nativeHmac(alg: 'sha256' | 'sm3', key: Buffer) {
  const k = Buffer.alloc(64);
  key.copy(k);
  const ipad = Buffer.alloc(64);
  const outer = Buffer.alloc(96);
  for (let i = 0; i < 64; i++) {
    ipad[i] = k[i] ^ 0x36;
    outer[i] = k[i] ^ 0x5c;
  }
  const scratch = Buffer.alloc(4096);
  return (m: Buffer) => {
    ipad.copy(scratch, 0);
    const n = 64 + m.copy(scratch, 64);
    hash(alg, scratch.subarray(0, n), 'buffer').copy(outer, 64);
    return hash(alg, outer, 'buffer');
  };
}

const key = randomBytes(32);
const cases = [
  { name: 'SM4 value tag (HMAC-SM3, 40 B)', alg: 'sm3' as const, make: () => randomBytes(40) },
  {
    name: 'ledger key digest (HMAC-SHA256, 22 B)',
    alg: 'sha256' as const,
    make: () => Buffer.from(`key\n44010319${randomBytes(5).toString('hex')}`),
  },
  {
    name: 'ledger row digest (HMAC-SHA256, ≈ 60 B)',
    alg: 'sha256' as const,
    make: () =>
      Buffer.from(
        `row\n${JSON.stringify(['440***********1234', '张*', '男', `${randomBytes(3).toString('hex')}-**-**`])}`,
      ),
  },
];

let failed = false;
console.log(`keyed hashes, ${N.toLocaleString('en')} messages × ${ROUNDS} rounds; load ${loadAverage()}`);
for (const c of cases) {
  const msgs = Array.from({ length: 1000 }, c.make);
  const native = nativeHmac(c.alg, key);
  for (const m of msgs)
    if (!native(m).equals(hmac(c.alg, key, m))) {
      failed = true;
      console.log(`  CHECK FAILED: ${c.name} differs from node:crypto`);
    }
  const times: Record<'baseline' | 'govshare', number[]> = { baseline: [], govshare: [] };
  for (let r = 0; r < ROUNDS; r++)
    for (const which of ['baseline', 'govshare'] as const) {
      const f = which === 'baseline' ? native : (m: Buffer) => hmac(c.alg, key, m);
      let x = 0;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) x ^= f(msgs[i % 1000])[0];
      times[which].push(Number(process.hrtime.bigint() - t0) / N);
      if (x < 0) console.log(x); // keeps the loop's result alive
    }
  const b = median(times.baseline);
  const g = median(times.govshare);
  console.log(
    `${c.name.padEnd(42)} baseline ${b.toFixed(0).padStart(5)} ns  govshare ${g.toFixed(0).padStart(5)} ns  ratio ${(b / g).toFixed(2)}`,
  );
}
console.log(`load ${loadAverage()}`);
if (failed) process.exit(1);
