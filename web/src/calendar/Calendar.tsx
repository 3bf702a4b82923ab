import { ImportOutlined } from '@ant-design/icons';
import {
  Alert,
  Button,
  Card,
  Col,
  DatePicker,
  Form,
  InputNumber,
  Row,
  Segmented,
  Select,
  Space,
  Spin,
  Tag,
  Tooltip,
  Typography,
} from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { type CSSProperties, memo, useMemo, useState } from 'react';
import { api, errorText } from '../shared/api.js';
import { access, useAuth } from '../shared/auth.js';
import { ErrorAlert } from '../shared/common.js';
import { mondayIndex } from '../shared/dates.js';
import { useAsync } from '../shared/hooks.js';
import { type I18n, useI18n } from '../shared/i18n.js';
import type { CalendarYears, DayKind, DueAnswer, YearView } from '../shared/types.js';
import HolidayImportModal from './HolidayImportModal.js';
import TrainingClock from './TrainingClock.js';

const KINDS: DayKind[] = ['workday', 'weekend', 'holiday', 'adjustedWorkday'];

const KIND_STYLE: Record<DayKind, CSSProperties> = {
  workday: { background: '#ffffff', color: '#1f2937', borderColor: '#e5e7eb' },
  weekend: { background: '#eef0f3', color: '#8c8c8c', borderColor: '#e5e7eb' },
  holiday: { background: '#fff1f0', color: '#cf1322', borderColor: '#ffa39e' },
  adjustedWorkday: { background: '#fff7e6', color: '#d46b08', borderColor: '#ffc069' },
};

const cellBase: CSSProperties = {
  position: 'relative',
  height: 30,
  borderRadius: 3,
  border: '1px solid',
  display: 'flex',
  alignItems: 'center',
  justifyContent: 'center',
  fontSize: 13,
  cursor: 'default',
};

const markStyle: CSSProperties = {
  position: 'absolute',
  top: 0,
  right: 2,
  fontSize: 9,
  lineHeight: '11px',
  fontWeight: 600,
};

interface Day {
  date: string;
  kind: DayKind;
}

function mark(kind: DayKind, t: I18n['t']): string | null {
  if (kind === 'holiday') return t('cal.markHoliday');
  if (kind === 'adjustedWorkday') return t('cal.markAdjusted');
  return null;
}

const MonthGrid = memo(function MonthGrid({
  month,
  days,
  today,
}: {
  month: number;
  days: Day[];
  today: string;
}) {
  const { t, tEnum, paren } = useI18n();
  const monthNames = t('cal.months').split(',');
  const weekdays = t('cal.weekdays').split(',');
  const weekdaysLong = t('cal.weekdaysLong').split(',');
  const lead = days.length ? mondayIndex(days[0].date) : 0;
  return (
    <div data-testid={`cal-month-${month + 1}`}>
      <Typography.Text strong style={{ display: 'block', marginBottom: 6 }}>
        {monthNames[month]}
      </Typography.Text>
      <div style={{ display: 'grid', gridTemplateColumns: 'repeat(7, 1fr)', gap: 3 }}>
        {weekdays.map((w, i) => (
          <div
            key={w}
            style={{ textAlign: 'center', fontSize: 12, color: i >= 5 ? '#8c8c8c' : '#4b5563', height: 20 }}
          >
            {w}
          </div>
        ))}
        {Array.from({ length: lead }, (_, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: fixed blank cells before the 1st
          <div key={`blank${i}`} />
        ))}
        {days.map((d) => {
          const isToday = d.date === today;
          const m = mark(d.kind, t);
          return (
            <Tooltip
              key={d.date}
              title={`${d.date}${paren(weekdaysLong[mondayIndex(d.date)])}${tEnum('dayKind', d.kind)}${
                isToday ? ` · ${t('cal.today')}` : ''
              }`}
              mouseEnterDelay={0.15}
            >
              <div
                data-testid={`cal-day-${d.date}`}
                data-kind={d.kind}
                style={{
                  ...cellBase,
                  ...KIND_STYLE[d.kind],
                  ...(isToday
                    ? { outline: '2px solid #1d4ed8', outlineOffset: 0, fontWeight: 700, zIndex: 1 }
                    : null),
                }}
              >
                {Number(d.date.slice(8))}
                {m ? <span style={markStyle}>{m}</span> : null}
              </div>
            </Tooltip>
          );
        })}
      </div>
    </div>
  );
});

function Legend() {
  const { t, tEnum } = useI18n();
  return (
    <Space size={16} wrap data-testid="cal-legend">
      {KINDS.map((k) => (
        <Space key={k} size={6}>
          <span
            style={{
              ...cellBase,
              ...KIND_STYLE[k],
              display: 'inline-flex',
              width: 28,
              height: 22,
              fontSize: 11,
            }}
          >
            {mark(k, t) ?? ''}
          </span>
          <span>{tEnum('dayKind', k)}</span>
        </Space>
      ))}
      <Space size={6}>
        <span
          style={{
            ...cellBase,
            ...KIND_STYLE.workday,
            display: 'inline-flex',
            width: 28,
            height: 22,
            outline: '2px solid #1d4ed8',
          }}
        />
        <span>{t('cal.today')}</span>
      </Space>
    </Space>
  );
}

function DueCalculator() {
  const { t, lang } = useI18n();
  const [start, setStart] = useState<Dayjs>(() => dayjs());
  const [amount, setAmount] = useState<number | null>(10);
  const [unit, setUnit] = useState<'WD' | 'd'>('WD');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<DueAnswer | null>(null);
  const [error, setError] = useState<unknown>(null);
  const weekdaysLong = t('cal.weekdaysLong').split(',');

  async function run() {
    if (!amount) return;
    setBusy(true);
    setError(null);
    try {
      setResult(
        await api<DueAnswer>('/api/calendar/due', {
          query: { start: start.format('YYYY-MM-DD'), amount, unit },
        }),
      );
    } catch (e) {
      setResult(null);
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t('cal.calc')} data-testid="cal-due-card" size="small">
      <Form layout="vertical" onFinish={run}>
        <Form.Item label={t('cal.calcStart')} style={{ marginBottom: 12 }}>
          <DatePicker
            data-testid="cal-due-start"
            allowClear={false}
            value={start}
            onChange={(v) => v && setStart(v)}
            style={{ width: '100%' }}
          />
        </Form.Item>
        <Space align="start" size={12} wrap>
          <Form.Item label={t('cal.calcAmount')} style={{ marginBottom: 12 }}>
            <InputNumber
              data-testid="cal-due-amount"
              min={1}
              max={365}
              precision={0}
              value={amount}
              onChange={(v) => setAmount(v)}
              style={{ width: 80 }}
            />
          </Form.Item>
          <Form.Item label={t('cal.calcUnit')} style={{ marginBottom: 12 }}>
            <Segmented
              data-testid="cal-due-unit"
              value={unit}
              onChange={(v) => setUnit(v === 'd' ? 'd' : 'WD')}
              options={[
                { value: 'WD', label: t('calUnit.WD') },
                { value: 'd', label: t('calUnit.d') },
              ]}
            />
          </Form.Item>
        </Space>
        <Button
          data-testid="cal-due-submit"
          type="primary"
          htmlType="submit"
          loading={busy}
          disabled={!amount}
          block
        >
          {t('cal.calcSubmit')}
        </Button>
      </Form>
      {error ? (
        <Alert type="error" showIcon title={errorText(error, lang)} style={{ marginTop: 12 }} />
      ) : null}
      {result ? (
        <div data-testid="cal-due-result" style={{ marginTop: 12 }}>
          <Typography.Text type="secondary">{t('cal.calcDue')}</Typography.Text>
          <div style={{ fontSize: 20, fontWeight: 600, color: '#0f2a5c' }}>
            <span data-testid="cal-due-date">{result.dueDate}</span>{' '}
            <span style={{ fontSize: 14, fontWeight: 400 }}>{weekdaysLong[mondayIndex(result.dueDate)]}</span>
          </div>
          {result.yearKnown ? null : (
            <Alert
              data-testid="cal-due-provisional"
              type="warning"
              showIcon
              title={t('cal.calcProvisional')}
              style={{ marginTop: 8 }}
            />
          )}
        </div>
      ) : null}
      <Typography.Paragraph type="secondary" style={{ fontSize: 12, marginTop: 12, marginBottom: 0 }}>
        {t('cal.calcHint')}
      </Typography.Paragraph>
    </Card>
  );
}

export default function Calendar() {
  const { t, tEnum, colon } = useI18n();
  const { me } = useAuth();
  const canImport = access.importCalendar(me);
  const thisYear = dayjs().year();
  const today = dayjs().format('YYYY-MM-DD');
  const [year, setYear] = useState(thisYear);
  const [importOpen, setImportOpen] = useState(false);
  const [version, setVersion] = useState(0);

  const list = useAsync(() => api<CalendarYears>('/api/calendar/years'), [version]);
  const view = useAsync(() => api<YearView>(`/api/calendar/years/${year}`), [year, version]);

  const notice = list.data?.years.find((y) => y.year === year);
  const yearOptions = useMemo(() => {
    const known = new Set(list.data?.knownYears ?? []);
    const all = new Set([...known, thisYear, thisYear + 1, year]);
    return [...all]
      .sort((a, b) => a - b)
      .map((y) => ({
        value: y,
        label: `${t('cal.yearOption', { y })}${known.has(y) || !list.data ? '' : ` ${t('cal.notAnnounced')}`}`,
      }));
  }, [list.data, thisYear, year, t]);

  // Weekend days inside a holiday span are days off of the notice: show them as 休 like the notice does.
  const months = useMemo(() => {
    const off = new Set(notice?.offDays ?? []);
    const byMonth: Day[][] = Array.from({ length: 12 }, () => []);
    if (view.data?.year !== year) return byMonth;
    for (const d of view.data.days) {
      const kind: DayKind = d.kind === 'weekend' && off.has(d.date) ? 'holiday' : d.kind;
      byMonth[Number(d.date.slice(5, 7)) - 1].push({ date: d.date, kind });
    }
    return byMonth;
  }, [view.data, notice, year]);

  const counts = useMemo(() => {
    const c = { workday: 0, holiday: 0, adjustedWorkday: 0 };
    for (const m of months)
      for (const d of m) {
        if (d.kind === 'workday' || d.kind === 'adjustedWorkday') c.workday++;
        if (d.kind === 'holiday') c.holiday++;
        if (d.kind === 'adjustedWorkday') c.adjustedWorkday++;
      }
    return c;
  }, [months]);

  const missing = list.data?.missing ?? [];
  const importYear = !view.data || view.data.known ? (missing[0] ?? year) : year;

  return (
    <div data-testid="page-calendar">
      {missing.length ? (
        <Alert
          data-testid="cal-missing"
          banner
          type="warning"
          title={
            <span>
              {t('cal.missing', { years: missing.join(t('punct.list')) })}
              {canImport ? ` ${t('cal.missingAdmin')}` : ''}
            </span>
          }
          style={{ marginBottom: 16 }}
        />
      ) : null}
      <ErrorAlert error={list.error ?? view.error} />
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={18}>
          <Card
            title={t('cal.title')}
            extra={
              <Space>
                <span>{t('cal.year')}</span>
                <Select
                  data-testid="cal-year"
                  value={year}
                  onChange={setYear}
                  options={yearOptions}
                  style={{ width: 150 }}
                />
                {canImport ? (
                  <Button
                    data-testid="cal-import-btn"
                    icon={<ImportOutlined />}
                    onClick={() => setImportOpen(true)}
                  >
                    {t('cal.import')}
                  </Button>
                ) : null}
              </Space>
            }
          >
            {view.data?.year === year && !view.data.known ? (
              <Alert
                data-testid="cal-not-known"
                type="warning"
                showIcon
                title={t('cal.notKnown')}
                style={{ marginBottom: 12 }}
              />
            ) : null}
            <div data-testid="cal-source" style={{ marginBottom: 12 }}>
              <Typography.Text type="secondary">
                {t('cal.source')}
                {colon}
              </Typography.Text>
              {notice ? (
                <>
                  <Typography.Text>{notice.source}</Typography.Text>{' '}
                  <Tag
                    data-testid="cal-origin"
                    color={notice.origin === 'imported' ? 'purple' : 'blue'}
                    style={{ marginInlineStart: 4 }}
                  >
                    {tEnum('origin', notice.origin)}
                  </Tag>
                </>
              ) : (
                <Typography.Text type="secondary">{list.data ? t('cal.noSource') : '-'}</Typography.Text>
              )}
            </div>
            <div
              style={{
                display: 'flex',
                flexWrap: 'wrap',
                justifyContent: 'space-between',
                gap: 8,
                marginBottom: 16,
              }}
            >
              <Legend />
              {view.data?.year === year ? (
                <Typography.Text type="secondary" data-testid="cal-summary">
                  {t('cal.summary', {
                    wd: counts.workday,
                    off: counts.holiday,
                    adj: counts.adjustedWorkday,
                  })}
                </Typography.Text>
              ) : null}
            </div>
            <Spin spinning={view.loading}>
              <div
                data-testid="cal-grid"
                style={{
                  display: 'grid',
                  gridTemplateColumns: 'repeat(auto-fill, minmax(240px, 1fr))',
                  gap: '20px 28px',
                  minHeight: 200,
                }}
              >
                {months.map((days, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: the twelve months
                  <MonthGrid key={i} month={i} days={days} today={today} />
                ))}
              </div>
            </Spin>
          </Card>
        </Col>
        <Col xs={24} xl={6}>
          <DueCalculator />
          <TrainingClock />
        </Col>
      </Row>
      {canImport ? (
        <HolidayImportModal
          open={importOpen}
          initialYear={importYear}
          existing={list.data?.years.find((y) => y.year === importYear)}
          onClose={() => setImportOpen(false)}
          onImported={(y) => {
            setImportOpen(false);
            setYear(y);
            setVersion((v) => v + 1);
          }}
        />
      ) : null}
    </div>
  );
}
