import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { api, parse, withBuiltInClasses, type ClassSchema } from '../api';
import type { KnownCount } from './ClassGrid';
import { useAlert, useSession } from '../context';
import { Dialog } from '../components/Dialog';
import { ClassGrid } from './ClassGrid';
import { parseFiltersParam, type Filter } from './filters';
import { browserPath } from './cells';

const CLASS_NAME_RE = /^[A-Za-z][A-Za-z0-9_]*$/;

export function BrowserPage() {
  const { appId = '', className } = useParams();
  const [searchParams] = useSearchParams();
  const navigate = useNavigate();
  const { session } = useSession();
  const { showError, clear } = useAlert();
  const [schemas, setSchemas] = useState<ClassSchema[] | null>(null);
  const [counts, setCounts] = useState<Record<string, KnownCount>>({});
  const [sidebarOpen, setSidebarOpen] = useState(false);
  const [creating, setCreating] = useState(false);
  const [newName, setNewName] = useState('');
  const [busy, setBusy] = useState(false);
  const loadId = useRef(0);

  const filtersParam = searchParams.get('filters');
  const filters = useMemo(() => parseFiltersParam(filtersParam), [filtersParam]);

  const loadSchemas = useCallback(() => {
    const id = ++loadId.current;
    parse<{ results: ClassSchema[] }>(appId, 'GET', 'schemas').then((r) => {
      if (id !== loadId.current) return;
      const list = withBuiltInClasses(r.results ?? []).sort((a, b) => a.className.localeCompare(b.className));
      setSchemas(list);
      // Row counts in one request (estimated for large tables: never a wait on counting them).
      api.classCounts(appId).then((r) => {
        if (id !== loadId.current) return;
        setCounts(Object.fromEntries(r.results.map((c) => [c.className, { count: c.count, estimated: c.estimated }])));
      }, showError);
    }, showError);
  }, [appId, showError]);

  useEffect(() => {
    setSchemas(null);
    setCounts({});
    loadSchemas();
  }, [loadSchemas]);

  // Without a class in the URL, open the first one.
  useEffect(() => {
    if (!className && schemas && schemas.length > 0) {
      navigate(browserPath(appId, schemas[0].className), { replace: true });
    }
  }, [className, schemas, appId, navigate]);

  const schema = schemas?.find((s) => s.className === className);

  const setFilters = useCallback(
    (f: Filter[]) => {
      if (className) navigate(browserPath(appId, className, f));
    },
    [appId, className, navigate],
  );

  const onCount = useCallback(
    (name: string, n: number) =>
      setCounts((prev) => (prev[name]?.count === n && !prev[name].estimated ? prev : { ...prev, [name]: { count: n, estimated: false } })),
    [],
  );

  const createClass = async () => {
    const name = newName.trim();
    if (!CLASS_NAME_RE.test(name)) {
      showError('A class name starts with a letter and has only letters, digits and _.');
      return;
    }
    setBusy(true);
    try {
      await parse(appId, 'POST', `schemas/${encodeURIComponent(name)}`, { className: name, fields: {} });
      clear();
      setCreating(false);
      loadSchemas();
      navigate(browserPath(appId, name));
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className={sidebarOpen ? 'browser sidebar-open' : 'browser'}>
      <button
        type="button"
        className="btn sidebar-toggle"
        aria-expanded={sidebarOpen}
        aria-controls="class-list"
        onClick={() => setSidebarOpen(!sidebarOpen)}
        data-testid="sidebar-toggle"
      >
        {sidebarOpen ? 'Hide classes' : `Classes${className ? `: ${className}` : ''}`}
      </button>
      <aside className="class-sidebar" id="class-list" aria-label="Classes">
        <div className="sidebar-head">
          <h2>Classes</h2>
          {!session.readOnly && (
            <button
              type="button"
              className="btn small"
              onClick={() => {
                setNewName('');
                setCreating(true);
              }}
              data-testid="create-class"
            >
              Create a class
            </button>
          )}
        </div>
        {schemas === null ? (
          <p className="muted pad">Loading…</p>
        ) : (
          <ul className="class-list">
            {schemas.map((s) => (
              <li key={s.className}>
                <Link
                  to={browserPath(appId, s.className)}
                  className={s.className === className ? 'active' : undefined}
                  aria-current={s.className === className ? 'page' : undefined}
                  onClick={() => setSidebarOpen(false)}
                  data-testid={`class-${s.className}`}
                >
                  <span className="class-name">{s.className}</span>
                  <span className="class-count" data-testid={`class-count-${s.className}`}>
                    {counts[s.className] === undefined
                      ? s.className.startsWith('_') ? '0' : ''
                      : `${counts[s.className].estimated ? '≈ ' : ''}${counts[s.className].count.toLocaleString('en-US')}`}
                  </span>
                </Link>
              </li>
            ))}
          </ul>
        )}
      </aside>
      <section className="browser-main">
        {schemas === null ? null : !className ? (
          <div className="empty">
            <p>This app has no classes yet.</p>
          </div>
        ) : !schema ? (
          <div className="empty">
            <p>There is no class named “{className}”.</p>
          </div>
        ) : (
          <ClassGrid
            key={`${appId}/${schema.className}`}
            appId={appId}
            schema={schema}
            schemas={schemas}
            readOnly={session.readOnly}
            filters={filters}
            setFilters={setFilters}
            onSchemaChanged={loadSchemas}
            onClassDeleted={() => {
              loadSchemas();
              navigate(`/apps/${encodeURIComponent(appId)}/browser`);
            }}
            onCount={onCount}
            knownCount={counts[schema.className]}
          />
        )}
      </section>
      {creating && (
        <Dialog title="Create a class" onClose={() => setCreating(false)} onConfirm={createClass} confirmLabel="Create class" busy={busy}>
          <label>
            Class name
            <input value={newName} onChange={(e) => setNewName(e.target.value)} data-testid="class-name-input" autoComplete="off" />
          </label>
          <p className="help">Starts with a letter; letters, digits and _ only.</p>
        </Dialog>
      )}
    </div>
  );
}
