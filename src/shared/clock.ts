/**
 * The platform's notion of "now". Services read time only through `ctx.clock`, so tests (and the conformance
 * suites) drive dates: a request filed "on 2026-09-30" and a deadline that passes "on 2026-10-15" are set by the
 * test, never by waiting. Production uses the system clock.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock a test sets and moves: `at` takes an ISO instant or a 'YYYY-MM-DD' date (09:00 Beijing time that day). */
export interface ManualClock extends Clock {
  set(at: string | Date): void;
  advanceSeconds(seconds: number): void;
}

export function manualClock(at: string | Date): ManualClock {
  let t = toDate(at);
  return {
    now: () => new Date(t.getTime()),
    set(next) {
      t = toDate(next);
    },
    advanceSeconds(seconds) {
      t = new Date(t.getTime() + seconds * 1000);
    },
  };
}

function toDate(at: string | Date): Date {
  if (at instanceof Date) return new Date(at.getTime());
  if (/^\d{4}-\d{2}-\d{2}$/.test(at)) return new Date(`${at}T09:00:00+08:00`);
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) throw new Error(`manualClock: invalid instant ${at}`);
  return d;
}
