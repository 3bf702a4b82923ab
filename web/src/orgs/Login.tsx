import { LockOutlined, UserOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Form, Input, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useLocation, useNavigate } from 'react-router-dom';
import { api, errorText, post } from '../shared/api.js';
import { useAuth } from '../shared/auth.js';
import { LanguageToggle } from '../shared/common.js';
import { useAsync } from '../shared/hooks.js';
import { useI18n } from '../shared/i18n.js';
import type { DemoLogin, Me } from '../shared/types.js';

const DEMO_PASSWORD = 'Demo@2026';

export default function Login() {
  const { t, tEnum, lang } = useI18n();
  const { setMe } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const [form] = Form.useForm<{ username: string; password: string }>();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const demo = useAsync(() => api<DemoLogin[]>('/api/demo/logins'), []);

  async function submit(values: { username: string; password: string }) {
    setBusy(true);
    setError(null);
    try {
      const me = await post<Me>('/api/auth/login', values);
      setMe(me);
      const from = (location.state as { from?: string } | null)?.from;
      navigate(from && from !== '/login' ? from : '/', { replace: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div
      style={{
        minHeight: '100vh',
        background: 'linear-gradient(135deg, #0f2a5c 0%, #1d4ed8 100%)',
        display: 'flex',
        alignItems: 'center',
        justifyContent: 'center',
        gap: 24,
        padding: 24,
        flexWrap: 'wrap',
      }}
    >
      <Card style={{ width: 380 }}>
        <div style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center' }}>
          <Typography.Title level={4} style={{ margin: 0 }}>
            {t('app.title')}
          </Typography.Title>
        </div>
        <div style={{ textAlign: 'right', margin: '8px 0 16px' }}>
          <LanguageToggle />
        </div>
        {error ? (
          <Alert
            data-testid="login-error"
            type="error"
            showIcon
            title={errorText(error, lang)}
            style={{ marginBottom: 16 }}
          />
        ) : null}
        <Form form={form} layout="vertical" onFinish={submit} requiredMark={false}>
          <Form.Item
            name="username"
            label={t('login.username')}
            rules={[{ required: true, message: t('login.required') }]}
          >
            <Input data-testid="login-username" prefix={<UserOutlined />} autoComplete="username" />
          </Form.Item>
          <Form.Item
            name="password"
            label={t('login.password')}
            rules={[{ required: true, message: t('login.required') }]}
          >
            <Input.Password
              data-testid="login-password"
              prefix={<LockOutlined />}
              autoComplete="current-password"
            />
          </Form.Item>
          <Button data-testid="login-submit" type="primary" htmlType="submit" block loading={busy}>
            {t('login.submit')}
          </Button>
        </Form>
      </Card>
      {/* the demo logins route exists only in demo mode (404 on a production platform): no card then */}
      {demo.error ? null : (
        <Card title={t('login.demo')} style={{ width: 460 }} data-testid="demo-logins">
          <Typography.Paragraph type="secondary">
            {t('login.demoHint', { pw: DEMO_PASSWORD })}
          </Typography.Paragraph>
          {demo.data && demo.data.length === 0 ? (
            <Typography.Text>{t('login.noDemo')}</Typography.Text>
          ) : null}
          <div style={{ maxHeight: 420, overflowY: 'auto' }}>
            {(demo.data ?? []).map((d) => (
              <button
                type="button"
                key={d.username}
                data-testid={`demo-login-${d.username}`}
                onClick={() => form.setFieldsValue({ username: d.username, password: DEMO_PASSWORD })}
                style={{
                  display: 'block',
                  width: '100%',
                  textAlign: 'left',
                  background: 'none',
                  border: 'none',
                  borderBottom: '1px solid #f0f0f0',
                  padding: '8px 4px',
                  cursor: 'pointer',
                }}
              >
                <Typography.Text strong>{d.displayName}</Typography.Text>{' '}
                <Typography.Text code>{d.username}</Typography.Text>
                <div>
                  <Typography.Text type="secondary">{d.orgName}</Typography.Text>{' '}
                  {d.roles.map((r) => (
                    <Tag key={r}>{tEnum('role', r)}</Tag>
                  ))}
                </div>
              </button>
            ))}
          </div>
        </Card>
      )}
    </div>
  );
}
