import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyReply } from 'fastify';

/** In web/index.html; replaced by each response's nonce (the console hands it to antd's CSS-in-JS). */
export const NONCE_PLACEHOLDER = '__CSP_NONCE__';

/**
 * The console's Content-Security-Policy: scripts only from this origin (no inline script at all), styles from
 * this origin or carrying this response's nonce (antd injects <style nonce> tags), no framing, no plugins.
 */
export function consoleCsp(nonce: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join('; ');
}

/** Serves the built console's index.html (read once) with a fresh nonce and its CSP per response. */
export function consoleIndex(webDir: string): ((reply: FastifyReply) => FastifyReply) | null {
  const file = path.join(webDir, 'index.html');
  if (!fs.existsSync(file)) return null;
  const html = fs.readFileSync(file, 'utf8');
  return (reply) => {
    const nonce = randomBytes(16).toString('base64');
    return reply
      .code(200)
      .type('text/html; charset=utf-8')
      .header('Cache-Control', 'no-store')
      .header('Content-Security-Policy', consoleCsp(nonce))
      .send(html.replaceAll(NONCE_PLACEHOLDER, nonce));
  };
}
