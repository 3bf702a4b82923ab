import { sql } from 'kysely';
import type { AppContext } from '../context.js';
import { signBody } from '../dataapi/feed.js';
import { maskValue } from '../dataapi/masking.js';
import { inTx } from '../db/index.js';
import { articleText, labelOf } from '../shared/labels.js';

/*
 * Reminders outside the console (issue 8 point 4: "e-mail/SMS senders are pluggable, with a log sender in the demo").
 *
 * notify() writes the in-app inbox row inside the caller's transaction, as before. This delivery job then takes up
 * every warning or critical notification (reminders, escalations, deemed consent, suspensions; `info` ones stay in the
 * inbox) whose person left a mobile number or e-mail address, queues one delivery per channel, and sends it through
 * the sender configured for that channel (NOTIFY_SMS_SENDER / NOTIFY_EMAIL_SENDER):
 *   log      — one line in the server log with the contact masked (the demo's sender);
 *   webhook  — POST of a JSON message to NOTIFY_WEBHOOK_URL (an SMS or mail gateway), signed with X-Govshare-Signature
 *              (HMAC-SHA256 with NOTIFY_WEBHOOK_SECRET, when set);
 *   none     — the channel is off;
 *   anything registered with registerSender() by a deployment (粤政易, a provincial SMS platform …).
 * A failed send is retried on the next runs, up to MAX_ATTEMPTS, then left failed with its error; the row is locked
 * while it is sent, so one node sends each message once. The contact is read from app_user at sending time and never
 * copied into the delivery row.
 */

export type Channel = 'sms' | 'email';
export const CHANNELS: readonly Channel[] = ['sms', 'email'];
export const NOTIFY_DELIVER_JOB = 'notify.deliver';
export const MAX_ATTEMPTS = 5;
const BATCH = 100;

export interface OutboundMessage {
  channel: Channel;
  /** the mobile number or e-mail address */
  to: string;
  userId: number;
  notificationId: number;
  kind: string;
  severity: string;
  /** the message in Chinese, worded from the label table as the console words it */
  subject: string;
  text: string;
}

export interface Sender {
  send(m: OutboundMessage): Promise<void>;
}

type SenderFactory = (ctx: AppContext) => Sender;
const factories = new Map<string, SenderFactory>();

/** Makes a sender available under `name` (NOTIFY_SMS_SENDER=name). A deployment registers its own before boot. */
export function registerSender(name: string, factory: SenderFactory): void {
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(name))
    throw new Error(`sender name "${name}" is not [a-z][a-z0-9-]{0,39}`);
  factories.set(name, factory);
}

registerSender('log', () => ({
  async send(m) {
    const to = maskValue(m.channel === 'sms' ? 'phone' : 'partial', m.to);
    console.log(`govshare notify [${m.channel} → ${to}] ${m.text}`);
  },
}));

registerSender('webhook', (ctx) => ({
  async send(m) {
    const url = ctx.config.notifyWebhookUrl;
    if (!url) throw new Error('NOTIFY_WEBHOOK_URL is not set');
    const body = JSON.stringify(m);
    const key = ctx.config.notifyWebhookSecret;
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key ? { 'x-govshare-signature': signBody(key, body) } : {}),
      },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`the gateway answered ${res.status}`);
  },
}));

/** The configured sender of a channel; null when the channel is off. An unknown name fails the boot (configCheck). */
export function senderOf(ctx: AppContext, channel: Channel): { name: string; sender: Sender } | null {
  const name = ctx.config.notifySenders?.[channel] ?? 'none';
  if (name === 'none') return null;
  const f = factories.get(name);
  if (!f) throw new Error(`NOTIFY_${channel.toUpperCase()}_SENDER: no sender named "${name}"`);
  return { name, sender: f(ctx) };
}

/** A notification in words: its label with the parameters filled in (articles as words), zh-CN. */
export function notificationText(kind: string, params: Record<string, unknown>): string {
  const template = labelOf(`notify.kind.${kind}`) ?? kind;
  return template.replace(/\{(\w+)\}/g, (whole, k: string) => {
    const v = params[k];
    if (v === undefined || v === null) return whole;
    return k === 'article' && typeof v === 'string' ? articleText(v, 'zh') : String(v);
  });
}

/** Queues deliveries for the notifications not yet taken up, then sends what is queued. Returns the messages sent. */
export async function deliverNotifications(
  ctx: AppContext,
): Promise<{ queued: number; sent: number; failed: number }> {
  const senders = Object.fromEntries(CHANNELS.map((c) => [c, senderOf(ctx, c)])) as Record<
    Channel,
    ReturnType<typeof senderOf>
  >;
  const queued = await queueDeliveries(ctx, senders);
  let sent = 0;
  let failed = 0;
  // each queued delivery is tried once per run (a cursor over ids): a failing one waits for the next run
  let after = 0;
  for (let i = 0; i < BATCH; i++) {
    const r = await sendOne(ctx, senders, after);
    if (r === null) break;
    after = r.id;
    if (r.result === 'sent') sent++;
    else if (r.result === 'failed') failed++;
  }
  return { queued, sent, failed };
}

async function queueDeliveries(ctx: AppContext, senders: Record<Channel, ReturnType<typeof senderOf>>) {
  return inTx(ctx.db, async (trx) => {
    const { rows } = await sql<{ id: number }>`
      SELECT id FROM notification WHERE outbound_at IS NULL AND severity IN ('warning', 'critical')
      ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`.execute(trx);
    if (!rows.length) return 0;
    const ids = rows.map((r) => Number(r.id));
    let n = 0;
    for (const channel of CHANNELS) {
      const s = senders[channel];
      if (!s) continue;
      const contact = channel === 'sms' ? sql`u.mobile` : sql`u.email`;
      const res = await sql`
        INSERT INTO notification_delivery (notification_id, user_id, channel, sender)
        SELECT n.id, n.user_id, ${channel}, ${s.name} FROM notification n JOIN app_user u ON u.id = n.user_id
        WHERE n.id = ANY(${ids}::bigint[]) AND ${contact} IS NOT NULL AND NOT u.disabled
        ON CONFLICT (notification_id, channel) DO NOTHING`.execute(trx);
      n += Number(res.numAffectedRows ?? 0);
    }
    await trx
      .updateTable('notification')
      .set({ outbound_at: ctx.clock.now() })
      .where('id', 'in', ids)
      .execute();
    return n;
  });
}

async function sendOne(
  ctx: AppContext,
  senders: Record<Channel, ReturnType<typeof senderOf>>,
  after: number,
): Promise<{ id: number; result: 'sent' | 'failed' | 'retry' } | null> {
  return inTx(ctx.db, async (trx) => {
    const { rows } = await sql<{
      id: number;
      notification_id: number;
      user_id: number;
      channel: Channel;
      attempts: number;
      kind: string;
      severity: string;
      params: Record<string, unknown>;
      mobile: string | null;
      email: string | null;
    }>`
      SELECT d.id, d.notification_id, d.user_id, d.channel, d.attempts, n.kind, n.severity, n.params, u.mobile, u.email
      FROM notification_delivery d JOIN notification n ON n.id = d.notification_id JOIN app_user u ON u.id = d.user_id
      WHERE d.status = 'queued' AND d.id > ${after} ORDER BY d.id LIMIT 1 FOR UPDATE OF d SKIP LOCKED`.execute(
      trx,
    );
    const d = rows[0];
    if (!d) return null;
    const attempts = d.attempts + 1;
    const to = d.channel === 'sms' ? d.mobile : d.email;
    const s = senders[d.channel];
    let error: string | null = null;
    if (!to) error = 'the person removed this contact';
    else if (!s) error = `the ${d.channel} channel is off`;
    else {
      const text = notificationText(d.kind, d.params ?? {});
      try {
        await s.sender.send({
          channel: d.channel,
          to,
          userId: Number(d.user_id),
          notificationId: Number(d.notification_id),
          kind: d.kind,
          severity: d.severity,
          subject: `【政务数据共享平台】${d.severity === 'critical' ? '紧急提醒' : '消息提醒'}`,
          text,
        });
      } catch (e) {
        error = (e as Error).message.slice(0, 500);
      }
    }
    const status = error === null ? 'sent' : attempts >= MAX_ATTEMPTS || !to || !s ? 'failed' : 'queued';
    await trx
      .updateTable('notification_delivery')
      .set({
        status,
        attempts,
        last_error: error,
        sent_at: error === null ? ctx.clock.now() : null,
      })
      .where('id', '=', d.id)
      .execute();
    return { id: Number(d.id), result: status === 'queued' ? ('retry' as const) : status };
  });
}
