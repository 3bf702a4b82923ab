import { Stream } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { AppError, type ErrorDetail } from '../shared/errors.js';

/**
 * Characters no name, purpose, search text or key needs, and that make trouble downstream: NUL (PostgreSQL
 * text refuses it), other C0 controls and DEL (log and CSV injection), bidirectional overrides and isolates
 * (Trojan-Source style spoofing of names in the console and the audit trail) and zero-width characters
 * (look-alike names). Tab, line feed and carriage return stay allowed.
 */
const FORBIDDEN =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u200B-\u200D\u2060\uFEFF\u202A-\u202E\u2066-\u2069]/;
/** Passwords may contain anything printable, and any control except NUL. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point
const FORBIDDEN_IN_PASSWORD = /\u0000/;
/** `password`, `newPassword`, `currentPassword`, … */
const PASSWORD_KEY = /password$/i;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const MAX_DEPTH = 32;
const MAX_DETAILS = 10;

function describe(ch: string): { reason: string; reasonZh: string } {
  const cp = ch.codePointAt(0) ?? 0;
  const u = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  if (cp === 0) return { reason: 'contains a NUL character (U+0000)', reasonZh: '含有空字符（U+0000）' };
  if (cp < 0x20 || cp === 0x7f)
    return { reason: `contains a control character (${u})`, reasonZh: `含有控制字符（${u}）` };
  if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
    return {
      reason: `contains a bidirectional control character (${u})`,
      reasonZh: `含有文字方向控制字符（${u}）`,
    };
  return {
    reason: `contains an invisible zero-width character (${u})`,
    reasonZh: `含有不可见的零宽字符（${u}）`,
  };
}

function checkString(s: string, field: string, isPassword: boolean, out: ErrorDetail[]): void {
  if (LONE_SURROGATE.test(s)) {
    out.push({
      field,
      reason: 'contains a lone UTF-16 surrogate (not valid Unicode text)',
      reasonZh: '含有不成对的 UTF-16 代理字符（不是合法的 Unicode 文本）',
    });
    return;
  }
  const m = (isPassword ? FORBIDDEN_IN_PASSWORD : FORBIDDEN).exec(s);
  if (m) out.push({ field, ...describe(m[0]) });
}

function walk(value: unknown, field: string, key: string, depth: number, out: ErrorDetail[]): void {
  if (out.length >= MAX_DETAILS) return;
  if (typeof value === 'string') {
    checkString(value, field, PASSWORD_KEY.test(key), out);
    return;
  }
  // a streamed upload body (ingest imports) is read by its own parser, never walked here
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value) || value instanceof Stream)
    return;
  if (depth >= MAX_DEPTH) {
    out.push({ field, reason: 'nested too deeply', reasonZh: '嵌套层级过深' });
    return;
  }
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value as Record<string, unknown>);
  for (const [k, v] of entries) {
    const path = field ? `${field}.${k}` : k;
    if (!Array.isArray(value)) checkString(k, path, false, out);
    walk(v, path, Array.isArray(value) ? key : k, depth + 1, out);
    if (out.length >= MAX_DETAILS) return;
  }
}

/**
 * The request-level text guard every route gets (a preValidation hook): refuses NUL, lone surrogates,
 * controls, bidi and zero-width characters anywhere in the URL parameters, the query string and a JSON body,
 * with VALIDATION_FAILED naming the field (`key`, `q`, `fields.0.name`), before validation or any SQL.
 * Raw bodies (CSV uploads) are left to their own parser.
 */
export function guardRequestText(req: FastifyRequest): void {
  const out: ErrorDetail[] = [];
  walk(req.params, '', '', 0, out);
  walk(req.query, '', '', 0, out);
  walk(req.body, '', '', 0, out);
  if (out.length) throw new AppError('VALIDATION_FAILED', out);
}
