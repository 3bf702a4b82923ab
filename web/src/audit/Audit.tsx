import {
  Button,
  Card,
  DatePicker,
  Descriptions,
  Input,
  Select,
  Space,
  Table,
  Tag,
  Tooltip,
  Typography,
} from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { api } from '../shared/api.js';
import { EnumTag, ErrorAlert, PersonalNotice } from '../shared/common.js';
import { fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { AuditEntry, Page } from '../shared/types.js';
import Integrity from './Integrity.js';

interface Filters {
  action: string;
  decision: string;
  targetKey: string;
  range: [Dayjs | null, Dayjs | null] | null;
}

const EMPTY: Filters = { action: '', decision: '', targetKey: '', range: null };

const ACTIONS = [
  'data.get',
  'data.list',
  'data.preview',
  'auth.login',
  'app.create',
  'app.revoke',
  'catalog.register',
  'ingest.upload',
  'share.request',
  'share.approve',
  'share.reject',
  'share.grant',
  'share.revoke',
  'calendar.import',
  'security.appSuspended',
  'security.appReinstated',
  'http.refused',
  'platform.bootstrap',
  'platform.setup',
  'catalog.edit',
  'catalog.submit',
  'catalog.return',
  'catalog.publish',
  'catalog.retire',
  'inventory.negative_proposed',
  'inventory.negative_filed',
  'inventory.negative_approved',
  'inventory.negative_rejected',
  'inventory.negative_withdrawn',
  'inventory.negative_exported',
  'inventory.duty_recorded',
  'inventory.duty_resources_set',
  'inventory.duty_done',
  'inventory.system_registered',
  'inventory.system_mounted',
  'inventory.system_unmounted',
  'inventory.system_status',
  'inventory.responsibility_added',
  'inventory.demand_added',
  'inventory.match_confirmed',
  'inventory.match_rejected',
  'inventory.matching_exported',
  'inventory.open_proposed',
  'inventory.open_approved',
  'inventory.open_rejected',
  'audit.verified',
  'audit.exported',
] as const;

/** Detail entries worth a line of their own; codes are shown by their label, never raw. */
function DetailView({ e }: { e: AuditEntry }) {
  const { t, tEnum } = useI18n();
  const detail = (e.detail ?? {}) as Record<string, unknown>;
  const items = [
    { key: 'target', label: t('audit.target'), children: targetText(e, tEnum) },
    { key: 'purpose', label: t('audit.purpose'), children: e.purpose || '-' },
    { key: 'fields', label: t('audit.fields'), children: (e.fieldNames ?? e.fields)?.join('、') || '-' },
    { key: 'grant', label: t('menu.grants'), children: e.grantId ?? '-' },
    { key: 'client', label: t('audit.clientIp'), children: e.clientIp || '-' },
  ];
  // the data statement records `reason`, the HTTP layer's refusal record `code`: both are error codes
  const reason =
    typeof detail.reason === 'string' ? detail.reason : typeof detail.code === 'string' ? detail.code : null;
  if (reason) items.push({ key: 'reason', label: t('audit.reason'), children: tEnum('error', reason) });
  return <Descriptions data-testid={`audit-detail-${e.id}`} size="small" column={2} bordered items={items} />;
}

function targetText(e: AuditEntry, tEnum: (p: string, v: string | null | undefined) => string): string {
  if (!e.targetType) return '-';
  // record keys are stored as a keyed hash: show their masked form only
  const id = e.targetLabel ?? (e.targetType === 'record' ? null : e.targetId);
  return `${tEnum('targetType', e.targetType)}${id != null ? ` ${id}` : ''}`;
}

export default function Audit() {
  const { t, tEnum } = useI18n();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(20);

  const from = filters.range?.[0]?.startOf('day').toISOString();
  const to = filters.range?.[1]?.endOf('day').toISOString();
  const list = useAsync(
    () =>
      api<Page<AuditEntry>>('/api/audit', {
        query: {
          action: filters.action,
          decision: filters.decision,
          targetKey: filters.targetKey,
          from,
          to,
          page,
          pageSize,
        },
      }),
    [filters.action, filters.decision, filters.targetKey, from, to, page, pageSize],
  );

  return (
    <div data-testid="page-audit">
      <PersonalNotice />
      <Integrity />
      <Card title={t('audit.title')}>
        <Space wrap style={{ marginBottom: 16 }}>
          <Select
            data-testid="audit-action"
            style={{ width: 200 }}
            value={draft.action}
            onChange={(v) => setDraft({ ...draft, action: v })}
            options={[
              { value: '', label: t('audit.actionAll') },
              ...ACTIONS.map((a) => ({ value: a, label: tEnum('action', a) })),
            ]}
          />
          <Tooltip title={t('audit.targetKeyHint')}>
            <Input
              data-testid="audit-target-key"
              allowClear
              style={{ width: 230 }}
              maxLength={200}
              placeholder={t('audit.targetKey')}
              value={draft.targetKey}
              onChange={(e) => setDraft({ ...draft, targetKey: e.target.value })}
              onPressEnter={() => {
                setFilters({ ...draft, targetKey: draft.targetKey.trim() });
                setPage(1);
              }}
            />
          </Tooltip>
          <Select
            data-testid="audit-decision"
            style={{ width: 140 }}
            value={draft.decision}
            onChange={(v) => setDraft({ ...draft, decision: v })}
            options={[
              { value: '', label: `${t('audit.decision')}: ${t('common.all')}` },
              { value: 'allow', label: tEnum('decision', 'allow') },
              { value: 'deny', label: tEnum('decision', 'deny') },
            ]}
          />
          <DatePicker.RangePicker
            data-testid="audit-range"
            value={draft.range}
            onChange={(v) => setDraft({ ...draft, range: v })}
          />
          <Button
            data-testid="audit-search"
            type="primary"
            onClick={() => {
              setFilters({ ...draft, targetKey: draft.targetKey.trim() });
              setPage(1);
            }}
          >
            {t('common.search')}
          </Button>
          <Button
            onClick={() => {
              setDraft(EMPTY);
              setFilters(EMPTY);
              setPage(1);
            }}
          >
            {t('common.reset')}
          </Button>
        </Space>
        <ErrorAlert error={list.error} />
        <Table<AuditEntry>
          data-testid="audit-table"
          rowKey="id"
          size="small"
          loading={list.loading}
          dataSource={list.data?.items ?? []}
          scroll={{ x: 'max-content' }}
          expandable={{
            expandedRowRender: (e) => <DetailView e={e} />,
          }}
          pagination={{
            current: page,
            pageSize,
            total: list.data?.total ?? 0,
            showSizeChanger: true,
            showTotal: (n) => t('common.total', { n }),
            onChange: (p, ps) => {
              setPage(ps !== pageSize ? 1 : p);
              setPageSize(ps);
            },
          }}
          columns={[
            {
              title: t('audit.time'),
              dataIndex: 'occurredAt',
              width: 170,
              render: (v: string) => fmtTime(v),
            },
            {
              title: t('audit.action'),
              dataIndex: 'action',
              render: (v: string, e) => (
                <>
                  {tEnum('action', v)}
                  {e.repeatCount > 1 ? (
                    <Tag data-testid={`audit-repeat-${e.id}`}>
                      {t('audit.repeated', { n: e.repeatCount })}
                    </Tag>
                  ) : null}
                </>
              ),
            },
            {
              title: t('audit.decision'),
              dataIndex: 'decision',
              render: (v: string) => <EnumTag kind="decision" value={v} />,
            },
            { title: t('audit.actor'), render: (_, e) => e.actor?.displayName ?? '-' },
            { title: t('audit.org'), render: (_, e) => e.org?.name ?? '-' },
            { title: t('audit.app'), render: (_, e) => e.app?.name ?? '-' },
            {
              title: t('audit.resource'),
              render: (_, e) =>
                e.resource ? (
                  <span>
                    {e.resource.name} <Typography.Text code>{e.resource.code}</Typography.Text>
                  </span>
                ) : (
                  '-'
                ),
            },
            { title: t('audit.target'), render: (_, e) => targetText(e, tEnum) },
            {
              title: t('audit.purpose'),
              dataIndex: 'purpose',
              ellipsis: true,
              render: (v: string | null) => v || '-',
            },
            {
              title: t('audit.rows'),
              dataIndex: 'rowsReturned',
              align: 'right',
              render: (v: number | null) => v ?? '-',
            },
            {
              title: t('audit.fields'),
              render: (_, e) => {
                const names = e.fieldNames ?? e.fields;
                return names?.length ? names.map((f) => <Tag key={f}>{f}</Tag>) : '-';
              },
            },
            { title: t('audit.clientIp'), dataIndex: 'clientIp', render: (v: string | null) => v || '-' },
          ]}
        />
      </Card>
    </div>
  );
}
