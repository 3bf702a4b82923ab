import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { appendAudit } from '../audit/store.js';
import type { Actor, AppContext } from '../context.js';
import { inTx, type Tx } from '../db/index.js';
import { canManageApp } from '../orgs/model.js';
import { isCiphertext } from '../security/field-cipher.js';
import { AppError } from '../shared/errors.js';
import { keyedHash, newSecret } from '../shared/secrets.js';
import { settle } from './guards.js';
import { ciphertextsOf, maskingPolicy, openedPolicy } from './masking-policy.js';
import { feedSubject, natsPublish } from './nats.js';
import { type CallInput, call, callerOf, clearOf, shape } from './service.js';
import { type Caller, type CallRow, governedFeed, type ResourceMeta } from './store.js';

/*
 * The change feed of the governed data API (issue 9 point 6).
 *
 * Pull: `GET /api/v1/data/:code/changes?cursor=` answers the changes after the cursor in the order the aggregation
 * committed them (record_change, written by the merge with each record version), each upsert with the granted fields
 * of exactly that version masked by the one masking implementation (`shape`), each delete with its key only. One
 * governed statement (store.ts feedSql) decides the grant, the purpose, the change-feed right and the fields, reads the
 * page and writes its audit row (`data.feed`), like every data call; refusals are audited by the same statement.
 *
 * Push: a subscription per grant delivers the same pages to a webhook (HTTP POST, body signed HMAC-SHA256 under the
 * subscription's secret) or to NATS JetStream, at least once, by a job (src/jobs) queued when an import commits: each
 * batch is read by the same governed statement (so it is audited, with the subscription id, before it leaves), sent, and
 * only an acknowledgement advances the subscription's cursor. A failed batch is resent unchanged (same changes, same
 * cursor: the cursor is the idempotency key) with the jobs module's backoff.
 */

export const FEED_DELIVER_JOB = 'feed.deliver';
/** how long one job run keeps delivering before it yields to other jobs (a continuation job takes over) */
const RUN_BUDGET_MS = 60_000;
/** attempts of one delivery job before it gives up (the next import queues it again) */
const MAX_ATTEMPTS = 8;
/** Subscriptions (not deleted) one grant may hold. */
export const MAX_SUBSCRIPTIONS_PER_GRANT = 10;
/** delivery attempts kept per subscription */
const DELIVERIES_KEPT = 50;
export const FEED_BATCH = 500;

/** The feed's opaque cursor: the last change delivered, base64url-wrapped (it reveals no record key). */
export function encodeFeedCursor(seq: number | string): string {
  return Buffer.from(`f1:${seq}`).toString('base64url');
}

export function decodeFeedCursor(cursor: string | undefined | null): string | null {
  if (!cursor) return null;
  const m = /^f1:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m)
    throw new AppError('VALIDATION_FAILED', [
      { field: 'cursor', reason: 'not a change-feed cursor this API issued', reasonZh: '变更游标无效' },
    ]);
  return m[1];
}

export interface FeedChange {
  op: 'upsert' | 'delete';
  /** the record key as the API shows it (masked like the key field), null when the key field is not granted */
  key: string | null;
  /** a stable pseudonym of the record key (keyed hash): what a syncing consumer matches upserts and deletes by */
  keyRef: string;
  version: number;
  changedAt: string;
  /** upsert: the granted fields of this version, masked as the API masks; delete: absent */
  record?: Record<string, unknown>;
}

/**
 * The feed's pseudonym of a stored record key. A rekeyed resource (its keys rewritten, src/security/rekey.ts) keeps the
 * pseudonym each key had before (record_key_ref, migration 046), so a consumer's keyRefs never change.
 */
export const feedKeyRef = (secret: Buffer, resourceId: number, storedKey: string) =>
  keyedHash(secret, `feed\n${resourceId}\n${storedKey}`).slice(0, 32);

interface RawChange {
  seq: number;
  key: string;
  /** the pseudonym kept by a rekeying (record_key_ref), if any */
  ref: string | null;
  op: 'upsert' | 'delete';
  version: number;
  changedAt: string;
  rec: Record<string, unknown> | null;
}

/**
 * The record key of a version whose stored key is hashed: its key fields' values joined by `|` as ingest builds the key
 * (src/ingest/model.ts; a composite key is every part, not the first), the encrypted ones decrypted with the masking
 * policy's keyring. Null when a part is missing.
 */
function clearKey(
  keyFields: ResourceMeta['fields'],
  rec: Record<string, unknown> | null,
  decrypt: ((v: unknown) => unknown) | undefined,
): string | null {
  const parts: string[] = [];
  for (const f of keyFields) {
    const v = rec?.[f.code];
    if (v === null || v === undefined) return null;
    if (isCiphertext(v) && !decrypt) throw new Error('an encrypted key reached the feed without the keyring');
    parts.push(String(isCiphertext(v) && decrypt ? decrypt(v) : v));
  }
  return parts.join('|');
}

/** The page a governed feed statement answered, shaped: granted fields only, masked, key masked or absent. */
async function pageOf(ctx: AppContext, meta: ResourceMeta, row: CallRow, after: string | null) {
  const raw = (row.records ?? []) as unknown as RawChange[];
  const policy = openedPolicy(ctx, await maskingPolicy(ctx), ciphertextsOf(raw.map((c) => c.rec)));
  const fields = row.fields ?? [];
  const kf = meta.keyField && fields.includes(meta.keyField.code) ? meta.keyField : null;
  // the grant's clear-value right applies to the feed as to every other call (issue 9 point 8)
  const clear = clearOf(row);
  const keyFields = meta.fields.filter((f) => f.isKey);
  const hashed = keyFields.some((f) => f.encrypted);
  const changes: FeedChange[] = [];
  for (const c of raw) {
    // an upsert whose version is no longer kept anywhere (a rolled-back batch) is followed by a later change of its key
    if (c.op === 'upsert' && !c.rec) continue;
    // an encrypted key field: the stored key is its keyed hash, the key itself comes from the version's values
    const keyValue = kf && hashed ? clearKey(keyFields, c.rec, policy.decrypt) : c.key;
    const key = kf ? shape(meta, [kf.code], { [kf.code]: keyValue }, policy, clear)[kf.code] : null;
    changes.push({
      op: c.op,
      key: key === null || key === undefined ? null : String(key),
      keyRef: c.ref ?? feedKeyRef(ctx.secret, meta.id, c.key),
      version: c.version,
      changedAt: new Date(c.changedAt).toISOString(),
      ...(c.op === 'upsert' && c.rec
        ? { record: shape(meta, fields, c.rec, policy, clear, row.granted) }
        : {}),
    });
  }
  const last = raw.length ? String(raw[raw.length - 1].seq) : (after ?? '0');
  const rowLimit = row.row_limit ?? raw.length;
  return { changes, lastSeq: Number(last), hasMore: raw.length > 0 && raw.length >= rowLimit, rowLimit };
}

/** Pull: the changes after `cursor` (absent: from the beginning), at most `limit`, audited. */
export async function feedChanges(
  ctx: AppContext,
  input: CallInput,
  code: string,
  cursor: string | null,
  limit: number,
) {
  const caller = callerOf(ctx, input);
  const after = decodeFeedCursor(cursor);
  const { meta, row } = await call(ctx, code, caller, 'list', (m) =>
    governedFeed(ctx.database, m, caller, after, limit, ctx.config.dataApi.grantRowsPerCall),
  );
  await settle(ctx, caller, meta, row, false);
  const p = await pageOf(ctx, meta, row, after);
  return {
    resourceCode: code,
    changes: p.changes,
    cursor: encodeFeedCursor(p.lastSeq),
    hasMore: p.hasMore,
    limit: p.rowLimit,
    grantId: row.grant_id,
    auditId: row.audit_id,
  };
}

// ---- subscriptions (push) ----

export type FeedTarget = 'webhook' | 'nats';

/** The webhook secret of a subscription: derived from the platform secret, so the table alone does not reveal it. */
function subscriptionSecret(ctx: AppContext, id: number, salt: string): string {
  return keyedHash(ctx.secret, `feed-subscription\n${id}\n${salt}`);
}

/**
 * `Nats-Msg-Id` of a batch: its cursor, prefixed with the subscription (the stream's duplicate window is stream-wide,
 * and two subscriptions share cursors) and a part of its salt (a subscription id of a reset database is not reused).
 */
export function natsMsgId(subscriptionId: number, salt: string, cursor: string): string {
  return `${subscriptionId}.${salt.slice(0, 8)}.${cursor}`;
}

/** `X-Govshare-Signature` of a webhook body: `sha256=` + HMAC-SHA256(secret, body) in hex. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

async function grantFor(ctx: AppContext, actor: Actor, grantId: number) {
  const g = await ctx.db
    .selectFrom('share_grant as g')
    .innerJoin('app as a', 'a.id', 'g.app_id')
    .innerJoin('resource as r', 'r.id', 'g.resource_id')
    .select([
      'g.id',
      'g.app_id',
      'g.resource_id',
      'g.consumer_org_id',
      'g.status',
      'g.valid_until',
      'g.can_feed',
      'g.purpose_id',
      'a.org_id as app_org_id',
      'a.status as app_status',
      'r.code as resource_code',
    ])
    .where('g.id', '=', grantId)
    .executeTakeFirst();
  if (!g || !canManageApp(actor, Number(g.app_org_id)))
    throw new AppError('NOT_FOUND', [
      { field: 'id', reason: `grant ${grantId} not found`, reasonZh: `授权 ${grantId} 不存在` },
    ]);
  return g;
}

function subscriptionView(s: {
  id: number;
  grant_id: number;
  target: string;
  url: string | null;
  subject: string | null;
  status: string;
  cursor_seq: number;
  delivered: number;
  failures: number;
  last_error: string | null;
  last_error_code: string | null;
  last_attempt_at: Date | null;
  last_delivery_at: Date | null;
  created_at: Date;
}) {
  return {
    id: Number(s.id),
    grantId: s.grant_id,
    target: s.target as FeedTarget,
    url: s.url,
    subject: s.subject,
    status: s.status,
    cursor: Number(s.cursor_seq) > 0 ? encodeFeedCursor(s.cursor_seq) : null,
    delivered: s.delivered,
    failures: s.failures,
    lastError: s.last_error,
    lastErrorCode: s.last_error_code,
    lastAttemptAt: s.last_attempt_at,
    lastDeliveryAt: s.last_delivery_at,
    createdAt: s.created_at,
  };
}

const SUB_COLUMNS = [
  'id',
  'grant_id',
  'target',
  'url',
  'subject',
  'status',
  'cursor_seq',
  'delivered',
  'failures',
  'last_error',
  'last_error_code',
  'last_attempt_at',
  'last_delivery_at',
  'created_at',
] as const;

export async function listSubscriptions(ctx: AppContext, actor: Actor, grantId: number) {
  const g = await grantFor(ctx, actor, grantId);
  const subs = await ctx.db
    .selectFrom('feed_subscription')
    .select(SUB_COLUMNS)
    .where('grant_id', '=', g.id)
    .where('status', '<>', 'deleted')
    .orderBy('id')
    .execute();
  return {
    grantId: g.id,
    canFeed: g.can_feed,
    natsAvailable: !!ctx.config.natsUrl,
    items: subs.map(subscriptionView),
  };
}

/** Loopback, private, link-local and shared addresses: a webhook may not make the platform reach into its own network. */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');

export function isPrivateAddress(ip: string): boolean {
  const v = isIP(ip);
  if (v === 4) return PRIVATE.check(ip, 'ipv4');
  if (v !== 6) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped ? PRIVATE.check(mapped[1], 'ipv4') : PRIVATE.check(ip, 'ipv6');
}

const privateTargetError = () =>
  new AppError('VALIDATION_FAILED', [
    {
      field: 'url',
      reason: 'the webhook host is a loopback or private address (FEED_WEBHOOK_ALLOW_PRIVATE is off)',
      reasonZh: 'Webhook 地址不能指向本机或内网地址',
    },
  ]);

/** At delivery: the host must not resolve to a private address (unless allowed); throws the reason. */
async function checkTarget(ctx: AppContext, url: string): Promise<void> {
  if (ctx.config.feedWebhookAllowPrivate) return;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const addrs = isIP(host) ? [{ address: host }] : await lookup(host, { all: true });
  if (addrs.some((a) => isPrivateAddress(a.address))) throw privateTargetError();
}

function checkUrl(ctx: AppContext, url: string | undefined): string {
  let u: URL | null = null;
  try {
    u = url ? new URL(url) : null;
  } catch {
    u = null;
  }
  if (!u || !['http:', 'https:'].includes(u.protocol) || u.username || u.password || url!.length > 2000)
    throw new AppError('VALIDATION_FAILED', [
      {
        field: 'url',
        reason: 'the webhook URL must be an http(s) URL without credentials, at most 2000 characters',
        reasonZh: 'Webhook 地址须为 http(s) 地址，不含用户名密码，最多 2000 个字符',
      },
    ]);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!ctx.config.feedWebhookAllowPrivate && (isPrivateAddress(host) || /^localhost\.?$/i.test(host)))
    throw privateTargetError();
  return u.toString();
}

/** The consumer subscribes one of its grants to a webhook or NATS; the webhook secret is shown once. Audited. */
export async function createSubscription(
  ctx: AppContext,
  actor: Actor,
  grantId: number,
  input: { target: FeedTarget; url?: string },
) {
  const g = await grantFor(ctx, actor, grantId);
  if (g.status !== 'active' || new Date(g.valid_until).getTime() <= Date.now())
    throw new AppError('GRANT_REQUIRED', [
      { field: 'id', reason: 'the grant is revoked or expired', reasonZh: '该授权已撤销或到期' },
    ]);
  if (!g.can_feed)
    throw new AppError('FEED_NOT_GRANTED', [
      {
        field: 'id',
        reason: 'this grant does not include the change feed',
        reasonZh: '该授权不含变更订阅权限',
      },
    ]);
  if (input.target === 'nats' && !ctx.config.natsUrl) throw new AppError('FEED_NATS_UNCONFIGURED');
  const url = input.target === 'webhook' ? checkUrl(ctx, input.url) : null;
  const subject = input.target === 'nats' ? feedSubject(g.resource_code, g.app_id) : null;
  const salt = newSecret(16);
  const created = await inTx(ctx.db, async (trx) => {
    // bounded: every subscription is a delivery of every change, so a grant holds a few, not any number.
    // The grant's row orders concurrent subscribes, so two cannot both take the last place.
    await trx.selectFrom('share_grant').select('id').where('id', '=', g.id).forUpdate().execute();
    const { n } = await trx
      .selectFrom('feed_subscription')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('grant_id', '=', g.id)
      .where('status', '!=', 'deleted')
      .executeTakeFirstOrThrow();
    if (Number(n) >= MAX_SUBSCRIPTIONS_PER_GRANT)
      throw new AppError('VALIDATION_FAILED', [
        {
          field: 'id',
          reason: `at most ${MAX_SUBSCRIPTIONS_PER_GRANT} subscriptions per grant; delete one first`,
          reasonZh: `每项授权最多 ${MAX_SUBSCRIPTIONS_PER_GRANT} 个变更订阅，请先删除不用的订阅`,
        },
      ]);
    const s = await trx
      .insertInto('feed_subscription')
      .values({
        grant_id: g.id,
        app_id: g.app_id,
        resource_id: g.resource_id,
        target: input.target,
        url,
        subject,
        purpose: g.purpose_id,
        secret_salt: salt,
        created_by: actor.id,
      })
      .returning(SUB_COLUMNS)
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      action: 'feed.subscribe',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      appId: g.app_id,
      grantId: g.id,
      resourceId: g.resource_id,
      targetType: 'feed_subscription',
      targetId: s.id,
      clientIp: actor.clientIp,
      detail: { target: input.target, url, subject },
    });
    await scheduleDelivery(ctx, trx, Number(s.id));
    return s;
  });
  return {
    subscription: subscriptionView(created),
    /** the HMAC-SHA256 key of `X-Govshare-Signature` (webhook), shown once */
    secret: input.target === 'webhook' ? subscriptionSecret(ctx, Number(created.id), salt) : null,
  };
}

export async function deleteSubscription(ctx: AppContext, actor: Actor, id: number) {
  const s = await ctx.db
    .selectFrom('feed_subscription')
    .select(['id', 'grant_id', 'status'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!s || s.status === 'deleted')
    throw new AppError('NOT_FOUND', [
      { field: 'id', reason: `subscription ${id} not found`, reasonZh: `变更订阅 ${id} 不存在` },
    ]);
  const g = await grantFor(ctx, actor, s.grant_id);
  await inTx(ctx.db, async (trx) => {
    await trx
      .updateTable('feed_subscription')
      .set({ status: 'deleted', deleted_at: new Date() })
      .where('id', '=', id)
      .execute();
    await appendAudit(trx, {
      action: 'feed.unsubscribe',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      appId: g.app_id,
      grantId: g.id,
      resourceId: g.resource_id,
      targetType: 'feed_subscription',
      targetId: id,
      clientIp: actor.clientIp,
    });
  });
  return { id, status: 'deleted' as const };
}

// ---- delivery ----

export async function scheduleDelivery(ctx: AppContext, trx: Tx, subscriptionId: number) {
  await ctx.jobs.schedule(trx, {
    kind: FEED_DELIVER_JOB,
    key: `sub-${subscriptionId}`,
    runAt: ctx.clock.now(),
    payload: { subscriptionId },
    maxAttempts: MAX_ATTEMPTS,
  });
}

/** Called in an import's (or a rollback's) committing transaction: every active subscription of the resource is due. */
export async function queueFeedAfterChange(ctx: AppContext, trx: Tx, resourceId: number) {
  const subs = await trx
    .selectFrom('feed_subscription')
    .select('id')
    .where('resource_id', '=', resourceId)
    .where('status', '=', 'active')
    .execute();
  for (const s of subs) await scheduleDelivery(ctx, trx, Number(s.id));
}

/** The job: delivers the subscription's pending changes batch by batch; throws on a failed batch (retried with backoff). */
export async function deliverFeedJob(ctx: AppContext, subscriptionId: number, key: string): Promise<void> {
  const until = Date.now() + RUN_BUDGET_MS;
  while (await deliverOnce(ctx, subscriptionId)) {
    if (Date.now() > until) {
      // more to send: a continuation job (another key: this one is marked done when this run returns); the cursor
      // advances only from the value a batch was read at, so two runs never skip a change
      await ctx.jobs.schedule(ctx.db, {
        kind: FEED_DELIVER_JOB,
        key: key.endsWith(':more') ? `sub-${subscriptionId}` : `sub-${subscriptionId}:more`,
        runAt: ctx.clock.now(),
        payload: { subscriptionId },
        maxAttempts: MAX_ATTEMPTS,
      });
      return;
    }
  }
}

const bounded = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** One batch: read (governed, audited), send, acknowledge. Returns whether there may be more. */
async function deliverOnce(ctx: AppContext, subscriptionId: number): Promise<boolean> {
  const s = await ctx.db
    .selectFrom('feed_subscription as s')
    .innerJoin('app as a', 'a.id', 's.app_id')
    .innerJoin('resource as r', 'r.id', 's.resource_id')
    .select([
      's.id',
      's.target',
      's.url',
      's.subject',
      's.purpose',
      's.secret_salt',
      's.cursor_seq',
      's.pending_to',
      's.status',
      's.failures',
      'a.key_hash',
      'r.code as resource_code',
    ])
    .where('s.id', '=', subscriptionId)
    .executeTakeFirst();
  if (s?.status !== 'active') return false;
  const caller: Caller = {
    keyHash: s.key_hash,
    clientIp: null,
    purpose: s.purpose,
    fields: null,
    purposeChecked: ctx.profile.sharing.purposeLimited !== undefined,
  };
  const after = String(s.cursor_seq);
  const attemptAt = new Date();
  let page: Awaited<ReturnType<typeof pageOf>>;
  let auditId: number | null;
  try {
    const { meta, row } = await call(ctx, s.resource_code, caller, 'list', (m) =>
      governedFeed(ctx.database, m, caller, after, FEED_BATCH, FEED_BATCH, {
        subscriptionId: Number(s.id),
        upTo: s.pending_to === null ? null : Number(s.pending_to),
      }),
    );
    await settle(ctx, caller, meta, row, false);
    page = await pageOf(ctx, meta, row, after);
    auditId = row.audit_id;
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    // refused (grant revoked or expired, right withdrawn, app suspended): the statement audited it; the subscription
    // stops with the reason, and nothing is retried
    await ctx.db
      .updateTable('feed_subscription')
      .set({
        status: ['RATE_LIMITED', 'QUOTA_EXCEEDED'].includes(e.code) ? 'active' : 'stopped',
        last_error_code: e.code,
        last_error: bounded(e.messageEn, 500),
        last_attempt_at: attemptAt,
      })
      .where('id', '=', s.id)
      .execute();
    if (['RATE_LIMITED', 'QUOTA_EXCEEDED'].includes(e.code)) throw e;
    return false;
  }
  if (page.lastSeq <= Number(s.cursor_seq)) return false;
  const cursor = encodeFeedCursor(page.lastSeq);
  const body = JSON.stringify({
    subscriptionId: Number(s.id),
    resourceCode: s.resource_code,
    after: Number(s.cursor_seq) > 0 ? encodeFeedCursor(s.cursor_seq) : null,
    cursor,
    changes: page.changes,
  });
  let error: string | null = null;
  let httpStatus: number | null = null;
  try {
    if (s.target === 'webhook') {
      await checkTarget(ctx, s.url!);
      const res = await fetch(s.url!, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'x-govshare-signature': signBody(subscriptionSecret(ctx, Number(s.id), s.secret_salt), body),
          'x-govshare-cursor': cursor,
          'x-govshare-subscription': String(s.id),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(10_000),
      });
      httpStatus = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } else {
      if (!ctx.config.natsUrl) throw new AppError('FEED_NATS_UNCONFIGURED');
      await natsPublish(ctx, s.subject!, body, natsMsgId(Number(s.id), s.secret_salt, cursor), cursor);
    }
  } catch (e) {
    error =
      e instanceof AppError
        ? `${e.code}: ${e.details[0]?.reason ?? e.messageEn}`
        : e instanceof Error
          ? e.message
          : String(e);
  }
  await inTx(ctx.db, async (trx) => {
    await trx
      .insertInto('feed_delivery')
      .values({
        subscription_id: Number(s.id),
        cursor_from: Number(s.cursor_seq),
        cursor_to: page.lastSeq,
        changes: page.changes.length,
        attempt: s.failures + 1,
        status: error ? 'failed' : 'delivered',
        http_status: httpStatus,
        error: error ? bounded(error, 500) : null,
        audit_id: auditId,
      })
      .execute();
    if (error)
      await trx
        .updateTable('feed_subscription')
        .set((eb) => ({
          pending_to: page.lastSeq,
          failures: eb('failures', '+', 1),
          last_error: bounded(error!, 500),
          last_error_code: 'FEED_DELIVERY_FAILED',
          last_attempt_at: attemptAt,
        }))
        .where('id', '=', s.id)
        .execute();
    else
      await trx
        .updateTable('feed_subscription')
        .set((eb) => ({
          cursor_seq: page.lastSeq,
          pending_to: null,
          delivered: eb('delivered', '+', page.changes.length),
          failures: 0,
          last_error: null,
          last_error_code: null,
          last_attempt_at: attemptAt,
          last_delivery_at: new Date(),
        }))
        .where('id', '=', s.id)
        .where('cursor_seq', '=', s.cursor_seq)
        .execute();
    // bounded: the last DELIVERIES_KEPT attempts
    const old = await trx
      .selectFrom('feed_delivery')
      .select('id')
      .where('subscription_id', '=', Number(s.id))
      .orderBy('id', 'desc')
      .offset(DELIVERIES_KEPT)
      .limit(1)
      .executeTakeFirst();
    if (old)
      await trx
        .deleteFrom('feed_delivery')
        .where('subscription_id', '=', Number(s.id))
        .where('id', '<=', old.id)
        .execute();
  });
  if (error) throw new Error(`feed delivery of subscription ${s.id} failed: ${error}`);
  return page.hasMore;
}

/** The last delivery attempts of a subscription (console). */
export async function listDeliveries(ctx: AppContext, actor: Actor, id: number) {
  const s = await ctx.db
    .selectFrom('feed_subscription')
    .select(['id', 'grant_id'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!s)
    throw new AppError('NOT_FOUND', [
      { field: 'id', reason: `subscription ${id} not found`, reasonZh: `变更订阅 ${id} 不存在` },
    ]);
  await grantFor(ctx, actor, s.grant_id);
  const rows = await ctx.db
    .selectFrom('feed_delivery')
    .select(['id', 'cursor_to', 'changes', 'status', 'http_status', 'error', 'at'])
    .where('subscription_id', '=', id)
    .orderBy('id', 'desc')
    .limit(20)
    .execute();
  return {
    items: rows.map((d) => ({
      id: Number(d.id),
      cursor: encodeFeedCursor(d.cursor_to),
      changes: d.changes,
      status: d.status,
      httpStatus: d.http_status,
      error: d.error,
      at: d.at,
    })),
  };
}
