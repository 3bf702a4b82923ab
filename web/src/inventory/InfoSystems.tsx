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
  Switch,
  Table,
  Tag,
  Typography,
} from 'antd';
import { useState } from 'react';
import { api, errorText, post } from '../shared/api.js';
import { useAuth } from '../shared/auth.js';
import { ErrorAlert } from '../shared/common.js';
import { fmtNumber } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import {
  articleText,
  InboxBar,
  InvTag,
  inventoryPager,
  isOfficer,
  OrgFilter,
  type Paged,
  StatusSelect,
} from './common.js';

interface System {
  id: number;
  name: string;
  ownerOrg: { id: number; name: string };
  fiscal: boolean;
  status: string;
  description: string;
  mounted: number;
  emptyResources: number;
  problems: string[];
  readyForAcceptance: boolean;
  acceptanceArticle: string | null;
  resources: { id: number; code: string; name: string; rowCount: number }[];
  canManage: boolean;
}

const STATUSES = ['planned', 'built', 'accepted'] as const;

/** Information systems, their mounted catalog entries and readiness for acceptance (DG Art 13/22, GD Art 11, XT Art 37, SY Art 14). */
export default function InfoSystems() {
  const { t, tEnum, lang, paren } = useI18n();
  const { me } = useAuth();
  const { message } = AntApp.useApp();
  const [orgId, setOrgId] = useState<number>();
  const [status, setStatus] = useState<string>();
  const [notReady, setNotReady] = useState(false);
  const [page, setPage] = useState(1);
  const [registering, setRegistering] = useState(false);
  const [mounting, setMounting] = useState<System | null>(null);
  const [mountId, setMountId] = useState<number>();
  const [form] = Form.useForm();
  const list = useAsync(
    () =>
      api<Paged<System>>('/api/inventory/systems', {
        query: { orgId, status, notReady, page, pageSize: 20 },
      }),
    [orgId, status, notReady, page],
  );
  const ownResources = useAsync(
    () =>
      mounting
        ? api<{ items: { id: number; code: string; name: string; provider: { id: number } }[] }>(
            '/api/catalog/resources',
            {
              query: { providerOrgId: mounting.ownerOrg.id, pageSize: 200 },
            },
          )
        : Promise.resolve({ items: [] }),
    [mounting?.id],
  );

  async function run(fn: () => Promise<unknown>) {
    try {
      await fn();
      message.success(t('inv.saved'));
      list.reload();
      return true;
    } catch (e) {
      message.error(errorText(e, lang));
      return false;
    }
  }

  return (
    <Card
      data-testid="page-systems"
      title={t('menu.systems')}
      extra={
        isOfficer(me) && (
          <Button type="primary" data-testid="sys-register" onClick={() => setRegistering(true)}>
            {t('sys.register')}
          </Button>
        )
      }
    >
      <InboxBar />
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
          testid="sys-status-filter"
          kind="sysStatus"
          values={STATUSES}
          value={status}
          onChange={(v) => {
            setStatus(v);
            setPage(1);
          }}
        />
        <span>
          <Switch
            data-testid="sys-not-ready"
            checked={notReady}
            onChange={(v) => {
              setNotReady(v);
              setPage(1);
            }}
          />{' '}
          {t('sys.notReadyOnly')}
        </span>
      </Space>
      <ErrorAlert error={list.error} />
      <Table<System>
        data-testid="sys-table"
        rowKey="id"
        size="middle"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        pagination={inventoryPager(t, page, list.data?.total, setPage)}
        columns={[
          { title: t('sys.name'), dataIndex: 'name' },
          { title: t('inv.department'), render: (_, s) => s.ownerOrg.name, width: 160 },
          {
            title: t('sys.fiscal'),
            width: 90,
            render: (_, s) => (s.fiscal ? t('common.yes') : t('common.no')),
          },
          {
            title: t('common.status'),
            width: 90,
            render: (_, s) => <InvTag kind="sysStatus" value={s.status} />,
          },
          {
            title: t('sys.mounted'),
            render: (_, s) =>
              s.resources.length
                ? s.resources.map((r) => (
                    <Tag key={r.id} color={r.rowCount > 0 ? 'green' : 'orange'}>
                      {r.name}
                      {paren(fmtNumber(r.rowCount))}
                    </Tag>
                  ))
                : t('common.none'),
          },
          {
            title: t('sys.compliance'),
            width: 200,
            render: (_, s) => (
              <span data-testid={`sys-compliance-${s.id}`}>
                {s.readyForAcceptance ? (
                  <Tag color="success">{t('sys.ready')}</Tag>
                ) : (
                  s.problems.map((p) => (
                    <Tag key={p} color="error">
                      {tEnum('sysProblem', p)}
                    </Tag>
                  ))
                )}
              </span>
            ),
          },
          {
            title: t('common.actions'),
            width: 200,
            render: (_, s) =>
              s.canManage && (
                <Space>
                  <Button size="small" data-testid={`sys-mount-${s.id}`} onClick={() => setMounting(s)}>
                    {t('sys.mount')}
                  </Button>
                  {s.status !== 'accepted' && (
                    <Button
                      size="small"
                      data-testid={`sys-accept-${s.id}`}
                      onClick={() =>
                        run(() => post(`/api/inventory/systems/${s.id}/status`, { status: 'accepted' }))
                      }
                    >
                      {t('sys.accept')}
                    </Button>
                  )}
                </Space>
              ),
          },
        ]}
      />
      <Modal
        open={registering}
        title={t('sys.register')}
        onCancel={() => setRegistering(false)}
        okButtonProps={{ 'data-testid': 'sys-register-ok' } as ButtonProps}
        onOk={async () => {
          const v = await form.validateFields();
          if (await run(() => post('/api/inventory/systems', v))) {
            setRegistering(false);
            form.resetFields();
          }
        }}
        destroyOnHidden
      >
        <Form form={form} layout="vertical" initialValues={{ fiscal: true, status: 'planned' }}>
          <Form.Item name="name" label={t('sys.name')} rules={[{ required: true, max: 200 }]}>
            <Input data-testid="sys-name" />
          </Form.Item>
          <Form.Item name="fiscal" label={t('sys.fiscal')} valuePropName="checked">
            <Switch />
          </Form.Item>
          <Form.Item name="status" label={t('common.status')}>
            <Select options={STATUSES.map((s) => ({ value: s, label: tEnum('sysStatus', s) }))} />
          </Form.Item>
          <Form.Item name="description" label={t('sys.description')}>
            <Input.TextArea rows={2} />
          </Form.Item>
        </Form>
      </Modal>
      <Modal
        open={!!mounting}
        title={`${t('sys.mount')} · ${mounting?.name ?? ''}`}
        onCancel={() => setMounting(null)}
        onOk={async () => {
          if (
            mounting &&
            mountId &&
            (await run(() =>
              api(`/api/inventory/systems/${mounting.id}/resources/${mountId}`, { method: 'PUT' }),
            ))
          ) {
            setMounting(null);
            setMountId(undefined);
          }
        }}
        destroyOnHidden
      >
        <Typography.Paragraph type="secondary">
          {articleText(mounting?.acceptanceArticle, lang)}
        </Typography.Paragraph>
        <Select
          data-testid="sys-mount-resource"
          style={{ width: '100%' }}
          value={mountId}
          onChange={setMountId}
          options={(ownResources.data?.items ?? [])
            .filter((r) => r.provider.id === mounting?.ownerOrg.id)
            .map((r) => ({ value: r.id, label: `${r.name}${paren(r.code)}` }))}
        />
      </Modal>
    </Card>
  );
}
