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
