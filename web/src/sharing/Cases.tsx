import {
  Alert,
  App as AntApp,
  Button,
  Card,
  DatePicker,
  Descriptions,
  Drawer,
  Empty,
  Form,
  Input,
  Modal,
  Select,
  Space,
  Table,
  Tabs,
  Tag,
  Typography,
} from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { articleText } from '../../../src/shared/labels.js';
import { api, errorText, post } from '../shared/api.js';
import { hasRole, useAuth } from '../shared/auth.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtDate, fmtTime } from '../shared/format.js';
import { useAsync, usePaging } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { Page, Profile } from '../shared/types.js';
import { ReevaluationTab, SharingStats } from './Reevaluation.js';

/*
 * Sharing cases beside the request path (issue 8 points 6–8; server: src/sharing/cases.ts): disputes (DG Art 15,
 * SY Art 28), supply stops (SY Art 27) and emergencies (XT Art 23.7, NY task 7). A tab whose procedure the active
 * regulation does not provide says so and offers no action: the server refuses it too.
 */

interface Dispute {
  id: number;
  requestId: number;
  resource: { id: number; name: string };
  consumerOrg: { name: string };
  providerOrg: { name: string };
  purpose: string;
  raisedBy: string;
  raisedAt: string;
  reason: string;
  status: 'open' | 'referred' | 'upheld' | 'overturned';
  article: string;
  referredOn: string | null;
  referralNote: string | null;
  decidedAt: string | null;
  decidedLevel: 'authority' | 'government' | null;
  decision: string | null;
  grantId: number | null;
  canDecide: boolean;
  canRefer: boolean;
}
interface Stop {
  id: number;
  resource: { id: number; name: string };
  providerOrg: { name: string };
  filedBy: string;
  filedOn: string;
  reason: string;
  effectiveOn: string;
  article: string | null;
  status: 'filed' | 'effective' | 'cancelled';
  grantsAffected: number;
  canCancel: boolean;
}
interface Emergency {
  id: number;
  reason: string;
  mode: 'reclassify' | 'greenChannel';
  article: string;
  resources: { id: number; name: string }[];
  startsAt: string;
  endsAt: string;
  status: 'active' | 'ended';
  endedAt: string | null;
  declaredBy: string;
  grants: number;
}
interface ResourceOption {
  id: number;
  name: string;
  code: string;
}

const DISPUTE_COLORS = {
  open: 'processing',
  referred: 'warning',
  upheld: 'default',
  overturned: 'green',
} as const;
const STOP_COLORS = { filed: 'warning', effective: 'error', cancelled: 'default' } as const;

/** Catalog search as a select: published entries, optionally one provider's. */
function ResourcePicker(props: {
  value?: number[] | number;
  onChange?: (v: number[] | number) => void;
  multiple?: boolean;
  providerOrgId?: number;
  testId: string;
}) {
  const { t } = useI18n();
  const [q, setQ] = useState('');
  const found = useAsync(
    () =>
      api<Page<ResourceOption>>('/api/catalog/resources', {
        query: { q: q || undefined, providerOrgId: props.providerOrgId, pageSize: 50 },
      }),
    [q, props.providerOrgId],
  );
  return (
    <Select
      data-testid={props.testId}
      mode={props.multiple ? 'multiple' : undefined}
      showSearch
      filterOption={false}
      onSearch={setQ}
      value={props.value}
      onChange={props.onChange}
      placeholder={t('cases.pickResource')}
      loading={found.loading}
      options={(found.data?.items ?? []).map((r) => ({ value: r.id, label: r.name }))}
    />
  );
}

function DisputesTab({ profile }: { profile: Profile | null | undefined }) {
  const { t, tEnum, lang } = useI18n();
  const { message } = AntApp.useApp();
  const [params, setParams] = useSearchParams();
  const paging = usePaging();
  const list = useAsync(
    () =>
      api<Page<Dispute>>('/api/sharing/disputes', {
        query: { page: paging.page, pageSize: paging.pageSize },
      }),
    [paging.page, paging.pageSize],
  );
  const openId = Number(params.get('open')) || null;
  const setOpen = (id: number | null) => {
    const next = new URLSearchParams(params);
    if (id) next.set('open', String(id));
    else next.delete('open');
    setParams(next, { replace: true });
  };
  const detail = useAsync(
    () => (openId ? api<Dispute>(`/api/sharing/disputes/${openId}`) : Promise.resolve(null)),
    [openId],
  );
  const [form] = Form.useForm<{ outcome: string; comment: string }>();
  const rule = profile?.sharing.disputes;
  const d = detail.data;
  const decide = async () => {
    if (!d) return;
    const v = await form.validateFields();
    try {
      await post(`/api/sharing/disputes/${d.id}/decide`, v);
      message.success(t('cases.saved'));
      form.resetFields();
      detail.reload();
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  return (
    <>
      {rule ? (
        <Alert
          type="info"
          showIcon
          style={{ marginBottom: 12 }}
          message={t(
            rule.resolvedBy.includes('government') ? 'cases.disputeRuleReferral' : 'cases.disputeRule',
            {
              article: articleText(rule.article, lang),
            },
          )}
        />
      ) : (
        <Alert type="warning" showIcon style={{ marginBottom: 12 }} message={t('cases.disputeNone')} />
      )}
      <ErrorAlert error={list.error} />
      <Table<Dispute>
        data-testid="dispute-table"
        rowKey="id"
        size="small"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        locale={{ emptyText: <Empty description={t('cases.disputeEmpty')} /> }}
        pagination={paging.pagination(list.data?.total, (n) => t('work.count', { n }))}
        onRow={(r) => ({ onClick: () => setOpen(r.id), style: { cursor: 'pointer' } })}
        columns={[
          {
            title: t('cases.resource'),
            render: (_, r) => <Typography.Text strong>{r.resource.name}</Typography.Text>,
          },
          { title: t('cases.consumer'), render: (_, r) => r.consumerOrg.name },
          { title: t('cases.provider'), render: (_, r) => r.providerOrg.name },
          { title: t('cases.raisedAt'), render: (_, r) => fmtDate(r.raisedAt) },
          {
            title: t('cases.status'),
            render: (_, r) => <Tag color={DISPUTE_COLORS[r.status]}>{tEnum('disputeStatus', r.status)}</Tag>,
          },
        ]}
      />
      <Drawer
        open={!!openId}
        onClose={() => setOpen(null)}
        width={640}
        title={t('cases.disputeDetail')}
        destroyOnHidden
      >
        <ErrorAlert error={detail.error} />
        {d ? (
          <div data-testid="dispute-detail">
            <Descriptions bordered size="small" column={1}>
              <Descriptions.Item label={t('cases.resource')}>
                <Link to={`/catalog/${d.resource.id}`}>{d.resource.name}</Link>
              </Descriptions.Item>
              <Descriptions.Item label={t('cases.request')}>
                <Link to={`/requests?box=all&open=${d.requestId}`}>{d.purpose}</Link>
              </Descriptions.Item>
              <Descriptions.Item label={t('cases.status')}>
                <Tag color={DISPUTE_COLORS[d.status]} data-testid="dispute-status">
                  {tEnum('disputeStatus', d.status)}
                </Tag>
                {d.decidedLevel ? tEnum('disputeLevel', d.decidedLevel) : null}
              </Descriptions.Item>
              <Descriptions.Item label={t('cases.raisedBy')}>
                {d.consumerOrg.name} · {d.raisedBy} · {fmtTime(d.raisedAt)}
              </Descriptions.Item>
              <Descriptions.Item label={t('cases.reason')}>{d.reason}</Descriptions.Item>
              <Descriptions.Item label={t('cases.basis')}>{articleText(d.article, lang)}</Descriptions.Item>
              {d.referredOn ? (
                <Descriptions.Item label={t('cases.referredOn')}>
                  {fmtDate(d.referredOn)} · {d.referralNote}
                </Descriptions.Item>
              ) : null}
              {d.decision ? (
                <Descriptions.Item label={t('cases.decision')}>
                  {d.decision}
                  {d.decidedAt ? ` · ${fmtTime(d.decidedAt)}` : ''}
                </Descriptions.Item>
              ) : null}
            </Descriptions>
            {d.canDecide ? (
              <Form form={form} layout="vertical" style={{ marginTop: 16 }}>
                <Form.Item
                  name="outcome"
                  label={t(d.status === 'referred' ? 'cases.governmentOutcome' : 'cases.outcome')}
                  rules={[{ required: true }]}
                >
                  <Select
                    data-testid="dispute-outcome"
                    options={(['upheld', 'overturned', ...(d.canRefer ? ['referred'] : [])] as const).map(
                      (o) => ({
                        value: o,
                        label: tEnum('disputeOutcome', o),
                      }),
                    )}
                  />
                </Form.Item>
                <Form.Item
                  name="comment"
                  label={t('cases.comment')}
                  rules={[{ required: true, whitespace: true, max: 2000 }]}
                >
                  <Input.TextArea rows={3} maxLength={2000} showCount data-testid="dispute-comment" />
                </Form.Item>
                <Button type="primary" data-testid="dispute-decide" onClick={decide}>
                  {t('cases.decide')}
                </Button>
              </Form>
            ) : null}
          </div>
        ) : null}
      </Drawer>
    </>
  );
}

function StopsTab({ profile }: { profile: Profile | null | undefined }) {
  const { t, tEnum, lang } = useI18n();
  const { me } = useAuth();
  const { message, modal } = AntApp.useApp();
  const paging = usePaging();
  const list = useAsync(
    () =>
      api<Page<Stop>>('/api/sharing/supply-stops', {
        query: { page: paging.page, pageSize: paging.pageSize },
      }),
    [paging.page, paging.pageSize],
  );
  const [filing, setFiling] = useState(false);
  const [form] = Form.useForm<{ resourceId: number; reason: string; effectiveOn: Dayjs }>();
  const article = profile?.sharing.stopSupplyNeedsFiling;
  const earliest = dayjs()
    .startOf('day')
    .add(article ? 1 : 0, 'day');
  const file = async () => {
    const v = await form.validateFields();
    try {
      await post('/api/sharing/supply-stops', {
        resourceId: v.resourceId,
        reason: v.reason,
        effectiveOn: v.effectiveOn.format('YYYY-MM-DD'),
      });
      message.success(t('cases.saved'));
      setFiling(false);
      form.resetFields();
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  return (
    <>
      <Space style={{ marginBottom: 12, width: '100%', justifyContent: 'space-between' }} wrap>
        <Typography.Text type="secondary">
          {article ? t('cases.stopRuleFiling', { article: articleText(article, lang) }) : t('cases.stopRule')}
        </Typography.Text>
        {hasRole(me, 'data_officer') ? (
          <Button type="primary" data-testid="stop-file" onClick={() => setFiling(true)}>
            {t('cases.stopFile')}
          </Button>
        ) : null}
      </Space>
      <ErrorAlert error={list.error} />
      <Table<Stop>
        data-testid="stop-table"
        rowKey="id"
        size="small"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        locale={{ emptyText: <Empty description={t('cases.stopEmpty')} /> }}
        pagination={paging.pagination(list.data?.total, (n) => t('work.count', { n }))}
        columns={[
          {
            title: t('cases.resource'),
            render: (_, r) => <Link to={`/catalog/${r.resource.id}`}>{r.resource.name}</Link>,
          },
          { title: t('cases.provider'), render: (_, r) => r.providerOrg.name },
          { title: t('cases.effectiveOn'), render: (_, r) => fmtDate(r.effectiveOn) },
          { title: t('cases.reason'), render: (_, r) => r.reason },
          { title: t('cases.grantsAffected'), render: (_, r) => r.grantsAffected },
          {
            title: t('cases.status'),
            render: (_, r) => <Tag color={STOP_COLORS[r.status]}>{tEnum('stopStatus', r.status)}</Tag>,
          },
          {
            title: '',
            render: (_, r) =>
              r.canCancel ? (
                <Button
                  size="small"
                  data-testid={`stop-cancel-${r.id}`}
                  onClick={() =>
                    modal.confirm({
                      title: t(r.status === 'filed' ? 'cases.stopCancelConfirm' : 'cases.stopResumeConfirm'),
                      okText: t('common.ok'),
                      cancelText: t('common.cancel'),
                      onOk: async () => {
                        await post(`/api/sharing/supply-stops/${r.id}/cancel`, {});
                        list.reload();
                      },
                    })
                  }
                >
                  {t(r.status === 'filed' ? 'cases.stopCancel' : 'cases.stopResume')}
                </Button>
              ) : null,
          },
        ]}
      />
      <Modal
        open={filing}
        title={t('cases.stopFile')}
        onCancel={() => setFiling(false)}
        onOk={file}
        okText={t('common.ok')}
        cancelText={t('common.cancel')}
        destroyOnHidden
      >
        <Form form={form} layout="vertical" initialValues={{ effectiveOn: earliest.add(7, 'day') }}>
          <Form.Item name="resourceId" label={t('cases.resource')} rules={[{ required: true }]}>
            <ResourcePicker providerOrgId={me?.user.org.id} testId="stop-resource" />
          </Form.Item>
          <Form.Item
            name="reason"
            label={t('cases.stopReason')}
            extra={article ? articleText(article, lang) : undefined}
            rules={[{ required: true, whitespace: true, min: 4, max: 2000 }]}
          >
            <Input.TextArea rows={3} maxLength={2000} showCount data-testid="stop-reason" />
          </Form.Item>
          <Form.Item name="effectiveOn" label={t('cases.effectiveOn')} rules={[{ required: true }]}>
            <DatePicker data-testid="stop-date" disabledDate={(d) => d.isBefore(earliest, 'day')} />
          </Form.Item>
        </Form>
      </Modal>
    </>
  );
}

function EmergenciesTab({ profile }: { profile: Profile | null | undefined }) {
  const { t, tEnum, lang } = useI18n();
  const { me } = useAuth();
  const { message, modal } = AntApp.useApp();
  const list = useAsync(() => api<Emergency[]>('/api/sharing/emergencies'), []);
  const [declaring, setDeclaring] = useState(false);
  const [form] = Form.useForm<{ resourceIds: number[]; reason: string; endsAt: Dayjs }>();
  const rule = profile?.sharing.emergency;
  const canDeclare = !!rule && me?.user.org.kind === 'authority' && hasRole(me, 'authority_reviewer');
  const declare = async () => {
    const v = await form.validateFields();
    try {
      await post('/api/sharing/emergencies', {
        resourceIds: v.resourceIds,
        reason: v.reason,
        endsAt: v.endsAt.toISOString(),
      });
      message.success(t('cases.saved'));
      setDeclaring(false);
      form.resetFields();
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  return (
    <>
      {rule ? (
        <Space style={{ marginBottom: 12, width: '100%', justifyContent: 'space-between' }} wrap>
          <Typography.Text type="secondary">
            {t(rule.mode === 'reclassify' ? 'cases.emergencyReclassify' : 'cases.emergencyGreen', {
              article: articleText(rule.article, lang),
            })}
          </Typography.Text>
          {canDeclare ? (
            <Button type="primary" danger data-testid="emergency-declare" onClick={() => setDeclaring(true)}>
              {t('cases.emergencyDeclare')}
            </Button>
          ) : null}
        </Space>
      ) : (
        <Alert type="warning" showIcon style={{ marginBottom: 12 }} message={t('cases.emergencyNone')} />
      )}
      <ErrorAlert error={list.error} />
      <Table<Emergency>
        data-testid="emergency-table"
        rowKey="id"
        size="small"
        loading={list.loading}
        dataSource={list.data ?? []}
        locale={{ emptyText: <Empty description={t('cases.emergencyEmpty')} /> }}
        pagination={false}
        columns={[
          { title: t('cases.reason'), render: (_, r) => r.reason },
          { title: t('cases.emergencyMode'), render: (_, r) => tEnum('emergencyMode', r.mode) },
          {
            title: t('cases.resources'),
            render: (_, r) => r.resources.map((x) => x.name).join(t('punct.list')),
          },
          { title: t('cases.endsAt'), render: (_, r) => fmtTime(r.endedAt ?? r.endsAt) },
          { title: t('cases.grants'), render: (_, r) => r.grants },
          {
            title: t('cases.status'),
            render: (_, r) => (
              <Tag color={r.status === 'active' ? 'error' : 'default'}>
                {tEnum('emergencyStatus', r.status)}
              </Tag>
            ),
          },
          {
            title: '',
            render: (_, r) =>
              canDeclare && r.status === 'active' ? (
                <Button
                  size="small"
                  data-testid={`emergency-end-${r.id}`}
                  onClick={() =>
                    modal.confirm({
                      title: t('cases.emergencyEndConfirm'),
                      okText: t('common.ok'),
                      cancelText: t('common.cancel'),
                      onOk: async () => {
                        await post(`/api/sharing/emergencies/${r.id}/end`, {});
                        list.reload();
                      },
                    })
                  }
                >
                  {t('cases.emergencyEnd')}
                </Button>
              ) : null,
          },
        ]}
      />
      <Modal
        open={declaring}
        title={t('cases.emergencyDeclare')}
        onCancel={() => setDeclaring(false)}
        onOk={declare}
        okText={t('common.ok')}
        cancelText={t('common.cancel')}
        destroyOnHidden
      >
        <Form form={form} layout="vertical" initialValues={{ endsAt: dayjs().add(3, 'day').endOf('hour') }}>
          <Form.Item name="resourceIds" label={t('cases.resources')} rules={[{ required: true }]}>
            <ResourcePicker multiple testId="emergency-resources" />
          </Form.Item>
          <Form.Item
            name="reason"
            label={t('cases.emergencyReason')}
            rules={[{ required: true, whitespace: true, min: 4, max: 2000 }]}
          >
            <Input.TextArea rows={3} maxLength={2000} showCount data-testid="emergency-reason" />
          </Form.Item>
          <Form.Item name="endsAt" label={t('cases.endsAt')} rules={[{ required: true }]}>
            <DatePicker
              showTime
              data-testid="emergency-ends"
              disabledDate={(d) => d.isBefore(dayjs(), 'day') || d.isAfter(dayjs().add(90, 'day'))}
            />
          </Form.Item>
        </Form>
      </Modal>
    </>
  );
}

/** 共享事务: disputes, supply stops, emergencies. */
export default function Cases() {
  const { t } = useI18n();
  const [params, setParams] = useSearchParams();
  const profile = useAsync(() => api<Profile>('/api/profile'), []);
  const tab = params.get('tab') ?? 'disputes';
  return (
    <Card data-testid="page-sharing-cases" title={t('cases.title')}>
      <ErrorAlert error={profile.error} />
      <Tabs
        activeKey={tab}
        onChange={(k) => setParams({ tab: k }, { replace: true })}
        items={[
          {
            key: 'disputes',
            label: t('cases.tab.disputes'),
            children: <DisputesTab profile={profile.data} />,
          },
          { key: 'stops', label: t('cases.tab.stops'), children: <StopsTab profile={profile.data} /> },
          {
            key: 'emergencies',
            label: t('cases.tab.emergencies'),
            children: <EmergenciesTab profile={profile.data} />,
          },
          { key: 'reevaluation', label: t('cases.tab.reevaluation'), children: <ReevaluationTab /> },
          { key: 'stats', label: t('shareStats.title'), children: <SharingStats /> },
        ]}
      />
    </Card>
  );
}

/** The consumer contests a refused request (request drawer): only where the regulation provides for disputes. */
export function ContestButton({
  requestId,
  onDone,
}: {
  requestId: number;
  onDone: (disputeId: number) => void;
}) {
  const { t, lang } = useI18n();
  const { message } = AntApp.useApp();
  const profile = useAsync(() => api<Profile>('/api/profile'), []);
  const [open, setOpen] = useState(false);
  const [form] = Form.useForm<{ reason: string }>();
  const rule = profile.data?.sharing.disputes;
  if (!rule) return null;
  const send = async () => {
    const v = await form.validateFields();
    try {
      const d = await post<{ id: number }>(`/api/sharing/requests/${requestId}/dispute`, v);
      message.success(t('cases.saved'));
      setOpen(false);
      onDone(d.id);
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  return (
    <>
      <Button data-testid="req-contest" onClick={() => setOpen(true)}>
        {t('cases.contest')}
      </Button>
      <Modal
        open={open}
        title={t('cases.contest')}
        onCancel={() => setOpen(false)}
        onOk={send}
        okText={t('common.ok')}
        cancelText={t('common.cancel')}
        destroyOnHidden
      >
        <Typography.Paragraph type="secondary">
          {t('cases.contestHint', { article: articleText(rule.article, lang) })}
        </Typography.Paragraph>
        <Form form={form} layout="vertical">
          <Form.Item
            name="reason"
            label={t('cases.reason')}
            rules={[{ required: true, whitespace: true, min: 4, max: 2000 }]}
          >
            <Input.TextArea rows={4} maxLength={2000} showCount data-testid="contest-reason" />
          </Form.Item>
        </Form>
      </Modal>
    </>
  );
}
