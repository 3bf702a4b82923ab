import { DownloadOutlined, PlusOutlined, UploadOutlined } from '@ant-design/icons';
import {
  Button,
  Card,
  Checkbox,
  Col,
  Empty,
  Input,
  Row,
  Select,
  Space,
  Table,
  Tooltip,
  Tree,
  Typography,
} from 'antd';
import { useEffect, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import { api, withQuery } from '../shared/api.js';
import { access, useAuth } from '../shared/auth.js';
import { EnumTag, ErrorAlert } from '../shared/common.js';
import { className, fmtNumber } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type {
  CatalogHit,
  CatalogPage,
  ClassNode,
  FacetBucket,
  FacetKey,
  HighlightSegment,
} from '../shared/types.js';
import ImportCatalog from './ImportCatalog.js';

/** Facet groups in the order the sidebar shows them. */
const FACETS: FacetKey[] = [
  'provider',
  'classification',
  'catalogLevel',
  'shareType',
  'openType',
  'shareMethod',
  'updateCycle',
  'securityLevel',
  'format',
];
const SORTS = ['relevance', 'name', 'updated'] as const;

interface TreeItem {
  key: string;
  title: React.ReactNode;
  children: TreeItem[];
}

/**
 * The classification tree (基础库 / 主题 / 部门, then 项/目/细目) with the counts of visible published entries; a theme
 * shows its lead and contributing departments (DG Art 12). Choosing a node filters the list to it and below.
 */
function ClassTree({ selected, onSelect }: { selected: string; onSelect: (code: string) => void }) {
  const { t, lang, colon } = useI18n();
  const classes = useAsync(() => api<{ items: ClassNode[] }>('/api/catalog/classes'), []);
  const nodes = classes.data?.items ?? [];
  const build = (parent: ClassNode | null): TreeItem[] =>
    nodes
      .filter((n) => (parent ? n.parentId === parent.id : n.depth === 1))
      .filter((n) => n.depth === 1 || n.kind !== 'department' || n.count > 0)
      .map((n) => {
        const label = (
          <span key={n.code} data-testid={`class-node-${n.code}`}>
            {className(n, lang)}{' '}
            <Typography.Text type="secondary" data-testid={`class-count-${n.code}`}>
              ({fmtNumber(n.count)})
            </Typography.Text>
          </span>
        );
        return {
          key: n.code,
          title: n.lead ? (
            <Tooltip
              title={`${t('catalog.treeLead')}${colon}${n.lead.name}${
                n.contributors.length
                  ? `${t('punct.semicolon')}${t('catalog.treeContributors')}${colon}${n.contributors.map((c) => c.name).join(t('punct.list'))}`
                  : ''
              }`}
            >
              {label}
            </Tooltip>
          ) : (
            label
          ),
          children: build(n),
        };
      });
  return (
    <Card size="small" title={t('catalog.tree')} data-testid="class-tree" style={{ marginBottom: 12 }}>
      <ErrorAlert error={classes.error} />
      <Button
        size="small"
        type={selected ? 'link' : 'text'}
        data-testid="class-all"
        onClick={() => onSelect('')}
        style={{ paddingLeft: 0 }}
      >
        {t('catalog.treeAll')}
      </Button>
      {nodes.length ? (
        <Tree<TreeItem>
          blockNode
          defaultExpandedKeys={['1', '2']}
          selectedKeys={selected ? [selected] : []}
          treeData={build(null)}
          onSelect={(keys) => onSelect(keys.length ? String(keys[0]) : '')}
        />
      ) : null}
    </Card>
  );
}

/** Text with the server's matched segments in bold (the server sends segments, never HTML). */
function Highlighted({ segments, text }: { segments: HighlightSegment[] | undefined; text: string }) {
  if (!segments?.length) return <>{text}</>;
  return (
    <>
      {segments.map((s, i) =>
        s.hit ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: segments are positional
          <b key={i} className="catalog-hit" data-testid="catalog-hit">
            {s.text}
          </b>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: segments are positional
          <span key={i}>{s.text}</span>
        ),
      )}
    </>
  );
}

export default function Catalog() {
  const { t, tEnum } = useI18n();
  const { me } = useAuth();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const sortParam = params.get('sort') ?? '';
  // published by default; other statuses list my department's own entries (drafts, submitted, returned, retired)
  const status = params.get('status') ?? '';
  const classCode = params.get('classCode') ?? '';
  const page = Number(params.get('page') ?? '1') || 1;
  const pageSize = Number(params.get('pageSize') ?? '20') || 20;
  const selected = Object.fromEntries(FACETS.map((k) => [k, params.getAll(k)])) as Record<FacetKey, string[]>;
  const filterKey = FACETS.map((k) => `${k}=${selected[k].join(',')}`).join('&');
  const [text, setText] = useState(q);
  const [importing, setImporting] = useState(false);
  useEffect(() => setText(q), [q]);

  const list = useAsync(
    () =>
      api<CatalogPage>('/api/catalog/resources', {
        query: { q, sort: sortParam, status, page, pageSize, classCode, ...selected },
      }),
    // `selected` is summarised by filterKey
    [q, sortParam, status, page, pageSize, filterKey, classCode],
  );

  function update(next: Record<string, string | number | string[]>) {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(next)) {
      p.delete(k);
      if (Array.isArray(v)) for (const x of v) p.append(k, x);
      else if (v !== '' && v !== undefined) p.set(k, String(v));
    }
    setParams(p);
  }

  // the export takes the search's own filters (same visibility on the server)
  const exportHref = (format: 'xlsx' | 'csv') =>
    withQuery(`/api/catalog/export.${format}`, { q, sort: sortParam, status, ...selected });
  const facetLabel = (k: FacetKey, b: FacetBucket) =>
    k === 'provider' ? b.label : tEnum(k, String(b.value));
  const anyFilter = FACETS.some((k) => selected[k].length > 0);
  const sort = sortParam || (q ? 'relevance' : 'name');

  const sidebar = (
    <Card
      size="small"
      title={t('catalog.filters')}
      data-testid="catalog-facets"
      extra={
        anyFilter ? (
          <Button
            size="small"
            type="link"
            data-testid="facet-clear"
            onClick={() => update({ ...Object.fromEntries(FACETS.map((k) => [k, []])), page: 1 })}
          >
            {t('catalog.clearFilters')}
          </Button>
        ) : null
      }
    >
      {FACETS.map((k) => {
        const buckets = list.data?.facets[k] ?? [];
        if (!buckets.length) return null;
        return (
          <div key={k} data-testid={`facet-${k}`} style={{ marginBottom: 12 }}>
            <Typography.Text strong>{t(`catalog.facet.${k}`)}</Typography.Text>
            <Checkbox.Group
              style={{ display: 'flex', flexDirection: 'column', marginTop: 4 }}
              value={selected[k]}
              onChange={(v) => update({ [k]: (v as (string | number)[]).map(String), page: 1 })}
              options={buckets.map((b) => ({
                value: String(b.value),
                label: (
                  <span data-testid={`facet-${k}-${b.value}`}>
                    {facetLabel(k, b)}{' '}
                    <Typography.Text type="secondary" data-testid={`facet-count-${k}-${b.value}`}>
                      ({fmtNumber(b.count)})
                    </Typography.Text>
                  </span>
                ),
              }))}
            />
          </div>
        );
      })}
    </Card>
  );

  return (
    <Card
      data-testid="page-catalog"
      title={t('catalog.title')}
      extra={
        <Space wrap>
          <Button
            data-testid="catalog-export-xlsx"
            icon={<DownloadOutlined />}
            title={t('catalog.exportHint')}
            href={exportHref('xlsx')}
          >
            {t('catalog.exportXlsx')}
          </Button>
          <Button
            data-testid="catalog-export-csv"
            icon={<DownloadOutlined />}
            title={t('catalog.exportHint')}
            href={exportHref('csv')}
          >
            {t('catalog.exportCsv')}
          </Button>
          {access.register(me) ? (
            <>
              <Button
                data-testid="catalog-import"
                icon={<UploadOutlined />}
                onClick={() => setImporting(true)}
              >
                {t('catalog.import')}
              </Button>
              <Button type="primary" icon={<PlusOutlined />} onClick={() => navigate('/catalog/new')}>
                {t('catalog.register')}
              </Button>
            </>
          ) : null}
        </Space>
      }
    >
      <ImportCatalog open={importing} onClose={() => setImporting(false)} onImported={() => list.reload()} />
      <Row gutter={16}>
        <Col xs={24} md={7} lg={6}>
          <ClassTree selected={classCode} onSelect={(c) => update({ classCode: c, page: 1 })} />
          {sidebar}
        </Col>
        <Col xs={24} md={17} lg={18}>
          <Space wrap style={{ marginBottom: 16 }}>
            <Input.Search
              data-testid="catalog-search"
              allowClear
              style={{ width: 360 }}
              placeholder={t('catalog.searchPlaceholder')}
              title={t('catalog.searchHint')}
              enterButton={t('common.search')}
              value={text}
              onChange={(e) => setText(e.target.value)}
              onSearch={(v) => update({ q: v.trim(), page: 1, sort: '' })}
            />
            <Select
              data-testid="catalog-sort"
              style={{ width: 160 }}
              value={sort}
              onChange={(v) => update({ sort: v, page: 1 })}
              options={SORTS.filter((s) => s !== 'relevance' || q).map((s) => ({
                value: s,
                label: `${t('catalog.sort')}: ${t(`sort.${s}`)}`,
              }))}
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
            <Typography.Text type="secondary" data-testid="catalog-total">
              {list.data ? t('catalog.found', { n: fmtNumber(list.data.total) }) : ''}
            </Typography.Text>
          </Space>
          <ErrorAlert error={list.error} />
          <Table<CatalogHit>
            data-testid="catalog-table"
            rowKey="id"
            size="middle"
            loading={list.loading}
            dataSource={list.data?.items ?? []}
            locale={{ emptyText: <Empty description={t('catalog.noMatch')} /> }}
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
                title: t('catalog.name'),
                dataIndex: 'name',
                width: '34%',
                render: (v: string, r) => (
                  <div>
                    <Typography.Link
                      data-testid={`catalog-link-${r.code}`}
                      onClick={() => navigate(`/catalog/${r.id}`)}
                    >
                      <Highlighted segments={r.highlight?.name} text={v} />
                    </Typography.Link>
                    <div>
                      <Typography.Text code style={{ fontSize: 12 }}>
                        {r.code}
                      </Typography.Text>
                    </div>
                    <Typography.Paragraph
                      type="secondary"
                      style={{ marginBottom: 0, fontSize: 12 }}
                      ellipsis={{ rows: 2 }}
                      data-testid={`catalog-summary-${r.code}`}
                    >
                      <Highlighted segments={r.highlight?.summary} text={r.summary} />
                    </Typography.Paragraph>
                  </div>
                ),
              },
              {
                title: <span style={{ whiteSpace: 'nowrap' }}>{t('catalog.provider')}</span>,
                dataIndex: ['provider', 'name'],
                width: 150,
              },
              {
                title: t('res.status'),
                dataIndex: 'status',
                width: 100,
                render: (v: string) => <EnumTag kind="resStatus" value={v} />,
              },
              {
                title: t('catalog.shareType'),
                dataIndex: 'shareType',
                width: 110,
                render: (v: string) => <EnumTag kind="shareType" value={v} />,
              },
              {
                title: t('catalog.catalogLevel'),
                dataIndex: 'catalogLevel',
                width: 100,
                render: (v: string) => <EnumTag kind="catalogLevel" value={v} />,
              },
              {
                title: t('catalog.securityLevel'),
                dataIndex: 'securityLevel',
                width: 100,
                render: (v: string) => <EnumTag kind="securityLevel" value={v} />,
              },
              {
                title: <span style={{ whiteSpace: 'nowrap' }}>{t('catalog.updateCycle')}</span>,
                dataIndex: 'updateCycle',
                width: 90,
                render: (v: string) => tEnum('updateCycle', v),
              },
              {
                title: t('catalog.rowCount'),
                dataIndex: 'rowCount',
                align: 'right',
                width: 100,
                render: (v: number) => fmtNumber(v),
              },
            ]}
          />
        </Col>
      </Row>
    </Card>
  );
}
