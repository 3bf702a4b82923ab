import { DownloadOutlined, GlobalOutlined } from '@ant-design/icons';
import {
  Alert,
  Button,
  Card,
  Checkbox,
  Col,
  ConfigProvider,
  Descriptions,
  Empty,
  Grid,
  Input,
  Layout,
  List,
  Pagination,
  Result,
  Row,
  Space,
  Spin,
  Statistic,
  Table,
  Tag,
  Typography,
} from 'antd';
import { type ReactNode, useEffect, useState } from 'react';
import { Link, Route, Routes, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import PortalResults from '../evaluation/PortalResults.js';
import { ApiError, api, errorText, withQuery } from '../shared/api.js';
import { LanguageToggle } from '../shared/common.js';
import { useI18n } from '../shared/i18n.js';
import CallsChart from '../stats/CallsChart.js';
import { AccountLinks, AccountPage, AccountProvider, ApplyCard, LoginPage, RegisterPage } from './Account.js';
import Notices from './Notices.js';
import PortalUsage from './Usage.js';

/*
 * The public open-data portal (issue 11 point 1): no login. Home → search with facets → dataset page with metadata,
 * masked preview and downloads. Data comes from /api/open/* (src/opening/routes.ts).
 */

interface Segment {
  text: string;
  hit: boolean;
}
interface Dataset {
  id: number;
  code: string;
  title: string;
  summary: string;
  keywords: string[];
  department: { id: number; name: string };
  topic: string;
  domains: string[];
  openType: 'open' | 'onApplication';
  updateCycle: string;
  format: string;
  publishedAt: string | null;
  updatedAt: string | null;
  rowCount: number;
  highlight?: { title: Segment[]; summary: Segment[] } | null;
}
interface Bucket {
  value: string | number;
  label: string;
  count: number;
}
interface SearchPage {
  items: Dataset[];
  total: number;
  page: number;
  pageSize: number;
  facets: Record<string, Bucket[]>;
}
interface Home {
  datasets: number;
  rows: number;
  departments: { id: number; name: string; count: number }[];
  domains: { key: string; count: number }[];
  latest: Dataset[];
}
interface Field {
  code: string;
  name: string;
  type: string;
  masked: boolean;
}
interface DatasetPage extends Dataset {
  contact: { department: string };
  fields: Field[];
  downloads: string[];
  api: { ckanPackage: string; datastore: string } | null;
  application: { mustState: ('purpose' | 'scenario' | 'securityMeasures')[] } | null;
  usage: {
    views: number;
    previews: number;
    downloads: number;
    apiCalls: number;
    days: { day: string; views: number; previews: number; downloads: number; apiCalls: number }[];
  };
}
interface Preview {
  fields: Field[];
  records: Record<string, unknown>[];
  total: number;
}

function Marked({ segs, text }: { segs?: Segment[] | null; text: string }) {
  if (!segs?.length) return <>{text}</>;
  return (
    <>
      {segs.map((s, i) =>
        s.hit ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: segments have no identity but their order
          <mark key={i}>{s.text}</mark>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: segments have no identity but their order
          <span key={i}>{s.text}</span>
        ),
      )}
    </>
  );
}

function day(v: string | null) {
  return v ? v.slice(0, 10) : '-';
}

/** Tag colours with a contrast ratio of at least 4.5:1 (WCAG AA; antd's preset tag colours fall short). */
const TAG = {
  open: { color: '#14532d', background: '#dcfce7', borderColor: '#86efac' },
  onApplication: { color: '#713f12', background: '#fef9c3', borderColor: '#fde047' },
  domain: { color: '#1e3a8a', background: '#dbeafe', borderColor: '#93c5fd' },
};

function OpenTypeTag({ v }: { v: string }) {
  const { tEnum } = useI18n();
  return <Tag style={v === 'open' ? TAG.open : TAG.onApplication}>{tEnum('openType', v)}</Tag>;
}

function SearchBox({ initial = '' }: { initial?: string }) {
  const { t } = useI18n();
  const navigate = useNavigate();
  return (
    <Input.Search
      size="large"
      data-testid="open-search"
      defaultValue={initial}
      aria-label={t('open.searchPlaceholder')}
      placeholder={t('open.searchPlaceholder')}
      enterButton={t('open.search')}
      onSearch={(q) => navigate(withQuery('/open/search', { q: q.trim() }))}
    />
  );
}

function DatasetItem({ d }: { d: Dataset }) {
  const { t, tEnum, colon } = useI18n();
  return (
    <List.Item>
      <List.Item.Meta
        title={
          <Link to={`/open/dataset/${d.id}`}>
            <Marked segs={d.highlight?.title} text={d.title} />
          </Link>
        }
        description={
          <Space direction="vertical" size={4} style={{ width: '100%' }}>
            <Typography.Paragraph ellipsis={{ rows: 2 }} style={{ marginBottom: 0, color: '#374151' }}>
              <Marked segs={d.highlight?.summary} text={d.summary} />
            </Typography.Paragraph>
            <Space wrap size={[8, 4]}>
              <OpenTypeTag v={d.openType} />
              <span>{d.department.name}</span>
              <span>
                {t('open.meta.updateCycle')}
                {colon}
                {tEnum('updateCycle', d.updateCycle)}
              </span>
              <span>
                {t('open.meta.updatedAt')}
                {colon}
                {day(d.updatedAt)}
              </span>
            </Space>
          </Space>
        }
      />
    </List.Item>
  );
}

function useLoad<T>(path: string | null): { data: T | null; error: unknown; loading: boolean } {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  useEffect(() => {
    if (!path) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    api<T>(path).then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error: unknown) => live && setState({ data: null, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [path]);
  return state;
}

function HomePage() {
  const { t } = useI18n();
  const { data, error } = useLoad<Home>('/api/open/home');
  const { lang } = useI18n();
  if (error) return <Alert type="error" message={errorText(error, lang)} />;
  if (!data) return <Spin />;
  return (
    <Space direction="vertical" size={24} style={{ width: '100%' }}>
      <Card>
        <Typography.Title level={1} style={{ fontSize: 28 }}>
          {t('open.title')}
        </Typography.Title>
        <Typography.Paragraph>{t('open.tagline')}</Typography.Paragraph>
        <SearchBox />
        <Row gutter={16} style={{ marginTop: 16 }}>
          <Col xs={8}>
            <Statistic title={t('open.datasetCount')} value={data.datasets} />
          </Col>
          <Col xs={8}>
            <Statistic title={t('open.rowCount')} value={data.rows} />
          </Col>
          <Col xs={8}>
            <Statistic title={t('open.departmentCount')} value={data.departments.length} />
          </Col>
        </Row>
      </Card>
      {data.domains.length > 0 && (
        <Card title={<h2 style={{ fontSize: 18, margin: 0 }}>{t('open.domains')}</h2>}>
          <Space wrap>
            {data.domains.map((d) => (
              <Link key={d.key} to={withQuery('/open/search', { domain: d.key })}>
                <Tag style={{ ...TAG.domain, fontSize: 15, padding: '4px 10px' }}>
                  {t(`openDomain.${d.key}` as never)} · {d.count}
                </Tag>
              </Link>
            ))}
          </Space>
        </Card>
      )}
      <Row gutter={[24, 24]}>
        <Col xs={24} md={16}>
          <Card title={<h2 style={{ fontSize: 18, margin: 0 }}>{t('open.latest')}</h2>}>
            <List dataSource={data.latest} renderItem={(d) => <DatasetItem key={d.id} d={d} />} />
          </Card>
        </Col>
        <Col xs={24} md={8}>
          <Card title={<h2 style={{ fontSize: 18, margin: 0 }}>{t('open.departments')}</h2>}>
            <List
              size="small"
              dataSource={data.departments}
              renderItem={(d) => (
                <List.Item key={d.id} extra={<span>{d.count}</span>}>
                  <Link to={withQuery('/open/search', { department: d.id })}>{d.name}</Link>
                </List.Item>
              )}
            />
          </Card>
        </Col>
      </Row>
    </Space>
  );
}

const FACETS = ['department', 'topic', 'openType', 'format', 'updateCycle'] as const;

function SearchPageView() {
  const { t, lang, colon } = useI18n();
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const page = Number(params.get('page') ?? 1) || 1;
  const query: Record<string, string | string[]> = { q, page: String(page), pageSize: '20' };
  for (const k of FACETS) query[k] = params.getAll(k);
  const domain = params.get('domain');
  if (domain) query.domain = domain;
  const path = withQuery('/api/open/datasets', query);
  const { data, error, loading } = useLoad<SearchPage>(path);

  const toggle = (k: string, v: string, on: boolean) => {
    const next = new URLSearchParams(params);
    const values = next.getAll(k).filter((x) => x !== v);
    next.delete(k);
    for (const x of on ? [...values, v] : values) next.append(k, x);
    next.delete('page');
    setParams(next);
  };
  const anyFilter = FACETS.some((k) => params.getAll(k).length) || !!domain;

  return (
    <Space direction="vertical" size={16} style={{ width: '100%' }}>
      <SearchBox key={q} initial={q} />
      {error ? <Alert type="error" message={errorText(error, lang)} /> : null}
      <Row gutter={[24, 24]}>
        <Col xs={24} md={7}>
          <Card size="small">
            {domain && (
              <p>
                {t('open.domains')}
                {colon}
                <Tag style={TAG.domain}>{t(`openDomain.${domain}` as never)}</Tag>
              </p>
            )}
            {anyFilter && (
              <Button type="link" onClick={() => setParams(new URLSearchParams(q ? { q } : {}))}>
                {t('open.clearFilters')}
              </Button>
            )}
            {FACETS.map((k) => {
              const buckets = data?.facets[k] ?? [];
              if (!buckets.length) return null;
              const selected = params.getAll(k);
              return (
                <fieldset key={k} style={{ border: 0, padding: 0, margin: '0 0 16px' }}>
                  <legend style={{ fontWeight: 600, fontSize: 14, marginBottom: 4 }}>
                    {t(`open.facet.${k}`)}
                  </legend>
                  <Space direction="vertical" size={2}>
                    {buckets.map((b) => (
                      <Checkbox
                        key={String(b.value)}
                        checked={selected.includes(String(b.value))}
                        onChange={(e) => toggle(k, String(b.value), e.target.checked)}
                      >
                        {k === 'openType' || k === 'format' || k === 'updateCycle'
                          ? `${t(`${k}.${b.value}` as never)}`
                          : b.label}{' '}
                        ({b.count})
                      </Checkbox>
                    ))}
                  </Space>
                </fieldset>
              );
            })}
          </Card>
        </Col>
        <Col xs={24} md={17}>
          <Card size="small">
            <Typography.Text strong role="status">
              {data ? t('open.results', { n: data.total }) : ''}
            </Typography.Text>
            <List
              data-testid="open-results"
              loading={loading}
              dataSource={data?.items ?? []}
              locale={{ emptyText: <Empty description={t('open.noResults')} /> }}
              renderItem={(d) => <DatasetItem key={d.id} d={d} />}
            />
            {data && data.total > data.pageSize && (
              <Pagination
                current={page}
                pageSize={data.pageSize}
                total={data.total}
                showSizeChanger={false}
                onChange={(p) => {
                  const next = new URLSearchParams(params);
                  next.set('page', String(p));
                  setParams(next);
                }}
              />
            )}
          </Card>
        </Col>
      </Row>
    </Space>
  );
}

function DatasetView() {
  const { id } = useParams();
  const { t, tEnum, lang } = useI18n();
  const screens = Grid.useBreakpoint();
  const { data, error } = useLoad<DatasetPage>(`/api/open/datasets/${Number(id)}`);
  const [preview, setPreview] = useState<Preview | null>(null);
  useEffect(() => {
    setPreview(null);
    if (data?.openType === 'open' && data.downloads.length)
      api<Preview>(`/api/open/datasets/${data.id}/preview`).then(setPreview, () => setPreview(null));
  }, [data]);
  if (error)
    return error instanceof ApiError && error.status === 404 ? (
      <Result status="404" title={t('open.notFound')} extra={<Link to="/open">{t('open.home')}</Link>} />
    ) : (
      <Alert type="error" message={errorText(error, lang)} />
    );
  if (!data) return <Spin />;
  const items: { label: string; children: ReactNode }[] = [
    { label: t('open.meta.summary'), children: data.summary },
    { label: t('open.meta.keywords'), children: data.keywords.join(t('punct.list')) || '-' },
    { label: t('open.meta.department'), children: data.department.name },
    { label: t('open.meta.topic'), children: data.topic },
    { label: t('open.meta.openType'), children: <OpenTypeTag v={data.openType} /> },
    { label: t('open.meta.updateCycle'), children: tEnum('updateCycle', data.updateCycle) },
    { label: t('open.meta.publishedAt'), children: day(data.publishedAt) },
    { label: t('open.meta.updatedAt'), children: day(data.updatedAt) },
    { label: t('open.meta.rowCount'), children: data.rowCount.toLocaleString() },
    { label: t('open.meta.format'), children: tEnum('format', data.format) },
    { label: t('open.meta.contact'), children: data.contact.department },
    { label: t('open.meta.code'), children: data.code },
  ];
  return (
    <Space direction="vertical" size={16} style={{ width: '100%' }}>
      <Link to="/open/search">{t('open.back')}</Link>
      <Card>
        <Typography.Title level={1} style={{ fontSize: 24 }} data-testid="open-dataset-title">
          {data.title}
        </Typography.Title>
        <Descriptions bordered size="small" column={screens.md ? 2 : 1} items={items} />
      </Card>
      {data.downloads.length > 0 ? (
        <Card title={<h2 style={{ fontSize: 18, margin: 0 }}>{t('open.download')}</h2>}>
          <Space wrap>
            {data.downloads.map((f) => (
              <Button
                key={f}
                icon={<DownloadOutlined />}
                href={`/api/open/datasets/${data.id}/download?format=${f}`}
              >
                {t(`downloadFormat.${f}` as never)}
              </Button>
            ))}
          </Space>
          {data.api && (
            <Typography.Paragraph style={{ marginTop: 12, marginBottom: 0 }}>
              {t('open.apiHint')} <Typography.Text code>{data.api.datastore}</Typography.Text>
            </Typography.Paragraph>
          )}
        </Card>
      ) : (
        <>
          <Alert type="info" showIcon message={t('open.onApplicationHint')} />
          {data.application && <ApplyCard datasetId={data.id} mustState={data.application.mustState} />}
        </>
      )}
      {preview && (
        <Card
          data-testid="open-preview"
          title={
            <h2 style={{ fontSize: 18, margin: 0 }}>{t('open.preview', { n: preview.records.length })}</h2>
          }
          extra={<span>{t('open.previewMasked')}</span>}
        >
          {/* a wide table scrolls inside a focusable region, so keyboard users can scroll it (WCAG 2.1.1) */}
          <section
            // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must take focus (axe scrollable-region-focusable)
            tabIndex={0}
            aria-label={t('open.preview', { n: preview.records.length })}
            style={{ overflowX: 'auto' }}
          >
            <Table
              size="small"
              // wide enough to read on a phone: the region around it scrolls sideways
              style={{ minWidth: preview.fields.length * 130 }}
              pagination={false}
              rowKey={(_, i) => String(i)}
              dataSource={preview.records}
              columns={preview.fields.map((f) => ({
                title: f.name,
                dataIndex: f.code,
                key: f.code,
                render: (v: unknown) => (v === null || v === undefined ? '' : String(v)),
              }))}
            />
          </section>
        </Card>
      )}
      <Card title={<h2 style={{ fontSize: 18, margin: 0 }}>{t('open.fields')}</h2>}>
        <Table
          size="small"
          pagination={false}
          rowKey="code"
          dataSource={data.fields}
          columns={[
            { title: t('open.field.name'), dataIndex: 'name', key: 'name' },
            { title: t('open.field.code'), dataIndex: 'code', key: 'code' },
            {
              title: t('open.field.type'),
              dataIndex: 'type',
              key: 'type',
              render: (v: string) => tEnum('fieldType', v),
            },
            {
              title: t('open.field.masked'),
              dataIndex: 'masked',
              key: 'masked',
              render: (v: boolean) => (v ? t('open.field.masked') : ''),
            },
          ]}
        />
      </Card>
      <Card title={<h2 style={{ fontSize: 18, margin: 0 }}>{t('open.usage')}</h2>}>
        <Row gutter={16}>
          <Col xs={12} sm={6}>
            <Statistic title={t('open.usage.views')} value={data.usage.views} />
          </Col>
          <Col xs={12} sm={6}>
            <Statistic title={t('open.usage.previews')} value={data.usage.previews} />
          </Col>
          <Col xs={12} sm={6}>
            <Statistic title={t('open.usage.downloads')} value={data.usage.downloads} />
          </Col>
          <Col xs={12} sm={6}>
            <Statistic title={t('open.usage.apiCalls')} value={data.usage.apiCalls} />
          </Col>
        </Row>
        <div role="img" aria-label={`${t('open.usage')}: ${t('open.usage.views')}`}>
          <CallsChart
            height={220}
            seriesName={t('open.usage.views')}
            data={data.usage.days.map((d) => ({ date: d.day, count: d.views }))}
          />
        </div>
      </Card>
    </Space>
  );
}

export default function Portal() {
  const { t } = useI18n();
  return (
    // secondary text darker than antd's default grey (3.4:1), so every text meets WCAG AA's 4.5:1
    <ConfigProvider
      theme={{
        token: {
          colorLink: '#1d4ed8',
          colorTextDescription: '#595959',
          colorTextSecondary: '#595959',
          colorTextTertiary: '#595959',
          colorTextPlaceholder: '#6b6b6b',
        },
      }}
    >
      <AccountProvider>
        <Layout style={{ minHeight: '100vh', background: '#f5f7fa' }}>
          <Layout.Header
            style={{
              display: 'flex',
              flexWrap: 'wrap',
              alignItems: 'center',
              columnGap: 12,
              rowGap: 4,
              height: 'auto',
              minHeight: 64,
              lineHeight: '32px',
              paddingBlock: 8,
              paddingInline: 16,
              background: '#1d4ed8',
            }}
          >
            <Link to="/open" style={{ color: '#fff', fontWeight: 600, fontSize: 17, whiteSpace: 'nowrap' }}>
              <GlobalOutlined /> {t('open.title')}
            </Link>
            <span style={{ flex: 1 }} />
            <Link
              to="/open/notices"
              style={{ color: '#fff', whiteSpace: 'nowrap' }}
              data-testid="portal-notices-link"
            >
              {t('open.notices.link')}
            </Link>
            <Link
              to="/open/usage"
              style={{ color: '#fff', whiteSpace: 'nowrap' }}
              data-testid="portal-usage-link"
            >
              {t('open.usage.link')}
            </Link>
            <Link
              to="/open/evaluations"
              style={{ color: '#fff', whiteSpace: 'nowrap' }}
              data-testid="portal-evaluations-link"
            >
              {t('open.evaluations.link')}
            </Link>
            <LanguageToggle />
            <AccountLinks />
            <Link to="/login" style={{ color: '#fff', whiteSpace: 'nowrap' }}>
              {t('open.consoleLink')}
            </Link>
          </Layout.Header>
          <Layout.Content style={{ padding: 16, maxWidth: 1200, width: '100%', margin: '0 auto' }}>
            <main>
              <Routes>
                <Route index element={<HomePage />} />
                <Route path="search" element={<SearchPageView />} />
                <Route path="dataset/:id" element={<DatasetView />} />
                <Route path="register" element={<RegisterPage />} />
                <Route path="login" element={<LoginPage />} />
                <Route path="account" element={<AccountPage />} />
                <Route path="notices" element={<Notices />} />
                <Route path="usage" element={<PortalUsage />} />
                <Route path="evaluations" element={<PortalResults />} />
                <Route path="*" element={<Result status="404" title={t('app.notFound')} />} />
              </Routes>
            </main>
          </Layout.Content>
          <Layout.Footer style={{ textAlign: 'center' }}>
            <a href="/open/catalog.jsonld">{t('open.catalogLinks')}</a>
          </Layout.Footer>
        </Layout>
      </AccountProvider>
    </ConfigProvider>
  );
}
