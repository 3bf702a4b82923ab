import {
  App,
  Button,
  Card,
  Descriptions,
  Drawer,
  Empty,
  Form,
  Input,
  InputNumber,
  List,
  Modal,
  Popconfirm,
  Select,
  Space,
  Switch,
  Table,
  Tabs,
  Tag,
  Typography,
} from 'antd';
import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { api, errorText, post } from '../shared/api.js';
import { hasRole, useAuth } from '../shared/auth.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtNumber, fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import { INDICATORS } from './indicators.js';

const EChart = lazy(() => import('../shared/EChart.js'));

interface Run {
  id: number;
  period: string;
  periodKind: 'quarter' | 'year';
  status: string;
  computedAt: string | null;
  publishedAt: string | null;
  onPortal: boolean;
}
interface IndicatorScore {
  indicator: string;
  weight: number;
  value: number | null;
  score: number | null;
}
interface RunDetail extends Run {
  canPublish: boolean;
  canSetPortal: boolean;
  ranking: {
    org: { id: number; name: string; shortName: string };
    total: number;
    rank: number;
    own: boolean;
    indicators: IndicatorScore[];
  }[];
}
interface OrgResult {
  org: { id: number; name: string };
  total: number;
  rank: number;
  indicators: (IndicatorScore & {
    counts: Record<string, number>;
    refs: { kind: string; items: { id: number; label: string | null }[] }[];
  })[];
}
interface Check {
  id: number;
  kind: string;
  seed: string;
  population: number;
  drawn: { id: number; name: string | null }[];
  drawnAt: string;
  status: string;
  outcome: string | null;
  note: string | null;
}

function periodsToOffer(): string[] {
  const now = new Date();
  const y = now.getFullYear();
  const q = Math.floor(now.getMonth() / 3) + 1;
  const out: string[] = [];
  for (let i = 0; i < 6; i++) {
    const qq = ((((q - 1 - i) % 4) + 4) % 4) + 1;
    const yy = y + Math.floor((q - 1 - i) / 4);
    out.push(`${yy}-Q${qq}`);
  }
  out.push(String(y), String(y - 1));
  return out;
}

/** 考核评估 (issue 12 point 5; DG Art 35–36, SY Art 12): ranking, evidence, publication and random checks. */
export default function Evaluation() {
  const { t } = useI18n();
  const { me } = useAuth();
  const staff = me?.user.org.kind === 'authority' && hasRole(me, 'authority_reviewer', 'platform_admin');
  const seesChecks = staff || hasRole(me, 'auditor');
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }} data-testid="page-evaluation">
      <div>
        <Typography.Title level={3} style={{ marginBottom: 4 }}>
          {t('evaluation.title')}
        </Typography.Title>
        <Typography.Text type="secondary">{t('evaluation.hint')}</Typography.Text>
      </div>
      <Tabs
        items={[
          {
            key: 'runs',
            label: t('evaluation.runs'),
            children: <Runs staff={!!staff} seesAll={!!seesChecks} />,
          },
          ...(seesChecks
            ? [{ key: 'checks', label: t('evaluation.checks'), children: <Checks staff={!!staff} /> }]
            : []),
          { key: 'model', label: t('evaluation.model'), children: <Model /> },
        ]}
      />
    </Space>
  );
}

function Runs({ staff, seesAll }: { staff: boolean; seesAll: boolean }) {
  const { t, tEnum } = useI18n();
  const { message } = App.useApp();
  const { lang, paren } = useI18n();
  const runs = useAsync(() => api<{ items: Run[] }>('/api/evaluation/runs'), []);
  const [selected, setSelected] = useState<number>();
  const [period, setPeriod] = useState(periodsToOffer()[0]);
  const [drill, setDrill] = useState<number>();
  const current = selected ?? runs.data?.items.find((r) => r.status !== 'queued')?.id;
  const currentStatus = runs.data?.items.find((r) => r.id === current)?.status;
  const detail = useAsync(
    () => (current ? api<RunDetail>(`/api/evaluation/runs/${current}`) : Promise.resolve(undefined)),
    [current, currentStatus],
  );
  // a queued run is computed by a job: look again every 2 s while one waits (re-armed by every answer, so a job that
  // takes longer than one look is still seen finishing)
  const runList = runs.data;
  useEffect(() => {
    if (!runList?.items.some((r) => r.status === 'queued')) return;
    const h = setTimeout(runs.reload, 2000);
    return () => clearTimeout(h);
  }, [runList, runs.reload]);
  const d = detail.data;
  const bar = useMemo(
    () =>
      d && {
        tooltip: { trigger: 'axis' },
        grid: { left: 48, right: 16, top: 16, bottom: 64 },
        xAxis: {
          type: 'category',
          data: d.ranking.map((r) => r.org.shortName),
          axisLabel: { rotate: 40, interval: 0 },
        },
        yAxis: { type: 'value', max: 100 },
        series: [
          {
            name: t('evaluation.total'),
            type: 'bar',
            data: d.ranking.map((r) => ({
              value: r.total,
              itemStyle: { color: r.own ? '#fa8c16' : '#5b8ff9' },
            })),
          },
        ],
      },
    [d, t],
  );
  const start = async () => {
    try {
      const r = await post<{ id: number }>('/api/evaluation/runs', { period });
      setSelected(r.id);
      runs.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const publish = async () => {
    if (!d) return;
    try {
      await post(`/api/evaluation/runs/${d.id}/publish`);
      message.success(t('evaluation.published'));
      runs.reload();
      detail.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const setPortal = async (onPortal: boolean) => {
    if (!d) return;
    try {
      await post(`/api/evaluation/runs/${d.id}/portal`, { onPortal });
      message.success(t(onPortal ? 'evaluation.portalOn' : 'evaluation.portalOff'));
      runs.reload();
      detail.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Card size="small">
        <Space wrap>
          <Select
            style={{ width: 280 }}
            value={current}
            placeholder={t('evaluation.runs')}
            onChange={setSelected}
            data-testid="evaluation-run-select"
            options={runs.data?.items.map((r) => ({
              value: r.id,
              label: `${r.period}${paren(tEnum('evaluation.periodKind', r.periodKind))}· ${tEnum('evaluation.status', r.status)}`,
            }))}
          />
          {staff && (
            <>
              <Select
                style={{ width: 140 }}
                value={period}
                onChange={setPeriod}
                options={periodsToOffer().map((p) => ({ value: p, label: p }))}
              />
              <Button type="primary" onClick={start} data-testid="evaluation-start">
                {t('evaluation.run')}
              </Button>
            </>
          )}
          {d?.canPublish && (
            <Popconfirm title={t('evaluation.publishConfirm')} onConfirm={publish}>
              <Button data-testid="evaluation-publish">{t('evaluation.publish')}</Button>
            </Popconfirm>
          )}
          {d?.canSetPortal && (
            <Space size={6}>
              <Switch
                checked={d.onPortal}
                onChange={setPortal}
                aria-label={t('evaluation.portal')}
                data-testid="evaluation-portal"
              />
              {t('evaluation.portal')}
            </Space>
          )}
          {d && (
            <Tag color={d.status === 'published' ? 'green' : 'orange'}>
              {tEnum('evaluation.status', d.status)}
            </Tag>
          )}
        </Space>
      </Card>
      <ErrorAlert error={runs.error ?? detail.error} />
      {!d ? (
        <Empty description={t('evaluation.none')} />
      ) : (
        <>
          <Card size="small">
            {bar && (
              <Suspense fallback={null}>
                <EChart option={bar} height={300} testid="evaluation-bar" label={t('evaluation.ranking')} />
              </Suspense>
            )}
          </Card>
          <div data-testid="evaluation-ranking">
            <Table
              size="small"
              rowKey={(r) => r.org.id}
              dataSource={d.ranking}
              pagination={false}
              scroll={{ x: 1100 }}
              columns={[
                { title: t('evaluation.rank'), dataIndex: 'rank', width: 70 },
                {
                  title: t('evaluation.org'),
                  render: (_, r) => (
                    <Space>
                      {r.org.name}
                      {r.own && <Tag color="orange">{t('evaluation.own')}</Tag>}
                    </Space>
                  ),
                },
                {
                  title: t('evaluation.total'),
                  dataIndex: 'total',
                  width: 90,
                  render: (v: number) => <b>{v}</b>,
                },
                ...INDICATORS.filter((c) => d.ranking[0]?.indicators.some((i) => i.indicator === c)).map(
                  (c) => ({
                    title: t(`evaluation.indicator.${c}`),
                    key: c,
                    render: (_: unknown, r: RunDetail['ranking'][number]) => {
                      const s = r.indicators.find((i) => i.indicator === c)?.score;
                      return s === null || s === undefined ? '—' : s;
                    },
                  }),
                ),
                {
                  title: t('evaluation.evidence'),
                  render: (_, r) =>
                    seesAll || r.own ? (
                      <Button size="small" type="link" onClick={() => setDrill(r.org.id)}>
                        {t('evaluation.evidence')}
                      </Button>
                    ) : null,
                },
              ]}
            />
          </div>
        </>
      )}
      <Drawer
        width={720}
        open={drill !== undefined}
        onClose={() => setDrill(undefined)}
        title={t('evaluation.evidence')}
        destroyOnClose
      >
        {d && drill !== undefined && <Evidence runId={d.id} orgId={drill} />}
      </Drawer>
    </Space>
  );
}

function Evidence({ runId, orgId }: { runId: number; orgId: number }) {
  const { t, tEnum, colon, paren } = useI18n();
  const r = useAsync(() => api<OrgResult>(`/api/evaluation/runs/${runId}/orgs/${orgId}`), [runId, orgId]);
  if (r.error) return <ErrorAlert error={r.error} />;
  if (!r.data) return null;
  const x = r.data;
  return (
    <Space direction="vertical" style={{ width: '100%' }} data-testid="evaluation-evidence">
      <Descriptions size="small" column={3} bordered>
        <Descriptions.Item label={t('evaluation.org')}>{x.org.name}</Descriptions.Item>
        <Descriptions.Item label={t('evaluation.total')}>{x.total}</Descriptions.Item>
        <Descriptions.Item label={t('evaluation.rank')}>{x.rank}</Descriptions.Item>
      </Descriptions>
      {x.indicators.map((i) => (
        <Card
          key={i.indicator}
          size="small"
          title={tEnum('evaluation.indicator', i.indicator)}
          extra={
            <Space>
              <span>
                {t('evaluation.weight')} {i.weight}
              </span>
              <Tag color={i.score === null ? 'default' : 'blue'}>
                {i.score === null ? t('evaluation.notApplicable') : `${t('evaluation.score')} ${i.score}`}
              </Tag>
            </Space>
          }
        >
          <Space wrap>
            {Object.entries(i.counts).map(([k, v]) => (
              <Tag key={k}>
                {tEnum('evaluation.count', k)}
                {colon}
                {fmtNumber(v)}
              </Tag>
            ))}
          </Space>
          {i.refs
            .filter((ref) => ref.items.length > 0)
            .map((ref) => (
              <List
                key={ref.kind}
                size="small"
                header={
                  <Typography.Text type="secondary">
                    {tEnum('evaluation.ref', ref.kind)}
                    {paren(t('evaluation.refsBounded'))}
                  </Typography.Text>
                }
                dataSource={ref.items}
                renderItem={(it) => <List.Item>{it.label ?? `#${it.id}`}</List.Item>}
              />
            ))}
        </Card>
      ))}
    </Space>
  );
}

function Checks({ staff }: { staff: boolean }) {
  const { t, tEnum, lang } = useI18n();
  const { message } = App.useApp();
  const list = useAsync(() => api<{ items: Check[] }>('/api/evaluation/checks'), []);
  const [recording, setRecording] = useState<Check>();
  const [form] = Form.useForm();
  const [drawForm] = Form.useForm();
  const drawNow = async (v: { kind: string; count: number; seed?: string }) => {
    try {
      await post('/api/evaluation/checks', { kind: v.kind, count: v.count, seed: v.seed || undefined });
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const record = async (v: { outcome: string; note?: string }) => {
    if (!recording) return;
    try {
      await post(`/api/evaluation/checks/${recording.id}/result`, {
        outcome: v.outcome,
        note: v.note || undefined,
      });
      setRecording(undefined);
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      {staff && (
        <Card size="small">
          <Form
            form={drawForm}
            layout="inline"
            onFinish={drawNow}
            initialValues={{ kind: 'department', count: 3 }}
          >
            <Form.Item name="kind" label={t('evaluation.checks')}>
              <Select
                style={{ width: 120 }}
                options={['department', 'resource'].map((k) => ({
                  value: k,
                  label: tEnum('evaluation.checkKind', k),
                }))}
              />
            </Form.Item>
            <Form.Item name="count" label={t('evaluation.checkCount')}>
              <InputNumber min={1} max={50} />
            </Form.Item>
            <Form.Item name="seed" label={t('evaluation.checkSeed')}>
              <Input style={{ width: 160 }} maxLength={64} />
            </Form.Item>
            <Button htmlType="submit" type="primary">
              {t('evaluation.checkDraw')}
            </Button>
          </Form>
        </Card>
      )}
      <ErrorAlert error={list.error} />
      <Table
        size="small"
        rowKey="id"
        dataSource={list.data?.items ?? []}
        columns={[
          {
            title: t('evaluation.checks'),
            render: (_, c) => tEnum('evaluation.checkKind', c.kind),
            width: 90,
          },
          { title: t('evaluation.checkSeed'), dataIndex: 'seed', width: 160 },
          { title: t('evaluation.checkPopulation'), dataIndex: 'population', width: 80 },
          {
            title: t('evaluation.checkDrawn'),
            render: (_, c) => c.drawn.map((d) => d.name ?? `#${d.id}`).join(t('punct.list')),
          },
          { title: t('evaluation.checkDrawnAt'), render: (_, c) => fmtTime(c.drawnAt), width: 160 },
          {
            title: t('evaluation.checkOutcome'),
            render: (_, c) =>
              c.status === 'recorded' ? (
                <Space direction="vertical" size={0}>
                  <Tag color={c.outcome === 'pass' ? 'green' : 'red'}>
                    {tEnum('evaluation.checkOutcome', c.outcome)}
                  </Tag>
                  {c.note && <Typography.Text type="secondary">{c.note}</Typography.Text>}
                </Space>
              ) : staff ? (
                <Button size="small" onClick={() => setRecording(c)}>
                  {t('evaluation.checkRecord')}
                </Button>
              ) : (
                <Tag>{t('evaluation.checkPending')}</Tag>
              ),
          },
        ]}
      />
      <Modal
        open={!!recording}
        title={t('evaluation.checkRecord')}
        onCancel={() => setRecording(undefined)}
        onOk={() => form.submit()}
        destroyOnClose
      >
        <Form form={form} layout="vertical" onFinish={record} initialValues={{ outcome: 'pass' }}>
          <Form.Item name="outcome" label={t('evaluation.checkOutcome')}>
            <Select
              options={['pass', 'issues'].map((o) => ({
                value: o,
                label: tEnum('evaluation.checkOutcome', o),
              }))}
            />
          </Form.Item>
          <Form.Item name="note" label={t('evaluation.checkNote')}>
            <Input.TextArea maxLength={2000} rows={3} />
          </Form.Item>
        </Form>
      </Modal>
    </Space>
  );
}

function Model() {
  const { t, tEnum } = useI18n();
  const m = useAsync(
    () => api<{ name: string; indicators: { code: string; weight: number }[] }>('/api/evaluation/model'),
    [],
  );
  if (!m.data) return <ErrorAlert error={m.error} />;
  return (
    <Card size="small" title={m.data.name}>
      <Table
        size="small"
        rowKey="code"
        pagination={false}
        dataSource={m.data.indicators}
        columns={[
          { title: t('evaluation.model'), render: (_, i) => tEnum('evaluation.indicator', i.code) },
          { title: t('evaluation.weight'), dataIndex: 'weight' },
        ]}
      />
    </Card>
  );
}
