import { useEffect, useState, type FormEvent } from 'react';
import { useParams } from 'react-router';
import { api } from '../api';
import { useAlert, useSession } from '../context';
import { useApp } from './AppLayout';

type Settings = Record<string, unknown>;

interface FormState {
  appName: string;
  allowClientClassCreation: boolean;
  sessionLength: string;
  expireInactiveSessions: boolean;
  maxLimit: string;
  liveQueryClassNames: string;
}

function toForm(s: Settings): FormState {
  const lq = (s.liveQuery ?? {}) as { classNames?: unknown };
  return {
    appName: typeof s.appName === 'string' ? s.appName : '',
    allowClientClassCreation: s.allowClientClassCreation === true,
    sessionLength: s.sessionLength == null ? '' : String(s.sessionLength),
    expireInactiveSessions: s.expireInactiveSessions !== false,
    maxLimit: s.maxLimit == null ? '' : String(s.maxLimit),
    liveQueryClassNames: Array.isArray(lq.classNames) ? lq.classNames.join(', ') : '',
  };
}

/** A number when the text is one; otherwise the text itself, so the server can say what is wrong. */
function num(text: string): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

/** Applies the form's fields onto a copy of the settings object. */
function applyForm(base: Settings, f: FormState): Settings {
  const s: Settings = { ...base };
  const setOrDelete = (key: string, v: unknown) => {
    if (v === undefined || v === '') delete s[key];
    else s[key] = v;
  };
  setOrDelete('appName', f.appName.trim());
  s.allowClientClassCreation = f.allowClientClassCreation;
  setOrDelete('sessionLength', num(f.sessionLength));
  s.expireInactiveSessions = f.expireInactiveSessions;
  setOrDelete('maxLimit', num(f.maxLimit));
  const names = f.liveQueryClassNames
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const lq = { ...((s.liveQuery ?? {}) as Record<string, unknown>) };
  if (names.length > 0) lq.classNames = names;
  else delete lq.classNames;
  if (Object.keys(lq).length > 0) s.liveQuery = lq;
  else delete s.liveQuery;
  return s;
}

export function SettingsPage() {
  const { appId = '' } = useParams();
  const { app, setApp } = useApp();
  const { session } = useSession();
  const { showError, clear } = useAlert();
  const [form, setForm] = useState<FormState | null>(null);
  const [json, setJson] = useState('');
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const readOnly = session.readOnly;

  useEffect(() => {
    if (app && app.appId === appId) {
      setForm(toForm(app.settings ?? {}));
      setJson(JSON.stringify(app.settings ?? {}, null, 2));
    }
  }, [app, appId]);

  if (!app || !form) return <div className="page muted">Loading settings…</div>;

  const update = (patch: Partial<FormState>) => {
    setSaved(false);
    const next = { ...form, ...patch };
    setForm(next);
    // Keep the raw JSON view in step with the form.
    try {
      setJson(JSON.stringify(applyForm(JSON.parse(json) as Settings, next), null, 2));
    } catch {
      /* the JSON is being edited and is invalid: leave it */
    }
  };

  const onJsonChange = (text: string) => {
    setSaved(false);
    setJson(text);
    try {
      const parsed = JSON.parse(text) as unknown;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
        setJsonError('The settings must be a JSON object.');
        return;
      }
      setJsonError(null);
      setForm(toForm(parsed as Settings));
    } catch (e) {
      setJsonError(`Invalid JSON: ${(e as Error).message}`);
    }
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    let settings: Settings;
    try {
      const parsed = JSON.parse(json) as unknown;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('The settings must be a JSON object.');
      settings = parsed as Settings;
    } catch (err) {
      showError(err instanceof SyntaxError ? `The advanced settings are not valid JSON: ${err.message}` : err);
      return;
    }
    setBusy(true);
    try {
      const updated = await api.updateApp(appId, { settings });
      clear();
      setApp(updated);
      setSaved(true);
    } catch (err) {
      showError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="page settings">
      <h1>Settings</h1>
      <form onSubmit={save}>
        <h2 className="section-title">Common options</h2>
          <fieldset className="settings-form" disabled={readOnly}>
            <label>
              App name (used in emails and pages)
              <input value={form.appName} onChange={(e) => update({ appName: e.target.value })} data-testid="settings-appName" />
            </label>
            <label className="check">
              <input
                type="checkbox"
                checked={form.allowClientClassCreation}
                onChange={(e) => update({ allowClientClassCreation: e.target.checked })}
                data-testid="settings-allowClientClassCreation"
              />
              Allow clients to create classes
            </label>
            <label>
              Session length (seconds)
              <input
                inputMode="numeric"
                value={form.sessionLength}
                onChange={(e) => update({ sessionLength: e.target.value })}
                placeholder="31536000"
                data-testid="settings-sessionLength"
              />
            </label>
            <label className="check">
              <input
                type="checkbox"
                checked={form.expireInactiveSessions}
                onChange={(e) => update({ expireInactiveSessions: e.target.checked })}
                data-testid="settings-expireInactiveSessions"
              />
              Expire inactive sessions
            </label>
            <label>
              Max limit of a query
              <input
                inputMode="numeric"
                value={form.maxLimit}
                onChange={(e) => update({ maxLimit: e.target.value })}
                placeholder="no limit"
                data-testid="settings-maxLimit"
              />
            </label>
            <label>
              Live Query classes (comma separated)
              <input
                value={form.liveQueryClassNames}
                onChange={(e) => update({ liveQueryClassNames: e.target.value })}
                placeholder="Message, Comment"
                data-testid="settings-liveQuery"
              />
            </label>
          </fieldset>
          <details className="settings-json" open>
            <summary>Advanced: the whole settings object (JSON)</summary>
            <label htmlFor="settings-json" className="help">
              Parse Server options. Edits here and in the form above are kept in step; Save sends this object.
            </label>
            <textarea
              id="settings-json"
              value={json}
              onChange={(e) => onJsonChange(e.target.value)}
              spellCheck={false}
              rows={20}
              readOnly={readOnly}
              data-testid="settings-json"
            />
            {jsonError && <p className="field-error">{jsonError}</p>}
          </details>
        {!readOnly && (
          <div className="form-actions">
            <button type="submit" className="btn primary" disabled={busy} data-testid="settings-save">
              {busy ? 'Saving…' : 'Save'}
            </button>
            {saved && (
              <span className="saved" role="status">
                Saved.
              </span>
            )}
          </div>
        )}
      </form>
    </div>
  );
}
