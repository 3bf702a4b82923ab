import { App as AntApp, ConfigProvider, Spin } from 'antd';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn.js';
import { lazy, type ReactNode, StrictMode, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { enUS, zhCN } from './shared/antdLocale.js';
import { ApiError, api, post, setUnauthenticatedHandler } from './shared/api.js';
import { AuthContext, access } from './shared/auth.js';
import { I18nContext, initialLang, type Lang, makeI18n, saveLang } from './shared/i18n.js';
import type { Me } from './shared/types.js';

/**
 * The style nonce of this page's Content-Security-Policy (src/http/console.ts). antd's CSS-in-JS gets it via
 * ConfigProvider; rc-component helpers (scroll locking, scrollbar measuring) insert <style> tags without
 * it, so every <style> this bundle creates carries it. Markup injected by an attacker gets no nonce.
 */
const cspNonce = (() => {
  const v = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content;
  return v && v !== '__CSP_NONCE__' ? v : undefined;
})();
if (cspNonce) {
  const createElement = document.createElement.bind(document);
  document.createElement = ((tag: string, options?: ElementCreationOptions) => {
    const el = createElement(tag, options);
    if (el instanceof HTMLStyleElement) el.nonce = cspNonce;
    return el;
  }) as typeof document.createElement;
}
const csp = cspNonce ? { nonce: cspNonce } : undefined;

const Login = lazy(() => import('./orgs/Login.js'));
const Shell = lazy(() => import('./shell/Shell.js'));
const Dashboard = lazy(() => import('./work/Dashboard.js'));
const Catalog = lazy(() => import('./catalog/Catalog.js'));
const ResourceDetail = lazy(() => import('./catalog/ResourceDetail.js'));
const RegisterResource = lazy(() => import('./catalog/RegisterResource.js'));
const Classes = lazy(() => import('./catalog/Classes.js'));
const ReviewInbox = lazy(() => import('./catalog/ReviewInbox.js'));
const Requests = lazy(() => import('./sharing/Requests.js'));
const Grants = lazy(() => import('./sharing/Grants.js'));
const Cases = lazy(() => import('./sharing/Cases.js'));
const Apps = lazy(() => import('./dataapi/Apps.js'));
const Masking = lazy(() => import('./dataapi/Masking.js'));
const Users = lazy(() => import('./orgs/Users.js'));
const Incidents = lazy(() => import('./security/Incidents.js'));
const SecurityAlerts = lazy(() => import('./security/Alerts.js'));
const EncryptionKeys = lazy(() => import('./security/Keys.js'));
const Objections = lazy(() => import('./quality/Objections.js'));
const Rectifications = lazy(() => import('./quality/Rectifications.js'));
const QualityScores = lazy(() => import('./quality/QualityScores.js'));
const BaseLibraries = lazy(() => import('./baselib/BaseLibraries.js'));
const Usage = lazy(() => import('./usage/Usage.js'));
const Evaluation = lazy(() => import('./evaluation/Evaluation.js'));
const Cockpit = lazy(() => import('./supervision/Cockpit.js'));
const Violations = lazy(() => import('./supervision/Violations.js'));
const Audit = lazy(() => import('./audit/Audit.js'));
const LeakTrace = lazy(() => import('./audit/LeakTrace.js'));
const AuditArchives = lazy(() => import('./audit/Archives.js'));
const Calendar = lazy(() => import('./calendar/Calendar.js'));
const ProfilePage = lazy(() => import('./profiles/ProfilePage.js'));
const NotFound = lazy(() => import('./shell/NotFound.js'));
const NegativeList = lazy(() => import('./inventory/NegativeList.js'));
const IngestPage = lazy(() => import('./ingest/Ingest.js'));
const Duties = lazy(() => import('./inventory/Duties.js'));
const InfoSystems = lazy(() => import('./inventory/InfoSystems.js'));
const DoubleLists = lazy(() => import('./inventory/DoubleLists.js'));
const OpenList = lazy(() => import('./inventory/OpenList.js'));
const OpenApplications = lazy(() => import('./opening/Applications.js'));
const Portal = lazy(() => import('./opening/Portal.js'));
const OpenGovernance = lazy(() => import('./opening/Governance.js'));

function Loading() {
  return (
    <div style={{ padding: 80, textAlign: 'center' }}>
      <Spin size="large" />
    </div>
  );
}

function RequireLogin({ me, children }: { me: Me | null; children: ReactNode }) {
  const location = useLocation();
  if (!me) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return children;
}

function Guard({ allowed, children }: { allowed: boolean; children: ReactNode }) {
  return allowed ? children : <NotFound forbidden />;
}

function Root() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const [me, setMe] = useState<Me | null>(null);
  const [checked, setChecked] = useState(false);

  const setLang = useCallback((l: Lang) => {
    saveLang(l);
    setLangState(l);
  }, []);
  const i18n = useMemo(() => makeI18n(lang, setLang), [lang, setLang]);

  useEffect(() => {
    dayjs.locale(lang === 'en' ? 'en' : 'zh-cn');
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
    document.title = i18n.t('app.title');
  }, [lang, i18n]);

  useEffect(() => {
    setUnauthenticatedHandler(() => setMe(null));
    api<Me>('/api/auth/me')
      .then(setMe, (e: unknown) => {
        if (!(e instanceof ApiError) || e.status !== 401) console.warn('auth/me failed', e);
        setMe(null);
      })
      .finally(() => setChecked(true));
  }, []);

  const logout = useCallback(async () => {
    try {
      await post('/api/auth/logout');
    } finally {
      setMe(null);
    }
  }, []);
  const auth = useMemo(() => ({ me, setMe, logout }), [me, logout]);

  return (
    <ConfigProvider
      csp={csp}
      locale={lang === 'en' ? enUS : zhCN}
      theme={{ token: { colorPrimary: '#1d4ed8', borderRadius: 4 } }}
    >
      <AntApp>
        <I18nContext.Provider value={i18n}>
          <AuthContext.Provider value={auth}>
            {!checked ? (
              <Loading />
            ) : (
              <BrowserRouter>
                <Suspense fallback={<Loading />}>
                  <Routes>
                    <Route path="/login" element={me ? <Navigate to="/" replace /> : <Login />} />
                    {/* the public open-data portal: no login (issue 11) */}
                    <Route path="/open/*" element={<Portal />} />
                    <Route
                      path="/"
                      element={
                        <RequireLogin me={me}>
                          <Shell />
                        </RequireLogin>
                      }
                    >
                      <Route index element={<Dashboard />} />
                      <Route path="catalog" element={<Catalog />} />
                      <Route
                        path="catalog/new"
                        element={
                          <Guard allowed={access.register(me)}>
                            <RegisterResource />
                          </Guard>
                        }
                      />
                      <Route
                        path="catalog/classes"
                        element={
                          <Guard allowed={access.classes(me)}>
                            <Classes />
                          </Guard>
                        }
                      />
                      <Route path="catalog/:id" element={<ResourceDetail />} />
                      <Route
                        path="catalog/:id/edit"
                        element={
                          <Guard allowed={access.register(me)}>
                            <RegisterResource />
                          </Guard>
                        }
                      />
                      <Route
                        path="review"
                        element={
                          <Guard allowed={access.review(me)}>
                            <ReviewInbox />
                          </Guard>
                        }
                      />
                      <Route
                        path="requests"
                        element={
                          <Guard allowed={access.requests(me)}>
                            <Requests />
                          </Guard>
                        }
                      />
                      <Route
                        path="grants"
                        element={
                          <Guard allowed={access.grants(me)}>
                            <Grants />
                          </Guard>
                        }
                      />
                      <Route
                        path="incidents"
                        element={
                          <Guard allowed={access.incidents(me)}>
                            <Incidents />
                          </Guard>
                        }
                      />
                      <Route
                        path="encryption-keys"
                        element={
                          <Guard allowed={access.keys(me)}>
                            <EncryptionKeys />
                          </Guard>
                        }
                      />
                      <Route
                        path="security-alerts"
                        element={
                          <Guard allowed={access.securityAlerts(me)}>
                            <SecurityAlerts />
                          </Guard>
                        }
                      />
                      <Route
                        path="objections"
                        element={
                          <Guard allowed={access.objections(me)}>
                            <Objections />
                          </Guard>
                        }
                      />
                      <Route
                        path="sharing-cases"
                        element={
                          <Guard allowed={access.cases(me)}>
                            <Cases />
                          </Guard>
                        }
                      />
                      <Route
                        path="rectifications"
                        element={
                          <Guard allowed={access.rectifications(me)}>
                            <Rectifications />
                          </Guard>
                        }
                      />
                      <Route
                        path="baselib"
                        element={
                          <Guard allowed={access.baselib(me)}>
                            <BaseLibraries />
                          </Guard>
                        }
                      />
                      <Route
                        path="quality"
                        element={
                          <Guard allowed={access.qualityScores(me)}>
                            <QualityScores />
                          </Guard>
                        }
                      />
                      <Route
                        path="usage"
                        element={
                          <Guard allowed={access.usage(me)}>
                            <Usage />
                          </Guard>
                        }
                      />
                      <Route
                        path="evaluation"
                        element={
                          <Guard allowed={access.evaluation(me)}>
                            <Evaluation />
                          </Guard>
                        }
                      />
                      <Route path="cockpit" element={<Cockpit />} />
                      <Route path="violations" element={<Violations />} />
                      <Route
                        path="users"
                        element={
                          <Guard allowed={access.users(me)}>
                            <Users />
                          </Guard>
                        }
                      />
                      <Route
                        path="apps"
                        element={
                          <Guard allowed={access.apps(me)}>
                            <Apps />
                          </Guard>
                        }
                      />
                      <Route path="masking" element={<Masking />} />
                      <Route
                        path="audit"
                        element={
                          <Guard allowed={access.audit(me)}>
                            <Audit />
                          </Guard>
                        }
                      />
                      <Route
                        path="leak-trace"
                        element={
                          <Guard allowed={access.audit(me)}>
                            <LeakTrace />
                          </Guard>
                        }
                      />
                      <Route
                        path="audit-archives"
                        element={
                          <Guard allowed={access.audit(me)}>
                            <AuditArchives />
                          </Guard>
                        }
                      />
                      <Route
                        path="calendar"
                        element={
                          <Guard allowed={access.calendar(me)}>
                            <Calendar />
                          </Guard>
                        }
                      />
                      <Route
                        path="profile"
                        element={
                          <Guard allowed={access.profile(me)}>
                            <ProfilePage />
                          </Guard>
                        }
                      />
                      <Route
                        path="ingest"
                        element={
                          <Guard allowed={access.ingest(me)}>
                            <IngestPage />
                          </Guard>
                        }
                      />
                      <Route
                        path="negative-list"
                        element={
                          <Guard allowed={access.inventory(me)}>
                            <NegativeList />
                          </Guard>
                        }
                      />
                      <Route
                        path="duties"
                        element={
                          <Guard allowed={access.inventory(me)}>
                            <Duties />
                          </Guard>
                        }
                      />
                      <Route
                        path="systems"
                        element={
                          <Guard allowed={access.inventory(me)}>
                            <InfoSystems />
                          </Guard>
                        }
                      />
                      <Route
                        path="double-lists"
                        element={
                          <Guard allowed={access.inventory(me)}>
                            <DoubleLists />
                          </Guard>
                        }
                      />
                      <Route
                        path="open-list"
                        element={
                          <Guard allowed={access.inventory(me)}>
                            <OpenList />
                          </Guard>
                        }
                      />
                      <Route
                        path="open-applications"
                        element={
                          <Guard allowed={access.openApplications(me)}>
                            <OpenApplications />
                          </Guard>
                        }
                      />
                      <Route
                        path="open-governance"
                        element={
                          <Guard allowed={access.openGovernance(me)}>
                            <OpenGovernance />
                          </Guard>
                        }
                      />
                      <Route path="*" element={<NotFound />} />
                    </Route>
                  </Routes>
                </Suspense>
              </BrowserRouter>
            )}
          </AuthContext.Provider>
        </I18nContext.Provider>
      </AntApp>
    </ConfigProvider>
  );
}

const el = document.getElementById('root');
if (el)
  createRoot(el).render(
    <StrictMode>
      <Root />
    </StrictMode>,
  );
