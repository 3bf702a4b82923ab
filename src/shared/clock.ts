/**
 * The platform's notion of "now". Services read time only through `ctx.clock`, so tests (and the conformance
 * suites) drive dates: a request filed "on 2026-09-30" and a deadline that passes "on 2026-10-15" are set by the
 * test, never by waiting. Production uses the system clock.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * The training clock (config `trainingClock`): real time plus an offset that only moves forward, so the platform's
 * "now" never goes back (jobs, leases and audit order stay monotonic).
 */
export interface TrainingClock extends Clock {
  readonly training: true;
  offsetMs(): number;
  advanceDays(days: number): void;
}

export function trainingClock(): TrainingClock {
  let offset = 0;
  return {
    training: true,
    now: () => new Date(Date.now() + offset),
    offsetMs: () => offset,
    advanceDays(days) {
      if (!(days > 0)) throw new Error('trainingClock: days must be positive');
      offset += days * 86_400_000;
    },
  };
}

export function isTrainingClock(c: Clock): c is TrainingClock {
  return (c as Partial<TrainingClock>).training === true;
}

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
