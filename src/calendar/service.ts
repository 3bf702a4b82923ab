import { sql } from 'kysely';
import { appendAudit } from '../audit/store.js';
import type { Actor, AppContext } from '../context.js';
import { hasRole } from '../context.js';
import { inTx } from '../db/index.js';
import { AppError } from '../shared/errors.js';
import { type HolidayYear, OFFICIAL_HOLIDAYS } from './holidays.js';
import { addDays, createCalendar, dayOfWeek, validateHolidayYear, type WorkdayCalendar } from './model.js';

/*
 * The calendar is the shipped State Council notices plus any an administrator imported (an imported year
 * replaces a shipped one: a correction). Every node re-reads the imports at most CACHE_MS after a change,
 * so deadlines agree across nodes without a restart.
 */
const CACHE_MS = 30_000;
const cache = new WeakMap<AppContext, { at: number; calendar: WorkdayCalendar; imported: HolidayYear[] }>();

async function importedYears(ctx: AppContext): Promise<HolidayYear[]> {
  const rows = await ctx.db
    .selectFrom('holiday_year')
    .select([
      'year',
      'source',
      sql<string[]>`off_days::text[]`.as('off_days'),
      sql<string[]>`working_weekend_days::text[]`.as('working_weekend_days'),
    ])
    .orderBy('year')
    .execute();
  return rows.map((r) => ({
    year: r.year,
    source: r.source,
    offDays: r.off_days,
    workingWeekendDays: r.working_weekend_days,
  }));
}

function merge(imported: HolidayYear[]): HolidayYear[] {
  const byYear = new Map(OFFICIAL_HOLIDAYS.map((y) => [y.year, y]));
  for (const y of imported) byYear.set(y.year, y);
  return [...byYear.values()].sort((a, b) => a.year - b.year);
}

async function load(ctx: AppContext) {
  const hit = cache.get(ctx);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit;
  const imported = await importedYears(ctx);
  const entry = { at: Date.now(), calendar: createCalendar(merge(imported)), imported };
  cache.set(ctx, entry);
  return entry;
}

/** The working-day calendar in force now: shipped notices plus imported ones. */
export async function currentCalendar(ctx: AppContext): Promise<WorkdayCalendar> {
  return (await load(ctx)).calendar;
}

export async function listYears(ctx: AppContext) {
  const { calendar, imported } = await load(ctx);
  const importedSet = new Set(imported.map((y) => y.year));
  const years = merge(imported).map((y) => ({
    year: y.year,
    source: y.source,
    offDays: y.offDays,
    workingWeekendDays: y.workingWeekendDays,
    origin: importedSet.has(y.year) ? ('imported' as const) : ('shipped' as const),
  }));
  const thisYear = new Date().getUTCFullYear();
  // the notice for next year is usually published in November; warn until it is in
  const missing = [thisYear, thisYear + 1].filter((y) => !calendar.isYearKnown(y));
  return { years, knownYears: calendar.knownYears(), missing };
}

export type DayKind = 'workday' | 'weekend' | 'holiday' | 'adjustedWorkday';

/** Every day of a year with its kind, for the calendar page. */
export async function yearView(ctx: AppContext, year: number) {
  const { calendar } = await load(ctx);
  const days: { date: string; workday: boolean; kind: DayKind }[] = [];
  for (let d = `${year}-01-01`; d.startsWith(String(year)); d = addDays(d, 1)) {
    const weekend = [0, 6].includes(dayOfWeek(d));
    const workday = calendar.isWorkday(d);
    const kind: DayKind = workday
      ? weekend
        ? 'adjustedWorkday'
        : 'workday'
      : weekend
        ? 'weekend'
        : 'holiday';
    days.push({ date: d, workday, kind });
  }
  return { year, known: calendar.isYearKnown(year), days };
}

/** REFERENCE.md: an administrator imports the State Council's notice for a year not shipped with govshare. */
export async function importYear(ctx: AppContext, actor: Actor, input: unknown) {
  if (!hasRole(actor, 'platform_admin')) throw new AppError('FORBIDDEN');
  let y: HolidayYear;
  try {
    y = validateHolidayYear(input);
  } catch (e) {
    throw new AppError('VALIDATION_FAILED', [
      { reason: (e as Error).message, reasonZh: `节假日安排数据不合法：${(e as Error).message}` },
    ]);
  }
  await inTx(ctx.db, async (trx) => {
    await trx
      .insertInto('holiday_year')
      .values({
        year: y.year,
        source: y.source,
        off_days: y.offDays,
        working_weekend_days: y.workingWeekendDays,
        imported_by: actor.id,
      })
      .onConflict((oc) =>
        oc.column('year').doUpdateSet({
          source: y.source,
          off_days: y.offDays,
          working_weekend_days: y.workingWeekendDays,
          imported_by: actor.id,
          imported_at: new Date(),
        }),
      )
      .execute();
    await appendAudit(trx, {
      action: 'calendar.import',
      decision: 'allow',
      actorUserId: actor.id,
      actorOrgId: actor.orgId,
      targetType: 'holiday_year',
      targetId: y.year,
      clientIp: actor.clientIp,
      detail: {
        source: y.source,
        offDays: y.offDays.length,
        workingWeekendDays: y.workingWeekendDays.length,
      },
    });
  });
  cache.delete(ctx);
  return listYears(ctx);
}
