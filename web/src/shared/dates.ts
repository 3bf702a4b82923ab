/** Calendar-date helpers on 'YYYY-MM-DD' strings, in UTC so the browser's zone never shifts a day. */

const DATE_RE = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
const DAY_MS = 86_400_000;
/** A single range longer than this is surely a typo (the longest holiday span is 9 days). */
const MAX_RANGE_DAYS = 62;

/** 'YYYY-M-D' → 'YYYY-MM-DD' when it is a real calendar day, else null. */
export function normalizeDate(text: string): string | null {
  const m = DATE_RE.exec(text.trim());
  if (!m) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const back = new Date(Date.UTC(y, mo - 1, d));
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return back.toISOString().slice(0, 10);
}

function ms(date: string): number {
  return Date.parse(`${date}T00:00:00Z`);
}

/** 0 = Monday … 6 = Sunday (Chinese calendars start the week on Monday). */
export function mondayIndex(date: string): number {
  return (new Date(ms(date)).getUTCDay() + 6) % 7;
}

export function isWeekendDate(date: string): boolean {
  return mondayIndex(date) >= 5;
}

export interface ParsedDates {
  /** Sorted, without duplicates. */
  dates: string[];
  /** Items that are neither a date nor a range of dates, as typed. */
  invalid: string[];
}

/**
 * Reads a holiday list as people type it from a notice: one item per line, or separated by commas
 * (also ，、；), each a date `2027-02-06` or a range `2027-02-06~2027-02-13` (also ～ 至 到).
 */
export function parseDateList(text: string): ParsedDates {
  const items = text
    .replace(/\s*(?:~|～|至|到)\s*/g, '~')
    .split(/[\s,，;；、]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const out = new Set<string>();
  const invalid: string[] = [];
  for (const item of items) {
    const parts = item.split('~');
    if (parts.length === 1) {
      const d = normalizeDate(item);
      if (d) out.add(d);
      else invalid.push(item);
      continue;
    }
    const from = parts.length === 2 ? normalizeDate(parts[0]) : null;
    const to = parts.length === 2 ? normalizeDate(parts[1]) : null;
    if (!from || !to || to < from || (ms(to) - ms(from)) / DAY_MS >= MAX_RANGE_DAYS) {
      invalid.push(item);
      continue;
    }
    for (let t = ms(from); t <= ms(to); t += DAY_MS) out.add(new Date(t).toISOString().slice(0, 10));
  }
  return { dates: [...out].sort(), invalid };
}
