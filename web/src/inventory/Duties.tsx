import type { ButtonProps } from 'antd';
import {
  App as AntApp,
  Button,
  Card,
  Checkbox,
  DatePicker,
  Form,
  Input,
  Modal,
  Select,
  Space,
  Switch,
  Table,
  Tag,
  Typography,
} from 'antd';
import dayjs from 'dayjs';
import { useState } from 'react';
import { api, errorText, post } from '../shared/api.js';
import { useAuth } from '../shared/auth.js';
import { ErrorAlert, ProvisionalTag } from '../shared/common.js';
import { fmtDate } from '../shared/format.js';
import { useAsync, useUrlFilters } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { Org } from '../shared/types.js';
import {
  articleText,
  InboxBar,
  InvTag,
  inventoryPager,
  isAuthorityUser,
  isOfficer,
  OrgFilter,
  type Paged,
  StatusSelect,
} from './common.js';

interface Duty {
  id: number;
  org: { id: number; name: string };
  changeKind: string;
  whatChanged: string;
  basis: string;
  changeDate: string;
  dueDate: string | null;
  article: string | null;
  status: string;
  overdue: boolean;
  workdaysLeft: number | null;
  workdaysOverdue: number | null;
  dueDateProvisional: boolean;
  recordedBy: string;
  doneOn: string | null;
  canComplete: boolean;
}

interface DutyDetail extends Duty {
  affectedResources: { id: number; code: string; name: string }[];
  candidates: { id: number; code: string; name: string }[];
}

/** Update duties after a legal or functional change (DG Art 11, XT Art 14): the department's list and the authority's overdue board. */
export default function Duties() {
  const { t, tEnum, lang, colon, paren } = useI18n();
  const { me } = useAuth();
  const { message } = AntApp.useApp();
  const authority = isAuthorityUser(me);
  // filters in the address (?orgId=&status=&overdue=): the cockpit's 目录更新逾期 links here (issue 12)
  const filters = useUrlFilters();
  const orgId = filters.num('orgId');
  const setOrgId = (v: number | undefined) => filters.set({ orgId: v });
  const statusParam = filters.str('status');
  const status = statusParam === 'all' ? undefined : (statusParam ?? 'open');
  const setStatus = (v: string | undefined) => filters.set({ status: v ?? 'all' });
  const overdueOnly = filters.flag('overdue', authority);
  const setOverdueOnly = (v: boolean) => filters.set({ overdue: v });
  const [page, setPage] = useState(1);
  const [recording, setRecording] = useState(false);
  const [open, setOpen] = useState<DutyDetail | null>(null);
  const [ticked, setTicked] = useState<number[]>([]);
  const [form] = Form.useForm();
  const list = useAsync(
    () =>
      api<
        Paged<Duty> & {
          deadline: { deadline: { amount: number; unit: string } | null; article: string | null };
        }
      >('/api/inventory/duties', { query: { orgId, status, overdueOnly, page, pageSize: 20 } }),
    [orgId, status, overdueOnly, page],
  );
  const orgs = useAsync(() => (authority ? api<Org[]>('/api/orgs') : Promise.resolve([] as Org[])), []);

  async function show(d: Duty) {
    try {
      const detail = await api<DutyDetail>(`/api/inventory/duties/${d.id}`);
      setTicked(detail.affectedResources.map((r) => r.id));
      setOpen(detail);
    } catch (e) {
      message.error(errorText(e, lang));
    }
  }

  async function record() {
    const v = await form.validateFields();
    try {
      await post('/api/inventory/duties', { ...v, changeDate: v.changeDate.format('YYYY-MM-DD') });
      message.success(t('inv.saved'));
      setRecording(false);
      form.resetFields();
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  }

  async function saveTicks(done: boolean) {
    if (!open) return;
    try {
      await api(`/api/inventory/duties/${open.id}/resources`, {
        method: 'PUT',
        body: { resourceIds: ticked },
      });
      if (done) await post(`/api/inventory/duties/${open.id}/done`, {});
      message.success(t('inv.saved'));
      setOpen(null);
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  }

  const dl = list.data?.deadline;
  return (
    <Card
      data-testid="page-duties"
      title={authority ? t('duty.boardTitle') : t('menu.duties')}
      extra={
        (isOfficer(me) || authority) && (
          <Button type="primary" data-testid="duty-record" onClick={() => setRecording(true)}>
            {t('duty.record')}
          </Button>
        )
      }
    >
      <InboxBar />
      {dl && (
        <Typography.Paragraph type="secondary" data-testid="duty-rule">
          {dl.deadline ? t('duty.rule', { n: dl.deadline.amount }) : t('duty.noDeadline')}
          {dl.article ? `${paren(articleText(dl.article, lang))}` : ''}
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
          testid="duty-status-filter"
          kind="dutyStatus"
          values={['open', 'done']}
          value={status}
          onChange={(v) => {
            setStatus(v);
            setPage(1);
          }}
        />
        <span>
          <Switch
            data-testid="duty-overdue-only"
            checked={overdueOnly}
            onChange={(v) => {
              setOverdueOnly(v);
              setPage(1);
            }}
          />{' '}
          {t('duty.overdueOnly')}
        </span>
      </Space>
      <ErrorAlert error={list.error} />
      <Table<Duty>
        data-testid="duty-table"
        rowKey="id"
        size="middle"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        pagination={inventoryPager(t, page, list.data?.total, setPage)}
        columns={[
          { title: t('inv.department'), render: (_, d) => d.org.name, width: 160 },
          { title: t('duty.changeKind'), render: (_, d) => tEnum('changeKind', d.changeKind), width: 100 },
          { title: t('duty.whatChanged'), dataIndex: 'whatChanged', ellipsis: true },
          { title: t('duty.changeDate'), render: (_, d) => fmtDate(d.changeDate), width: 110 },
          {
            title: t('req.dueDate'),
            width: 200,
            render: (_, d) => (
              <span data-testid={`duty-due-${d.id}`}>
                {d.dueDate ? fmtDate(d.dueDate) : t('duty.noDeadlineShort')}{' '}
                <ProvisionalTag show={d.dueDateProvisional} />
                <br />
                {d.overdue ? (
                  <Tag color="error">{t('duty.overdueBy', { n: d.workdaysOverdue ?? 0 })}</Tag>
                ) : d.workdaysLeft !== null ? (
                  <Tag color="processing">{t('duty.left', { n: d.workdaysLeft })}</Tag>
                ) : null}
              </span>
            ),
          },
          {
            title: t('common.status'),
            width: 90,
            render: (_, d) => <InvTag kind="dutyStatus" value={d.status} />,
          },
          {
            title: t('common.actions'),
            width: 90,
            render: (_, d) => (
              <Button size="small" data-testid={`duty-open-${d.id}`} onClick={() => show(d)}>
                {t('common.view')}
              </Button>
            ),
          },
        ]}
      />
      <Modal
        open={recording}
        title={t('duty.record')}
        onOk={record}
        onCancel={() => setRecording(false)}
        okButtonProps={{ 'data-testid': 'duty-record-ok' } as ButtonProps}
        destroyOnHidden
      >
        <Form form={form} layout="vertical" initialValues={{ changeKind: 'legal', changeDate: dayjs() }}>
          {authority && (
            <Form.Item name="orgId" label={t('inv.department')} rules={[{ required: true }]}>
              <Select
                data-testid="duty-org"
                showSearch={{ optionFilterProp: 'label' }}
                options={(orgs.data ?? [])
                  .filter((o) => o.kind === 'department')
                  .map((o) => ({ value: o.id, label: o.name }))}
              />
            </Form.Item>
          )}
          <Form.Item name="changeKind" label={t('duty.changeKind')} rules={[{ required: true }]}>
            <Select
              options={['legal', 'functional'].map((k) => ({ value: k, label: tEnum('changeKind', k) }))}
            />
          </Form.Item>
          <Form.Item name="whatChanged" label={t('duty.whatChanged')} rules={[{ required: true, max: 2000 }]}>
            <Input.TextArea data-testid="duty-what" rows={2} />
          </Form.Item>
          <Form.Item name="basis" label={t('duty.basis')} rules={[{ required: true, max: 2000 }]}>
            <Input data-testid="duty-basis" />
          </Form.Item>
          <Form.Item name="changeDate" label={t('duty.changeDate')} rules={[{ required: true }]}>
            <DatePicker data-testid="duty-date" disabledDate={(d) => d.isAfter(dayjs(), 'day')} />
          </Form.Item>
        </Form>
      </Modal>
      <Modal
        open={!!open}
        width={720}
        title={open?.whatChanged}
        onCancel={() => setOpen(null)}
        footer={
          open?.canComplete ? (
            <Space>
              <Button data-testid="duty-save" onClick={() => saveTicks(false)}>
                {t('duty.saveTicks')}
              </Button>
              <Button type="primary" data-testid="duty-done" onClick={() => saveTicks(true)}>
                {t('duty.markDone')}
              </Button>
            </Space>
          ) : null
        }
        destroyOnHidden
      >
        {open && (
          <>
            <Typography.Paragraph>
              {open.org.name} · {t('duty.basis')}
              {colon}
              {open.basis} · {t('req.dueDate')}
              {colon}
              {open.dueDate ? fmtDate(open.dueDate) : t('duty.noDeadlineShort')}
            </Typography.Paragraph>
            <Typography.Text strong>{t('duty.affected')}</Typography.Text>
            <Checkbox.Group
              data-testid="duty-candidates"
              disabled={!open.canComplete}
              value={ticked}
              onChange={(v) => setTicked(v as number[])}
              style={{ display: 'flex', flexDirection: 'column', gap: 4, marginTop: 8 }}
              options={open.candidates.map((r) => ({ value: r.id, label: `${r.name}${paren(r.code)}` }))}
            />
          </>
        )}
      </Modal>
    </Card>
  );
}
