import {
  App,
  Button,
  Card,
  DatePicker,
  Descriptions,
  Drawer,
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
import dayjs, { type Dayjs } from 'dayjs';
import { useState } from 'react';
import { INCIDENT_RECIPIENTS } from '../../../src/profiles/model.js';
import { INCIDENT_CATEGORIES, INCIDENT_SEVERITIES } from '../../../src/security/incident-model.js';
import { api, errorText } from '../shared/api.js';
import { hasRole, useAuth } from '../shared/auth.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { Org, Page } from '../shared/types.js';

interface Notice {
  recipient: string;
  done: boolean;
}
interface IncidentRow {
  id: number;
  title: string;
  category: string;
  severity: string;
  status: 'open' | 'closed';
  detectedAt: string;
  reportedAt: string;
  reporter: string;
  reporterOrg: string;
  notices: Notice[];
}
interface IncidentDetail extends IncidentRow {
  description: string;
  occurredAt: string | null;
  closedAt: string | null;
  report: string | null;
  noticeArticle: string | null;
  affectedOrgs: { id: number; name: string }[];
  events: {
    id: number;
    kind: string;
    recipient: string | null;
    channel: string | null;
    text: string;
    at: string;
    actorName: string;
  }[];
  canAct: boolean;
  canClose: boolean;
}

const SEVERITY_COLOR: Record<string, string> = {
  minor: 'gold',
  major: 'orange',
  serious: 'red',
  critical: 'magenta',
};

function Notices({ notices }: { notices: Notice[] }) {
  const { t, tEnum } = useI18n();
  if (!notices.length) return <Typography.Text type="secondary">{t('incident.noticesNone')}</Typography.Text>;
  return (
    <Space wrap>
      {notices.map((n) => (
        <Tag key={n.recipient} color={n.done ? 'green' : 'red'}>
          {tEnum('incidentRecipient', n.recipient)} ·{' '}
          {n.done ? t('incident.noticeDone') : t('incident.noticePending')}
        </Tag>
      ))}
    </Space>
  );
}

/** Data security incidents (DG Art 32, SY Art 44, GD Art 27): report, respond, tell whom the regulation names, close. */
export default function Incidents() {
  const { t, tEnum, lang, paren } = useI18n();
  const { me } = useAuth();
  const { message } = App.useApp();
  const [status, setStatus] = useState<'open' | 'closed' | ''>('');
  const [page, setPage] = useState(1);
  const list = useAsync(
    () => api<Page<IncidentRow>>('/api/security/incidents', { query: { status, page, pageSize: 20 } }),
    [status, page],
  );
  const orgs = useAsync(() => api<Org[]>('/api/orgs'), []);
  const [reporting, setReporting] = useState(false);
  const [openId, setOpenId] = useState<number | null>(null);
  const detail = useAsync(
    () => (openId ? api<IncidentDetail>(`/api/security/incidents/${openId}`) : Promise.resolve(null)),
    [openId],
  );
  const [form] = Form.useForm();
  const [eventForm] = Form.useForm();
  const [closeForm] = Form.useForm();
  const eventKind = Form.useWatch('kind', eventForm) as string | undefined;
  const canReport = hasRole(me, 'data_officer', 'platform_admin', 'authority_reviewer');

  const submitReport = async () => {
    const v = await form.validateFields();
    try {
      const { id } = await api<{ id: number }>('/api/security/incidents', {
        body: {
          ...v,
          detectedAt: (v.detectedAt as Dayjs).toISOString(),
          occurredAt: v.occurredAt ? (v.occurredAt as Dayjs).toISOString() : null,
        },
      });
      message.success(t('incident.reported'));
      setReporting(false);
      form.resetFields();
      list.reload();
      setOpenId(id);
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const submitEvent = async () => {
    if (!openId) return;
    const v = await eventForm.validateFields();
    try {
      await api(`/api/security/incidents/${openId}/events`, {
        body: {
          ...v,
          at: (v.at as Dayjs).toISOString(),
          recipient: v.kind === 'notice' ? v.recipient : null,
        },
      });
      eventForm.resetFields();
      detail.reload();
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const submitClose = async () => {
    if (!openId) return;
    const v = await closeForm.validateFields();
    try {
      await api(`/api/security/incidents/${openId}/close`, { body: v });
      message.success(t('incident.closed'));
      closeForm.resetFields();
      detail.reload();
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const d = detail.data;

  return (
    <Card
      data-testid="page-incidents"
      title={t('incident.title')}
      extra={
        canReport && (
          <Button type="primary" danger data-testid="incident-report" onClick={() => setReporting(true)}>
            {t('incident.report')}
          </Button>
        )
      }
    >
      <Space style={{ marginBottom: 16 }}>
        <Select
          style={{ width: 160 }}
          value={status}
          onChange={(v) => {
            setStatus(v);
            setPage(1);
          }}
          options={[
            { value: '', label: t('incident.statusAll') },
            { value: 'open', label: tEnum('incidentStatus', 'open') },
            { value: 'closed', label: tEnum('incidentStatus', 'closed') },
          ]}
        />
      </Space>
      <ErrorAlert error={list.error} />
      <Table<IncidentRow>
        data-testid="incidents-table"
        rowKey="id"
        size="small"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        scroll={{ x: 'max-content' }}
        pagination={{
          current: page,
          pageSize: 20,
          total: list.data?.total ?? 0,
          showTotal: (n) => t('common.total', { n }),
          onChange: setPage,
        }}
        onRow={(r) => ({ onClick: () => setOpenId(r.id), style: { cursor: 'pointer' } })}
        columns={[
          { title: t('incident.name'), dataIndex: 'title' },
          {
            title: t('incident.category'),
            dataIndex: 'category',
            render: (v: string) => tEnum('incidentCategory', v),
          },
          {
            title: t('incident.severity'),
            dataIndex: 'severity',
            render: (v: string) => <Tag color={SEVERITY_COLOR[v]}>{tEnum('incidentSeverity', v)}</Tag>,
          },
          {
            title: t('common.status'),
            dataIndex: 'status',
            render: (v: string) => (
              <Tag color={v === 'open' ? 'red' : 'default'}>{tEnum('incidentStatus', v)}</Tag>
            ),
          },
          { title: t('incident.notices'), render: (_, r) => <Notices notices={r.notices} /> },
          { title: t('incident.reporter'), render: (_, r) => `${r.reporter}${paren(r.reporterOrg)}` },
          { title: t('incident.detectedAt'), dataIndex: 'detectedAt', render: (v: string) => fmtTime(v) },
        ]}
      />

      <Modal
        open={reporting}
        title={t('incident.report')}
        okText={t('incident.report')}
        onOk={submitReport}
        onCancel={() => setReporting(false)}
        destroyOnHidden
        width={640}
      >
        <Form
          form={form}
          layout="vertical"
          preserve={false}
          initialValues={{ detectedAt: dayjs(), category: 'leak', severity: 'major' }}
        >
          <Form.Item name="title" label={t('incident.name')} rules={[{ required: true, max: 100 }]}>
            <Input data-testid="incident-title" maxLength={100} />
          </Form.Item>
          <Space wrap>
            <Form.Item name="category" label={t('incident.category')} rules={[{ required: true }]}>
              <Select
                style={{ width: 160 }}
                options={INCIDENT_CATEGORIES.map((c) => ({ value: c, label: tEnum('incidentCategory', c) }))}
              />
            </Form.Item>
            <Form.Item name="severity" label={t('incident.severity')} rules={[{ required: true }]}>
              <Select
                style={{ width: 140 }}
                options={INCIDENT_SEVERITIES.map((c) => ({ value: c, label: tEnum('incidentSeverity', c) }))}
              />
            </Form.Item>
            <Form.Item name="occurredAt" label={t('incident.occurredAt')}>
              <DatePicker showTime />
            </Form.Item>
            <Form.Item name="detectedAt" label={t('incident.detectedAt')} rules={[{ required: true }]}>
              <DatePicker showTime />
            </Form.Item>
          </Space>
          <Form.Item name="affectedOrgIds" label={t('incident.affected')}>
            <Select
              mode="multiple"
              optionFilterProp="label"
              options={(orgs.data ?? []).map((o) => ({ value: o.id, label: o.name }))}
            />
          </Form.Item>
          <Form.Item
            name="description"
            label={t('incident.description')}
            rules={[{ required: true, max: 4000 }]}
          >
            <Input.TextArea data-testid="incident-description" rows={4} maxLength={4000} showCount />
          </Form.Item>
        </Form>
      </Modal>

      <Drawer open={!!openId} width={720} onClose={() => setOpenId(null)} title={d?.title} destroyOnHidden>
        <ErrorAlert error={detail.error} />
        {d && (
          <div data-testid="incident-detail">
            <Descriptions size="small" column={2} bordered>
              <Descriptions.Item label={t('incident.category')}>
                {tEnum('incidentCategory', d.category)}
              </Descriptions.Item>
              <Descriptions.Item label={t('incident.severity')}>
                <Tag color={SEVERITY_COLOR[d.severity]}>{tEnum('incidentSeverity', d.severity)}</Tag>
              </Descriptions.Item>
              <Descriptions.Item label={t('incident.detectedAt')}>{fmtTime(d.detectedAt)}</Descriptions.Item>
              <Descriptions.Item label={t('common.status')}>
                {tEnum('incidentStatus', d.status)}
              </Descriptions.Item>
              <Descriptions.Item
                label={t('incident.reporter')}
              >{`${d.reporter}${paren(d.reporterOrg)}`}</Descriptions.Item>
              <Descriptions.Item label={t('incident.affected')}>
                {d.affectedOrgs.map((o) => o.name).join(t('punct.list')) || '—'}
              </Descriptions.Item>
              <Descriptions.Item label={t('incident.notices')} span={2}>
                <Notices notices={d.notices} />
                {d.noticeArticle && (
                  <Typography.Text type="secondary" style={{ marginLeft: 8 }}>
                    {d.noticeArticle}
                  </Typography.Text>
                )}
              </Descriptions.Item>
              <Descriptions.Item label={t('incident.description')} span={2}>
                {d.description}
              </Descriptions.Item>
              {d.report && (
                <Descriptions.Item label={t('incident.closeReport')} span={2}>
                  {d.report}
                </Descriptions.Item>
              )}
            </Descriptions>
            <Typography.Title level={5} style={{ marginTop: 16 }}>
              {t('incident.events')}
            </Typography.Title>
            <Timeline
              items={d.events.map((e) => ({
                color: e.kind === 'notice' ? 'blue' : 'gray',
                children: (
                  <>
                    <Typography.Text strong>
                      {tEnum('incidentEvent', e.kind)}
                      {e.recipient ? ` · ${tEnum('incidentRecipient', e.recipient)}` : ''}
                    </Typography.Text>{' '}
                    <Typography.Text type="secondary">
                      {fmtTime(e.at)} · {e.actorName}
                      {e.channel ? ` · ${e.channel}` : ''}
                    </Typography.Text>
                    <div>{e.text}</div>
                  </>
                ),
              }))}
            />
            {d.canAct && (
              <Form form={eventForm} layout="vertical" initialValues={{ kind: 'response', at: dayjs() }}>
                <Space wrap align="start">
                  <Form.Item name="kind" label={t('incident.addResponse')}>
                    <Select
                      data-testid="incident-event-kind"
                      style={{ width: 170 }}
                      options={[
                        { value: 'response', label: t('incident.addResponse') },
                        { value: 'notice', label: t('incident.addNotice') },
                      ]}
                    />
                  </Form.Item>
                  {eventKind === 'notice' && (
                    <Form.Item name="recipient" label={t('incident.recipient')} rules={[{ required: true }]}>
                      <Select
                        data-testid="incident-recipient"
                        style={{ width: 180 }}
                        options={INCIDENT_RECIPIENTS.map((r) => ({
                          value: r,
                          label: tEnum('incidentRecipient', r),
                        }))}
                      />
                    </Form.Item>
                  )}
                  {eventKind === 'notice' && (
                    <Form.Item name="channel" label={t('incident.channel')}>
                      <Input style={{ width: 140 }} maxLength={50} />
                    </Form.Item>
                  )}
                  <Form.Item name="at" label={t('incident.eventAt')} rules={[{ required: true }]}>
                    <DatePicker showTime />
                  </Form.Item>
                </Space>
                <Form.Item
                  name="text"
                  label={t('incident.eventText')}
                  rules={[{ required: true, max: 2000 }]}
                >
                  <Input.TextArea data-testid="incident-event-text" rows={2} maxLength={2000} />
                </Form.Item>
                <Button data-testid="incident-event-save" onClick={submitEvent}>
                  {t('common.save')}
                </Button>
              </Form>
            )}
            {d.canClose && (
              <Form form={closeForm} layout="vertical" style={{ marginTop: 16 }}>
                <Form.Item
                  name="report"
                  label={t('incident.closeReport')}
                  rules={[{ required: true, max: 8000 }]}
                >
                  <Input.TextArea data-testid="incident-close-report" rows={3} maxLength={8000} />
                </Form.Item>
                <Button type="primary" data-testid="incident-close" onClick={submitClose}>
                  {t('incident.close')}
                </Button>
              </Form>
            )}
          </div>
        )}
      </Drawer>
    </Card>
  );
}
