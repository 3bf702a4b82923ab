import {
  App,
  Button,
  Card,
  Col,
  Drawer,
  Empty,
  Form,
  Input,
  InputNumber,
  Modal,
  Row,
  Select,
  Space,
  Switch,
  Table,
  Tag,
  Typography,
} from 'antd';
import { lazy, Suspense, useState } from 'react';
import { api, errorText, post } from '../shared/api.js';
import { ErrorAlert, FlagFilterTag, OrgFilterTag, PersonalNotice } from '../shared/common.js';
import { fmtNumber, fmtTime } from '../shared/format.js';
import { useAsync, usePaging, useUrlFilters } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';

const ScoreTrend = lazy(() => import('./ScoreTrend.js'));

interface ScoreRow {
  resourceId: number;
  name: string;
  code: string;
  rowCount: number;
  provider: { id: number; name: string };
  lastRunId: number | null;
  score: number | null;
  rulesFailed: number | null;
  checkedAt: string | null;
  runs: number;
}
interface Rule {
  id: number;
  kind: string;
  fieldCode: string | null;
  params: {
    check?: string;
    values?: string[];
    min?: number;
    max?: number;
    resourceId?: number;
    fieldCode?: string;
  };
  threshold: number;
  weight: number;
  enabled: boolean;
  origin: string;
  partner?: { resourceName: string; fieldName: string | null } | null;
}
interface Rules {
  resource: { id: number; name: string };
  canEdit: boolean;
  fields: { code: string; name: string; type: string; validator: string | null }[];
  items: Rule[];
}
interface RunRule {
  id: number;
  ruleId: number;
  kind: string;
  fieldCode: string | null;
  checked: number;
  failing: number;
  kept: number;
  score: number;
  threshold: number;
  passed: boolean;
  detail: { nextDue?: string | null; daysOverdue?: number };
}
interface Run {
  id: number;
  trigger: string;
  at: string;
  rowCount: number;
  score: number;
  rulesFailed: number;
  rules: RunRule[];
}
interface Failures {
  total: number;
  failing: number;
  fieldName: string | null;
  items: { seq: number; key: string; value: unknown; stillPresent: boolean }[];
}

function ScoreTag({ score }: { score: number | null }) {
  const { t } = useI18n();
  if (score === null) return <Typography.Text type="secondary">{t('qc.never')}</Typography.Text>;
  const color = score >= 95 ? 'green' : score >= 80 ? 'orange' : 'red';
  return (
    <Tag color={color} data-testid="quality-score">
      {score.toFixed(2)}
    </Tag>
  );
}

function FailuresDrawer({
  runRule,
  fieldName,
  onClose,
}: {
  runRule: RunRule | null;
  fieldName: string;
  onClose: () => void;
}) {
  const { t } = useI18n();
  const paging = usePaging(20);
  const data = useAsync<Failures | null>(
    () =>
      runRule
        ? api<Failures>(`/api/quality/run-rules/${runRule.id}/failures`, {
            query: { page: paging.page, pageSize: paging.pageSize },
          })
        : Promise.resolve(null),
    [runRule?.id, paging.page, paging.pageSize],
  );
  return (
    <Drawer open={!!runRule} onClose={onClose} width={640} title={t('qc.failures')} destroyOnClose>
      <div data-testid="quality-failures">
        <PersonalNotice />
        {data.error ? <ErrorAlert error={data.error} /> : null}
        {data.data ? (
          <Typography.Paragraph type="secondary">
            {t('qc.failuresKept', {
              failing: fmtNumber(data.data.failing),
              kept: fmtNumber(data.data.total),
            })}
          </Typography.Paragraph>
        ) : null}
        <Table
          rowKey="seq"
          size="small"
          loading={data.loading}
          dataSource={data.data?.items ?? []}
          pagination={paging.pagination(data.data?.total, (n) => `${n}`)}
          columns={[
            {
              title: t('qc.recordKey'),
              dataIndex: 'key',
              render: (k: string) => <Typography.Text code>{k}</Typography.Text>,
            },
            ...(runRule?.fieldCode
              ? [
                  {
                    title: `${t('qc.currentValue')} · ${fieldName}`,
                    key: 'value',
                    render: (_: unknown, r: Failures['items'][number]) =>
                      r.stillPresent ? (
                        r.value === null || r.value === undefined ? (
                          <Typography.Text type="secondary">-</Typography.Text>
                        ) : (
                          String(r.value)
                        )
                      ) : (
                        <Typography.Text type="secondary">{t('qc.gone')}</Typography.Text>
                      ),
                  },
                ]
              : []),
          ]}
          locale={{ emptyText: <Empty description={t('qc.noFailures')} /> }}
        />
      </div>
    </Drawer>
  );
}

/** The resource and field a consistency rule compares with, picked by name from the published catalog. */
function PartnerFields({ resourceId }: { resourceId: number }) {
  const { t } = useI18n();
  const form = Form.useFormInstance();
  const other = Form.useWatch('otherResourceId', form) as number | undefined;
  const list = useAsync(
    () =>
      api<{ items: { id: number; name: string }[] }>('/api/catalog/resources', { query: { pageSize: 200 } }),
    [],
  );
  const fields = useAsync(
    () =>
      other
        ? api<{ fields: { code: string; name: string }[] }>(`/api/catalog/resources/${other}`)
        : Promise.resolve({ fields: [] }),
    [other],
  );
  return (
    <>
      <Form.Item name="otherResourceId" label={t('qc.otherResource')} rules={[{ required: true }]}>
        <Select
          showSearch
          optionFilterProp="label"
          options={(list.data?.items ?? [])
            .filter((r) => r.id !== resourceId)
            .map((r) => ({ value: r.id, label: r.name }))}
        />
      </Form.Item>
      <Form.Item name="otherField" label={t('qc.otherField')} rules={[{ required: true }]}>
        <Select options={(fields.data?.fields ?? []).map((f) => ({ value: f.code, label: f.name }))} />
      </Form.Item>
    </>
  );
}

function RuleModal({
  rules,
  editing,
  resourceId,
  onClose,
  onSaved,
}: {
  rules: Rules;
  editing: Rule | 'new' | null;
  resourceId: number;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { t, tEnum, lang } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm();
  const kind = Form.useWatch('kind', form) as string | undefined;
  const check = Form.useWatch('check', form) as string | undefined;
  const isNew = editing === 'new';
  const save = async () => {
    const v = await form.validateFields();
    const params: Rule['params'] = {};
    const k = isNew ? v.kind : (editing as Rule).kind;
    if (k === 'validity') {
      params.check = v.check;
      if (v.check === 'enum')
        params.values = String(v.values ?? '')
          .split('\n')
          .map((s: string) => s.trim())
          .filter(Boolean);
      if (v.check === 'length') {
        params.min = v.min ?? 0;
        params.max = v.max ?? 10000;
      }
    }
    if (k === 'consistency') {
      params.resourceId = v.otherResourceId;
      params.fieldCode = v.otherField;
    }
    try {
      if (isNew)
        await post(`/api/quality/resources/${resourceId}/rules`, {
          kind: v.kind,
          fieldCode: v.fieldCode ?? null,
          params,
          threshold: v.threshold,
          weight: v.weight,
        });
      else
        await api(`/api/quality/rules/${(editing as Rule).id}`, {
          method: 'PUT',
          body: {
            threshold: v.threshold,
            weight: v.weight,
            enabled: v.enabled,
            ...(k === 'validity' || k === 'consistency' ? { params } : {}),
          },
        });
      message.success(t('qc.saved'));
      onSaved();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const initial =
    editing && editing !== 'new'
      ? {
          threshold: editing.threshold,
          weight: editing.weight,
          enabled: editing.enabled,
          check: editing.params.check,
          values: (editing.params.values ?? []).join('\n'),
          min: editing.params.min,
          max: editing.params.max,
          otherResourceId: editing.params.resourceId,
          otherField: editing.params.fieldCode,
        }
      : { kind: 'completeness', threshold: 100, weight: 2, enabled: true };
  const k = isNew ? kind : editing ? editing.kind : undefined;
  return (
    <Modal
      open={!!editing}
      onCancel={onClose}
      onOk={save}
      okText={t('qc.save')}
      cancelText={t('qc.cancel')}
      title={isNew ? t('qc.addRule') : t('qc.edit')}
      destroyOnClose
    >
      <Form form={form} layout="vertical" initialValues={initial} preserve={false}>
        {isNew ? (
          <>
            <Form.Item name="kind" label={t('qc.kind')} rules={[{ required: true }]}>
              <Select
                options={['completeness', 'validity', 'uniqueness', 'timeliness', 'consistency'].map((x) => ({
                  value: x,
                  label: tEnum('qcKind', x),
                }))}
              />
            </Form.Item>
            {kind !== 'timeliness' ? (
              <Form.Item name="fieldCode" label={t('qc.field')} rules={[{ required: kind !== 'uniqueness' }]}>
                <Select
                  allowClear
                  options={rules.fields.map((f) => ({ value: f.code, label: f.name }))}
                  placeholder={kind === 'uniqueness' ? t('qc.wholeResource') : undefined}
                />
              </Form.Item>
            ) : null}
          </>
        ) : null}
        {k === 'validity' ? (
          <Form.Item name="check" label={t('qc.check')} rules={[{ required: true }]}>
            <Select
              options={['idNumber', 'creditCode', 'mobilePhone', 'enum', 'length'].map((x) => ({
                value: x,
                label: tEnum('qcCheck', x),
              }))}
            />
          </Form.Item>
        ) : null}
        {k === 'validity' && check === 'enum' ? (
          <Form.Item name="values" label={t('qc.values')} rules={[{ required: true }]}>
            <Input.TextArea rows={4} maxLength={20000} />
          </Form.Item>
        ) : null}
        {k === 'validity' && check === 'length' ? (
          <Space>
            <Form.Item name="min" label={t('qc.minLength')}>
              <InputNumber min={0} max={10000} precision={0} />
            </Form.Item>
            <Form.Item name="max" label={t('qc.maxLength')}>
              <InputNumber min={0} max={10000} precision={0} />
            </Form.Item>
          </Space>
        ) : null}
        {k === 'consistency' ? <PartnerFields resourceId={resourceId} /> : null}
        <Space>
          <Form.Item name="threshold" label={t('qc.threshold')} rules={[{ required: true }]}>
            <InputNumber min={0} max={100} step={0.5} data-testid="rule-threshold" />
          </Form.Item>
          <Form.Item name="weight" label={t('qc.weight')} rules={[{ required: true }]}>
            <InputNumber min={0} max={100} step={1} />
          </Form.Item>
          {!isNew ? (
            <Form.Item name="enabled" label={t('qc.enabled')} valuePropName="checked">
              <Switch />
            </Form.Item>
          ) : null}
        </Space>
      </Form>
    </Modal>
  );
}

function ResourceQuality({ row, onChanged }: { row: ScoreRow; onChanged: () => void }) {
  const { t, tEnum, lang, colon } = useI18n();
  const { message } = App.useApp();
  const runs = useAsync(
    () =>
      api<{ items: { id: number; at: string; score: number; trigger: string }[] }>(
        `/api/quality/resources/${row.resourceId}/runs`,
      ),
    [row.resourceId, row.lastRunId],
  );
  const rules = useAsync(
    () => api<Rules>(`/api/quality/resources/${row.resourceId}/rules`),
    [row.resourceId],
  );
  const last = useAsync(
    () => (row.lastRunId ? api<Run>(`/api/quality/runs/${row.lastRunId}`) : Promise.resolve(null)),
    [row.lastRunId],
  );
  const [drawer, setDrawer] = useState<RunRule | null>(null);
  const [editing, setEditing] = useState<Rule | 'new' | null>(null);
  const [running, setRunning] = useState(false);
  const fieldName = (code: string | null) =>
    code ? (rules.data?.fields.find((f) => f.code === code)?.name ?? code) : t('qc.wholeResource');
  const runNow = async () => {
    setRunning(true);
    try {
      const r = await post<Run>(`/api/quality/resources/${row.resourceId}/runs`);
      message.success(t('qc.ran', { score: r.score.toFixed(2) }));
      onChanged();
    } catch (e) {
      message.error(errorText(e, lang));
    } finally {
      setRunning(false);
    }
  };
  return (
    <Space direction="vertical" style={{ width: '100%' }} size="middle">
      <Card
        size="small"
        title={`${row.name} · ${t('qc.trend')}`}
        extra={
          rules.data?.canEdit ? (
            <Button onClick={runNow} loading={running} data-testid="quality-run-now">
              {t('qc.runNow')}
            </Button>
          ) : null
        }
      >
        {runs.error ? <ErrorAlert error={runs.error} /> : null}
        {runs.data?.items.length ? (
          <Suspense fallback={null}>
            <ScoreTrend runs={runs.data.items} seriesName={t('qc.score')} />
          </Suspense>
        ) : (
          <Empty description={t('qc.never')} />
        )}
      </Card>
      <Card size="small" title={t('qc.lastRun')}>
        {last.error ? <ErrorAlert error={last.error} /> : null}
        <Table
          rowKey="id"
          size="small"
          pagination={false}
          loading={last.loading}
          dataSource={last.data?.rules ?? []}
          data-testid="quality-run-rules"
          columns={[
            { title: t('qc.kind'), dataIndex: 'kind', render: (k: string) => tEnum('qcKind', k) },
            { title: t('qc.field'), dataIndex: 'fieldCode', render: (c: string | null) => fieldName(c) },
            { title: t('qc.checked'), dataIndex: 'checked', render: (n: number) => fmtNumber(n) },
            { title: t('qc.failing'), dataIndex: 'failing', render: (n: number) => fmtNumber(n) },
            { title: t('qc.score'), dataIndex: 'score', render: (s: number) => s.toFixed(2) },
            { title: t('qc.threshold'), dataIndex: 'threshold' },
            {
              title: t('qc.passed'),
              key: 'passed',
              render: (_: unknown, r: RunRule) => (
                <Space direction="vertical" size={0}>
                  <Tag color={r.passed ? 'green' : 'red'}>{r.passed ? t('qc.passed') : t('qc.failed')}</Tag>
                  {r.kind === 'timeliness' && r.detail.nextDue ? (
                    <Typography.Text type="secondary">
                      {r.detail.daysOverdue
                        ? t('qc.daysOverdue', { days: r.detail.daysOverdue, due: r.detail.nextDue })
                        : t('qc.nextDue', { due: r.detail.nextDue })}
                    </Typography.Text>
                  ) : null}
                </Space>
              ),
            },
            {
              title: '',
              key: 'rows',
              render: (_: unknown, r: RunRule) =>
                r.failing > 0 && r.kind !== 'timeliness' ? (
                  <Button
                    size="small"
                    type="link"
                    onClick={() => setDrawer(r)}
                    data-testid="quality-show-failures"
                  >
                    {t('qc.showFailures')}
                  </Button>
                ) : null,
            },
          ]}
        />
      </Card>
      <Card
        size="small"
        title={t('qc.rules')}
        extra={
          rules.data?.canEdit ? (
            <Button type="primary" onClick={() => setEditing('new')}>
              {t('qc.addRule')}
            </Button>
          ) : null
        }
      >
        {rules.error ? <ErrorAlert error={rules.error} /> : null}
        <Table
          rowKey="id"
          size="small"
          pagination={false}
          loading={rules.loading}
          dataSource={rules.data?.items ?? []}
          columns={[
            { title: t('qc.kind'), dataIndex: 'kind', render: (k: string) => tEnum('qcKind', k) },
            { title: t('qc.field'), dataIndex: 'fieldCode', render: (c: string | null) => fieldName(c) },
            {
              title: t('qc.detail'),
              key: 'params',
              render: (_: unknown, r: Rule) =>
                r.params.check
                  ? tEnum('qcCheck', r.params.check)
                  : r.kind === 'consistency'
                    ? `${t('qc.otherResource')}${colon}${r.partner?.resourceName ?? '-'} · ${r.partner?.fieldName ?? '-'}`
                    : '-',
            },
            { title: t('qc.threshold'), dataIndex: 'threshold' },
            { title: t('qc.weight'), dataIndex: 'weight' },
            {
              title: t('qc.enabled'),
              dataIndex: 'enabled',
              render: (e: boolean) => (
                <Tag color={e ? 'blue' : 'default'}>{e ? t('qc.enabled') : t('qc.disable')}</Tag>
              ),
            },
            { title: t('qc.origin'), dataIndex: 'origin', render: (o: string) => tEnum('qcOrigin', o) },
            {
              title: '',
              key: 'edit',
              render: (_: unknown, r: Rule) =>
                rules.data?.canEdit ? (
                  <Button size="small" type="link" onClick={() => setEditing(r)}>
                    {t('qc.edit')}
                  </Button>
                ) : null,
            },
          ]}
        />
      </Card>
      <FailuresDrawer
        runRule={drawer}
        fieldName={fieldName(drawer?.fieldCode ?? null)}
        onClose={() => setDrawer(null)}
      />
      {rules.data ? (
        <RuleModal
          rules={rules.data}
          editing={editing}
          resourceId={row.resourceId}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            rules.reload();
          }}
        />
      ) : null}
    </Space>
  );
}

/** 数据质量: every visible resource's latest score, its trend, the latest run's rules and their failing records. */
interface PeriodRuns {
  total: number;
  meanScore: number | null;
  items: {
    id: number;
    resourceId: number;
    name: string;
    provider: { id: number; name: string };
    at: string;
    rowCount: number;
    score: number;
    rulesFailed: number;
  }[];
}

/**
 * The runs finished in a period (?runsFrom&runsTo[&orgId]): the list behind a month of the cockpit's quality trend,
 * with its count and mean score (the point's figures).
 */
function RunsInPeriod({ onPick }: { onPick: (resourceId: number) => void }) {
  const { t } = useI18n();
  const filters = useUrlFilters();
  const from = filters.str('runsFrom');
  const to = filters.str('runsTo');
  const orgId = filters.num('orgId');
  const paging = usePaging();
  const { page, pageSize } = paging;
  const runs = useAsync(
    () =>
      from && to
        ? api<PeriodRuns>('/api/quality/runs', { query: { from, to, orgId, page, pageSize } })
        : Promise.resolve(null),
    [from, to, orgId, page, pageSize],
  );
  if (!from || !to) return null;
  return (
    <Card size="small" style={{ marginBottom: 16 }} data-testid="quality-period-runs">
      <Space wrap style={{ marginBottom: 8 }}>
        <FlagFilterTag
          testid="filter-period"
          label={t('filter.period', { from, to })}
          onClose={() => filters.set({ runsFrom: undefined, runsTo: undefined, orgId: undefined })}
        />
        {orgId && <OrgFilterTag orgId={orgId} onClose={() => filters.set({ orgId: undefined })} />}
        {runs.data && (
          <Typography.Text data-testid="quality-period-summary">
            {t('cockpit.runsN', { n: runs.data.total })} · {t('cockpit.meanScore')}{' '}
            {runs.data.meanScore ?? '—'}
          </Typography.Text>
        )}
      </Space>
      <ErrorAlert error={runs.error} />
      <Table
        rowKey="id"
        size="small"
        loading={runs.loading}
        dataSource={runs.data?.items ?? []}
        pagination={paging.pagination(runs.data?.total, (n) => t('common.total', { n }))}
        onRow={(r) => ({ onClick: () => onPick(r.resourceId), style: { cursor: 'pointer' } })}
        columns={[
          { title: t('qc.resource'), dataIndex: 'name' },
          { title: t('qc.provider'), dataIndex: ['provider', 'name'] },
          { title: t('qc.score'), dataIndex: 'score', render: (s: number) => <ScoreTag score={s} /> },
          { title: t('qc.rulesFailed'), dataIndex: 'rulesFailed' },
          { title: t('qc.checkedAt'), dataIndex: 'at', render: (v: string) => fmtTime(v) },
        ]}
      />
    </Card>
  );
}

export default function QualityScores() {
  const { t } = useI18n();
  const list = useAsync(() => api<{ items: ScoreRow[] }>('/api/quality/scores'), []);
  const [selected, setSelected] = useState<number | null>(null);
  const items = list.data?.items ?? [];
  const row = items.find((r) => r.resourceId === selected) ?? items.find((r) => r.score !== null) ?? null;
  return (
    <div data-testid="page-quality">
      <Typography.Title level={3}>{t('qc.title')}</Typography.Title>
      {list.error ? <ErrorAlert error={list.error} /> : null}
      <RunsInPeriod onPick={setSelected} />
      <Row gutter={16}>
        <Col xs={24} xl={10}>
          <Card size="small">
            <Table
              rowKey="resourceId"
              size="small"
              loading={list.loading}
              dataSource={items}
              pagination={{ pageSize: 15 }}
              data-testid="quality-resources"
              onRow={(r) => ({ onClick: () => setSelected(r.resourceId), style: { cursor: 'pointer' } })}
              rowClassName={(r) => (row && r.resourceId === row.resourceId ? 'ant-table-row-selected' : '')}
              locale={{ emptyText: <Empty description={t('qc.empty')} /> }}
              columns={[
                { title: t('qc.resource'), dataIndex: 'name' },
                { title: t('qc.provider'), dataIndex: ['provider', 'name'] },
                {
                  title: t('qc.score'),
                  dataIndex: 'score',
                  render: (s: number | null) => <ScoreTag score={s} />,
                },
                {
                  title: t('qc.rulesFailed'),
                  dataIndex: 'rulesFailed',
                  render: (n: number | null) => n ?? '-',
                },
                {
                  title: t('qc.checkedAt'),
                  dataIndex: 'checkedAt',
                  render: (v: string | null) => fmtTime(v),
                },
              ]}
            />
          </Card>
        </Col>
        <Col xs={24} xl={14}>
          {row ? (
            <ResourceQuality key={row.resourceId} row={row} onChanged={list.reload} />
          ) : (
            <Card>
              <Empty description={t('qc.pickResource')} />
            </Card>
          )}
        </Col>
      </Row>
    </div>
  );
}
