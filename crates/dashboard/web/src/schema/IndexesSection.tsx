import { useState } from 'react';
import type { ClassSchema } from '../api';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { DataTable, DeleteButton } from '../components/DataTable';
import { Options } from '../components/Options';
import { useAction } from '../components/useAction';
import { isObj } from '../json';

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
  const { busy, run } = useAction();
  const indexes = isObj(schema.indexes) ? schema.indexes : {};
  const fieldNames = Object.entries(schema.fields)
    .filter(([, f]) => f.type !== 'Relation')
    .map(([n]) => n);
  const [name, setName] = useState('');
  const [keys, setKeys] = useState<KeyRow[]>([{ field: '', dir: 1 }]);
  const [toDelete, setToDelete] = useState<string | null>(null);

  const setKey = (i: number, patch: Partial<KeyRow>) => setKeys(keys.map((k, j) => (i === j ? { ...k, ...patch } : k)));

  /** The index the form describes. Throws, in words, on what is missing or wrong. */
  const newIndex = (n: string): Record<string, number> => {
    if (!INDEX_NAME_RE.test(n)) throw new Error('An index needs a name: letters, digits, _ . and - only.');
    if (n in indexes) throw new Error(`There is already an index named “${n}”.`);
    const chosen = keys.filter((k) => k.field);
    if (chosen.length === 0) throw new Error('Choose at least one field for the index.');
    return Object.fromEntries(chosen.map((k) => [k.field, k.dir]));
  };

  const add = async () => {
    const n = name.trim();
    const added = await run(() => save({ indexes: { [n]: newIndex(n) } }));
    if (!added) return;
    setName('');
    setKeys([{ field: '', dir: 1 }]);
  };

  const names = Object.keys(indexes).sort((a, b) => (a === '_id_' ? -1 : b === '_id_' ? 1 : a.localeCompare(b)));

  return (
    <section className="schema-section" aria-labelledby="indexes-title" data-testid="indexes">
      <h2 id="indexes-title">Indexes</h2>
      {names.length === 0 ? (
        <p className="muted">No indexes are listed for this class.</p>
      ) : (
        <DataTable columns={['Name', 'Fields']} withActions={!readOnly}>
          {names.map((n) => (
            <tr key={n} data-testid={`index-row-${n}`}>
              <td>
                <code>{n}</code>
              </td>
              <td>{describeKeys(indexes[n])}</td>
              {!readOnly && (
                <td>{n !== '_id_' && <DeleteButton label={`Delete index ${n}`} testId={`index-delete-${n}`} onClick={() => setToDelete(n)} />}</td>
              )}
            </tr>
          ))}
        </DataTable>
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
                    <Options values={fieldNames} />
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
        <ConfirmDialog
          title={`Delete the index ${toDelete}?`}
          onClose={() => setToDelete(null)}
          action={() => save({ indexes: { [toDelete]: { __op: 'Delete' } } })}
          confirmLabel="Delete index"
        >
          <p>Queries that use it may become slower.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
