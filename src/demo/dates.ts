// Dates as day numbers (days since 1970-01-01, UTC) so generators can do arithmetic on integers
// and format only once; formatting through Date is the slow part at 100 000 rows.

const DAY_MS = 86_400_000;
const CACHE_BASE = Date.UTC(1900, 0, 1) / DAY_MS;
const isoCache: string[] = [];

export function isoToDay(iso: string): number {
  return Date.UTC(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)) - 1, Number(iso.slice(8, 10))) / DAY_MS;
}

/** 'YYYY-MM-DD' */
export function dayToIso(day: number): string {
  const i = day - CACHE_BASE;
  const hit = isoCache[i];
  if (hit !== undefined) return hit;
  const iso = new Date(day * DAY_MS).toISOString().slice(0, 10);
  if (i >= 0) isoCache[i] = iso;
  return iso;
}

/** 'YYYYMMDD', the form inside a citizen ID number. */
export function dayToCompact(day: number): string {
  const iso = dayToIso(day);
  return iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10);
}

export function yearOfDay(day: number): number {
  return Number(dayToIso(day).slice(0, 4));
}

/** The same calendar day `years` later; 29 February falls back to the 28th. */
export function addYears(day: number, years: number): number {
  const iso = dayToIso(day);
  const y = Number(iso.slice(0, 4)) + years;
  const m = Number(iso.slice(5, 7)) - 1;
  const d = Number(iso.slice(8, 10));
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return Date.UTC(y, m, m === 1 && d === 29 && !leap ? 28 : d) / DAY_MS;
}

/** 'YYYY-MM-DDTHH:mm:ss+08:00': demo times are local Beijing time, as the source systems record them. */
export function localDateTime(day: number, secondOfDay: number): string {
  const h = Math.floor(secondOfDay / 3600);
  const m = Math.floor(secondOfDay / 60) % 60;
  const s = secondOfDay % 60;
  return `${dayToIso(day)}T${pad2(h)}:${pad2(m)}:${pad2(s)}+08:00`;
}

export function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

export function padNumber(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
