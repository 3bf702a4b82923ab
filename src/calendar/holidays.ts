// The State Council's yearly holiday notices (国务院办公厅关于部分节假日安排的通知), as data.
// 工作日 in every regulation means the days these notices leave as working days, so a
// deadline is only as right as this table. A year missing here falls back to Mon–Fri in
// createCalendar, with isYearKnown() false so the UI can warn until an admin imports it.

export interface HolidayYear {
  year: number;
  source: string;
  /** Every day off, including the weekend days inside a holiday span. 'YYYY-MM-DD'. */
  offDays: string[];
  /** 调休: Saturdays and Sundays that are working days. 'YYYY-MM-DD'. */
  workingWeekendDays: string[];
}

export const OFFICIAL_HOLIDAYS: readonly HolidayYear[] = [
  {
    year: 2025,
    source: '国务院办公厅关于2025年部分节假日安排的通知（国办发明电〔2024〕12号）',
    offDays: [
      // 元旦
      '2025-01-01',
      // 春节
      '2025-01-28',
      '2025-01-29',
      '2025-01-30',
      '2025-01-31',
      '2025-02-01',
      '2025-02-02',
      '2025-02-03',
      '2025-02-04',
      // 清明节
      '2025-04-04',
      '2025-04-05',
      '2025-04-06',
      // 劳动节
      '2025-05-01',
      '2025-05-02',
      '2025-05-03',
      '2025-05-04',
      '2025-05-05',
      // 端午节
      '2025-05-31',
      '2025-06-01',
      '2025-06-02',
      // 国庆节、中秋节
      '2025-10-01',
      '2025-10-02',
      '2025-10-03',
      '2025-10-04',
      '2025-10-05',
      '2025-10-06',
      '2025-10-07',
      '2025-10-08',
    ],
    workingWeekendDays: ['2025-01-26', '2025-02-08', '2025-04-27', '2025-09-28', '2025-10-11'],
  },
  {
    year: 2026,
    source: '国务院办公厅关于2026年部分节假日安排的通知（2025年11月4日）',
    offDays: [
      // 元旦
      '2026-01-01',
      '2026-01-02',
      '2026-01-03',
      // 春节
      '2026-02-15',
      '2026-02-16',
      '2026-02-17',
      '2026-02-18',
      '2026-02-19',
      '2026-02-20',
      '2026-02-21',
      '2026-02-22',
      '2026-02-23',
      // 清明节
      '2026-04-04',
      '2026-04-05',
      '2026-04-06',
      // 劳动节
      '2026-05-01',
      '2026-05-02',
      '2026-05-03',
      '2026-05-04',
      '2026-05-05',
      // 端午节
      '2026-06-19',
      '2026-06-20',
      '2026-06-21',
      // 中秋节
      '2026-09-25',
      '2026-09-26',
      '2026-09-27',
      // 国庆节
      '2026-10-01',
      '2026-10-02',
      '2026-10-03',
      '2026-10-04',
      '2026-10-05',
      '2026-10-06',
      '2026-10-07',
    ],
    workingWeekendDays: ['2026-01-04', '2026-02-14', '2026-02-28', '2026-05-09', '2026-09-20', '2026-10-10'],
  },
];
