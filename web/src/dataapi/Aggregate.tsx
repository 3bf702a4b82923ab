import { BarChartOutlined } from '@ant-design/icons';
import {
  Alert,
  Button,
  Card,
  Col,
  Form,
  Input,
  InputNumber,
  Row,
  Select,
  Space,
  Table,
  Typography,
} from 'antd';
import { useEffect, useMemo, useState } from 'react';
import { maskedForConsumer, measureNeedsNoise } from '../../../src/dataapi/mask-class.js';
import { ApiError, api } from '../shared/api.js';
import { useAuth } from '../shared/auth.js';
import { ErrorAlert } from '../shared/common.js';
import EChart, { type EChartOption } from '../shared/EChart.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { Grant, Resource } from '../shared/types.js';

/*
 * 统计查询 (usable but not visible, DG Art 33; issue 9 point 7): a consumer runs an aggregate over one of its grants the
 * way its app would (its API key in X-Api-Key, the grant's purpose id in X-Purpose) and sees a table and a bar chart.
 * Small cells never reach the browser: the server suppresses them.
 */

type Fn = 'count' | 'sum' | 'avg' | 'min' | 'max';
/** the ε the panel offers when a measure needs noise (within the server's AGGREGATE_EPSILON_MIN … 10) */
const OFFERED_EPSILON = 1;
interface AggregateAnswer {
  groupBy: string[];
  measures: { fn: Fn; field?: string; key: string }[];
  cells: { group: Record<string, unknown>; values: Record<string, unknown> }[];
  suppressedCells: number;
  minCell: number;
  noise: {
    mechanism: string;
    epsilon: number;
    budget?: { perDay: number; spentToday: number; remaining: number };
  } | null;
}
interface FormValues {
  grantId: number;
  apiKey: string;
  fn: Fn;
  field?: string;
  groupBy?: string;
  epsilon?: number | null;
}

function Bars({ labels, values, name }: { labels: string[]; values: number[]; name: string }) {
  const option = useMemo<EChartOption>(
    () => ({
      animation: false,
      tooltip: { trigger: 'axis' },
      grid: { left: 64, right: 24, top: 24, bottom: 48 },
      xAxis: {
        type: 'category',
        data: labels,
        axisLabel: { interval: 0, rotate: labels.length > 8 ? 30 : 0 },
      },
      yAxis: { type: 'value' },
      series: [{ name, type: 'bar', data: values, itemStyle: { color: '#5b8ff9' } }],
    }),
    [labels, values, name],
  );
  return <EChart option={option} height={300} testid="agg-chart" label={name} />;
}

export default function AggregatePanel({ initialKey }: { initialKey: string }) {
  const { t, tEnum, lang, paren } = useI18n();
  const { me } = useAuth();
  const [form] = Form.useForm<FormValues>();
  const grants = useAsync(() => api<Grant[]>('/api/sharing/grants'), []);
  // the consumer's own active grants; aggregate-only ones first
  const mine = useMemo(
    () =>
      (grants.data ?? [])
        .filter((g) => g.status === 'active' && g.consumerOrg.id === me?.user.org.id)
        .sort((a, b) => Number(b.accessMode === 'aggregate') - Number(a.accessMode === 'aggregate')),
    [grants.data, me],
  );
  const grantId = Form.useWatch('grantId', form);
  const fn = Form.useWatch('fn', form);
  const grant = mine.find((g) => g.id === grantId) ?? null;
  const [resource, setResource] = useState<Resource | null>(null);
  useEffect(() => {
    setResource(null);
    if (grant) api<Resource>(`/api/catalog/resources/${grant.resource.id}`).then(setResource, () => {});
  }, [grant]);
  useEffect(() => {
    if (initialKey) form.setFieldValue('apiKey', initialKey);
  }, [initialKey, form]);

  const granted = (resource?.fields ?? []).filter((f) => grant?.fields.includes(f.code));
  // the server's rules (src/dataapi/mask-class.ts, shared with src/dataapi/aggregate.ts): a masked field is no dimension
  // and has no min/max; its exact sum or average is refused, so those are asked with noise
  const dimensions = granted.filter((f) => !maskedForConsumer(f) && f.type !== 'decimal');
  const measured = granted.filter((f) =>
    fn === 'sum' || fn === 'avg'
      ? f.type === 'integer' || f.type === 'decimal'
      : (f.type === 'integer' || f.type === 'decimal' || f.type === 'date') && !maskedForConsumer(f),
  );
  const nameOf = (code: string) => granted.find((f) => f.code === code)?.name ?? code;
  const fieldCode = Form.useWatch('field', form);
  const epsilon = Form.useWatch('epsilon', form);
  const measuredField = fn && fn !== 'count' ? granted.find((f) => f.code === fieldCode) : undefined;
  const needsNoise = !!fn && measureNeedsNoise(fn, measuredField);

  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [answer, setAnswer] = useState<AggregateAnswer | null>(null);

  async function run(v: FormValues) {
    if (!grant) return;
    // the form's own rule asks for ε first; never send a call the server would refuse for want of noise
    if (
      measureNeedsNoise(
        v.fn,
        granted.find((f) => f.code === v.field),
      ) &&
      !v.epsilon
    )
      return;
    setBusy(true);
    setError(null);
    try {
      const res = await fetch(`/api/v1/data/${encodeURIComponent(grant.resource.code)}/aggregate`, {
        method: 'POST',
        headers: {
          'X-Api-Key': v.apiKey.trim(),
          'X-Purpose': grant.purposeId,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        credentials: 'omit',
        body: JSON.stringify({
          measures: [v.fn === 'count' ? { fn: 'count' } : { fn: v.fn, field: v.field }],
          groupBy: v.groupBy ? [v.groupBy] : [],
          ...(v.epsilon ? { noise: { epsilon: v.epsilon } } : {}),
        }),
      });
      const body = await res.json();
      if (!res.ok) {
        setAnswer(null);
        setError(new ApiError(res.status, body.code, body.message, body.messageEn, body.details ?? []));
      } else setAnswer(body);
    } catch (e) {
      setError(e);
      setAnswer(null);
    } finally {
      setBusy(false);
    }
  }

  const key = answer?.measures[0]?.key ?? 'count';
  const rows = (answer?.cells ?? []).map((c, i) => ({
    id: i,
    label: answer?.groupBy.length
      ? answer.groupBy.map((g) => String(c.group[g] ?? '—')).join(' / ')
      : t('agg.total'),
    value: c.values[key] as number | string | null,
  }));
  const measureName = answer
    ? `${tEnum('aggFn', answer.measures[0].fn)}${answer.measures[0].field ? `${paren(nameOf(answer.measures[0].field))}` : ''}`
    : '';

  return (
    <Card
      title={
        <Space>
          <BarChartOutlined />
          {t('agg.title')}
        </Space>
      }
      style={{ marginTop: 16 }}
      data-testid="agg-panel"
    >
      <Typography.Paragraph type="secondary">{t('agg.hint')}</Typography.Paragraph>
      <ErrorAlert error={grants.error} />
      {grants.data && mine.length === 0 ? <Alert type="info" showIcon title={t('agg.noGrant')} /> : null}
      <Form form={form} layout="vertical" onFinish={run} initialValues={{ fn: 'count', apiKey: initialKey }}>
        <Row gutter={16}>
          <Col xs={24} lg={8}>
            <Form.Item name="grantId" label={t('agg.grant')} rules={[{ required: true }]}>
              <Select
                data-testid="agg-grant"
                options={mine.map((g) => ({
                  value: g.id,
                  label: `${g.resource.name} · ${g.app.name} · ${tEnum('accessMode', g.accessMode)}`,
                }))}
                onChange={() => form.setFieldsValue({ field: undefined, groupBy: undefined })}
              />
            </Form.Item>
          </Col>
          <Col xs={24} lg={6}>
            <Form.Item name="apiKey" label={t('tester.key')} rules={[{ required: true }]}>
              <Input.Password data-testid="agg-key" visibilityToggle autoComplete="off" />
            </Form.Item>
          </Col>
          <Col xs={12} lg={4}>
            <Form.Item name="fn" label={t('agg.measure')} rules={[{ required: true }]}>
              <Select
                data-testid="agg-fn"
                options={(['count', 'sum', 'avg', 'min', 'max'] as const).map((f) => ({
                  value: f,
                  label: tEnum('aggFn', f),
                }))}
                onChange={() => form.setFieldValue('field', undefined)}
              />
            </Form.Item>
          </Col>
          <Col xs={12} lg={6}>
            <Form.Item
              name="field"
              label={t('agg.field')}
              rules={[{ required: fn !== undefined && fn !== 'count' }]}
            >
              <Select
                data-testid="agg-field"
                disabled={fn === 'count'}
                options={measured.map((f) => ({ value: f.code, label: f.name }))}
              />
            </Form.Item>
          </Col>
          <Col xs={12} lg={8}>
            <Form.Item name="groupBy" label={t('agg.groupBy')}>
              <Select
                data-testid="agg-group"
                allowClear
                placeholder={t('agg.total')}
                options={dimensions.map((f) => ({ value: f.code, label: f.name }))}
              />
            </Form.Item>
          </Col>
          <Col xs={12} lg={6}>
            <Form.Item
              name="epsilon"
              label={needsNoise ? t('agg.noiseNeededLabel') : t('agg.noise')}
              rules={[{ required: needsNoise, message: t('agg.noiseRequired') }]}
            >
              <InputNumber
                data-testid="agg-epsilon"
                min={0.1}
                max={10}
                step={0.1}
                style={{ width: '100%' }}
              />
            </Form.Item>
          </Col>
          <Col xs={24} lg={4}>
            <Form.Item label=" ">
              <Button data-testid="agg-run" type="primary" htmlType="submit" loading={busy} disabled={!grant}>
                {t('agg.run')}
              </Button>
            </Form.Item>
          </Col>
        </Row>
        {needsNoise && measuredField ? (
          <Alert
            data-testid="agg-noise-needed"
            type={epsilon ? 'info' : 'warning'}
            showIcon
            style={{ marginBottom: 16 }}
            title={t('agg.noiseNeeded', { field: measuredField.name, fn: tEnum('aggFn', fn) })}
            action={
              epsilon ? null : (
                <Button
                  size="small"
                  data-testid="agg-noise-enable"
                  onClick={() => form.setFields([{ name: 'epsilon', value: OFFERED_EPSILON, errors: [] }])}
                >
                  {t('agg.noiseEnable', { e: OFFERED_EPSILON })}
                </Button>
              )
            }
          />
        ) : null}
      </Form>
      <ErrorAlert error={error} />
      {answer ? (
        <div data-testid="agg-result">
          <Space direction="vertical" style={{ marginBottom: 8 }}>
            {answer.suppressedCells > 0 ? (
              <Typography.Text type="secondary" data-testid="agg-suppressed">
                {t('agg.suppressed', { n: answer.suppressedCells, k: answer.minCell })}
              </Typography.Text>
            ) : null}
            {answer.noise ? (
              <Typography.Text type="secondary">
                {t('agg.noised', { e: answer.noise.epsilon })}
              </Typography.Text>
            ) : null}
            {answer.noise?.budget ? (
              <Typography.Text type="secondary" data-testid="agg-budget">
                {t('agg.budget', {
                  spent: answer.noise.budget.spentToday,
                  perDay: answer.noise.budget.perDay,
                  left: answer.noise.budget.remaining,
                })}
              </Typography.Text>
            ) : null}
          </Space>
          {rows.length === 0 ? (
            <Alert type="info" showIcon title={t('agg.empty')} />
          ) : (
            <Row gutter={16}>
              <Col xs={24} lg={10}>
                <Table
                  data-testid="agg-table"
                  rowKey="id"
                  size="small"
                  dataSource={rows}
                  pagination={{ pageSize: 10, hideOnSinglePage: true }}
                  columns={[
                    {
                      title: answer.groupBy.length ? answer.groupBy.map(nameOf).join(' / ') : t('agg.group'),
                      dataIndex: 'label',
                    },
                    {
                      title: measureName || t('agg.value'),
                      dataIndex: 'value',
                      align: 'right',
                      render: (v: unknown) =>
                        typeof v === 'number'
                          ? v.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-US')
                          : String(v ?? '—'),
                    },
                  ]}
                />
              </Col>
              <Col xs={24} lg={14}>
                <Bars
                  labels={rows.map((r) => r.label)}
                  values={rows.map((r) => Number(r.value ?? 0))}
                  name={measureName}
                />
              </Col>
            </Row>
          )}
        </div>
      ) : null}
    </Card>
  );
}
