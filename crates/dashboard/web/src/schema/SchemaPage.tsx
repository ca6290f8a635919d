import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { parse, type ClassSchema, type FieldSchema } from '../api';
import { useAlert, useSession } from '../context';
import { Dialog } from '../components/Dialog';
import { SYSTEM_CLASSES, appBase, defaultFieldNames, fetchSchemas, isObj } from '../apiExtra';
import { FIELD_TYPES } from '../browser/columns';
import { ClpEditor } from './ClpEditor';
import { IndexesSection } from './IndexesSection';

const NAME_RE = /^[A-Za-z][A-Za-z0-9_]*$/;

export function schemaPath(appId: string, className?: string): string {
  return `${appBase(appId)}/schema${className ? `/${encodeURIComponent(className)}` : ''}`;
}

export function SchemaPage() {
  const { appId = '', className } = useParams();
  const navigate = useNavigate();
  const { session } = useSession();
  const readOnly = session.readOnly;
  const { showError, clear } = useAlert();
  const [schemas, setSchemas] = useState<ClassSchema[] | null>(null);
  const [stored, setStored] = useState<Set<string>>(new Set());
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [newName, setNewName] = useState('');
  const [busy, setBusy] = useState(false);
  const loadId = useRef(0);

  const load = useCallback(async () => {
    const id = ++loadId.current;
    try {
      const r = await fetchSchemas(appId);
      if (id !== loadId.current) return;
      setSchemas(r.all);
      setStored(r.stored);
    } catch (e) {
      showError(e);
    }
  }, [appId, showError]);

  useEffect(() => {
    setSchemas(null);
    void load();
  }, [load]);

  useEffect(() => {
    if (!className && schemas && schemas.length > 0) navigate(schemaPath(appId, schemas[0].className), { replace: true });
  }, [className, schemas, appId, navigate]);

  const schema = schemas?.find((s) => s.className === className);

  /** Applies a partial schema change to the current class, then reloads the schemas. */
  const save = useCallback(
    async (body: Record<string, unknown>) => {
      if (!className) return;
      const path = `schemas/${encodeURIComponent(className)}`;
      // A built-in class nobody has stored yet has no schema to update: create it.
      if (stored.has(className)) await parse(appId, 'PUT', path, { className, ...body });
      else await parse(appId, 'POST', path, { className, ...body });
      await load();
    },
    [appId, className, stored, load],
  );

  const createClass = async () => {
    const name = newName.trim();
    if (!NAME_RE.test(name)) {
      showError('A class name starts with a letter and has only letters, digits and _.');
      return;
    }
    setBusy(true);
    try {
      await parse(appId, 'POST', `schemas/${encodeURIComponent(name)}`, { className: name, fields: {} });
      clear();
      setCreating(false);
      await load();
      navigate(schemaPath(appId, name));
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  };

  const deleteClass = async () => {
    if (!className) return;
    setBusy(true);
    try {
      await parse(appId, 'DELETE', `schemas/${encodeURIComponent(className)}`);
      clear();
      setDeleting(false);
      await load();
      navigate(schemaPath(appId), { replace: true });
    } catch (e) {
      setDeleting(false);
      showError(e);
    } finally {
      setBusy(false);
    }
  };

  const classNames = [...new Set([...(schemas ?? []).map((s) => s.className), ...SYSTEM_CLASSES])].sort();

  return (
    <div className="pg-split">
      <aside className="pg-side" aria-label="Classes">
        <div className="pg-side-head">
          <h2>Classes</h2>
          {!readOnly && (
            <button
              type="button"
              className="btn small"
              onClick={() => {
                setNewName('');
                setCreating(true);
              }}
              data-testid="schema-create-class"
            >
              Create a class
            </button>
          )}
        </div>
        {schemas === null ? (
          <p className="muted pad">Loading…</p>
        ) : (
          <ul className="pg-side-list">
            {schemas.map((s) => (
              <li key={s.className}>
                <Link
                  to={schemaPath(appId, s.className)}
                  className={s.className === className ? 'active' : undefined}
                  aria-current={s.className === className ? 'page' : undefined}
                  data-testid={`schema-class-${s.className}`}
                >
                  {s.className}
                </Link>
              </li>
            ))}
          </ul>
        )}
      </aside>
      <div className="pg-main page">
        {schemas === null ? (
          <p className="muted">Loading schema…</p>
        ) : !className ? (
          <p className="empty">This app has no classes yet.</p>
        ) : !schema ? (
          <p className="empty">There is no class named “{className}”.</p>
        ) : (
          <>
            <div className="page-head">
              <h1>
                Schema of <span data-testid="schema-class-title">{schema.className}</span>
              </h1>
              {!readOnly && !schema.className.startsWith('_') && (
                <button type="button" className="btn danger" onClick={() => setDeleting(true)} data-testid="schema-delete-class">
                  Delete class
                </button>
              )}
            </div>
            <FieldsSection key={`f-${schema.className}`} appId={appId} schema={schema} classNames={classNames} readOnly={readOnly} save={save} />
            <ClpEditor key={`c-${schema.className}`} schema={schema} readOnly={readOnly} save={save} />
            <IndexesSection key={`i-${schema.className}`} schema={schema} readOnly={readOnly} save={save} />
          </>
        )}
      </div>
      {creating && (
        <Dialog title="Create a class" onClose={() => setCreating(false)} onConfirm={createClass} confirmLabel="Create class" busy={busy}>
          <label>
            Class name
            <input value={newName} onChange={(e) => setNewName(e.target.value)} autoComplete="off" data-testid="schema-class-name-input" />
          </label>
          <p className="help">Starts with a letter; letters, digits and _ only.</p>
        </Dialog>
      )}
      {deleting && className && (
        <Dialog title={`Delete the class ${className}?`} onClose={() => setDeleting(false)} onConfirm={deleteClass} confirmLabel="Delete class" danger busy={busy}>
          <p>Only an empty class can be deleted: the server refuses otherwise. Its schema, permissions and indexes are removed.</p>
        </Dialog>
      )}
    </div>
  );
}

// ---------- fields ----------

function formatDefault(f: FieldSchema): string {
  const v = f.defaultValue;
  if (v === undefined || v === null) return '';
  if (isObj(v)) {
    if (v.__type === 'Date') return String(v.iso ?? '');
    if (v.__type === 'Pointer') return `${String(v.className ?? '')} ${String(v.objectId ?? '')}`;
    if (v.__type === 'GeoPoint') return `${String(v.latitude)}, ${String(v.longitude)}`;
    if (v.__type === 'File') return String(v.name ?? '');
  }
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The typed default value from the text entered, or undefined for none. Throws on bad input. */
function parseDefault(type: string, text: string, targetClass: string): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  switch (type) {
    case 'String':
      return text;
    case 'Number': {
      const n = Number(t);
      if (!Number.isFinite(n)) throw new Error(`The default value “${text}” is not a number.`);
      return n;
    }
    case 'Boolean':
      return t === 'true';
    case 'Date': {
      const d = new Date(t);
      if (Number.isNaN(d.getTime())) throw new Error(`The default value “${text}” is not a date.`);
      return { __type: 'Date', iso: d.toISOString() };
    }
    case 'Pointer':
      if (!targetClass) throw new Error('Choose the target class of the pointer first.');
      return { __type: 'Pointer', className: targetClass, objectId: t };
    case 'GeoPoint': {
      const m = /^\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*$/.exec(t);
      if (m) return { __type: 'GeoPoint', latitude: Number(m[1]), longitude: Number(m[2]) };
      break;
    }
    case 'Bytes':
      if (!t.startsWith('{')) return { __type: 'Bytes', base64: t };
      break;
  }
  try {
    const v = JSON.parse(t) as unknown;
    if (type === 'Array' && !Array.isArray(v)) throw new Error('not an array');
    if (type === 'Object' && !isObj(v)) throw new Error('not an object');
    return v;
  } catch {
    throw new Error(`The default value of a ${type} field must be ${type === 'Array' ? 'a JSON array' : 'a JSON object'}.`);
  }
}

function defaultPlaceholder(type: string): string {
  switch (type) {
    case 'Number':
      return '0';
    case 'Pointer':
      return 'objectId';
    case 'GeoPoint':
      return 'latitude, longitude';
    case 'Array':
      return '["a", "b"]';
    case 'Bytes':
      return 'base64';
    case 'File':
      return '{"__type":"File","name":"…","url":"…"}';
    case 'Polygon':
      return '{"__type":"Polygon","coordinates":[[0,0],[0,1],[1,0]]}';
    case 'Object':
      return '{"key": "value"}';
    default:
      return 'none';
  }
}

interface FieldsProps {
  appId: string;
  schema: ClassSchema;
  classNames: string[];
  readOnly: boolean;
  save: (body: Record<string, unknown>) => Promise<void>;
}

function FieldsSection({ schema, classNames, readOnly, save }: FieldsProps) {
  const { showError, clear } = useAlert();
  const [name, setName] = useState('');
  const [type, setType] = useState<string>('String');
  const [target, setTarget] = useState('');
  const [required, setRequired] = useState(false);
  const [def, setDef] = useState('');
  const [busy, setBusy] = useState(false);
  const [toDelete, setToDelete] = useState<string | null>(null);
  const protectedNames = defaultFieldNames(schema.className);
  const names = Object.keys(schema.fields);
  const ordered = [...protectedNames.filter((n) => names.includes(n)), ...names.filter((n) => !protectedNames.includes(n))];
  const needsTarget = type === 'Pointer' || type === 'Relation';

  const add = async () => {
    const n = name.trim();
    if (!NAME_RE.test(n)) {
      showError('A field name starts with a letter and has only letters, digits and _.');
      return;
    }
    if (n in schema.fields) {
      showError(`The class already has a field named “${n}”.`);
      return;
    }
    if (needsTarget && !target) {
      showError(`Choose the class a ${type} field points to.`);
      return;
    }
    const field: Record<string, unknown> = { type };
    if (needsTarget) field.targetClass = target;
    if (required) field.required = true;
    try {
      const dv = type === 'Relation' ? undefined : parseDefault(type, def, target);
      if (dv !== undefined) field.defaultValue = dv;
    } catch (e) {
      showError(e);
      return;
    }
    setBusy(true);
    try {
      await save({ fields: { [n]: field } });
      clear();
      setName('');
      setDef('');
      setRequired(false);
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    if (!toDelete) return;
    setBusy(true);
    try {
      await save({ fields: { [toDelete]: { __op: 'Delete' } } });
      clear();
      setToDelete(null);
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  };

  const defaultInput = () => {
    const common = { id: 'schema-field-default', 'data-testid': 'field-default' };
    if (type === 'Relation') return <input {...common} disabled value="" placeholder="Relations have no default" />;
    if (type === 'Boolean')
      return (
        <select {...common} value={def} onChange={(e) => setDef(e.target.value)}>
          <option value="">none</option>
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      );
    if (type === 'Date') return <input {...common} type="datetime-local" step="1" value={def} onChange={(e) => setDef(e.target.value)} />;
    if (type === 'Number')
      return <input {...common} inputMode="decimal" value={def} onChange={(e) => setDef(e.target.value)} placeholder={defaultPlaceholder(type)} autoComplete="off" />;
    return <input {...common} value={def} onChange={(e) => setDef(e.target.value)} placeholder={defaultPlaceholder(type)} autoComplete="off" />;
  };

  return (
    <section className="schema-section" aria-labelledby="fields-title">
      <h2 id="fields-title">Fields</h2>
      <div className="schema-table-wrap">
        <table className="schema-table" data-testid="schema-fields">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Target class</th>
              <th scope="col">Required</th>
              <th scope="col">Default value</th>
              {!readOnly && <th scope="col"><span className="sr-only">Actions</span></th>}
            </tr>
          </thead>
          <tbody>
            {ordered.map((n) => {
              const f = schema.fields[n];
              return (
                <tr key={n} data-testid={`field-row-${n}`}>
                  <td>
                    <code>{n}</code>
                  </td>
                  <td>{f.type}</td>
                  <td>{f.targetClass ?? ''}</td>
                  <td>{f.required ? 'yes' : ''}</td>
                  <td className="schema-default">{formatDefault(f)}</td>
                  {!readOnly && (
                    <td>
                      {!protectedNames.includes(n) && (
                        <button
                          type="button"
                          className="btn small danger"
                          onClick={() => setToDelete(n)}
                          aria-label={`Delete field ${n}`}
                          data-testid={`field-delete-${n}`}
                        >
                          Delete
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {!readOnly && (
        <form
          className="schema-add-form"
          aria-label="Add a field"
          onSubmit={(e) => {
            e.preventDefault();
            void add();
          }}
        >
          <h3 className="schema-sub">Add a field</h3>
          <div className="schema-field-grid">
            <label>
              Name
              <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" data-testid="field-name-input" />
            </label>
            <label>
              Type
              <select
                value={type}
                onChange={(e) => {
                  setType(e.target.value);
                  setDef('');
                }}
                data-testid="field-type-select"
              >
                {FIELD_TYPES.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            </label>
            {needsTarget && (
              <label>
                Target class
                <select value={target} onChange={(e) => setTarget(e.target.value)} data-testid="field-target-select">
                  <option value="">Choose a class…</option>
                  {classNames.map((c) => (
                    <option key={c} value={c}>
                      {c}
                    </option>
                  ))}
                </select>
              </label>
            )}
            <label htmlFor="schema-field-default">
              Default value
              {defaultInput()}
            </label>
            <label className="check">
              <input type="checkbox" checked={required} onChange={(e) => setRequired(e.target.checked)} data-testid="field-required" />
              Required
            </label>
          </div>
          <div className="form-actions">
            <button type="submit" className="btn primary" disabled={busy} data-testid="field-add">
              Add field
            </button>
          </div>
        </form>
      )}
      {toDelete && (
        <Dialog title={`Delete the field ${toDelete}?`} onClose={() => setToDelete(null)} onConfirm={remove} confirmLabel="Delete field" danger busy={busy}>
          <p>The field and its values in every object of {schema.className} are deleted. This cannot be undone.</p>
        </Dialog>
      )}
    </section>
  );
}
