import dayjs from 'dayjs';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'react';

echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

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
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);

  useEffect(() => {
    if (!ref.current) return;
    const c = echarts.init(ref.current);
    chart.current = c;
    const onResize = () => c.resize();
    window.addEventListener('resize', onResize);
    return () => {
      window.removeEventListener('resize', onResize);
      c.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const days = fillDays(data, 14);
    chart.current?.setOption(
      {
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
      },
      true,
    );
  }, [data, seriesName]);

  return <div ref={ref} data-testid="calls-chart" style={{ width: '100%', height }} />;
}
