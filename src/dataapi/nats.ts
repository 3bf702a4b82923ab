import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import type { AppContext } from '../context.js';

/*
 * The change feed's NATS JetStream target (issue 9 point 6): one connection per context, opened on first use, closed by
 * closeContext. Feed messages go to `govshare.feed.<resource code>.<app id>` in the stream GOVSHARE_FEED (created when
 * missing); each carries `Nats-Msg-Id` = the subscription id and the batch's cursor, so a batch sent again (at-least-once)
 * is dropped by the stream's duplicate window.
 */

export const FEED_STREAM = 'GOVSHARE_FEED';
export const FEED_SUBJECT_ROOT = 'govshare.feed';

const conns = new WeakMap<AppContext, Promise<NatsConnection>>();

/** A subject token from a resource code: NATS tokens may not hold `.`, `*`, `>` or spaces. */
export function subjectToken(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}

export function feedSubject(resourceCode: string, appId: number): string {
  return `${FEED_SUBJECT_ROOT}.${subjectToken(resourceCode)}.${appId}`;
}

async function open(ctx: AppContext): Promise<NatsConnection> {
  const url = ctx.config.natsUrl;
  if (!url) throw new Error('NATS_URL is not set');
  const nc = await connect({ servers: url, timeout: 5000, name: 'govshare' });
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(FEED_STREAM);
  } catch {
    await jsm.streams.add({ name: FEED_STREAM, subjects: [`${FEED_SUBJECT_ROOT}.>`] });
  }
  return nc;
}

function connection(ctx: AppContext): Promise<NatsConnection> {
  let p = conns.get(ctx);
  if (!p) {
    p = open(ctx);
    p.catch(() => conns.delete(ctx));
    conns.set(ctx, p);
  }
  return p;
}

/** Publishes one feed batch; resolves once the stream stored it (or recognised it as a duplicate). */
export async function natsPublish(
  ctx: AppContext,
  subject: string,
  body: string,
  msgID: string,
  cursor: string,
): Promise<{ duplicate: boolean; seq: number }> {
  const nc = await connection(ctx);
  const h = headers();
  h.set('Govshare-Cursor', cursor);
  const ack = await jetstream(nc).publish(subject, body, { msgID, headers: h, timeout: 10_000 });
  return { duplicate: ack.duplicate, seq: ack.seq };
}

export async function closeNats(ctx: AppContext): Promise<void> {
  const p = conns.get(ctx);
  if (!p) return;
  conns.delete(ctx);
  const nc = await p.catch(() => null);
  await nc?.drain().catch(() => undefined);
}
