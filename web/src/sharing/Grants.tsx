import {
  App as AntApp,
  Button,
  Card,
  Descriptions,
  Form,
  Grid,
  InputNumber,
  Modal,
  Popconfirm,
  Progress,
  Radio,
  Select,
  Space,
  Switch,
  Table,
  type TableColumnsType,
  Tag,
  Typography,
} from 'antd';
import { useState } from 'react';
import FeedSubscriptions from '../dataapi/Feed.js';
import GrantDocs from '../dataapi/GrantDocs.js';
import { api, errorText, post } from '../shared/api.js';
import { hasRole, useAuth } from '../shared/auth.js';
import { EnumTag, ErrorAlert } from '../shared/common.js';
import { fmtDate, fmtNumber } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { Grant } from '../shared/types.js';
import { AgreementCell, Undertaking } from './Agreement.js';
import { GrantCallsChart, type GrantUsage } from './GrantCalls.js';

/**
 * Column priorities (narrow screens): the resource (fixed on the left), consumer, app, rights, status and actions
 * (fixed on the right) are always columns; purpose and validity from `lg` (≥ 992 px), the granted fields and the 30-day
 * call chart from `xl` (≥ 1200 px), the quota from `xxl` (≥ 1600 px). Below, what is not a column is in the row's expanded part, so nothing is lost.
 * Long names are cut with an ellipsis and shown whole in a tooltip; the table scrolls sideways inside its card.
 */
type Priority = 'always' | 'lg' | 'xl' | 'xxl';

/** A granted field's name (the grant lists names in the order of its codes). */
const fieldName = (g: Grant, code: string) => g.fieldNames?.[g.fields.indexOf(code)] ?? code;

export default function Grants() {
  const { t, tEnum, lang, colon, paren } = useI18n();
  const { me } = useAuth();
  const { message } = AntApp.useApp();
  const screens = Grid.useBreakpoint();
  const shown = (p: Priority) => p === 'always' || !!screens[p];
  const grants = useAsync(() => api<Grant[]>('/api/sharing/grants'), []);
  const usage = useAsync(() => api<GrantUsage>('/api/usage/grants', { query: { days: 30 } }), []);

  // The grants a user sees are their org's as consumer or as provider; a provider's data officer may revoke.
  const canRevoke = (g: Grant) =>
    g.status === 'active' &&
    (hasRole(me, 'platform_admin') || (hasRole(me, 'data_officer') && me?.user.org.id !== g.consumerOrg.id));

  // the provider's officer (or the admin) edits rights and quotas: here, the bulk export right and its rows per day
  const [editing, setEditing] = useState<Grant | null>(null);
  const [form] = Form.useForm<{
    export: boolean;
    exportRowsPerDay: number | null;
    epsilonPerDay: number | null;
    accessMode: 'rows' | 'aggregate';
    clearFields: string[];
    feed: boolean;
  }>();
  // the consumer's app managers manage the change feed's push subscriptions of their grants (issue 9 point 6)
  const [feedOf, setFeedOf] = useState<Grant | null>(null);
  // the consumer's API documentation and try-it panel for a grant (issue 9 point 9)
  const [docsOf, setDocsOf] = useState<Grant | null>(null);
  const canSubscribe = (g: Grant) =>
    g.status === 'active' &&
    me?.user.org.id === g.consumerOrg.id &&
    hasRole(me, 'data_officer', 'consumer_staff');
  const [saving, setSaving] = useState(false);
  async function save() {
    if (!editing) return;
    const v = await form.validateFields();
    setSaving(true);
    try {
      await api(`/api/sharing/grants/${editing.id}`, {
        method: 'PATCH',
        body: {
          export: v.export,
          exportRowsPerDay: v.exportRowsPerDay ?? null,
          epsilonPerDay: v.epsilonPerDay ?? null,
          accessMode: v.accessMode,
          clearFields: v.clearFields ?? [],
          feed: v.feed,
        },
      });
      message.success(t('grant.edited'));
      setEditing(null);
      grants.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    } finally {
      setSaving(false);
    }
  }

  async function revoke(g: Grant) {
    try {
      await post(`/api/sharing/grants/${g.id}/revoke`);
      message.success(t('grant.revoked'));
      grants.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  }

  // a name cut to its column, whole in a tooltip (and for screen readers in the title)
  const cut = (text: string, testid?: string) => (
    <Typography.Text ellipsis={{ tooltip: text }} style={{ maxWidth: '100%' }} data-testid={testid}>
      {text}
    </Typography.Text>
  );
  const purposeCell = (g: Grant) => (
    <span>
      <Typography.Paragraph ellipsis={{ rows: 2, tooltip: g.purpose }} style={{ marginBottom: 4 }}>
        {g.purpose}
      </Typography.Paragraph>
      <Typography.Text type="secondary">
        {t('grant.purposeId')}
        {colon}
      </Typography.Text>
      <Typography.Text code copyable data-testid={`grant-purpose-id-${g.id}`}>
        {g.purposeId}
      </Typography.Text>
      <div>
        <Undertaking g={g} />
      </div>
    </span>
  );
  const fieldTags = (g: Grant) => (g.fieldNames ?? g.fields).map((f) => <Tag key={f}>{f}</Tag>);
  // a quota in numbers (the platform's when the grant sets none, said so) and, for the daily call and verification
  // quotas of an active grant, today's use as a bar
  const quotaLine = (
    label: string,
    own: number | null,
    fallback: number | undefined,
    used?: number,
    testid?: string,
  ) => {
    const limit = own ?? fallback;
    return (
      <div data-testid={testid}>
        {label}
        {colon}
        {limit === undefined ? t('quota.default') : fmtNumber(limit)}
        {own === null && limit !== undefined ? paren(t('quota.default')) : null}
        {used !== undefined && limit ? (
          <>
            <Progress
              percent={Math.min(100, (used / limit) * 100)}
              size="small"
              showInfo={false}
              status={used >= limit ? 'exception' : 'normal'}
              style={{ margin: 0 }}
            />
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {t('quota.usedToday', { n: fmtNumber(used), m: fmtNumber(limit) })}
            </Typography.Text>
          </>
        ) : null}
      </div>
    );
  };
  const quotaCell = (g: Grant) => {
    const d = usage.data?.quotaDefaults;
    const today = g.status === 'active' ? usage.data?.today?.find((x) => x.grantId === g.id) : undefined;
    return (
      <div data-testid={`grant-quota-${g.id}`}>
        {quotaLine(
          t('quota.callsPerDay'),
          g.quota.callsPerDay,
          d?.callsPerDay,
          today?.calls,
          `grant-quota-calls-${g.id}`,
        )}
        {quotaLine(t('quota.rowsPerCall'), g.quota.rowsPerCall, d?.rowsPerCall)}
        {g.rights.verify &&
          quotaLine(
            t('quota.verificationsPerDay'),
            g.quota.verificationsPerDay,
            d?.verificationsPerDay,
            today?.verifications,
          )}
        {g.rights.export &&
          quotaLine(t('quota.exportRowsPerDay'), g.quota.exportRowsPerDay, d?.exportRowsPerDay)}
        {(g.accessMode === 'aggregate' || (today?.epsilon ?? 0) > 0) &&
          quotaLine(
            t('quota.epsilonPerDay'),
            g.quota.epsilonPerDay ?? null,
            d?.epsilonPerDay,
            today?.epsilon,
            `grant-quota-epsilon-${g.id}`,
          )}
      </div>
    );
  };
  const columns: (TableColumnsType<Grant>[number] & { priority: Priority })[] = [
    {
      key: 'resource',
      priority: 'always',
      title: t('grant.resource'),
      fixed: 'left',
      width: 200,
      render: (_, g) => (
        <div style={{ display: 'flex', flexDirection: 'column', minWidth: 0 }}>
          {cut(g.resource.name, `grant-resource-${g.id}`)}
          <Typography.Text type="secondary" code ellipsis={{ tooltip: g.resource.code }}>
            {g.resource.code}
          </Typography.Text>
        </div>
      ),
    },
    {
      key: 'consumer',
      priority: 'always',
      title: t('grant.consumer'),
      width: 120,
      render: (_, g) => cut(g.consumerOrg.name),
    },
    { key: 'app', priority: 'always', title: t('grant.app'), width: 120, render: (_, g) => cut(g.app.name) },
    {
      key: 'calls',
      priority: 'xl',
      title: t('grant.calls30'),
      width: 200,
      render: (_, g) => <GrantCallsChart grantId={g.id} app={g.app.name} usage={usage.data} />,
    },
    { key: 'fields', priority: 'xl', title: t('grant.fields'), width: 200, render: (_, g) => fieldTags(g) },
    {
      key: 'purpose',
      priority: 'lg',
      title: t('grant.purpose'),
      width: 220,
      render: (_, g) => purposeCell(g),
    },
    {
      key: 'rights',
      priority: 'always',
      title: t('grant.rights'),
      width: 150,
      render: (_, g) => (
        <span>
          {g.accessMode === 'aggregate' ? (
            <Tag color="gold" data-testid={`grant-aggregate-${g.id}`}>
              {tEnum('accessMode', 'aggregate')}
            </Tag>
          ) : null}
          {g.accessMode !== 'aggregate' && g.rights.read && <Tag>{t('grant.rightRead')}</Tag>}
          {g.rights.verify && <Tag color="blue">{t('grant.rightVerify')}</Tag>}
          {g.rights.export && (
            <Tag color="purple" data-testid={`grant-right-export-${g.id}`}>
              {t('grant.rightExport')}
            </Tag>
          )}
          {g.clearFields?.length ? (
            <div data-testid={`grant-clear-${g.id}`}>
              <Typography.Text type="secondary">
                {t('grant.clearFields')}
                {colon}
              </Typography.Text>
              {g.clearFields.map((c) => fieldName(g, c)).join(t('punct.list'))}
            </div>
          ) : null}
          {g.rights.feed && (
            <Tag color="cyan" data-testid={`grant-right-feed-${g.id}`}>
              {t('grant.rightFeed')}
            </Tag>
          )}
        </span>
      ),
    },
    {
      key: 'validity',
      priority: 'lg',
      title: t('grant.validity'),
      width: 120,
      render: (_, g) => (
        <span>
          {fmtDate(g.validFrom)} ~<br />
          {fmtDate(g.validUntil)}
        </span>
      ),
    },
    { key: 'quota', priority: 'xxl', title: t('quota.title'), width: 190, render: (_, g) => quotaCell(g) },
    {
      key: 'status',
      priority: 'always',
      title: t('common.status'),
      width: 150,
      dataIndex: 'status',
      // a grant made because the provider did not answer in time says so (SY Art 25)
      render: (v: string, g) => (
        <Space direction="vertical" size={4}>
          <Space size={4} wrap>
            <EnumTag kind="grantStatus" value={v} />
            {g.deemedConsent ? (
              <Tag color="green" data-testid={`grant-deemed-${g.id}`}>
                {t('decision.deemed')}
              </Tag>
            ) : null}
          </Space>
          <AgreementCell g={g} onChanged={grants.reload} />
        </Space>
      ),
    },
    {
      key: 'actions',
      priority: 'always',
      title: t('common.actions'),
      fixed: 'right',
      // wide enough for the longest button label in either language (Edit rights and quota)
      width: 200,
      render: (_, g) =>
        canSubscribe(g) ? (
          <Space wrap>
            <Button data-testid={`grant-docs-${g.id}`} size="small" onClick={() => setDocsOf(g)}>
              {t('docs.open')}
            </Button>
            <Button data-testid={`grant-feed-${g.id}`} size="small" onClick={() => setFeedOf(g)}>
              {t('feed.manage')}
            </Button>
          </Space>
        ) : canRevoke(g) ? (
          <Space wrap>
            <Button
              data-testid={`grant-edit-${g.id}`}
              size="small"
              onClick={() => {
                form.setFieldsValue({
                  export: g.rights.export,
                  exportRowsPerDay: g.quota.exportRowsPerDay,
                  epsilonPerDay: g.quota.epsilonPerDay ?? null,
                  accessMode: g.accessMode ?? 'rows',
                  clearFields: g.clearFields ?? [],
                  feed: g.rights.feed,
                });
                setEditing(g);
              }}
            >
              {t('grant.edit')}
            </Button>
            <Popconfirm title={t('common.confirmRevoke')} onConfirm={() => revoke(g)}>
              <Button data-testid={`grant-revoke-${g.id}`} size="small" danger>
                {t('common.revoke')}
              </Button>
            </Popconfirm>
          </Space>
        ) : null,
    },
  ];
  const visible = columns.filter((c) => shown(c.priority));
  const folded = columns.filter((c) => !shown(c.priority)).map((c) => c.key);
  // what a narrow screen has no column for, in the row's expanded part
  const expandedRow = (g: Grant) => (
    <Descriptions size="small" column={1} data-testid={`grant-more-${g.id}`}>
      {folded.includes('purpose') && (
        <Descriptions.Item label={t('grant.purpose')}>{purposeCell(g)}</Descriptions.Item>
      )}
      {folded.includes('validity') && (
        <Descriptions.Item label={t('grant.validity')}>
          {fmtDate(g.validFrom)} ~ {fmtDate(g.validUntil)}
        </Descriptions.Item>
      )}
      {folded.includes('fields') && (
        <Descriptions.Item label={t('grant.fields')}>{fieldTags(g)}</Descriptions.Item>
      )}
      {folded.includes('quota') && (
        <Descriptions.Item label={t('quota.title')}>{quotaCell(g)}</Descriptions.Item>
      )}
      {folded.includes('calls') && (
        <Descriptions.Item label={t('grant.calls30')}>
          <GrantCallsChart grantId={g.id} app={g.app.name} usage={usage.data} />
        </Descriptions.Item>
      )}
    </Descriptions>
  );

  return (
    <Card data-testid="page-grants" title={t('grant.title')}>
      <ErrorAlert error={grants.error} />
      <Table<Grant>
        data-testid="grants-table"
        rowKey="id"
        size="middle"
        tableLayout="fixed"
        loading={grants.loading}
        dataSource={grants.data ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true, showTotal: (n) => t('common.total', { n }) }}
        scroll={{ x: visible.reduce((w, c) => w + Number(c.width ?? 120), 0) }}
        expandable={folded.length ? { expandedRowRender: expandedRow } : undefined}
        columns={visible}
      />
      <Modal
        open={editing !== null}
        title={`${t('grant.edit')}${colon}${editing?.resource.name ?? ''} · ${editing?.app.name ?? ''}`}
        onCancel={() => setEditing(null)}
        onOk={save}
        okButtonProps={{ loading: saving, 'data-testid': 'grant-edit-save' } as never}
        destroyOnHidden
      >
        <Form form={form} layout="vertical">
          <Form.Item name="accessMode" label={t('grant.accessMode')} extra={t('grant.accessModeHint')}>
            <Radio.Group
              data-testid="grant-edit-access-mode"
              options={(['rows', 'aggregate'] as const).map((m) => ({
                value: m,
                label: tEnum('accessMode', m),
              }))}
            />
          </Form.Item>
          <Form.Item name="clearFields" label={t('grant.clearFields')} extra={t('grant.clearFieldsHint')}>
            <Select
              data-testid="grant-edit-clear-fields"
              mode="multiple"
              allowClear
              placeholder={t('grant.clearFields')}
              options={(editing?.fields ?? []).map((c) => ({
                value: c,
                label: editing ? fieldName(editing, c) : c,
              }))}
            />
          </Form.Item>
          <Form.Item name="export" label={t('grant.rightExport')} valuePropName="checked">
            <Switch data-testid="grant-edit-export" />
          </Form.Item>
          <Form.Item
            name="exportRowsPerDay"
            label={t('quota.exportRowsPerDay')}
            extra={
              usage.data?.quotaDefaults
                ? t('quota.editHint', { n: fmtNumber(usage.data.quotaDefaults.exportRowsPerDay) })
                : undefined
            }
          >
            <InputNumber
              data-testid="grant-edit-export-rows"
              min={1}
              max={100_000_000}
              precision={0}
              style={{ width: 240 }}
              placeholder={t('quota.default')}
            />
          </Form.Item>
          <Form.Item
            name="epsilonPerDay"
            label={t('quota.epsilonPerDay')}
            extra={
              <>
                {usage.data?.quotaDefaults?.epsilonPerDay !== undefined && (
                  <div>{t('quota.editHint', { n: usage.data.quotaDefaults.epsilonPerDay })}</div>
                )}
                <div>{t('quota.epsilonHint')}</div>
              </>
            }
          >
            <InputNumber
              data-testid="grant-edit-epsilon"
              min={0.1}
              max={1000}
              step={0.5}
              style={{ width: 240 }}
              placeholder={t('quota.default')}
            />
          </Form.Item>
          <Form.Item name="feed" label={t('grant.rightFeed')} valuePropName="checked">
            <Switch data-testid="grant-edit-feed" />
          </Form.Item>
        </Form>
      </Modal>
      {feedOf && <FeedSubscriptions grant={feedOf} onClose={() => setFeedOf(null)} />}
      <GrantDocs grant={docsOf} defaults={usage.data?.quotaDefaults} onClose={() => setDocsOf(null)} />
    </Card>
  );
}
