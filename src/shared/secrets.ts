import { createHash, createHmac, randomBytes } from 'node:crypto';

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
  return createHmac('sha256', secret).update(s).digest('hex');
}
