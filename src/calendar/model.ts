import { type HolidayYear, OFFICIAL_HOLIDAYS } from './holidays.js';

export type { HolidayYear } from './holidays.js';

// Dates are calendar dates in China as 'YYYY-MM-DD'. All arithmetic runs in UTC on the
// date string itself, so the result never depends on the server's TZ setting.

export interface WorkdayCalendar {
  isWorkday(date: string): boolean;
  knownYears(): number[];
  /** false: the year falls back to Mon–Fri and callers must show a warning (REFERENCE.md). */
  isYearKnown(year: number): boolean;
}

/** WD = 工作日 (working days), d = 日 (calendar days). */
export type Deadline = { amount: number; unit: 'WD' | 'd' };

const DAY_MS = 86_400_000;
// Asia/Shanghai has been UTC+8 without DST since 1991.
const SHANGHAI_OFFSET_MS = 8 * 3_600_000;
// No real calendar has a year without a working day; stops a broken calendar from looping.
const MAX_SCAN_DAYS = 366 * 2;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

function toUtcMs(date: string): number {
  const m = DATE_RE.exec(date);
  if (!m) throw new Error(`Invalid date "${date}": expected YYYY-MM-DD`);
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  // Date.UTC silently rolls 2026-02-30 over into March; a deadline must not.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) {
    throw new Error(`Invalid date "${date}": no such calendar day`);
  }
  return ms;
}

function fromUtcMs(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function isIsoDate(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    toUtcMs(value);
    return true;
  } catch {
    return false;
  }
}

/** The date `n` calendar days after `date` (n may be negative). */
export function addDays(date: string, n: number): string {
  return fromUtcMs(toUtcMs(date) + n * DAY_MS);
}

/** 0 = Sunday … 6 = Saturday. */
export function dayOfWeek(date: string): number {
  return new Date(toUtcMs(date)).getUTCDay();
}

function isWeekend(date: string): boolean {
  const dow = dayOfWeek(date);
  return dow === 0 || dow === 6;
}

function yearOf(date: string): number {
  return Number(date.slice(0, 4));
}

export function validateHolidayYear(input: unknown): HolidayYear {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new Error('Holiday year must be an object with year, source, offDays, workingWeekendDays');
  }
  const o = input as Record<string, unknown>;
  const year = o.year;
  if (typeof year !== 'number' || !Number.isInteger(year) || year < 1949 || year > 9999) {
    throw new Error(
      `Holiday year: "year" must be an integer between 1949 and 9999, got ${JSON.stringify(year)}`,
    );
  }
  const source = o.source;
  if (typeof source !== 'string' || source.trim() === '') {
    // The notice is the legal basis of every deadline computed from this year.
    throw new Error(`Holiday year ${year}: "source" must name the State Council notice`);
  }
  const dates = (field: 'offDays' | 'workingWeekendDays'): string[] => {
    const list = o[field];
    if (!Array.isArray(list))
      throw new Error(`Holiday year ${year}: "${field}" must be an array of YYYY-MM-DD dates`);
    const seen = new Set<string>();
    for (const d of list) {
      if (!isIsoDate(d))
        throw new Error(`Holiday year ${year}: "${field}" has invalid date ${JSON.stringify(d)}`);
      if (yearOf(d) !== year) throw new Error(`Holiday year ${year}: "${field}" date ${d} is not in ${year}`);
      if (seen.has(d)) throw new Error(`Holiday year ${year}: "${field}" lists ${d} twice`);
      seen.add(d);
    }
    return [...seen].sort();
  };
  const offDays = dates('offDays');
  const workingWeekendDays = dates('workingWeekendDays');
  const off = new Set(offDays);
  for (const d of workingWeekendDays) {
    if (off.has(d)) throw new Error(`Holiday year ${year}: ${d} is both an off day and a working day`);
    // 调休 only ever turns a Saturday or Sunday into a working day; a weekday here is a typo.
    if (!isWeekend(d))
      throw new Error(`Holiday year ${year}: working weekend day ${d} is not a Saturday or Sunday`);
  }
  return { year, source: source.trim(), offDays, workingWeekendDays };
}

export function createCalendar(years: readonly HolidayYear[] = OFFICIAL_HOLIDAYS): WorkdayCalendar {
  const byYear = new Map<number, { off: Set<string>; working: Set<string> }>();
  for (const raw of years) {
    const y = validateHolidayYear(raw);
    if (byYear.has(y.year)) throw new Error(`Holiday year ${y.year} is given twice`);
    byYear.set(y.year, { off: new Set(y.offDays), working: new Set(y.workingWeekendDays) });
  }
  const known = [...byYear.keys()].sort((a, b) => a - b);
  return {
    isWorkday(date: string): boolean {
      const weekday = !isWeekend(date); // also validates the date
      const y = byYear.get(yearOf(date));
      if (y?.off.has(date)) return false;
      if (y?.working.has(date)) return true;
      return weekday;
    },
    knownYears: () => [...known],
    isYearKnown: (year: number) => byYear.has(year),
  };
}

function assertCount(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what} must be a positive integer, got ${n}`);
}

function nextWorkdayFrom(cal: WorkdayCalendar, date: string): string {
  let d = date;
  for (let i = 0; i <= MAX_SCAN_DAYS; i++) {
    if (cal.isWorkday(d)) return d;
    d = addDays(d, 1);
  }
  throw new Error(`No working day within ${MAX_SCAN_DAYS} days of ${date}: calendar data is broken`);
}

/**
 * The n-th working day after start. 民法典 Art 201: the day the period starts (the day a
 * request is received) is not counted, so the first candidate is the next day.
 */
export function addWorkdays(cal: WorkdayCalendar, start: string, n: number): string {
  assertCount(n, 'Working days');
  let d = start;
  for (let i = 0; i < n; i++) d = nextWorkdayFrom(cal, addDays(d, 1));
  return d;
}

/**
 * n calendar days after start (Art 201: start day not counted). 民法典 Art 203: when the
 * last day is a statutory holiday, the period ends on the next day after the holiday —
 * for us the next working day, because a 调休 Saturday is not a rest day.
 */
export function addCalendarDays(cal: WorkdayCalendar, start: string, n: number): string {
  assertCount(n, 'Calendar days');
  return nextWorkdayFrom(cal, addDays(start, n));
}

/** Working days d with from < d <= to: how many of a WD deadline have elapsed by `to`. */
export function workdaysBetween(cal: WorkdayCalendar, from: string, to: string): number {
  const end = toUtcMs(to);
  let count = 0;
  for (let ms = toUtcMs(from) + DAY_MS; ms <= end; ms += DAY_MS) {
    if (cal.isWorkday(fromUtcMs(ms))) count++;
  }
  return count;
}

/** The date in Asia/Shanghai of an instant: a request received at 00:30 Beijing time counts from that day. */
export function shanghaiDate(instant: Date): string {
  const ms = instant.getTime();
  if (Number.isNaN(ms)) throw new Error('Invalid instant');
  return fromUtcMs(ms + SHANGHAI_OFFSET_MS);
}

/** A deadline date expires at the end of that day in Beijing time. */
export function endOfShanghaiDay(date: string): Date {
  return new Date(toUtcMs(date) + DAY_MS - 1 - SHANGHAI_OFFSET_MS);
}

export function dueDate(cal: WorkdayCalendar, start: string, deadline: Deadline): string {
  switch (deadline.unit) {
    case 'WD':
      return addWorkdays(cal, start, deadline.amount);
    case 'd':
      return addCalendarDays(cal, start, deadline.amount);
    default: {
      const never: never = deadline.unit;
      throw new Error(`Unknown deadline unit ${String(never)}`);
    }
  }
}
