import {
  ApartmentOutlined,
  ApiOutlined,
  ClockCircleOutlined,
  DatabaseOutlined,
  SafetyCertificateOutlined,
  TableOutlined,
} from '@ant-design/icons';
import { Button, Card, Col, Row, Statistic } from 'antd';
import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../shared/api.js';
import { ErrorAlert } from '../shared/common.js';
import { useAsync } from '../shared/hooks.js';
import { type Key, useI18n } from '../shared/i18n.js';
import type { Overview } from '../shared/types.js';
import CallsChart from '../stats/CallsChart.js';
import MyWork from './MyWork.js';

const cards: { key: keyof Omit<Overview, 'callsByDay'>; label: Key; icon: ReactNode; color: string }[] = [
  { key: 'resources', label: 'dash.resources', icon: <DatabaseOutlined />, color: '#1d4ed8' },
  { key: 'departments', label: 'dash.departments', icon: <ApartmentOutlined />, color: '#0891b2' },
  { key: 'rows', label: 'dash.rows', icon: <TableOutlined />, color: '#059669' },
  { key: 'pendingRequests', label: 'dash.pendingRequests', icon: <ClockCircleOutlined />, color: '#d97706' },
  { key: 'activeGrants', label: 'dash.activeGrants', icon: <SafetyCertificateOutlined />, color: '#7c3aed' },
  { key: 'callsToday', label: 'dash.callsToday', icon: <ApiOutlined />, color: '#dc2626' },
];

export default function Dashboard() {
  const { t } = useI18n();
  const stats = useAsync(() => api<Overview>('/api/stats/overview'), []);
  return (
    <div data-testid="page-dashboard">
      <ErrorAlert error={stats.error} />
      <Link to="/cockpit" data-testid="dashboard-cockpit">
        <Button type="primary" ghost style={{ marginBottom: 12 }}>
          {t('menu.cockpit')}
        </Button>
      </Link>
      <MyWork />
      <Row gutter={[16, 16]}>
        {cards.map((c) => (
          <Col key={c.key} xs={24} sm={12} lg={8} xl={4}>
            <Card loading={stats.loading && !stats.data}>
              <Statistic
                title={t(c.label)}
                value={stats.data?.[c.key] ?? 0}
                prefix={<span style={{ color: c.color }}>{c.icon}</span>}
                groupSeparator=","
              />
            </Card>
          </Col>
        ))}
      </Row>
      <Card title={t('dash.callsByDay')} style={{ marginTop: 16 }}>
        <CallsChart data={stats.data?.callsByDay ?? []} seriesName={t('dash.calls')} />
      </Card>
    </div>
  );
}
