import { describe, expect, it } from 'vitest';
import { type HolidayYear, OFFICIAL_HOLIDAYS } from './holidays.js';
import {
  addCalendarDays,
  addDays,
  addWorkdays,
  createCalendar,
  dayOfWeek,
  dueDate,
  endOfShanghaiDay,
  isIsoDate,
  shanghaiDate,
  validateHolidayYear,
  workdaysBetween,
} from './model.js';

const cal = createCalendar();

describe('holiday data (国务院办公厅 notices)', () => {
  it('2025 has 28 off days and 5 调休 working days (国办发明电〔2024〕12号)', () => {
    const y = OFFICIAL_HOLIDAYS.find((h) => h.year === 2025);
    expect(y?.offDays).toHaveLength(1 + 8 + 3 + 5 + 3 + 8);
    expect(y?.workingWeekendDays).toHaveLength(5);
  });

  it('2026 has 33 off days and 6 调休 working days', () => {
    const y = OFFICIAL_HOLIDAYS.find((h) => h.year === 2026);
    expect(y?.offDays).toHaveLength(3 + 9 + 3 + 5 + 3 + 3 + 7);
    expect(y?.workingWeekendDays).toHaveLength(6);
  });

  it('every official year passes the admin-import validation', () => {
    for (const y of OFFICIAL_HOLIDAYS) expect(() => validateHolidayYear(y)).not.toThrow();
  });

  it('every 调休 working day is a Saturday or Sunday, and a working day', () => {
    for (const y of OFFICIAL_HOLIDAYS) {
      for (const d of y.workingWeekendDays) {
        expect([0, 6]).toContain(dayOfWeek(d));
        expect(cal.isWorkday(d)).toBe(true);
      }
    }
  });

  it('every off day is not a working day', () => {
    for (const y of OFFICIAL_HOLIDAYS) for (const d of y.offDays) expect(cal.isWorkday(d)).toBe(false);
  });
});

describe('isWorkday', () => {
  it('an ordinary Monday is a working day, an ordinary Saturday and Sunday are not', () => {
    expect(cal.isWorkday('2026-03-02')).toBe(true);
    expect(cal.isWorkday('2026-03-07')).toBe(false);
    expect(cal.isWorkday('2026-03-08')).toBe(false);
  });

  it('New Year 2026: 1/1–1/3 off, Sunday 1/4 is a 调休 working day', () => {
    expect(cal.isWorkday('2026-01-01')).toBe(false);
    expect(cal.isWorkday('2026-01-02')).toBe(false);
    expect(cal.isWorkday('2026-01-03')).toBe(false);
    expect(dayOfWeek('2026-01-04')).toBe(0);
    expect(cal.isWorkday('2026-01-04')).toBe(true);
  });

  it('Spring Festival 2026: Monday 2/16 through Monday 2/23 are off', () => {
    expect(cal.isWorkday('2026-02-16')).toBe(false);
    expect(cal.isWorkday('2026-02-23')).toBe(false);
    expect(cal.isWorkday('2026-02-24')).toBe(true);
  });

  it('knows 2025 and 2026', () => {
    expect(cal.knownYears()).toEqual([2025, 2026]);
    expect(cal.isYearKnown(2025)).toBe(true);
    expect(cal.isYearKnown(2026)).toBe(true);
  });

  it('REFERENCE.md: an unannounced year (2027) falls back to Mon–Fri and reports itself unknown', () => {
    expect(cal.isYearKnown(2027)).toBe(false);
    expect(cal.isYearKnown(2024)).toBe(false);
    // 2027-01-01 will surely be a holiday, but until the notice is imported only weekends are off.
    expect(cal.isWorkday('2027-01-01')).toBe(true);
    expect(cal.isWorkday('2027-01-02')).toBe(false);
    expect(cal.isWorkday('2027-01-03')).toBe(false);
    expect(cal.isWorkday('2027-01-04')).toBe(true);
  });

  it('an admin-imported year replaces the Mon–Fri fallback', () => {
    const y2027: HolidayYear = {
      year: 2027,
      source: 'test notice',
      offDays: ['2027-01-01'],
      workingWeekendDays: [],
    };
    const c = createCalendar([...OFFICIAL_HOLIDAYS, y2027]);
    expect(c.isYearKnown(2027)).toBe(true);
    expect(c.isWorkday('2027-01-01')).toBe(false);
    expect(c.knownYears()).toEqual([2025, 2026, 2027]);
  });

  it('rejects malformed and impossible dates', () => {
    expect(() => cal.isWorkday('2026-2-3')).toThrow(/YYYY-MM-DD/);
    expect(() => cal.isWorkday('2026-02-30')).toThrow(/no such calendar day/);
    expect(() => cal.isWorkday('2026-13-01')).toThrow();
    expect(() => cal.isWorkday('')).toThrow();
  });

  it('createCalendar rejects the same year twice', () => {
    expect(() => createCalendar([...OFFICIAL_HOLIDAYS, ...OFFICIAL_HOLIDAYS])).toThrow(/given twice/);
  });
});

describe('addWorkdays (民法典 Art 201: the start day is not counted)', () => {
  it('民法典 Art 201: a request on 2026-02-13 with 5 WD is due 2026-02-27 (2/14 is a 调休 working Saturday, 2/15–23 Spring Festival)', () => {
    expect(addWorkdays(cal, '2026-02-13', 5)).toBe('2026-02-27');
  });

  it('Art 201: a request on 2026-02-13 with 1 WD is due on the 调休 Saturday 2026-02-14', () => {
    expect(addWorkdays(cal, '2026-02-13', 1)).toBe('2026-02-14');
  });

  it('Art 201: an ordinary week — Monday 2026-03-02 + 5 WD is Monday 2026-03-09', () => {
    expect(addWorkdays(cal, '2026-03-02', 5)).toBe('2026-03-09');
  });

  it('Art 201: a request received on a holiday counts from the next working day (2026-02-18 + 1 WD = 2026-02-24)', () => {
    expect(addWorkdays(cal, '2026-02-18', 1)).toBe('2026-02-24');
  });

  it('National Day 2025: 2025-09-30 + 3 WD is the 调休 Saturday 2025-10-11 (10/1–8 off)', () => {
    expect(addWorkdays(cal, '2025-09-30', 1)).toBe('2025-10-09');
    expect(addWorkdays(cal, '2025-09-30', 2)).toBe('2025-10-10');
    expect(addWorkdays(cal, '2025-09-30', 3)).toBe('2025-10-11');
    expect(addWorkdays(cal, '2025-09-30', 4)).toBe('2025-10-13');
  });

  it('National Day 2025: Friday 2025-09-26 + 1 WD is the 调休 Sunday 2025-09-28', () => {
    expect(addWorkdays(cal, '2025-09-26', 1)).toBe('2025-09-28');
    expect(addWorkdays(cal, '2025-09-26', 2)).toBe('2025-09-29');
  });

  it('New Year 2026: 2025-12-31 + 1 WD is the 调休 Sunday 2026-01-04', () => {
    expect(addWorkdays(cal, '2025-12-31', 1)).toBe('2026-01-04');
  });

  it('cross-year: 2025-12-30 + 5 WD is 2026-01-07 (12/31, 1/4, 1/5, 1/6, 1/7)', () => {
    expect(addWorkdays(cal, '2025-12-30', 5)).toBe('2026-01-07');
  });

  it('Labour Day 2026: 2026-04-30 + 3 WD is 5/8, + 4 WD the 调休 Saturday 5/9, + 5 WD Monday 5/11', () => {
    expect(addWorkdays(cal, '2026-04-30', 3)).toBe('2026-05-08');
    expect(addWorkdays(cal, '2026-04-30', 4)).toBe('2026-05-09');
    expect(addWorkdays(cal, '2026-04-30', 5)).toBe('2026-05-11');
  });

  it('Spring Festival 2025: Friday 2025-01-24 + 1 WD is the 调休 Sunday 1/26, + 2 WD 1/27, + 3 WD 2/5 (1/28–2/4 off)', () => {
    expect(addWorkdays(cal, '2025-01-24', 1)).toBe('2025-01-26');
    expect(addWorkdays(cal, '2025-01-24', 2)).toBe('2025-01-27');
    expect(addWorkdays(cal, '2025-01-24', 3)).toBe('2025-02-05');
  });

  it('GD Art 19: 10 WD over Mid-Autumn and National Day 2026 — 2026-09-24 + 10 WD is 2026-10-15', () => {
    // 9/25–27 Mid-Autumn, 10/1–7 National Day, 10/10 Saturday working:
    // 9/28, 9/29, 9/30, 10/8, 10/9, 10/10, 10/12, 10/13, 10/14, 10/15 → 10th is 10/15
    expect(addWorkdays(cal, '2026-09-24', 10)).toBe('2026-10-15');
  });

  it('unknown year 2027 counts Mon–Fri: 2026-12-31 + 2 WD is Monday 2027-01-04', () => {
    expect(addWorkdays(cal, '2026-12-31', 1)).toBe('2027-01-01');
    expect(addWorkdays(cal, '2026-12-31', 2)).toBe('2027-01-04');
  });

  it('rejects n < 1 and non-integers', () => {
    expect(() => addWorkdays(cal, '2026-03-02', 0)).toThrow(RangeError);
    expect(() => addWorkdays(cal, '2026-03-02', -1)).toThrow(RangeError);
    expect(() => addWorkdays(cal, '2026-03-02', 1.5)).toThrow(RangeError);
  });

  it('a calendar with no working days fails loudly instead of looping', () => {
    const never = { isWorkday: () => false, knownYears: () => [], isYearKnown: () => false };
    expect(() => addWorkdays(never, '2026-03-02', 1)).toThrow(/calendar data is broken/);
  });
});

describe('addCalendarDays (民法典 Art 203: a period ending on a holiday ends on the next working day)', () => {
  it('Art 201: 2026-03-02 + 3 d is 2026-03-05 (an ordinary working day stays)', () => {
    expect(addCalendarDays(cal, '2026-03-02', 3)).toBe('2026-03-05');
  });

  it('Art 203: SY Art 34 10 d from 2025-09-25 ends on 10/5 (National Day) and moves to 2025-10-09', () => {
    expect(addCalendarDays(cal, '2025-09-25', 10)).toBe('2025-10-09');
  });

  it('Art 203: 2026-02-13 + 10 d ends on 2/23 (Spring Festival) and moves to 2026-02-24', () => {
    expect(addCalendarDays(cal, '2026-02-13', 10)).toBe('2026-02-24');
  });

  it('Art 203: ending on an ordinary Saturday moves to Monday (2026-03-02 + 5 d → 2026-03-09)', () => {
    expect(addCalendarDays(cal, '2026-03-02', 5)).toBe('2026-03-09');
  });

  it('Art 203: ending on a 调休 working Sunday does not move (2025-01-20 + 6 d = 2025-01-26)', () => {
    expect(addCalendarDays(cal, '2025-01-20', 6)).toBe('2025-01-26');
  });

  it('Art 203: a holiday span followed by a 调休 Saturday ends on it (2025-10-01 + 7 d → 10/8 off → 10/9)', () => {
    expect(addCalendarDays(cal, '2025-10-01', 7)).toBe('2025-10-09');
  });

  it('rejects n < 1', () => {
    expect(() => addCalendarDays(cal, '2026-03-02', 0)).toThrow(RangeError);
  });
});

describe('dueDate', () => {
  it('dispatches WD to addWorkdays', () => {
    expect(dueDate(cal, '2026-02-13', { amount: 5, unit: 'WD' })).toBe('2026-02-27');
  });

  it('dispatches d to addCalendarDays', () => {
    expect(dueDate(cal, '2026-02-13', { amount: 10, unit: 'd' })).toBe('2026-02-24');
  });

  it('rejects a zero deadline', () => {
    expect(() => dueDate(cal, '2026-02-13', { amount: 0, unit: 'WD' })).toThrow(RangeError);
  });
});

describe('workdaysBetween', () => {
  it('counts working days d with from < d <= to', () => {
    expect(workdaysBetween(cal, '2026-02-13', '2026-02-27')).toBe(5);
    expect(workdaysBetween(cal, '2026-02-13', '2026-02-23')).toBe(1);
    expect(workdaysBetween(cal, '2026-03-02', '2026-03-02')).toBe(0);
  });

  it('is 0 when to is before from', () => {
    expect(workdaysBetween(cal, '2026-03-09', '2026-03-02')).toBe(0);
  });

  it('2025 and 2026 each have 248 working days (261 weekdays − 18/19 off weekdays + 5/6 调休 days)', () => {
    expect(workdaysBetween(cal, '2024-12-31', '2025-12-31')).toBe(248);
    expect(workdaysBetween(cal, '2025-12-31', '2026-12-31')).toBe(248);
  });

  it('Art 201 consistency: workdaysBetween(s, addWorkdays(s, n)) === n for every day of 2025–2026, n in 1..15', () => {
    let failures = 0;
    for (let s = '2025-01-01'; s <= '2026-12-31'; s = addDays(s, 1)) {
      for (let n = 1; n <= 15; n++) {
        const due = addWorkdays(cal, s, n);
        if (workdaysBetween(cal, s, due) !== n) failures++;
        // The due day itself is a working day and the day before it has fewer than n elapsed.
        if (!cal.isWorkday(due) || workdaysBetween(cal, s, addDays(due, -1)) !== n - 1) failures++;
      }
    }
    expect(failures).toBe(0);
  });
});

describe('Asia/Shanghai instants', () => {
  it('shanghaiDate at 2026-02-13T16:30:00Z is 2026-02-14 (00:30 Beijing time)', () => {
    expect(shanghaiDate(new Date('2026-02-13T16:30:00Z'))).toBe('2026-02-14');
  });

  it('shanghaiDate at 2026-02-13T15:59:59.999Z is still 2026-02-13', () => {
    expect(shanghaiDate(new Date('2026-02-13T15:59:59.999Z'))).toBe('2026-02-13');
  });

  it('shanghaiDate crosses the year in Beijing time (2025-12-31T16:00:00Z is 2026-01-01)', () => {
    expect(shanghaiDate(new Date('2025-12-31T16:00:00Z'))).toBe('2026-01-01');
  });

  it('shanghaiDate rejects an invalid Date', () => {
    expect(() => shanghaiDate(new Date('nope'))).toThrow();
  });

  it('endOfShanghaiDay(2026-02-27) is 2026-02-27T15:59:59.999Z (23:59:59.999 Beijing time)', () => {
    expect(endOfShanghaiDay('2026-02-27').toISOString()).toBe('2026-02-27T15:59:59.999Z');
  });

  it('endOfShanghaiDay round-trips through shanghaiDate, and one millisecond later is the next day', () => {
    const end = endOfShanghaiDay('2026-02-27');
    expect(shanghaiDate(end)).toBe('2026-02-27');
    expect(shanghaiDate(new Date(end.getTime() + 1))).toBe('2026-02-28');
  });
});

describe('date helpers', () => {
  it('isIsoDate accepts real dates only', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2025-02-29')).toBe(false);
    expect(isIsoDate('2025-1-1')).toBe(false);
    expect(isIsoDate(20250101)).toBe(false);
  });

  it('addDays crosses months and years in UTC', () => {
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  });
});

describe('validateHolidayYear (admin import of a new notice)', () => {
  const good = {
    year: 2027,
    source: '国务院办公厅关于2027年部分节假日安排的通知',
    offDays: ['2027-01-01'],
    workingWeekendDays: [],
  };

  it('accepts a well-formed year and returns sorted copies', () => {
    const y = validateHolidayYear({ ...good, offDays: ['2027-10-01', '2027-01-01'] });
    expect(y.offDays).toEqual(['2027-01-01', '2027-10-01']);
  });

  it.each([
    ['not an object', null, /must be an object/],
    ['an array', [], /must be an object/],
    ['a non-integer year', { ...good, year: 2027.5 }, /"year"/],
    ['a string year', { ...good, year: '2027' }, /"year"/],
    ['a missing source', { ...good, source: ' ' }, /"source"/],
    ['offDays not an array', { ...good, offDays: '2027-01-01' }, /"offDays" must be an array/],
    ['a missing workingWeekendDays', { year: 2027, source: 'x', offDays: [] }, /"workingWeekendDays"/],
    ['a malformed date', { ...good, offDays: ['2027/01/01'] }, /invalid date/],
    ['an impossible date', { ...good, offDays: ['2027-02-29'] }, /invalid date/],
    ['a date in another year', { ...good, offDays: ['2026-12-31'] }, /not in 2027/],
    ['a duplicate date', { ...good, offDays: ['2027-01-01', '2027-01-01'] }, /twice/],
    [
      'a day both off and working',
      { ...good, offDays: ['2027-01-02'], workingWeekendDays: ['2027-01-02'] },
      /both an off day and a working day/,
    ],
    [
      'a working "weekend" day that is a weekday',
      { ...good, workingWeekendDays: ['2027-01-04'] },
      /not a Saturday or Sunday/,
    ],
  ])('rejects %s', (_name, input, message) => {
    expect(() => validateHolidayYear(input)).toThrow(message);
  });
});
