import { hash, verify } from '@node-rs/argon2';
import type { FastifyRequest } from 'fastify';
import { appendAudit } from '../audit/store.js';
import type { AppContext } from '../context.js';
import { inTx } from '../db/index.js';
import { passwordProblems } from '../orgs/bootstrap.js';
import { boundedIp, checkFailureBudget, hashPassword, lockedError, recordFailure } from '../orgs/service.js';
import { AppError } from '../shared/errors.js';
import { newSecret, sha256Hex } from '../shared/secrets.js';
import { activeMeasure, assertOpenAccess } from './governance.js';

/*
 * Public accounts of the open-data portal (issue 11 point 3): citizens and companies register with an e-mail address
 * or a mainland mobile number and a password, sign in on the portal and hold open API keys. They are a principal kind
 * of their own: table open_account, session cookie `gs_open` in table open_session. The console's session resolver
 * (src/http/auth.ts) reads only `gs_session` against app_user, so a public account can never reach a staff route.
 * Passwords are argon2id with the staff rules (passwordProblems); failed sign-ins lock the account and count per
 * address and platform-wide exactly as staff sign-ins do (src/orgs/service.ts). Keys are 256-bit random secrets
 * stored as SHA-256, like app keys.
 */

export const OPEN_SESSION_COOKIE = 'gs_open';
/** active keys one account may hold */
export const MAX_KEYS = 10;
/** recent downloads kept per account ("my downloads") */
export const MAX_DOWNLOADS_KEPT = 100;

/**
 * The pluggable identity check at registration (实名核验). A deployment plugs in its provider (e.g. the province's
 * unified identity platform or an SMS/e-mail code service) with `setIdentityVerifier`; the default accepts and
 * records `none`, which the account then shows (`identityCheckedBy`).
 */
export interface IdentityVerifier {
  /** recorded on the account: which check it passed */
  readonly name: string;
  verify(input: {
    contact: string;
    contactKind: 'email' | 'phone';
    accountType: 'citizen' | 'company';
    displayName: string;
  }): Promise<{ ok: true } | { ok: false; reason: string; reasonZh: string }>;
}

export const acceptingVerifier: IdentityVerifier = { name: 'none', verify: async () => ({ ok: true }) };
const verifiers = new WeakMap<AppContext, IdentityVerifier>();
export function setIdentityVerifier(ctx: AppContext, v: IdentityVerifier): void {
  verifiers.set(ctx, v);
}

export interface OpenAccount {
  id: number;
  contact: string;
  contactKind: 'email' | 'phone';
  accountType: 'citizen' | 'company';
  displayName: string;
}

const EMAIL = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,180}\.[A-Za-z]{2,24}$/;
const PHONE = /^(?:\+?86)?(1[3-9]\d{9})$/;

/** An e-mail address (lower-cased) or a mainland mobile number (11 digits); anything else is refused. */
export function normaliseContact(raw: string): { contact: string; kind: 'email' | 'phone' } {
  const s = raw.trim().replace(/[\s-]/g, '');
  const phone = PHONE.exec(s);
  if (phone) return { contact: phone[1], kind: 'phone' };
  if (EMAIL.test(s) && s.length <= 100) return { contact: s.toLowerCase(), kind: 'email' };
  throw new AppError('VALIDATION_FAILED', [
    {
      field: 'contact',
      reason: 'an e-mail address or an 11-digit mainland mobile number',
      reasonZh: '请填写电子邮箱或 11 位手机号码',
    },
  ]);
}

/** Adds one to a shared counter (src/security/counters.ts) and refuses past `limit`. */
async function within(
  ctx: AppContext,
  key: string,
  ttlSeconds: number,
  limit: number,
  reason: string,
  reasonZh: string,
) {
  if (limit <= 0) return;
  const [n] = await ctx.counters.add([{ key, ttlSeconds }]);
  if (n > limit) throw new AppError('RATE_LIMITED', [{ reason, reasonZh }]);
}

export async function register(
  ctx: AppContext,
  clientIp: string,
  input: { contact: string; password: string; displayName: string; accountType: 'citizen' | 'company' },
) {
  const ip = boundedIp(clientIp);
  const hour = Math.floor(Date.now() / 3_600_000);
  await within(
    ctx,
    `openreg:${ip}:${hour}`,
    3700,
    ctx.config.openRegistrationsPerHour,
    `more than ${ctx.config.openRegistrationsPerHour} registrations from this address in an hour`,
    `本地址一小时内注册超过 ${ctx.config.openRegistrationsPerHour} 次`,
  );
  const { contact, kind } = normaliseContact(input.contact);
  const problems = passwordProblems(input.password, contact);
  if (problems.length) throw new AppError('VALIDATION_FAILED', problems);
  const verifier = verifiers.get(ctx) ?? acceptingVerifier;
  const check = await verifier.verify({
    contact,
    contactKind: kind,
    accountType: input.accountType,
    displayName: input.displayName,
  });
  if (!check.ok)
    throw new AppError('IDENTITY_CHECK_FAILED', [
      { field: 'contact', reason: check.reason, reasonZh: check.reasonZh },
    ]);
  const passwordHash = await hashPassword(input.password);
  return inTx(ctx.db, async (trx) => {
    const taken = await trx
      .selectFrom('open_account')
      .select('id')
      .where('contact', '=', contact)
      .executeTakeFirst();
    if (taken)
      throw new AppError('CONFLICT', [
        {
          field: 'contact',
          reason: 'an account with this e-mail or phone exists; sign in instead',
          reasonZh: '该邮箱或手机号已注册，请直接登录',
        },
      ]);
    const row = await trx
      .insertInto('open_account')
      .values({
        contact,
        contact_kind: kind,
        account_type: input.accountType,
        display_name: input.displayName,
        password_hash: passwordHash,
        identity_checked_by: verifier.name.slice(0, 64),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      action: 'open.account.register',
      decision: 'allow',
      targetType: 'open_account',
      targetId: row.id,
      clientIp: ip,
      detail: { contactKind: kind, accountType: input.accountType, identityCheck: verifier.name },
    });
    return { id: Number(row.id) };
  });
}

let dummyHash: Promise<string> | null = null;

/** Sign-in with the staff rules: address and platform failure windows, per-account lock with back-off. */
export async function login(ctx: AppContext, rawContact: string, password: string, clientIp: string) {
  await checkFailureBudget(ctx, clientIp);
  let contact = rawContact.trim().slice(0, 100);
  try {
    contact = normaliseContact(rawContact).contact;
  } catch {
    // an unknown shape is simply an unknown account (same time, same answer)
  }
  const acc = await ctx.db
    .selectFrom('open_account')
    .selectAll()
    .where('contact', '=', contact)
    .executeTakeFirst();
  dummyHash ??= hash('govshare-dummy-password');
  if (acc?.locked_until && acc.locked_until.getTime() > Date.now()) throw lockedError(acc.locked_until);
  let ok = false;
  if (acc && !acc.disabled) ok = await verify(acc.password_hash, password);
  else await verify(await dummyHash, password);
  if (!acc || !ok) {
    const lockedUntil = await recordFailure(ctx, acc?.id ?? null, clientIp, 'open_account');
    await appendAudit(ctx.db, {
      action: 'open.account.login',
      decision: 'deny',
      targetType: 'open_account',
      targetId: acc?.id ?? null,
      clientIp: boundedIp(clientIp),
      detail: { contact: contact.slice(0, 64), ...(lockedUntil ? { lockedUntil } : {}) },
    });
    throw new AppError('LOGIN_FAILED').alreadyAudited();
  }
  // a closed account (XT Art 33) signs in no more; told only once its password is right
  await assertOpenAccess(ctx, Number(acc.id), 'signIn');
  const token = newSecret();
  const expires = new Date(Date.now() + ctx.config.sessionTtlHours * 3600_000);
  await inTx(ctx.db, async (trx) => {
    await trx
      .deleteFrom('open_session')
      .where('account_id', '=', acc.id)
      .where('expires_at', '<=', new Date())
      .execute();
    await trx
      .insertInto('open_session')
      .values({ token_hash: sha256Hex(token), account_id: acc.id, expires_at: expires })
      .execute();
    await trx
      .updateTable('open_account')
      .set({ failed_logins: 0, lock_count: 0, locked_until: null })
      .where('id', '=', acc.id)
      .execute();
    await appendAudit(trx, {
      action: 'open.account.login',
      decision: 'allow',
      targetType: 'open_account',
      targetId: acc.id,
      clientIp: boundedIp(clientIp),
    });
  });
  return { token, expires, accountId: Number(acc.id) };
}

export async function logout(ctx: AppContext, token: string) {
  await ctx.db.deleteFrom('open_session').where('token_hash', '=', sha256Hex(token)).execute();
}

function view(a: {
  id: number;
  contact: string;
  contact_kind: 'email' | 'phone';
  account_type: 'citizen' | 'company';
  display_name: string;
}): OpenAccount {
  return {
    id: Number(a.id),
    contact: a.contact,
    contactKind: a.contact_kind,
    accountType: a.account_type,
    displayName: a.display_name,
  };
}

/** The public account of the `gs_open` cookie, or null. Never consulted by staff routes. */
export async function resolveAccount(ctx: AppContext, req: FastifyRequest): Promise<OpenAccount | null> {
  const token = req.cookies?.[OPEN_SESSION_COOKIE];
  if (!token) return null;
  const row = await ctx.db
    .selectFrom('open_session as s')
    .innerJoin('open_account as a', 'a.id', 's.account_id')
    .select(['a.id', 'a.contact', 'a.contact_kind', 'a.account_type', 'a.display_name'])
    .where('s.token_hash', '=', sha256Hex(token))
    .where('s.expires_at', '>', new Date())
    .where('a.disabled', '=', false)
    .executeTakeFirst();
  return row ? view(row) : null;
}

export async function requireAccount(ctx: AppContext, req: FastifyRequest): Promise<OpenAccount> {
  const a = await resolveAccount(ctx, req);
  if (!a) throw new AppError('OPEN_ACCOUNT_REQUIRED');
  return a;
}

export async function accountOf(ctx: AppContext, id: number) {
  const a = await ctx.db
    .selectFrom('open_account')
    .select([
      'id',
      'contact',
      'contact_kind',
      'account_type',
      'display_name',
      'identity_checked_by',
      'created_at',
    ])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  // the measure in force on the account (XT Art 33), so its holder sees why calls are refused
  const restriction = await activeMeasure(ctx, ctx.db, id);
  return { ...view(a), identityCheckedBy: a.identity_checked_by, createdAt: a.created_at, restriction };
}

/** Open API keys: `gso_` + 8-character public prefix + `_` + the secret (256 bits); only the SHA-256 is kept. */
export async function createKey(ctx: AppContext, account: OpenAccount, clientIp: string, name: string) {
  const apiKey = `gso_${newSecret(6)}_${newSecret(32)}`;
  return inTx(ctx.db, async (trx) => {
    const [{ n }] = await trx
      .selectFrom('open_api_key')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', account.id)
      .where('status', '=', 'active')
      .execute();
    if (Number(n) >= MAX_KEYS)
      throw new AppError('CONFLICT', [
        {
          field: 'name',
          reason: `at most ${MAX_KEYS} active keys per account; revoke one first`,
          reasonZh: `每个账号最多 ${MAX_KEYS} 个有效密钥，请先吊销不用的密钥`,
        },
      ]);
    const row = await trx
      .insertInto('open_api_key')
      .values({ account_id: account.id, name, key_prefix: apiKey.slice(0, 12), key_hash: sha256Hex(apiKey) })
      .returning(['id', 'key_prefix', 'created_at'])
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      action: 'open.key.create',
      decision: 'allow',
      targetType: 'open_api_key',
      targetId: row.id,
      clientIp: boundedIp(clientIp),
      detail: { openAccountId: account.id },
    });
    return {
      key: { id: Number(row.id), name, prefix: row.key_prefix, status: 'active', createdAt: row.created_at },
      apiKey,
    };
  });
}

export async function listKeys(ctx: AppContext, account: OpenAccount) {
  const rows = await ctx.db
    .selectFrom('open_api_key')
    .select(['id', 'name', 'key_prefix', 'status', 'created_at', 'revoked_at'])
    .where('account_id', '=', account.id)
    .orderBy('id', 'desc')
    .limit(100)
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    name: r.name,
    prefix: r.key_prefix,
    status: r.status,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  }));
}

export async function revokeKey(ctx: AppContext, account: OpenAccount, clientIp: string, id: number) {
  return inTx(ctx.db, async (trx) => {
    const k = await trx
      .selectFrom('open_api_key')
      .select(['id', 'account_id', 'status'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!k || Number(k.account_id) !== account.id)
      throw new AppError('NOT_FOUND', [{ field: 'id', reason: `key ${id}`, reasonZh: `密钥 ${id}` }]);
    if (k.status === 'active') {
      await trx
        .updateTable('open_api_key')
        .set({ status: 'revoked', revoked_at: new Date() })
        .where('id', '=', id)
        .execute();
      await appendAudit(trx, {
        action: 'open.key.revoke',
        decision: 'allow',
        targetType: 'open_api_key',
        targetId: id,
        clientIp: boundedIp(clientIp),
        detail: { openAccountId: account.id },
      });
    }
    return { id, status: 'revoked' as const };
  });
}

/** Who an open data call comes from: nobody (an address), a signed-in public account, or an open API key. */
export interface OpenPrincipal {
  accountId: number;
  keyId: number | null;
}

/**
 * Resolves `X-Api-Key` (an open key) or the portal session. A key that is not an active open key is API_KEY_INVALID
 * (audited by the error handler), never silently anonymous. Then the per-key (per-account for portal sessions)
 * limit of the call kind is counted in the shared counter store, on top of the per-address limit.
 */
const resolved = new WeakMap<FastifyRequest, OpenPrincipal | null>();

export async function openPrincipal(
  ctx: AppContext,
  req: FastifyRequest,
  kind: 'call' | 'download',
): Promise<OpenPrincipal | null> {
  // once per request: a route resolving it again neither re-reads nor counts twice
  if (resolved.has(req)) return resolved.get(req)!;
  const p = await resolvePrincipal(ctx, req, kind);
  resolved.set(req, p);
  return p;
}

async function resolvePrincipal(
  ctx: AppContext,
  req: FastifyRequest,
  kind: 'call' | 'download',
): Promise<OpenPrincipal | null> {
  const header = req.headers['x-api-key'];
  let p: OpenPrincipal | null = null;
  if (typeof header === 'string' && header.length > 0) {
    const k =
      header.length <= 100
        ? await ctx.db
            .selectFrom('open_api_key as k')
            .innerJoin('open_account as a', 'a.id', 'k.account_id')
            .select(['k.id', 'k.account_id'])
            .where('k.key_hash', '=', sha256Hex(header))
            .where('k.status', '=', 'active')
            .where('a.disabled', '=', false)
            .executeTakeFirst()
        : undefined;
    if (!k)
      throw new AppError('API_KEY_INVALID', [
        { field: 'X-Api-Key', reason: 'not an active open API key', reasonZh: '不是有效的开放接口密钥' },
      ]);
    p = { accountId: Number(k.account_id), keyId: Number(k.id) };
  } else {
    const a = await resolveAccount(ctx, req);
    if (a) p = { accountId: a.id, keyId: null };
  }
  if (!p) return null;
  await assertOpenAccess(ctx, p.accountId, kind);
  const limit = kind === 'call' ? ctx.config.openKeyCallsPerMinute : ctx.config.openKeyDownloadsPerMinute;
  const who = p.keyId !== null ? `key ${p.keyId}` : `account ${p.accountId}`;
  await within(
    ctx,
    `openkey:${kind}:${p.keyId !== null ? `k${p.keyId}` : `a${p.accountId}`}:${Math.floor(Date.now() / 60_000)}`,
    120,
    limit,
    `more than ${limit} ${kind === 'call' ? 'API calls' : 'downloads'} a minute for ${who}`,
    `该${p.keyId !== null ? '密钥' : '账号'}每分钟${kind === 'call' ? '接口调用' : '下载'}超过 ${limit} 次`,
  );
  return p;
}

export async function myDownloads(ctx: AppContext, account: OpenAccount) {
  const rows = await ctx.db
    .selectFrom('open_account_download as d')
    .leftJoin('resource as r', 'r.id', 'd.resource_id')
    .select(['d.id', 'd.resource_id', 'r.name', 'd.format', 'd.via', 'd.at'])
    .where('d.account_id', '=', account.id)
    .orderBy('d.id', 'desc')
    .limit(MAX_DOWNLOADS_KEPT)
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    datasetId: Number(r.resource_id),
    title: r.name ?? '',
    format: r.format,
    via: r.via,
    at: r.at,
  }));
}
