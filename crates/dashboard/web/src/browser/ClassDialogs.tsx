import { useState } from 'react';
import { parse, type ClassSchema } from '../api';
import { NAME_RE } from '../components/ClassPicker';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Dialog } from '../components/Dialog';
import { Options } from '../components/Options';
import { useAction } from '../components/useAction';
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

const NO_DEFAULT = new Set(['Relation', 'ACL', 'File', 'Bytes', 'GeoPoint', 'Polygon']);

interface BatchItem {
  success?: unknown;
  error?: { code?: number; error?: string };
}

export function ClassDialogs(props: Props) {
  const { kind, appId, schema, onClose } = props;
  const className = schema.className;
  const [ids] = useState(props.selectedIds);
  // Delete column
  const builtIn = defaultFieldNames(schema.className);
  const deletable = Object.keys(schema.fields).filter((f) => !builtIn.includes(f));
  const [toDelete, setToDelete] = useState(deletable[0] ?? '');

  const schemaPath = `schemas/${encodeURIComponent(className)}`;

  if (kind === 'deleteRows') {
    const deleteRows = async () => {
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
    };
    return (
      <ConfirmDialog
        title={`Delete ${ids.length} ${ids.length === 1 ? 'row' : 'rows'}?`}
        onClose={onClose}
        action={deleteRows}
        confirmLabel="Delete"
        confirmDisabled={ids.length === 0}
      >
        <p>
          The selected {ids.length === 1 ? 'row' : 'rows'} of {className} will be deleted. This cannot be undone.
        </p>
      </ConfirmDialog>
    );
  }

  if (kind === 'addColumn') return <AddColumnDialog {...props} />;

  if (kind === 'deleteColumn') {
    const deleteColumn = async () => {
      await parse(appId, 'PUT', schemaPath, { className, fields: { [toDelete]: { __op: 'Delete' } } });
      props.onSchemaChanged();
    };
    return (
      <ConfirmDialog
        title={`Delete a column of ${className}`}
        onClose={onClose}
        action={deleteColumn}
        confirmLabel="Delete column"
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
      </ConfirmDialog>
    );
  }

  const deleteClass = async () => {
    await parse(appId, 'DELETE', schemaPath);
    props.onClassDeleted();
  };
  return (
    <ConfirmDialog title={`Delete the class ${className}?`} onClose={onClose} action={deleteClass} confirmLabel="Delete class">
      <p>Only an empty class can be deleted. Delete its rows first.</p>
    </ConfirmDialog>
  );
}

/** Stays open on a refusal, so that the column's name or default value can be corrected. */
function AddColumnDialog({ appId, schema, schemas, onClose, onSchemaChanged }: Props) {
  const className = schema.className;
  const { busy, run } = useAction();
  const [name, setName] = useState('');
  const [type, setType] = useState<string>('String');
  const [target, setTarget] = useState(schemas[0]?.className ?? '');
  const [required, setRequired] = useState(false);
  const [defaultValue, setDefaultValue] = useState('');
  const needsTarget = type === 'Pointer' || type === 'Relation';

  const addColumn = async () => {
    const added = await run(async () => {
      if (!NAME_RE.test(name)) throw new Error('A column name starts with a letter and has only letters, digits and _.');
      const field: Record<string, unknown> = { type };
      if (needsTarget) {
        if (!target) throw new Error('Choose the target class.');
        field.targetClass = target;
      }
      if (required) field.required = true;
      if (defaultValue.trim() !== '' && !NO_DEFAULT.has(type)) {
        field.defaultValue = convertValue(defaultValue, { type, targetClass: target });
      }
      await parse(appId, 'PUT', `schemas/${encodeURIComponent(className)}`, { className, fields: { [name]: field } });
      onSchemaChanged();
    });
    if (added) onClose();
  };

  return (
    <Dialog title={`Add a column to ${className}`} onClose={onClose} onConfirm={() => void addColumn()} confirmLabel="Add column" busy={busy}>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} data-testid="column-name-input" autoComplete="off" />
      </label>
      <label>
        Type
        <select value={type} onChange={(e) => setType(e.target.value)} data-testid="column-type-select">
          <Options values={FIELD_TYPES} />
        </select>
      </label>
      {needsTarget && (
        <label>
          Target class
          <select value={target} onChange={(e) => setTarget(e.target.value)} data-testid="column-target-select">
            <Options values={schemas.map((s) => s.className)} />
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
