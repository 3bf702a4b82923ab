import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SUBSCRIPTIONS_PER_GRANT } from '../src/dataapi/feed.js';
import { maskValue } from '../src/dataapi/masking.js';
import { FEED_STREAM } from '../src/dataapi/nats.js';
import { manualClock } from '../src/shared/clock.js';
import { clearRows, codeOf, createTestEnv, dataPath, grantedApp, login, type TestEnv } from './helpers.js';

/*
 * Issue 9 point 6: the change feed. Changes since a cursor, complete and in commit order across imports (updates and
 * deletes), granted fields only, masked as the API masks (DG Art 33), under the grant's change-feed right and its
 * purpose (DG Art 26), every page and every refusal audited (DG Art 28); pushed to a signed webhook or NATS JetStream
 * at least once with the cursor as idempotency key.
 */
type Change = {
  op: 'upsert' | 'delete';
  key: string | null;
  keyRef: string;
  version: number;
  changedAt: string;
  record?: Record<string, unknown>;
};

describe('data API: change feed (issue 9 point 6)', () => {
  let env: TestEnv;
  const clock = manualClock(new Date());
  let POPULATION = '';
  let resourceId = 0;
  let table = '';
  let fieldCodes: string[] = [];
  let provider = '';
  let consumer = '';
  let people: Awaited<ReturnType<typeof clearRows>>;
  let g: { apiKey: string; purposeId: string; grantId: number; appId: number };
  const GRANTED = ['idNumber', 'name', 'gender', 'birthDate', 'phone'];

  async function readPeople() {
    const f = await env.ctx.db
      .selectFrom('resource_field')
      .select(['code', 'ordinal'])
      .where('resource_id', '=', resourceId)
      .orderBy('ordinal')
      .execute();
    fieldCodes = f.map((x) => x.code);
    // the ID number is encrypted at rest and `_key` is its keyed hash: `key` is the clear record key (decrypted)
    return clearRows(env, table);
  }

  /** An import by the provider's officer: records as objects keyed by field code. */
  async function ingest(records: Record<string, string | null>[], mode: 'upsert' | 'delete') {
    const res = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/resources/${resourceId}/records`,
      headers: { cookie: provider },
      payload: {
        mode,
        records: records.map((r) =>
          Object.fromEntries(fieldCodes.filter((c) => r[c] !== null).map((c) => [c, r[c]])),
        ),
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  }

  const changes = (who: { apiKey: string; purposeId: string }, query = '', purpose = who.purposeId) =>
    env.app.inject({
      url: `${dataPath(POPULATION)}/changes${query ? `?${query}` : ''}`,
      headers: { 'x-api-key': who.apiKey, 'x-purpose': purpose },
    });

  /** Every change after `cursor`, page by page. */
  async function drain(cursor: string | null, limit = 40) {
    const all: Change[] = [];
    let pages = 0;
    for (;;) {
      const res = await changes(g, `limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      all.push(...body.changes);
      cursor = body.cursor;
      pages++;
      if (!body.hasMore) break;
    }
    return { all, cursor: cursor!, pages };
  }

  beforeAll(async () => {
    env = await createTestEnv({
      demo: { populationRows: 120, entityRows: 20 },
      clock,
      config: {
        // the test's webhook listens on 127.0.0.1 (refused by default: see the SSRF test below)
        feedWebhookAllowPrivate: true,
        dataApi: {
          appRatePerSecond: 1000,
          grantCallsPerDay: 100_000,
          grantRowsPerCall: 1000,
          keyFailuresPerMinute: 50,
          enumerationMisses: 50,
        },
      },
    });
    POPULATION = await codeOf(env, '人口基础信息');
    const r = await env.ctx.db
      .selectFrom('resource')
      .select(['id', 'data_table'])
      .where('code', '=', POPULATION)
      .executeTakeFirstOrThrow();
    resourceId = r.id;
    table = r.data_table!;
    people = await readPeople();
    provider = await login(env.app, 'gaj_officer');
    consumer = await login(env.app, 'rsj_officer');
    g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: GRANTED,
      appName: '人社夜间同步',
      quota: { feed: true },
    });
  });
  afterAll(async () => env?.close());

  it('pages every change in commit order across two imports (updates and deletes); the cursor is stable', async () => {
    // the initial load: one upsert per record, in load order
    const first = await drain(null);
    expect(first.all).toHaveLength(people.length);
    expect(first.all.every((c) => c.op === 'upsert' && c.version === 1)).toBe(true);
    expect(first.pages).toBeGreaterThan(2);
    const refs = first.all.map((c) => c.keyRef);
    expect(new Set(refs).size).toBe(people.length);
    // nothing new: the same cursor back, no changes
    const idle = await changes(g, `cursor=${first.cursor}`);
    expect(idle.json()).toMatchObject({ changes: [], cursor: first.cursor, hasMore: false });

    // import 1: three records change; import 2: one of them changes again, two records are deleted
    const changed = [people[3], people[10], people[20]].map((p) => ({ ...p, name: `${p.name}改` }));
    await ingest(changed, 'upsert');
    await ingest([{ ...changed[1], name: '再改名' }], 'upsert');
    await ingest([people[30], people[40]], 'delete');
    const next = await drain(first.cursor, 2);
    expect(next.all.map((c) => [c.op, c.version])).toEqual([
      ['upsert', 2],
      ['upsert', 2],
      ['upsert', 2],
      ['upsert', 3],
      ['delete', 1],
      ['delete', 1],
    ]);
    // each change carries the values of exactly its version (the replaced one from record_history)
    const byName = next.all.filter((c) => c.op === 'upsert').map((c) => c.record?.name);
    expect(byName).toContain(maskValue('name', changed[1].name));
    expect(byName).toContain(maskValue('name', '再改名'));
    const ref = (i: number) => refs[i];
    expect(next.all[4].keyRef === ref(30) || next.all[4].keyRef === ref(40)).toBe(true);
    expect(next.all.filter((c) => c.op === 'delete').every((c) => c.record === undefined)).toBe(true);
    // replaying from the same cursor gives the same changes (stable)
    const again = await drain(first.cursor, 100);
    expect(again.all).toEqual(next.all);
    expect(again.cursor).toBe(next.cursor);
  });

  it('DG Art 33: granted fields only, masked as the API masks; key masked like the key field', async () => {
    const res = await changes(g, 'limit=5');
    const body = res.json();
    for (const c of body.changes as Change[]) {
      expect(Object.keys(c.record!).sort()).toEqual([...GRANTED].sort());
      const p = people.find((x) => maskValue('idNumber', x.key) === c.key)!;
      expect(p).toBeDefined();
      expect(c.record!.idNumber).toBe(maskValue('idNumber', p.key));
      expect(c.record!.name).toBe(maskValue('name', p.name));
      expect(c.record!.phone).toBe(maskValue('phone', p.phone));
      expect(JSON.stringify(c)).not.toContain(p.key);
    }
    // the same record through the governed list: the same masked values
    const list = await env.app.inject({
      url: `${dataPath(POPULATION)}/records?limit=1&fields=idNumber,name,phone`,
      headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
    });
    const rec = list.json().items[0];
    expect(body.changes[0].record).toMatchObject(rec);
    // fields= narrows; a field outside the grant is refused, not dropped
    const narrow = await changes(g, 'limit=2&fields=name');
    expect(Object.keys(narrow.json().changes[0].record)).toEqual(['name']);
    expect(narrow.json().changes[0].key).toBeNull();
    const outside = await changes(g, 'limit=2&fields=name,address');
    expect(outside.statusCode).toBe(403);
    expect(outside.json().code).toBe('FIELD_NOT_GRANTED');
  });

  it('DG Art 26 / 28: refused without the change-feed right, for another purpose, after revocation; each refusal audited', async () => {
    const noRight = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['idNumber', 'name'],
      appName: '无订阅权的应用',
    });
    const a = await changes(noRight);
    expect(a.statusCode).toBe(403);
    expect(a.json()).toMatchObject({
      code: 'FEED_NOT_GRANTED',
      message: '该授权不含变更订阅（增量同步）权限',
    });
    const b = await changes(g, '', encodeURIComponent('其他用途'));
    expect(b.statusCode).toBe(403);
    expect(b.json().code).toBe('PURPOSE_MISMATCH');
    // the provider grants the right through the grant edit, then revokes the grant
    const edit = await env.app.inject({
      method: 'PATCH',
      url: `/api/sharing/grants/${noRight.grantId}`,
      headers: { cookie: provider },
      payload: { feed: true },
    });
    expect(edit.statusCode, edit.body).toBe(200);
    expect(edit.json().rights.feed).toBe(true);
    expect((await changes(noRight, 'limit=1')).statusCode).toBe(200);
    const revoke = await env.app.inject({
      method: 'POST',
      url: `/api/sharing/grants/${noRight.grantId}/revoke`,
      headers: { cookie: provider },
    });
    expect(revoke.statusCode, revoke.body).toBe(200);
    const c = await changes(noRight, 'limit=1');
    expect(c.statusCode).toBe(403);
    expect(c.json().code).toBe('GRANT_REQUIRED');
    const denies = await env.ctx.db
      .selectFrom('audit_log')
      .select(['detail', 'app_id', 'rows_returned'])
      .where('action', '=', 'data.feed')
      .where('decision', '=', 'deny')
      .execute();
    const reasons = denies.map((d) => (d.detail as { reason: string }).reason);
    expect(reasons).toEqual(
      expect.arrayContaining(['FEED_NOT_GRANTED', 'PURPOSE_MISMATCH', 'GRANT_REQUIRED']),
    );
    expect(denies.every((d) => d.rows_returned === null)).toBe(true);
    const allows = await env.ctx.db
      .selectFrom('audit_log')
      .select(['rows_returned', 'grant_id'])
      .where('action', '=', 'data.feed')
      .where('decision', '=', 'allow')
      .where('app_id', '=', g.appId)
      .execute();
    expect(allows.length).toBeGreaterThan(5);
  });

  it('webhook: signed HMAC-SHA256, a failed batch is retried with backoff, at least once with the cursor as idempotency key', async () => {
    let secret = '';
    const seen = new Map<string, Change[]>();
    let calls = 0;
    let badSignatures = 0;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        calls++;
        const body = Buffer.concat(chunks).toString('utf8');
        const expected = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
        if (req.headers['x-govshare-signature'] !== expected) {
          badSignatures++;
          res.statusCode = 401;
          return res.end();
        }
        // the first delivery fails: the batch must come again, unchanged, under the same cursor
        if (calls === 1) {
          res.statusCode = 503;
          return res.end();
        }
        const cursor = String(req.headers['x-govshare-cursor']);
        const parsed = JSON.parse(body) as { cursor: string; changes: Change[] };
        expect(parsed.cursor).toBe(cursor);
        seen.set(cursor, parsed.changes); // dedupe by cursor
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const created = await env.app.inject({
        method: 'POST',
        url: `/api/dataapi/grants/${g.grantId}/feed-subscriptions`,
        headers: { cookie: consumer },
        payload: { target: 'webhook', url: `http://127.0.0.1:${port}/hook` },
      });
      expect(created.statusCode, created.body).toBe(201);
      secret = created.json().secret;
      const subId = created.json().subscription.id;
      await env.ctx.jobs.runDue();
      expect(calls).toBe(1);
      let sub = (
        await env.app.inject({
          url: `/api/dataapi/grants/${g.grantId}/feed-subscriptions`,
          headers: { cookie: consumer },
        })
      ).json().items[0];
      expect(sub).toMatchObject({
        id: subId,
        failures: 1,
        cursor: null,
        lastErrorCode: 'FEED_DELIVERY_FAILED',
      });
      // not before the backoff
      await env.ctx.jobs.runDue();
      expect(calls).toBe(1);
      clock.advanceSeconds(31);
      await env.ctx.jobs.runDue();
      expect(badSignatures).toBe(0);
      const delivered = [...seen.values()].flat();
      const pulled = (await drain(null, 1000)).all;
      expect(delivered).toEqual(pulled);
      sub = (
        await env.app.inject({
          url: `/api/dataapi/grants/${g.grantId}/feed-subscriptions`,
          headers: { cookie: consumer },
        })
      ).json().items[0];
      expect(sub).toMatchObject({ failures: 0, delivered: pulled.length, lastErrorCode: null });
      expect(sub.lastDeliveryAt).not.toBeNull();
      // the retried batch is the failed one: same cursor
      const deliveries = (
        await env.app.inject({
          url: `/api/dataapi/feed-subscriptions/${subId}/deliveries`,
          headers: { cookie: consumer },
        })
      ).json().items;
      const failed = deliveries.find((d: { status: string }) => d.status === 'failed');
      expect(failed).toBeDefined();
      expect(seen.has(failed.cursor)).toBe(true);
      // every batch that left is audited with the subscription
      const audited = await env.ctx.db
        .selectFrom('audit_log')
        .select(['detail', 'rows_returned'])
        .where('action', '=', 'data.feed')
        .where('decision', '=', 'allow')
        .execute();
      const forSub = audited.filter(
        (a) => (a.detail as { subscriptionId?: number }).subscriptionId === subId,
      );
      expect(forSub.length).toBe(calls);
      // a new import is pushed after it commits
      const before = seen.size;
      await ingest([{ ...people[50], name: '推送后改名' }], 'upsert');
      await env.ctx.jobs.runDue();
      expect(seen.size).toBe(before + 1);
      const last = [...seen.values()].at(-1)!;
      expect(last).toHaveLength(1);
      expect(last[0].record?.name).toBe(maskValue('name', '推送后改名'));
      expect(sub.cursor).not.toBe(
        (
          await env.app.inject({
            url: `/api/dataapi/grants/${g.grantId}/feed-subscriptions`,
            headers: { cookie: consumer },
          })
        ).json().items[0].cursor,
      );
      // ended: the next import delivers nothing
      const del = await env.app.inject({
        method: 'DELETE',
        url: `/api/dataapi/feed-subscriptions/${subId}`,
        headers: { cookie: consumer },
      });
      expect(del.statusCode, del.body).toBe(200);
      await ingest([{ ...people[51], name: '退订后改名' }], 'upsert');
      await env.ctx.jobs.runDue();
      expect(seen.size).toBe(before + 1);
    } finally {
      server.close();
    }
  });

  it('DG Art 17: a rolled-back import is followed by the restored version; the withdrawn one is not served again', async () => {
    const start = (await drain(null, 1000)).cursor;
    const batch = await ingest([{ ...people[60], name: '误传姓名' }], 'upsert');
    const seen = await drain(start, 1000);
    expect(seen.all.map((c) => [c.op, c.version, c.record?.name])).toEqual([
      ['upsert', 2, maskValue('name', '误传姓名')],
    ]);
    const rb = await env.app.inject({
      method: 'POST',
      url: `/api/ingest/imports/${batch.id}/rollback`,
      headers: { cookie: await login(env.app, 'reviewer') },
      payload: { reason: '数源部门误传，经核实回滚' },
    });
    expect(rb.statusCode, rb.body).toBe(200);
    // a consumer that synced the mistaken version gets the restored one next
    const restored = (await drain(seen.cursor, 1000)).all;
    expect(restored.map((c) => [c.op, c.version, c.record?.name])).toEqual([
      ['upsert', 1, maskValue('name', people[60].name)],
    ]);
    expect(restored[0].keyRef).toBe(seen.all[0].keyRef);
    // one that syncs later never receives the withdrawn values
    const later = (await drain(start, 1000)).all;
    expect(later).toEqual(restored);
  });

  it('subscriptions need the change-feed right; NATS needs NATS_URL; no webhook into the platform network (coded refusals)', async () => {
    const noRight = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: POPULATION,
      fields: ['name'],
      appName: '无订阅权的应用二',
    });
    const a = await env.app.inject({
      method: 'POST',
      url: `/api/dataapi/grants/${noRight.grantId}/feed-subscriptions`,
      headers: { cookie: consumer },
      payload: { target: 'webhook', url: 'http://127.0.0.1:9/hook' },
    });
    expect(a.statusCode).toBe(403);
    expect(a.json().code).toBe('FEED_NOT_GRANTED');
    const refused = await env.ctx.db
      .selectFrom('audit_refusal_tally')
      .select(['code', 'route', 'count'])
      .where('code', '=', 'FEED_NOT_GRANTED')
      .execute();
    expect(refused).toEqual([
      expect.objectContaining({ route: '/api/dataapi/grants/:id/feed-subscriptions', count: 1 }),
    ]);
    // SSRF: by default a webhook may not target the platform's own network (loopback, private, link-local)
    env.ctx.config.feedWebhookAllowPrivate = false;
    try {
      for (const url of [
        'http://127.0.0.1:8080/hook',
        'http://10.1.2.3/hook',
        'http://[::1]/hook',
        'http://169.254.169.254/latest/meta-data',
        'http://localhost/hook',
        'http://[::ffff:192.168.1.1]/hook',
      ]) {
        const r = await env.app.inject({
          method: 'POST',
          url: `/api/dataapi/grants/${g.grantId}/feed-subscriptions`,
          headers: { cookie: consumer },
          payload: { target: 'webhook', url },
        });
        expect(r.statusCode, url).toBe(400);
        expect(r.json().details[0].reasonZh).toBe('Webhook 地址不能指向本机或内网地址');
      }
    } finally {
      env.ctx.config.feedWebhookAllowPrivate = true;
    }
    // another organisation cannot see or manage the consumer's subscriptions
    const b = await env.app.inject({
      url: `/api/dataapi/grants/${g.grantId}/feed-subscriptions`,
      headers: { cookie: provider },
    });
    expect(b.statusCode).toBe(404);
    if (!env.ctx.config.natsUrl) {
      const c = await env.app.inject({
        method: 'POST',
        url: `/api/dataapi/grants/${g.grantId}/feed-subscriptions`,
        headers: { cookie: consumer },
        payload: { target: 'nats' },
      });
      expect(c.statusCode).toBe(400);
      expect(c.json().code).toBe('FEED_NATS_UNCONFIGURED');
    }
  });

  it('a grant holds at most MAX_SUBSCRIPTIONS_PER_GRANT subscriptions: one more is a coded, audited refusal', async () => {
    const url = `/api/dataapi/grants/${g.grantId}/feed-subscriptions`;
    const subscribe = () =>
      env.app.inject({
        method: 'POST',
        url,
        headers: { cookie: consumer },
        payload: { target: 'webhook', url: 'http://127.0.0.1:9/hook' },
      });
    const held = async () =>
      (await env.app.inject({ url, headers: { cookie: consumer } }))
        .json()
        .items.filter((s: { status: string }) => s.status !== 'deleted');
    const created: number[] = [];
    for (let n = (await held()).length; n < MAX_SUBSCRIPTIONS_PER_GRANT; n++) {
      const r = await subscribe();
      expect(r.statusCode, r.body).toBe(201);
      created.push(r.json().subscription.id);
    }
    const over = await subscribe();
    expect(over.statusCode, over.body).toBe(400);
    expect(over.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'id' }] });
    expect(over.json().details[0].reasonZh).toContain(String(MAX_SUBSCRIPTIONS_PER_GRANT));
    expect(await held()).toHaveLength(MAX_SUBSCRIPTIONS_PER_GRANT);
    const refused = await env.ctx.db
      .selectFrom('audit_refusal_tally')
      .select('count')
      .where('code', '=', 'VALIDATION_FAILED')
      .where('route', '=', '/api/dataapi/grants/:id/feed-subscriptions')
      .execute();
    expect(refused.length).toBeGreaterThan(0);
    // a deleted one frees its place
    for (const id of created) {
      const d = await env.app.inject({
        method: 'DELETE',
        url: `/api/dataapi/feed-subscriptions/${id}`,
        headers: { cookie: consumer },
      });
      expect(d.statusCode, d.body).toBe(200);
    }
    const again = await subscribe();
    expect(again.statusCode, again.body).toBe(201);
    await env.app.inject({
      method: 'DELETE',
      url: `/api/dataapi/feed-subscriptions/${again.json().subscription.id}`,
      headers: { cookie: consumer },
    });
  });
});

describe.skipIf(!process.env.NATS_URL)('data API: change feed pushed to NATS JetStream', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({
      demo: { populationRows: 60, entityRows: 10 },
      config: { natsUrl: process.env.NATS_URL! },
    });
  });
  afterAll(async () => env?.close());

  it('delivers every change to govshare.feed.<resource>.<app>, deduplicated by Nats-Msg-Id', async () => {
    const code = await codeOf(env, '人口基础信息');
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: code,
      fields: ['idNumber', 'name'],
      appName: 'NATS 同步',
      quota: { feed: true },
    });
    const consumer = await login(env.app, 'rsj_officer');
    const created = await env.app.inject({
      method: 'POST',
      url: `/api/dataapi/grants/${g.grantId}/feed-subscriptions`,
      headers: { cookie: consumer },
      payload: { target: 'nats' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const subject = created.json().subscription.subject as string;
    expect(subject).toMatch(new RegExp(`^govshare\\.feed\\.[A-Za-z0-9_-]+\\.${g.appId}$`));
    await env.ctx.jobs.runDue();
    const nc = await connect({ servers: process.env.NATS_URL! });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(FEED_STREAM);
      expect(info.config.subjects).toContain('govshare.feed.>');
      const js = jetstream(nc);
      const msgs: { cursor: string; changes: Change[] }[] = [];
      const last = await jsm.streams.getMessage(FEED_STREAM, { last_by_subj: subject });
      const lastBody = last?.json<{ cursor: string; changes: Change[]; subscriptionId: number }>();
      expect(lastBody?.subscriptionId).toBe(created.json().subscription.id);
      msgs.push(lastBody!);
      // a batch published again under the same Nats-Msg-Id is dropped by the stream
      const msgID = last!.header.get('Nats-Msg-Id');
      expect(msgID.endsWith(`.${lastBody!.cursor}`)).toBe(true);
      expect(last!.header.get('Govshare-Cursor')).toBe(lastBody!.cursor);
      const ack = await js.publish(subject, last!.data, { msgID });
      expect(ack.duplicate).toBe(true);
      const sub = (
        await env.app.inject({
          url: `/api/dataapi/grants/${g.grantId}/feed-subscriptions`,
          headers: { cookie: consumer },
        })
      ).json().items[0];
      expect(sub.delivered).toBe(60);
      expect(sub.cursor).toBe(lastBody!.cursor);
      expect(
        msgs[0].changes.every((c) =>
          Object.keys(c.record ?? {}).every((k) => ['idNumber', 'name'].includes(k)),
        ),
      ).toBe(true);
    } finally {
      await nc.drain();
    }
  });
});
