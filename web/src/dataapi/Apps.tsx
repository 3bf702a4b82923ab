import { CopyOutlined, PlusOutlined, SendOutlined } from '@ant-design/icons';
import {
  Alert,
  App as AntApp,
  Button,
  Card,
  Col,
  Form,
  Input,
  InputNumber,
  Modal,
  Popconfirm,
  Row,
  Space,
  Table,
  Tag,
  Typography,
} from 'antd';
import { useEffect, useState } from 'react';
import { api, errorText, post } from '../shared/api.js';
import { hasRole, useAuth } from '../shared/auth.js';
import { EnumTag, ErrorAlert, PersonalNotice } from '../shared/common.js';
import { fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { App } from '../shared/types.js';
import AggregatePanel from './Aggregate.js';

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API needs a secure context; fall back to a selection copy.
    const ta = document.createElement('textarea');
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    return ok;
  }
}

function NewAppModal({
  open,
  onClose,
  onCreated,
}: {
  open: boolean;
  onClose: () => void;
  onCreated: (app: App, key: string) => void;
}) {
  const { t, lang, colon } = useI18n();
  const { message } = AntApp.useApp();
  const [form] = Form.useForm<{ name: string; description?: string }>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<{ app: App; apiKey: string } | null>(null);

  async function submit(v: { name: string; description?: string }) {
    setBusy(true);
    setError(null);
    try {
      const r = await post<{ app: App; apiKey: string }>('/api/apps', {
        name: v.name.trim(),
        description: v.description?.trim() || undefined,
      });
      setCreated(r);
      onCreated(r.app, r.apiKey);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  function close() {
    setCreated(null);
    setError(null);
    form.resetFields();
    onClose();
  }

  return (
    <Modal
      open={open}
      title={created ? t('apps.keyTitle') : t('apps.new')}
      onCancel={close}
      mask={{ closable: !created }}
      destroyOnHidden
      footer={
        created ? (
          <Button data-testid="app-key-close" type="primary" onClick={close}>
            {t('common.close')}
          </Button>
        ) : (
          <Space>
            <Button onClick={close}>{t('common.cancel')}</Button>
            <Button
              data-testid="app-create-submit"
              type="primary"
              loading={busy}
              onClick={() => form.submit()}
            >
              {t('apps.create')}
            </Button>
          </Space>
        )
      }
    >
      {created ? (
        <div data-testid="app-key-panel">
          <Alert type="warning" showIcon title={t('apps.keyWarning')} style={{ marginBottom: 16 }} />
          <Typography.Paragraph>
            {t('apps.name')}
            {colon}
            <b>{created.app.name}</b>
          </Typography.Paragraph>
          <Space.Compact style={{ width: '100%' }}>
            <Input
              data-testid="app-key"
              readOnly
              value={created.apiKey}
              style={{ fontFamily: 'monospace' }}
            />
            <Button
              data-testid="app-key-copy"
              icon={<CopyOutlined />}
              onClick={async () => {
                if (await copyText(created.apiKey)) message.success(t('common.copied'));
              }}
            >
              {t('common.copy')}
            </Button>
          </Space.Compact>
        </div>
      ) : (
        <>
          {error ? (
            <Alert type="error" showIcon title={errorText(error, lang)} style={{ marginBottom: 16 }} />
          ) : null}
          <Form form={form} layout="vertical" onFinish={submit}>
            <Form.Item
              name="name"
              label={t('apps.name')}
              rules={[{ required: true, whitespace: true, message: t('apps.nameRequired') }]}
            >
              <Input data-testid="app-name" maxLength={100} />
            </Form.Item>
            <Form.Item name="description" label={t('apps.description')}>
              <Input.TextArea data-testid="app-description" rows={2} maxLength={500} />
            </Form.Item>
          </Form>
        </>
      )}
    </Modal>
  );
}

interface TesterResult {
  status: number;
  body: unknown;
  ms: number;
}

/** 接口调试: calls the data API the way an app would, with its key in X-Api-Key. */
function ApiTester({ initialKey }: { initialKey: string }) {
  const { t } = useI18n();
  const [form] = Form.useForm<{ apiKey: string; code: string; key: string; purpose?: string }>();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<TesterResult | null>(null);
  const [error, setError] = useState<unknown>(null);

  // A key created on this page fills the tester.
  useEffect(() => {
    if (initialKey) form.setFieldValue('apiKey', initialKey);
  }, [initialKey, form]);

  async function send(v: { apiKey: string; code: string; key: string; purpose?: string }) {
    setBusy(true);
    setError(null);
    const started = performance.now();
    try {
      const res = await fetch(
        `/api/v1/data/${encodeURIComponent(v.code.trim())}/records/${encodeURIComponent(v.key.trim())}`,
        {
          headers: {
            'X-Api-Key': v.apiKey.trim(),
            // the purpose the grant was approved for (its id, or the text percent-encoded), as an app sends it
            ...(v.purpose?.trim() ? { 'X-Purpose': encodeURIComponent(v.purpose.trim()) } : {}),
            accept: 'application/json',
          },
          credentials: 'omit',
        },
      );
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: show as text
      }
      setResult({ status: res.status, body, ms: Math.round(performance.now() - started) });
    } catch (e) {
      setError(e);
      setResult(null);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t('tester.title')} style={{ marginTop: 16 }} data-testid="api-tester">
      <PersonalNotice />
      <Typography.Paragraph type="secondary">{t('tester.hint')}</Typography.Paragraph>
      <Form form={form} layout="vertical" onFinish={send} initialValues={{ apiKey: initialKey }}>
        <Row gutter={16}>
          <Col xs={24} lg={6}>
            <Form.Item name="apiKey" label={t('tester.key')} rules={[{ required: true }]}>
              <Input.Password data-testid="tester-key" visibilityToggle autoComplete="off" />
            </Form.Item>
          </Col>
          <Col xs={24} md={12} lg={5}>
            <Form.Item name="code" label={t('tester.code')} rules={[{ required: true }]}>
              <Input data-testid="tester-code" />
            </Form.Item>
          </Col>
          <Col xs={24} md={12} lg={5}>
            <Form.Item name="key" label={t('tester.record')} rules={[{ required: true }]}>
              <Input data-testid="tester-record" />
            </Form.Item>
          </Col>
          <Col xs={24} md={12} lg={6}>
            <Form.Item name="purpose" label={t('tester.purpose')} tooltip={t('tester.purposeHint')}>
              <Input data-testid="tester-purpose" maxLength={500} />
            </Form.Item>
          </Col>
          <Col xs={24} lg={2}>
            <Form.Item label=" ">
              <Button
                data-testid="tester-send"
                type="primary"
                htmlType="submit"
                icon={<SendOutlined />}
                loading={busy}
              >
                {t('tester.send')}
              </Button>
            </Form.Item>
          </Col>
        </Row>
      </Form>
      <ErrorAlert error={error} />
      {result ? (
        <div>
          <Space style={{ marginBottom: 8 }}>
            <Typography.Text strong>{t('tester.response')}</Typography.Text>
            <Tag data-testid="tester-status" color={result.status < 300 ? 'green' : 'red'}>
              HTTP {result.status}
            </Tag>
            <Typography.Text type="secondary">{result.ms} ms</Typography.Text>
          </Space>
          <pre
            data-testid="tester-response"
            style={{
              background: '#0f172a',
              color: '#e2e8f0',
              padding: 16,
              borderRadius: 6,
              maxHeight: 420,
              overflow: 'auto',
              fontSize: 13,
            }}
          >
            {typeof result.body === 'string' ? result.body : JSON.stringify(result.body, null, 2)}
          </pre>
        </div>
      ) : null}
    </Card>
  );
}

/**
 * 更换密钥 (issue 10 point 7): a new key, shown once; the old key keeps working for the overlap the officer chooses (0:
 * it stops at once). The rotation is audited by the server.
 */
function RotateKeyModal({
  app,
  onClose,
  onRotated,
}: {
  app: App | null;
  onClose: () => void;
  onRotated: (key: string) => void;
}) {
  const { t, lang } = useI18n();
  const { message } = AntApp.useApp();
  const [hours, setHours] = useState<number | null>(24);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<{ apiKey: string; previousKeyUntil: string | null } | null>(null);
  useEffect(() => {
    if (app) {
      setDone(null);
      setError(null);
      setHours(24);
    }
  }, [app]);
  async function rotate() {
    if (!app) return;
    setBusy(true);
    setError(null);
    try {
      const r = await post<{ apiKey: string; previousKeyUntil: string | null }>(
        `/api/apps/${app.id}/rotate-key`,
        {
          overlapHours: hours ?? 0,
        },
      );
      setDone(r);
      onRotated(r.apiKey);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Modal
      open={!!app}
      title={`${t('apps.rotateTitle')} · ${app?.name ?? ''}`}
      onCancel={onClose}
      footer={
        done ? (
          <Button data-testid="app-rotate-close" onClick={onClose}>
            {t('common.close')}
          </Button>
        ) : (
          <Button data-testid="app-rotate-ok" type="primary" loading={busy} onClick={rotate}>
            {t('apps.rotateKey')}
          </Button>
        )
      }
    >
      {done ? (
        <div data-testid="app-rotated">
          <Alert
            type="warning"
            showIcon
            style={{ marginBottom: 16 }}
            title={
              done.previousKeyUntil
                ? t('apps.rotated', { until: fmtTime(done.previousKeyUntil) })
                : t('apps.rotatedNow')
            }
          />
          <Space.Compact style={{ width: '100%' }}>
            <Input
              data-testid="app-rotated-key"
              readOnly
              value={done.apiKey}
              style={{ fontFamily: 'monospace' }}
            />
            <Button
              icon={<CopyOutlined />}
              onClick={async () => {
                if (await copyText(done.apiKey)) message.success(t('common.copied'));
              }}
            >
              {t('common.copy')}
            </Button>
          </Space.Compact>
        </div>
      ) : (
        <>
          <Typography.Paragraph type="secondary">{t('apps.rotateHint')}</Typography.Paragraph>
          {error ? (
            <Alert type="error" showIcon title={errorText(error, lang)} style={{ marginBottom: 16 }} />
          ) : null}
          <Space>
            {t('apps.overlapHours')}
            <InputNumber
              data-testid="app-rotate-hours"
              min={0}
              max={720}
              precision={0}
              value={hours}
              onChange={(v) => setHours(v)}
            />
          </Space>
        </>
      )}
    </Modal>
  );
}

export default function Apps() {
  const { t, lang } = useI18n();
  const { me } = useAuth();
  const { message } = AntApp.useApp();
  const apps = useAsync(() => api<App[]>('/api/apps'), []);
  const [open, setOpen] = useState(false);
  const [lastKey, setLastKey] = useState('');
  const [rotating, setRotating] = useState<App | null>(null);
  const canCreate = hasRole(me, 'data_officer', 'consumer_staff');
  const isAdmin = hasRole(me, 'platform_admin');

  async function revoke(a: App) {
    try {
      await post(`/api/apps/${a.id}/revoke`);
      message.success(t('apps.revoked'));
      apps.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  }

  async function reinstate(a: App) {
    try {
      await post(`/api/security/apps/${a.id}/reinstate`);
      message.success(t('apps.reinstated'));
      apps.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  }

  return (
    <div data-testid="page-apps">
      <Card
        title={t('apps.title')}
        extra={
          canCreate ? (
            <Button
              data-testid="app-new"
              type="primary"
              icon={<PlusOutlined />}
              onClick={() => setOpen(true)}
            >
              {t('apps.new')}
            </Button>
          ) : null
        }
      >
        <ErrorAlert error={apps.error} />
        <Table<App>
          data-testid="apps-table"
          rowKey="id"
          size="middle"
          loading={apps.loading}
          dataSource={apps.data ?? []}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          columns={[
            { title: t('apps.name'), dataIndex: 'name' },
            ...(isAdmin ? [{ title: t('apps.org'), dataIndex: 'orgName' }] : []),
            {
              title: t('apps.description'),
              dataIndex: 'description',
              ellipsis: true,
              render: (v: string) => v || '-',
            },
            {
              title: t('apps.keyPrefix'),
              dataIndex: 'keyPrefix',
              render: (v: string) => <Typography.Text code>{v}…</Typography.Text>,
            },
            {
              title: t('common.status'),
              dataIndex: 'status',
              render: (v: string) => <EnumTag kind="appStatus" value={v} />,
            },
            { title: t('common.createdAt'), dataIndex: 'createdAt', render: (v: string) => fmtTime(v) },
            {
              title: t('common.actions'),
              render: (_, a) => (
                <Space>
                  {a.status === 'suspended' && isAdmin ? (
                    <Popconfirm title={t('apps.reinstateConfirm')} onConfirm={() => reinstate(a)}>
                      <Button data-testid={`app-reinstate-${a.id}`} size="small">
                        {t('apps.reinstate')}
                      </Button>
                    </Popconfirm>
                  ) : null}
                  {a.status !== 'revoked' && (isAdmin || a.orgId === me?.user.org.id) ? (
                    <Button data-testid={`app-rotate-${a.id}`} size="small" onClick={() => setRotating(a)}>
                      {t('apps.rotateKey')}
                    </Button>
                  ) : null}
                  {a.status !== 'revoked' && (isAdmin || a.orgId === me?.user.org.id) ? (
                    <Popconfirm title={t('common.confirmRevoke')} onConfirm={() => revoke(a)}>
                      <Button data-testid={`app-revoke-${a.id}`} size="small" danger>
                        {t('common.revoke')}
                      </Button>
                    </Popconfirm>
                  ) : null}
                </Space>
              ),
            },
          ]}
        />
      </Card>
      <ApiTester initialKey={lastKey} />
      <AggregatePanel initialKey={lastKey} />
      <RotateKeyModal
        app={rotating}
        onClose={() => setRotating(null)}
        onRotated={(key) => {
          setLastKey(key);
          apps.reload();
        }}
      />
      <NewAppModal
        open={open}
        onClose={() => setOpen(false)}
        onCreated={(_app, key) => {
          setLastKey(key);
          apps.reload();
        }}
      />
    </div>
  );
}
