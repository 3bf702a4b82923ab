import {
  Card,
  Col,
  DatePicker,
  Empty,
  Row,
  Segmented,
  Select,
  Space,
  Statistic,
  Table,
  Typography,
} from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { lazy, Suspense, useMemo, useState } from 'react';
import { api, withQuery } from '../shared/api.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtNumber } from '../shared/format.js';
import { useAsync, useUrlFilters } from '../shared/hooks.js';
import { type Key, useI18n } from '../shared/i18n.js';

const EChart = lazy(() => import('../shared/EChart.js'));

interface Latency {
  measured: number;
  avgMs: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}
interface Stats {
  calls: number;
  allowed: number;
  denied: number;
  errors: number;
  rowsServed: number;
  latency: Latency;
}
interface Report {
  from: string;
  to: string;
  days: number;
  latencyBoundsMs: number[];
  totals: Stats & { activeDays: number; perDay: number };
  series: (Stats & { period: string })[];
  topResources: (Stats & { resource: { id: number; name: string | null; provider: string | null } })[];
  topApps: (Stats & { app: { id: number; name: string | null; org: string | null } })[];
  items: (Stats & {
    org: { id: number; name: string | null } | null;
    app: { id: number; name: string | null } | null;
    resource: { id: number; name: string | null; provider: string | null } | null;
    action: string;
    purpose: string | null;
    activeDays: number;
    perDay: number;
  })[];
}
interface Options {
  orgs: { id: number; name: string }[];
  apps: { id: number; name: string }[];
  resources: { id: number; name: string }[];
}

/** 使用监测 (issue 12 point 3, NY task 10): data calls by department, app and resource, read from the daily rollup. */
export default function Usage() {
  const { t, tEnum } = useI18n();
  // filters in the address (?org=&app=&resource=&from=&to=): the cockpit's call counts link here with their period
  const filters = useUrlFilters();
  const org = filters.num('org');
  const setOrg = (v: number | undefined) => filters.set({ org: v });
  const app = filters.num('app');
  const setApp = (v: number | undefined) => filters.set({ app: v });
  const resource = filters.num('resource');
  const setResource = (v: number | undefined) => filters.set({ resource: v });
  const [granularity, setGranularity] = useState<'day' | 'month'>('day');
  const [defaults] = useState(() => [
    dayjs().subtract(29, 'day').format('YYYY-MM-DD'),
    dayjs().format('YYYY-MM-DD'),
  ]);
  const fromText = filters.str('from') ?? defaults[0];
  const toText = filters.str('to') ?? defaults[1];
  const range = useMemo<[Dayjs, Dayjs]>(() => [dayjs(fromText), dayjs(toText)], [fromText, toText]);
  const setRange = (v: [Dayjs, Dayjs]) =>
    filters.set({ from: v[0].format('YYYY-MM-DD'), to: v[1].format('YYYY-MM-DD') });
  const options = useAsync(() => api<Options>('/api/usage/options'), []);
  const report = useAsync(
    () =>
      api<Report>(
        withQuery('/api/usage', {
          org,
          app,
          resource,
          granularity,
          from: fromText,
          to: toText,
        }),
      ),
    [org, app, resource, granularity, fromText, toText],
  );
  const r = report.data;
  const slowest = r ? r.latencyBoundsMs[r.latencyBoundsMs.length - 1] : 5000;
  const ms = (v: number | null) =>
    v === null ? '-' : v > slowest ? t('usage.slower', { n: slowest }) : t('usage.ms', { n: v });

  const lineOption = useMemo(
    () =>
      r && {
        tooltip: { trigger: 'axis' },
        legend: { top: 0 },
        grid: { left: 48, right: 24, top: 32, bottom: 32 },
        xAxis: { type: 'category', data: r.series.map((s) => s.period) },
        yAxis: { type: 'value', minInterval: 1 },
        series: [
          { name: t('usage.allowed'), type: 'line', data: r.series.map((s) => s.allowed), smooth: true },
          { name: t('usage.denied'), type: 'line', data: r.series.map((s) => s.denied), smooth: true },
          { name: t('usage.errors'), type: 'line', data: r.series.map((s) => s.errors), smooth: true },
        ],
      },
    [r, t],
  );
  const barOption = (labels: string[], values: number[]) => ({
    tooltip: { trigger: 'axis' },
    grid: { left: 140, right: 24, top: 8, bottom: 24 },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: [...labels].reverse(), axisLabel: { width: 130, overflow: 'truncate' } },
    series: [
      { name: t('usage.calls'), type: 'bar', data: [...values].reverse(), itemStyle: { color: '#5b8ff9' } },
    ],
  });

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }} data-testid="page-usage">
      <div>
        <Typography.Title level={3} style={{ marginBottom: 4 }}>
          {t('usage.title')}
        </Typography.Title>
        <Typography.Text type="secondary">{t('usage.hint')}</Typography.Text>
      </div>
      <Card size="small">
        <Space wrap>
          <Select
            allowClear
            showSearch
            optionFilterProp="label"
            style={{ width: 180 }}
            placeholder={t('usage.org')}
            value={org}
            onChange={setOrg}
            options={options.data?.orgs.map((o) => ({ value: o.id, label: o.name }))}
          />
          <Select
            allowClear
            showSearch
            optionFilterProp="label"
            style={{ width: 200 }}
            placeholder={t('usage.app')}
            value={app}
            onChange={setApp}
            options={options.data?.apps.map((o) => ({ value: o.id, label: o.name }))}
          />
          <Select
            allowClear
            showSearch
            optionFilterProp="label"
            style={{ width: 240 }}
            placeholder={t('usage.resource')}
            value={resource}
            onChange={setResource}
            options={options.data?.resources.map((o) => ({ value: o.id, label: o.name }))}
          />
          <DatePicker.RangePicker
            allowClear={false}
            value={range}
            onChange={(v) => v?.[0] && v[1] && setRange([v[0], v[1]])}
          />
          <Segmented
            value={granularity}
            onChange={(v) => setGranularity(v as 'day' | 'month')}
            options={[
              { value: 'day', label: t('usage.granularity.day') },
              { value: 'month', label: t('usage.granularity.month') },
            ]}
          />
        </Space>
      </Card>
      <ErrorAlert error={report.error} />
      {r && (
        <Row gutter={[16, 16]}>
          {(
            [
              ['usage.calls', fmtNumber(r.totals.calls)],
              ['usage.perDay', fmtNumber(r.totals.perDay)],
              ['usage.rows', fmtNumber(r.totals.rowsServed)],
              ['usage.denied', fmtNumber(r.totals.denied)],
              ['usage.errors', fmtNumber(r.totals.errors)],
              ['usage.p95', ms(r.totals.latency.p95)],
            ] as [Key, string][]
          ).map(([k, v]) => (
            <Col key={k} xs={12} md={8} lg={4}>
              <Card size="small">
                <Statistic title={t(k)} value={v} />
              </Card>
            </Col>
          ))}
        </Row>
      )}
      <Card size="small" title={t('usage.series')}>
        {r && r.series.length > 0 && lineOption ? (
          <Suspense fallback={null}>
            <EChart option={lineOption} testid="usage-line" label={t('usage.series')} />
          </Suspense>
        ) : (
          <Empty />
        )}
      </Card>
      <Row gutter={16}>
        <Col xs={24} lg={12}>
          <Card size="small" title={t('usage.topResources')}>
            {r?.topResources.length ? (
              <Suspense fallback={null}>
                <EChart
                  testid="usage-top-resources"
                  label={t('usage.topResources')}
                  option={barOption(
                    r.topResources.map((x) => x.resource.name ?? t('usage.none')),
                    r.topResources.map((x) => x.calls),
                  )}
                />
              </Suspense>
            ) : (
              <Empty />
            )}
          </Card>
        </Col>
        <Col xs={24} lg={12}>
          <Card size="small" title={t('usage.topApps')}>
            {r?.topApps.length ? (
              <Suspense fallback={null}>
                <EChart
                  label={t('usage.topApps')}
                  option={barOption(
                    r.topApps.map((x) => x.app.name ?? t('usage.none')),
                    r.topApps.map((x) => x.calls),
                  )}
                />
              </Suspense>
            ) : (
              <Empty />
            )}
          </Card>
        </Col>
      </Row>
      <Card size="small" title={t('usage.detail')}>
        <Table
          size="small"
          loading={report.loading}
          rowKey={(x) => `${x.org?.id}-${x.app?.id}-${x.resource?.id}-${x.action}-${x.purpose}`}
          dataSource={r?.items ?? []}
          scroll={{ x: 1400 }}
          pagination={{ pageSize: 20 }}
          columns={[
            { title: t('usage.org'), render: (_, x) => x.org?.name ?? t('usage.none') },
            { title: t('usage.app'), render: (_, x) => x.app?.name ?? t('usage.none') },
            { title: t('usage.resource'), render: (_, x) => x.resource?.name ?? t('usage.none') },
            { title: t('usage.provider'), render: (_, x) => x.resource?.provider ?? '-' },
            { title: t('usage.action'), render: (_, x) => tEnum('usage.action', x.action) },
            { title: t('usage.purpose'), render: (_, x) => x.purpose ?? '-', ellipsis: true },
            { title: t('usage.calls'), dataIndex: 'calls', align: 'right', render: fmtNumber },
            { title: t('usage.perDay'), dataIndex: 'perDay', align: 'right', render: fmtNumber },
            { title: t('usage.rows'), dataIndex: 'rowsServed', align: 'right', render: fmtNumber },
            { title: t('usage.denied'), dataIndex: 'denied', align: 'right', render: fmtNumber },
            { title: t('usage.errors'), dataIndex: 'errors', align: 'right', render: fmtNumber },
            { title: t('usage.p50'), render: (_, x) => ms(x.latency.p50) },
            { title: t('usage.p95'), render: (_, x) => ms(x.latency.p95) },
            { title: t('usage.p99'), render: (_, x) => ms(x.latency.p99) },
          ]}
        />
      </Card>
    </Space>
  );
}
