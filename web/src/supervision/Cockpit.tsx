import { DownloadOutlined, PrinterOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Col, Empty, Row, Select, Space, Statistic, Table, Typography } from 'antd';
import { lazy, Suspense, useMemo, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { articleText } from '../../../src/shared/labels.js';
import { INDICATORS } from '../evaluation/indicators.js';
import { api } from '../shared/api.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtNumber } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { type Key, useI18n } from '../shared/i18n.js';

const EChart = lazy(() => import('../shared/EChart.js'));

interface OverdueRow {
  orgId: number;
  name: string;
  requestsLate: number;
  dataStale: number;
  dutiesLate: number;
  violations: number;
  total: number;
}
interface ViolationCount {
  type: string;
  article: string;
  n: number;
}
interface Ranking {
  run: { id: number; period: string; status: string };
  items: {
    orgId: number;
    name: string;
    total: number;
    rank: number;
    /** score per indicator (null: not applicable to the department) */
    scores: Record<string, number | null>;
  }[];
}
interface Cockpit {
  view: 'authority' | 'department' | 'auditor';
  from: string;
  to: string;
  days: number;
  violationsApplicable: boolean;
  volume: { calls: number; rowsServed: number; denied: number; series: { day: string; calls: number }[] };
  onTime?: { onTime: number; late: number; rate: number | null };
  overdue?: OverdueRow[] | OverdueRow | null;
  quality?: { month: string; from: string; to: string; score: number; runs: number }[];
  ranking?: Ranking | null;
  violations: ViolationCount[];
  violationsByOrg?: { orgId: number; name: string; n: number }[];
  alerts?: { rule: string; status: string; n: number }[];
  scorecard?: {
    run: { id: number; period: string };
    departments: number;
    total: number | null;
    rank: number | null;
    indicators: { indicator: string; weight: number; value: number | null; score: number | null }[];
  } | null;
  todo?: { kind: string; n: number; overdue: number }[];
}

// the printed report: only the cockpit, no menu or header, cards kept whole on a page
const PRINT_CSS = `@media print {
  .ant-layout-sider, .ant-layout-header, .cockpit-no-print { display: none !important; }
  .ant-layout-content { margin: 0 !important; padding: 0 !important; }
  .ant-card { break-inside: avoid; box-shadow: none !important; }
  .cockpit-print-only { display: block !important; }
}
.cockpit-print-only { display: none; }`;

/** 驾驶舱 (issue 12 point 6): each role's cockpit; every number links to the list behind it. */
export default function CockpitPage() {
  const { t, tEnum, lang, colon } = useI18n();
  const navigate = useNavigate();
  const [days, setDays] = useState(30);
  const c = useAsync(() => api<Cockpit>('/api/cockpit', { query: { days } }), [days]);
  const d = c.data;
  const volumeOption = useMemo(
    () => ({
      tooltip: { trigger: 'axis' },
      grid: { left: 60, right: 20, top: 20, bottom: 30 },
      xAxis: { type: 'category', data: d?.volume.series.map((s) => s.day) ?? [] },
      yAxis: { type: 'value' },
      series: [{ type: 'line', name: t('cockpit.calls'), data: d?.volume.series.map((s) => s.calls) ?? [] }],
    }),
    [d, t],
  );
  const qualityOption = useMemo(
    () => ({
      tooltip: { trigger: 'axis' },
      grid: { left: 50, right: 20, top: 20, bottom: 30 },
      xAxis: { type: 'category', data: d?.quality?.map((q) => q.month) ?? [] },
      yAxis: { type: 'value', min: 0, max: 100 },
      series: [{ type: 'line', name: t('cockpit.meanScore'), data: d?.quality?.map((q) => q.score) ?? [] }],
    }),
    [d, t],
  );
  const rankingOption = useMemo(() => {
    const items = [...(d?.ranking?.items ?? [])].reverse();
    return {
      tooltip: { trigger: 'axis' },
      grid: { left: 140, right: 30, top: 10, bottom: 30 },
      xAxis: { type: 'value', max: 100 },
      yAxis: { type: 'category', data: items.map((i) => `${i.rank}. ${i.name}`) },
      series: [{ type: 'bar', name: t('cockpit.scorecard'), data: items.map((i) => i.total) }],
    };
  }, [d, t]);
  // the departments by score (issue 12 point 6, "map of departments by score"): a department × indicator heatmap of
  // the newest run, best-ranked on top; a cell without a score (the indicator does not apply) stays empty
  const scoreMap = useMemo(() => {
    const items = [...(d?.ranking?.items ?? [])].reverse();
    const indicators = INDICATORS.filter((c) => items.some((i) => c in (i.scores ?? {})));
    const cells: [number, number, number][] = [];
    items.forEach((it, y) => {
      indicators.forEach((c, x) => {
        const v = it.scores?.[c];
        if (v !== null && v !== undefined) cells.push([x, y, v]);
      });
    });
    return {
      tooltip: { position: 'top' },
      grid: { left: 150, right: 20, top: 10, bottom: 80 },
      xAxis: {
        type: 'category',
        data: indicators.map((c) => t(`evaluation.indicator.${c}` as 'evaluation.indicator.catalog')),
        axisLabel: { interval: 0, rotate: 30 },
        splitArea: { show: true },
      },
      yAxis: { type: 'category', data: items.map((i) => i.name), splitArea: { show: true } },
      visualMap: {
        min: 0,
        max: 100,
        calculable: false,
        orient: 'horizontal',
        left: 'center',
        bottom: 0,
        itemHeight: 120,
        inRange: { color: ['#f5222d', '#faad14', '#52c41a'] },
      },
      series: [
        { type: 'heatmap', name: t('cockpit.scoreMap'), data: cells, label: { show: true, fontSize: 10 } },
      ],
    };
  }, [d, t]);
  // each number opens the list behind it, filtered the same way (test/cockpit-drill.test.ts checks the totals match)
  const usageLink = d ? `/usage?from=${d.from}&to=${d.to}` : '/usage';
  const requestBox = d?.view === 'authority' ? 'all' : 'handled';
  // a department's own figures (its on-time rate, its quality trend) open lists of its own resources
  const ownOrg =
    d?.view === 'department' && d.overdue && !Array.isArray(d.overdue) ? d.overdue.orgId : undefined;
  const orgParam = (name: string) => (ownOrg ? `&${name}=${ownOrg}` : '');
  const onTimeLink = (timeliness?: 'onTime' | 'late') =>
    d
      ? `/requests?box=${requestBox}&dueFrom=${d.from}&dueTo=${d.to}${orgParam('providerOrgId')}${
          timeliness ? `&timeliness=${timeliness}` : ''
        }`
      : '/requests';
  const qualityLink = (from: string, to: string) =>
    `/quality?runsFrom=${from}&runsTo=${to}${orgParam('orgId')}`;
  const overdueRows: OverdueRow[] = Array.isArray(d?.overdue) ? d.overdue : d?.overdue ? [d.overdue] : [];
  const num = (n: number, to: string, testid?: string) => (
    <Link to={to} data-testid={testid}>
      {fmtNumber(n)}
    </Link>
  );
  const violationsCard = d && (
    <Card size="small" title={t('cockpit.violations')} data-testid="cockpit-violations">
      {!d.violationsApplicable ? (
        <Typography.Text type="secondary">{t('cockpit.violationsNotApplicable')}</Typography.Text>
      ) : (
        <Table<ViolationCount>
          size="small"
          pagination={false}
          rowKey="type"
          dataSource={d.violations}
          columns={[
            {
              title: t('violations.type'),
              render: (_, v) => (
                <>
                  {tEnum('violationType', v.type)}
                  <Typography.Text type="secondary"> {articleText(v.article, lang)}</Typography.Text>
                </>
              ),
            },
            {
              title: t('cockpit.total'),
              align: 'right',
              render: (_, v) =>
                num(v.n, `/violations?type=${v.type}&status=live`, `cockpit-violations-${v.type}`),
            },
          ]}
        />
      )}
    </Card>
  );
  const title = d ? t(`cockpit.title.${d.view}` as Key) : t('menu.cockpit');
  return (
    <div data-testid="page-cockpit">
      <style>{PRINT_CSS}</style>
      <Card
        title={title}
        extra={
          <Space className="cockpit-no-print">
            <Select
              data-testid="cockpit-days"
              value={days}
              onChange={setDays}
              style={{ width: 130 }}
              options={[7, 30, 90, 365].map((n) => ({ value: n, label: t('cockpit.daysN', { n }) }))}
            />
            <Button
              icon={<DownloadOutlined />}
              href={`/api/cockpit/export.xlsx?days=${days}&lang=${lang}`}
              data-testid="cockpit-export"
            >
              {t('cockpit.export')}
            </Button>
            <Button icon={<PrinterOutlined />} onClick={() => window.print()} data-testid="cockpit-print">
              {t('cockpit.print')}
            </Button>
          </Space>
        }
      >
        <ErrorAlert error={c.error} />
        {d && (
          <Typography.Paragraph type="secondary">
            {t('cockpit.period')}
            {colon}
            {d.from} – {d.to}
          </Typography.Paragraph>
        )}
        <Typography.Paragraph className="cockpit-print-only">
          {t('cockpit.printedAt', { at: new Date().toLocaleString(lang === 'en' ? 'en-US' : 'zh-CN') })}
        </Typography.Paragraph>
        {d && (
          <Row gutter={[16, 16]}>
            <Col xs={24} sm={12} lg={6}>
              <Card size="small">
                <Statistic
                  title={t('cockpit.calls')}
                  valueRender={() => num(d.volume.calls, usageLink, 'cockpit-calls')}
                />
              </Card>
            </Col>
            <Col xs={24} sm={12} lg={6}>
              <Card size="small">
                <Statistic
                  title={t('cockpit.rowsServed')}
                  valueRender={() => num(d.volume.rowsServed, usageLink, 'cockpit-rows')}
                />
              </Card>
            </Col>
            {d.onTime && (
              <Col xs={24} sm={12} lg={6}>
                <Card size="small">
                  <Statistic
                    title={t('cockpit.onTime')}
                    valueRender={() => (
                      <Link to={onTimeLink()} data-testid="cockpit-ontime">
                        {d.onTime?.rate === null ? '—' : `${d.onTime?.rate}%`}
                      </Link>
                    )}
                  />
                  <Typography.Text type="secondary">
                    {t('cockpit.onTimeN')} {num(d.onTime.onTime, onTimeLink('onTime'), 'cockpit-ontime-n')} ·{' '}
                    {t('cockpit.lateN')} {num(d.onTime.late, onTimeLink('late'), 'cockpit-late-n')}
                  </Typography.Text>
                </Card>
              </Col>
            )}
            <Col xs={24} sm={12} lg={6}>
              <Card size="small">
                <Statistic
                  title={t('cockpit.violations')}
                  valueRender={() =>
                    num(
                      d.violations.reduce((s, v) => s + v.n, 0),
                      '/violations?status=live',
                      'cockpit-violations-total',
                    )
                  }
                />
              </Card>
            </Col>
            <Col xs={24} lg={12}>
              <Card size="small" title={t('cockpit.volumeByDay')}>
                <Suspense fallback={null}>
                  <EChart
                    option={volumeOption}
                    height={240}
                    testid="cockpit-volume-chart"
                    label={t('cockpit.volumeByDay')}
                  />
                </Suspense>
              </Card>
            </Col>
            {d.quality && (
              <Col xs={24} lg={12}>
                <Card
                  size="small"
                  title={t('cockpit.quality')}
                  extra={
                    d.quality.length > 0 && (
                      <Link
                        to={qualityLink(d.quality[0].from, d.quality[d.quality.length - 1].to)}
                        data-testid="cockpit-quality-all"
                      >
                        {t('cockpit.meanScore')}
                      </Link>
                    )
                  }
                >
                  <Suspense fallback={null}>
                    <EChart
                      option={qualityOption}
                      height={240}
                      testid="cockpit-quality-chart"
                      label={t('cockpit.quality')}
                    />
                  </Suspense>
                  {/* each month's point, as a link to the runs behind it (the chart's canvas has no links) */}
                  <Space wrap size={[12, 0]} data-testid="cockpit-quality-months">
                    {d.quality.map((q) => (
                      <Link
                        key={q.month}
                        to={qualityLink(q.from, q.to)}
                        data-testid={`cockpit-quality-${q.month}`}
                      >
                        {q.month}: {q.score}
                        <Typography.Text type="secondary">
                          {' '}
                          ({t('cockpit.runsN', { n: q.runs })})
                        </Typography.Text>
                      </Link>
                    ))}
                  </Space>
                </Card>
              </Col>
            )}
            {d.view !== 'auditor' && (
              <Col xs={24} lg={d.view === 'authority' ? 14 : 12}>
                <Card size="small" title={t('cockpit.overdue')} data-testid="cockpit-overdue">
                  <Table<OverdueRow>
                    size="small"
                    rowKey="orgId"
                    pagination={false}
                    scroll={{ y: 320 }}
                    dataSource={overdueRows}
                    columns={[
                      { title: t('cockpit.department'), dataIndex: 'name' },
                      {
                        title: t('cockpit.requestsLate'),
                        align: 'right',
                        render: (_, o) =>
                          num(
                            o.requestsLate,
                            `/requests?box=${requestBox}&overdue=1&orgId=${o.orgId}`,
                            `cockpit-requests-${o.orgId}`,
                          ),
                      },
                      {
                        title: t('cockpit.dataStale'),
                        align: 'right',
                        render: (_, o) =>
                          num(
                            o.dataStale,
                            `/ingest?tab=freshness&overdue=1&orgId=${o.orgId}`,
                            `cockpit-stale-${o.orgId}`,
                          ),
                      },
                      {
                        title: t('cockpit.dutiesLate'),
                        align: 'right',
                        render: (_, o) =>
                          num(
                            o.dutiesLate,
                            `/duties?status=open&overdue=1&orgId=${o.orgId}`,
                            `cockpit-duties-${o.orgId}`,
                          ),
                      },
                      {
                        title: t('cockpit.violations'),
                        align: 'right',
                        render: (_, o) =>
                          num(
                            o.violations,
                            `/violations?orgId=${o.orgId}&status=live`,
                            `cockpit-org-${o.orgId}`,
                          ),
                      },
                    ]}
                  />
                </Card>
              </Col>
            )}
            {d.view === 'authority' && (
              <Col xs={24} lg={10}>
                <Card
                  size="small"
                  title={t('cockpit.ranking')}
                  extra={d.ranking && <Link to="/evaluation">{d.ranking.run.period}</Link>}
                  data-testid="cockpit-ranking"
                >
                  {d.ranking?.items.length ? (
                    <Suspense fallback={null}>
                      <EChart
                        label={t('cockpit.ranking')}
                        option={rankingOption}
                        height={Math.max(240, d.ranking.items.length * 22)}
                        testid="cockpit-ranking-chart"
                      />
                    </Suspense>
                  ) : (
                    <Empty description={t('cockpit.noRanking')} />
                  )}
                </Card>
              </Col>
            )}
            {d.view === 'authority' && d.ranking?.items.length ? (
              <Col xs={24}>
                <Card
                  size="small"
                  title={t('cockpit.scoreMap')}
                  extra={<Link to="/evaluation">{d.ranking.run.period}</Link>}
                  data-testid="cockpit-score-map"
                >
                  <Suspense fallback={null}>
                    <EChart
                      label={t('cockpit.scoreMap')}
                      option={scoreMap}
                      height={Math.max(260, d.ranking.items.length * 22 + 100)}
                      testid="cockpit-score-map-chart"
                    />
                  </Suspense>
                </Card>
              </Col>
            ) : null}
            {d.view === 'department' && (
              <Col xs={24} lg={12}>
                <Card size="small" title={t('cockpit.scorecard')} data-testid="cockpit-scorecard">
                  {d.scorecard ? (
                    <>
                      <Statistic
                        title={`${d.scorecard.run.period}`}
                        valueRender={() => <Link to="/evaluation">{d.scorecard?.total ?? '—'}</Link>}
                      />
                      {d.scorecard.rank && (
                        <Typography.Paragraph>
                          {t('cockpit.rank', { rank: d.scorecard.rank, n: d.scorecard.departments })}
                        </Typography.Paragraph>
                      )}
                      <Table
                        size="small"
                        rowKey="indicator"
                        pagination={false}
                        dataSource={d.scorecard.indicators}
                        columns={[
                          {
                            title: t('violations.type'),
                            render: (_, i) => t(`evaluation.indicator.${i.indicator}` as Key),
                          },
                          {
                            title: t('cockpit.scorecard'),
                            align: 'right',
                            render: (_, i) => (i.score === null ? '—' : i.score),
                          },
                        ]}
                      />
                    </>
                  ) : (
                    <Empty description={t('cockpit.noRanking')} />
                  )}
                </Card>
              </Col>
            )}
            {d.todo && (
              <Col xs={24} lg={12}>
                <Card size="small" title={t('cockpit.todo')} data-testid="cockpit-todo">
                  {d.todo.length === 0 ? (
                    <Typography.Text type="secondary">{t('cockpit.todoNone')}</Typography.Text>
                  ) : (
                    d.todo.map((w) => (
                      <div key={w.kind}>
                        {t(`work.kind.${w.kind}` as Key)}
                        {colon}
                        {num(w.n, '/')}
                        {w.overdue > 0 && (
                          <Typography.Text type="danger">
                            {' '}
                            {t('cockpit.overdueN', { n: w.overdue })}
                          </Typography.Text>
                        )}
                      </div>
                    ))
                  )}
                </Card>
              </Col>
            )}
            {d.alerts && (
              <Col xs={24} lg={12}>
                <Card size="small" title={t('cockpit.alerts')} data-testid="cockpit-alerts">
                  <Table
                    size="small"
                    pagination={false}
                    rowKey={(a) => `${a.rule}-${a.status}`}
                    dataSource={d.alerts}
                    columns={[
                      { title: t('violations.type'), render: (_, a) => tEnum('alertRule', a.rule) },
                      { title: t('violations.status'), render: (_, a) => tEnum('alertStatus', a.status) },
                      {
                        title: t('cockpit.total'),
                        align: 'right',
                        render: (_, a) =>
                          num(
                            a.n,
                            `/security-alerts?rule=${a.rule}&status=${a.status}`,
                            `cockpit-alerts-${a.rule}-${a.status}`,
                          ),
                      },
                    ]}
                  />
                </Card>
              </Col>
            )}
            <Col xs={24} lg={12}>
              {violationsCard}
            </Col>
            {d.violationsByOrg && d.violationsByOrg.length > 0 && (
              <Col xs={24} lg={12}>
                <Card size="small" title={t('cockpit.overdue')}>
                  {d.violationsByOrg.map((o) => (
                    <div key={o.orgId}>
                      {o.name}
                      {colon}
                      {num(o.n, `/violations?orgId=${o.orgId}&status=live`)}
                    </div>
                  ))}
                </Card>
              </Col>
            )}
          </Row>
        )}
        {d && d.view === 'authority' && !d.ranking && (
          <Alert type="info" style={{ marginTop: 12 }} message={t('cockpit.noRanking')} />
        )}
      </Card>
      <Button className="cockpit-no-print" type="link" onClick={() => navigate('/')}>
        {t('app.backHome')}
      </Button>
    </div>
  );
}
