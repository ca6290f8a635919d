import { useEffect, useState } from 'react';
import type { ClassSchema } from '../api';
import { useAlert } from '../context';
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
import { isObj } from '../apiExtra';

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
  const [json, setJson] = useState(() => JSON.stringify(normalizeClp(schema.classLevelPermissions), null, 2));
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [extraEntries, setExtraEntries] = useState<string[]>([]);
  const [extraPointers, setExtraPointers] = useState<string[]>([]);
  const [newEntry, setNewEntry] = useState('');
  const [newPointer, setNewPointer] = useState('');
  const [newProtected, setNewProtected] = useState('');
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  // Reset to the stored permissions when they change (not on every schema reload, so
  // adding a field keeps unsaved edits here).
  const storedJson = JSON.stringify(schema.classLevelPermissions ?? null);
  useEffect(() => {
    const c = normalizeClp(JSON.parse(storedJson));
    setClp(c);
    setJson(JSON.stringify(c, null, 2));
    setJsonError(null);
  }, [storedJson]);

  const update = (next: Clp) => {
    setSaved(false);
    setClp(next);
    setJson(JSON.stringify(next, null, 2));
    setJsonError(null);
  };

  const onJson = (text: string) => {
    setSaved(false);
    setJson(text);
    try {
      const v = JSON.parse(text) as unknown;
      if (!isObj(v)) {
        setJsonError('The permissions must be a JSON object.');
        return;
      }
      setJsonError(null);
      setClp(v);
    } catch (e) {
      setJsonError(`Invalid JSON: ${(e as Error).message}`);
    }
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
    if (jsonError) {
      showError('The raw JSON of the permissions is not valid: fix it before saving.');
      return;
    }
    setBusy(true);
    try {
      await save({ classLevelPermissions: clp });
      clear();
      setExtraEntries([]);
      setExtraPointers([]);
      setSaved(true);
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  };

  const cell = (id: string, label: string, checked: boolean, onChange: (on: boolean) => void) => (
    <td className="schema-clp-cell" key={id}>
      <input
        type="checkbox"
        checked={checked}
        disabled={readOnly}
        onChange={(e) => onChange(e.target.checked)}
        aria-label={label}
        data-testid={id}
      />
    </td>
  );

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
            {entries.map((entry) => (
              <tr key={entry} data-testid={`clp-row-${entry}`}>
                <th scope="row">
                  {entryLabel(entry)}
                  {entry !== '*' && entry !== 'requiresAuthentication' && <code className="schema-clp-id">{entry}</code>}
                </th>
                {CLP_OPS.map((op) =>
                  cell(`clp-cell-${entry}-${op}`, `${entryLabel(entry)}: ${op}`, isAllowed(clp, op, entry), (on) =>
                      update(setAllowed(clp, op, entry, on)),
                    ),
                )}
                {pointers.length > 0 && USER_FIELD_COLS.map((c) => <td key={c.key} />)}
                {!readOnly && (
                  <td>
                    {entry !== '*' && entry !== 'requiresAuthentication' && (
                      <button
                        type="button"
                        className="btn small"
                        onClick={() => {
                          setExtraEntries(extraEntries.filter((x) => x !== entry));
                          update(removeEntry(clp, entry));
                        }}
                        aria-label={`Remove ${entryLabel(entry)}`}
                        data-testid={`clp-remove-${entry}`}
                      >
                        Remove
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
            {pointers.map((field) => {
              const id = `pointer:${field}`;
              return (
                <tr key={id} data-testid={`clp-row-${id}`}>
                  <th scope="row">
                    Pointer field <code>{field}</code>
                  </th>
                  {CLP_OPS.map((op) =>
                    cell(`clp-cell-${id}-${op}`, `Users in ${field}: ${op}`, hasPointer(clp, op, field), (on) =>
                        update(setPointer(clp, op, field, on)),
                      ),
                  )}
                  {USER_FIELD_COLS.map((c) =>
                    cell(`clp-cell-${id}-${c.key}`, `Users in ${field}: ${c.label}`, hasUserField(clp, c.key, field), (on) =>
                        update(setUserField(clp, c.key, field, on)),
                      ),
                  )}
                  {!readOnly && (
                    <td>
                      <button
                        type="button"
                        className="btn small"
                        onClick={() => {
                          setExtraPointers(extraPointers.filter((x) => x !== field));
                          update(removePointer(clp, field));
                        }}
                        aria-label={`Remove pointer field ${field}`}
                        data-testid={`clp-remove-${id}`}
                      >
                        Remove
                      </button>
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {!readOnly && (
        <div className="schema-inline-forms">
          <form
            className="schema-inline"
            onSubmit={(e) => {
              e.preventDefault();
              addEntry();
            }}
          >
            <label>
              Add a role or user
              <input
                value={newEntry}
                onChange={(e) => setNewEntry(e.target.value)}
                placeholder="role:Admin or a user objectId"
                autoComplete="off"
                data-testid="clp-add-entry-input"
              />
            </label>
            <button type="submit" className="btn" data-testid="clp-add-entry">
              Add
            </button>
          </form>
          {pointerCandidates.length > 0 && (
            <form
              className="schema-inline"
              onSubmit={(e) => {
                e.preventDefault();
                addPointer();
              }}
            >
              <label>
                Add a pointer field
                <select value={newPointer} onChange={(e) => setNewPointer(e.target.value)} data-testid="clp-add-pointer-select">
                  <option value="">Choose a field…</option>
                  {pointerCandidates.map((n) => (
                    <option key={n} value={n}>
                      {n}
                    </option>
                  ))}
                </select>
              </label>
              <button type="submit" className="btn" disabled={!newPointer} data-testid="clp-add-pointer">
                Add
              </button>
            </form>
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
                {fieldNames.map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
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
        <form
          className="schema-inline"
          onSubmit={(e) => {
            e.preventDefault();
            addProtected();
          }}
        >
          <label>
            Protect fields from
            <input
              value={newProtected}
              onChange={(e) => setNewProtected(e.target.value)}
              placeholder="authenticated, role:Name, userField:owner"
              autoComplete="off"
              data-testid="protected-add-input"
            />
          </label>
          <button type="submit" className="btn" data-testid="protected-add">
            Add
          </button>
        </form>
      )}

      <details className="schema-json">
        <summary>Raw JSON</summary>
        <label htmlFor={`clp-json-${schema.className}`} className="help">
          The whole permissions object, kept in step with the grid. Save sends it as it is.
        </label>
        <textarea
          id={`clp-json-${schema.className}`}
          value={json}
          onChange={(e) => onJson(e.target.value)}
          readOnly={readOnly}
          rows={14}
          spellCheck={false}
          data-testid="clp-json"
        />
        {jsonError && <p className="field-error">{jsonError}</p>}
      </details>
      {!readOnly && (
        <div className="form-actions">
          <button type="button" className="btn primary" onClick={submit} disabled={busy} data-testid="clp-save">
            {busy ? 'Saving…' : 'Save permissions'}
          </button>
          {saved && (
            <span className="saved" role="status">
              Saved.
            </span>
          )}
        </div>
      )}
    </section>
  );
}
