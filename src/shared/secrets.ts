import { createHash, createHmac, hash, randomBytes } from 'node:crypto';
import { BLOCK_BYTES, DIGEST_BYTES, type DigestAlg, digestInto, midstate } from './digest.js';

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

/** Per hash and key: the chaining states after the key XOR ipad and after the key XOR opad (src/shared/digest.ts). */
const hmacPads = { sha256: new WeakMap<Buffer, Pads>(), sm3: new WeakMap<Buffer, Pads>() };
type Pads = { inner: Int32Array; outer: Int32Array };
/** Where a message is assembled (grown up to 64 KiB; longer messages get their own buffer). */
let scratch = Buffer.allocUnsafe(4096);
/** Bytes above which a message is hashed by node:crypto (its block function wins once its call cost is spread). */
const LONG_INPUT = 1024;
/** The inner digest of the HMAC being computed. */
const innerDigest = Buffer.alloc(DIGEST_BYTES);

/** The parts (strings as UTF-8) concatenated after `prefix`, in the shared buffer or, when longer, a buffer of their own. */
function assemble(prefix: Buffer | null, parts: (string | Buffer)[]): { buf: Buffer; len: number } {
  let bound = prefix?.length ?? 0;
  for (const p of parts) bound += typeof p === 'string' ? p.length * 3 : p.length; // UTF-8: ≤ 3 bytes a UTF-16 unit
  if (bound > scratch.length && bound <= 65536) scratch = Buffer.allocUnsafe(Math.min(65536, bound * 2));
  const buf = bound <= scratch.length ? scratch : Buffer.allocUnsafe(bound);
  let len = prefix ? prefix.copy(buf, 0) : 0;
  for (const p of parts) len += typeof p === 'string' ? buf.write(p, len, 'utf8') : p.copy(buf, len);
  return { buf, len };
}

/**
 * HMAC (RFC 2104) with SHA-256 or SM3 of the concatenated parts (strings as UTF-8): exactly `createHmac(alg, key)`
 * updated with each part (src/shared/secrets.test.ts). The key's two pad blocks are hashed once per key and each
 * message costs only its own blocks (src/shared/digest.ts): the short messages hashed row by row (export ledger
 * digests, the tag of every decrypted value, audit pseudonyms) cost a third of a native HMAC.
 */
export function hmac(alg: DigestAlg, key: Buffer, ...parts: (string | Buffer)[]): Buffer {
  let pads = hmacPads[alg].get(key);
  if (!pads) {
    const k = Buffer.alloc(BLOCK_BYTES);
    (key.length > BLOCK_BYTES ? createHash(alg).update(key).digest() : key).copy(k);
    const ipad = Buffer.alloc(BLOCK_BYTES);
    const opad = Buffer.alloc(BLOCK_BYTES);
    for (let i = 0; i < BLOCK_BYTES; i++) {
      ipad[i] = k[i] ^ 0x36;
      opad[i] = k[i] ^ 0x5c;
    }
    pads = { inner: midstate(alg, ipad), outer: midstate(alg, opad) };
    hmacPads[alg].set(key, pads);
  }
  const { buf, len } = assemble(null, parts);
  // long inputs go to OpenSSL, whose block function is faster once the call's cost is spread over many blocks
  if (len > LONG_INPUT) return createHmac(alg, key).update(buf.subarray(0, len)).digest();
  digestInto(alg, pads.inner, BLOCK_BYTES, buf, len, innerDigest, 0);
  const out = Buffer.allocUnsafe(DIGEST_BYTES);
  digestInto(alg, pads.outer, BLOCK_BYTES, innerDigest, DIGEST_BYTES, out, 0);
  return out;
}

/**
 * The hash of prefix ‖ parts (strings as UTF-8) in one call, assembled in a shared buffer: what a hash state copied
 * after the prefix and updated with the parts gives, without a hash object per message (the export ledger's cell
 * tags).
 */
export function prefixedHash(alg: DigestAlg, prefix: Buffer, ...parts: (string | Buffer)[]): Buffer {
  const { buf, len } = assemble(prefix, parts);
  if (len > LONG_INPUT) return hash(alg, buf.subarray(0, len), 'buffer');
  const out = Buffer.allocUnsafe(DIGEST_BYTES);
  digestInto(alg, null, 0, buf, len, out, 0);
  return out;
}
