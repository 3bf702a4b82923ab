import { createHash, hash, randomBytes } from 'node:crypto';

/** SHA-256 as hex: how random secrets (session tokens, API keys) are stored. */
export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** A random secret, base64url. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * HMAC-SHA256 as hex under a platform secret: how personal identifiers are stored where they only need to be
 * matched (the audit log's record keys). Whoever holds a key can find it; the stored value alone reveals nothing.
 */
export function keyedHash(secret: Buffer, s: string): string {
  return keyedHashBytes(secret, s).toString('hex');
}

/** keyedHash as its 32 bytes (for digests stored as bytes: the export ledger). */
export function keyedHashBytes(secret: Buffer, s: string): Buffer {
  return hmac('sha256', secret, s);
}

/** Block bytes of SHA-256 and SM3 (both 64), and their digest bytes (both 32). */
const BLOCK = 64;
const DIGEST = 32;

/** Per hash and key: the key XOR ipad (64 bytes), and a buffer holding the key XOR opad followed by the inner digest. */
const hmacPads = { sha256: new WeakMap<Buffer, Pads>(), sm3: new WeakMap<Buffer, Pads>() };
type Pads = { ipad: Buffer; outer: Buffer };
/** Where the inner message is assembled (grown up to 64 KiB; longer messages get their own buffer). */
let scratch = Buffer.allocUnsafe(4096);

/**
 * HMAC (RFC 2104) with SHA-256 or SM3 of the concatenated parts (strings as UTF-8): exactly `createHmac(alg, key)`
 * updated with each part (src/shared/secrets.test.ts). Two one-shot hashes over buffers prepared per key, instead of an
 * HMAC context per message: the key schedule is paid once per key, not per message, which halves the cost of the short
 * messages hashed row by row (export ledger digests, the tag of every decrypted value).
 */
export function hmac(alg: 'sha256' | 'sm3', key: Buffer, ...parts: (string | Buffer)[]): Buffer {
  let pads = hmacPads[alg].get(key);
  if (!pads) {
    const k = Buffer.alloc(BLOCK);
    (key.length > BLOCK ? createHash(alg).update(key).digest() : key).copy(k);
    const ipad = Buffer.alloc(BLOCK);
    const outer = Buffer.alloc(BLOCK + DIGEST);
    for (let i = 0; i < BLOCK; i++) {
      ipad[i] = k[i] ^ 0x36;
      outer[i] = k[i] ^ 0x5c;
    }
    pads = { ipad, outer };
    hmacPads[alg].set(key, pads);
  }
  prefixedHash(alg, pads.ipad, ...parts).copy(pads.outer, BLOCK);
  return hash(alg, pads.outer, 'buffer');
}

/**
 * The hash of prefix ‖ parts (strings as UTF-8) in one call, assembled in a shared buffer: what a hash state copied
 * after the prefix and updated with the parts gives, without a hash object per message (HMAC's inner hash, the export
 * ledger's cell tags).
 */
export function prefixedHash(alg: 'sha256' | 'sm3', prefix: Buffer, ...parts: (string | Buffer)[]): Buffer {
  let bound = prefix.length;
  for (const p of parts) bound += typeof p === 'string' ? p.length * 3 : p.length; // UTF-8: ≤ 3 bytes a UTF-16 unit
  if (bound > scratch.length && bound <= 65536) scratch = Buffer.allocUnsafe(Math.min(65536, bound * 2));
  const buf = bound <= scratch.length ? scratch : Buffer.allocUnsafe(bound);
  let at = prefix.copy(buf, 0);
  for (const p of parts) at += typeof p === 'string' ? buf.write(p, at, 'utf8') : p.copy(buf, at);
  return hash(alg, buf.subarray(0, at), 'buffer');
}
