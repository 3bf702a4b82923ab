import { Alert, App as AntApp, Button, Form, Input, Modal, Radio, Select, Table, Tag } from 'antd';
import { useMemo, useState } from 'react';
import { articleText } from '../../../src/shared/labels.js';
import { api, errorText, post } from '../shared/api.js';
import { ErrorAlert } from '../shared/common.js';
import EChart from '../shared/EChart.js';
import { fmtDate } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';

interface Item {
  resource: { id: number; name: string; code: string };
  org: { id: number; name: string };
  shareType: string;
  lastEvaluatedOn: string | null;
  dueDate: string;
  overdue: boolean;
  workdaysLeft: number | null;
  inReview: number | null;
  canRecord: boolean;
}

/** Periodic re-evaluation of restricted resources (XT Art 23.5, SY Art 31): keep, or convert through the catalog review. */
export function ReevaluationTab() {
  const { t, tEnum, lang } = useI18n();
  const { message } = AntApp.useApp();
  const list = useAsync(
    () =>
      api<{ article: string | null; months: number; shareTypes: string[]; items: Item[] }>(
        '/api/sharing/reevaluations',
      ),
    [],
  );
  const [target, setTarget] = useState<Item | null>(null);
  const [busy, setBusy] = useState(false);
  const [form] = Form.useForm<{
    conclusion: 'keep' | 'convert';
    targetShareType?: string;
    comment: string;
  }>();
  const conclusion = Form.useWatch('conclusion', form);
  const d = list.data;
  const send = async () => {
    if (!target || busy) return;
    const v = await form.validateFields();
    setBusy(true);
    try {
      await post('/api/sharing/reevaluations', { resourceId: target.resource.id, ...v });
      message.success(t('reeval.saved'));
      setTarget(null);
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <ErrorAlert error={list.error} />
      {d && !d.article ? <Alert type="info" showIcon title={t('reeval.none')} /> : null}
      {d?.article ? (
        <Alert
          type="info"
          showIcon
          style={{ marginBottom: 12 }}
          title={t('reeval.rule', {
            article: articleText(d.article, lang),
            types: d.shareTypes.map((s) => tEnum('shareType', s)).join(t('punct.list')),
            months: d.months,
          })}
        />
      ) : null}
      <Table<Item>
        data-testid="reeval-table"
        rowKey={(r) => r.resource.id}
        loading={list.loading}
        dataSource={d?.items ?? []}
        size="small"
        columns={[
          { title: t('reeval.resource'), render: (_, r) => r.resource.name },
          { title: t('req.provider'), render: (_, r) => r.org.name },
          { title: t('common.status'), render: (_, r) => <Tag>{tEnum('shareType', r.shareType)}</Tag> },
          { title: t('reeval.lastOn'), render: (_, r) => fmtDate(r.lastEvaluatedOn) },
          {
            title: t('reeval.dueDate'),
            render: (_, r) => (
              <span>
                {fmtDate(r.dueDate)}{' '}
                {r.overdue ? (
                  <Tag color="red">{t('req.overdue')}</Tag>
                ) : r.workdaysLeft !== null ? (
                  <Tag>
                    {r.workdaysLeft === 0 ? t('req.dueToday') : t('req.workdaysLeft', { n: r.workdaysLeft })}
                  </Tag>
                ) : null}
                {r.inReview ? <Tag color="purple">{t('reeval.inReview', { v: r.inReview })}</Tag> : null}
              </span>
            ),
          },
          {
            title: t('common.actions'),
            render: (_, r) =>
              r.canRecord ? (
                <Button
                  size="small"
                  data-testid={`reeval-record-${r.resource.id}`}
                  onClick={() => {
                    form.setFieldsValue({ conclusion: 'keep', comment: '' });
                    setTarget(r);
                  }}
                >
                  {t('reeval.record')}
                </Button>
              ) : null,
          },
        ]}
      />
      <Modal
        open={target !== null}
        title={`${t('reeval.record')} · ${target?.resource.name ?? ''}`}
        onCancel={() => setTarget(null)}
        onOk={send}
        okText={t('common.ok')}
        cancelText={t('common.cancel')}
        okButtonProps={{ loading: busy, ...({ 'data-testid': 'reeval-ok' } as object) }}
        destroyOnHidden
      >
        <Form form={form} layout="vertical" preserve={false}>
          <Form.Item name="conclusion" label={t('reeval.conclusion')} rules={[{ required: true }]}>
            <Radio.Group>
              <Radio value="keep">{tEnum('reevalConclusion', 'keep')}</Radio>
              <Radio value="convert">{tEnum('reevalConclusion', 'convert')}</Radio>
            </Radio.Group>
          </Form.Item>
          {conclusion === 'convert' ? (
            <Form.Item name="targetShareType" label={t('reeval.target')} rules={[{ required: true }]}>
              <Select
                options={['unconditional', 'conditional', 'none']
                  .filter((s) => s !== target?.shareType)
                  .map((s) => ({ value: s, label: tEnum('shareType', s) }))}
              />
            </Form.Item>
          ) : null}
          <Form.Item
            name="comment"
            label={t('reeval.comment')}
            rules={[{ required: true, whitespace: true, min: 4, max: 2000 }]}
          >
            <Input.TextArea rows={3} maxLength={2000} showCount data-testid="reeval-comment" />
          </Form.Item>
        </Form>
      </Modal>
    </>
  );
}

interface StatsRow {
  org: { id: number; name: string };
  requests: number;
  pending: number;
  decided: number;
  onTime: number;
  onTimeRate: number | null;
}

/** Request volume (bars) and on-time rate (line) per department, by provider and by consumer (GET /api/sharing/stats). */
export function SharingStats() {
  const { t } = useI18n();
  const [side, setSide] = useState<'byProvider' | 'byConsumer'>('byProvider');
  const stats = useAsync(
    () => api<{ byProvider: StatsRow[]; byConsumer: StatsRow[] }>('/api/sharing/stats'),
    [],
  );
  const rows = stats.data?.[side] ?? [];
  const option = useMemo(
    () => ({
      tooltip: { trigger: 'axis' },
      legend: { data: [t('shareStats.requests'), t('shareStats.decided'), t('shareStats.onTime')] },
      grid: { left: 48, right: 48, bottom: 80 },
      xAxis: { type: 'category', data: rows.map((r) => r.org.name), axisLabel: { rotate: 30 } },
      yAxis: [
        { type: 'value', name: t('shareStats.requests'), minInterval: 1 },
        {
          type: 'value',
          name: t('shareStats.onTime'),
          min: 0,
          max: 100,
          axisLabel: { formatter: '{value}%' },
        },
      ],
      series: [
        { name: t('shareStats.requests'), type: 'bar', data: rows.map((r) => r.requests) },
        { name: t('shareStats.decided'), type: 'bar', data: rows.map((r) => r.decided) },
        {
          name: t('shareStats.onTime'),
          type: 'line',
          yAxisIndex: 1,
          data: rows.map((r) => (r.onTimeRate === null ? null : Math.round(r.onTimeRate * 1000) / 10)),
        },
      ],
    }),
    [rows, t],
  );
  return (
    <div data-testid="sharing-stats">
      <ErrorAlert error={stats.error} />
      <Radio.Group value={side} onChange={(e) => setSide(e.target.value)} style={{ marginBottom: 12 }}>
        <Radio.Button value="byProvider">{t('shareStats.asProvider')}</Radio.Button>
        <Radio.Button value="byConsumer">{t('shareStats.asConsumer')}</Radio.Button>
      </Radio.Group>
      {rows.length ? (
        <EChart option={option} label={t('shareStats.title')} />
      ) : (
        <Alert type="info" title={t('shareStats.empty')} />
      )}
    </div>
  );
}
