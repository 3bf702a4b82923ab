import { App, Button, Card, DatePicker, Form, Input, Radio, Space, Table, Tag, Typography } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useState } from 'react';
import { articleText } from '../../../src/shared/labels.js';
import { api, errorText } from '../shared/api.js';
import { fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';

interface RiskState {
  required: boolean;
  level: string;
  article: string | null;
  passed: boolean;
  grantStatus: string | null;
  canRecord: boolean;
  items: {
    id: number;
    assessor: string;
    assessedOn: string;
    conclusion: 'pass' | 'conditional' | 'fail';
    measures: string;
    attachmentName: string | null;
    recordedAt: string;
    recordedBy: string | null;
  }[];
}

const COLOR = { pass: 'green', conditional: 'gold', fail: 'red' } as const;

/**
 * 风险评估 in the request drawer (DG Art 19, XT Art 31, SY Art 42, NY task 11): where the profile asks for one, an
 * important/core resource's grant waits for a passing assessment; the provider or the authority records it here.
 */
export function RiskAssessmentSection({
  requestId,
  onChanged,
}: {
  requestId: number;
  onChanged: () => void;
}) {
  const { t, tEnum, lang, colon } = useI18n();
  const { message } = App.useApp();
  const state = useAsync(
    () => api<RiskState>(`/api/sharing/requests/${requestId}/risk-assessments`),
    [requestId],
  );
  const [form] = Form.useForm();
  const [busy, setBusy] = useState(false);
  const s = state.data;
  if (!s?.required) return null;

  const submit = async () => {
    const v = await form.validateFields();
    setBusy(true);
    try {
      await api(`/api/sharing/requests/${requestId}/risk-assessments`, {
        body: {
          assessor: v.assessor,
          assessedOn: (v.assessedOn as Dayjs).format('YYYY-MM-DD'),
          conclusion: v.conclusion,
          measures: v.measures ?? '',
          attachmentName: v.attachmentName || null,
        },
      });
      message.success(t('risk.recorded'));
      form.resetFields();
      state.reload();
      onChanged();
    } catch (e) {
      message.error(errorText(e, lang));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card size="small" title={t('risk.title')} style={{ marginTop: 16 }} data-testid="req-risk">
      <Typography.Paragraph>
        {t('risk.required', {
          level: tEnum('securityLevel', s.level),
          article: articleText(s.article, lang),
        })}
      </Typography.Paragraph>
      {s.grantStatus ? (
        <Typography.Paragraph>
          {t('risk.grantStatus')}
          {colon}
          <Tag color={s.grantStatus === 'active' ? 'green' : 'orange'}>
            {tEnum('grantStatus', s.grantStatus)}
          </Tag>
        </Typography.Paragraph>
      ) : null}
      {s.items.length ? (
        <Table
          size="small"
          rowKey="id"
          pagination={false}
          dataSource={s.items}
          columns={[
            { title: t('risk.assessor'), dataIndex: 'assessor' },
            { title: t('risk.assessedOn'), dataIndex: 'assessedOn' },
            {
              title: t('risk.conclusion'),
              dataIndex: 'conclusion',
              render: (c: keyof typeof COLOR) => <Tag color={COLOR[c]}>{tEnum('riskConclusion', c)}</Tag>,
            },
            { title: t('risk.measures'), dataIndex: 'measures' },
            {
              title: t('risk.attachment'),
              dataIndex: 'attachmentName',
              render: (a: string | null) => a ?? '-',
            },
            {
              title: t('risk.history'),
              key: 'rec',
              render: (_, i) => `${i.recordedBy ?? ''} ${fmtTime(i.recordedAt)}`,
            },
          ]}
        />
      ) : (
        <Typography.Text type="secondary">{t('risk.none')}</Typography.Text>
      )}
      {s.canRecord && !s.passed ? (
        <Form form={form} layout="vertical" style={{ marginTop: 12 }} initialValues={{ assessedOn: dayjs() }}>
          <Space wrap align="start">
            <Form.Item name="assessor" label={t('risk.assessor')} rules={[{ required: true, max: 100 }]}>
              <Input data-testid="risk-assessor" maxLength={100} style={{ width: 220 }} />
            </Form.Item>
            <Form.Item name="assessedOn" label={t('risk.assessedOn')} rules={[{ required: true }]}>
              <DatePicker data-testid="risk-date" />
            </Form.Item>
            <Form.Item name="conclusion" label={t('risk.conclusion')} rules={[{ required: true }]}>
              <Radio.Group data-testid="risk-conclusion" optionType="button" buttonStyle="solid">
                {(['pass', 'conditional', 'fail'] as const).map((c) => (
                  <Radio.Button key={c} value={c}>
                    <span data-testid={`risk-conclusion-${c}`}>{tEnum('riskConclusion', c)}</span>
                  </Radio.Button>
                ))}
              </Radio.Group>
            </Form.Item>
          </Space>
          <Form.Item name="measures" label={t('risk.measures')} rules={[{ max: 2000 }]}>
            <Input.TextArea data-testid="risk-measures" rows={3} maxLength={2000} />
          </Form.Item>
          <Form.Item name="attachmentName" label={t('risk.attachment')} rules={[{ max: 200 }]}>
            <Input maxLength={200} style={{ width: 320 }} />
          </Form.Item>
          <Button type="primary" loading={busy} onClick={submit} data-testid="risk-submit">
            {t('risk.record')}
          </Button>
        </Form>
      ) : null}
    </Card>
  );
}
