import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router';
import { api, setCsrfToken, setUnauthorizedHandler, type Session } from './api';
import { AlertRegion, SessionContext, useAlert } from './context';
import { SignInPage } from './pages/SignInPage';
import { AppsPage } from './pages/AppsPage';
import { AppLayout } from './pages/AppLayout';
import { SettingsPage } from './pages/SettingsPage';
// The data browser carries AG Grid: load it only when it is opened.
const BrowserPage = lazy(() => import('./browser/BrowserPage').then((m) => ({ default: m.BrowserPage })));
const SchemaPage = lazy(() => import('./schema/SchemaPage').then((m) => ({ default: m.SchemaPage })));
const ImportExportPage = lazy(() => import('./importexport/ImportExportPage').then((m) => ({ default: m.ImportExportPage })));
const UsersRolesPage = lazy(() => import('./pages/UsersRolesPage').then((m) => ({ default: m.UsersRolesPage })));
const CloudPage = lazy(() => import('./pages/CloudPage').then((m) => ({ default: m.CloudPage })));
const ConfigPage = lazy(() => import('./config/ConfigPage').then((m) => ({ default: m.ConfigPage })));
const ConsolePage = lazy(() => import('./pages/ConsolePage').then((m) => ({ default: m.ConsolePage })));
const LogsPage = lazy(() => import('./pages/LogsPage').then((m) => ({ default: m.LogsPage })));

const loading = <p className="loading-page">Loading…</p>;

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const { showError, clear } = useAlert();
  const { pathname } = useLocation();

  // An error belongs to the page it happened on.
  useEffect(() => clear(), [pathname, clear]);

  const accept = useCallback((s: Session | null) => {
    setCsrfToken(s?.csrfToken ?? '');
    setSession(s);
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => accept(null));
    api.session().then(
      (s) => accept(s),
      (e: { status?: number }) => {
        if (e.status !== 401) showError(e);
        accept(null);
      },
    );
  }, [accept, showError]);

  const signOut = useCallback(() => {
    api.logout().then(
      () => undefined,
      () => undefined,
    );
    clear();
    accept(null);
  }, [accept, clear]);

  const ctx = useMemo(() => (session ? { session, signOut } : null), [session, signOut]);

  if (session === undefined) {
    return (
      <>
        <AlertRegion />
        <p className="loading-page">Loading…</p>
      </>
    );
  }
  if (!session || !ctx) {
    return (
      <>
        <AlertRegion />
        <SignInPage onSignedIn={accept} />
      </>
    );
  }
  return (
    <SessionContext.Provider value={ctx}>
      <div className="shell">
        <header className="topbar">
          <Link to="/apps" className="brand">
            Reparse
          </Link>
          <div className="topbar-right">
            <span className="user" data-testid="current-user">
              {session.username}
            </span>
            {session.readOnly && (
              <span className="badge" data-testid="read-only-badge">
                read-only
              </span>
            )}
            <button type="button" className="btn small" onClick={signOut} data-testid="signout">
              Sign out
            </button>
          </div>
        </header>
        <AlertRegion />
        <main className="main">
          <Routes>
            <Route path="/" element={<AppsPage />} />
            <Route path="/apps" element={<AppsPage />} />
            <Route path="/apps/:appId" element={<AppLayout />}>
              <Route index element={<Navigate to="browser" replace />} />
              <Route
                path="browser/:className?"
                element={
                  <Suspense fallback={<p className="loading-page">Loading…</p>}>
                    <BrowserPage />
                  </Suspense>
                }
              />
              <Route path="schema/:className?" element={<Suspense fallback={loading}><SchemaPage /></Suspense>} />
              <Route path="data/:className?" element={<Suspense fallback={loading}><ImportExportPage /></Suspense>} />
              <Route path="users" element={<Suspense fallback={loading}><UsersRolesPage /></Suspense>} />
              <Route path="cloud" element={<Suspense fallback={loading}><CloudPage /></Suspense>} />
              <Route path="config" element={<Suspense fallback={loading}><ConfigPage /></Suspense>} />
              <Route path="logs" element={<Suspense fallback={loading}><LogsPage /></Suspense>} />
              <Route path="console" element={<Suspense fallback={loading}><ConsolePage /></Suspense>} />
              <Route path="settings" element={<SettingsPage />} />
            </Route>
            <Route path="*" element={<NotFound />} />
          </Routes>
        </main>
      </div>
    </SessionContext.Provider>
  );
}

function NotFound() {
  return (
    <div className="page">
      <h1>Page not found</h1>
      <p>
        <Link to="/apps">Back to your apps</Link>
      </p>
    </div>
  );
}
