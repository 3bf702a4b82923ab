import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { signBody } from '../src/dataapi/feed.js';
import { deliverNotifications, MAX_ATTEMPTS, registerSender, senderOf } from '../src/notify/senders.js';
import { notify } from '../src/notify/service.js';
import { createTestEnv, login, type TestEnv } from './helpers.js';

/*
 * Issue 8 point 4: "in-app notifications for reminders, escalations and decisions (… e-mail/SMS senders are pluggable,
 * with a log sender in the demo)". A person sets their own mobile and e-mail; warning and critical notifications then
 * also go out through the configured senders (here: SMS through the log sender, e-mail through the webhook sender to a
 * local gateway); info ones stay in the inbox; a failing gateway is retried and then given up; nothing is sent to a
 * person without a contact or on a channel that is off.
 */
describe('pluggable e-mail/SMS senders (issue 8 point 4)', () => {
  let env: TestEnv;
  let gateway: http.Server;
  const received: { body: string; signature: string | undefined }[] = [];
  let failing = false;
  let reviewerId: number;
  let officerId: number;

  beforeAll(async () => {
    gateway = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        if (failing) {
          res.statusCode = 503;
          res.end();
          return;
        }
        received.push({ body, signature: req.headers['x-govshare-signature'] as string | undefined });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
    const port = (gateway.address() as AddressInfo).port;
    env = await createTestEnv({
      demo: { populationRows: 20, entityRows: 10 },
      config: {
        notifySenders: { sms: 'log', email: 'webhook' },
        notifyWebhookUrl: `http://127.0.0.1:${port}/hook`,
        notifyWebhookSecret: 'gateway-shared-key',
      },
    });
    const ids = await env.ctx.db
      .selectFrom('app_user')
      .select(['id', 'username'])
      .where('username', 'in', ['reviewer', 'gaj_officer'])
      .execute();
    reviewerId = Number(ids.find((u) => u.username === 'reviewer')!.id);
    officerId = Number(ids.find((u) => u.username === 'gaj_officer')!.id);
    // the demo's own queued notifications are taken up first, so the counts below are this test's
    await deliverNotifications(env.ctx);
  });
  afterAll(async () => {
    await env?.close();
    await new Promise((r) => gateway.close(r));
  });

  const send = (userIds: number[], severity: 'info' | 'warning' | 'critical', resource: string) =>
    env.ctx.db.transaction().execute(async (trx) => {
      const users = await trx
        .selectFrom('app_user')
        .select(['org_id', 'roles'])
        .where('id', 'in', userIds)
        .execute();
      return notify(
        trx,
        users.map((u) => ({ orgIds: [Number(u.org_id)], roles: u.roles as never })),
        {
          kind: 'sharing.overdue',
          severity,
          params: { resource, dueDate: '2026-12-01', article: 'DG Art 15' },
        },
      );
    });

  it('a person sets their own contacts; a bad number is a coded 400 naming the field, and nothing is stored', async () => {
    const cookie = await login(env.app, 'reviewer');
    const bad = await env.app.inject({
      method: 'PUT',
      url: '/api/notifications/contact',
      headers: { cookie },
      payload: { mobile: '12345', email: 'reviewer@example.gov.cn' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'mobile' }] });
    expect(
      (await env.app.inject({ url: '/api/notifications/contact', headers: { cookie } })).json(),
    ).toMatchObject({ mobile: null, email: null });
    const ok = await env.app.inject({
      method: 'PUT',
      url: '/api/notifications/contact',
      headers: { cookie },
      payload: { mobile: '13800138000', email: 'reviewer@example.gov.cn' },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ mobile: '13800138000', senders: { sms: 'log', email: 'webhook' } });
    const audit = await env.ctx.db
      .selectFrom('audit_log')
      .select('detail')
      .where('action', '=', 'user.contact_changed')
      .execute();
    expect(audit.length).toBe(1);
    expect(JSON.stringify(audit[0].detail)).not.toContain('13800138000');
  });

  it('warning notifications go out by SMS (log sender, number masked) and e-mail (webhook, signed, in words); info ones do not', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await send([reviewerId], 'info', '人口基础信息（仅站内）');
      await send([reviewerId, officerId], 'warning', '婚姻登记信息');
      const r = await deliverNotifications(env.ctx);
      // the reviewer has both contacts; the officer none: two messages, both sent
      expect(r).toMatchObject({ queued: 2, sent: 2, failed: 0 });
      const lines = log.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('govshare notify'));
      expect(lines.length).toBe(1);
      expect(lines[0]).toContain('婚姻登记信息');
      expect(lines[0]).not.toContain('13800138000');
      expect(lines[0]).toMatch(/138\*+8000/);
    } finally {
      log.mockRestore();
    }
    expect(received.length).toBe(1);
    const msg = JSON.parse(received[0].body);
    expect(msg).toMatchObject({ channel: 'email', to: 'reviewer@example.gov.cn', kind: 'sharing.overdue' });
    expect(msg.text).toContain('共享申请「婚姻登记信息」已超过办理期限');
    expect(msg.text).toContain('东莞');
    expect(msg.text).not.toMatch(/\{|\}|DG Art/);
    expect(received[0].signature).toBe(signBody('gateway-shared-key', received[0].body));
    // the inbox says how it went out; the info one has no delivery
    const cookie = await login(env.app, 'reviewer');
    const inbox = (await env.app.inject({ url: '/api/notifications', headers: { cookie } })).json();
    const warned = inbox.items.find(
      (n: { params: { resource: string } }) => n.params.resource === '婚姻登记信息',
    );
    expect(warned.deliveries).toEqual(
      expect.arrayContaining([
        { channel: 'sms', status: 'sent' },
        { channel: 'email', status: 'sent' },
      ]),
    );
    const quiet = inbox.items.find(
      (n: { params: { resource: string } }) => n.params.resource === '人口基础信息（仅站内）',
    );
    expect(quiet.deliveries).toEqual([]);
    // a second run sends nothing again
    expect(await deliverNotifications(env.ctx)).toMatchObject({ queued: 0, sent: 0 });
  });

  it('a gateway that fails is retried on each run, then given up after MAX_ATTEMPTS with its error kept', async () => {
    failing = true;
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await send([reviewerId], 'critical', '企业登记信息');
      const first = await deliverNotifications(env.ctx);
      expect(first).toMatchObject({ queued: 2, sent: 1, failed: 0 }); // the SMS (log) went; the e-mail waits
      for (let i = 1; i < MAX_ATTEMPTS; i++) await deliverNotifications(env.ctx);
    } finally {
      log.mockRestore();
      failing = false;
    }
    const d = await env.ctx.db
      .selectFrom('notification_delivery')
      .select(['status', 'attempts', 'last_error'])
      .where('channel', '=', 'email')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(d).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS });
    expect(d.last_error).toContain('503');
    // given up: later runs leave it alone
    expect(await deliverNotifications(env.ctx)).toMatchObject({ sent: 0, failed: 0 });
  });

  it('a deployment plugs in its own sender by name; an unknown name fails loudly; none switches a channel off', async () => {
    const got: string[] = [];
    registerSender('test-gateway', () => ({
      async send(m) {
        got.push(`${m.channel}:${m.to}`);
      },
    }));
    const cfg = env.ctx.config;
    try {
      (env.ctx as { config: typeof cfg }).config = {
        ...cfg,
        notifySenders: { sms: 'test-gateway', email: 'none' },
      };
      await send([reviewerId], 'warning', '社保参保信息');
      expect(await deliverNotifications(env.ctx)).toMatchObject({ queued: 1, sent: 1 });
      expect(got).toEqual(['sms:13800138000']);
      (env.ctx as { config: typeof cfg }).config = {
        ...cfg,
        notifySenders: { sms: 'no-such', email: 'none' },
      };
      expect(() => senderOf(env.ctx, 'sms')).toThrow(/no sender named "no-such"/);
    } finally {
      (env.ctx as { config: typeof cfg }).config = cfg;
    }
  });
});
