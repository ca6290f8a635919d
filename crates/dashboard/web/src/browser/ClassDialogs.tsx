import { useState } from 'react';
import { parse, type ClassSchema } from '../api';
import { useAlert } from '../context';
import { Dialog } from '../components/Dialog';
import { FIELD_TYPES, typeLabel } from './columns';
import { defaultFieldNames } from '../apiExtra';
import { convertValue } from './filters';

export type ClassDialogKind = 'deleteRows' | 'addColumn' | 'deleteColumn' | 'deleteClass';

interface Props {
  kind: ClassDialogKind;
  appId: string;
  schema: ClassSchema;
  schemas: ClassSchema[];
  selectedIds: () => string[];
  onClose: () => void;
  onRowsDeleted: () => void;
  onSchemaChanged: () => void;
  onClassDeleted: () => void;
}

const FIELD_NAME_RE = /^[A-Za-z][A-Za-z0-9_]*$/;
const NO_DEFAULT = new Set(['Relation', 'ACL', 'File', 'Bytes', 'GeoPoint', 'Polygon']);

interface BatchItem {
  success?: unknown;
  error?: { code?: number; error?: string };
}

export function ClassDialogs(props: Props) {
  const { kind, appId, schema, onClose } = props;
  const className = schema.className;
  const { showError, clear } = useAlert();
  const [busy, setBusy] = useState(false);
  const [ids] = useState(props.selectedIds);
  // Add column
  const [name, setName] = useState('');
  const [type, setType] = useState<string>('String');
  const [target, setTarget] = useState(props.schemas[0]?.className ?? '');
  const [required, setRequired] = useState(false);
  const [defaultValue, setDefaultValue] = useState('');
  // Delete column
  const builtIn = defaultFieldNames(schema.className);
  const deletable = Object.keys(schema.fields).filter((f) => !builtIn.includes(f));
  const [toDelete, setToDelete] = useState(deletable[0] ?? '');

  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    try {
      await fn();
      clear();
      onClose();
    } catch (e) {
      showError(e);
      setBusy(false);
    }
  };

  const schemaPath = `schemas/${encodeURIComponent(className)}`;

  if (kind === 'deleteRows') {
    const confirm = () =>
      run(async () => {
        const failures: string[] = [];
        for (let i = 0; i < ids.length; i += 50) {
          const chunk = ids.slice(i, i + 50);
          const r = await parse<BatchItem[]>(appId, 'POST', 'batch', {
            requests: chunk.map((id) => ({ method: 'DELETE', path: `/parse/classes/${className}/${id}` })),
          });
          if (Array.isArray(r)) r.forEach((item, j) => item?.error && failures.push(`${chunk[j]}: ${item.error.error ?? 'failed'}`));
        }
        props.onRowsDeleted();
        if (failures.length > 0) {
          throw new Error(
            `${failures.length} of ${ids.length} rows could not be deleted. ${failures.slice(0, 3).join('; ')}${failures.length > 3 ? '; …' : ''}`,
          );
        }
      });
    return (
      <Dialog
        title={`Delete ${ids.length} ${ids.length === 1 ? 'row' : 'rows'}?`}
        onClose={onClose}
        onConfirm={confirm}
        confirmLabel="Delete"
        danger
        busy={busy}
        confirmDisabled={ids.length === 0}
      >
        <p>
          The selected {ids.length === 1 ? 'row' : 'rows'} of {className} will be deleted. This cannot be undone.
        </p>
      </Dialog>
    );
  }

  if (kind === 'addColumn') {
    const needsTarget = type === 'Pointer' || type === 'Relation';
    const confirm = () =>
      run(async () => {
        if (!FIELD_NAME_RE.test(name)) throw new Error('A column name starts with a letter and has only letters, digits and _.');
        const field: Record<string, unknown> = { type };
        if (needsTarget) {
          if (!target) throw new Error('Choose the target class.');
          field.targetClass = target;
        }
        if (required) field.required = true;
        if (defaultValue.trim() !== '' && !NO_DEFAULT.has(type)) {
          field.defaultValue = convertValue(defaultValue, { type, targetClass: target });
        }
        await parse(appId, 'PUT', schemaPath, { className, fields: { [name]: field } });
        props.onSchemaChanged();
      });
    return (
      <Dialog title={`Add a column to ${className}`} onClose={onClose} onConfirm={confirm} confirmLabel="Add column" busy={busy}>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} data-testid="column-name-input" autoComplete="off" />
        </label>
        <label>
          Type
          <select value={type} onChange={(e) => setType(e.target.value)} data-testid="column-type-select">
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
            <select value={target} onChange={(e) => setTarget(e.target.value)} data-testid="column-target-select">
              {props.schemas.map((s) => (
                <option key={s.className} value={s.className}>
                  {s.className}
                </option>
              ))}
            </select>
          </label>
        )}
        {type !== 'Relation' && (
          <label className="check">
            <input type="checkbox" checked={required} onChange={(e) => setRequired(e.target.checked)} data-testid="column-required" />
            Required
          </label>
        )}
        {!NO_DEFAULT.has(type) && (
          <label>
            Default value (optional)
            {type === 'Boolean' ? (
              <select value={defaultValue} onChange={(e) => setDefaultValue(e.target.value)} data-testid="column-default">
                <option value="">none</option>
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : (
              <input
                value={defaultValue}
                onChange={(e) => setDefaultValue(e.target.value)}
                type={type === 'Date' ? 'datetime-local' : 'text'}
                placeholder={type === 'Object' || type === 'Array' ? 'JSON' : type === 'Pointer' ? 'objectId' : ''}
                data-testid="column-default"
              />
            )}
          </label>
        )}
      </Dialog>
    );
  }

  if (kind === 'deleteColumn') {
    const confirm = () =>
      run(async () => {
        await parse(appId, 'PUT', schemaPath, { className, fields: { [toDelete]: { __op: 'Delete' } } });
        props.onSchemaChanged();
      });
    return (
      <Dialog
        title={`Delete a column of ${className}`}
        onClose={onClose}
        onConfirm={confirm}
        confirmLabel="Delete column"
        danger
        busy={busy}
        confirmDisabled={!toDelete}
      >
        {deletable.length === 0 ? (
          <p>This class has no column that can be deleted.</p>
        ) : (
          <>
            <label>
              Column
              <select value={toDelete} onChange={(e) => setToDelete(e.target.value)} data-testid="delete-column-select">
                {deletable.map((f) => (
                  <option key={f} value={f}>
                    {f} ({typeLabel(schema.fields[f])})
                  </option>
                ))}
              </select>
            </label>
            <p>The column and its values in every row are deleted. This cannot be undone.</p>
          </>
        )}
      </Dialog>
    );
  }

  const confirm = () =>
    run(async () => {
      await parse(appId, 'DELETE', schemaPath);
      props.onClassDeleted();
    });
  return (
    <Dialog title={`Delete the class ${className}?`} onClose={onClose} onConfirm={confirm} confirmLabel="Delete class" danger busy={busy}>
      <p>Only an empty class can be deleted. Delete its rows first.</p>
    </Dialog>
  );
}
