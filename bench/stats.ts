import os from 'node:os';

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
