import { useEffect, useState, type ReactNode } from 'react';
import type { ClassSchema } from '../api';
import { useAlert } from '../context';
import { InlineForm } from '../components/InlineForm';
import { JsonObjectEditor, useJsonText } from '../components/JsonObjectEditor';
import { Options } from '../components/Options';
import { SaveActions } from '../components/SaveActions';
import { useAction } from '../components/useAction';
import {
  CLP_OPS,
  entryKeys,
  entryLabel,
  hasPointer,
  hasUserField,
  isAllowed,
  normalizeClp,
  pointerKeys,
  protectedMap,
  removeEntry,
  removePointer,
  setAllowed,
  setPointer,
  setProtected,
  setUserField,
  validEntry,
  validProtectedEntry,
  type Clp,
  type UserFieldsKey,
} from './clp';

interface Props {
  schema: ClassSchema;
  readOnly: boolean;
  /** Sends a partial schema update ({classLevelPermissions}) and reloads. */
  save: (body: Record<string, unknown>) => Promise<void>;
}

const USER_FIELD_COLS: { key: UserFieldsKey; label: string }[] = [
  { key: 'readUserFields', label: 'readUserFields' },
  { key: 'writeUserFields', label: 'writeUserFields' },
];

export function ClpEditor({ schema, readOnly, save }: Props) {
  const { showError, clear } = useAlert();
  const [clp, setClp] = useState<Clp>(() => normalizeClp(schema.classLevelPermissions));
  const json = useJsonText(clp, 'The permissions');
  const [extraEntries, setExtraEntries] = useState<string[]>([]);
  const [extraPointers, setExtraPointers] = useState<string[]>([]);
  const [newEntry, setNewEntry] = useState('');
  const [newPointer, setNewPointer] = useState('');
  const [newProtected, setNewProtected] = useState('');
  const { busy, run } = useAction();
  const [saved, setSaved] = useState(false);

  // Reset to the stored permissions when they change (not on every schema reload, so
  // adding a field keeps unsaved edits here).
  const storedJson = JSON.stringify(schema.classLevelPermissions ?? null);
  const showJson = json.show;
  useEffect(() => {
    const c = normalizeClp(JSON.parse(storedJson));
    setClp(c);
    showJson(c);
  }, [storedJson, showJson]);

  const update = (next: Clp) => {
    setSaved(false);
    setClp(next);
    json.show(next);
  };

  const entries = entryKeys(clp, extraEntries);
  const pointers = pointerKeys(clp, extraPointers);
  const pointerCandidates = Object.entries(schema.fields)
    .filter(([name, f]) => (f.type === 'Pointer' && f.targetClass === '_User') || (f.type === 'Array' && name !== 'ACL'))
    .map(([name]) => name)
    .filter((n) => !pointers.includes(n));
  const fieldNames = Object.keys(schema.fields).filter((n) => !['objectId', 'createdAt', 'updatedAt', 'ACL'].includes(n));
  const prot = protectedMap(clp);
  const protEntries = ['*', ...Object.keys(prot).filter((k) => k !== '*').sort()];

  const addEntry = () => {
    const e = validEntry(newEntry);
    if (!e) {
      showError('Enter a role as role:Name, or a user’s objectId.');
      return;
    }
    clear();
    if (!entries.includes(e)) setExtraEntries([...extraEntries, e]);
    setNewEntry('');
  };

  const addPointer = () => {
    if (!newPointer) return;
    if (!pointers.includes(newPointer)) setExtraPointers([...extraPointers, newPointer]);
    setNewPointer('');
  };

  const addProtected = () => {
    const e = validProtectedEntry(newProtected);
    if (!e) {
      showError('Enter *, authenticated, role:Name, userField:fieldName or a user’s objectId.');
      return;
    }
    clear();
    if (!(e in prot)) update(setProtected(clp, e, []));
    setNewProtected('');
  };

  const submit = async () => {
    if (json.error) {
      showError('The raw JSON of the permissions is not valid: fix it before saving.');
      return;
    }
    if (!(await run(() => save({ classLevelPermissions: clp })))) return;
    setExtraEntries([]);
    setExtraPointers([]);
    setSaved(true);
  };

  return (
    <section className="schema-section" data-testid="clp-editor" aria-labelledby="clp-title">
      <h2 id="clp-title">Class-level permissions</h2>
      <p className="help">
        Who may do what on {schema.className} without the master key. A ticked box allows the operation; pointer fields
        allow it to the users the field points to.
      </p>
      <div className="schema-table-wrap">
        <table className="schema-table schema-clp">
          <thead>
            <tr>
              <th scope="col">Who</th>
              {CLP_OPS.map((op) => (
                <th scope="col" key={op}>
                  {op}
                </th>
              ))}
              {pointers.length > 0 && USER_FIELD_COLS.map((c) => <th scope="col" key={c.key}>{c.label}</th>)}
              {!readOnly && <th scope="col"><span className="sr-only">Remove</span></th>}
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => {
              const fixed = entry === '*' || entry === 'requiresAuthentication';
              return (
                <ClpRow
                  key={entry}
                  rowId={entry}
                  heading={
                    <>
                      {entryLabel(entry)}
                      {!fixed && <code className="schema-clp-id">{entry}</code>}
                    </>
                  }
                  boxes={[
                    ...CLP_OPS.map((op) => ({
                      column: op,
                      label: `${entryLabel(entry)}: ${op}`,
                      checked: isAllowed(clp, op, entry),
                      onChange: (on: boolean) => update(setAllowed(clp, op, entry, on)),
                    })),
                    // Only pointer fields have user fields: blank cells under those columns.
                    ...(pointers.length > 0 ? USER_FIELD_COLS.map(() => null) : []),
                  ]}
                  readOnly={readOnly}
                  removeLabel={`Remove ${entryLabel(entry)}`}
                  onRemove={
                    fixed
                      ? undefined
                      : () => {
                          setExtraEntries(extraEntries.filter((x) => x !== entry));
                          update(removeEntry(clp, entry));
                        }
                  }
                />
              );
            })}
            {pointers.map((field) => (
              <ClpRow
                key={`pointer:${field}`}
                rowId={`pointer:${field}`}
                heading={
                  <>
                    Pointer field <code>{field}</code>
                  </>
                }
                boxes={[
                  ...CLP_OPS.map((op) => ({
                    column: op,
                    label: `Users in ${field}: ${op}`,
                    checked: hasPointer(clp, op, field),
                    onChange: (on: boolean) => update(setPointer(clp, op, field, on)),
                  })),
                  ...USER_FIELD_COLS.map((c) => ({
                    column: c.key,
                    label: `Users in ${field}: ${c.label}`,
                    checked: hasUserField(clp, c.key, field),
                    onChange: (on: boolean) => update(setUserField(clp, c.key, field, on)),
                  })),
                ]}
                readOnly={readOnly}
                removeLabel={`Remove pointer field ${field}`}
                onRemove={() => {
                  setExtraPointers(extraPointers.filter((x) => x !== field));
                  update(removePointer(clp, field));
                }}
              />
            ))}
          </tbody>
        </table>
      </div>
      {!readOnly && (
        <div className="schema-inline-forms">
          <InlineForm label="Add a role or user" onSubmit={addEntry} submitLabel="Add" submitTestId="clp-add-entry">
            <input
              value={newEntry}
              onChange={(e) => setNewEntry(e.target.value)}
              placeholder="role:Admin or a user objectId"
              autoComplete="off"
              data-testid="clp-add-entry-input"
            />
          </InlineForm>
          {pointerCandidates.length > 0 && (
            <InlineForm label="Add a pointer field" onSubmit={addPointer} submitLabel="Add" submitTestId="clp-add-pointer" submitDisabled={!newPointer}>
              <select value={newPointer} onChange={(e) => setNewPointer(e.target.value)} data-testid="clp-add-pointer-select">
                <option value="">Choose a field…</option>
                <Options values={pointerCandidates} />
              </select>
            </InlineForm>
          )}
        </div>
      )}

      <h3 className="schema-sub">Protected fields</h3>
      <p className="help">Fields hidden from these users in query results (the master key sees everything).</p>
      <div className="schema-protected">
        {protEntries.map((entry) => (
          <div key={entry} className="schema-protected-row">
            <label>
              {entryLabel(entry)} {entry !== '*' && <code>{entry}</code>}
              <select
                multiple
                value={prot[entry] ?? []}
                disabled={readOnly}
                size={Math.min(6, Math.max(2, fieldNames.length))}
                onChange={(e) =>
                  update(
                    setProtected(
                      clp,
                      entry,
                      Array.from(e.target.selectedOptions).map((o) => o.value),
                    ),
                  )
                }
                data-testid={`protected-fields-${entry}`}
              >
                <Options values={fieldNames} />
              </select>
            </label>
            {!readOnly && entry !== '*' && (
              <button
                type="button"
                className="btn small"
                onClick={() => update(setProtected(clp, entry, null))}
                aria-label={`Remove protected fields of ${entryLabel(entry)}`}
                data-testid={`protected-remove-${entry}`}
              >
                Remove
              </button>
            )}
          </div>
        ))}
      </div>
      {!readOnly && (
        <InlineForm label="Protect fields from" onSubmit={addProtected} submitLabel="Add" submitTestId="protected-add">
          <input
            value={newProtected}
            onChange={(e) => setNewProtected(e.target.value)}
            placeholder="authenticated, role:Name, userField:owner"
            autoComplete="off"
            data-testid="protected-add-input"
          />
        </InlineForm>
      )}

      <JsonObjectEditor
        json={json}
        summary="Raw JSON"
        help="The whole permissions object, kept in step with the grid. Save sends it as it is."
        id={`clp-json-${schema.className}`}
        className="schema-json"
        rows={14}
        readOnly={readOnly}
        testId="clp-json"
        onEdit={(value) => {
          setSaved(false);
          if (value) setClp(value);
        }}
      />
      {!readOnly && <SaveActions busy={busy} saved={saved} label="Save permissions" testId="clp-save" onSave={() => void submit()} />}
    </section>
  );
}

interface ClpBox {
  /** The operation or user-field column, in the box's test id. */
  column: string;
  label: string;
  checked: boolean;
  onChange: (on: boolean) => void;
}

interface ClpRowProps {
  /** The entry (`*`, `role:Name`, a user id…) or `pointer:<field>`, in the test ids. */
  rowId: string;
  heading: ReactNode;
  /** A checkbox per column; null for a blank cell. */
  boxes: (ClpBox | null)[];
  readOnly: boolean;
  /** Absent for the rows that are always there (public, authenticated). */
  onRemove?: () => void;
  removeLabel: string;
}

/** One row of the permissions grid: who, a checkbox per column, and its Remove button. */
function ClpRow({ rowId, heading, boxes, readOnly, onRemove, removeLabel }: ClpRowProps) {
  return (
    <tr data-testid={`clp-row-${rowId}`}>
      <th scope="row">{heading}</th>
      {boxes.map((box, i) =>
        box ? (
          <td className="schema-clp-cell" key={box.column}>
            <input
              type="checkbox"
              checked={box.checked}
              disabled={readOnly}
              onChange={(e) => box.onChange(e.target.checked)}
              aria-label={box.label}
              data-testid={`clp-cell-${rowId}-${box.column}`}
            />
          </td>
        ) : (
          <td key={`blank-${i}`} />
        ),
      )}
      {!readOnly && (
        <td>
          {onRemove && (
            <button type="button" className="btn small" onClick={onRemove} aria-label={removeLabel} data-testid={`clp-remove-${rowId}`}>
              Remove
            </button>
          )}
        </td>
      )}
    </tr>
  );
}
