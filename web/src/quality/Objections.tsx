import type { ButtonProps } from 'antd';
import {
  App,
  Button,
  Card,
  Descriptions,
  Drawer,
  Empty,
  Form,
  Input,
  Modal,
  Segmented,
  Select,
  Space,
  Table,
  Tag,
  Timeline,
  Typography,
} from 'antd';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { OBJECTION_STATUSES } from '../../../src/quality/model.js';
import { articleText } from '../../../src/shared/labels.js';
import { api, errorText } from '../shared/api.js';
import { hasRole, useAuth } from '../shared/auth.js';
import { ErrorAlert, ProvisionalTag } from '../shared/common.js';
import { fmtDate, fmtTime } from '../shared/format.js';
import { useAsync, usePaging } from '../shared/hooks.js';
import { type Key, useI18n } from '../shared/i18n.js';
import type { Page } from '../shared/types.js';
import { OpenRectification } from './Rectifications.js';

interface Objection {
  id: number;
  resource: { id: number; name: string };
  provider: { id: number; name: string };
  objectorOrg: { id: number; name: string };
  objector: string;
  target: string;
  recordKey: string | null;
  field: { code: string; name: string } | null;
  problem: string;
  description: string;
  evidence: string | null;
  status: string;
  raisedOn: string;
  dueDate: string | null;
  dueDateProvisional: boolean;
  article: string | null;
  pauseAllowed: boolean;
  pausedOn: string | null;
  pauseReason: string | null;
  pausedWorkdays: number;
  escalatedOn: string | null;
  resolution: string | null;
  batchId: number | null;
  resolvedOn: string | null;
  overdue: boolean;
  workdaysLeft: number | null;
  workdaysOverdue: number | null;
  canVerify: boolean;
}
interface Detail extends Objection {
  events: {
    id: number;
    kind: string;
    onDate: string;
    text: string | null;
    at: string;
    actorName: string | null;
  }[];
}
interface Batch {
  id: number;
  filename: string | null;
  status: string;
  rowsTotal: number;
  createdAt: string;
}

const STATUS_COLOR: Record<string, string> = {
  submitted: 'gold',
  verifying: 'processing',
  paused: 'purple',
  corrected: 'green',
  rejected: 'default',
};

/** Working days left, due today, or overdue (the same words as the home page's to-do). */
export function DueTag({ o }: { o: Objection }) {
  const { t } = useI18n();
  if (o.status === 'paused' && o.pausedOn)
    return <Tag color="purple">{t('objection.pausedSince', { date: fmtDate(o.pausedOn) })}</Tag>;
  if (o.overdue) return <Tag color="error">{t('work.overdue', { n: o.workdaysOverdue ?? 0 })}</Tag>;
  if (o.workdaysLeft === 0) return <Tag color="warning">{t('work.dueToday')}</Tag>;
  if (o.workdaysLeft !== null)
    return (
      <Tag color={o.workdaysLeft <= 2 ? 'warning' : 'processing'}>
        {t('work.left', { n: o.workdaysLeft })}
      </Tag>
    );
  return null;
}

type Box = 'toVerify' | 'mine' | 'all';

/** Data objections (DG Art 28, NY task 8, GD Art 21): to verify, raised by us, all (the authority and auditors). */
export default function Objections() {
  const { t, tEnum, lang, colon } = useI18n();
  const { me } = useAuth();
  const { message } = App.useApp();
  const [params, setParams] = useSearchParams();
  const boxes: Box[] = [
    ...(hasRole(me, 'data_officer') ? (['toVerify'] as Box[]) : []),
    ...(hasRole(me, 'data_officer', 'consumer_staff', 'authority_reviewer', 'platform_admin')
      ? (['mine'] as Box[])
      : []),
    'all',
  ];
  const box = (boxes.includes(params.get('box') as Box) ? params.get('box') : boxes[0]) as Box;
  const [status, setStatus] = useState<string>('open');
  const paging = usePaging();
  const list = useAsync(
    () =>
      api<Page<Objection>>('/api/quality/objections', {
        query: { box, status: status || undefined, page: paging.page, pageSize: paging.pageSize },
      }),
    [box, status, paging.page, paging.pageSize],
  );
  const openId = Number(params.get('open')) || null;
  const setOpen = (id: number | null) => {
    const next = new URLSearchParams(params);
    if (id) next.set('open', String(id));
    else next.delete('open');
    setParams(next, { replace: true });
  };
  const detail = useAsync(
    () => (openId ? api<Detail>(`/api/quality/objections/${openId}`) : Promise.resolve(null)),
    [openId],
  );
  const [acting, setActing] = useState<'pause' | 'correct' | 'reject' | null>(null);
  const [rectifying, setRectifying] = useState(false);
  const authority = me?.user.org.kind === 'authority' && hasRole(me, 'authority_reviewer', 'platform_admin');
  const [form] = Form.useForm();
  const batches = useAsync(
    () =>
      acting === 'correct' && detail.data
        ? api<Batch[]>(`/api/ingest/resources/${detail.data.resource.id}/batches`)
        : Promise.resolve([] as Batch[]),
    [acting, detail.data?.id],
  );

  const act = async (action: string, body: Record<string, unknown> = {}) => {
    if (!openId) return;
    try {
      await api(`/api/quality/objections/${openId}/actions`, { body: { action, ...body } });
      message.success(t('objection.done'));
      setActing(null);
      form.resetFields();
      detail.reload();
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const submitActing = async () => {
    const v = await form.validateFields();
    if (acting === 'pause') await act('pause', { reason: v.reason });
    if (acting === 'reject') await act('reject', { reason: v.reason });
    if (acting === 'correct') await act('correct', { resolution: v.resolution, batchId: v.batchId ?? null });
  };

  const d = detail.data;
  return (
    <Card
      data-testid="page-objections"
      title={t('objection.title')}
      extra={
        <Space wrap>
          <Segmented
            data-testid="objection-box"
            value={box}
            onChange={(v) => {
              const next = new URLSearchParams(params);
              next.set('box', String(v));
              setParams(next);
              paging.reset();
            }}
            options={boxes.map((b) => ({ value: b, label: t(`objection.box.${b}` as Key) }))}
          />
          <Select
            style={{ width: 160 }}
            value={status}
            onChange={(v) => {
              setStatus(v);
              paging.reset();
            }}
            options={[
              { value: '', label: t('objection.statusAll') },
              { value: 'open', label: t('objection.statusOpen') },
              ...OBJECTION_STATUSES.map((s) => ({ value: s, label: tEnum('objectionStatus', s) })),
            ]}
          />
        </Space>
      }
    >
      <ErrorAlert error={list.error} />
      <Table<Objection>
        data-testid="objections-table"
        rowKey="id"
        size="small"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        locale={{ emptyText: <Empty description={t('objection.empty')} /> }}
        pagination={paging.pagination(list.data?.total, (n) => t('work.count', { n }))}
        onRow={(o) => ({ onClick: () => setOpen(o.id), style: { cursor: 'pointer' } })}
        columns={[
          {
            title: t('objection.resource'),
            render: (_, o) => <Typography.Text strong>{o.resource.name}</Typography.Text>,
          },
          {
            title: t('objection.target'),
            render: (_, o) =>
              o.target === 'record'
                ? `${tEnum('objectionTarget', o.target)}${colon}${o.recordKey}`
                : o.field
                  ? `${tEnum('objectionTarget', o.target)}${colon}${o.field.name}`
                  : tEnum('objectionTarget', o.target),
          },
          { title: t('objection.problem'), render: (_, o) => tEnum('objectionProblem', o.problem) },
          {
            title: box === 'mine' ? t('objection.provider') : t('objection.objectorOrg'),
            render: (_, o) => (box === 'mine' ? o.provider.name : o.objectorOrg.name),
          },
          { title: t('objection.raisedOn'), render: (_, o) => fmtDate(o.raisedOn) },
          {
            title: t('objection.status'),
            render: (_, o) => (
              <Tag color={STATUS_COLOR[o.status]} data-testid={`objection-status-${o.id}`}>
                {tEnum('objectionStatus', o.status)}
              </Tag>
            ),
          },
          {
            title: t('objection.dueDate'),
            render: (_, o) =>
              o.dueDate ? (
                <Space size={4} wrap>
                  {fmtDate(o.dueDate)}
                  <ProvisionalTag show={o.dueDateProvisional} />
                  {['submitted', 'verifying', 'paused'].includes(o.status) ? <DueTag o={o} /> : null}
                </Space>
              ) : (
                <Typography.Text type="secondary">{t('objection.noDeadline')}</Typography.Text>
              ),
          },
        ]}
      />
      <Drawer
        open={!!openId}
        onClose={() => setOpen(null)}
        width={720}
        title={d ? `${t('objection.title')} · ${d.resource.name}` : t('objection.title')}
        loading={detail.loading && !d}
      >
        <ErrorAlert error={detail.error} />
        {d ? (
          <div data-testid="objection-detail">
            <Descriptions bordered size="small" column={2}>
              <Descriptions.Item label={t('objection.resource')} span={2}>
                <Link to={`/catalog/${d.resource.id}`}>{d.resource.name}</Link>
              </Descriptions.Item>
              <Descriptions.Item label={t('objection.status')}>
                <Tag color={STATUS_COLOR[d.status]} data-testid="objection-detail-status">
                  {tEnum('objectionStatus', d.status)}
                </Tag>
              </Descriptions.Item>
              <Descriptions.Item label={t('objection.dueDate')}>
                {d.dueDate ? (
                  <Space size={4} wrap>
                    {fmtDate(d.dueDate)}
                    {['submitted', 'verifying', 'paused'].includes(d.status) ? <DueTag o={d} /> : null}
                  </Space>
                ) : (
                  t('objection.noDeadline')
                )}
              </Descriptions.Item>
              <Descriptions.Item label={t('objection.article')}>
                {d.article ? articleText(d.article, lang) : '-'}
              </Descriptions.Item>
              <Descriptions.Item label={t('objection.provider')}>{d.provider.name}</Descriptions.Item>
              <Descriptions.Item label={t('objection.objectorOrg')}>{d.objectorOrg.name}</Descriptions.Item>
              <Descriptions.Item label={t('objection.objector')}>{d.objector}</Descriptions.Item>
              <Descriptions.Item label={t('objection.target')}>
                {tEnum('objectionTarget', d.target)}
              </Descriptions.Item>
              <Descriptions.Item label={t('objection.problem')}>
                {tEnum('objectionProblem', d.problem)}
              </Descriptions.Item>
              {d.recordKey ? (
                <Descriptions.Item label={t('objection.recordKey')} span={2}>
                  {d.recordKey}
                </Descriptions.Item>
              ) : null}
              {d.field ? (
                <Descriptions.Item label={t('objection.field')} span={2}>
                  {d.field.name}
                </Descriptions.Item>
              ) : null}
              <Descriptions.Item label={t('objection.description')} span={2}>
                {d.description}
              </Descriptions.Item>
              {d.evidence ? (
                <Descriptions.Item label={t('objection.evidence')} span={2}>
                  {d.evidence}
                </Descriptions.Item>
              ) : null}
              {d.resolution ? (
                <Descriptions.Item label={t('objection.resolution')} span={2}>
                  <span data-testid="objection-resolution">{d.resolution}</span>
                </Descriptions.Item>
              ) : null}
              {d.status === 'corrected' ? (
                <Descriptions.Item label={t('objection.batch')} span={2}>
                  {d.batchId ? (
                    <Link to={`/ingest?resource=${d.resource.id}`}>{t('objection.batch')}</Link>
                  ) : (
                    t('objection.batchNone')
                  )}
                </Descriptions.Item>
              ) : null}
            </Descriptions>
            <Space direction="vertical" style={{ marginTop: 8 }}>
              {d.pausedWorkdays > 0 ? (
                <Typography.Text type="secondary">
                  {t('objection.pausedDays', { n: d.pausedWorkdays })}
                </Typography.Text>
              ) : null}
              {d.escalatedOn ? (
                <Typography.Text type="warning">
                  {t('objection.escalatedOn', { date: fmtDate(d.escalatedOn) })}
                </Typography.Text>
              ) : null}
            </Space>
            {d.canVerify ? (
              <Space wrap style={{ marginTop: 16 }} data-testid="objection-actions">
                {d.status === 'submitted' ? (
                  <Button data-testid="objection-start" onClick={() => act('start')}>
                    {t('objection.start')}
                  </Button>
                ) : null}
                {d.pauseAllowed && d.status !== 'paused' ? (
                  <Button data-testid="objection-pause" onClick={() => setActing('pause')}>
                    {t('objection.pause')}
                  </Button>
                ) : null}
                {d.status === 'paused' ? (
                  <Button data-testid="objection-resume" onClick={() => act('resume')}>
                    {t('objection.resume')}
                  </Button>
                ) : null}
                <Button type="primary" data-testid="objection-correct" onClick={() => setActing('correct')}>
                  {t('objection.correct')}
                </Button>
                <Button danger data-testid="objection-reject" onClick={() => setActing('reject')}>
                  {t('objection.reject')}
                </Button>
              </Space>
            ) : null}
            {authority && d.status === 'corrected' ? (
              <Button
                style={{ marginTop: 16 }}
                data-testid="objection-rectify"
                onClick={() => setRectifying(true)}
              >
                {t('rect.fromObjection')}
              </Button>
            ) : null}
            <Typography.Title level={5} style={{ marginTop: 24 }}>
              {t('objection.timeline')}
            </Typography.Title>
            <Timeline
              items={d.events.map((e) => ({
                key: e.id,
                children: (
                  <Space direction="vertical" size={0}>
                    <Typography.Text strong>{tEnum('objectionEvent', e.kind)}</Typography.Text>
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
        open={rectifying}
        onClose={() => setRectifying(false)}
        objection={d ? { id: d.id, resourceName: d.resource.name } : null}
      />
      <Modal
        open={acting !== null}
        title={acting ? t(`objection.${acting}` as Key) : ''}
        onCancel={() => setActing(null)}
        onOk={submitActing}
        okButtonProps={{ 'data-testid': 'objection-act-ok' } as ButtonProps}
        destroyOnHidden
      >
        <Form form={form} layout="vertical" preserve={false}>
          {acting === 'pause' || acting === 'reject' ? (
            <Form.Item
              name="reason"
              label={acting === 'pause' ? t('objection.pauseReason') : t('objection.rejectReason')}
              rules={[{ required: true, whitespace: true, max: 500 }]}
            >
              <Input.TextArea data-testid="objection-reason" rows={3} maxLength={500} showCount />
            </Form.Item>
          ) : null}
          {acting === 'correct' ? (
            <>
              <Form.Item
                name="resolution"
                label={t('objection.correctText')}
                rules={[{ required: true, whitespace: true, max: 2000 }]}
              >
                <Input.TextArea
                  data-testid="objection-resolution-input"
                  rows={3}
                  maxLength={2000}
                  showCount
                />
              </Form.Item>
              <Form.Item name="batchId" label={t('objection.chooseBatch')}>
                <Select
                  allowClear
                  loading={batches.loading}
                  options={(batches.data ?? [])
                    .filter((b) => b.status === 'committed')
                    .map((b) => ({
                      value: b.id,
                      label: `${fmtTime(b.createdAt)} · ${b.filename ?? t('objection.batch')} · ${b.rowsTotal}`,
                    }))}
                />
              </Form.Item>
            </>
          ) : null}
        </Form>
      </Modal>
    </Card>
  );
}
