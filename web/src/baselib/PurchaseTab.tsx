import { App, Button, DatePicker, Descriptions, Form, Input, Space, Tag, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { articleText } from '../../../src/shared/labels.js';
import { api, errorText, post } from '../shared/api.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';

/* Purchased data on a catalog entry (issue 7 point 8; DG Art 25, XT Art 16): the flag, its record and the approval. */

interface Purchase {
  purchase: {
    supplier: string;
    contractRef: string;
    periodFrom: string;
    periodTo: string;
    declaredAt: string;
    approval: string;
    approvalRef: string | null;
    approvalNote: string | null;
    decidedAt: string | null;
    decidedBy: string | null;
  } | null;
  approvalRequired: boolean;
  article: string | null;
  canDeclare: boolean;
  canDecide: boolean;
}

const color: Record<string, string> = { pending: 'processing', approved: 'success', refused: 'error' };

export default function PurchaseTab({ resourceId }: { resourceId: number }) {
  const { t, tEnum, lang } = useI18n();
  const { message } = App.useApp();
  const p = useAsync(() => api<Purchase>(`/api/baselib/purchases/${resourceId}`), [resourceId]);
  const [editing, setEditing] = useState(false);
  const [form] = Form.useForm();
  const [decision] = Form.useForm();
  const act = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
      message.success(t('purchase.saved'));
      setEditing(false);
      p.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const d = p.data;
  if (!d) return <ErrorAlert error={p.error} />;
  const article = d.article ? articleText(d.article, lang) : '';
  return (
    <div data-testid="purchase-tab">
      {d.article ? (
        <Typography.Paragraph type="secondary">
          {d.approvalRequired ? t('purchase.required', { article }) : t('purchase.notRequired', { article })}
        </Typography.Paragraph>
      ) : null}
      {d.purchase ? (
        <Descriptions size="small" column={2} bordered>
          <Descriptions.Item label={t('purchase.supplier')}>{d.purchase.supplier}</Descriptions.Item>
          <Descriptions.Item label={t('purchase.contractRef')}>{d.purchase.contractRef}</Descriptions.Item>
          <Descriptions.Item label={t('purchase.period')}>
            {d.purchase.periodFrom} ~ {d.purchase.periodTo}
          </Descriptions.Item>
          <Descriptions.Item label={t('purchase.approval')}>
            <Tag color={color[d.purchase.approval]} data-testid="purchase-approval">
              {tEnum('purchaseApproval', d.purchase.approval)}
            </Tag>
            {d.purchase.approvalRef ?? ''} {d.purchase.decidedBy ?? ''} {fmtTime(d.purchase.decidedAt)}
          </Descriptions.Item>
          {d.purchase.approvalNote ? (
            <Descriptions.Item label={t('purchase.approvalNote')} span={2}>
              {d.purchase.approvalNote}
            </Descriptions.Item>
          ) : null}
        </Descriptions>
      ) : (
        <Typography.Text>{t('purchase.none')}</Typography.Text>
      )}
      {d.canDeclare && !editing ? (
        <Button style={{ marginTop: 12 }} onClick={() => setEditing(true)} data-testid="purchase-declare">
          {d.purchase ? t('purchase.redeclare') : t('purchase.declare')}
        </Button>
      ) : null}
      {editing ? (
        <Form
          form={form}
          layout="inline"
          style={{ marginTop: 12 }}
          onFinish={(v: { supplier: string; contractRef: string; period: [Dayjs, Dayjs] }) =>
            act(() =>
              api(`/api/baselib/purchases/${resourceId}`, {
                method: 'PUT',
                body: {
                  supplier: v.supplier,
                  contractRef: v.contractRef,
                  periodFrom: v.period[0].format('YYYY-MM-DD'),
                  periodTo: v.period[1].format('YYYY-MM-DD'),
                },
              }),
            )
          }
        >
          <Form.Item name="supplier" label={t('purchase.supplier')} rules={[{ required: true, max: 200 }]}>
            <Input />
          </Form.Item>
          <Form.Item
            name="contractRef"
            label={t('purchase.contractRef')}
            rules={[{ required: true, max: 100 }]}
          >
            <Input />
          </Form.Item>
          <Form.Item name="period" label={t('purchase.period')} rules={[{ required: true }]}>
            <DatePicker.RangePicker />
          </Form.Item>
          <Button type="primary" htmlType="submit">
            {t('purchase.declare')}
          </Button>
        </Form>
      ) : null}
      {d.canDecide ? (
        <Form form={decision} layout="inline" style={{ marginTop: 12 }}>
          <Form.Item name="approvalRef" label={t('purchase.approvalRef')}>
            <Input data-testid="purchase-approval-ref" />
          </Form.Item>
          <Form.Item name="note" label={t('purchase.approvalNote')}>
            <Input />
          </Form.Item>
          <Space>
            <Button
              type="primary"
              data-testid="purchase-approve"
              onClick={() =>
                act(() =>
                  post(`/api/baselib/purchases/${resourceId}/decision`, {
                    approve: true,
                    ...decision.getFieldsValue(),
                  }),
                )
              }
            >
              {t('purchase.approve')}
            </Button>
            <Button
              danger
              onClick={() =>
                act(() =>
                  post(`/api/baselib/purchases/${resourceId}/decision`, {
                    approve: false,
                    ...decision.getFieldsValue(),
                  }),
                )
              }
            >
              {t('purchase.refuse')}
            </Button>
          </Space>
        </Form>
      ) : null}
    </div>
  );
}
