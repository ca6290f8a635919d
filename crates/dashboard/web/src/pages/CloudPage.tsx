import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { useParams } from 'react-router';
import { parse } from '../api';
import { useAlert, useSession } from '../context';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { DataTable, DeleteButton } from '../components/DataTable';
import { Options } from '../components/Options';
import { useAction } from '../components/useAction';
import { classesPath, cloudApi, formatDate, type CloudInfo } from '../apiExtra';
import { isObj } from '../json';

interface JobStatus {
  objectId: string;
  jobName?: string;
  status?: string;
  message?: string;
  params?: unknown;
  createdAt?: string;
  finishedAt?: unknown;
}

interface JobSchedule {
  objectId: string;
  jobName?: string;
  description?: string;
  params?: string;
  startAfter?: string;
  repeatMinutes?: number;
  timeOfDay?: string;
  cronExpression?: string;
  timeZone?: string;
}

interface TreeDir {
  dirs: Map<string, TreeDir>;
  files: { path: string; name: string; size: number }[];
}

function buildTree(files: { path: string; size: number }[]): TreeDir {
  const root: TreeDir = { dirs: new Map(), files: [] };
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    const parts = f.path.split('/').filter(Boolean);
    let dir = root;
    for (const p of parts.slice(0, -1)) {
      let next = dir.dirs.get(p);
      if (!next) {
        next = { dirs: new Map(), files: [] };
        dir.dirs.set(p, next);
      }
      dir = next;
    }
    dir.files.push({ path: f.path, name: parts[parts.length - 1] ?? f.path, size: f.size });
  }
  return root;
}

function formatSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** `YYYY-MM-DDTHH:MM` of now, local time, for a datetime-local input. */
function localNow(): string {
  const d = new Date();
  d.setSeconds(0, 0);
  const off = d.getTimezoneOffset() * 60000;
  return new Date(d.getTime() - off).toISOString().slice(0, 16);
}

export function CloudPage() {
  const { appId = '' } = useParams();
  const { showError } = useAlert();
  const [info, setInfo] = useState<CloudInfo | null>(null);

  useEffect(() => {
    setInfo(null);
    cloudApi.info(appId).then(setInfo, showError);
  }, [appId, showError]);

  if (!info) return <div className="page muted">Loading cloud code…</div>;

  if (!info.configured) {
    return (
      <div className="page cloud-page">
        <h1>Cloud code</h1>
        <div className="card cloud-card" data-testid="cloud-none">
          <p>This app has no cloud code.</p>
          <p>
            To add some, set the app setting <code>cloud</code> (in Settings, under the whole settings object) to the path of a{' '}
            <code>main.js</code> file on the server, for example <code>{'"cloud": "/srv/my-app/cloud/main.js"'}</code>. Its functions, triggers
            and jobs are listed here once the server has loaded it.
          </p>
        </div>
      </div>
    );
  }

  return (
    <div className="page cloud-page">
      <h1>Cloud code</h1>
      <CodeSection appId={appId} info={info} />
      <div className="cloud-columns">
        <section className="card cloud-card" aria-labelledby="cloud-functions-title">
          <h2 id="cloud-functions-title">Functions</h2>
          {info.functions.length === 0 ? (
            <p className="muted">No functions.</p>
          ) : (
            <ul className="cloud-list">
              {[...info.functions].sort().map((f) => (
                <li key={f} data-testid={`cloud-function-${f}`}>
                  <code>{f}</code>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="card cloud-card" aria-labelledby="cloud-triggers-title">
          <h2 id="cloud-triggers-title">Triggers</h2>
          {info.triggers.length === 0 ? (
            <p className="muted">No triggers.</p>
          ) : (
            <ul className="cloud-list">
              {info.triggers.map((t) => (
                <li key={`${t.trigger}/${t.className}`} data-testid={`cloud-trigger-${t.trigger}-${t.className}`}>
                  <code>{t.trigger}</code> on <code>{t.className}</code>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      <JobsSection appId={appId} jobs={[...info.jobs].sort()} />
    </div>
  );
}

// ---------- files ----------

function CodeSection({ appId, info }: { appId: string; info: CloudInfo }) {
  const { showError } = useAlert();
  const tree = useMemo(() => buildTree(info.files), [info.files]);
  const [open, setOpen] = useState<{ path: string; content: string } | null>(null);
  const [loading, setLoading] = useState<string | null>(null);

  const show = useCallback(
    async (path: string) => {
      setLoading(path);
      try {
        setOpen(await cloudApi.file(appId, path));
      } catch (e) {
        showError(e);
      } finally {
        setLoading(null);
      }
    },
    [appId, showError],
  );

  // Open main.js (or the first file) at first.
  useEffect(() => {
    const first = info.files.find((f) => /(^|\/)main\.js$/.test(f.path)) ?? info.files[0];
    if (first) void show(first.path);
  }, [info.files, show]);

  const renderDir = (dir: TreeDir, depth: number) => (
    <ul className={depth === 0 ? 'cloud-tree' : 'cloud-tree-sub'}>
      {[...dir.dirs.entries()].map(([name, sub]) => (
        <li key={`d-${name}`}>
          <span className="cloud-dir">{name}/</span>
          {renderDir(sub, depth + 1)}
        </li>
      ))}
      {dir.files.map((f) => (
        <li key={f.path}>
          <button
            type="button"
            className={open?.path === f.path ? 'cloud-file active' : 'cloud-file'}
            aria-current={open?.path === f.path ? 'true' : undefined}
            onClick={() => void show(f.path)}
            title={f.path}
            data-testid={`cloud-file-${f.path}`}
          >
            <span>{f.name}</span>
            <span className="muted cloud-size">{formatSize(f.size)}</span>
          </button>
        </li>
      ))}
    </ul>
  );

  const lines = open ? open.content.replace(/\n$/, '').split('\n') : [];

  return (
    <section className="card cloud-card cloud-code" aria-labelledby="cloud-files-title">
      <h2 id="cloud-files-title">Files</h2>
      <div className="cloud-code-split">
        <nav aria-label="Cloud code files" className="cloud-files">
          {info.files.length === 0 ? <p className="muted">No files.</p> : renderDir(tree, 0)}
        </nav>
        <div className="cloud-viewer-wrap">
          <div className="cloud-viewer-head">{loading ? `Loading ${loading}…` : open ? <code>{open.path}</code> : 'Choose a file.'}</div>
          <pre className="cloud-viewer" data-testid="cloud-viewer" tabIndex={0} aria-label={open ? `Contents of ${open.path}` : 'File contents'}>
            {lines.map((l, i) => (
              <span className="cloud-line" key={i}>
                {l || ' '}
                {'\n'}
              </span>
            ))}
          </pre>
        </div>
      </div>
    </section>
  );
}

// ---------- jobs ----------

type ScheduleKind = 'once' | 'minutes' | 'daily' | 'cron';

function describeSchedule(s: JobSchedule): string {
  if (s.cronExpression) return `cron ${s.cronExpression}${s.timeZone ? ` (${s.timeZone})` : ''}`;
  if (s.repeatMinutes === 1440 && s.timeOfDay) return `daily at ${s.timeOfDay.slice(0, 5)}${s.timeZone ? ` (${s.timeZone})` : ''}`;
  if (s.repeatMinutes) return `every ${s.repeatMinutes} minute${s.repeatMinutes === 1 ? '' : 's'}`;
  return 'once';
}

function JobsSection({ appId, jobs }: { appId: string; jobs: string[] }) {
  const { session } = useSession();
  const readOnly = session.readOnly;
  const { showError, clear } = useAlert();
  const [history, setHistory] = useState<JobStatus[] | null>(null);
  const [schedules, setSchedules] = useState<JobSchedule[] | null>(null);
  const [params, setParams] = useState('');
  const [running, setRunning] = useState<string | null>(null);
  const [started, setStarted] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);
  const [toDelete, setToDelete] = useState<JobSchedule | null>(null);

  /** The newest objects of a job class (they need the master key, which the dashboard has). */
  const newest = useCallback(
    async <T,>(className: '_JobStatus' | '_JobSchedule', limit: number, show: (rows: T[]) => void) => {
      try {
        const r = await parse<{ results?: T[] }>(appId, 'GET', classesPath(className, { order: '-createdAt', limit }));
        show(r.results ?? []);
      } catch (e) {
        showError(e);
      }
    },
    [appId, showError],
  );
  const loadHistory = useCallback(() => newest('_JobStatus', 50, setHistory), [newest]);
  const loadSchedules = useCallback(() => newest('_JobSchedule', 1000, setSchedules), [newest]);

  useEffect(() => {
    void loadHistory();
    void loadSchedules();
  }, [loadHistory, loadSchedules]);

  const runJob = async (name: string) => {
    let body: unknown = {};
    if (params.trim()) {
      try {
        body = JSON.parse(params) as unknown;
      } catch (e) {
        showError(`The parameters are not valid JSON: ${(e as Error).message}`);
        return;
      }
      if (!isObj(body)) {
        showError('The parameters must be a JSON object.');
        return;
      }
    }
    setRunning(name);
    setStarted(null);
    try {
      await parse(appId, 'POST', `jobs/${encodeURIComponent(name)}`, body);
      clear();
      setStarted(name);
      await loadHistory();
      // The job runs in the background: look again shortly for its outcome.
      setTimeout(() => void loadHistory(), 1500);
    } catch (e) {
      showError(e);
    } finally {
      setRunning(null);
    }
  };

  const deleteSchedule = async (schedule: JobSchedule) => {
    await parse(appId, 'DELETE', `classes/_JobSchedule/${encodeURIComponent(schedule.objectId)}`);
    await loadSchedules();
  };

  return (
    <>
      <section className="card cloud-card" aria-labelledby="cloud-jobs-title">
        <h2 id="cloud-jobs-title">Jobs</h2>
        {jobs.length === 0 ? (
          <p className="muted">No jobs are defined.</p>
        ) : (
          <>
            <ul className="cloud-list">
              {jobs.map((j) => (
                <li key={j} className="cloud-job" data-testid={`cloud-job-${j}`}>
                  <code>{j}</code>
                  {!readOnly && (
                    <button
                      type="button"
                      className="btn small"
                      onClick={() => void runJob(j)}
                      disabled={running !== null}
                      data-testid={`job-run-${j}`}
                    >
                      {running === j ? 'Starting…' : 'Run now'}
                    </button>
                  )}
                </li>
              ))}
            </ul>
            {!readOnly && (
              <label>
                Parameters for “Run now” (optional JSON object)
                <textarea value={params} onChange={(e) => setParams(e.target.value)} rows={3} spellCheck={false} placeholder='{"limit": 10}' data-testid="job-params" />
              </label>
            )}
            {started && (
              <p role="status" className="saved">
                The job {started} was started. Its status appears in the history below.
              </p>
            )}
          </>
        )}
      </section>

      <section className="card cloud-card" aria-labelledby="cloud-history-title">
        <div className="page-head">
          <h2 id="cloud-history-title">Job history</h2>
          <button type="button" className="btn small" onClick={() => void loadHistory()} data-testid="job-history-refresh">
            Refresh
          </button>
        </div>
        <DataTable columns={['Job', 'Status', 'Message', 'Started', 'Finished']} testId="job-history">
          {history === null ? (
            <tr>
              <td colSpan={5} className="muted">
                Loading…
              </td>
            </tr>
          ) : history.length === 0 ? (
            <tr>
              <td colSpan={5} className="muted">
                No job has run yet.
              </td>
            </tr>
          ) : (
            history.map((h) => (
              <tr key={h.objectId} data-testid="job-status-row">
                <td>
                  <code>{h.jobName ?? ''}</code>
                </td>
                <td>
                  <span className={`cloud-status cloud-status-${h.status ?? 'unknown'}`}>{h.status ?? ''}</span>
                </td>
                <td className="cloud-message">{h.message ?? ''}</td>
                <td>{formatDate(h.createdAt)}</td>
                <td>{formatDate(h.finishedAt)}</td>
              </tr>
            ))
          )}
        </DataTable>
      </section>

      <section className="card cloud-card" aria-labelledby="cloud-schedules-title">
        <div className="page-head">
          <h2 id="cloud-schedules-title">Schedules</h2>
          {!readOnly && jobs.length > 0 && !adding && (
            <button type="button" className="btn small" onClick={() => setAdding(true)} data-testid="schedule-add">
              Add a schedule
            </button>
          )}
        </div>
        {adding && (
          <ScheduleForm
            appId={appId}
            jobs={jobs}
            onDone={(saved) => {
              setAdding(false);
              if (saved) void loadSchedules();
            }}
          />
        )}
        {schedules === null ? (
          <p className="muted">Loading…</p>
        ) : schedules.length === 0 ? (
          <p className="muted">No schedules.</p>
        ) : (
          <DataTable columns={['Job', 'Description', 'Repeat', 'Starts after', 'Parameters']} withActions={!readOnly} testId="schedule-table">
            {schedules.map((s) => (
              <tr key={s.objectId} data-testid={`schedule-row-${s.objectId}`}>
                <td>
                  <code>{s.jobName ?? ''}</code>
                </td>
                <td>{s.description ?? ''}</td>
                <td>{describeSchedule(s)}</td>
                <td>{formatDate(s.startAfter)}</td>
                <td>
                  <code>{typeof s.params === 'string' ? s.params : s.params === undefined ? '' : JSON.stringify(s.params)}</code>
                </td>
                {!readOnly && (
                  <td>
                    <DeleteButton
                      label={`Delete the schedule of ${s.jobName ?? ''}`}
                      testId={`schedule-delete-${s.objectId}`}
                      onClick={() => setToDelete(s)}
                    />
                  </td>
                )}
              </tr>
            ))}
          </DataTable>
        )}
      </section>
      {toDelete && (
        <ConfirmDialog
          title="Delete this schedule?"
          onClose={() => setToDelete(null)}
          action={() => deleteSchedule(toDelete)}
          confirmLabel="Delete schedule"
        >
          <p>
            The job {toDelete.jobName} will no longer run {describeSchedule(toDelete)}.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

function ScheduleForm({ appId, jobs, onDone }: { appId: string; jobs: string[]; onDone: (saved: boolean) => void }) {
  const { busy, run } = useAction();
  const [job, setJob] = useState(jobs[0] ?? '');
  const [description, setDescription] = useState('');
  const [params, setParams] = useState('{}');
  const [start, setStart] = useState(localNow);
  const [kind, setKind] = useState<ScheduleKind>('once');
  const [minutes, setMinutes] = useState('60');
  const [time, setTime] = useState('03:00');
  const [cron, setCron] = useState('0 3 * * *');
  const [timeZone, setTimeZone] = useState(browserTimeZone);

  /** The _JobSchedule object the form describes. Throws, in words, on what is missing or wrong. */
  const schedule = (): Record<string, unknown> => {
    if (!job) throw new Error('Choose the job to schedule.');
    const p = params.trim() || '{}';
    let parsed: unknown;
    try {
      parsed = JSON.parse(p);
    } catch {
      parsed = undefined;
    }
    if (!isObj(parsed)) throw new Error('The parameters must be a JSON object, e.g. {} or {"limit": 10}.');
    const startDate = new Date(start);
    if (!start || Number.isNaN(startDate.getTime())) throw new Error('Choose when the schedule starts.');
    const body: Record<string, unknown> = { jobName: job, description: description.trim(), params: p, startAfter: startDate.toISOString() };
    if (kind === 'minutes') {
      const n = Number(minutes);
      if (!Number.isInteger(n) || n < 1) throw new Error('The interval must be a whole number of minutes, 1 or more.');
      body.repeatMinutes = n;
    } else if (kind === 'daily') {
      if (!/^\d{2}:\d{2}$/.test(time)) throw new Error('Choose the time of day.');
      body.repeatMinutes = 1440;
      body.timeOfDay = `${time}:00`;
      if (timeZone.trim()) body.timeZone = timeZone.trim();
    } else if (kind === 'cron') {
      const fields = cron.trim().split(/\s+/);
      if (fields.length !== 5) throw new Error('A cron expression has 5 fields: minute hour day-of-month month day-of-week (e.g. "0 3 * * *").');
      body.cronExpression = fields.join(' ');
      if (timeZone.trim()) body.timeZone = timeZone.trim();
    }
    return body;
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (await run(() => parse(appId, 'POST', 'classes/_JobSchedule', schedule()))) onDone(true);
  };

  return (
    <form className="cloud-schedule-form" onSubmit={save} aria-label="Add a schedule">
      <div className="schema-field-grid">
        <label>
          Job
          <select value={job} onChange={(e) => setJob(e.target.value)} data-testid="schedule-job-select">
            <Options values={jobs} />
          </select>
        </label>
        <label>
          Description
          <input value={description} onChange={(e) => setDescription(e.target.value)} autoComplete="off" data-testid="schedule-description" />
        </label>
        <label>
          Starts after
          <input type="datetime-local" value={start} onChange={(e) => setStart(e.target.value)} data-testid="schedule-start" />
        </label>
        <label>
          Repeat
          <select value={kind} onChange={(e) => setKind(e.target.value as ScheduleKind)} data-testid="schedule-kind">
            <option value="once">once</option>
            <option value="minutes">every N minutes</option>
            <option value="daily">daily at a time</option>
            <option value="cron">cron expression</option>
          </select>
        </label>
        {kind === 'minutes' && (
          <label>
            Every (minutes)
            <input inputMode="numeric" value={minutes} onChange={(e) => setMinutes(e.target.value)} data-testid="schedule-minutes" />
          </label>
        )}
        {kind === 'daily' && (
          <label>
            Time of day
            <input type="time" value={time} onChange={(e) => setTime(e.target.value)} data-testid="schedule-time" />
          </label>
        )}
        {kind === 'cron' && (
          <label>
            Cron expression (5 fields)
            <input value={cron} onChange={(e) => setCron(e.target.value)} autoComplete="off" spellCheck={false} data-testid="schedule-cron" />
          </label>
        )}
        {(kind === 'daily' || kind === 'cron') && (
          <label>
            Time zone (IANA)
            <input value={timeZone} onChange={(e) => setTimeZone(e.target.value)} autoComplete="off" data-testid="schedule-timezone" />
          </label>
        )}
      </div>
      <label>
        Parameters (JSON object)
        <textarea value={params} onChange={(e) => setParams(e.target.value)} rows={3} spellCheck={false} data-testid="schedule-params" />
      </label>
      <div className="form-actions">
        <button type="button" className="btn" onClick={() => onDone(false)} data-testid="schedule-cancel">
          Cancel
        </button>
        <button type="submit" className="btn primary" disabled={busy} data-testid="schedule-save">
          {busy ? 'Saving…' : 'Save schedule'}
        </button>
      </div>
    </form>
  );
}
