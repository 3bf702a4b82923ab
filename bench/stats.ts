import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import type { AppContext } from '../src/context.js';
import type { LoadResult } from './loadgen-client.js';

/*
 * The benches' statistics, one definition each, so that two benches' "median" or "p95" mean the same thing.
 */

/** The middle value; for an even count, the mean of the two middle values. NaN for none. */
export function median(xs: ArrayLike<number>): number {
  const s = Float64Array.from(xs).sort();
  if (!s.length) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Nearest-rank percentile, q in (0, 1]: the smallest value with at least q of all values at or below it (p95 of 20
 * runs is the 19th smallest). NaN for none.
 */
export function percentile(xs: ArrayLike<number>, q: number): number {
  const s = Float64Array.from(xs).sort();
  if (!s.length) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** The 1/5/15-minute load average, for figures taken on a shared machine. */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

/** CPU ticks (1/100 s) of one process, from /proc (null when not readable). */
export function procTicks(pid: number): number | null {
  return statTicks(`/proc/${pid}/stat`);
}

/** CPU ticks of one thread of this process (`/proc/self/task/<tid>`: that thread alone), null when not readable. */
export function threadTicks(tid: number): number | null {
  return statTicks(`/proc/self/task/${tid}/stat`);
}

/** utime + stime (fields 14 and 15) of a /proc stat file. */
function statTicks(path: string): number | null {
  try {
    const stat = fs.readFileSync(path, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return null;
  }
}

/**
 * CPU ticks of the PostgreSQL processes serving the bench database (its backends + the shared background processes:
 * WAL writer, checkpointer), or null when the server's processes are not visible (another host, a container).
 */
export async function pgTicks(ctx: AppContext): Promise<Map<number, number> | null> {
  if (ctx.database.kind !== 'postgres') return null;
  const { rows } = await ctx.database.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR backend_type <> 'client backend'`,
    [],
  );
  const m = new Map<number, number>();
  for (const { pid } of rows) {
    const t = procTicks(pid);
    if (t !== null) m.set(pid, t);
  }
  return m.size ? m : null;
}

/** Clock ticks a second of /proc's CPU times (100 on Linux unless the kernel says otherwise). */
export const CLK_TCK = (() => {
  try {
    return (
      Number(
        execSync('getconf CLK_TCK', { stdio: ['ignore', 'pipe', 'ignore'] })
          .toString()
          .trim(),
      ) || 100
    );
  } catch {
    return 100;
  }
})();

/** PostgreSQL CPU ticks since a pgTicks sample (a backend started in between counts from zero); null when unseen. */
export async function pgTicksSince(
  ctx: AppContext,
  before: Map<number, number> | null,
): Promise<number | null> {
  const after = await pgTicks(ctx);
  if (!before || !after) return null;
  let d = 0;
  for (const [pid, t] of after) d += t - (before.get(pid) ?? 0);
  return d;
}

/** CPU of one load run: this process (all its threads) and the PostgreSQL processes, sampled around `run`. */
export async function withCpu<T>(
  ctx: AppContext,
  run: () => Promise<T>,
): Promise<{ result: T; processUs: number; pgTicks: number | null }> {
  const pg0 = await pgTicks(ctx);
  const cpu0 = process.cpuUsage();
  const result = await run();
  const cpu1 = process.cpuUsage(cpu0);
  return { result, processUs: cpu1.user + cpu1.system, pgTicks: await pgTicksSince(ctx, pg0) };
}

/**
 * CPU microseconds per request of a load run (whole run, warm-up included): the server (this process minus the load
 * generator's own thread), PostgreSQL, and the load generator. NaN where a figure could not be read.
 */
export function cpuPerRequest(r: LoadResult, cpu?: { processUs: number; pgTicks: number | null }) {
  const tickUs = 1e6 / CLK_TCK;
  const genUs = r.cpuTicks == null ? Number.NaN : r.cpuTicks * tickUs;
  if (!cpu || !r.total) return { srvUs: Number.NaN, dbUs: Number.NaN, genUs: Number.NaN };
  return {
    srvUs: Number.isNaN(genUs) ? Number.NaN : (cpu.processUs - genUs) / r.total,
    dbUs: cpu.pgTicks === null ? Number.NaN : (cpu.pgTicks * tickUs) / r.total,
    genUs: genUs / r.total,
  };
}
