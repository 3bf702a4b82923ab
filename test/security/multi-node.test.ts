import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { closeContext, openContext } from '../../src/boot.js';
import { buildApp } from '../../src/http/app.js';
import { memoryCounters, redisCounters } from '../../src/security/counters.js';
import { codeOf, createTestEnv, dataPath, grantedApp, type TestEnv } from '../helpers.js';

describe('shared counters (rate limits, quotas, anomaly detection)', () => {
  it('the in-process store counts, expires and stays bounded however many keys an attacker makes up', async () => {
    const c = memoryCounters(1000);
    expect(
      await c.add([
        { key: 'a', ttlSeconds: 60 },
        { key: 'a', by: 2, ttlSeconds: 60 },
      ]),
    ).toEqual([1, 3]);
    expect(await c.add([{ key: 'a', by: 0, ttlSeconds: 60 }])).toEqual([3]);
    expect(await c.add([{ key: 'gone', ttlSeconds: 0 }])).toEqual([1]);
    expect(await c.add([{ key: 'gone', ttlSeconds: 60 }])).toEqual([1]);
    for (let i = 0; i < 5000; i++) await c.add([{ key: `k${i}`, ttlSeconds: 60 }]);
    expect(c.size()).toBeLessThanOrEqual(1001);
  });

  it.runIf(process.env.REDIS_URL)('two nodes on one Redis see one count', async () => {
    const a = redisCounters(new Redis(process.env.REDIS_URL!));
    const rb = new Redis(process.env.REDIS_URL!);
    const b = redisCounters(rb);
    const key = `t:${randomBytes(4).toString('hex')}`;
    expect(await a.add([{ key, ttlSeconds: 30 }])).toEqual([1]);
    expect(await b.add([{ key, ttlSeconds: 30 }])).toEqual([2]);
    expect(await rb.ttl(`gs:c:${key}`)).toBeGreaterThan(0);
    // concurrent adds share one pipeline and one INCRBY per key, yet each caller gets its own count
    const many = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        a.add([
          { key, ttlSeconds: 30 },
          { key: `${key}:other`, by: i % 2, ttlSeconds: 30 },
        ]),
      ),
    );
    expect(many.map((v) => v[0]).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 3));
    expect(Math.max(...many.map((v) => v[1]))).toBe(25);
    expect(await b.add([{ key, by: 0, ttlSeconds: 30 }])).toEqual([52]);
    rb.disconnect();
  });
});

// Several govshare nodes behind a load balancer: a grant's daily quota holds across them (Redis when REDIS_URL).
describe.runIf(process.env.DATABASE_URL && process.env.REDIS_URL)('two nodes share quotas', () => {
  let env: TestEnv;
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of closers) await c();
    await env?.close();
  });

  it("finding 3: a grant's calls per day count across two nodes", async () => {
    env = await createTestEnv({
      demo: { populationRows: 200, entityRows: 20 },
      config: { redisUrl: process.env.REDIS_URL! },
    });
    const ctxB = await openContext(env.ctx.config);
    const appB = await buildApp(ctxB);
    closers.push(async () => {
      await appB.close();
      await closeContext(ctxB);
    });
    const g = await grantedApp(env.app, {
      consumer: 'rsj_officer',
      provider: 'gaj_officer',
      resourceCode: await codeOf(env, '人口基础信息'),
      fields: ['idNumber'],
      appName: '两节点配额',
      quota: { callsPerDay: 4 },
    });
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const node = i % 2 === 0 ? env.app : appB;
      const r = await node.inject({
        url: `${dataPath(await codeOf(env, '人口基础信息'))}/records?limit=1`,
        headers: { 'x-api-key': g.apiKey, 'x-purpose': g.purposeId },
      });
      codes.push(r.statusCode);
    }
    expect(codes).toEqual([200, 200, 200, 200, 429, 429]);
  });
});
