import { BellOutlined } from '@ant-design/icons';
import { Badge, Button, List, Popover, Tag, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { articleText } from '../../../src/shared/labels.js';
import { api, post } from '../shared/api.js';
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
}
interface Inbox {
  items: Notification[];
  unread: number;
  total: number;
}

const SEVERITY_COLOR = { info: 'blue', warning: 'orange', critical: 'red' } as const;

/** The signed-in user's inbox (src/notify): alerts such as an app suspended for enumeration. Polls every minute. */
export default function NotificationBell() {
  const { t, tEnum, lang } = useI18n();
  const [tick, setTick] = useState(0);
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
              description={<span style={{ color: 'rgba(0,0,0,0.85)' }}>{text(n)}</span>}
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
    </div>
  );
  return (
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
  );
}
