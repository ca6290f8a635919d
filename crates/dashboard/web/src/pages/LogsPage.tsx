import { useCallback, useEffect, useRef, useState } from 'react';
import { useParams } from 'react-router';
import { parse } from '../api';
import { useAlert } from '../context';
import { formatDate, toQueryString } from '../apiExtra';

/** One line as parse-server's `GET /scriptlog` answers it. */
interface LogLine {
  level: string;
  message: string;
  timestamp: string;
}

type Level = 'info' | 'error';

const SIZES = [50, 100, 500] as const;
const AUTO_EVERY_MS = 5000;

function levelClass(level: string): string {
  return ['error', 'warn', 'info'].includes(level) ? `logs-level logs-level-${level}` : 'logs-level';
}

export function LogsPage() {
  const { appId = '' } = useParams();
  const { showError, clear } = useAlert();
  const [level, setLevel] = useState<Level>('info');
  const [size, setSize] = useState<number>(100);
  const [auto, setAuto] = useState(false);
  const [lines, setLines] = useState<LogLine[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [loadedAt, setLoadedAt] = useState<Date | null>(null);
  const loadId = useRef(0);
  const inFlight = useRef(false);
  const failed = useRef(false);

  const load = useCallback(async () => {
    const id = ++loadId.current;
    inFlight.current = true;
    setBusy(true);
    try {
      const path = `scriptlog?${toQueryString({ level, n: size, order: 'desc' })}`;
      const r = await parse<unknown>(appId, 'GET', path);
      if (id !== loadId.current) return;
      setLines(Array.isArray(r) ? (r as LogLine[]) : []);
      setLoadedAt(new Date());
      // An error left by an earlier refresh is over once one succeeds.
      if (failed.current) clear();
      failed.current = false;
    } catch (e) {
      if (id !== loadId.current) return;
      failed.current = true;
      showError(e);
    } finally {
      if (id === loadId.current) {
        inFlight.current = false;
        setBusy(false);
      }
    }
  }, [appId, level, size, showError, clear]);

  // Another app's lines are not shown while this one's load.
  useEffect(() => setLines(null), [appId]);

  // Load on opening the page and whenever the filter or the count changes.
  useEffect(() => {
    void load();
  }, [load]);

  // Auto-refresh: every 5 s, skipped while a request is still running or the tab is hidden.
  useEffect(() => {
    if (!auto) return;
    const timer = setInterval(() => {
      if (!inFlight.current && document.visibilityState !== 'hidden') void load();
    }, AUTO_EVERY_MS);
    return () => clearInterval(timer);
  }, [auto, load]);

  return (
    <div className="page logs-page">
      <h1>Logs</h1>
      <p className="help">
        The app’s recent log lines, newest first: its cloud code’s <code>console.log</code> and <code>request.log</code>, jobs, triggers and
        schedules. The server keeps them in memory since it started; its own log output is the lasting record.
      </p>
      <div className="card logs-controls">
        <label>
          Show
          <select value={level} onChange={(e) => setLevel(e.target.value === 'error' ? 'error' : 'info')} data-testid="logs-level">
            <option value="info">All</option>
            <option value="error">Errors only</option>
          </select>
        </label>
        <label>
          Lines
          <select value={size} onChange={(e) => setSize(Number(e.target.value))} data-testid="logs-size">
            {SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="btn" onClick={() => void load()} disabled={busy} data-testid="logs-refresh">
          {busy ? 'Refreshing…' : 'Refresh'}
        </button>
        <label className="check logs-auto">
          <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} data-testid="logs-auto" />
          Refresh every 5 seconds
        </label>
        {loadedAt && (
          <span className="muted logs-loaded" aria-live="polite">
            Updated {loadedAt.toLocaleTimeString()}
          </span>
        )}
      </div>
      {lines === null ? (
        <p className="muted">Loading log lines…</p>
      ) : (
        <ol className="logs-list" data-testid="logs-list" aria-label="Log lines, newest first">
          {lines.length === 0 ? (
            <li className="logs-empty empty" data-testid="logs-empty">
              {level === 'error' ? 'No errors have been logged recently.' : 'No log lines yet.'}
            </li>
          ) : (
            lines.map((l, i) => (
              <li key={`${l.timestamp}-${i}`} className={`logs-line logs-line-${l.level}`} data-testid="log-line">
                <time className="logs-time" dateTime={l.timestamp}>
                  {formatDate(l.timestamp)}
                </time>
                <span className={levelClass(l.level)}>{l.level}</span>
                <span className="logs-message">{l.message}</span>
              </li>
            ))
          )}
        </ol>
      )}
    </div>
  );
}
