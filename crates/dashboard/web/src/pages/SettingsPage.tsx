import { useEffect, useState, type FormEvent } from 'react';
import { useParams } from 'react-router';
import { api } from '../api';
import { useAlert, useSession } from '../context';
import { JsonObjectEditor, useJsonText } from '../components/JsonObjectEditor';
import { SaveActions } from '../components/SaveActions';
import { useAction } from '../components/useAction';
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
  const { showError } = useAlert();
  const { busy, run } = useAction();
  const [form, setForm] = useState<FormState | null>(null);
  const json = useJsonText({}, 'The settings');
  const [saved, setSaved] = useState(false);
  const readOnly = session.readOnly;

  const showJson = json.show;
  useEffect(() => {
    if (app && app.appId === appId) {
      setForm(toForm(app.settings ?? {}));
      showJson(app.settings ?? {});
    }
  }, [app, appId, showJson]);

  if (!app || !form) return <div className="page muted">Loading settings…</div>;

  const update = (patch: Partial<FormState>) => {
    setSaved(false);
    const next = { ...form, ...patch };
    setForm(next);
    // Keep the raw JSON view in step with the form.
    try {
      json.show(applyForm(JSON.parse(json.text) as Settings, next));
    } catch {
      /* the JSON is being edited and is invalid: leave it */
    }
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    let settings: Settings;
    try {
      const parsed = JSON.parse(json.text) as unknown;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('The settings must be a JSON object.');
      settings = parsed as Settings;
    } catch (err) {
      showError(err instanceof SyntaxError ? `The advanced settings are not valid JSON: ${err.message}` : err);
      return;
    }
    if (await run(async () => setApp(await api.updateApp(appId, { settings })))) setSaved(true);
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
          <JsonObjectEditor
            json={json}
            summary="Advanced: the whole settings object (JSON)"
            help="Parse Server options. Edits here and in the form above are kept in step; Save sends this object."
            id="settings-json"
            className="settings-json"
            open
            rows={20}
            readOnly={readOnly}
            testId="settings-json"
            onEdit={(value) => {
              setSaved(false);
              if (value) setForm(toForm(value));
            }}
          />
        {!readOnly && <SaveActions busy={busy} saved={saved} testId="settings-save" />}
      </form>
    </div>
  );
}
