import { useCallback, useEffect, useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { parse, type ClassSchema, type FieldSchema } from '../api';
import { useSession } from '../context';
import { AddForm } from '../components/AddForm';
import { ClassPicker, NAME_RE } from '../components/ClassPicker';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { DataTable, DeleteButton } from '../components/DataTable';
import { Options } from '../components/Options';
import { useAction } from '../components/useAction';
import { useClassSchemas } from '../components/useClassSchemas';
import { SYSTEM_CLASSES, appBase, defaultFieldNames } from '../apiExtra';
import { isObj } from '../json';
import { DATE_INPUT_STEP, dateIso, formatLocalDateTime } from '../dates';
import { FIELD_TYPES } from '../browser/columns';
import { ClpEditor } from './ClpEditor';
import { IndexesSection } from './IndexesSection';

export function schemaPath(appId: string, className?: string): string {
  return `${appBase(appId)}/schema${className ? `/${encodeURIComponent(className)}` : ''}`;
}

export function SchemaPage() {
  const { appId = '', className } = useParams();
  const navigate = useNavigate();
  const { session } = useSession();
  const readOnly = session.readOnly;
  const { schemas, stored, reload } = useClassSchemas(appId);
  const [deleting, setDeleting] = useState(false);

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
      await reload();
    },
    [appId, className, stored, reload],
  );

  const deleteClass = async () => {
    if (!className) return;
    await parse(appId, 'DELETE', `schemas/${encodeURIComponent(className)}`);
    await reload();
    navigate(schemaPath(appId), { replace: true });
  };

  const classNames = [...new Set([...(schemas ?? []).map((s) => s.className), ...SYSTEM_CLASSES])].sort();

  return (
    <div className="pg-split">
      <aside className="pg-side" aria-label="Classes">
        <ClassPicker
          appId={appId}
          schemas={schemas}
          current={className}
          pathOf={(name) => schemaPath(appId, name)}
          testIdPrefix="schema-"
          onCreated={
            readOnly
              ? undefined
              : async (name) => {
                  await reload();
                  navigate(schemaPath(appId, name));
                }
          }
        />
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
      {deleting && className && (
        <ConfirmDialog title={`Delete the class ${className}?`} onClose={() => setDeleting(false)} action={deleteClass} confirmLabel="Delete class">
          <p>Only an empty class can be deleted: the server refuses otherwise. Its schema, permissions and indexes are removed.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

// ---------- fields ----------

function formatDefault(f: FieldSchema): string {
  const v = f.defaultValue;
  if (v === undefined || v === null) return '';
  if (isObj(v)) {
    if (v.__type === 'Date') return formatLocalDateTime(dateIso(v));
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
  const { busy, run } = useAction();
  const [name, setName] = useState('');
  const [type, setType] = useState<string>('String');
  const [target, setTarget] = useState('');
  const [required, setRequired] = useState(false);
  const [def, setDef] = useState('');
  const [toDelete, setToDelete] = useState<string | null>(null);
  const protectedNames = defaultFieldNames(schema.className);
  const names = Object.keys(schema.fields);
  const ordered = [...protectedNames.filter((n) => names.includes(n)), ...names.filter((n) => !protectedNames.includes(n))];
  const needsTarget = type === 'Pointer' || type === 'Relation';

  /** The field the form describes. Throws, in words, on what is missing or wrong. */
  const newField = (n: string): Record<string, unknown> => {
    if (!NAME_RE.test(n)) throw new Error('A field name starts with a letter and has only letters, digits and _.');
    if (n in schema.fields) throw new Error(`The class already has a field named “${n}”.`);
    if (needsTarget && !target) throw new Error(`Choose the class a ${type} field points to.`);
    const field: Record<string, unknown> = { type };
    if (needsTarget) field.targetClass = target;
    if (required) field.required = true;
    const dv = type === 'Relation' ? undefined : parseDefault(type, def, target);
    if (dv !== undefined) field.defaultValue = dv;
    return field;
  };

  const add = async () => {
    const n = name.trim();
    const added = await run(() => save({ fields: { [n]: newField(n) } }));
    if (!added) return;
    setName('');
    setDef('');
    setRequired(false);
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
    if (type === 'Date') return <input {...common} type="datetime-local" step={DATE_INPUT_STEP} value={def} onChange={(e) => setDef(e.target.value)} />;
    if (type === 'Number')
      return <input {...common} inputMode="decimal" value={def} onChange={(e) => setDef(e.target.value)} placeholder={defaultPlaceholder(type)} autoComplete="off" />;
    return <input {...common} value={def} onChange={(e) => setDef(e.target.value)} placeholder={defaultPlaceholder(type)} autoComplete="off" />;
  };

  return (
    <section className="schema-section" aria-labelledby="fields-title">
      <h2 id="fields-title">Fields</h2>
      <DataTable columns={['Name', 'Type', 'Target class', 'Required', 'Default value']} withActions={!readOnly} testId="schema-fields">
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
              <td className="schema-default" title={f.type === 'Date' ? dateIso(f.defaultValue) : undefined}>
                {formatDefault(f)}
              </td>
              {!readOnly && (
                <td>
                  {!protectedNames.includes(n) && (
                    <DeleteButton label={`Delete field ${n}`} testId={`field-delete-${n}`} onClick={() => setToDelete(n)} />
                  )}
                </td>
              )}
            </tr>
          );
        })}
      </DataTable>
      {!readOnly && (
        <AddForm title="Add a field" onSubmit={() => void add()} submitLabel="Add field" submitTestId="field-add" busy={busy}>
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
              <Options values={FIELD_TYPES} />
            </select>
          </label>
          {needsTarget && (
            <label>
              Target class
              <select value={target} onChange={(e) => setTarget(e.target.value)} data-testid="field-target-select">
                <option value="">Choose a class…</option>
                <Options values={classNames} />
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
        </AddForm>
      )}
      {toDelete && (
        <ConfirmDialog
          title={`Delete the field ${toDelete}?`}
          onClose={() => setToDelete(null)}
          action={() => save({ fields: { [toDelete]: { __op: 'Delete' } } })}
          confirmLabel="Delete field"
        >
          <p>The field and its values in every object of {schema.className} are deleted. This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
