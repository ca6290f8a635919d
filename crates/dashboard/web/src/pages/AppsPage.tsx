import { useCallback, useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, type AppInfo, type Keys } from '../api';
import { useAlert, useSession } from '../context';
import { Dialog } from '../components/Dialog';
import { KeysDialog } from '../components/KeysDialog';

type DialogState =
  | { kind: 'create' }
  | { kind: 'rename'; app: AppInfo }
  | { kind: 'rotate'; app: AppInfo }
  | { kind: 'delete'; app: AppInfo }
  | { kind: 'keys'; appName: string; keys: Keys }
  | null;

export function AppsPage() {
  const [apps, setApps] = useState<AppInfo[] | null>(null);
  const [dialog, setDialog] = useState<DialogState>(null);
  const [busy, setBusy] = useState(false);
  const [text, setText] = useState('');
  const { showError, clear } = useAlert();
  const { session } = useSession();
  const navigate = useNavigate();
  const readOnly = session.readOnly;

  const load = useCallback(() => {
    api.apps().then((r) => setApps(r.results), showError);
  }, [showError]);

  useEffect(load, [load]);

  const open = (d: DialogState, initialText = '') => {
    setText(initialText);
    setDialog(d);
  };

  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    try {
      await fn();
      clear();
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  };

  const createApp = () =>
    run(async () => {
      const r = await api.createApp(text.trim());
      setDialog({ kind: 'keys', appName: r.app.name, keys: r.keys });
      load();
    });

  const renameApp = (app: AppInfo) =>
    run(async () => {
      await api.updateApp(app.appId, { name: text.trim() });
      setDialog(null);
      load();
    });

  const rotateKeys = (app: AppInfo) =>
    run(async () => {
      const r = await api.rotateKeys(app.appId);
      setDialog({ kind: 'keys', appName: app.name, keys: r.keys });
    });

  const deleteApp = (app: AppInfo) =>
    run(async () => {
      await api.deleteApp(app.appId, text);
      setDialog(null);
      load();
    });

  return (
    <div className="page">
      <div className="page-head">
        <h1>Apps</h1>
        {!readOnly && (
          <button type="button" className="btn primary" onClick={() => open({ kind: 'create' })} data-testid="create-app">
            Create app
          </button>
        )}
      </div>
      {apps === null ? (
        <p className="muted">Loading apps…</p>
      ) : apps.length === 0 ? (
        <div className="empty">
          <p>No apps yet.</p>
          {!readOnly && <p>Use “Create app” to make your first one.</p>}
        </div>
      ) : (
        <ul className="app-list">
          {apps.map((app) => (
            <li key={app.appId} className="card app-card" data-testid={`app-row-${app.name}`}>
              <div className="app-main">
                <h2>
                  <Link to={`/apps/${encodeURIComponent(app.appId)}/browser`}>{app.name}</Link>
                </h2>
                <dl className="app-meta">
                  <div>
                    <dt>App ID</dt>
                    <dd>
                      <code data-testid="app-id">{app.appId}</code>
                    </dd>
                  </div>
                  <div>
                    <dt>Created</dt>
                    <dd>{formatDate(app.createdAt)}</dd>
                  </div>
                  {app.serverURL && (
                    <div>
                      <dt>Server URL</dt>
                      <dd>
                        <code>{app.serverURL}</code>
                      </dd>
                    </div>
                  )}
                </dl>
              </div>
              <div className="app-actions">
                <button
                  type="button"
                  className="btn primary"
                  onClick={() => navigate(`/apps/${encodeURIComponent(app.appId)}/browser`)}
                  data-testid="open-app"
                >
                  Open
                </button>
                <button
                  type="button"
                  className="btn"
                  onClick={() => navigate(`/apps/${encodeURIComponent(app.appId)}/settings`)}
                  data-testid="app-settings"
                >
                  Settings
                </button>
                {!readOnly && (
                  <>
                    <button type="button" className="btn" onClick={() => open({ kind: 'rename', app }, app.name)} data-testid="rename-app">
                      Rename
                    </button>
                    <button type="button" className="btn" onClick={() => open({ kind: 'rotate', app })} data-testid="rotate-keys">
                      Rotate keys
                    </button>
                    <button type="button" className="btn danger" onClick={() => open({ kind: 'delete', app })} data-testid="delete-app">
                      Delete
                    </button>
                  </>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}

      {dialog?.kind === 'create' && (
        <Dialog title="Create an app" onClose={() => setDialog(null)} onConfirm={createApp} confirmLabel="Create" busy={busy}>
          <label>
            Name
            <input
              value={text}
              onChange={(e) => setText(e.target.value)}
              data-testid="app-name-input"
              maxLength={64}
              aria-describedby="app-name-help"
            />
          </label>
          <p id="app-name-help" className="help">
            1–64 letters, digits, “-” or “_”.
          </p>
        </Dialog>
      )}
      {dialog?.kind === 'rename' && (
        <Dialog
          title={`Rename ${dialog.app.name}`}
          onClose={() => setDialog(null)}
          onConfirm={() => renameApp(dialog.app)}
          confirmLabel="Rename"
          busy={busy}
        >
          <label>
            New name
            <input value={text} onChange={(e) => setText(e.target.value)} data-testid="app-name-input" maxLength={64} />
          </label>
        </Dialog>
      )}
      {dialog?.kind === 'rotate' && (
        <Dialog
          title={`Rotate the keys of ${dialog.app.name}?`}
          onClose={() => setDialog(null)}
          onConfirm={() => rotateKeys(dialog.app)}
          confirmLabel="Rotate keys"
          danger
          busy={busy}
        >
          <p>
            New master and client keys will be made. The current keys stop working at once: every client using them
            must be updated.
          </p>
        </Dialog>
      )}
      {dialog?.kind === 'delete' && (
        <Dialog
          title={`Delete ${dialog.app.name}?`}
          onClose={() => setDialog(null)}
          onConfirm={() => deleteApp(dialog.app)}
          confirmLabel="Delete app"
          confirmDisabled={text !== dialog.app.name}
          danger
          busy={busy}
        >
          <p>This deletes the app and all of its data. It cannot be undone.</p>
          <label>
            Type <strong>{dialog.app.name}</strong> to confirm
            <input
              value={text}
              onChange={(e) => setText(e.target.value)}
              data-testid="delete-confirm-input"
              autoComplete="off"
            />
          </label>
        </Dialog>
      )}
      {dialog?.kind === 'keys' && (
        <KeysDialog keys={dialog.keys} appName={dialog.appName} onClose={() => setDialog(null)} />
      )}
    </div>
  );
}

export function formatDate(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
