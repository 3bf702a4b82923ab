import type { ButtonProps } from 'antd';
import {
  App as AntApp,
  Button,
  Card,
  Form,
  Input,
  Modal,
  Select,
  Space,
  Table,
  Tabs,
  Tag,
  Typography,
} from 'antd';
import { useState } from 'react';
import { api, errorText, post } from '../shared/api.js';
import { useAuth } from '../shared/auth.js';
import { ErrorAlert } from '../shared/common.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import {
  csvHref,
  InboxBar,
  InvTag,
  inventoryPager,
  isAuthorityUser,
  isOfficer,
  OrgFilter,
  type Paged,
  ResourceCell,
  StatusSelect,
} from './common.js';

interface Match {
  resource: { id: number; code: string; name: string; provider: string };
  score: number;
  matchedTerms: string[];
  status: string;
}
interface Demand {
  id: number;
  org: { id: number; name: string };
  name: string;
  purpose: string;
  basis: string;
  wantedFields: string[];
  state: string;
  matches: Match[];
  canDecide: boolean;
}
interface Responsibility {
  id: number;
  org: { id: number; name: string };
  name: string;
  description: string;
  basis: string;
  resource: { id: number; code: string; name: string } | null;
}

/** Responsibility and demand lists with match proposals (NY task 6, SY Art 18). */
export default function DoubleLists() {
  const { t, lang, paren } = useI18n();
  const { me } = useAuth();
  const { message } = AntApp.useApp();
  const [orgId, setOrgId] = useState<number>();
  // the authority's worklist: demands the catalog cannot meet yet (SY Art 18)
  const [state, setState] = useState<string | undefined>(isAuthorityUser(me) ? 'unmatched' : undefined);
  const [page, setPage] = useState(1);
  const [rPage, setRPage] = useState(1);
  const [adding, setAdding] = useState<'demand' | 'responsibility' | null>(null);
  const [form] = Form.useForm();
  const demands = useAsync(
    () => api<Paged<Demand>>('/api/inventory/demands', { query: { orgId, state, page, pageSize: 20 } }),
    [orgId, state, page],
  );
  const resps = useAsync(
    () =>
      api<Paged<Responsibility>>('/api/inventory/responsibilities', {
        query: { orgId, page: rPage, pageSize: 20 },
      }),
    [orgId, rPage],
  );
  const mine = useAsync(
    () =>
      isOfficer(me)
        ? api<{ items: { id: number; name: string; code: string; provider: { id: number } }[] }>(
            '/api/catalog/resources',
            {
              query: { providerOrgId: me?.user.org.id, pageSize: 200 },
            },
          )
        : Promise.resolve({ items: [] }),
    [],
  );

  async function run(fn: () => Promise<unknown>) {
    try {
      await fn();
      message.success(t('inv.saved'));
      demands.reload();
      resps.reload();
      return true;
    } catch (e) {
      message.error(errorText(e, lang));
      return false;
    }
  }

  const decide = (d: Demand, m: Match, confirm: boolean) =>
    run(() => post(`/api/inventory/demands/${d.id}/matches/${m.resource.id}`, { confirm }));

  return (
    <Card
      data-testid="page-double-lists"
      title={t('menu.doubleLists')}
      extra={
        <Space>
          <a
            data-testid="match-export"
            href={csvHref('/api/inventory/matching.csv', { orgId, state })}
            download
          >
            {t('dl.exportMatching')}
          </a>
          {isOfficer(me) && (
            <>
              <Button data-testid="resp-add" onClick={() => setAdding('responsibility')}>
                {t('dl.addResponsibility')}
              </Button>
              <Button type="primary" data-testid="demand-add" onClick={() => setAdding('demand')}>
                {t('dl.addDemand')}
              </Button>
            </>
          )}
        </Space>
      }
    >
      <InboxBar />
      {isAuthorityUser(me) && (
        <Space style={{ marginBottom: 12 }} wrap>
          <OrgFilter
            me={me}
            value={orgId}
            onChange={(v) => {
              setOrgId(v);
              setPage(1);
              setRPage(1);
            }}
          />
        </Space>
      )}
      <Tabs
        items={[
          {
            key: 'demands',
            label: t('dl.demands'),
            children: (
              <>
                <Space style={{ marginBottom: 12 }}>
                  <StatusSelect
                    testid="demand-state-filter"
                    kind="demandState"
                    values={['proposed', 'matched', 'unmatched']}
                    value={state}
                    onChange={(v) => {
                      setState(v);
                      setPage(1);
                    }}
                  />
                </Space>
                <ErrorAlert error={demands.error} />
                <Table<Demand>
                  data-testid="demand-table"
                  rowKey="id"
                  size="middle"
                  loading={demands.loading}
                  dataSource={demands.data?.items ?? []}
                  pagination={inventoryPager(t, page, demands.data?.total, setPage)}
                  columns={[
                    { title: t('inv.department'), render: (_, d) => d.org.name, width: 150 },
                    { title: t('dl.item'), dataIndex: 'name', width: 160 },
                    { title: t('dl.purpose'), dataIndex: 'purpose', ellipsis: true },
                    {
                      title: t('dl.wantedFields'),
                      render: (_, d) => d.wantedFields.map((f) => <Tag key={f}>{f}</Tag>),
                    },
                    {
                      title: t('common.status'),
                      width: 100,
                      render: (_, d) => (
                        <span data-testid={`demand-state-${d.id}`}>
                          <InvTag kind="demandState" value={d.state} />
                        </span>
                      ),
                    },
                    {
                      title: t('dl.matches'),
                      render: (_, d) =>
                        d.matches.length === 0 ? (
                          <Typography.Text type="secondary">{t('dl.noMatch')}</Typography.Text>
                        ) : (
                          <Space direction="vertical" size={4}>
                            {d.matches.map((m) => (
                              <Space key={m.resource.id} size={4} wrap>
                                <ResourceCell r={m.resource} />
                                <Typography.Text type="secondary">{m.resource.provider}</Typography.Text>
                                <InvTag kind="matchStatus" value={m.status} />
                                {d.canDecide && m.status === 'proposed' && (
                                  <>
                                    <Button
                                      size="small"
                                      type="primary"
                                      data-testid={`match-confirm-${d.id}-${m.resource.id}`}
                                      onClick={() => decide(d, m, true)}
                                    >
                                      {t('dl.confirm')}
                                    </Button>
                                    <Button
                                      size="small"
                                      data-testid={`match-reject-${d.id}-${m.resource.id}`}
                                      onClick={() => decide(d, m, false)}
                                    >
                                      {t('inv.reject')}
                                    </Button>
                                  </>
                                )}
                              </Space>
                            ))}
                          </Space>
                        ),
                    },
                  ]}
                />
              </>
            ),
          },
          {
            key: 'responsibilities',
            label: t('dl.responsibilities'),
            children: (
              <Table<Responsibility>
                data-testid="resp-table"
                rowKey="id"
                size="middle"
                loading={resps.loading}
                dataSource={resps.data?.items ?? []}
                pagination={inventoryPager(t, rPage, resps.data?.total, setRPage)}
                columns={[
                  { title: t('inv.department'), render: (_, r) => r.org.name, width: 150 },
                  { title: t('dl.item'), dataIndex: 'name' },
                  { title: t('sys.description'), dataIndex: 'description', ellipsis: true },
                  { title: t('duty.basis'), dataIndex: 'basis', ellipsis: true },
                  {
                    title: t('dl.linked'),
                    render: (_, r) => (r.resource ? <ResourceCell r={r.resource} /> : t('dl.notCatalogued')),
                  },
                ]}
              />
            ),
          },
        ]}
      />
      <Modal
        open={!!adding}
        title={adding === 'demand' ? t('dl.addDemand') : t('dl.addResponsibility')}
        onCancel={() => setAdding(null)}
        okButtonProps={{ 'data-testid': 'dl-add-ok' } as ButtonProps}
        onOk={async () => {
          const v = await form.validateFields();
          const body =
            adding === 'demand'
              ? {
                  ...v,
                  wantedFields: String(v.wantedFields ?? '')
                    .split(/[,，、\s]+/)
                    .filter(Boolean),
                }
              : v;
          if (
            await run(() =>
              post(adding === 'demand' ? '/api/inventory/demands' : '/api/inventory/responsibilities', body),
            )
          ) {
            setAdding(null);
            form.resetFields();
          }
        }}
        destroyOnHidden
      >
        <Form form={form} layout="vertical">
          <Form.Item name="name" label={t('dl.item')} rules={[{ required: true, max: 200 }]}>
            <Input data-testid="dl-name" />
          </Form.Item>
          {adding === 'demand' ? (
            <>
              <Form.Item name="purpose" label={t('dl.purpose')} rules={[{ required: true, max: 2000 }]}>
                <Input.TextArea data-testid="dl-purpose" rows={2} />
              </Form.Item>
              <Form.Item name="wantedFields" label={t('dl.wantedFields')} extra={t('dl.wantedHint')}>
                <Input data-testid="dl-fields" />
              </Form.Item>
            </>
          ) : (
            <>
              <Form.Item name="description" label={t('sys.description')}>
                <Input.TextArea rows={2} />
              </Form.Item>
              <Form.Item name="resourceId" label={t('dl.linked')}>
                <Select
                  allowClear
                  options={(mine.data?.items ?? [])
                    .filter((r) => r.provider.id === me?.user.org.id)
                    .map((r) => ({ value: r.id, label: `${r.name}${paren(r.code)}` }))}
                />
              </Form.Item>
            </>
          )}
          <Form.Item name="basis" label={t('duty.basis')}>
            <Input />
          </Form.Item>
        </Form>
      </Modal>
    </Card>
  );
}
