import { useEffect, useState, type FormEvent } from 'react';
import { useParams } from 'react-router';
import { useAlert, useSession } from '../context';
import { rawParse, toQueryString, type RawResponse } from '../apiExtra';
import { isObj } from '../json';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
type As = 'master' | 'client';

interface HistoryItem {
  method: Method;
  path: string;
  body: string;
  as: As;
  status: number;
  at: string;
}

const METHODS: Method[] = ['GET', 'POST', 'PUT', 'DELETE'];
const HISTORY_MAX = 20;

function historyKey(appId: string) {
  return `reparse.dashboard.console.${appId}`;
}

function loadHistory(appId: string): HistoryItem[] {
  try {
    const raw = sessionStorage.getItem(historyKey(appId));
    const v = raw ? (JSON.parse(raw) as unknown) : [];
    return Array.isArray(v) ? (v as HistoryItem[]) : [];
  } catch {
    return [];
  }
}

function saveHistory(appId: string, items: HistoryItem[]) {
  try {
    sessionStorage.setItem(historyKey(appId), JSON.stringify(items));
  } catch {
    /* storage unavailable: history is kept for this page only */
  }
}

/** For GET: the JSON object in the body box as query parameters, added to the path's own. */
function withQuery(path: string, body: string): string {
  const t = body.trim();
  if (!t) return path;
  const v = JSON.parse(t) as unknown;
  if (!isObj(v)) throw new Error('For GET, the body box must hold a JSON object of query parameters (e.g. {"where": {…}, "limit": 10}).');
  const qs = toQueryString(v);
  if (!qs) return path;
  return path + (path.includes('?') ? '&' : '?') + qs;
}

export function ConsolePage() {
  const { appId = '' } = useParams();
  const { session } = useSession();
  const readOnly = session.readOnly;
  const { showError, clear } = useAlert();
  const [method, setMethod] = useState<Method>('GET');
  const [path, setPath] = useState('classes/');
  const [body, setBody] = useState('');
  const [as, setAs] = useState<As>('master');
  const [sessionToken, setSessionToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [response, setResponse] = useState<RawResponse | null>(null);
  const [history, setHistory] = useState<HistoryItem[]>(() => loadHistory(appId));

  useEffect(() => setHistory(loadHistory(appId)), [appId]);

  // Read-only users can only read.
  const methods = readOnly ? (['GET'] as Method[]) : METHODS;

  const send = async (e: FormEvent) => {
    e.preventDefault();
    const p = path.trim().replace(/^\/+/, '').replace(/^parse\//, '');
    if (!p) {
      showError('Enter the path of the request, e.g. classes/GameScore.');
      return;
    }
    let url = p;
    let payload: string | undefined;
    try {
      if (method === 'GET') url = withQuery(p, body);
      else if (body.trim()) {
        JSON.parse(body);
        payload = body;
      }
    } catch (err) {
      showError(err instanceof SyntaxError ? `The body is not valid JSON: ${err.message}` : err);
      return;
    }
    setBusy(true);
    try {
      const r = await rawParse(appId, method, url, {
        body: payload,
        csrfToken: session.csrfToken,
        asClient: as === 'client',
        sessionToken: as === 'client' ? sessionToken.trim() : undefined,
      });
      clear();
      setResponse(r);
      const item: HistoryItem = { method, path: p, body, as, status: r.status, at: new Date().toISOString() };
      const next = [item, ...history.filter((h) => !(h.method === method && h.path === p && h.body === body && h.as === as))].slice(0, HISTORY_MAX);
      setHistory(next);
      saveHistory(appId, next);
    } catch (err) {
      showError(err);
    } finally {
      setBusy(false);
    }
  };

  const restore = (h: HistoryItem) => {
    if (methods.includes(h.method)) setMethod(h.method);
    setPath(h.path);
    setBody(h.body);
    setAs(h.as);
  };

  const pretty = response
    ? response.json !== undefined
      ? JSON.stringify(response.json, null, 2)
      : response.text || '(empty answer)'
    : '';

  return (
    <div className="page console-page">
      <h1>API console</h1>
      <p className="help">
        Requests go to this app’s Parse REST API. Paths are relative to it, e.g. <code>classes/GameScore</code>, <code>users/me</code>,{' '}
        <code>functions/hello</code>.
      </p>
      <form className="card console-form" onSubmit={send}>
        <div className="console-line">
          <label>
            Method
            <select value={method} onChange={(e) => setMethod(e.target.value as Method)} data-testid="console-method">
              {methods.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </label>
          <label className="console-path">
            Path
            <input value={path} onChange={(e) => setPath(e.target.value)} autoComplete="off" spellCheck={false} placeholder="classes/GameScore" data-testid="console-path" />
          </label>
        </div>
        <label>
          {method === 'GET' ? 'Query parameters (JSON object, optional)' : 'Body (JSON)'}
          <textarea
            value={body}
            onChange={(e) => setBody(e.target.value)}
            rows={6}
            spellCheck={false}
            placeholder={method === 'GET' ? '{"where": {"score": {"$gt": 100}}, "limit": 10}' : '{"score": 1337}'}
            data-testid="console-body"
          />
        </label>
        <div className="console-line">
          <label>
            Send as
            <select value={as} onChange={(e) => setAs(e.target.value === 'client' ? 'client' : 'master')} data-testid="console-as">
              <option value="master">{readOnly ? 'Read-only master key' : 'Master key'}</option>
              <option value="client">Client (REST API key)</option>
            </select>
          </label>
          {as === 'client' && (
            <label className="console-path">
              Session token (optional)
              <input value={sessionToken} onChange={(e) => setSessionToken(e.target.value)} autoComplete="off" spellCheck={false} placeholder="r:…" data-testid="console-session" />
            </label>
          )}
        </div>
        {as === 'client' && <p className="help">Sent as an app client would send it: class-level permissions and ACLs apply{sessionToken.trim() ? ', as the user of this session' : ''}.</p>}
        <div className="form-actions">
          <button type="submit" className="btn primary" disabled={busy} data-testid="console-send">
            {busy ? 'Sending…' : 'Send'}
          </button>
        </div>
      </form>

      {response && (
        <section className="card console-result" aria-labelledby="console-result-title">
          <h2 id="console-result-title">
            Response{' '}
            <span className={response.ok ? 'console-status ok' : 'console-status error'} data-testid="console-status">
              {response.status} {response.statusText}
            </span>{' '}
            <span className="muted" data-testid="console-duration">
              {response.durationMs} ms
            </span>
          </h2>
          <pre className="console-response" data-testid="console-response" tabIndex={0}>
            {pretty}
          </pre>
        </section>
      )}

      {history.length > 0 && (
        <section className="card console-history" aria-labelledby="console-history-title">
          <div className="page-head">
            <h2 id="console-history-title">Recent requests</h2>
            <button
              type="button"
              className="btn small"
              onClick={() => {
                setHistory([]);
                saveHistory(appId, []);
              }}
              data-testid="console-history-clear"
            >
              Clear
            </button>
          </div>
          <ul>
            {history.map((h, i) => (
              <li key={`${h.at}-${i}`}>
                <button type="button" className="btn link console-history-item" onClick={() => restore(h)} data-testid="console-history-item">
                  <span className="console-history-method">{h.method}</span> <code>{h.path}</code>
                  {h.as === 'client' && <span className="badge">client</span>} <span className="muted">{h.status}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
