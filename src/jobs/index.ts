import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { sql } from 'kysely';
import { endOfShanghaiDay, shanghaiDate } from '../calendar/model.js';
import type { Db, Tx } from '../db/index.js';
import type { Clock } from '../shared/clock.js';

/**
 * The platform's one jobs module (brief: shared mechanisms exist once). Jobs live in the `job` table, so they survive a
 * restart and every node sees the same queue; each due job is leased by exactly one node (a single
 * `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`, the same SQL on PGlite and PostgreSQL), run,
 * then released. A node that dies mid-job loses its lease after `leaseSeconds` and another node takes the job over,
 * so handlers must be idempotent (the sharing ticker records each action under a unique key).
 *
 * Use:
 *   ctx.jobs.register('my.kind', async (job) => { … });           // at boot, on every node
 *   await ctx.jobs.recurring(db, { kind: 'my.kind', key: 'all', every: { seconds: 60 } });   // or { dailyAt: '02:30' }
 *   await ctx.jobs.schedule(trx, { kind: 'my.kind', key: 'batch-7', runAt, payload: { id: 7 } });  // one-off
 *   await ctx.jobs.runDue();   // tests: run what is due by ctx.clock now; main.ts calls start() instead
 *
 * Time is `ctx.clock`: a job is due when its run_at ≤ clock.now(), so tests move the clock instead of waiting.
 * A failed run is retried with exponential backoff (30 s, 1 min, 2 min … capped at 1 h); a one-off job gives up after
 * `maxAttempts` (status 'failed', last_error kept); a recurring one keeps its schedule.
 */
export interface Job {
  id: number;
  kind: string;
  key: string;
  payload: unknown;
  runAt: Date;
  /** this run included (1 = first try) */
  attempts: number;
}

/**
 * What a run may say about the next one: a recurring job that fell behind (more work waiting than one run takes) asks
 * to run again at `runAgainAt` instead of a whole interval later. Ignored for one-off jobs.
 */
export interface JobOutcome {
  runAgainAt?: Date;
}

// biome-ignore lint/suspicious/noConfusingVoidType: most handlers are `async () => { … }` and return nothing
export type JobHandler = (job: Job) => Promise<void | JobOutcome>;

/** Every N seconds, or daily at HH:MM Beijing time. */
export type Every = { seconds: number } | { dailyAt: string };

export interface Jobs {
  readonly nodeId: string;
  register(kind: string, handler: JobHandler): void;
  /** A one-off job; the same kind + key again reschedules it (new run_at and payload, attempts reset). */
  schedule(
    db: Db | Tx,
    j: { kind: string; key: string; runAt: Date; payload?: unknown; maxAttempts?: number },
  ): Promise<void>;
  /** A recurring job, created once (idempotent on every boot); a changed interval is taken over, the next run kept. */
  recurring(db: Db | Tx, j: { kind: string; key: string; every: Every; payload?: unknown }): Promise<void>;
  /** Claims and runs due jobs one by one until none is due (at most `limit`); returns how many ran. */
  runDue(limit?: number): Promise<number>;
  /** Polls every `pollMs` (main.ts). */
  start(pollMs?: number): void;
  /** Stops polling and waits for the job in progress (closeContext). */
  stop(): Promise<void>;
}

export const MAX_PAYLOAD_BYTES = 8192;
const MAX_ERROR_CHARS = 2000;

export function backoffSeconds(attempts: number): number {
  return Math.min(30 * 2 ** Math.max(0, attempts - 1), 3600);
}

/** The first run strictly after `now`. */
export function nextRun(every: Every, lastRunAt: Date, now: Date): Date {
  if ('seconds' in every) {
    const step = every.seconds * 1000;
    let t = lastRunAt.getTime() + step;
    if (t <= now.getTime()) t += Math.ceil((now.getTime() - t + 1) / step) * step;
    return new Date(t);
  }
  const [hh, mm] = every.dailyAt.split(':').map(Number);
  let day = shanghaiDate(now);
  for (let i = 0; i < 3; i++) {
    // endOfShanghaiDay(day) + 1 ms is the next day's 00:00 Beijing time; step back to this day's midnight
    const midnight = endOfShanghaiDay(day).getTime() + 1 - 86_400_000;
    const at = new Date(midnight + (hh * 60 + mm) * 60_000);
    if (at.getTime() > now.getTime()) return at;
    day = shanghaiDate(new Date(midnight + 36 * 3_600_000));
  }
  throw new Error(`nextRun: no run after ${now.toISOString()}`);
}

function checkEvery(every: Every): void {
  if ('seconds' in every) {
    if (!Number.isInteger(every.seconds) || every.seconds < 1)
      throw new RangeError('every.seconds must be ≥ 1');
  } else if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(every.dailyAt)) {
    throw new RangeError(`dailyAt must be HH:MM, got ${every.dailyAt}`);
  }
}

function payloadJson(payload: unknown): string {
  const json = JSON.stringify(payload ?? {});
  if (Buffer.byteLength(json) > MAX_PAYLOAD_BYTES)
    throw new RangeError(`job payload over ${MAX_PAYLOAD_BYTES} bytes`);
  return json;
}

export function createJobs(opts: {
  db: Db;
  clock: Clock;
  nodeId?: string;
  leaseSeconds?: number;
  log?: (message: string) => void;
}): Jobs {
  const { db, clock } = opts;
  const nodeId = opts.nodeId ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const leaseMs = (opts.leaseSeconds ?? 300) * 1000;
  const log = opts.log ?? ((m: string) => console.error(m));
  const handlers = new Map<string, JobHandler>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  let started = false;
  let lastLog = 0;

  async function claim() {
    const now = clock.now();
    const kinds = [...handlers.keys()];
    if (!kinds.length) return null;
    // one statement: the sub-select locks one due row and skips rows another node is claiming right now; the
    // lease (locked_until) keeps it ours after the statement commits, until we release it or we die
    const r = await sql<{
      id: number;
      kind: string;
      key: string;
      payload: unknown;
      run_at: Date;
      attempts: number;
      max_attempts: number;
      every_seconds: number | null;
      daily_at: string | null;
    }>`
      UPDATE job SET locked_by = ${nodeId}, locked_until = ${new Date(now.getTime() + leaseMs)},
        attempts = attempts + 1, last_run_at = ${now}
      WHERE id = (
        SELECT id FROM job
        WHERE status = 'queued' AND run_at <= ${now} AND kind = ANY(${kinds}::text[])
          AND (locked_until IS NULL OR locked_until <= ${now})
        ORDER BY run_at, id
        LIMIT 1
        FOR UPDATE SKIP LOCKED)
      RETURNING id, kind, key, payload, run_at, attempts, max_attempts, every_seconds, daily_at`.execute(db);
    return r.rows[0] ?? null;
  }

  async function runOne(): Promise<boolean> {
    const row = await claim();
    if (!row) return false;
    const handler = handlers.get(row.kind)!;
    const job: Job = {
      id: row.id,
      kind: row.kind,
      key: row.key,
      payload: row.payload,
      runAt: new Date(row.run_at),
      attempts: row.attempts,
    };
    const every: Every | null =
      row.every_seconds !== null
        ? { seconds: row.every_seconds }
        : row.daily_at !== null
          ? { dailyAt: row.daily_at }
          : null;
    let error: string | null = null;
    let outcome: JobOutcome | undefined;
    try {
      outcome = (await handler(job)) || undefined;
    } catch (e) {
      error = (e instanceof Error ? e.stack || e.message : String(e)).slice(0, MAX_ERROR_CHARS);
    }
    const now = clock.now();
    // release only our own lease: a lease that ran out was taken over, and the other node decides
    let q = db
      .updateTable('job')
      .where('id', '=', row.id)
      .where('locked_by', '=', nodeId)
      .set({ locked_by: null, locked_until: null });
    if (!error) {
      const next = every ? nextRun(every, job.runAt, now) : null;
      const again = outcome?.runAgainAt;
      q = next
        ? q.set({ run_at: again && again < next ? again : next, attempts: 0, last_error: null })
        : q.set({ status: 'done', last_error: null });
    } else if (every || row.attempts < row.max_attempts) {
      q = q.set({
        run_at: new Date(now.getTime() + backoffSeconds(row.attempts) * 1000),
        last_error: error,
      });
    } else {
      q = q.set({ status: 'failed', last_error: error });
    }
    await q.execute();
    if (error)
      log(`govshare: job ${row.kind}/${row.key} failed (attempt ${row.attempts}): ${error.split('\n')[0]}`);
    return true;
  }

  async function runDue(limit = 100): Promise<number> {
    let n = 0;
    while (n < limit && (await runOne())) n++;
    return n;
  }

  function tick(pollMs: number) {
    if (stopped) return;
    running = runDue()
      .catch((e: Error) => {
        const t = Date.now();
        if (t - lastLog > 60_000) log(`govshare: jobs: ${e.message}`);
        lastLog = t;
      })
      .finally(() => {
        if (!stopped) {
          timer = setTimeout(() => tick(pollMs), pollMs);
          timer.unref();
        }
      });
  }

  return {
    nodeId,
    register(kind, handler) {
      if (handlers.has(kind)) throw new Error(`job kind ${kind} registered twice`);
      handlers.set(kind, handler);
    },
    async schedule(d, j) {
      const payload = payloadJson(j.payload);
      await d
        .insertInto('job')
        .values({
          kind: j.kind,
          key: j.key,
          run_at: j.runAt,
          payload,
          max_attempts: j.maxAttempts ?? 5,
        })
        .onConflict((oc) =>
          oc.columns(['kind', 'key']).doUpdateSet({
            run_at: j.runAt,
            payload,
            status: 'queued',
            attempts: 0,
            last_error: null,
            max_attempts: j.maxAttempts ?? 5,
          }),
        )
        .execute();
    },
    async recurring(d, j) {
      checkEvery(j.every);
      const cols = {
        every_seconds: 'seconds' in j.every ? j.every.seconds : null,
        daily_at: 'dailyAt' in j.every ? j.every.dailyAt : null,
      };
      await d
        .insertInto('job')
        .values({ kind: j.kind, key: j.key, run_at: clock.now(), payload: payloadJson(j.payload), ...cols })
        .onConflict((oc) => oc.columns(['kind', 'key']).doUpdateSet({ ...cols, status: 'queued' }))
        .execute();
    },
    runDue,
    start(pollMs = 5000) {
      if (started || stopped) return;
      started = true;
      tick(pollMs);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
