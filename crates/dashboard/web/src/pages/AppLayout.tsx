import { useCallback, useEffect, useState } from 'react';
import { NavLink, Outlet, useOutletContext, useParams } from 'react-router';
import { api, type AppInfo } from '../api';
import { useAlert } from '../context';

/** The per-app navigation; each entry is also a child route in App.tsx. */
export const APP_NAV: { path: string; label: string }[] = [
  { path: 'browser', label: 'Browser' },
  { path: 'schema', label: 'Schema' },
  { path: 'data', label: 'Import/Export' },
  { path: 'users', label: 'Users & Roles' },
  { path: 'cloud', label: 'Cloud code' },
  { path: 'config', label: 'Config' },
  { path: 'logs', label: 'Logs' },
  { path: 'console', label: 'API console' },
  { path: 'settings', label: 'Settings' },
];

export interface AppOutletContext {
  app: AppInfo | null;
  reloadApp: () => void;
  setApp: (app: AppInfo) => void;
}

export function useApp(): AppOutletContext {
  return useOutletContext<AppOutletContext>();
}

export function AppLayout() {
  const { appId = '' } = useParams();
  const [app, setApp] = useState<AppInfo | null>(null);
  const { showError } = useAlert();

  const reloadApp = useCallback(() => {
    api.app(appId).then(setApp, showError);
  }, [appId, showError]);

  useEffect(() => {
    setApp(null);
    reloadApp();
  }, [reloadApp]);

  return (
    <div className="app-layout">
      <nav className="app-nav" aria-label="App">
        <div className="app-nav-title" title={app?.appId}>
          {app?.name ?? '…'}
        </div>
        <ul>
          {APP_NAV.map((item) => (
            <li key={item.path}>
              <NavLink to={`/apps/${encodeURIComponent(appId)}/${item.path}`} data-testid={`nav-${item.path}`}>
                {item.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <div className="app-content">
        <Outlet context={{ app, reloadApp, setApp } satisfies AppOutletContext} />
      </div>
    </div>
  );
}
