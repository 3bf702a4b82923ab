import type { ButtonProps } from 'antd';
import { App as AntApp, Button, Card, Form, Input, Modal, Select, Space, Table, Typography } from 'antd';
import { useState } from 'react';
import { api, errorText, post } from '../shared/api.js';
import { useAuth } from '../shared/auth.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import {
  InboxBar,
  InvTag,
  inventoryPager,
  isOfficer,
  OrgFilter,
  type Paged,
  ResourceCell,
  StatusSelect,
} from './common.js';

interface Entry {
  id: number;
  resource: { id: number; code: string; name: string };
  org: { id: number; name: string };
  openType: string;
  conditions: string | null;
  status: string;
  article: string;
  proposedBy: string;
  proposedAt: string;
  comment: string | null;
  canDecide: boolean;
}

/** The open list and its confidentiality review (XT Art 28). */
export default function OpenList() {
  const { t, tEnum, lang, paren } = useI18n();
  const { me } = useAuth();
  const { message } = AntApp.useApp();
  const [orgId, setOrgId] = useState<number>();
  const [status, setStatus] = useState<string>();
  const [page, setPage] = useState(1);
  const [proposing, setProposing] = useState(false);
  const [deciding, setDeciding] = useState<{ e: Entry; approve: boolean } | null>(null);
  const [form] = Form.useForm();
  const [decideForm] = Form.useForm();
  const list = useAsync(
    () => api<Paged<Entry>>('/api/inventory/open-list', { query: { orgId, status, page, pageSize: 20 } }),
    [orgId, status, page],
  );
  const mine = useAsync(
    () =>
      isOfficer(me)
        ? api<{
            items: { id: number; name: string; code: string; shareType: string; provider: { id: number } }[];
          }>('/api/catalog/resources', { query: { providerOrgId: me?.user.org.id, pageSize: 200 } })
        : Promise.resolve({ items: [] }),
    [],
  );

  async function run(fn: () => Promise<unknown>) {
    try {
      await fn();
      message.success(t('inv.saved'));
      list.reload();
      return true;
    } catch (e) {
      message.error(errorText(e, lang));
      return false;
    }
  }

  return (
    <Card
      data-testid="page-open-list"
      title={t('menu.openList')}
      extra={
        isOfficer(me) && (
          <Button type="primary" data-testid="open-propose" onClick={() => setProposing(true)}>
            {t('open.propose')}
          </Button>
        )
      }
    >
      <InboxBar />
      <Typography.Paragraph type="secondary">{t('open.rule')}</Typography.Paragraph>
      <Space style={{ marginBottom: 12 }} wrap>
        <OrgFilter
          me={me}
          value={orgId}
          onChange={(v) => {
            setOrgId(v);
            setPage(1);
          }}
        />
        <StatusSelect
          testid="open-status-filter"
          kind="openStatus"
          values={['proposed', 'approved', 'rejected', 'withdrawn']}
          value={status}
          onChange={(v) => {
            setStatus(v);
            setPage(1);
          }}
        />
      </Space>
      <ErrorAlert error={list.error} />
      <Table<Entry>
        data-testid="open-table"
        rowKey="id"
        size="middle"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        pagination={inventoryPager(t, page, list.data?.total, setPage)}
        columns={[
          { title: t('inv.department'), render: (_, e) => e.org.name, width: 160 },
          { title: t('inv.resource'), render: (_, e) => <ResourceCell r={e.resource} /> },
          { title: t('open.type'), width: 120, render: (_, e) => tEnum('openType', e.openType) },
          { title: t('open.conditions'), dataIndex: 'conditions', ellipsis: true },
          {
            title: t('common.status'),
            width: 100,
            render: (_, e) => <InvTag kind="openStatus" value={e.status} />,
          },
          {
            title: t('inv.proposed'),
            width: 150,
            render: (_, e) => `${e.proposedBy} ${fmtTime(e.proposedAt)}`,
          },
          { title: t('inv.comment'), dataIndex: 'comment', ellipsis: true },
          {
            title: t('common.actions'),
            width: 150,
            render: (_, e) =>
              e.canDecide && (
                <Space>
                  <Button
                    size="small"
                    type="primary"
                    data-testid={`open-approve-${e.id}`}
                    onClick={() => setDeciding({ e, approve: true })}
                  >
                    {t('inv.approve')}
                  </Button>
                  <Button
                    size="small"
                    danger
                    data-testid={`open-reject-${e.id}`}
                    onClick={() => setDeciding({ e, approve: false })}
                  >
                    {t('inv.reject')}
                  </Button>
                </Space>
              ),
          },
        ]}
      />
      <Modal
        open={proposing}
        title={t('open.propose')}
        onCancel={() => setProposing(false)}
        onOk={async () => {
          const v = await form.validateFields();
          if (await run(() => post('/api/inventory/open-list', v))) {
            setProposing(false);
            form.resetFields();
          }
        }}
        destroyOnHidden
      >
        <Form form={form} layout="vertical" initialValues={{ openType: 'open' }}>
          <Form.Item name="resourceId" label={t('inv.resource')} rules={[{ required: true }]}>
            <Select
              options={(mine.data?.items ?? [])
                .filter((r) => r.provider.id === me?.user.org.id && r.shareType !== 'none')
                .map((r) => ({ value: r.id, label: `${r.name}${paren(r.code)}` }))}
            />
          </Form.Item>
          <Form.Item name="openType" label={t('open.type')} rules={[{ required: true }]}>
            <Select
              options={['open', 'onApplication'].map((k) => ({ value: k, label: tEnum('openType', k) }))}
            />
          </Form.Item>
          <Form.Item name="conditions" label={t('open.conditions')}>
            <Input.TextArea rows={2} />
          </Form.Item>
        </Form>
      </Modal>
      <Modal
        open={!!deciding}
        title={deciding?.approve ? t('inv.approve') : t('inv.reject')}
        onCancel={() => setDeciding(null)}
        okButtonProps={{ 'data-testid': 'open-decide-ok' } as ButtonProps}
        onOk={async () => {
          if (!deciding) return;
          const v = await decideForm.validateFields();
          if (
            await run(() =>
              post(`/api/inventory/open-list/${deciding.e.id}/decide`, {
                approve: deciding.approve,
                comment: v.comment ?? null,
              }),
            )
          ) {
            setDeciding(null);
            decideForm.resetFields();
          }
        }}
        destroyOnHidden
      >
        <Form form={decideForm} layout="vertical">
          <Form.Item
            name="comment"
            label={t('inv.comment')}
            rules={[{ required: !deciding?.approve, message: t('inv.commentRequired') }]}
          >
            <Input.TextArea rows={3} />
          </Form.Item>
        </Form>
      </Modal>
    </Card>
  );
}
