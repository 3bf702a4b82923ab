import { Card, Empty, Select, Space, Table, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { api } from '../shared/api.js';
import { ErrorAlert } from '../shared/common.js';
import EChart from '../shared/EChart.js';
import { fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import { INDICATORS } from './indicators.js';

/*
 * Evaluation results on the open portal (DG Art 36, SY Art 12; server: GET /api/open/evaluations): the runs the
 * authority chose to show, each department ranked by its total with its indicator scores. The evidence behind each
 * score stays in the console (page 考核评估).
 */

interface PortalRun {
  id: number;
  period: string;
  periodKind: 'quarter' | 'year';
  publishedAt: string | null;
  ranking: {
    org: { id: number; name: string; shortName: string | null };
    total: number;
    rank: number;
    indicators: { indicator: string; score: number | null }[];
  }[];
}

export default function PortalResults() {
  const { t, tEnum, paren } = useI18n();
  const runs = useAsync(() => api<{ items: PortalRun[] }>('/api/open/evaluations'), []);
  const [selected, setSelected] = useState<number>();
  const items = runs.data?.items ?? [];
  const run = items.find((r) => r.id === selected) ?? items[0];
  const bar = useMemo(
    () =>
      run && {
        tooltip: { trigger: 'axis' },
        grid: { left: 48, right: 16, top: 16, bottom: 72 },
        xAxis: {
          type: 'category',
          data: run.ranking.map((r) => r.org.shortName || r.org.name),
          axisLabel: { rotate: 40, interval: 0 },
        },
        yAxis: { type: 'value', max: 100 },
        series: [{ name: t('evaluation.total'), type: 'bar', data: run.ranking.map((r) => r.total) }],
      },
    [run, t],
  );
  const shown = INDICATORS.filter((c) => run?.ranking[0]?.indicators.some((i) => i.indicator === c));
  return (
    <Space direction="vertical" size={16} style={{ width: '100%' }} data-testid="portal-evaluations">
      <Typography.Title level={2} style={{ fontSize: 22, margin: 0 }}>
        {t('open.evaluations.title')}
      </Typography.Title>
      <Typography.Paragraph type="secondary" style={{ margin: 0 }}>
        {t('open.evaluations.hint')}
      </Typography.Paragraph>
      <ErrorAlert error={runs.error} />
      {!runs.loading && !run ? (
        <Empty description={t('open.evaluations.none')} />
      ) : run ? (
        <>
          <Space wrap>
            <Select
              style={{ width: 260 }}
              aria-label={t('evaluation.period')}
              value={run.id}
              onChange={setSelected}
              data-testid="portal-evaluation-period"
              options={items.map((r) => ({
                value: r.id,
                label: `${r.period}${paren(tEnum('evaluation.periodKind', r.periodKind))}`,
              }))}
            />
            {run.publishedAt && (
              <Typography.Text type="secondary">
                {t('evaluation.published')} {fmtTime(run.publishedAt)}
              </Typography.Text>
            )}
          </Space>
          <Card size="small">
            {bar && (
              <EChart
                option={bar}
                height={300}
                testid="portal-evaluation-bar"
                label={t('evaluation.ranking')}
              />
            )}
          </Card>
          <Table
            size="small"
            rowKey={(r) => r.org.id}
            dataSource={run.ranking}
            pagination={false}
            scroll={{ x: 900 }}
            data-testid="portal-evaluation-ranking"
            columns={[
              { title: t('evaluation.rank'), dataIndex: 'rank', width: 70 },
              { title: t('evaluation.org'), render: (_, r) => r.org.name },
              {
                title: t('evaluation.total'),
                dataIndex: 'total',
                width: 90,
                render: (v: number) => <b>{v}</b>,
              },
              ...shown.map((c) => ({
                title: t(`evaluation.indicator.${c}`),
                key: c,
                render: (_: unknown, r: PortalRun['ranking'][number]) => {
                  const s = r.indicators.find((i) => i.indicator === c)?.score;
                  return s === null || s === undefined ? '—' : s;
                },
              })),
            ]}
          />
        </>
      ) : null}
    </Space>
  );
}
