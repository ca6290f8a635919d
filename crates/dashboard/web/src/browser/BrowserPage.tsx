import { useCallback, useEffect, useMemo, useState } from 'react';
import { useNavigate, useParams, useSearchParams } from 'react-router';
import { api } from '../api';
import type { KnownCount } from './ClassGrid';
import { useAlert, useSession } from '../context';
import { ClassPicker } from '../components/ClassPicker';
import { useClassSchemas } from '../components/useClassSchemas';
import { ClassGrid } from './ClassGrid';
import { parseFiltersParam, type Filter } from './filters';
import { browserPath } from './cells';

export function BrowserPage() {
  const { appId = '', className } = useParams();
  const [searchParams] = useSearchParams();
  const navigate = useNavigate();
  const { session } = useSession();
  const { showError } = useAlert();
  const { schemas, reload } = useClassSchemas(appId);
  const [counts, setCounts] = useState<Record<string, KnownCount>>({});
  const [sidebarOpen, setSidebarOpen] = useState(false);

  const filtersParam = searchParams.get('filters');
  const filters = useMemo(() => parseFiltersParam(filtersParam), [filtersParam]);

  useEffect(() => setCounts({}), [appId]);

  // Row counts in one request after each load of the classes (estimated for large tables:
  // never a wait on counting them).
  useEffect(() => {
    if (!schemas) return;
    let current = true;
    api.classCounts(appId).then((r) => {
      if (current) setCounts(Object.fromEntries(r.results.map((c) => [c.className, { count: c.count, estimated: c.estimated }])));
    }, showError);
    return () => {
      current = false;
    };
  }, [appId, schemas, showError]);

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

  const countOf = (name: string) => {
    const known = counts[name];
    const text = known === undefined ? (name.startsWith('_') ? '0' : '') : `${known.estimated ? '≈ ' : ''}${known.count.toLocaleString('en-US')}`;
    return (
      <span className="class-count" data-testid={`class-count-${name}`}>
        {text}
      </span>
    );
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
        <ClassPicker
          appId={appId}
          schemas={schemas}
          current={className}
          pathOf={(name) => browserPath(appId, name)}
          onCreated={
            session.readOnly
              ? undefined
              : (name) => {
                  void reload();
                  navigate(browserPath(appId, name));
                }
          }
          detail={countOf}
          onPick={() => setSidebarOpen(false)}
        />
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
            onSchemaChanged={() => void reload()}
            onClassDeleted={() => {
              void reload();
              navigate(`/apps/${encodeURIComponent(appId)}/browser`);
            }}
            onCount={onCount}
            knownCount={counts[schema.className]}
          />
        )}
      </section>
    </div>
  );
}
