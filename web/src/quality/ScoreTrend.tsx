import { useMemo } from 'react';
import EChart, { type EChartOption } from '../shared/EChart.js';

/** A resource's quality score per run, oldest first (0–100). */
export default function ScoreTrend({
  runs,
  seriesName,
  height = 240,
}: {
  runs: { id: number; at: string; score: number }[];
  seriesName: string;
  height?: number;
}) {
  const option = useMemo<EChartOption>(
    () => ({
      animation: false,
      tooltip: { trigger: 'axis' },
      grid: { left: 40, right: 24, top: 16, bottom: 32 },
      xAxis: {
        type: 'category',
        data: runs.map((r) => {
          const d = new Date(r.at);
          return `${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')} ${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
        }),
      },
      yAxis: { type: 'value', min: (v: { min: number }) => Math.max(0, Math.floor(v.min - 5)), max: 100 },
      series: [
        {
          name: seriesName,
          type: 'line',
          data: runs.map((r) => r.score),
          smooth: true,
          symbolSize: 6,
          itemStyle: { color: '#5b8ff9' },
          areaStyle: { opacity: 0.08 },
        },
      ],
    }),
    [runs, seriesName],
  );
  return <EChart option={option} height={height} testid="quality-trend" label={seriesName} />;
}
