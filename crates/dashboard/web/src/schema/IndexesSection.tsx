import { useState } from 'react';
import type { ClassSchema } from '../api';
import { useAlert } from '../context';
import { Dialog } from '../components/Dialog';
import { isObj } from '../apiExtra';

interface Props {
  schema: ClassSchema;
  readOnly: boolean;
  save: (body: Record<string, unknown>) => Promise<void>;
}

interface KeyRow {
  field: string;
  dir: 1 | -1;
}

const INDEX_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function describeKeys(keys: unknown): string {
  if (!isObj(keys)) return JSON.stringify(keys);
  return Object.entries(keys)
    .map(([f, d]) => `${f} ${d === -1 ? '↓ (-1)' : d === 1 ? '↑ (1)' : JSON.stringify(d)}`)
    .join(', ');
}

export function IndexesSection({ schema, readOnly, save }: Props) {
  const { showError, clear } = useAlert();
  const indexes = isObj(schema.indexes) ? schema.indexes : {};
  const fieldNames = Object.entries(schema.fields)
    .filter(([, f]) => f.type !== 'Relation')
    .map(([n]) => n);
  const [name, setName] = useState('');
  const [keys, setKeys] = useState<KeyRow[]>([{ field: '', dir: 1 }]);
  const [busy, setBusy] = useState(false);
  const [toDelete, setToDelete] = useState<string | null>(null);

  const setKey = (i: number, patch: Partial<KeyRow>) => setKeys(keys.map((k, j) => (i === j ? { ...k, ...patch } : k)));

  const add = async () => {
    const n = name.trim();
    if (!INDEX_NAME_RE.test(n)) {
      showError('An index needs a name: letters, digits, _ . and - only.');
      return;
    }
    if (n in indexes) {
      showError(`There is already an index named “${n}”.`);
      return;
    }
    const chosen = keys.filter((k) => k.field);
    if (chosen.length === 0) {
      showError('Choose at least one field for the index.');
      return;
    }
    const spec: Record<string, number> = {};
    for (const k of chosen) spec[k.field] = k.dir;
    setBusy(true);
    try {
      await save({ indexes: { [n]: spec } });
      clear();
      setName('');
      setKeys([{ field: '', dir: 1 }]);
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
      await save({ indexes: { [toDelete]: { __op: 'Delete' } } });
      clear();
      setToDelete(null);
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  };

  const names = Object.keys(indexes).sort((a, b) => (a === '_id_' ? -1 : b === '_id_' ? 1 : a.localeCompare(b)));

  return (
    <section className="schema-section" aria-labelledby="indexes-title" data-testid="indexes">
      <h2 id="indexes-title">Indexes</h2>
      {names.length === 0 ? (
        <p className="muted">No indexes are listed for this class.</p>
      ) : (
        <div className="schema-table-wrap">
          <table className="schema-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Fields</th>
                {!readOnly && <th scope="col"><span className="sr-only">Actions</span></th>}
              </tr>
            </thead>
            <tbody>
              {names.map((n) => (
                <tr key={n} data-testid={`index-row-${n}`}>
                  <td>
                    <code>{n}</code>
                  </td>
                  <td>{describeKeys(indexes[n])}</td>
                  {!readOnly && (
                    <td>
                      {n !== '_id_' && (
                        <button
                          type="button"
                          className="btn small danger"
                          onClick={() => setToDelete(n)}
                          aria-label={`Delete index ${n}`}
                          data-testid={`index-delete-${n}`}
                        >
                          Delete
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {!readOnly && (
        <form
          className="schema-add-form"
          onSubmit={(e) => {
            e.preventDefault();
            void add();
          }}
          aria-label="Add an index"
        >
          <h3 className="schema-sub">Add an index</h3>
          <label>
            Index name
            <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" placeholder="score_1" data-testid="index-name-input" />
          </label>
          {keys.map((k, i) => {
            const sfx = i === 0 ? '' : `-${i}`;
            return (
              <div className="schema-index-key" key={i}>
                <label>
                  {i === 0 ? 'Field' : `Field ${i + 1}`}
                  <select value={k.field} onChange={(e) => setKey(i, { field: e.target.value })} data-testid={`index-field-select${sfx}`}>
                    <option value="">Choose a field…</option>
                    {fieldNames.map((f) => (
                      <option key={f} value={f}>
                        {f}
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  Order
                  <select
                    value={String(k.dir)}
                    onChange={(e) => setKey(i, { dir: e.target.value === '-1' ? -1 : 1 })}
                    data-testid={`index-direction-select${sfx}`}
                  >
                    <option value="1">ascending (1)</option>
                    <option value="-1">descending (-1)</option>
                  </select>
                </label>
                {i > 0 && (
                  <button type="button" className="btn small" onClick={() => setKeys(keys.filter((_, j) => j !== i))} aria-label={`Remove field ${i + 1}`}>
                    Remove
                  </button>
                )}
              </div>
            );
          })}
          <div className="form-actions">
            <button type="button" className="btn" onClick={() => setKeys([...keys, { field: '', dir: 1 }])} data-testid="index-add-key">
              Add another field
            </button>
            <button type="submit" className="btn primary" disabled={busy} data-testid="index-add">
              Add index
            </button>
          </div>
        </form>
      )}
      {toDelete && (
        <Dialog title={`Delete the index ${toDelete}?`} onClose={() => setToDelete(null)} onConfirm={remove} confirmLabel="Delete index" danger busy={busy}>
          <p>Queries that use it may become slower.</p>
        </Dialog>
      )}
    </section>
  );
}
