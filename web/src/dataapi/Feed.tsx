import {
  Alert,
  App as AntApp,
  Button,
  Form,
  Input,
  Modal,
  Popconfirm,
  Radio,
  Space,
  Table,
  Typography,
} from 'antd';
import { useState } from 'react';
import { api, errorText } from '../shared/api.js';
import { EnumTag, ErrorAlert } from '../shared/common.js';
import { fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { Grant } from '../shared/types.js';

/** A change-feed push subscription (issue 9 point 6), as GET /api/dataapi/grants/:id/feed-subscriptions lists it. */
interface FeedSubscription {
  id: number;
  target: 'webhook' | 'nats';
  url: string | null;
  subject: string | null;
  status: 'active' | 'stopped' | 'deleted';
  cursor: string | null;
  delivered: number;
  failures: number;
  lastError: string | null;
  lastErrorCode: string | null;
  lastDeliveryAt: string | null;
}

interface FeedList {
  grantId: number;
  canFeed: boolean;
  natsAvailable: boolean;
  items: FeedSubscription[];
}

/** The consumer's change-feed subscriptions of one grant: list, create (webhook or NATS), delete. */
export default function FeedSubscriptions({ grant, onClose }: { grant: Grant; onClose: () => void }) {
  const { t, tEnum, lang, colon } = useI18n();
  const { message } = AntApp.useApp();
  const list = useAsync(
    () => api<FeedList>(`/api/dataapi/grants/${grant.id}/feed-subscriptions`),
    [grant.id],
  );
  const [form] = Form.useForm<{ target: 'webhook' | 'nats'; url?: string }>();
  const target = Form.useWatch('target', form);
  const [busy, setBusy] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);

  async function create() {
    let v: { target: 'webhook' | 'nats'; url?: string };
    try {
      v = await form.validateFields();
    } catch {
      return; // the form shows what is wrong
    }
    setBusy(true);
    try {
      const r = await api<{ secret: string | null }>(`/api/dataapi/grants/${grant.id}/feed-subscriptions`, {
        method: 'POST',
        body: v.target === 'webhook' ? { target: 'webhook', url: v.url } : { target: 'nats' },
      });
      message.success(t('feed.created'));
      setSecret(r.secret);
      form.resetFields(['url']);
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    } finally {
      setBusy(false);
    }
  }

  async function remove(id: number) {
    try {
      await api(`/api/dataapi/feed-subscriptions/${id}`, { method: 'DELETE' });
      message.success(t('feed.deleted'));
      list.reload();
    } catch (e) {
      message.error(errorText(e, lang));
    }
  }

  const errorLabel = (code: string | null) =>
    code === null
      ? '-'
      : code === 'FEED_DELIVERY_FAILED'
        ? t('feed.error.FEED_DELIVERY_FAILED')
        : tEnum('error', code);

  return (
    <Modal
      open
      width={960}
      title={`${t('feed.title')}${colon}${grant.resource.name} · ${grant.app.name}`}
      onCancel={onClose}
      footer={null}
      destroyOnHidden
    >
      <ErrorAlert error={list.error} />
      {list.data && !list.data.canFeed && <Alert type="info" showIcon message={t('feed.noRight')} />}
      {secret && (
        <Alert
          type="warning"
          showIcon
          style={{ marginBottom: 12 }}
          message={t('feed.secretOnce')}
          description={
            <Typography.Text code copyable data-testid="feed-secret">
              {secret}
            </Typography.Text>
          }
        />
      )}
      {list.data?.canFeed && (
        <Form
          form={form}
          layout="inline"
          initialValues={{ target: 'webhook' }}
          style={{ marginBottom: 12, rowGap: 8 }}
        >
          <Form.Item name="target" label={t('feed.target')}>
            <Radio.Group>
              <Radio value="webhook">{t('feed.target.webhook')}</Radio>
              <Radio value="nats" disabled={!list.data.natsAvailable}>
                {t('feed.target.nats')}
              </Radio>
            </Radio.Group>
          </Form.Item>
          {target !== 'nats' && (
            <Form.Item
              name="url"
              label={t('feed.url')}
              required
              rules={[
                {
                  validator: async (_, value?: string) => {
                    let ok = false;
                    try {
                      ok = !!value && value.length <= 2000 && /^https?:$/.test(new URL(value).protocol);
                    } catch {
                      ok = false;
                    }
                    if (!ok) throw new Error(t('feed.urlInvalid'));
                  },
                },
              ]}
            >
              <Input data-testid="feed-url" style={{ width: 320 }} placeholder="https://" />
            </Form.Item>
          )}
          <Form.Item>
            <Button type="primary" data-testid="feed-create" loading={busy} onClick={create}>
              {t('feed.create')}
            </Button>
          </Form.Item>
          {!list.data.natsAvailable && (
            <Typography.Text type="secondary">{t('feed.natsUnavailable')}</Typography.Text>
          )}
        </Form>
      )}
      <Table<FeedSubscription>
        data-testid="feed-table"
        rowKey="id"
        size="small"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        pagination={false}
        locale={{ emptyText: t('feed.none') }}
        columns={[
          { title: t('feed.target'), render: (_, s) => tEnum('feed.target', s.target) },
          {
            title: t('feed.destination'),
            render: (_, s) => <Typography.Text code>{s.url ?? s.subject}</Typography.Text>,
          },
          {
            title: t('feed.status'),
            render: (_, s) => <EnumTag kind="feed.status" value={s.status} />,
          },
          {
            title: t('feed.cursor'),
            render: (_, s) =>
              s.cursor ? (
                <Typography.Text code copyable>
                  {s.cursor}
                </Typography.Text>
              ) : (
                '-'
              ),
          },
          { title: t('feed.delivered'), render: (_, s) => s.delivered.toLocaleString() },
          {
            title: t('feed.lastDelivery'),
            render: (_, s) => (s.lastDeliveryAt ? fmtTime(s.lastDeliveryAt) : '-'),
          },
          { title: t('feed.failures'), dataIndex: 'failures' },
          { title: t('feed.lastError'), render: (_, s) => errorLabel(s.lastErrorCode) },
          {
            title: t('common.actions'),
            render: (_, s) => (
              <Space>
                <Popconfirm title={t('feed.deleteConfirm')} onConfirm={() => remove(s.id)}>
                  <Button size="small" danger data-testid={`feed-delete-${s.id}`}>
                    {t('feed.delete')}
                  </Button>
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
    </Modal>
  );
}
