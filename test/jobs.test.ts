import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobs, type Jobs, nextRun } from '../src/jobs/index.js';
import { manualClock } from '../src/shared/clock.js';
import { createTestEnv, type TestEnv } from './helpers.js';

/*
 * The platform's jobs module (src/jobs): PostgreSQL-backed, one node per due job, retries with backoff, recurring
 * schedules, time from the injected clock. "Two nodes" are two contexts on one PostgreSQL database when DATABASE_URL
 * is set; on PGlite (one embedded database per process) they are two job runners on the one database.
 */
const clock = manualClock('2026-03-02T08:00:00+08:00');
let env: TestEnv;
let env2: TestEnv | null = null;
let other: Jobs;

beforeAll(async () => {
  env = await createTestEnv({ demo: false, clock });
  if (env.ctx.config.databaseUrl) {
    env2 = await createTestEnv({ demo: false, clock, databaseUrl: env.ctx.config.databaseUrl });
    other = env2.ctx.jobs;
  } else {
    other = createJobs({ db: env.ctx.db, clock, nodeId: 'node-b' });
  }
});
afterAll(async () => {
  // the second node closes first (its database is the first env's, dropped by env.close)
  await env2?.close();
  await env?.close();
});

const job = (kind: string, key: string) =>
  env.ctx.db
    .selectFrom('job')
    .selectAll()
    .where('kind', '=', kind)
    .where('key', '=', key)
    .executeTakeFirstOrThrow();

describe('jobs module', () => {
  it('a one-off job runs once, when the clock reaches its run_at, not before', async () => {
    const ran: string[] = [];
    env.ctx.jobs.register('t.once', async (j) => {
      ran.push(`${j.key}:${(j.payload as { n: number }).n}`);
    });
    await env.ctx.jobs.schedule(env.ctx.db, {
      kind: 't.once',
      key: 'a',
      runAt: new Date('2026-03-02T09:00:00+08:00'),
      payload: { n: 1 },
    });
    await env.ctx.jobs.runDue();
    expect(ran).toEqual([]);
    clock.set('2026-03-02T09:00:00+08:00');
    await env.ctx.jobs.runDue();
    await env.ctx.jobs.runDue();
    expect(ran).toEqual(['a:1']);
    expect((await job('t.once', 'a')).status).toBe('done');
  });

  it('a failing job is retried with growing backoff and gives up after maxAttempts, keeping the error', async () => {
    let calls = 0;
    env.ctx.jobs.register('t.fail', async () => {
      calls++;
      throw new Error('upstream down');
    });
    await env.ctx.jobs.schedule(env.ctx.db, { kind: 't.fail', key: 'x', runAt: clock.now(), maxAttempts: 3 });
    await env.ctx.jobs.runDue();
    expect(calls).toBe(1);
    const first = await job('t.fail', 'x');
    expect(first.status).toBe('queued');
    expect(first.last_error).toContain('upstream down');
    // 30 s after the first failure: due again; not a second earlier
    clock.advanceSeconds(29);
    await env.ctx.jobs.runDue();
    expect(calls).toBe(1);
    clock.advanceSeconds(1);
    await env.ctx.jobs.runDue();
    expect(calls).toBe(2);
    const second = await job('t.fail', 'x');
    expect(new Date(second.run_at).getTime() - clock.now().getTime()).toBe(60_000);
    clock.advanceSeconds(60);
    await env.ctx.jobs.runDue();
    expect(calls).toBe(3);
    expect((await job('t.fail', 'x')).status).toBe('failed');
    clock.advanceSeconds(3600);
    await env.ctx.jobs.runDue();
    expect(calls).toBe(3);
  });

  it('recurring jobs: every N seconds, and daily at a Beijing time; catching up runs once, not once per missed slot', async () => {
    let every = 0;
    let daily = 0;
    env.ctx.jobs.register('t.every', async () => {
      every++;
    });
    env.ctx.jobs.register('t.daily', async () => {
      daily++;
    });
    await env.ctx.jobs.recurring(env.ctx.db, { kind: 't.every', key: 'k', every: { seconds: 60 } });
    await env.ctx.jobs.recurring(env.ctx.db, { kind: 't.daily', key: 'k', every: { dailyAt: '02:30' } });
    // created again at the next boot: still one row
    await env.ctx.jobs.recurring(env.ctx.db, { kind: 't.every', key: 'k', every: { seconds: 60 } });
    await env.ctx.jobs.runDue();
    expect([every, daily]).toEqual([1, 1]);
    await env.ctx.jobs.runDue();
    expect([every, daily]).toEqual([1, 1]);
    clock.advanceSeconds(60);
    await env.ctx.jobs.runDue();
    expect(every).toBe(2);
    const d = await job('t.daily', 'k');
    expect(new Date(d.run_at).toISOString()).toBe(
      nextRun({ dailyAt: '02:30' }, clock.now(), clock.now()).toISOString(),
    );
    // off for three days: one run of each on return
    clock.advanceSeconds(3 * 86_400);
    await env.ctx.jobs.runDue();
    expect([every, daily]).toEqual([3, 2]);
  });

  it('a recurring job that fell behind asks to run again at once; otherwise its interval holds', async () => {
    // the export ledger's job (src/dataapi/ledger.ts) does this when one run's worth of batches was not all that waited
    let runs = 0;
    let waiting = 3;
    env.ctx.jobs.register('t.behind', async () => {
      runs++;
      waiting--;
      return waiting > 0 ? { runAgainAt: clock.now() } : undefined;
    });
    await env.ctx.jobs.recurring(env.ctx.db, { kind: 't.behind', key: 'k', every: { seconds: 600 } });
    // one runDue without the clock moving: the first run, then two more it asked for, then the interval
    await env.ctx.jobs.runDue();
    expect([runs, waiting]).toEqual([3, 0]);
    const row = await job('t.behind', 'k');
    expect(new Date(row.run_at).getTime()).toBe(clock.now().getTime() + 600_000);
    await env.ctx.jobs.runDue();
    expect(runs).toBe(3);
  });

  it('nextRun: daily at 02:30 Beijing is 18:30 UTC the day before', () => {
    expect(
      nextRun({ dailyAt: '02:30' }, new Date(0), new Date('2026-03-02T03:00:00+08:00')).toISOString(),
    ).toBe('2026-03-02T18:30:00.000Z');
    expect(
      nextRun({ dailyAt: '02:30' }, new Date(0), new Date('2026-03-02T02:00:00+08:00')).toISOString(),
    ).toBe('2026-03-01T18:30:00.000Z');
    expect(
      nextRun(
        { seconds: 60 },
        new Date('2026-03-02T00:00:00Z'),
        new Date('2026-03-02T00:05:30Z'),
      ).toISOString(),
    ).toBe('2026-03-02T00:06:00.000Z');
  });

  it('two nodes polling at once: each due job runs on exactly one of them', async () => {
    const runs = new Map<string, string[]>();
    const handler = (node: string) => async (j: { key: string }) => {
      runs.set(j.key, [...(runs.get(j.key) ?? []), node]);
      await new Promise((r) => setImmediate(r));
    };
    env.ctx.jobs.register('t.race', handler('a'));
    other.register('t.race', handler('b'));
    for (let i = 0; i < 20; i++)
      await env.ctx.jobs.schedule(env.ctx.db, { kind: 't.race', key: `r${i}`, runAt: clock.now() });
    const [a, b] = await Promise.all([env.ctx.jobs.runDue(), other.runDue()]);
    expect(runs.size).toBe(20);
    for (const nodes of runs.values()) expect(nodes).toHaveLength(1);
    expect(a + b).toBeGreaterThanOrEqual(20);
  });

  it('a node that dies holding a job loses it when its lease ends; another node runs it then', async () => {
    let ranOn: string | null = null;
    env.ctx.jobs.register('t.lease', async () => {
      ranOn = 'alive';
    });
    await env.ctx.jobs.schedule(env.ctx.db, { kind: 't.lease', key: 'l', runAt: clock.now() });
    // another node claimed it (attempts 1, leased for 120 s) and crashed before releasing it
    await env.ctx.db
      .updateTable('job')
      .set({ locked_by: 'dead', locked_until: new Date(clock.now().getTime() + 120_000), attempts: 1 })
      .where('kind', '=', 't.lease')
      .execute();
    await env.ctx.jobs.runDue();
    expect(ranOn).toBe(null);
    clock.advanceSeconds(120);
    await env.ctx.jobs.runDue();
    expect(ranOn).toBe('alive');
    expect((await job('t.lease', 'l')).status).toBe('done');
  });

  it('a payload over 8 KiB is refused before it is stored (brief: nothing unbounded)', async () => {
    await expect(
      env.ctx.jobs.schedule(env.ctx.db, {
        kind: 't.once',
        key: 'big',
        runAt: clock.now(),
        payload: { s: 'x'.repeat(9000) },
      }),
    ).rejects.toThrow(/payload/);
  });
});
