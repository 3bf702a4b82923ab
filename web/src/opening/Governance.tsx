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
  Radio,
  Select,
  Space,
  Switch,
  Table,
  Tabs,
  Tag,
  Typography,
} from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { articleText } from '../../../src/shared/labels.js';
import { api, errorText, post } from '../shared/api.js';
import { hasRole, useAuth } from '../shared/auth.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtTime } from '../shared/format.js';
import { useAsync, usePaging } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { Page, Profile } from '../shared/types.js';
import { OpenUsagePanel } from './Usage.js';

/*
 * Governance of the open portal (issue 11 points 6–7; server: src/opening/governance.ts): measures on public accounts
 * that misused data (XT Art 33) and authorised third-party operation (SY Art 39–40). A tab whose procedure the active
 * regulation does not provide says so and offers no action: the server refuses it too.
 */

interface Measure {
  id: number;
  accountId: number;
  accountName: string;
  accountType: string;
  contact: string;
  measure: 'restrict' | 'close';
  reason: string;
  article: string;
  publish: boolean;
  until: string | null;
  decidedAt: string;
  status: 'active' | 'expired' | 'lifted';
  liftedAt: string | null;
  liftReason: string | null;
}
interface Operation {
  id: number;
  org: { id: number; name: string };
  operatorName: string;
  operatorCode: string;
  resources: { id: number; name: string }[];
  scope: string;
  deidentification: string;
  termFrom: string;
  termTo: string;
  article: string;
  status: 'submitted' | 'reviewed' | 'approved' | 'rejected' | 'ended';
  submittedAt: string;
  reviewComment: string | null;
  approvalRef: string | null;
  approvedOn: string | null;
  endReason: string | null;
  filings: number;
  filingList?: { id: number; title: string; description: string; filedAt: string }[];
  canReview?: boolean;
  canRecordApproval?: boolean;
  canFile?: boolean;
  canEnd?: boolean;
}

const MEASURE_COLORS = { active: 'red', expired: 'default', lifted: 'default' } as const;
const OP_COLORS = {
  submitted: 'processing',
  reviewed: 'warning',
  approved: 'green',
  rejected: 'default',
  ended: 'default',
} as const;
const day = (d: Dayjs | null | undefined) => (d ? d.format('YYYY-MM-DD') : null);

/** Runs a console action and reports it; returns true when it went through. */
function useAction() {
  const { t, lang } = useI18n();
  const { message } = AntApp.useApp();
  return async (fn: () => Promise<unknown>) => {
    try {
      await fn();
      message.success(t('openGov.saved'));
      return true;
    } catch (e) {
      message.error(errorText(e, lang));
      return false;
    }
  };
}

function ViolationsTab({ profile }: { profile: Profile | null | undefined }) {
  const { t, tEnum, lang, paren } = useI18n();
  const { me } = useAuth();
  const act = useAction();
  const rule = profile?.opening?.violations;
  const paging = usePaging();
  const list = useAsync(
    () =>
      rule
        ? api<{ total: number; items: Measure[] }>('/api/opening/restrictions', {
            query: { page: paging.page, pageSize: paging.pageSize },
          })
        : Promise.resolve(null),
    [rule?.article, paging.page, paging.pageSize],
  );
  const [q, setQ] = useState('');
  const accounts = useAsync(
    () =>
      rule && q.trim()
        ? api<{ id: number; name: string; contact: string }[]>('/api/opening/accounts', { query: { q } })
        : Promise.resolve([]),
    [q, rule?.article],
  );
  const [imposing, setImposing] = useState(false);
  const [lifting, setLifting] = useState<Measure | null>(null);
  const [form] = Form.useForm();
  const [liftForm] = Form.useForm<{ reason: string }>();
  const canDecide = !!me && hasRole(me, 'authority_reviewer');
  if (!rule) return <Alert type="warning" showIcon message={t('openGov.violationsNone')} />;
  const impose = async () => {
    const v = await form.validateFields();
    const ok = await act(() =>
      post('/api/opening/restrictions', { ...v, until: day(v.until), publish: v.publish ?? true }),
    );
    if (ok) {
      setImposing(false);
      form.resetFields();
      list.reload();
    }
  };
  const lift = async () => {
    if (!lifting) return;
    const v = await liftForm.validateFields();
    if (await act(() => post(`/api/opening/restrictions/${lifting.id}/lift`, v))) {
      setLifting(null);
      liftForm.resetFields();
      list.reload();
    }
  };
  return (
    <>
      <Alert
        type="info"
        showIcon
        style={{ marginBottom: 12 }}
        message={t('openGov.violationsRule', { article: articleText(rule.article, lang) })}
      />
      {canDecide && (
        <Button
          type="primary"
          data-testid="measure-new"
          onClick={() => setImposing(true)}
          style={{ marginBottom: 12 }}
        >
          {t('openGov.impose')}
        </Button>
      )}
      <ErrorAlert error={list.error} />
      <Table<Measure>
        data-testid="measure-table"
        rowKey="id"
        size="small"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        locale={{ emptyText: <Empty description={t('openGov.empty')} /> }}
        pagination={paging.pagination(list.data?.total, (n) => t('work.count', { n }))}
        columns={[
          { title: t('openGov.decidedAt'), render: (_, r) => fmtTime(r.decidedAt) },
          {
            title: t('openGov.account'),
            render: (_, r) =>
              `${r.accountName}${paren(`${tEnum('openAccountType', r.accountType)} · ${r.contact}`)}`,
          },
          { title: t('openGov.measure'), render: (_, r) => tEnum('openMeasure', r.measure) },
          { title: t('openGov.reason'), dataIndex: 'reason' },
          {
            title: t('openGov.status'),
            render: (_, r) => (
              <Space size={4}>
                <Tag color={MEASURE_COLORS[r.status]}>{tEnum('openMeasureStatus', r.status)}</Tag>
                {r.publish && <Tag>{t('openGov.publish')}</Tag>}
              </Space>
            ),
          },
          {
            title: '',
            render: (_, r) =>
              canDecide && r.status === 'active' ? (
                <Button size="small" data-testid={`measure-lift-${r.id}`} onClick={() => setLifting(r)}>
                  {t('openGov.lift')}
                </Button>
              ) : null,
          },
        ]}
      />
      <Modal
        open={imposing}
        title={t('openGov.impose')}
        onCancel={() => setImposing(false)}
        onOk={impose}
        okButtonProps={{ 'data-testid': 'measure-ok' } as never}
        destroyOnHidden
      >
        <Form form={form} layout="vertical" initialValues={{ measure: 'restrict', publish: true }}>
          <Form.Item name="accountId" label={t('openGov.account')} rules={[{ required: true }]}>
            <Select
              data-testid="measure-account"
              showSearch
              filterOption={false}
              onSearch={setQ}
              placeholder={t('openGov.searchAccount')}
              options={(accounts.data ?? []).map((a) => ({
                value: a.id,
                label: `${a.name}${paren(a.contact)}`,
              }))}
            />
          </Form.Item>
          <Form.Item name="measure" label={t('openGov.measure')} rules={[{ required: true }]}>
            <Radio.Group
              options={(['restrict', 'close'] as const).map((m) => ({
                value: m,
                label: tEnum('openMeasure', m),
              }))}
            />
          </Form.Item>
          <Form.Item
            name="reason"
            label={t('openGov.reason')}
            rules={[{ required: true, min: 4, max: 2000 }]}
          >
            <Input.TextArea data-testid="measure-reason" rows={3} maxLength={2000} />
          </Form.Item>
          <Form.Item name="until" label={t('openGov.until')}>
            <DatePicker />
          </Form.Item>
          <Form.Item name="publish" label={t('openGov.publish')} valuePropName="checked">
            <Switch />
          </Form.Item>
        </Form>
      </Modal>
      <Modal
        open={!!lifting}
        title={t('openGov.lift')}
        onCancel={() => setLifting(null)}
        onOk={lift}
        destroyOnHidden
      >
        <Form form={liftForm} layout="vertical">
          <Form.Item name="reason" label={t('openGov.liftReason')} rules={[{ required: true, max: 2000 }]}>
            <Input.TextArea rows={2} maxLength={2000} />
          </Form.Item>
        </Form>
      </Modal>
    </>
  );
}

interface Reevaluation {
  resource: { id: number; name: string; code: string };
  org: { id: number; name: string };
  openType: string;
  lastEvaluatedOn: string | null;
  dueDate: string;
  overdue: boolean;
  canRecord: boolean;
}

function ReevaluationTab() {
  const { t, tEnum, lang, colon } = useI18n();
  const act = useAction();
  const list = useAsync(
    () =>
      api<{ article: string | null; months: number; items: Reevaluation[] }>('/api/opening/reevaluations'),
    [],
  );
  const [recording, setRecording] = useState<Reevaluation | null>(null);
  const [form] = Form.useForm();
  if (list.data && !list.data.article)
    return <Alert type="warning" showIcon message={t('openGov.reevaluationNone')} />;
  const record = async () => {
    if (!recording) return;
    const v = await form.validateFields();
    if (await act(() => post('/api/opening/reevaluations', { resourceId: recording.resource.id, ...v }))) {
      setRecording(null);
      form.resetFields();
      list.reload();
    }
  };
  return (
    <>
      {list.data?.article && (
        <Alert
          type="info"
          showIcon
          style={{ marginBottom: 12 }}
          message={t('openGov.reevaluationRule', {
            article: articleText(list.data.article, lang),
            months: list.data.months,
          })}
        />
      )}
      <ErrorAlert error={list.error} />
      <Table<Reevaluation>
        data-testid="reevaluation-table"
        rowKey={(r) => r.resource.id}
        size="small"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        locale={{ emptyText: <Empty description={t('openGov.empty')} /> }}
        columns={[
          { title: t('open.notices.dataset'), render: (_, r) => r.resource.name },
          { title: t('openGov.org'), render: (_, r) => r.org.name },
          { title: t('open.notices.openType'), render: (_, r) => tEnum('openType', r.openType) },
          { title: t('openGov.lastEvaluated'), render: (_, r) => r.lastEvaluatedOn ?? t('openGov.never') },
          {
            title: t('openGov.dueDate'),
            render: (_, r) => (
              <Space size={4}>
                {r.dueDate}
                {r.overdue && <Tag color="red">{t('openGov.overdue')}</Tag>}
              </Space>
            ),
          },
          {
            title: '',
            render: (_, r) =>
              r.canRecord ? (
                <Button size="small" onClick={() => setRecording(r)}>
                  {t('openGov.record')}
                </Button>
              ) : null,
          },
        ]}
      />
      <Modal
        open={!!recording}
        title={`${t('openGov.record')}${colon}${recording?.resource.name ?? ''}`}
        onCancel={() => setRecording(null)}
        onOk={record}
        destroyOnHidden
      >
        <Form form={form} layout="vertical" initialValues={{ conclusion: 'keep' }}>
          <Form.Item name="conclusion" label={t('openGov.conclusion')} rules={[{ required: true }]}>
            <Radio.Group
              options={(['keep', 'widen', 'narrow'] as const).map((c) => ({
                value: c,
                label: tEnum('openConclusion', c),
              }))}
            />
          </Form.Item>
          <Form.Item
            name="comment"
            label={t('openGov.comment')}
            rules={[{ required: true, min: 4, max: 2000 }]}
          >
            <Input.TextArea rows={3} maxLength={2000} />
          </Form.Item>
        </Form>
      </Modal>
    </>
  );
}

function OperationDrawer({
  id,
  onClose,
  onChanged,
}: {
  id: number;
  onClose: () => void;
  onChanged: () => void;
}) {
  const { t, tEnum, colon, paren } = useI18n();
  const act = useAction();
  const op = useAsync(() => api<Operation>(`/api/opening/operations/${id}`), [id]);
  const [form] = Form.useForm();
  const o = op.data;
  const run = async (path: string, body: Record<string, unknown>) => {
    if (await act(() => post(`/api/opening/operations/${id}/${path}`, body))) {
      form.resetFields();
      op.reload();
      onChanged();
    }
  };
  return (
    <Drawer open width={640} title={o ? o.operatorName : ''} onClose={onClose} data-testid="operation-drawer">
      <ErrorAlert error={op.error} />
      {o && (
        <Space direction="vertical" style={{ width: '100%' }}>
          <Descriptions column={1} size="small" bordered>
            <Descriptions.Item label={t('openGov.status')}>
              <Tag color={OP_COLORS[o.status]}>{tEnum('openOperationStatus', o.status)}</Tag>
            </Descriptions.Item>
            <Descriptions.Item label={t('openGov.org')}>{o.org.name}</Descriptions.Item>
            <Descriptions.Item label={t('openGov.operatorCode')}>{o.operatorCode}</Descriptions.Item>
            <Descriptions.Item label={t('openGov.resources')}>
              {o.resources.map((r) => r.name).join(t('punct.list'))}
            </Descriptions.Item>
            <Descriptions.Item label={t('openGov.scope')}>{o.scope}</Descriptions.Item>
            <Descriptions.Item label={t('openGov.deidentification')}>{o.deidentification}</Descriptions.Item>
            <Descriptions.Item label={t('openGov.term')}>{`${o.termFrom} ~ ${o.termTo}`}</Descriptions.Item>
            {o.reviewComment && (
              <Descriptions.Item label={t('openGov.reviewComment')}>{o.reviewComment}</Descriptions.Item>
            )}
            {o.approvalRef && (
              <Descriptions.Item label={t('openGov.approvalRef')}>
                {`${o.approvalRef}${paren(o.approvedOn)}`}
              </Descriptions.Item>
            )}
            {o.endReason && (
              <Descriptions.Item label={t('openGov.endReason')}>{o.endReason}</Descriptions.Item>
            )}
          </Descriptions>
          {!!o.filingList?.length && (
            <Card size="small" title={t('openGov.filings')}>
              {o.filingList.map((f) => (
                <Typography.Paragraph key={f.id} style={{ marginBottom: 8 }}>
                  <b>{f.title}</b>
                  {paren(fmtTime(f.filedAt))}
                  {colon}
                  {f.description}
                </Typography.Paragraph>
              ))}
            </Card>
          )}
          <Form form={form} layout="vertical">
            {o.canReview && (
              <Card size="small" title={t('openGov.review')}>
                <Form.Item
                  name="comment"
                  label={t('openGov.reviewComment')}
                  rules={[{ required: true, max: 2000 }]}
                >
                  <Input.TextArea data-testid="operation-comment" rows={2} maxLength={2000} />
                </Form.Item>
                <Space>
                  <Button
                    type="primary"
                    data-testid="operation-pass"
                    onClick={async () =>
                      run('review', { pass: true, ...(await form.validateFields(['comment'])) })
                    }
                  >
                    {t('openGov.pass')}
                  </Button>
                  <Button
                    danger
                    onClick={async () =>
                      run('review', { pass: false, ...(await form.validateFields(['comment'])) })
                    }
                  >
                    {t('openGov.reject')}
                  </Button>
                </Space>
              </Card>
            )}
            {o.canRecordApproval && (
              <Card size="small" title={t('openGov.recordApproval')}>
                <Form.Item
                  name="approvalRef"
                  label={t('openGov.approvalRef')}
                  rules={[{ required: true, max: 200 }]}
                >
                  <Input data-testid="operation-ref" maxLength={200} />
                </Form.Item>
                <Form.Item name="approvedOn" label={t('openGov.approvedOn')} rules={[{ required: true }]}>
                  <DatePicker data-testid="operation-date" />
                </Form.Item>
                <Space>
                  {[true, false].map((approved) => (
                    <Button
                      key={String(approved)}
                      type={approved ? 'primary' : 'default'}
                      data-testid={approved ? 'operation-approve' : undefined}
                      onClick={async () => {
                        const v = await form.validateFields(['approvalRef', 'approvedOn']);
                        await run('approval', {
                          approved,
                          approvalRef: v.approvalRef,
                          approvedOn: day(v.approvedOn),
                        });
                      }}
                    >
                      {t(approved ? 'openGov.approved' : 'openGov.notApproved')}
                    </Button>
                  ))}
                </Space>
              </Card>
            )}
            {o.canFile && (
              <Card size="small" title={t('openGov.file')}>
                <Form.Item
                  name="title"
                  label={t('openGov.filingTitle')}
                  rules={[{ required: true, max: 200 }]}
                >
                  <Input maxLength={200} />
                </Form.Item>
                <Form.Item
                  name="description"
                  label={t('openGov.filingDescription')}
                  rules={[{ required: true, min: 4, max: 2000 }]}
                >
                  <Input.TextArea rows={2} maxLength={2000} />
                </Form.Item>
                <Button
                  onClick={async () => run('filings', await form.validateFields(['title', 'description']))}
                >
                  {t('openGov.file')}
                </Button>
              </Card>
            )}
            {o.canEnd && (
              <Card size="small" title={t('openGov.end')}>
                <Form.Item
                  name="reason"
                  label={t('openGov.endReason')}
                  rules={[{ required: true, max: 2000 }]}
                >
                  <Input.TextArea rows={2} maxLength={2000} />
                </Form.Item>
                <Button danger onClick={async () => run('end', await form.validateFields(['reason']))}>
                  {t('openGov.end')}
                </Button>
              </Card>
            )}
          </Form>
        </Space>
      )}
    </Drawer>
  );
}

function OperationsTab({ profile }: { profile: Profile | null | undefined }) {
  const { t, tEnum, lang } = useI18n();
  const { me } = useAuth();
  const act = useAction();
  const rule = profile?.opening?.authorisedOperation;
  const paging = usePaging();
  const list = useAsync(
    () =>
      rule
        ? api<{ items: Operation[]; hasMore: boolean }>('/api/opening/operations', {
            query: { page: paging.page, pageSize: paging.pageSize },
          })
        : Promise.resolve(null),
    [rule?.article, paging.page, paging.pageSize],
  );
  const own = useAsync(
    () =>
      rule && me && hasRole(me, 'data_officer')
        ? api<Page<{ id: number; name: string }>>('/api/catalog/resources', {
            query: { providerOrgId: me.user.org.id, status: 'published', pageSize: 100 },
          })
        : Promise.resolve(null),
    [rule?.article, me?.user.org.id],
  );
  const [params, setParams] = useSearchParams();
  const openId = Number(params.get('operation')) || null;
  const setOpen = (id: number | null) => {
    const next = new URLSearchParams(params);
    if (id) next.set('operation', String(id));
    else next.delete('operation');
    setParams(next, { replace: true });
  };
  const [applying, setApplying] = useState(false);
  const [form] = Form.useForm();
  if (!rule) return <Alert type="warning" showIcon message={t('openGov.operationsNone')} />;
  const canApply = !!me && me.user.org.kind === 'department' && hasRole(me, 'data_officer');
  const apply = async () => {
    const v = await form.validateFields();
    const [from, to] = v.term as [Dayjs, Dayjs];
    const ok = await act(() =>
      post('/api/opening/operations', {
        operatorName: v.operatorName,
        operatorCode: v.operatorCode,
        resourceIds: v.resourceIds,
        scope: v.scope,
        deidentification: v.deidentification,
        termFrom: day(from),
        termTo: day(to),
      }),
    );
    if (ok) {
      setApplying(false);
      form.resetFields();
      list.reload();
    }
  };
  const total = list.data
    ? (paging.page - 1) * paging.pageSize + list.data.items.length + (list.data.hasMore ? 1 : 0)
    : 0;
  return (
    <>
      <Alert
        type="info"
        showIcon
        style={{ marginBottom: 12 }}
        message={t('openGov.operationsRule', {
          article: articleText(rule.article, lang),
          filing: articleText(rule.filingArticle, lang),
        })}
      />
      {canApply && (
        <Button
          type="primary"
          data-testid="operation-new"
          onClick={() => setApplying(true)}
          style={{ marginBottom: 12 }}
        >
          {t('openGov.apply')}
        </Button>
      )}
      <ErrorAlert error={list.error} />
      <Table<Operation>
        data-testid="operation-table"
        rowKey="id"
        size="small"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        locale={{ emptyText: <Empty description={t('openGov.empty')} /> }}
        pagination={paging.pagination(total, (n) => t('work.count', { n }))}
        onRow={(r) => ({ onClick: () => setOpen(r.id), style: { cursor: 'pointer' } })}
        columns={[
          { title: t('openGov.operatorName'), dataIndex: 'operatorName' },
          { title: t('openGov.org'), render: (_, r) => r.org.name },
          {
            title: t('openGov.resources'),
            render: (_, r) => r.resources.map((x) => x.name).join(t('punct.list')),
          },
          { title: t('openGov.term'), render: (_, r) => `${r.termFrom} ~ ${r.termTo}` },
          {
            title: t('openGov.status'),
            render: (_, r) => <Tag color={OP_COLORS[r.status]}>{tEnum('openOperationStatus', r.status)}</Tag>,
          },
        ]}
      />
      {openId && <OperationDrawer id={openId} onClose={() => setOpen(null)} onChanged={list.reload} />}
      <Modal
        open={applying}
        title={t('openGov.apply')}
        onCancel={() => setApplying(false)}
        onOk={apply}
        width={640}
        okButtonProps={{ 'data-testid': 'operation-ok' } as never}
        destroyOnHidden
      >
        <Form form={form} layout="vertical">
          <Form.Item
            name="operatorName"
            label={t('openGov.operatorName')}
            rules={[{ required: true, max: 200 }]}
          >
            <Input data-testid="operation-operator" maxLength={200} />
          </Form.Item>
          <Form.Item
            name="operatorCode"
            label={t('openGov.operatorCode')}
            rules={[{ required: true, len: 18 }]}
            normalize={(v: string) => v?.toUpperCase()}
          >
            <Input data-testid="operation-code" maxLength={18} />
          </Form.Item>
          <Form.Item name="resourceIds" label={t('openGov.resources')} rules={[{ required: true }]}>
            <Select
              data-testid="operation-resources"
              mode="multiple"
              optionFilterProp="label"
              options={(own.data?.items ?? []).map((r) => ({ value: r.id, label: r.name }))}
            />
          </Form.Item>
          <Form.Item name="scope" label={t('openGov.scope')} rules={[{ required: true, min: 4, max: 2000 }]}>
            <Input.TextArea data-testid="operation-scope" rows={2} maxLength={2000} />
          </Form.Item>
          <Form.Item
            name="deidentification"
            label={t('openGov.deidentification')}
            rules={[{ required: true, min: 10, max: 2000 }]}
          >
            <Input.TextArea data-testid="operation-deid" rows={3} maxLength={2000} />
          </Form.Item>
          <Form.Item name="term" label={t('openGov.term')} rules={[{ required: true }]}>
            <DatePicker.RangePicker data-testid="operation-term" />
          </Form.Item>
        </Form>
      </Modal>
    </>
  );
}

export default function Governance() {
  const { t } = useI18n();
  const [params, setParams] = useSearchParams();
  const profile = useAsync(() => api<Profile>('/api/profile'), []);
  const tab = params.get('tab') ?? (profile.data?.opening?.violations ? 'violations' : 'operations');
  return (
    <Card data-testid="page-open-governance" title={t('openGov.title')}>
      <ErrorAlert error={profile.error} />
      <Tabs
        activeKey={tab}
        onChange={(k) => setParams({ tab: k }, { replace: true })}
        items={[
          {
            key: 'violations',
            label: t('openGov.tab.violations'),
            children: <ViolationsTab profile={profile.data} />,
          },
          {
            key: 'operations',
            label: t('openGov.tab.operations'),
            children: <OperationsTab profile={profile.data} />,
          },
          { key: 'reevaluation', label: t('openGov.tab.reevaluation'), children: <ReevaluationTab /> },
          { key: 'usage', label: t('openGov.tab.usage'), children: <OpenUsagePanel /> },
        ]}
      />
    </Card>
  );
}
