import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from './helpers.js';

const envs: TestEnv[] = [];
afterAll(async () => {
  for (const e of envs) await e.close();
});

async function attempt(env: TestEnv, username: string) {
  return env.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { username, password: 'wrong-password' },
  });
}

describe('login rate limit', () => {
  it('GB/T 39477 identity authentication: the 4th attempt within a minute is RATE_LIMITED (limit 3)', async () => {
    const env = await createTestEnv({ demo: false, config: { loginRateLimitPerMinute: 3 } });
    envs.push(env);
    const user = `nobody-${randomBytes(4).toString('hex')}`;
    for (let i = 0; i < 3; i++) expect((await attempt(env, user)).statusCode).toBe(401);
    const limited = await attempt(env, user);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringContaining('频繁') });
    // another username from the same client is not blocked by the first one's attempts
    expect((await attempt(env, `${user}-2`)).statusCode).toBe(401);
  });

  // Several nodes behind a load balancer must share the count, or an attacker spreads guesses across them.
  it.runIf(process.env.REDIS_URL)('two nodes sharing Redis count attempts together', async () => {
    const redisA = new Redis(process.env.REDIS_URL!);
    const redisB = new Redis(process.env.REDIS_URL!);
    const a = await createTestEnv({ demo: false, config: { loginRateLimitPerMinute: 3 }, redis: redisA });
    envs.push(a);
    const b = await createTestEnv({ demo: false, config: { loginRateLimitPerMinute: 3 }, redis: redisB });
    envs.push(b);
    const user = `nobody-${randomBytes(4).toString('hex')}`;
    expect((await attempt(a, user)).statusCode).toBe(401);
    expect((await attempt(b, user)).statusCode).toBe(401);
    expect((await attempt(a, user)).statusCode).toBe(401);
    expect((await attempt(b, user)).statusCode).toBe(429);
    redisA.disconnect();
    redisB.disconnect();
  });
});
