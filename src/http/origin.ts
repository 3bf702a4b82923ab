import type { FastifyRequest } from 'fastify';
import { AppError } from '../shared/errors.js';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function originOf(raw: string): string | null {
  try {
    const o = new URL(raw).origin;
    return o === 'null' ? null : o;
  } catch {
    return null;
  }
}

/** scheme://host[:port] of this request as the server sees it (X-Forwarded-* only from a trusted proxy). */
export function requestOrigin(req: FastifyRequest): string | null {
  return originOf(`${req.protocol}://${req.host}`);
}

/**
 * CSRF defence for the cookie-authenticated console API: an unsafe method under /api/ (except the API-key
 * routes /api/v1/) whose `Origin` is neither this server's own origin nor in ALLOWED_ORIGINS, or whose
 * `Sec-Fetch-Site` is not `same-origin`/`none`, is refused with ORIGIN_REJECTED. Login is covered too (login
 * CSRF). A request without both headers (curl, server-to-server) passes: browsers always send one of them on
 * a cross-site write.
 */
export function checkOrigin(req: FastifyRequest, allowedOrigins: readonly string[]): void {
  if (!UNSAFE.has(req.method)) return;
  const url = req.url;
  if (!url.startsWith('/api/') || url.startsWith('/api/v1/')) return;

  const originHeader = req.headers.origin;
  let explicitlyAllowed = false;
  if (originHeader !== undefined) {
    const origin = originOf(String(originHeader));
    explicitlyAllowed = origin !== null && allowedOrigins.includes(origin);
    if (!explicitlyAllowed && (origin === null || origin !== requestOrigin(req)))
      throw new AppError('ORIGIN_REJECTED', [
        {
          field: 'Origin',
          reason: `origin ${String(originHeader).slice(0, 100)} is not this site and not in ALLOWED_ORIGINS`,
          reasonZh: `请求来源 ${String(originHeader).slice(0, 100)} 不是本站，也不在 ALLOWED_ORIGINS 中`,
        },
      ]);
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && !explicitlyAllowed && site !== 'same-origin' && site !== 'none')
    throw new AppError('ORIGIN_REJECTED', [
      {
        field: 'Sec-Fetch-Site',
        reason: `a ${String(site).slice(0, 20)} request may not write`,
        reasonZh: `跨站（${String(site).slice(0, 20)}）请求不能执行写操作`,
      },
    ]);
}
