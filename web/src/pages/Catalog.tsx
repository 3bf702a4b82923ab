import { PlusOutlined } from '@ant-design/icons';
import { Button, Card, Input, Select, Space, Table, Typography } from 'antd';
import { useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import { api } from '../api.js';
import { access, useAuth } from '../auth.js';
import { EnumTag, ErrorAlert } from '../components/common.js';
import { fmtNumber } from '../format.js';
import { useAsync } from '../hooks.js';
import { useI18n } from '../i18n.js';
import type { Page, ResourceSummary } from '../types.js';

export default function Catalog() {
  const { t, tEnum } = useI18n();
  const { me } = useAuth();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const shareType = params.get('shareType') ?? '';
  // published by default; other statuses list my department's own entries (drafts, submitted, returned, retired)
  const status = params.get('status') ?? '';
  const page = Number(params.get('page') ?? '1') || 1;
  const pageSize = Number(params.get('pageSize') ?? '20') || 20;
  const [text, setText] = useState(q);

  const list = useAsync(
    () =>
      api<Page<ResourceSummary>>('/api/catalog/resources', {
        query: { q, shareType, status, page, pageSize },
      }),
    [q, shareType, status, page, pageSize],
  );

  function update(next: Record<string, string | number>) {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(next)) {
      if (v === '' || v === undefined) p.delete(k);
      else p.set(k, String(v));
    }
    setParams(p);
  }

  return (
    <Card
      data-testid="page-catalog"
      title={t('catalog.title')}
      extra={
        access.register(me) ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => navigate('/catalog/new')}>
            {t('catalog.register')}
          </Button>
        ) : null
      }
    >
      <Space wrap style={{ marginBottom: 16 }}>
        <Input.Search
          data-testid="catalog-search"
          allowClear
          style={{ width: 320 }}
          placeholder={t('catalog.searchPlaceholder')}
          enterButton={t('common.search')}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onSearch={(v) => update({ q: v.trim(), page: 1 })}
        />
        <Select
          data-testid="catalog-share-type"
          style={{ width: 180 }}
          value={shareType}
          onChange={(v) => update({ shareType: v, page: 1 })}
          options={[
            { value: '', label: `${t('catalog.shareTypeFilter')}: ${t('common.all')}` },
            ...(['unconditional', 'conditional', 'none'] as const).map((v) => ({
              value: v,
              label: tEnum('shareType', v),
            })),
          ]}
        />
        <Select
          data-testid="catalog-status"
          style={{ width: 200 }}
          value={status}
          onChange={(v) => update({ status: v, page: 1 })}
          options={[
            { value: '', label: tEnum('resStatus', 'published') },
            ...(['draft', 'submitted', 'returned', 'retired'] as const).map((v) => ({
              value: v,
              label: `${t('catalog.ownEntries')}: ${tEnum('resStatus', v)}`,
            })),
          ]}
        />
      </Space>
      <ErrorAlert error={list.error} />
      <Table<ResourceSummary>
        data-testid="catalog-table"
        rowKey="id"
        size="middle"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        onRow={(r) => ({ onClick: () => navigate(`/catalog/${r.id}`), style: { cursor: 'pointer' } })}
        pagination={{
          current: page,
          pageSize,
          total: list.data?.total ?? 0,
          showSizeChanger: true,
          showTotal: (n) => t('common.total', { n }),
          onChange: (p, ps) => update({ page: ps !== pageSize ? 1 : p, pageSize: ps }),
        }}
        columns={[
          {
            title: t('catalog.code'),
            dataIndex: 'code',
            width: 200,
            render: (v: string) => <Typography.Text code>{v}</Typography.Text>,
          },
          {
            title: t('catalog.name'),
            dataIndex: 'name',
            render: (v: string, r) => (
              <Typography.Link
                data-testid={`catalog-link-${r.code}`}
                onClick={() => navigate(`/catalog/${r.id}`)}
              >
                {v}
              </Typography.Link>
            ),
          },
          { title: t('catalog.provider'), dataIndex: ['provider', 'name'] },
          {
            title: t('res.status'),
            dataIndex: 'status',
            render: (v: string) => <EnumTag kind="resStatus" value={v} />,
          },
          {
            title: t('catalog.shareType'),
            dataIndex: 'shareType',
            render: (v: string) => <EnumTag kind="shareType" value={v} />,
          },
          {
            title: t('catalog.catalogLevel'),
            dataIndex: 'catalogLevel',
            render: (v: string) => <EnumTag kind="catalogLevel" value={v} />,
          },
          {
            title: t('catalog.securityLevel'),
            dataIndex: 'securityLevel',
            render: (v: string) => <EnumTag kind="securityLevel" value={v} />,
          },
          {
            title: t('catalog.updateCycle'),
            dataIndex: 'updateCycle',
            render: (v: string) => tEnum('updateCycle', v),
          },
          {
            title: t('catalog.rowCount'),
            dataIndex: 'rowCount',
            align: 'right',
            render: (v: number) => fmtNumber(v),
          },
        ]}
      />
    </Card>
  );
}
