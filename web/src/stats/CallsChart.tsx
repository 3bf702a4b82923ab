import dayjs from 'dayjs';
import { useMemo } from 'react';
import EChart, { type EChartOption } from '../shared/EChart.js';

export interface CallsChartProps {
  data: { date: string; count: number }[];
  seriesName: string;
  height?: number;
}

/** The last `days` days ending today, with the server's counts and 0 for days it does not list. */
function fillDays(data: { date: string; count: number }[], days: number): { date: string; count: number }[] {
  const byDate = new Map(data.map((d) => [d.date.slice(0, 10), d.count]));
  const first = data.length ? data.map((d) => d.date.slice(0, 10)).sort()[0] : null;
  const start = dayjs().subtract(days - 1, 'day');
  const from = first && dayjs(first).isBefore(start) ? dayjs(first) : start;
  const out: { date: string; count: number }[] = [];
  for (let d = from; !d.isAfter(dayjs(), 'day'); d = d.add(1, 'day')) {
    const key = d.format('YYYY-MM-DD');
    out.push({ date: key, count: byDate.get(key) ?? 0 });
  }
  return out;
}

/** Daily data API calls: bars for the count, a line for its trend. */
export default function CallsChart({ data, seriesName, height = 320 }: CallsChartProps) {
  const option = useMemo<EChartOption>(() => {
    const days = fillDays(data, 14);
    return {
      animation: false,
      tooltip: { trigger: 'axis' },
      legend: { top: 0, data: [seriesName] },
      grid: { left: 48, right: 24, top: 40, bottom: 32 },
      xAxis: { type: 'category', data: days.map((d) => d.date.slice(5, 10)) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        { name: seriesName, type: 'bar', data: days.map((d) => d.count), itemStyle: { color: '#5b8ff9' } },
        {
          name: seriesName,
          type: 'line',
          smooth: true,
          data: days.map((d) => d.count),
          itemStyle: { color: '#f6903d' },
        },
      ],
    };
  }, [data, seriesName]);

  return <EChart option={option} height={height} testid="calls-chart" label={seriesName} />;
}
