import { Button, Card, DatePicker, Input, Select, Space, Table, Tag, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { api } from '../api.js';
import { EnumTag, ErrorAlert, PersonalNotice } from '../components/common.js';
import { fmtTime } from '../format.js';
import { useAsync } from '../hooks.js';
import { useI18n } from '../i18n.js';
import type { AuditEntry, Page } from '../types.js';

interface Filters {
  action: string;
  decision: string;
  range: [Dayjs | null, Dayjs | null] | null;
}

const EMPTY: Filters = { action: '', decision: '', range: null };

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
        query: { action: filters.action, decision: filters.decision, from, to, page, pageSize },
      }),
    [filters.action, filters.decision, from, to, page, pageSize],
  );

  return (
    <div data-testid="page-audit">
      <PersonalNotice />
      <Card title={t('audit.title')}>
        <Space wrap style={{ marginBottom: 16 }}>
          <Input
            data-testid="audit-action"
            allowClear
            style={{ width: 200 }}
            placeholder={t('audit.action')}
            value={draft.action}
            onChange={(e) => setDraft({ ...draft, action: e.target.value })}
            onPressEnter={() => {
              setFilters(draft);
              setPage(1);
            }}
          />
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
              setFilters({ ...draft, action: draft.action.trim() });
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
            expandedRowRender: (e) => (
              <pre
                data-testid={`audit-detail-${e.id}`}
                style={{ margin: 0, fontSize: 12, maxHeight: 360, overflow: 'auto' }}
              >
                {JSON.stringify(e, null, 2)}
              </pre>
            ),
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
                  <Typography.Text code>{v}</Typography.Text>
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
              dataIndex: 'fields',
              render: (v: string[] | null) => (v?.length ? v.map((f) => <Tag key={f}>{f}</Tag>) : '-'),
            },
            { title: t('audit.clientIp'), dataIndex: 'clientIp', render: (v: string | null) => v || '-' },
          ]}
        />
      </Card>
    </div>
  );
}
