import {
  App,
  Button,
  Card,
  Form,
  Input,
  InputNumber,
  Modal,
  Select,
  Space,
  Switch,
  Table,
  Tabs,
  Tag,
  TimePicker,
  Typography,
} from 'antd';
import dayjs from 'dayjs';
import { useState } from 'react';
import { api, errorText } from '../shared/api.js';
import { ErrorAlert, FlagFilterTag } from '../shared/common.js';
import { fmtTime } from '../shared/format.js';
import { useAsync, useUrlFilters } from '../shared/hooks.js';
import { type Key, useI18n } from '../shared/i18n.js';

interface AlertRow {
  id: number;
  rule: 'volume' | 'offHours' | 'enumeration' | 'denials';
  app: { id: number; name: string; status: string } | null;
  user: { id: number; name: string } | null;
  org: { id: number; name: string } | null;
  resource: { id: number; name: string } | null;
  evidence: Record<string, unknown>;
  status: 'open' | 'acknowledged' | 'closed';
  suspended: boolean;
  hits: number;
  firstSeenAt: string;
  lastSeenAt: string;
  note: string | null;
}
interface AlertPage {
  items: AlertRow[];
  total: number;
  canAct: boolean;
}
interface Rule {
  code: AlertRow['rule'];
  enabled: boolean;
  autoSuspend: boolean;
  threshold: number | null;
  factor: number | null;
  windowMinutes: number;
  baselineDays: number | null;
  workStart: string | null;
  workEnd: string | null;
}

const STATUS_COLOR: Record<string, string> = { open: 'red', acknowledged: 'orange', closed: 'default' };

/** The evidence in words: each rule's label template, lists joined with 、, refusal codes by their names. */
function useEvidenceText() {
  const { t, tEnum } = useI18n();
  return (a: AlertRow) => {
    const vars: Record<string, string | number> = {};
    for (const [k, v] of Object.entries(a.evidence ?? {})) {
      if (Array.isArray(v))
        vars[k] = v.map((x) => (k === 'codes' ? tEnum('error', String(x)) : String(x))).join(t('punct.list'));
      else if (typeof v === 'number' || typeof v === 'string') vars[k] = v;
    }
    return t(`alertEvidence.${a.rule}` as Key, vars);
  };
}

function AlertList() {
  const { t, tEnum, lang } = useI18n();
  const { message } = App.useApp();
  // the status and rule are URL filters, so the cockpit's alert counts open this list filtered the same way
  // (?rule=&status=); no status parameter means open alerts, status=all every alert
  const filters = useUrlFilters();
  const statusParam = filters.str('status') ?? 'open';
  const status = statusParam === 'all' ? '' : statusParam;
  const rule = filters.str('rule');
  const [page, setPage] = useState(1);
  const list = useAsync(
    () =>
      api<AlertPage>('/api/security/alerts', {
        query: { status: status || undefined, rule, page, pageSize: 20 },
      }),
    [status, rule, page],
  );
  const evidence = useEvidenceText();
  const [acting, setActing] = useState<{ row: AlertRow; action: 'acknowledge' | 'close' } | null>(null);
  const [form] = Form.useForm();

  const submit = async () => {
    if (!acting) return;
    const v = await form.validateFields();
    try {
      await api(`/api/security/alerts/${acting.row.id}/${acting.action}`, { body: { note: v.note ?? null } });
      message.success(t('alerts.done'));
      setActing(null);
      form.resetFields();
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  const reinstate = (row: AlertRow) =>
    Modal.confirm({
      title: t('apps.reinstateConfirm'),
      onOk: async () => {
        try {
          await api(`/api/security/apps/${row.app!.id}/reinstate`, { method: 'POST', body: {} });
          message.success(t('apps.reinstated'));
          list.reload();
        } catch (e) {
          message.error(errorText(e, lang));
        }
      },
    });

  return (
    <>
      <Space style={{ marginBottom: 16 }}>
        <Select
          data-testid="alerts-status"
          style={{ width: 160 }}
          value={status}
          onChange={(v) => {
            filters.set({ status: v || 'all' });
            setPage(1);
          }}
          options={[
            { value: '', label: t('alerts.filter.all') },
            ...(['open', 'acknowledged', 'closed'] as const).map((s) => ({
              value: s,
              label: tEnum('alertStatus', s),
            })),
          ]}
        />
        {rule && (
          <FlagFilterTag
            testid="filter-alert-rule"
            label={t('filter.alertRule', { rule: tEnum('alertRule', rule) })}
            onClose={() => {
              filters.set({ rule: undefined });
              setPage(1);
            }}
          />
        )}
      </Space>
      <ErrorAlert error={list.error} />
      <Table<AlertRow>
        data-testid="alerts-table"
        rowKey="id"
        size="small"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        locale={{ emptyText: t('alerts.empty') }}
        scroll={{ x: 'max-content' }}
        pagination={{ current: page, total: list.data?.total ?? 0, pageSize: 20, onChange: setPage }}
        columns={[
          {
            title: t('alerts.col.rule'),
            key: 'rule',
            render: (_, a) => (
              <Space direction="vertical" size={2}>
                <span>{tEnum('alertRule', a.rule)}</span>
                {a.suspended && <Tag color="red">{t('alerts.suspendedTag')}</Tag>}
              </Space>
            ),
          },
          {
            title: t('alerts.col.subject'),
            key: 'subject',
            render: (_, a) => (
              <Space direction="vertical" size={2}>
                <span>{a.app ? a.app.name : a.user ? t('alerts.user', { name: a.user.name }) : '-'}</span>
                <Typography.Text type="secondary">
                  {[a.org?.name, a.resource?.name].filter(Boolean).join(' · ')}
                </Typography.Text>
              </Space>
            ),
          },
          {
            title: t('alerts.col.evidence'),
            key: 'evidence',
            width: 420,
            render: (_, a) => <span data-testid="alert-evidence">{evidence(a)}</span>,
          },
          {
            title: t('alerts.col.status'),
            key: 'status',
            render: (_, a) => (
              <Space direction="vertical" size={2}>
                <Tag color={STATUS_COLOR[a.status]}>{tEnum('alertStatus', a.status)}</Tag>
                {a.note && <Typography.Text type="secondary">{a.note}</Typography.Text>}
              </Space>
            ),
          },
          {
            title: t('alerts.col.seen'),
            key: 'seen',
            render: (_, a) => (
              <span>
                {fmtTime(a.firstSeenAt)}
                <br />
                {fmtTime(a.lastSeenAt)}
              </span>
            ),
          },
          { title: t('alerts.col.hits'), dataIndex: 'hits', key: 'hits' },
          {
            title: t('alerts.col.actions'),
            key: 'actions',
            render: (_, a) =>
              list.data?.canAct && (
                <Space wrap>
                  {a.status === 'open' && (
                    <Button size="small" onClick={() => setActing({ row: a, action: 'acknowledge' })}>
                      {t('alerts.acknowledge')}
                    </Button>
                  )}
                  {a.status !== 'closed' && (
                    <Button size="small" onClick={() => setActing({ row: a, action: 'close' })}>
                      {t('alerts.close')}
                    </Button>
                  )}
                  {a.app?.status === 'suspended' && (
                    <Button size="small" danger onClick={() => reinstate(a)}>
                      {t('alerts.reinstate')}
                    </Button>
                  )}
                </Space>
              ),
          },
        ]}
      />
      <Modal
        open={!!acting}
        title={acting ? t(acting.action === 'acknowledge' ? 'alerts.acknowledge' : 'alerts.close') : ''}
        onCancel={() => setActing(null)}
        onOk={submit}
        destroyOnClose
      >
        <Form form={form} layout="vertical">
          <Form.Item name="note" label={t('alerts.note')} rules={[{ max: 1000 }]}>
            <Input.TextArea rows={3} maxLength={1000} />
          </Form.Item>
        </Form>
      </Modal>
    </>
  );
}

function RuleCard({ rule, canEdit, onSaved }: { rule: Rule; canEdit: boolean; onSaved: () => void }) {
  const { t, tEnum, lang } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm();
  const save = async () => {
    const v = await form.validateFields();
    try {
      await api(`/api/security/alert-rules/${rule.code}`, {
        method: 'PATCH',
        body: {
          enabled: v.enabled,
          autoSuspend: v.autoSuspend,
          threshold: v.threshold ?? null,
          factor: v.factor ?? null,
          windowMinutes: v.windowMinutes,
          ...(rule.code === 'volume' ? { baselineDays: v.baselineDays ?? null } : {}),
          ...(rule.code === 'offHours'
            ? {
                workStart: v.work?.[0]?.format('HH:mm') ?? null,
                workEnd: v.work?.[1]?.format('HH:mm') ?? null,
              }
            : {}),
        },
      });
      message.success(t('alertRules.saved'));
      onSaved();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  };
  return (
    <Card size="small" title={tEnum('alertRule', rule.code)} style={{ marginBottom: 12 }}>
      <Typography.Paragraph type="secondary">{t(`alertRules.help.${rule.code}` as Key)}</Typography.Paragraph>
      <Form
        form={form}
        layout="inline"
        disabled={!canEdit}
        initialValues={{
          ...rule,
          work:
            rule.workStart && rule.workEnd
              ? [dayjs(rule.workStart, 'HH:mm'), dayjs(rule.workEnd, 'HH:mm')]
              : undefined,
        }}
      >
        <Form.Item name="enabled" label={t('alertRules.enabled')} valuePropName="checked">
          <Switch />
        </Form.Item>
        <Form.Item name="autoSuspend" label={t('alertRules.autoSuspend')} valuePropName="checked">
          <Switch />
        </Form.Item>
        <Form.Item name="threshold" label={t('alertRules.threshold')}>
          <InputNumber min={1} placeholder={t('alertRules.platformDefault')} />
        </Form.Item>
        {(rule.code === 'volume' || rule.code === 'enumeration') && (
          <Form.Item name="factor" label={t('alertRules.factor')}>
            <InputNumber min={0.01} max={1000} step={0.1} />
          </Form.Item>
        )}
        <Form.Item name="windowMinutes" label={t('alertRules.window')} rules={[{ required: true }]}>
          <InputNumber min={1} max={10080} />
        </Form.Item>
        {rule.code === 'volume' && (
          <Form.Item name="baselineDays" label={t('alertRules.baselineDays')}>
            <InputNumber min={1} max={90} />
          </Form.Item>
        )}
        {rule.code === 'offHours' && (
          <Form.Item name="work" label={t('alertRules.workHours')}>
            <TimePicker.RangePicker format="HH:mm" minuteStep={15} />
          </Form.Item>
        )}
        {canEdit && (
          <Form.Item>
            <Button type="primary" onClick={save}>
              {t('alertRules.save')}
            </Button>
          </Form.Item>
        )}
      </Form>
    </Card>
  );
}

function RuleList() {
  const { t } = useI18n();
  const rules = useAsync(() => api<{ items: Rule[]; canEdit: boolean }>('/api/security/alert-rules'), []);
  return (
    <>
      <ErrorAlert error={rules.error} />
      {rules.data && !rules.data.canEdit && (
        <Typography.Paragraph type="secondary">{t('alertRules.readOnly')}</Typography.Paragraph>
      )}
      {rules.data?.items.map((r) => (
        <RuleCard
          key={`${r.code}-${JSON.stringify(r)}`}
          rule={r}
          canEdit={rules.data!.canEdit}
          onSaved={rules.reload}
        />
      ))}
    </>
  );
}

/** The security board (SY Art 43, NY task 11): anomaly alerts with their evidence in words, and the rules. */
export default function Alerts() {
  const { t } = useI18n();
  return (
    <Card data-testid="page-security-alerts" title={t('alerts.title')}>
      <Typography.Paragraph type="secondary">{t('alerts.intro')}</Typography.Paragraph>
      <Tabs
        items={[
          { key: 'alerts', label: t('alerts.tab.alerts'), children: <AlertList /> },
          { key: 'rules', label: t('alerts.tab.rules'), children: <RuleList /> },
        ]}
      />
    </Card>
  );
}
