/*
 * SHA-256 (FIPS 180-4) and SM3 (GB/T 32905-2016) in JavaScript, for the keyed hashes govshare computes per value and
 * per row: the tag of every SM4 value (HMAC-SM3), the export ledger's digests and the audit's record-key pseudonyms
 * (HMAC-SHA256). Those messages are a few dozen bytes, so a call into OpenSSL costs more in crossing than in hashing,
 * and an HMAC through it hashes the key's pad block again for every message. Here an HMAC key's two pad blocks are
 * compressed once (`midstate`) and each message costs its own blocks only: measured 0.8 µs against 2.1–2.3 µs for the
 * one-shot native HMAC-SM3 of a 40-byte message (bench/README.md "Hashing in JavaScript").
 *
 * Equal to node:crypto for every length (src/shared/digest.test.ts compares them on random keys and messages). Only
 * 32-bit additions, rotations and bitwise operations on the data: no table indexed by secret bytes, no branch on them.
 * Long inputs (bulk files) stay with node:crypto.
 */

export type DigestAlg = 'sha256' | 'sm3';

/** 64-byte blocks, 32-byte digests, for both. */
export const BLOCK_BYTES = 64;
export const DIGEST_BYTES = 32;

const SHA256_IV = Int32Array.of(
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
);
// biome-ignore format: the FIPS 180-4 table, eight words a row as published
const SHA256_K = Int32Array.of(
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
);

const SM3_IV = Int32Array.of(
  0x7380166f,
  0x4914b2b9,
  0x172442d7,
  0xda8a0600,
  0xa96f30bc,
  0x163138aa,
  0xe38dee4d,
  0xb0fb0e4e,
);
/** T_j rotated left by j mod 32, as round j adds it. */
const SM3_T = new Int32Array(64);
for (let j = 0; j < 64; j++) {
  const t = j < 16 ? 0x79cc4519 : 0x7a879d8a;
  const r = j % 32;
  SM3_T[j] = r === 0 ? t : (t << r) | (t >>> (32 - r));
}

/** Expanded message words of the block being compressed (SM3 uses 68). */
const W = new Int32Array(68);

function loadBlock(buf: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++, off += 4)
    W[i] = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
}

function sha256Block(V: Int32Array, buf: Uint8Array, off: number): void {
  loadBlock(buf, off);
  for (let t = 16; t < 64; t++) {
    const x = W[t - 15];
    const y = W[t - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
  }
  let a = V[0];
  let b = V[1];
  let c = V[2];
  let d = V[3];
  let e = V[4];
  let f = V[5];
  let g = V[6];
  let h = V[7];
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + SHA256_K[t] + W[t]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  V[0] = (V[0] + a) | 0;
  V[1] = (V[1] + b) | 0;
  V[2] = (V[2] + c) | 0;
  V[3] = (V[3] + d) | 0;
  V[4] = (V[4] + e) | 0;
  V[5] = (V[5] + f) | 0;
  V[6] = (V[6] + g) | 0;
  V[7] = (V[7] + h) | 0;
}

function sm3Block(V: Int32Array, buf: Uint8Array, off: number): void {
  loadBlock(buf, off);
  for (let j = 16; j < 68; j++) {
    const w3 = W[j - 3];
    let x = W[j - 16] ^ W[j - 9] ^ ((w3 << 15) | (w3 >>> 17));
    x = x ^ ((x << 15) | (x >>> 17)) ^ ((x << 23) | (x >>> 9)); // P1
    const w13 = W[j - 13];
    W[j] = x ^ ((w13 << 7) | (w13 >>> 25)) ^ W[j - 6];
  }
  let a = V[0];
  let b = V[1];
  let c = V[2];
  let d = V[3];
  let e = V[4];
  let f = V[5];
  let g = V[6];
  let h = V[7];
  for (let j = 0; j < 64; j++) {
    const a12 = (a << 12) | (a >>> 20);
    let ss1 = (a12 + e + SM3_T[j]) | 0;
    ss1 = (ss1 << 7) | (ss1 >>> 25);
    // FF and GG: XOR in rounds 0–15, majority and choice from round 16
    const ff = j < 16 ? a ^ b ^ c : (a & b) | (a & c) | (b & c);
    const gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g);
    const tt1 = (ff + d + (ss1 ^ a12) + (W[j] ^ W[j + 4])) | 0;
    const tt2 = (gg + h + ss1 + W[j]) | 0;
    d = c;
    c = (b << 9) | (b >>> 23);
    b = a;
    a = tt1;
    h = g;
    g = (f << 19) | (f >>> 13);
    f = e;
    e = tt2 ^ ((tt2 << 9) | (tt2 >>> 23)) ^ ((tt2 << 17) | (tt2 >>> 15)); // P0
  }
  V[0] ^= a;
  V[1] ^= b;
  V[2] ^= c;
  V[3] ^= d;
  V[4] ^= e;
  V[5] ^= f;
  V[6] ^= g;
  V[7] ^= h;
}

const ENGINES = {
  sha256: { iv: SHA256_IV, block: sha256Block },
  sm3: { iv: SM3_IV, block: sm3Block },
} as const;

/** The chaining state after `block` (64 bytes) hashed from the start: an HMAC key's pad, hashed once per key. */
export function midstate(alg: DigestAlg, block: Uint8Array): Int32Array {
  const { iv, block: compress } = ENGINES[alg];
  const v = Int32Array.from(iv);
  compress(v, block, 0);
  return v;
}

const state = new Int32Array(8);
const tail = new Uint8Array(2 * BLOCK_BYTES);

/**
 * Writes into `out` at `outAt` the digest of (`prefixBytes` already hashed into `from`, or none: `from` null) followed
 * by `src[0, len)`. `prefixBytes` is a multiple of 64 (whole blocks).
 */
export function digestInto(
  alg: DigestAlg,
  from: Int32Array | null,
  prefixBytes: number,
  src: Uint8Array,
  len: number,
  out: Uint8Array,
  outAt: number,
): void {
  const { iv, block: compress } = ENGINES[alg];
  state.set(from ?? iv);
  let at = 0;
  for (; len - at >= BLOCK_BYTES; at += BLOCK_BYTES) compress(state, src, at);
  const rest = len - at;
  for (let i = 0; i < rest; i++) tail[i] = src[at + i];
  tail[rest] = 0x80;
  const end = rest + 9 <= BLOCK_BYTES ? BLOCK_BYTES : 2 * BLOCK_BYTES;
  tail.fill(0, rest + 1, end - 8);
  // the message length in bits, 64 bits big-endian (both hashes pad alike)
  const bits = (prefixBytes + len) * 8;
  const hi = Math.floor(bits / 0x100000000);
  const lo = bits >>> 0;
  tail[end - 8] = hi >>> 24;
  tail[end - 7] = hi >>> 16;
  tail[end - 6] = hi >>> 8;
  tail[end - 5] = hi;
  tail[end - 4] = lo >>> 24;
  tail[end - 3] = lo >>> 16;
  tail[end - 2] = lo >>> 8;
  tail[end - 1] = lo;
  compress(state, tail, 0);
  if (end > BLOCK_BYTES) compress(state, tail, BLOCK_BYTES);
  for (let i = 0; i < 8; i++, outAt += 4) {
    const v = state[i];
    out[outAt] = v >>> 24;
    out[outAt + 1] = v >>> 16;
    out[outAt + 2] = v >>> 8;
    out[outAt + 3] = v;
  }
}
