import {
  AlertOutlined,
  ApartmentOutlined,
  ApiOutlined,
  AuditOutlined,
  BarChartOutlined,
  CalendarOutlined,
  CloudUploadOutlined,
  ClusterOutlined,
  DashboardOutlined,
  DatabaseOutlined,
  ExceptionOutlined,
  EyeInvisibleOutlined,
  FileAddOutlined,
  FlagOutlined,
  FundOutlined,
  GlobalOutlined,
  LineChartOutlined,
  LockOutlined,
  LogoutOutlined,
  ProfileOutlined,
  SafetyCertificateOutlined,
  ScheduleOutlined,
  StopOutlined,
  SwapOutlined,
  TeamOutlined,
  ToolOutlined,
  TrophyOutlined,
  UnorderedListOutlined,
  UserOutlined,
  WarningOutlined,
} from '@ant-design/icons';
import { Button, Dropdown, Grid, Layout, Menu, Space, Spin, Tag, Tooltip, Typography } from 'antd';
import { type ReactNode, Suspense, useEffect, useState } from 'react';
import { Outlet, useLocation, useNavigate } from 'react-router-dom';
import { chinaDate, useClock } from '../calendar/TrainingClock.js';
import NotificationBell from '../notify/NotificationBell.js';
import { access, useAuth } from '../shared/auth.js';
import { LanguageToggle } from '../shared/common.js';
import { type Key, useI18n } from '../shared/i18n.js';

const { Header, Sider, Content } = Layout;

/** A header item that gives way to the others with an ellipsis (its whole text stays in a tooltip or title). */
const SHRINK = {
  minWidth: 0,
  flexShrink: 1,
  overflow: 'hidden',
  textOverflow: 'ellipsis',
  whiteSpace: 'nowrap',
} as const;

export default function Shell() {
  const { me, logout } = useAuth();
  const { t, tEnum, lang } = useI18n();
  const navigate = useNavigate();
  const location = useLocation();
  // below 1200 px the header has no room for the user's department, roles and the language switch side by side:
  // they fold into the user's menu (the header would otherwise push the page wider than the window)
  const screens = Grid.useBreakpoint();
  const compact = !screens.xl;
  if (!me) return null;

  const items: { key: string; icon: ReactNode; label: Key; show: boolean }[] = [
    { key: '/', icon: <DashboardOutlined />, label: 'menu.dashboard', show: true },
    { key: '/cockpit', icon: <FundOutlined />, label: 'menu.cockpit', show: true },
    { key: '/catalog', icon: <DatabaseOutlined />, label: 'menu.catalog', show: true },
    { key: '/catalog/new', icon: <FileAddOutlined />, label: 'menu.register', show: access.register(me) },
    { key: '/catalog/classes', icon: <ApartmentOutlined />, label: 'menu.classes', show: access.classes(me) },
    { key: '/review', icon: <AuditOutlined />, label: 'menu.review', show: access.review(me) },
    { key: '/requests', icon: <SwapOutlined />, label: 'menu.requests', show: access.requests(me) },
    { key: '/grants', icon: <SafetyCertificateOutlined />, label: 'menu.grants', show: access.grants(me) },
    { key: '/sharing-cases', icon: <ExceptionOutlined />, label: 'menu.cases', show: access.cases(me) },
    { key: '/ingest', icon: <CloudUploadOutlined />, label: 'menu.ingest', show: access.ingest(me) },
    { key: '/apps', icon: <ApiOutlined />, label: 'menu.apps', show: access.apps(me) },
    { key: '/masking', icon: <EyeInvisibleOutlined />, label: 'menu.masking', show: true },
    { key: '/audit', icon: <AuditOutlined />, label: 'menu.audit', show: access.audit(me) },
    { key: '/leak-trace', icon: <AuditOutlined />, label: 'menu.leakTrace', show: access.audit(me) },
    {
      key: '/audit-archives',
      icon: <AuditOutlined />,
      label: 'menu.auditArchives',
      show: access.audit(me),
    },
    { key: '/users', icon: <TeamOutlined />, label: 'menu.users', show: access.users(me) },
    { key: '/incidents', icon: <AlertOutlined />, label: 'menu.incidents', show: access.incidents(me) },
    { key: '/encryption-keys', icon: <LockOutlined />, label: 'menu.keys', show: access.keys(me) },
    {
      key: '/security-alerts',
      icon: <WarningOutlined />,
      label: 'menu.securityBoard',
      show: access.securityAlerts(me),
    },
    { key: '/objections', icon: <FlagOutlined />, label: 'menu.objections', show: access.objections(me) },
    {
      key: '/rectifications',
      icon: <ToolOutlined />,
      label: 'menu.rectifications',
      show: access.rectifications(me),
    },
    { key: '/baselib', icon: <DatabaseOutlined />, label: 'menu.baselib', show: access.baselib(me) },
    {
      key: '/quality',
      icon: <LineChartOutlined />,
      label: 'menu.qualityScores',
      show: access.qualityScores(me),
    },
    { key: '/usage', icon: <BarChartOutlined />, label: 'menu.usage', show: access.usage(me) },
    { key: '/evaluation', icon: <TrophyOutlined />, label: 'menu.evaluation', show: access.evaluation(me) },
    { key: '/violations', icon: <WarningOutlined />, label: 'menu.violations', show: true },
    { key: '/calendar', icon: <CalendarOutlined />, label: 'menu.calendar', show: access.calendar(me) },
    { key: '/negative-list', icon: <StopOutlined />, label: 'menu.negativeList', show: access.inventory(me) },
    { key: '/duties', icon: <ScheduleOutlined />, label: 'menu.duties', show: access.inventory(me) },
    { key: '/systems', icon: <ClusterOutlined />, label: 'menu.systems', show: access.inventory(me) },
    {
      key: '/double-lists',
      icon: <UnorderedListOutlined />,
      label: 'menu.doubleLists',
      show: access.inventory(me),
    },
    { key: '/open-list', icon: <GlobalOutlined />, label: 'menu.openList', show: access.inventory(me) },
    {
      key: '/open-applications',
      icon: <GlobalOutlined />,
      label: 'menu.openApplications',
      show: access.openApplications(me),
    },
    {
      key: '/open-governance',
      icon: <GlobalOutlined />,
      label: 'menu.openGovernance',
      show: access.openGovernance(me),
    },
    { key: '/profile', icon: <ProfileOutlined />, label: 'menu.profile', show: access.profile(me) },
  ];
  const visible = items.filter((i) => i.show);
  const path = location.pathname;
  const selected =
    visible
      .map((i) => i.key)
      .filter((k) => (k === '/' ? path === '/' : path === k || path.startsWith(`${k}/`)))
      .sort((a, b) => b.length - a.length)[0] ?? '/';

  const profileName = lang === 'en' ? me.profile.nameEn : me.profile.nameZh;
  const userLine = (
    <>
      <UserOutlined /> {me.user.displayName}
      <span style={{ opacity: 0.8 }}>
        {' '}
        · {me.user.org.name}
        {me.user.section ? ` · ${me.user.section.name}` : ''}
      </span>
    </>
  );
  const roleTags = (
    <span data-testid="current-roles" style={{ whiteSpace: 'nowrap', flexShrink: 0 }}>
      {me.user.roles.map((r) => (
        <Tag key={r} color="blue">
          {tEnum('role', r)}
        </Tag>
      ))}
    </span>
  );
  const langToggle = <LanguageToggle />;
  const logoutButton = (
    <Button
      data-testid="logout"
      size="small"
      icon={<LogoutOutlined />}
      onClick={async () => {
        await logout();
        navigate('/login', { replace: true });
      }}
    >
      {t('app.logout')}
    </Button>
  );

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Header
        style={{
          display: 'flex',
          alignItems: 'center',
          gap: 16,
          paddingInline: 20,
          background: '#0f2a5c',
        }}
      >
        <Typography.Text
          data-testid="app-title"
          strong
          style={{ color: '#fff', fontSize: 18, whiteSpace: 'nowrap', cursor: 'pointer' }}
          onClick={() => navigate('/')}
        >
          {t('app.title')}
        </Typography.Text>
        {/* the right side takes what the title leaves; the long texts in it (simulated date, profile, the user's
            department) give way with an ellipsis, so the header never pushes the page wider than the window */}
        <div
          style={{
            marginInlineStart: 'auto',
            display: 'flex',
            alignItems: 'center',
            gap: 12,
            minWidth: 0,
            overflow: 'hidden',
            // room above the bell for its unread count, which the clip would otherwise cut
            paddingBlock: 12,
            color: '#dbe4f3',
          }}
        >
          <NotificationBell />
          <SimulatedDate />
          <Tooltip title={t('app.profile')}>
            <Tag color="gold" data-testid="profile-name" style={SHRINK}>
              {profileName}
            </Tag>
          </Tooltip>
          {compact ? (
            <Dropdown
              trigger={['click']}
              placement="bottomRight"
              popupRender={() => (
                <div
                  data-testid="user-menu-panel"
                  style={{
                    background: '#fff',
                    borderRadius: 8,
                    boxShadow: '0 6px 16px rgba(0,0,0,0.12)',
                    padding: 12,
                    maxWidth: 320,
                  }}
                >
                  <Space direction="vertical" size="small">
                    <span data-testid="current-user">{userLine}</span>
                    {roleTags}
                    {langToggle}
                    {logoutButton}
                  </Space>
                </div>
              )}
            >
              <Button
                data-testid="user-menu"
                size="small"
                type="text"
                icon={<UserOutlined />}
                style={{ color: '#fff', maxWidth: 160 }}
              >
                <span style={{ overflow: 'hidden', textOverflow: 'ellipsis' }}>{me.user.displayName}</span>
              </Button>
            </Dropdown>
          ) : (
            <>
              <span data-testid="current-user" style={SHRINK}>
                {userLine}
              </span>
              {roleTags}
              {langToggle}
              {logoutButton}
            </>
          )}
        </div>
      </Header>
      <Layout>
        <Sider width={200} theme="light" breakpoint="lg" collapsedWidth={64}>
          <Menu
            data-testid="side-menu"
            mode="inline"
            selectedKeys={[selected]}
            style={{ height: '100%', borderInlineEnd: 0, paddingTop: 8 }}
            items={visible.map((i) => ({
              key: i.key,
              icon: i.icon,
              label: (
                <span data-testid={`menu-${i.key === '/' ? 'dashboard' : i.key.slice(1).replace('/', '-')}`}>
                  {t(i.label)}
                </span>
              ),
            }))}
            onClick={({ key }) => navigate(key)}
          />
        </Sider>
        <Content style={{ padding: 20, background: '#f3f5f9' }}>
          <Suspense
            fallback={
              <div style={{ padding: 60, textAlign: 'center' }}>
                <Spin />
              </div>
            }
          >
            <Outlet />
          </Suspense>
        </Content>
      </Layout>
    </Layout>
  );
}

/** In training mode, once the clock was moved, every page says which date the platform lives on. */
function SimulatedDate() {
  const { t } = useI18n();
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const bump = () => setVersion((v) => v + 1);
    window.addEventListener('govshare:clock', bump);
    return () => window.removeEventListener('govshare:clock', bump);
  }, []);
  const clock = useClock([version]);
  if (!clock.data?.training || clock.data.offsetDays <= 0) return null;
  const text = t('clock.simulated', { date: chinaDate(clock.data.now), days: clock.data.offsetDays });
  return (
    <Tag color="magenta" data-testid="simulated-date" style={SHRINK} title={text}>
      {text}
    </Tag>
  );
}
