import {
  type Cipher,
  createCipheriv,
  createDecipheriv,
  createHmac,
  getCiphers,
  getHashes,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { hmac } from '../shared/secrets.js';

/*
 * Field encryption primitives (issue 10 point 3, docs/ENCRYPTION.md). No I/O here: the keyring (field-keys.ts) loads
 * and wraps keys, this file seals and opens values.
 *
 * Ciphers, chosen by configuration (GOVSHARE_FIELD_CIPHER) and recorded in every value:
 *   's' — SM4 (GB/T 32907) in CTR mode + HMAC-SM3 (GB/T 32905) over header‖iv‖ciphertext, encrypt-then-MAC, tag cut to
 *         128 bits. Node 20's OpenSSL offers sm4-ctr/-cbc but no SM4 AEAD (no sm4-gcm), so the AEAD is composed.
 *   'a' — AES-256-GCM (96-bit IV, 128-bit tag), the header as additional data.
 * A value: `ENC1.<alg>.<resource>.<key version>.<base64url(iv‖ct‖tag)>`. The header is authenticated, so moving a
 * value to another resource, or relabelling its version, fails the tag. Encryption keys are derived from the 64-byte
 * data key per algorithm (HMAC-SHA256 with a label), so one data key never feeds two ciphers directly.
 */

export type CipherAlg = 's' | 'a';
export const CIPHER_NAMES: Record<CipherAlg, string> = { s: 'sm4', a: 'aes-256-gcm' };

export const SM4_SUPPORTED = getCiphers().includes('sm4-ctr') && getHashes().includes('sm3');

/** The configured cipher, or sm4 when the Node build offers it (aes-256-gcm otherwise). */
export function cipherFromConfig(name: string | null | undefined): CipherAlg {
  if (name === 'aes-256-gcm' || name === 'aes') return 'a';
  if (name === 'sm4') {
    if (!SM4_SUPPORTED) throw new Error('GOVSHARE_FIELD_CIPHER=sm4 but this Node build has no sm4-ctr / sm3');
    return 's';
  }
  if (name) throw new Error(`GOVSHARE_FIELD_CIPHER must be sm4 or aes-256-gcm, not ${name}`);
  return SM4_SUPPORTED ? 's' : 'a';
}

/** The keyed hash of the lookup index: HMAC-SM3 where available, HMAC-SHA256 otherwise (recorded on the key row). */
export const INDEX_HASH = SM4_SUPPORTED ? 'sm3' : 'sha256';

export interface DataKey {
  scope: number;
  version: number;
  sm4Enc: Buffer;
  sm4Mac: Buffer;
  aes: Buffer;
}

const derive = (material: Buffer, label: string, len: number) =>
  createHmac('sha256', material).update(label).digest().subarray(0, len);

export function dataKeyOf(scope: number, version: number, material: Buffer): DataKey {
  return {
    scope,
    version,
    sm4Enc: derive(material, 'govshare/sm4-ctr', 16),
    sm4Mac: derive(material, 'govshare/hmac-sm3', 32),
    aes: derive(material, 'govshare/aes-256-gcm', 32),
  };
}

const PREFIX = 'ENC1.';
/** A stored ciphertext, strictly: ingest refuses a clear value of this shape (VALUE_RESERVED). */
export const CIPHERTEXT = /^ENC1\.([sa])\.([0-9]{1,12})\.([0-9]{1,6})\.([A-Za-z0-9_-]{20,})$/;

export const isCiphertext = (v: unknown): v is string =>
  typeof v === 'string' && v.startsWith(PREFIX) && CIPHERTEXT.test(v);

/** Algorithm and key version of a stored value (null: not a ciphertext). */
export function describe(v: string): { alg: CipherAlg; scope: number; version: number } | null {
  const m = CIPHERTEXT.exec(v);
  return m ? { alg: m[1] as CipherAlg, scope: Number(m[2]), version: Number(m[3]) } : null;
}

/** Raw AEAD over bytes (also wraps data keys under the key-encryption key). */
export function sealBytes(alg: CipherAlg, key: DataKey, aad: string, plain: Buffer): Buffer {
  if (alg === 'a') {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key.aes, iv);
    c.setAAD(Buffer.from(aad));
    const ct = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([iv, ct, c.getAuthTag()]);
  }
  const iv = randomBytes(16);
  const ct = sm4Ctr(key.sm4Enc, iv, plain);
  const tag = hmac('sm3', key.sm4Mac, aad, iv, ct).subarray(0, 16);
  return Buffer.concat([iv, ct, tag]);
}

/** Opens sealed bytes; null when the tag does not verify (tampered, wrong key or wrong header). */
export function openBytes(alg: CipherAlg, key: DataKey, aad: string, sealed: Buffer): Buffer | null {
  if (alg === 'a') {
    if (sealed.length < 28) return null;
    const iv = sealed.subarray(0, 12);
    const tag = sealed.subarray(sealed.length - 16);
    const d = createDecipheriv('aes-256-gcm', key.aes, iv);
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(tag);
    try {
      return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
    } catch {
      return null;
    }
  }
  if (!sm4Sealed(key, aad, sealed)) return null;
  return sm4Ctr(key.sm4Enc, sealed.subarray(0, 16), sealed.subarray(16, sealed.length - 16));
}

/** Whether SM4-sealed bytes (iv ‖ ciphertext ‖ tag) are whole and their HMAC-SM3 tag over aad ‖ iv ‖ ciphertext verifies. */
function sm4Sealed(key: DataKey, aad: string, sealed: Buffer): boolean {
  if (sealed.length < 32) return false;
  const want = hmac('sm3', key.sm4Mac, aad, sealed.subarray(0, sealed.length - 16)).subarray(0, 16);
  return timingSafeEqual(sealed.subarray(sealed.length - 16), want);
}

/** Per SM4 key, one ECB block cipher without padding: the keystream of every value under that key (`sm4Ctr`). */
const sm4Blocks = new WeakMap<Buffer, Cipher>();

/**
 * SM4-CTR (GB/T 32907 in counter mode, as OpenSSL's `sm4-ctr`: the 16-byte IV is the initial counter block, incremented
 * as one big-endian 128-bit integer per block): the keystream is the key's ECB encryption of the counter blocks, XORed
 * with the data; encryption and decryption are the same operation. One ECB cipher per key is kept instead of a cipher
 * context per value (its setup cost more than the value's own work when an export decrypts a column row by row); the
 * bytes are identical to `createCipheriv('sm4-ctr', key, iv)` (src/security/field-cipher.test.ts).
 */
export function sm4Ctr(encKey: Buffer, iv: Buffer, data: Buffer): Buffer {
  const counters = Buffer.allocUnsafe(Math.ceil(data.length / 16) * 16);
  counterBlocks(iv, counters, 0, counters.length);
  const stream = sm4Ecb(encKey).update(counters);
  const out = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] ^ stream[i];
  return out;
}

function sm4Ecb(encKey: Buffer): Cipher {
  let ecb = sm4Blocks.get(encKey);
  if (!ecb) {
    ecb = createCipheriv('sm4-ecb', encKey, null).setAutoPadding(false);
    sm4Blocks.set(encKey, ecb);
  }
  return ecb;
}

/** Writes the counter blocks from `iv` into `out[from, to)`: +1 per block, big-endian, carrying over all 16 bytes. */
function counterBlocks(iv: Buffer, out: Buffer, from: number, to: number): void {
  if (to <= from) return;
  iv.copy(out, from, 0, 16);
  for (let at = from + 16; at < to; at += 16) {
    out.copy(out, at, at - 16, at);
    // wraps at 2^128 like OpenSSL's CRYPTO_ctr128
    for (let i = at + 15; i >= at; i--) {
      out[i] = (out[i] + 1) & 0xff;
      if (out[i] !== 0) break;
    }
  }
}

/**
 * The clear texts of many stored values at once (a bulk export's batch), each exactly what `decryptValue` with its own
 * key gives (null where that gives null; `keyOf` answers a value's key or nothing). The SM4 values' keystreams come
 * from one ECB call per key over all their counter blocks instead of one call per value: the call, not the cipher,
 * was most of a short value's cost.
 */
export function decryptValues(
  keyOf: (d: { alg: CipherAlg; scope: number; version: number }) => DataKey | undefined,
  values: string[],
): (string | null)[] {
  const out: (string | null)[] = new Array(values.length).fill(null);
  // per SM4 key: the values to open (sealed = iv ‖ ciphertext ‖ tag) and where their counter blocks start
  const pending = new Map<Buffer, { i: number; sealed: Buffer; at: number }[]>();
  const sizes = new Map<Buffer, number>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const d = describe(v);
    const key = d && keyOf(d);
    if (!d || !key || d.scope !== key.scope || d.version !== key.version) continue;
    if (d.alg !== 's') {
      out[i] = decryptValue(key, v, d);
      continue;
    }
    const h = header(d.alg, d.scope, d.version);
    const sealed = Buffer.from(v.slice(h.length), 'base64url');
    if (!sm4Sealed(key, h, sealed)) continue;
    const at = sizes.get(key.sm4Enc) ?? 0;
    let jobs = pending.get(key.sm4Enc);
    if (!jobs) {
      jobs = [];
      pending.set(key.sm4Enc, jobs);
    }
    jobs.push({ i, sealed, at });
    sizes.set(key.sm4Enc, at + Math.ceil((sealed.length - 32) / 16) * 16);
  }
  for (const [encKey, jobs] of pending) {
    const counters = Buffer.allocUnsafe(sizes.get(encKey) ?? 0);
    for (const { sealed, at } of jobs)
      counterBlocks(sealed, counters, at, at + Math.ceil((sealed.length - 32) / 16) * 16);
    const stream = sm4Ecb(encKey).update(counters);
    for (const { i, sealed, at } of jobs) {
      const plain = Buffer.allocUnsafe(sealed.length - 32);
      for (let b = 0; b < plain.length; b++) plain[b] = sealed[16 + b] ^ stream[at + b];
      out[i] = plain.toString('utf8');
    }
  }
  return out;
}

const header = (alg: CipherAlg, scope: number, version: number) => `${PREFIX}${alg}.${scope}.${version}.`;

export function encryptValue(alg: CipherAlg, key: DataKey, value: string): string {
  const h = header(alg, key.scope, key.version);
  return h + sealBytes(alg, key, h, Buffer.from(value, 'utf8')).toString('base64url');
}

/** The clear text of a stored value, or null when its tag does not verify. `key` must be the value's own. */
export function decryptValue(
  key: DataKey,
  value: string,
  d: { alg: CipherAlg; scope: number; version: number } | null = describe(value),
): string | null {
  if (!d || d.scope !== key.scope || d.version !== key.version) return null;
  const h = header(d.alg, d.scope, d.version);
  const out = openBytes(d.alg, key, h, Buffer.from(value.slice(h.length), 'base64url'));
  return out ? out.toString('utf8') : null;
}

/**
 * The lookup index of a value (equality only): `H<n>.` + base64url(HMAC(index key version n, value)). The marker names
 * the index-key version that made it (docs/ENCRYPTION.md "Rotating the lookup-index key"): `H1.` values from before
 * any rotation read as version 1.
 */
export function indexValue(indexKey: Buffer, value: string, version = 1): string {
  return `H${version}.${hmac(INDEX_HASH, indexKey, value).toString('base64url')}`;
}

/** The index-key version a stored hash was made under (null: not a lookup hash). */
export function indexVersionOf(v: string): number | null {
  const m = /^H([0-9]{1,6})\.[A-Za-z0-9_-]{20,}$/.exec(v);
  return m ? Number(m[1]) : null;
}
