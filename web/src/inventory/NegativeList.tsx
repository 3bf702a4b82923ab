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
  articleText,
  csvHref,
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
  shareType: string;
  basisText: string;
  basisKind: string;
  reason: string;
  status: string;
  mode: string;
  article: string;
  inForce: boolean;
  proposedBy: string;
  proposedAt: string;
  decidedBy: string | null;
  comment: string | null;
  canDecide: boolean;
  canWithdraw: boolean;
}

interface Catalog {
  items: { id: number; code: string; name: string; shareType: string; provider: { id: number } }[];
}

const STATUSES = ['proposed', 'approved', 'filed', 'rejected', 'withdrawn'] as const;
const BASIS_KINDS = ['law', 'adminRegulation', 'localRegulation', 'rule', 'other'] as const;

export default function NegativeList() {
  const { t, tEnum, lang, paren } = useI18n();
  const { me } = useAuth();
  const { message } = AntApp.useApp();
  const [orgId, setOrgId] = useState<number>();
  const [status, setStatus] = useState<string>();
  const [page, setPage] = useState(1);
  const [proposing, setProposing] = useState(false);
  const [deciding, setDeciding] = useState<{ entry: Entry; approve: boolean } | null>(null);
  const [form] = Form.useForm();
  const [decideForm] = Form.useForm();
  const list = useAsync(
    () =>
      api<Paged<Entry> & { rule: { authority: string; article: string } }>('/api/inventory/negative-list', {
        query: { orgId, status, page, pageSize: 20 },
      }),
    [orgId, status, page],
  );
  const mine = useAsync(
    () =>
      isOfficer(me)
        ? api<Catalog>('/api/catalog/resources', { query: { providerOrgId: me?.user.org.id, pageSize: 200 } })
        : Promise.resolve({ items: [] } as Catalog),
    [],
  );
  const candidates = (mine.data?.items ?? []).filter(
    (r) => r.provider.id === me?.user.org.id && r.shareType !== 'unconditional',
  );

  async function propose() {
    const v = await form.validateFields();
    try {
      await post('/api/inventory/negative-list', v);
      message.success(t('inv.saved'));
      setProposing(false);
      form.resetFields();
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  }

  async function decide() {
    if (!deciding) return;
    const v = await decideForm.validateFields();
    try {
      await post(`/api/inventory/negative-list/${deciding.entry.id}/decide`, {
        approve: deciding.approve,
        comment: v.comment ?? null,
      });
      message.success(t('inv.saved'));
      setDeciding(null);
      decideForm.resetFields();
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  }

  async function withdraw(e: Entry) {
    try {
      await post(`/api/inventory/negative-list/${e.id}/withdraw`);
      list.reload();
    } catch (err) {
      message.error(errorText(err, lang));
    }
  }

  const rule = list.data?.rule;
  return (
    <Card
      data-testid="page-negative-list"
      title={t('menu.negativeList')}
      extra={
        <Space>
          <a
            data-testid="neg-export"
            href={csvHref('/api/inventory/negative-list.csv', { orgId, status })}
            download
          >
            {t('inv.exportCsv')}
          </a>
          {isOfficer(me) && (
            <Button type="primary" data-testid="neg-propose" onClick={() => setProposing(true)}>
              {t('neg.propose')}
            </Button>
          )}
        </Space>
      }
    >
      <InboxBar />
      {rule && (
        <Typography.Paragraph type="secondary" data-testid="neg-rule">
          {rule.authority === 'approves' ? t('neg.ruleApproves') : t('neg.ruleFiled')}
          {paren(articleText(rule.article, lang))}
        </Typography.Paragraph>
      )}
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
          testid="neg-status-filter"
          kind="negStatus"
          values={STATUSES}
          value={status}
          onChange={(v) => {
            setStatus(v);
            setPage(1);
          }}
        />
      </Space>
      <ErrorAlert error={list.error} />
      <Table<Entry>
        data-testid="neg-table"
        rowKey="id"
        size="middle"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        pagination={inventoryPager(t, page, list.data?.total, setPage)}
        columns={[
          { title: t('inv.department'), render: (_, e) => e.org.name, width: 160 },
          { title: t('inv.resource'), render: (_, e) => <ResourceCell r={e.resource} /> },
          { title: t('catalog.shareType'), render: (_, e) => tEnum('shareType', e.shareType), width: 110 },
          {
            title: t('neg.basis'),
            width: 320,
            render: (_, e) => (
              <span>
                <InvTag kind="basisKind" value={e.basisKind} /> {e.basisText}
              </span>
            ),
          },
          { title: t('neg.reason'), dataIndex: 'reason', ellipsis: true },
          {
            title: t('common.status'),
            width: 110,
            render: (_, e) => (
              <span data-testid={`neg-status-${e.id}`}>
                <InvTag kind="negStatus" value={e.status} />
              </span>
            ),
          },
          {
            title: t('inv.proposed'),
            width: 150,
            render: (_, e) => (
              <span>
                {e.proposedBy}
                <br />
                <Typography.Text type="secondary">{fmtTime(e.proposedAt)}</Typography.Text>
              </span>
            ),
          },
          { title: t('inv.comment'), dataIndex: 'comment', ellipsis: true },
          {
            title: t('common.actions'),
            width: 160,
            render: (_, e) => (
              <Space>
                {e.canDecide && (
                  <>
                    <Button
                      size="small"
                      type="primary"
                      data-testid={`neg-approve-${e.id}`}
                      onClick={() => setDeciding({ entry: e, approve: true })}
                    >
                      {t('inv.approve')}
                    </Button>
                    <Button
                      size="small"
                      danger
                      data-testid={`neg-reject-${e.id}`}
                      onClick={() => setDeciding({ entry: e, approve: false })}
                    >
                      {t('inv.reject')}
                    </Button>
                  </>
                )}
                {e.canWithdraw && (
                  <Button size="small" data-testid={`neg-withdraw-${e.id}`} onClick={() => withdraw(e)}>
                    {t('inv.withdraw')}
                  </Button>
                )}
              </Space>
            ),
          },
        ]}
      />
      <Modal
        open={proposing}
        title={t('neg.propose')}
        onOk={propose}
        onCancel={() => setProposing(false)}
        okButtonProps={{ 'data-testid': 'neg-propose-ok' } as ButtonProps}
        destroyOnHidden
      >
        <Form form={form} layout="vertical">
          <Form.Item name="resourceId" label={t('inv.resource')} rules={[{ required: true }]}>
            <Select
              data-testid="neg-resource"
              options={candidates.map((r) => ({
                value: r.id,
                label: `${r.name}${paren(tEnum('shareType', r.shareType))}`,
              }))}
            />
          </Form.Item>
          <Form.Item name="basisKind" label={t('neg.basisKind')} rules={[{ required: true }]}>
            <Select
              data-testid="neg-basis-kind"
              options={BASIS_KINDS.map((k) => ({ value: k, label: tEnum('basisKind', k) }))}
            />
          </Form.Item>
          <Form.Item name="basisText" label={t('neg.basis')} rules={[{ required: true, max: 2000 }]}>
            <Input.TextArea data-testid="neg-basis-text" rows={2} />
          </Form.Item>
          <Form.Item name="reason" label={t('neg.reason')} rules={[{ required: true, max: 2000 }]}>
            <Input.TextArea data-testid="neg-reason" rows={2} />
          </Form.Item>
        </Form>
      </Modal>
      <Modal
        open={!!deciding}
        title={deciding?.approve ? t('inv.approve') : t('inv.reject')}
        onOk={decide}
        onCancel={() => setDeciding(null)}
        okButtonProps={{ 'data-testid': 'neg-decide-ok' } as ButtonProps}
        destroyOnHidden
      >
        <Typography.Paragraph>
          {deciding?.entry.org.name} · {deciding?.entry.resource.name}
        </Typography.Paragraph>
        <Form form={decideForm} layout="vertical">
          <Form.Item
            name="comment"
            label={t('inv.comment')}
            rules={[{ required: !deciding?.approve, message: t('inv.commentRequired') }]}
          >
            <Input.TextArea data-testid="neg-comment" rows={3} />
          </Form.Item>
        </Form>
      </Modal>
    </Card>
  );
}
