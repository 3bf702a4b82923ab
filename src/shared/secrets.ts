import { createHash, randomBytes } from 'node:crypto';

/** SHA-256 as hex: how random secrets (session tokens, API keys) are stored. */
export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** A random secret, base64url. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
