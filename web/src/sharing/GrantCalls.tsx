import { Typography } from 'antd';
import { lazy, Suspense, useMemo } from 'react';
import { fmtNumber } from '../shared/format.js';
import { useI18n } from '../shared/i18n.js';

const EChart = lazy(() => import('../shared/EChart.js'));

export interface GrantUsage {
  from: string;
  to: string;
  days: string[];
  items: { grantId: number; calls: number[]; denied: number[]; total: number; totalDenied: number }[];
  /** each active grant's calls and verifications counted against its daily quotas today */
  today?: { grantId: number; calls: number; verifications: number; epsilon?: number }[];
  /** the platform's quotas for a grant that sets none of its own */
  quotaDefaults?: {
    callsPerDay: number;
    rowsPerCall: number;
    verificationsPerDay: number;
    exportRowsPerDay: number;
    /** the privacy budget of noisy aggregate answers, epsilon per grant and day */
    epsilonPerDay?: number;
  };
}

/**
 * A grant's daily calls and refusals over the last 30 days (issue 9 point 9: per-app call charts on the grants page),
 * from GET /api/usage/grants: bars for calls, a red line for refusals.
 */
export function GrantCallsChart({
  grantId,
  app,
  usage,
}: {
  grantId: number;
  app: string;
  usage: GrantUsage | undefined;
}) {
  const { t } = useI18n();
  const u = usage?.items.find((x) => x.grantId === grantId);
  const option = useMemo(
    () =>
      u &&
      usage && {
        tooltip: { trigger: 'axis' },
        grid: { left: 2, right: 2, top: 4, bottom: 2 },
        xAxis: { type: 'category', show: false, data: usage.days },
        yAxis: { type: 'value', show: false, minInterval: 1 },
        series: [
          { name: t('usage.calls'), type: 'bar', data: u.calls, itemStyle: { color: '#5b8ff9' } },
          {
            name: t('usage.denied'),
            type: 'line',
            data: u.denied,
            symbol: 'none',
            lineStyle: { color: '#f5222d', width: 1 },
          },
        ],
      },
    [u, usage, t],
  );
  if (!usage) return null;
  if (!u || !option)
    return (
      <Typography.Text type="secondary" data-testid={`grant-calls-none-${grantId}`}>
        {t('grant.noCalls')}
      </Typography.Text>
    );
  return (
    <div style={{ width: 180 }} data-testid={`grant-calls-${grantId}`}>
      <Suspense fallback={null}>
        <EChart option={option} height={48} label={t('grant.callsChart', { app })} />
      </Suspense>
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {t('grant.callsTotal', { n: fmtNumber(u.total), m: fmtNumber(u.totalDenied) })}
      </Typography.Text>
    </div>
  );
}
