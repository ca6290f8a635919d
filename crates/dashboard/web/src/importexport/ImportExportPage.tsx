import { useEffect, useMemo, useRef, useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import Papa from 'papaparse';
import { parse, type ClassSchema } from '../api';
import { useAlert, useSession } from '../context';
import { appBase, batch, classesPath } from '../apiExtra';
import { Options } from '../components/Options';
import { useClassSchemas } from '../components/useClassSchemas';
import { isObj } from '../json';
import { ArchiveSection } from './ArchiveSection';
import { Progress, useProgress } from './Progress';
import { NEW_FIELD_TYPES, SKIP, convertRow, csvCell, exportColumns, planColumn, type ColumnPlan } from './convert';

declare global {
  interface Window {
    /** The last export, for tests: the file name and the text downloaded. */
    __lastExport?: { filename: string; text: string };
  }
}

const PAGE = 1000;
const BATCH = 50;

function dataPath(appId: string, className?: string) {
  return `${appBase(appId)}/data${className ? `/${encodeURIComponent(className)}` : ''}`;
}

export function ImportExportPage() {
  const { appId = '', className } = useParams();
  const navigate = useNavigate();
  const { session } = useSession();
  const { schemas, stored, reload } = useClassSchemas(appId);

  const choose = (name: string) => navigate(dataPath(appId, name), { replace: true });

  return (
    <div className="page ie-page">
      <h1>Import and export</h1>
      {schemas === null ? (
        <p className="muted">Loading classes…</p>
      ) : (
        <div className="ie-columns">
          <ExportSection appId={appId} schemas={schemas} initial={className} onChoose={choose} />
          {!session.readOnly && (
            <ImportSection appId={appId} schemas={schemas} stored={stored} initial={className} onChoose={choose} onSchemaChanged={reload} />
          )}
        </div>
      )}
      {!session.readOnly && <ArchiveSection appId={appId} onImported={() => void reload()} />}
    </div>
  );
}

function download(filename: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * The class a section works on: at first the one in the URL when the app has it, else the
 * first; a choice is also put in the URL (`onChoose`), so that a reload keeps it.
 */
function useChosenClass(schemas: ClassSchema[], initial: string | undefined, onChoose: (c: string) => void) {
  const [chosen, setChosen] = useState(() =>
    initial && schemas.some((s) => s.className === initial) ? initial : (schemas[0]?.className ?? ''),
  );
  const choose = (className: string) => {
    setChosen(className);
    onChoose(className);
  };
  return [chosen, choose] as const;
}

function ClassSelect(props: { label: string; schemas: ClassSchema[]; value: string; onChange: (c: string) => void; disabled: boolean; testId: string }) {
  const { label, schemas, value, onChange, disabled, testId } = props;
  return (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(e.target.value)} disabled={disabled} data-testid={testId}>
        <Options values={schemas.map((s) => s.className)} />
      </select>
    </label>
  );
}

// ---------- export ----------

function ExportSection(props: { appId: string; schemas: ClassSchema[]; initial?: string; onChoose: (c: string) => void }) {
  const { appId, schemas, initial, onChoose } = props;
  const [cls, choose] = useChosenClass(schemas, initial, onChoose);
  const [format, setFormat] = useState<'json' | 'csv'>('json');
  const { running, done, total, setDone, setTotal, track } = useProgress();
  const [result, setResult] = useState<string | null>(null);
  const cancelled = useRef(false);

  useEffect(() => () => void (cancelled.current = true), []);

  const start = () => {
    if (!cls) return;
    setResult(null);
    cancelled.current = false;
    void track(async () => {
      const c = await parse<{ count?: number }>(appId, 'GET', classesPath(cls, { count: 1, limit: 0 }));
      setTotal(c.count ?? null);
      const objects: Record<string, unknown>[] = [];
      let last: string | null = null;
      // Keyset paging on objectId: never skip, so a large class is read in linear time.
      for (;;) {
        const query: Record<string, unknown> = { limit: PAGE, order: 'objectId' };
        if (last !== null) query.where = { objectId: { $gt: last } };
        const page = await parse<{ results?: Record<string, unknown>[] }>(appId, 'GET', classesPath(cls, query));
        if (cancelled.current) return;
        const rows = page.results ?? [];
        objects.push(...rows);
        setDone(objects.length);
        if (rows.length < PAGE) break;
        const id = rows[rows.length - 1].objectId;
        if (typeof id !== 'string' || id === last) break;
        last = id;
      }
      setTotal(objects.length);
      let text: string;
      let filename: string;
      if (format === 'json') {
        text = `{"results":[${objects.length ? '\n' : ''}${objects.map((o) => JSON.stringify(o)).join(',\n')}${objects.length ? '\n' : ''}]}\n`;
        filename = `${cls}.json`;
      } else {
        const schema = schemas.find((s) => s.className === cls);
        const fields = exportColumns(schema, objects);
        text = Papa.unparse({ fields, data: objects.map((o) => fields.map((f) => csvCell(o[f]))) }, { newline: '\n' });
        filename = `${cls}.csv`;
      }
      window.__lastExport = { filename, text };
      download(filename, text, format === 'json' ? 'application/json' : 'text/csv');
      setResult(`Exported ${objects.length.toLocaleString('en-US')} object${objects.length === 1 ? '' : 's'} to ${filename}.`);
    });
  };

  return (
    <section className="card ie-card" aria-labelledby="export-title">
      <h2 id="export-title">Export</h2>
      <ClassSelect
        label="Class"
        schemas={schemas}
        value={cls}
        onChange={choose}
        disabled={running}
        testId="export-class-select"
      />
      <label>
        Format
        <select value={format} onChange={(e) => setFormat(e.target.value === 'csv' ? 'csv' : 'json')} disabled={running} data-testid="export-format">
          <option value="json">JSON (Parse export: {'{"results": […]}'})</option>
          <option value="csv">CSV (one column per field)</option>
        </select>
      </label>
      <div className="form-actions">
        <button type="button" className="btn primary" onClick={start} disabled={running || !cls} data-testid="export-start">
          {running ? 'Exporting…' : 'Export'}
        </button>
      </div>
      {(running || result) && <Progress testId="export-progress" done={done} total={total} label="Export progress" />}
      {result && (
        <p role="status" className="saved" data-testid="export-result">
          {result}
        </p>
      )}
    </section>
  );
}

// ---------- import ----------

interface Loaded {
  fileName: string;
  columns: string[];
  rows: Record<string, unknown>[];
}

interface ReportRow {
  row: number;
  reason: string;
}

function readRows(fileName: string, text: string): Loaded {
  const isJson = /\.json$/i.test(fileName) || /^\s*[[{]/.test(text);
  if (isJson) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new Error(`The file is not valid JSON: ${(e as Error).message}`);
    }
    const list = Array.isArray(v) ? v : isObj(v) && Array.isArray(v.results) ? v.results : null;
    if (!list) throw new Error('A JSON file must hold an array of objects or an object {"results": […]}.');
    const rows = list.map((r, i) => {
      if (!isObj(r)) throw new Error(`Item ${i + 1} of the file is not an object.`);
      return r;
    });
    const columns: string[] = [];
    const seen = new Set<string>();
    for (const r of rows)
      for (const k of Object.keys(r))
        if (!seen.has(k)) {
          seen.add(k);
          columns.push(k);
        }
    return { fileName, columns, rows };
  }
  const parsed = Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: 'greedy' });
  const columns = (parsed.meta.fields ?? []).filter((f) => f !== '');
  if (columns.length === 0) throw new Error('The CSV file has no header row.');
  const fatal = parsed.errors.find((e) => e.type === 'Quotes');
  if (fatal) throw new Error(`The CSV file is malformed near row ${(fatal.row ?? 0) + 1}: ${fatal.message}.`);
  return { fileName, columns, rows: parsed.data };
}

function previewText(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

function ImportSection(props: {
  appId: string;
  schemas: ClassSchema[];
  stored: Set<string>;
  initial?: string;
  onChoose: (c: string) => void;
  onSchemaChanged: () => Promise<void>;
}) {
  const { appId, schemas, stored, initial, onChoose, onSchemaChanged } = props;
  const { showError, clear } = useAlert();
  const [cls, choose] = useChosenClass(schemas, initial, onChoose);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [keepIds, setKeepIds] = useState(false);
  const [plans, setPlans] = useState<ColumnPlan[]>([]);
  const { running, done, total, setDone, setTotal, track } = useProgress();
  const [report, setReport] = useState<ReportRow[] | null>(null);
  const [summary, setSummary] = useState<string | null>(null);
  const schema = schemas.find((s) => s.className === cls);

  // Re-plan the columns when the file, the class or the objectId choice changes.
  useEffect(() => {
    if (!loaded) {
      setPlans([]);
      return;
    }
    setPlans(
      loaded.columns.map((c) =>
        planColumn(
          c,
          schema,
          loaded.rows.map((r) => r[c]),
          keepIds,
        ),
      ),
    );
  }, [loaded, schema, keepIds]);

  const onFile = async (file: File | undefined) => {
    setLoaded(null);
    setReport(null);
    setSummary(null);
    if (!file) return;
    try {
      const text = await file.text();
      const l = readRows(file.name, text);
      clear();
      setLoaded(l);
    } catch (e) {
      showError(e);
    }
  };

  const setPlanType = (column: string, type: string) => setPlans(plans.map((p) => (p.column === column ? { ...p, type } : p)));

  const preview = useMemo(() => loaded?.rows.slice(0, 10) ?? [], [loaded]);

  const start = () => {
    if (!loaded || !cls) return;
    setReport(null);
    setSummary(null);
    void track(async () => {
      const errors: ReportRow[] = [];
      let imported = 0;
      // New fields first, so every row is checked against the final schema.
      const newFields: Record<string, { type: string }> = {};
      for (const p of plans) if (!p.existing && p.type !== SKIP) newFields[p.column] = { type: p.type };
      if (Object.keys(newFields).length > 0) {
        const path = `schemas/${encodeURIComponent(cls)}`;
        await parse(appId, stored.has(cls) ? 'PUT' : 'POST', path, { className: cls, fields: newFields });
        await onSchemaChanged();
      }
      const valid: { row: number; body: Record<string, unknown> }[] = [];
      loaded.rows.forEach((r, i) => {
        const res = convertRow(r, plans);
        if (res.error) errors.push({ row: i + 1, reason: res.error });
        else valid.push({ row: i + 1, body: res.body ?? {} });
      });
      setTotal(loaded.rows.length);
      setDone(errors.length);
      for (let i = 0; i < valid.length; i += BATCH) {
        const chunk = valid.slice(i, i + BATCH);
        try {
          const answers = await batch(
            appId,
            chunk.map((v) => ({ method: 'POST', path: `classes/${encodeURIComponent(cls)}`, body: v.body })),
          );
          chunk.forEach((v, j) => {
            const a = answers[j];
            if (a && 'success' in a) imported++;
            else {
              const err = a && 'error' in a ? a.error : undefined;
              const hint =
                keepIds && err?.code === 105 && /objectId/.test(err.error ?? '')
                  ? ' This app does not allow custom objectIds: untick “Keep objectIds”.'
                  : '';
              errors.push({
                row: v.row,
                reason: `The server refused it: ${err?.error ?? 'no answer for this row'}${err?.code !== undefined ? ` (code ${err.code})` : ''}.${hint}`,
              });
            }
          });
        } catch (e) {
          // The whole batch was refused: every row of it failed for that reason.
          const msg = e instanceof Error ? e.message : String(e);
          for (const v of chunk) errors.push({ row: v.row, reason: `The server refused the batch: ${msg}` });
        }
        setDone(Math.min(loaded.rows.length, errors.length + imported));
      }
      errors.sort((a, b) => a.row - b.row);
      setReport(errors);
      setSummary(`${imported} imported, ${errors.length} failed`);
    });
  };

  const typeOptions = (p: ColumnPlan): string[] => {
    if (p.column === 'objectId') return [SKIP, 'String'];
    if (p.existing) {
      const t = schema?.fields[p.column]?.type ?? p.type;
      return t === 'Relation' ? [SKIP] : [SKIP, t];
    }
    return [SKIP, ...NEW_FIELD_TYPES];
  };

  return (
    <section className="card ie-card" aria-labelledby="import-title">
      <h2 id="import-title">Import</h2>
      <ClassSelect
        label="Into class"
        schemas={schemas}
        value={cls}
        onChange={choose}
        disabled={running}
        testId="import-class-select"
      />
      <label>
        File (CSV with a header row, or JSON)
        <input
          type="file"
          accept=".csv,.json,text/csv,application/json"
          onChange={(e) => void onFile(e.target.files?.[0])}
          disabled={running}
          data-testid="import-file"
        />
      </label>
      {loaded && (
        <>
          <p className="help">
            {loaded.rows.length.toLocaleString('en-US')} row{loaded.rows.length === 1 ? '' : 's'} in {loaded.fileName}. The first{' '}
            {preview.length} are shown. Choose how each column is imported: new fields are added to the schema first.
          </p>
          <label className="check">
            <input type="checkbox" checked={keepIds} onChange={(e) => setKeepIds(e.target.checked)} disabled={running} data-testid="import-keep-ids" />
            Keep objectIds from the file (the app must allow custom objectIds)
          </label>
          <div className="schema-table-wrap">
            <table className="schema-table ie-preview" data-testid="import-preview">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  {plans.map((p) => (
                    <th scope="col" key={p.column}>
                      <div className="ie-col-name">{p.column}</div>
                      <select
                        value={p.type}
                        onChange={(e) => setPlanType(p.column, e.target.value)}
                        disabled={running}
                        aria-label={`Import column ${p.column} as`}
                        data-testid={`import-map-${p.column}`}
                      >
                        {typeOptions(p).map((t) => (
                          <option key={t} value={t}>
                            {t === SKIP ? 'skip' : p.existing ? t : `new ${t}`}
                          </option>
                        ))}
                      </select>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {preview.map((r, i) => (
                  <tr key={i}>
                    <td>{i + 1}</td>
                    {plans.map((p) => (
                      <td key={p.column}>{previewText(r[p.column])}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <div className="form-actions">
        <button type="button" className="btn primary" onClick={start} disabled={running || !loaded || !cls} data-testid="import-start">
          {running ? 'Importing…' : 'Import'}
        </button>
      </div>
      {(running || summary) && <Progress testId="import-progress" done={done} total={total} label="Import progress" />}
      {summary && (
        <p role="status" className={report && report.length > 0 ? 'ie-summary has-errors' : 'ie-summary saved'} data-testid="import-summary">
          {summary}
        </p>
      )}
      {report && (
        <div className="schema-table-wrap">
          <table className="schema-table" data-testid="import-report">
            <caption className="ie-caption">{report.length > 0 ? 'Rows not imported' : 'Every row was imported.'}</caption>
            <thead>
              <tr>
                <th scope="col">Row</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {report.map((r) => (
                <tr key={r.row} data-testid="import-error-row">
                  <td>{r.row}</td>
                  <td>{r.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
