import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';

/**
 * Fastify's `trustProxy` from the TRUST_PROXY list: `false` (believe no X-Forwarded-* header) when empty,
 * otherwise the proxies' addresses/CIDRs, so only a hop from one of them may name the client.
 */
export function trustProxyOption(list: string[]): false | string[] {
  return list.length ? list : false;
}

/**
 * The client address to rate-limit and audit by: Fastify's `req.ip` (the socket peer, or the first address
 * a trusted proxy forwarded) when it is an IP address, else the socket peer. Never text a client chose:
 * proxy-addr returns an X-Forwarded-For entry unchecked when it is not an address.
 */
export function validatedClientIp(req: FastifyRequest): string {
  const candidates = [safeIp(req), req.socket?.remoteAddress];
  for (const c of candidates) {
    const ip = normaliseIp(c);
    if (ip) return ip;
  }
  return '0.0.0.0';
}

function safeIp(req: FastifyRequest): string | undefined {
  try {
    return req.ip;
  } catch {
    return undefined;
  }
}

/** An IPv4/IPv6 address without an IPv6 zone id, or null. */
export function normaliseIp(raw: string | undefined | null): string | null {
  if (typeof raw !== 'string' || raw.length > 64) return null;
  const s = raw.trim().replace(/%.*$/, '');
  return isIP(s) ? s : null;
}

/**
 * Replaces `req.ip` on this request with the validated address, so every reader (login rate limit, audit,
 * the actor's clientIp) gets a real IP without knowing about proxies.
 */
export function pinClientIp(req: FastifyRequest): void {
  Object.defineProperty(req, 'ip', { value: validatedClientIp(req), enumerable: true, configurable: true });
}
