import {
  Alert,
  Badge,
  Button,
  Card,
  Form,
  Input,
  List,
  Modal,
  Radio,
  Space,
  Table,
  Tag,
  Typography,
} from 'antd';
import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router-dom';
import { ApiError, api, errorText, post } from '../shared/api.js';
import { fmtTime } from '../shared/format.js';
import { isKey, useI18n, type Vars } from '../shared/i18n.js';

/*
 * Public accounts on the portal (issue 11 points 3–4): register, sign in, my account (open API keys, downloads,
 * applications with state and due date, review of a refusal), and the application form on an on-application dataset.
 * Data from /api/open/account… and /api/open/applications (src/opening/account-routes.ts).
 */

export interface OpenAccount {
  id: number;
  contact: string;
  contactKind: 'email' | 'phone';
  accountType: 'citizen' | 'company';
  displayName: string;
}
interface AccountState {
  account: OpenAccount | null;
  loaded: boolean;
  reload: () => Promise<void>;
}
const AccountContext = createContext<AccountState>({ account: null, loaded: false, reload: async () => {} });
export const useAccount = () => useContext(AccountContext);

export function AccountProvider({ children }: { children: ReactNode }) {
  const [account, setAccount] = useState<OpenAccount | null>(null);
  const [loaded, setLoaded] = useState(false);
  const reload = useCallback(async () => {
    try {
      setAccount(await api<OpenAccount>('/api/open/account'));
    } catch {
      setAccount(null);
    }
    setLoaded(true);
  }, []);
  useEffect(() => {
    void reload();
  }, [reload]);
  return <AccountContext.Provider value={{ account, loaded, reload }}>{children}</AccountContext.Provider>;
}

/** Header links: sign in / register, or my account / sign out. */
export function AccountLinks() {
  const { t } = useI18n();
  const { account, reload } = useAccount();
  const navigate = useNavigate();
  const style = { color: '#fff', whiteSpace: 'nowrap' as const };
  if (!account)
    return (
      <>
        <Link to="/open/login" style={style}>
          {t('open.login')}
        </Link>
        <Link to="/open/register" style={style}>
          {t('open.register')}
        </Link>
      </>
    );
  return (
    <>
      <Link to="/open/account" style={style}>
        {t('open.account')}
      </Link>
      <Button
        type="link"
        size="small"
        style={{ ...style, paddingInline: 0 }}
        onClick={async () => {
          await post('/api/open/account/logout');
          await reload();
          navigate('/open');
        }}
      >
        {t('open.logout')}
      </Button>
    </>
  );
}

export function RegisterPage() {
  const { t, lang } = useI18n();
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  return (
    <Card
      title={<h1 style={{ fontSize: 20, margin: 0 }}>{t('open.register')}</h1>}
      style={{ maxWidth: 480, margin: '0 auto' }}
    >
      {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 12 }} />}
      <Form
        layout="vertical"
        initialValues={{ accountType: 'citizen' }}
        onFinish={async (v) => {
          setError(null);
          try {
            await post('/api/open/account/register', v);
            navigate('/open/login', { state: { registered: v.contact } });
          } catch (e) {
            setError(errorText(e, lang));
          }
        }}
      >
        <Form.Item name="accountType" label={t('open.accountType')}>
          <Radio.Group
            options={[
              { value: 'citizen', label: t('openAccountType.citizen') },
              { value: 'company', label: t('openAccountType.company') },
            ]}
          />
        </Form.Item>
        <Form.Item name="displayName" label={t('open.displayName')} rules={[{ required: true }]}>
          <Input maxLength={100} />
        </Form.Item>
        <Form.Item name="contact" label={t('open.contact')} rules={[{ required: true }]}>
          <Input maxLength={100} autoComplete="username" />
        </Form.Item>
        <Form.Item
          name="password"
          label={t('open.password')}
          extra={t('open.passwordHint')}
          rules={[{ required: true }]}
        >
          <Input.Password maxLength={256} autoComplete="new-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" block>
          {t('open.register')}
        </Button>
      </Form>
    </Card>
  );
}

export function LoginPage() {
  const { t, lang } = useI18n();
  const { reload } = useAccount();
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const registered = (useLocation().state as { registered?: string } | null)?.registered;
  return (
    <Card
      title={<h1 style={{ fontSize: 20, margin: 0 }}>{t('open.login')}</h1>}
      style={{ maxWidth: 480, margin: '0 auto' }}
    >
      {registered && (
        <Alert type="success" showIcon message={t('open.registered')} style={{ marginBottom: 12 }} />
      )}
      {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 12 }} />}
      <Form
        layout="vertical"
        initialValues={{ contact: registered ?? '' }}
        onFinish={async (v) => {
          setError(null);
          try {
            await post('/api/open/account/login', v);
            await reload();
            const back = sessionStorage.getItem('gs-open-back');
            sessionStorage.removeItem('gs-open-back');
            navigate(back ?? '/open/account');
          } catch (e) {
            setError(errorText(e, lang));
          }
        }}
      >
        <Form.Item name="contact" label={t('open.contact')} rules={[{ required: true }]}>
          <Input maxLength={100} autoComplete="username" />
        </Form.Item>
        <Form.Item name="password" label={t('open.password')} rules={[{ required: true }]}>
          <Input.Password maxLength={256} autoComplete="current-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" block>
          {t('open.login')}
        </Button>
      </Form>
      <Typography.Paragraph style={{ marginTop: 12, marginBottom: 0 }}>
        <Link to="/open/register">{t('open.register')}</Link>
      </Typography.Paragraph>
    </Card>
  );
}

interface Key {
  id: number;
  name: string;
  prefix: string;
  status: 'active' | 'revoked';
  createdAt: string;
}
interface Download {
  id: number;
  datasetId: number;
  title: string;
  format: string;
  at: string;
}
export interface Application {
  id: number;
  dataset: { id: number; title: string };
  department: { name: string };
  purpose: string;
  status: string;
  filedOn: string;
  dueDate: string | null;
  overdue: boolean;
  reason: string | null;
  grantUntil: string | null;
  grantActive: boolean;
}

const when = (v: string) => new Date(v).toLocaleString();

interface Notice {
  id: number;
  kind: string;
  params: Record<string, unknown>;
  createdAt: string;
  readAt: string | null;
}
interface Inbox {
  unread: number;
  items: Notice[];
}

/** A notice worded from its label; parameters the server left empty show as "-". */
function noticeText(t: (key: never, vars?: Vars) => string, key: string, params: Record<string, unknown>) {
  if (!isKey(key)) return '-';
  const vars: Vars = {};
  for (const [k, v] of Object.entries(params ?? {}))
    vars[k] = v === null || v === undefined || v === '' ? '-' : String(v);
  return (t as (key: string, vars?: Vars) => string)(key, vars);
}

export function AccountPage() {
  const { t, tEnum, lang, paren } = useI18n();
  const { account, loaded } = useAccount();
  const [keys, setKeys] = useState<Key[]>([]);
  const [downloads, setDownloads] = useState<Download[]>([]);
  const [apps, setApps] = useState<Application[]>([]);
  const [inbox, setInbox] = useState<Inbox>({ unread: 0, items: [] });
  const [newKey, setNewKey] = useState<string | null>(null);
  const [keyName, setKeyName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [review, setReview] = useState<Application | null>(null);
  const [reviewReason, setReviewReason] = useState('');
  const load = useCallback(async () => {
    const [k, d, a, n] = await Promise.all([
      api<{ items: Key[] }>('/api/open/account/keys'),
      api<{ items: Download[] }>('/api/open/account/downloads'),
      api<{ items: Application[] }>('/api/open/applications'),
      api<Inbox>('/api/open/account/notices'),
    ]);
    setInbox(n);
    setKeys(k.items);
    setDownloads(d.items);
    setApps(a.items);
  }, []);
  useEffect(() => {
    if (account) void load().catch((e) => setError(errorText(e, lang)));
  }, [account, load, lang]);
  if (!loaded) return null;
  if (!account)
    return (
      <Alert
        type="info"
        showIcon
        message={t('open.applyLogin')}
        action={<Link to="/open/login">{t('open.login')}</Link>}
      />
    );
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      await load();
    } catch (e) {
      setError(errorText(e, lang));
    }
  };
  return (
    <Space direction="vertical" size={16} style={{ width: '100%' }}>
      <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>
        {account.displayName}
        {paren(tEnum('openAccountType', account.accountType))}
      </Typography.Title>
      {error && <Alert type="error" showIcon message={error} />}
      <Card
        data-testid="open-notices"
        title={
          <Space>
            <h2 style={{ fontSize: 18, margin: 0 }}>{t('open.inbox')}</h2>
            {inbox.unread > 0 && (
              <Badge
                count={inbox.unread}
                title={t('open.inbox.unread', { n: inbox.unread })}
                data-testid="open-notices-unread"
              />
            )}
          </Space>
        }
        extra={
          inbox.unread > 0 && (
            <Button size="small" onClick={() => act(() => post('/api/open/account/notices/read-all'))}>
              {t('open.inbox.markAllRead')}
            </Button>
          )
        }
      >
        <List
          size="small"
          locale={{ emptyText: t('open.inbox.none') }}
          dataSource={inbox.items}
          renderItem={(n) => (
            <List.Item
              actions={
                n.readAt
                  ? []
                  : [
                      <Button
                        key="read"
                        type="link"
                        size="small"
                        onClick={() => act(() => post(`/api/open/account/notices/${n.id}/read`))}
                      >
                        {t('open.inbox.markRead')}
                      </Button>,
                    ]
              }
            >
              <List.Item.Meta
                title={
                  <span style={{ fontWeight: n.readAt ? 400 : 600 }}>
                    {noticeText(t, `openNotice.${n.kind}`, n.params)}
                  </span>
                }
                description={fmtTime(n.createdAt)}
              />
            </List.Item>
          )}
        />
      </Card>
      <Card
        title={<h2 style={{ fontSize: 18, margin: 0 }}>{t('open.myApplications')}</h2>}
        data-testid="open-my-applications"
      >
        <Table
          size="small"
          rowKey="id"
          pagination={false}
          scroll={{ x: 640 }}
          dataSource={apps}
          locale={{ emptyText: t('open.none') }}
          columns={[
            {
              title: t('open.app.dataset'),
              key: 'ds',
              render: (_: unknown, a: Application) => (
                <Link to={`/open/dataset/${a.dataset.id}`}>{a.dataset.title}</Link>
              ),
            },
            {
              title: t('open.app.status'),
              key: 'st',
              render: (_: unknown, a: Application) => (
                <Tag
                  color={
                    a.grantActive
                      ? 'green'
                      : a.status === 'refused' || a.status === 'reviewUpheld'
                        ? 'red'
                        : 'blue'
                  }
                >
                  {tEnum('openApplicationStatus', a.status)}
                </Tag>
              ),
            },
            { title: t('open.app.filedOn'), dataIndex: 'filedOn', key: 'f' },
            {
              title: t('open.app.dueDate'),
              key: 'due',
              render: (_: unknown, a: Application) => (a.status === 'pending' ? (a.dueDate ?? '-') : '-'),
            },
            {
              title: t('open.app.grantUntil'),
              key: 'g',
              render: (_: unknown, a: Application) => a.grantUntil ?? '-',
            },
            { title: t('open.app.reason'), key: 'r', render: (_: unknown, a: Application) => a.reason ?? '' },
            {
              title: '',
              key: 'x',
              render: (_: unknown, a: Application) =>
                a.status === 'refused' ? (
                  <Button size="small" onClick={() => setReview(a)}>
                    {t('open.app.requestReview')}
                  </Button>
                ) : null,
            },
          ]}
        />
        <Typography.Paragraph type="secondary" style={{ marginTop: 8, marginBottom: 0 }}>
          {t('open.app.purposeHint')}
        </Typography.Paragraph>
      </Card>
      <Card title={<h2 style={{ fontSize: 18, margin: 0 }}>{t('open.keys')}</h2>}>
        {newKey && (
          <Alert
            type="warning"
            showIcon
            closable
            onClose={() => setNewKey(null)}
            message={t('open.keyShownOnce')}
            description={
              <Typography.Text copyable code data-testid="open-new-key">
                {newKey}
              </Typography.Text>
            }
            style={{ marginBottom: 12 }}
          />
        )}
        <Space.Compact style={{ width: '100%', maxWidth: 420, marginBottom: 12 }}>
          <Input
            aria-label={t('open.keyName')}
            placeholder={t('open.keyName')}
            maxLength={50}
            value={keyName}
            onChange={(e) => setKeyName(e.target.value)}
          />
          <Button
            type="primary"
            disabled={!keyName.trim()}
            onClick={() =>
              act(async () => {
                const r = await post<{ apiKey: string }>('/api/open/account/keys', { name: keyName.trim() });
                setNewKey(r.apiKey);
                setKeyName('');
              })
            }
          >
            {t('open.createKey')}
          </Button>
        </Space.Compact>
        <Table
          size="small"
          rowKey="id"
          pagination={false}
          scroll={{ x: 560 }}
          dataSource={keys}
          locale={{ emptyText: t('open.none') }}
          columns={[
            { title: t('open.keyName'), dataIndex: 'name', key: 'n' },
            { title: t('open.keyPrefix'), dataIndex: 'prefix', key: 'p' },
            {
              title: t('open.keyStatus'),
              key: 's',
              render: (_: unknown, k: Key) => tEnum('openKeyStatus', k.status),
            },
            { title: t('open.createdAt'), key: 'c', render: (_: unknown, k: Key) => when(k.createdAt) },
            {
              title: '',
              key: 'x',
              render: (_: unknown, k: Key) =>
                k.status === 'active' ? (
                  <Button
                    size="small"
                    danger
                    onClick={() => act(() => post(`/api/open/account/keys/${k.id}/revoke`))}
                  >
                    {t('open.revokeKey')}
                  </Button>
                ) : null,
            },
          ]}
        />
      </Card>
      <Card title={<h2 style={{ fontSize: 18, margin: 0 }}>{t('open.myDownloads')}</h2>}>
        <List
          dataSource={downloads}
          locale={{ emptyText: t('open.none') }}
          renderItem={(d) => (
            <List.Item>
              <Link to={`/open/dataset/${d.datasetId}`}>{d.title}</Link>
              <span>
                {t(`downloadFormat.${d.format}` as never)} · {when(d.at)}
              </span>
            </List.Item>
          )}
        />
      </Card>
      <Modal
        open={review !== null}
        title={t('open.app.requestReview')}
        okText={t('open.submit')}
        cancelText={t('open.cancel')}
        okButtonProps={{ disabled: reviewReason.trim().length < 2 }}
        onCancel={() => setReview(null)}
        onOk={() =>
          act(async () => {
            await post(`/api/open/applications/${review!.id}/review`, { reason: reviewReason.trim() });
            setReview(null);
            setReviewReason('');
          })
        }
      >
        <Input.TextArea
          aria-label={t('open.app.reviewReason')}
          placeholder={t('open.app.reviewReason')}
          maxLength={1000}
          rows={4}
          value={reviewReason}
          onChange={(e) => setReviewReason(e.target.value)}
        />
      </Modal>
    </Space>
  );
}

/** The application form on an on-application dataset's page; asks for what the profile requires. */
export function ApplyCard({
  datasetId,
  mustState,
}: {
  datasetId: number;
  mustState: ('purpose' | 'scenario' | 'securityMeasures')[];
}) {
  const { t, lang } = useI18n();
  const { account } = useAccount();
  const navigate = useNavigate();
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const title = <h2 style={{ fontSize: 18, margin: 0 }}>{t('open.applyTitle')}</h2>;
  if (!account)
    return (
      <Card title={title}>
        <Space wrap>
          <span>{t('open.applyLogin')}</span>
          <Button
            type="primary"
            onClick={() => {
              sessionStorage.setItem('gs-open-back', `/open/dataset/${datasetId}`);
              navigate('/open/login');
            }}
          >
            {t('open.login')}
          </Button>
        </Space>
      </Card>
    );
  const fields = ['purpose', 'scenario', 'securityMeasures'] as const;
  return (
    <Card title={title} data-testid="open-apply">
      {done && <Alert type="success" showIcon message={done} style={{ marginBottom: 12 }} />}
      {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 12 }} />}
      {!done && (
        <Form
          layout="vertical"
          onFinish={async (v) => {
            setError(null);
            try {
              const a = await post<{ dueDate: string | null }>('/api/open/applications', {
                resourceId: datasetId,
                ...v,
              });
              setDone(a.dueDate ? t('open.applied', { dueDate: a.dueDate }) : t('open.appliedNoDue'));
            } catch (e) {
              setError(e instanceof ApiError ? errorText(e, lang) : String(e));
            }
          }}
        >
          {fields.map((f) => (
            <Form.Item
              key={f}
              name={f}
              label={t(`openStatement.${f}`)}
              rules={[{ required: mustState.includes(f), min: mustState.includes(f) ? 4 : 0 }]}
            >
              <Input.TextArea rows={2} maxLength={f === 'purpose' ? 500 : 1000} />
            </Form.Item>
          ))}
          <Button type="primary" htmlType="submit">
            {t('open.apply')}
          </Button>
        </Form>
      )}
    </Card>
  );
}
