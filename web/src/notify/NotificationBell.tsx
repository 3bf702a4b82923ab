import { BellOutlined } from '@ant-design/icons';
import { App, Badge, Button, Form, Input, List, Modal, Popover, Spin, Tag, Typography } from 'antd';
import { useEffect, useLayoutEffect, useState } from 'react';
import { articleText } from '../../../src/shared/labels.js';
import { api, errorText, post } from '../shared/api.js';
import { fmtTime } from '../shared/format.js';
import { useAsync } from '../shared/hooks.js';
import { isKey, useI18n } from '../shared/i18n.js';

interface Notification {
  id: number;
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  params: Record<string, string | number>;
  createdAt: string;
  readAt: string | null;
  /** how a warning or critical one also went out (src/notify/senders.ts) */
  deliveries?: { channel: 'sms' | 'email'; status: 'queued' | 'sent' | 'failed' }[];
}
interface Contact {
  mobile: string | null;
  email: string | null;
  senders: { sms: string; email: string };
}
interface Inbox {
  items: Notification[];
  unread: number;
  total: number;
}

const SEVERITY_COLOR = { info: 'blue', warning: 'orange', critical: 'red' } as const;

/** The person's own mobile and e-mail for reminders outside the console (PUT /api/notifications/contact). */
function ContactModal({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ mobile: string; email: string }>();
  const [saving, setSaving] = useState(false);
  const contact = useAsync(
    () => (open ? api<Contact>('/api/notifications/contact') : Promise.resolve(null)),
    [open],
  );
  // the inputs appear once the stored contact is read and are filled before the browser paints them, so nothing
  // typed is overwritten by a late answer
  useLayoutEffect(() => {
    if (contact.data)
      form.setFieldsValue({ mobile: contact.data.mobile ?? '', email: contact.data.email ?? '' });
  }, [contact.data, form]);
  const off = (c: 'sms' | 'email') => contact.data?.senders[c] === 'none';
  const save = async () => {
    const v = form.getFieldsValue();
    setSaving(true);
    try {
      await api('/api/notifications/contact', {
        method: 'PUT',
        body: { mobile: v.mobile?.trim() || null, email: v.email?.trim() || null },
      });
      message.success(t('notify.contactSaved'));
      onClose();
    } catch (e) {
      message.error(errorText(e, lang));
    } finally {
      setSaving(false);
    }
  };
  return (
    <Modal
      open={open}
      title={t('notify.contact')}
      onCancel={onClose}
      onOk={save}
      confirmLoading={saving}
      okButtonProps={{ disabled: !contact.data }}
      destroyOnClose
      data-testid="notify-contact-modal"
    >
      <Typography.Paragraph type="secondary">{t('notify.contactHint')}</Typography.Paragraph>
      {!contact.data && <Spin />}
      <Form form={form} layout="vertical" hidden={!contact.data}>
        <Form.Item
          name="mobile"
          label={t('notify.mobile')}
          extra={off('sms') ? t('notify.senderOff') : undefined}
        >
          <Input maxLength={11} inputMode="tel" autoComplete="tel" data-testid="notify-contact-mobile" />
        </Form.Item>
        <Form.Item
          name="email"
          label={t('notify.email')}
          extra={off('email') ? t('notify.senderOff') : undefined}
        >
          <Input maxLength={254} type="email" autoComplete="email" data-testid="notify-contact-email" />
        </Form.Item>
      </Form>
    </Modal>
  );
}

/** The signed-in user's inbox (src/notify): alerts such as an app suspended for enumeration. Polls every minute. */
export default function NotificationBell() {
  const { t, tEnum, lang } = useI18n();
  const [tick, setTick] = useState(0);
  const [contactOpen, setContactOpen] = useState(false);
  const inbox = useAsync(() => api<Inbox>('/api/notifications', { query: { pageSize: 10 } }), [tick]);
  useEffect(() => {
    const h = setInterval(() => setTick((n) => n + 1), 60_000);
    // a move of the training clock can bring new reminders at once
    const now = () => setTick((n) => n + 1);
    window.addEventListener('govshare:clock', now);
    return () => {
      clearInterval(h);
      window.removeEventListener('govshare:clock', now);
    };
  }, []);
  const text = (n: Notification) => {
    const key = `notify.kind.${n.kind}`;
    // an article is sent as its code (DG Art 20) and read as words (东莞办法第二十条)
    const params =
      typeof n.params.article === 'string'
        ? { ...n.params, article: articleText(n.params.article, lang) }
        : n.params;
    return isKey(key) ? t(key, params) : tEnum('notify.kind', n.kind);
  };
  const content = (
    <div style={{ width: 380 }} data-testid="notification-list">
      <List<Notification>
        size="small"
        locale={{ emptyText: t('notify.empty') }}
        dataSource={inbox.data?.items ?? []}
        renderItem={(n) => (
          <List.Item
            data-testid={`notification-${n.id}`}
            style={{ opacity: n.readAt ? 0.6 : 1, cursor: n.readAt ? 'default' : 'pointer' }}
            onClick={async () => {
              if (n.readAt) return;
              await post(`/api/notifications/${n.id}/read`);
              setTick((x) => x + 1);
            }}
          >
            <List.Item.Meta
              title={
                <span>
                  <Tag color={SEVERITY_COLOR[n.severity]}>{tEnum('severity', n.severity)}</Tag>
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {fmtTime(n.createdAt)}
                  </Typography.Text>
                </span>
              }
              description={
                <span style={{ color: 'rgba(0,0,0,0.85)' }}>
                  {text(n)}
                  {n.deliveries?.map((d) => (
                    <Tag
                      key={d.channel}
                      style={{ marginLeft: 6 }}
                      color={d.status === 'failed' ? 'red' : undefined}
                    >
                      {tEnum('notify.channel', d.channel)}
                      {tEnum('notify.delivery', d.status)}
                    </Tag>
                  ))}
                </span>
              }
            />
          </List.Item>
        )}
      />
      {inbox.data?.unread ? (
        <Button
          size="small"
          type="link"
          onClick={async () => {
            await post('/api/notifications/read-all');
            setTick((x) => x + 1);
          }}
        >
          {t('notify.readAll')}
        </Button>
      ) : null}
      <Button size="small" type="link" onClick={() => setContactOpen(true)} data-testid="notify-contact">
        {t('notify.contact')}
      </Button>
    </div>
  );
  return (
    <>
      <ContactModal open={contactOpen} onClose={() => setContactOpen(false)} />
      <Popover trigger="click" placement="bottomRight" title={t('notify.title')} content={content}>
        <Badge count={inbox.data?.unread ?? 0} size="small" data-testid="notification-badge">
          <Button
            type="text"
            aria-label={t('notify.title')}
            data-testid="notification-bell"
            icon={<BellOutlined style={{ color: '#dbe4f3', fontSize: 16 }} />}
          />
        </Badge>
      </Popover>
    </>
  );
}
