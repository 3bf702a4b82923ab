import {
  App,
  Button,
  type ButtonProps,
  Card,
  Descriptions,
  Drawer,
  Empty,
  Form,
  Input,
  Modal,
  Select,
  Space,
  Table,
  Tag,
  Timeline,
  Typography,
} from 'antd';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { articleText } from '../../../src/shared/labels.js';
import { api, errorText } from '../shared/api.js';
import { hasRole, useAuth } from '../shared/auth.js';
import { ErrorAlert, ProvisionalTag } from '../shared/common.js';
import { fmtDate, fmtTime } from '../shared/format.js';
import { useAsync, usePaging } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { Page } from '../shared/types.js';

interface Task {
  id: number;
  resource: { id: number; name: string };
  provider: { id: number; name: string };
  source: 'objection' | 'check';
  objectionId: number | null;
  title: string;
  description: string;
  status: 'open' | 'closed';
  openedOn: string;
  dueDate: string | null;
  dueDateProvisional: boolean;
  article: string | null;
  escalatedOn: string | null;
  evidence: string | null;
  batchId: number | null;
  closedOn: string | null;
  overdue: boolean;
  workdaysLeft: number | null;
  workdaysOverdue: number | null;
  canClose: boolean;
}
interface Detail extends Task {
  events: { id: number; kind: string; text: string | null; at: string; actorName: string | null }[];
}

function Due({ task }: { task: Task }) {
  const { t } = useI18n();
  if (!task.dueDate) return <Typography.Text type="secondary">{t('rect.noDeadline')}</Typography.Text>;
  return (
    <Space size={4} wrap>
      {fmtDate(task.dueDate)}
      <ProvisionalTag show={task.dueDateProvisional} />
      {task.status !== 'open' ? null : task.overdue ? (
        <Tag color="error">{t('work.overdue', { n: task.workdaysOverdue ?? 0 })}</Tag>
      ) : task.workdaysLeft === 0 ? (
        <Tag color="warning">{t('work.dueToday')}</Tag>
      ) : (
        <Tag color={(task.workdaysLeft ?? 9) <= 2 ? 'warning' : 'processing'}>
          {t('work.left', { n: task.workdaysLeft ?? 0 })}
        </Tag>
      )}
    </Space>
  );
}

/** The authority opens a rectification task: from a failed check (a resource) or from a confirmed objection. */
export function OpenRectification({
  open,
  onClose,
  objection,
  onOpened,
}: {
  open: boolean;
  onClose: () => void;
  objection?: { id: number; resourceName: string } | null;
  onOpened?: (id: number) => void;
}) {
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm();
  const [q, setQ] = useState('');
  const resources = useAsync(
    () =>
      open && !objection
        ? api<Page<{ id: number; name: string }>>('/api/catalog/resources', { query: { q, pageSize: 50 } })
        : Promise.resolve(null),
    [open, q, objection?.id],
  );
  const submit = async () => {
    const v = await form.validateFields();
    try {
      const r = await api<{ id: number }>('/api/quality/rectifications', {
        body: {
          title: v.title,
          description: v.description,
          ...(objection ? { objectionId: objection.id } : { resourceId: v.resourceId }),
        },
      });
      message.success(t('rect.opened'));
      form.resetFields();
      onClose();
      onOpened?.(r.id);
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  return (
    <Modal
      open={open}
      title={objection ? `${t('rect.fromObjection')} · ${objection.resourceName}` : t('rect.open')}
      onCancel={onClose}
      onOk={submit}
      okButtonProps={{ 'data-testid': 'rect-open-ok' } as ButtonProps}
      destroyOnHidden
    >
      <Form form={form} layout="vertical" preserve={false}>
        {objection ? null : (
          <Form.Item name="resourceId" label={t('rect.chooseResource')} rules={[{ required: true }]}>
            <Select
              showSearch
              filterOption={false}
              onSearch={setQ}
              loading={resources.loading}
              options={(resources.data?.items ?? []).map((r) => ({ value: r.id, label: r.name }))}
            />
          </Form.Item>
        )}
        <Form.Item
          name="title"
          label={t('rect.name')}
          rules={[{ required: true, whitespace: true, max: 200 }]}
        >
          <Input maxLength={200} data-testid="rect-title" />
        </Form.Item>
        <Form.Item
          name="description"
          label={t('rect.description')}
          rules={[{ required: true, whitespace: true, max: 2000 }]}
        >
          <Input.TextArea rows={3} maxLength={2000} showCount data-testid="rect-description" />
        </Form.Item>
      </Form>
    </Modal>
  );
}

/** Rectification tasks (XT Art 22: 10 WD; NY task 8: closed loop). */
export default function Rectifications() {
  const { t, tEnum, lang } = useI18n();
  const { me } = useAuth();
  const { message } = App.useApp();
  const [params, setParams] = useSearchParams();
  const [status, setStatus] = useState<string>('open');
  const paging = usePaging();
  const list = useAsync(
    () =>
      api<Page<Task>>('/api/quality/rectifications', {
        query: { status: status || undefined, page: paging.page, pageSize: paging.pageSize },
      }),
    [status, paging.page, paging.pageSize],
  );
  const openId = Number(params.get('open')) || null;
  const setOpen = (id: number | null) => {
    const next = new URLSearchParams(params);
    if (id) next.set('open', String(id));
    else next.delete('open');
    setParams(next, { replace: true });
  };
  const detail = useAsync(
    () => (openId ? api<Detail>(`/api/quality/rectifications/${openId}`) : Promise.resolve(null)),
    [openId],
  );
  const [opening, setOpening] = useState(false);
  const [form] = Form.useForm();
  const canOpen = me?.user.org.kind === 'authority' && hasRole(me, 'authority_reviewer', 'platform_admin');
  const close = async () => {
    if (!openId) return;
    const v = await form.validateFields();
    try {
      await api(`/api/quality/rectifications/${openId}/close`, { body: { evidence: v.evidence } });
      message.success(t('rect.closed'));
      form.resetFields();
      detail.reload();
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const d = detail.data;
  return (
    <Card
      data-testid="page-rectifications"
      title={t('rect.title')}
      extra={
        <Space wrap>
          <Select
            style={{ width: 140 }}
            value={status}
            onChange={(v) => {
              setStatus(v);
              paging.reset();
            }}
            options={[
              { value: '', label: t('rect.statusAll') },
              { value: 'open', label: tEnum('rectStatus', 'open') },
              { value: 'closed', label: tEnum('rectStatus', 'closed') },
            ]}
          />
          {canOpen ? (
            <Button type="primary" data-testid="rect-open" onClick={() => setOpening(true)}>
              {t('rect.open')}
            </Button>
          ) : null}
        </Space>
      }
    >
      <ErrorAlert error={list.error} />
      <Table<Task>
        data-testid="rect-table"
        rowKey="id"
        size="small"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        locale={{ emptyText: <Empty description={t('rect.empty')} /> }}
        pagination={paging.pagination(list.data?.total, (n) => t('work.count', { n }))}
        onRow={(r) => ({ onClick: () => setOpen(r.id), style: { cursor: 'pointer' } })}
        columns={[
          { title: t('rect.name'), render: (_, r) => <Typography.Text strong>{r.title}</Typography.Text> },
          { title: t('rect.resource'), render: (_, r) => r.resource.name },
          { title: t('rect.provider'), render: (_, r) => r.provider.name },
          { title: t('rect.source'), render: (_, r) => tEnum('rectSource', r.source) },
          { title: t('rect.openedOn'), render: (_, r) => fmtDate(r.openedOn) },
          {
            title: t('rect.status'),
            render: (_, r) => (
              <Tag color={r.status === 'open' ? 'processing' : 'green'}>{tEnum('rectStatus', r.status)}</Tag>
            ),
          },
          { title: t('rect.dueDate'), render: (_, r) => <Due task={r} /> },
        ]}
      />
      <Drawer open={!!openId} onClose={() => setOpen(null)} width={680} title={d?.title ?? t('rect.title')}>
        <ErrorAlert error={detail.error} />
        {d ? (
          <div data-testid="rect-detail">
            <Descriptions bordered size="small" column={2}>
              <Descriptions.Item label={t('rect.resource')} span={2}>
                <Link to={`/catalog/${d.resource.id}`}>{d.resource.name}</Link>
              </Descriptions.Item>
              <Descriptions.Item label={t('rect.status')}>
                <Tag color={d.status === 'open' ? 'processing' : 'green'} data-testid="rect-status">
                  {tEnum('rectStatus', d.status)}
                </Tag>
              </Descriptions.Item>
              <Descriptions.Item label={t('rect.dueDate')}>
                <Due task={d} />
              </Descriptions.Item>
              <Descriptions.Item label={t('rect.provider')}>{d.provider.name}</Descriptions.Item>
              <Descriptions.Item label={t('rect.article')}>
                {d.article ? articleText(d.article, lang) : '-'}
              </Descriptions.Item>
              <Descriptions.Item label={t('rect.source')} span={2}>
                {d.objectionId ? (
                  <Link to={`/objections?box=all&open=${d.objectionId}`}>
                    {tEnum('rectSource', d.source)}
                  </Link>
                ) : (
                  tEnum('rectSource', d.source)
                )}
              </Descriptions.Item>
              <Descriptions.Item label={t('rect.description')} span={2}>
                {d.description}
              </Descriptions.Item>
              {d.evidence ? (
                <Descriptions.Item label={t('rect.evidence')} span={2}>
                  {d.evidence}
                </Descriptions.Item>
              ) : null}
            </Descriptions>
            {d.escalatedOn ? (
              <Typography.Paragraph type="warning" style={{ marginTop: 8 }}>
                {t('rect.escalatedOn', { date: fmtDate(d.escalatedOn) })}
              </Typography.Paragraph>
            ) : null}
            {d.canClose ? (
              <Form form={form} layout="vertical" style={{ marginTop: 16 }}>
                <Form.Item
                  name="evidence"
                  label={t('rect.evidence')}
                  rules={[{ required: true, whitespace: true, max: 4000 }]}
                >
                  <Input.TextArea rows={3} maxLength={4000} showCount data-testid="rect-evidence" />
                </Form.Item>
                <Button type="primary" data-testid="rect-close" onClick={close}>
                  {t('rect.close')}
                </Button>
              </Form>
            ) : null}
            <Timeline
              style={{ marginTop: 24 }}
              items={d.events.map((e) => ({
                key: e.id,
                children: (
                  <Space direction="vertical" size={0}>
                    <Typography.Text strong>{tEnum('rectEvent', e.kind)}</Typography.Text>
                    <Typography.Text type="secondary">
                      {fmtTime(e.at)}
                      {e.actorName ? ` · ${e.actorName}` : ''}
                    </Typography.Text>
                    {e.text ? <Typography.Text>{e.text}</Typography.Text> : null}
                  </Space>
                ),
              }))}
            />
          </div>
        ) : null}
      </Drawer>
      <OpenRectification
        open={opening}
        onClose={() => setOpening(false)}
        onOpened={(id) => {
          list.reload();
          setOpen(id);
        }}
      />
    </Card>
  );
}
