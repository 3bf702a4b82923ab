import { Card, Col, Empty, Row, Segmented, Space, Statistic, Table, Typography } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../shared/api.js';
import { ErrorAlert } from '../shared/common.js';
import EChart from '../shared/EChart.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';

/*
 * Usage of the open portal (issue 11 point 9; server: GET /api/open/usage): views, downloads and API calls per
 * department (stacked bars) and per day (lines), and the most used datasets. Shown on the portal and in the console.
 */

interface Counts {
  views: number;
  downloads: number;
  apiCalls: number;
}
interface Usage {
  since: string;
  until: string;
  departments: ({ org: { id: number; name: string } } & Counts)[];
  datasets: ({ id: number; name: string; org: string } & Counts)[];
  days: ({ day: string } & Counts)[];
}

const KINDS = ['views', 'downloads', 'apiCalls'] as const;

export function OpenUsagePanel({ datasetLink }: { datasetLink?: (id: number) => string }) {
  const { t } = useI18n();
  const [days, setDays] = useState(30);
  const usage = useAsync(() => api<Usage>('/api/open/usage', { query: { days } }), [days]);
  const u = usage.data;
  const names = KINDS.map((k) => t(`open.usage.${k}` as 'open.usage.views'));
  const total = (k: (typeof KINDS)[number]) => (u?.days ?? []).reduce((n, d) => n + d[k], 0);
  return (
    <Space direction="vertical" size={16} style={{ width: '100%' }} data-testid="open-usage">
      <Segmented
        aria-label={t('open.usage.period')}
        value={days}
        onChange={(v) => setDays(Number(v))}
        options={[7, 30, 90, 365].map((n) => ({ value: n, label: t('open.usage.lastDays', { n }) }))}
      />
      <ErrorAlert error={usage.error} />
      <Row gutter={16}>
        {KINDS.map((k, i) => (
          <Col xs={8} key={k}>
            <Statistic title={names[i]} value={total(k)} />
          </Col>
        ))}
      </Row>
      <Card size="small" title={t('open.usage.byDepartment')}>
        {u?.departments.length ? (
          <EChart
            label={t('open.usage.byDepartment')}
            height={Math.max(200, 36 * u.departments.length + 60)}
            option={{
              tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
              legend: { top: 0, data: names },
              grid: { left: 8, right: 24, bottom: 8, top: 40, containLabel: true },
              xAxis: { type: 'value', minInterval: 1 },
              yAxis: { type: 'category', inverse: true, data: u.departments.map((d) => d.org.name) },
              series: KINDS.map((k, i) => ({
                name: names[i],
                type: 'bar',
                stack: 'all',
                data: u.departments.map((d) => d[k]),
              })),
            }}
          />
        ) : (
          <Empty description={t('open.usage.none')} />
        )}
      </Card>
      <Card size="small" title={t('open.usage.byDay')}>
        {u?.days.length ? (
          <EChart
            label={t('open.usage.byDay')}
            height={260}
            option={{
              tooltip: { trigger: 'axis' },
              legend: { top: 0, data: names },
              grid: { left: 8, right: 24, bottom: 8, top: 40, containLabel: true },
              xAxis: { type: 'category', data: u.days.map((d) => d.day.slice(5)) },
              yAxis: { type: 'value', minInterval: 1 },
              series: KINDS.map((k, i) => ({
                name: names[i],
                type: 'line',
                smooth: true,
                data: u.days.map((d) => d[k]),
              })),
            }}
          />
        ) : (
          <Empty description={t('open.usage.none')} />
        )}
      </Card>
      <Card size="small" title={t('open.usage.topDatasets')}>
        <Table
          size="small"
          rowKey="id"
          pagination={false}
          dataSource={u?.datasets ?? []}
          locale={{ emptyText: <Empty description={t('open.usage.none')} /> }}
          columns={[
            {
              title: t('open.notices.dataset'),
              render: (_, r) => (datasetLink ? <Link to={datasetLink(r.id)}>{r.name}</Link> : r.name),
            },
            { title: t('open.notices.department'), dataIndex: 'org' },
            ...KINDS.map((k, i) => ({ title: names[i], dataIndex: k, align: 'right' as const })),
          ]}
        />
      </Card>
    </Space>
  );
}

/** The portal page (/open/usage). */
export default function PortalUsage() {
  const { t } = useI18n();
  return (
    <Space direction="vertical" size={16} style={{ width: '100%' }}>
      <Typography.Title level={2} style={{ margin: 0, fontSize: 22 }}>
        {t('open.usage.title')}
      </Typography.Title>
      <OpenUsagePanel datasetLink={(id) => `/open/dataset/${id}`} />
    </Space>
  );
}
