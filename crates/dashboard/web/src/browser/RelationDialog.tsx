import { useCallback, useEffect, useRef, useState } from 'react';
import { parse, type ClassSchema } from '../api';
import { useAlert } from '../context';
import { DataTable } from '../components/DataTable';
import { Dialog } from '../components/Dialog';
import { useAction } from '../components/useAction';
import { DEFAULT_FIELDS } from './columns';

/** The object whose Relation field is edited, and that field. */
export interface RelationOwner {
  className: string;
  objectId: string;
  key: string;
}

interface Props {
  appId: string;
  owner: RelationOwner;
  targetClass: string;
  /** The target class's schema, for a column naming each related object. */
  targetSchema?: ClassSchema;
  onClose: () => void;
  /** After each change to the relation (the grid refreshes its rows). */
  onChanged: () => void;
}

/** How many related objects the dialog lists (the relation's view shows them all). */
const LISTED = 100;
const OBJECT_ID_RE = /^[A-Za-z0-9_-]+$/;

type Related = Record<string, unknown> & { objectId: string };

/** The target's field that best names an object: a usual one, else its first String field. */
function labelField(schema: ClassSchema | undefined): string | undefined {
  if (!schema) return undefined;
  const strings = Object.keys(schema.fields).filter((n) => schema.fields[n].type === 'String' && !DEFAULT_FIELDS.includes(n));
  return ['name', 'title', 'username', 'label'].find((n) => strings.includes(n)) ?? strings[0];
}

/**
 * A Relation field of one object: its related objects listed (each with a Remove button), and
 * one added by its objectId, once it is known to exist in the target class. Each change is a
 * `PUT` of `AddRelation` / `RemoveRelation`; errors are shown in the page's alert.
 */
export function RelationDialog({ appId, owner, targetClass, targetSchema, onClose, onChanged }: Props) {
  const { showError } = useAlert();
  const { busy, run } = useAction();
  const [related, setRelated] = useState<Related[] | null>(null);
  const [total, setTotal] = useState(0);
  const [text, setText] = useState('');
  const inputRef = useRef<HTMLInputElement>(null);
  const label = labelField(targetSchema);
  const ownerPath = `classes/${encodeURIComponent(owner.className)}/${encodeURIComponent(owner.objectId)}`;
  const targetPath = `classes/${encodeURIComponent(targetClass)}`;

  const load = useCallback(async () => {
    const where = {
      $relatedTo: { object: { __type: 'Pointer', className: owner.className, objectId: owner.objectId }, key: owner.key },
    };
    const q = new URLSearchParams({ where: JSON.stringify(where), limit: String(LISTED), count: '1', order: '-createdAt' });
    const r = await parse<{ results?: Related[]; count?: number }>(appId, 'GET', `${targetPath}?${q}`);
    setRelated(r.results ?? []);
    setTotal(r.count ?? r.results?.length ?? 0);
  }, [appId, owner.className, owner.objectId, owner.key, targetPath]);

  useEffect(() => {
    load().catch(showError);
  }, [load, showError]);

  const change = (op: 'AddRelation' | 'RemoveRelation', objectId: string) =>
    parse(appId, 'PUT', ownerPath, {
      [owner.key]: { __op: op, objects: [{ __type: 'Pointer', className: targetClass, objectId }] },
    });

  const add = async () => {
    const id = text.trim();
    const added = await run(async () => {
      if (!id) throw new Error(`Type the objectId of a ${targetClass} to add.`);
      if (!OBJECT_ID_RE.test(id)) throw new Error('An objectId has only letters, digits, - and _.');
      if (related?.some((o) => o.objectId === id)) throw new Error(`${targetClass} ${id} is already in ${owner.key}.`);
      const q = new URLSearchParams({ where: JSON.stringify({ objectId: id }), limit: '1', keys: 'objectId' });
      const found = await parse<{ results?: unknown[] }>(appId, 'GET', `${targetPath}?${q}`);
      if (!found.results?.length) throw new Error(`There is no ${targetClass} with the objectId “${id}”.`);
      await change('AddRelation', id);
      onChanged();
      await load();
    });
    if (added) setText('');
    inputRef.current?.focus();
  };

  const remove = async (id: string) => {
    await run(async () => {
      await change('RemoveRelation', id);
      onChanged();
      await load();
    });
    // The row and its button are gone: focus stays in the dialog.
    inputRef.current?.focus();
  };

  const countText =
    related === null
      ? 'Loading…'
      : total === 0
        ? 'No related objects yet.'
        : `${total.toLocaleString('en-US')} related ${total === 1 ? 'object' : 'objects'}${total > related.length ? ` (the newest ${related.length} listed)` : ''}`;

  return (
    <Dialog
      title={`${owner.key} of ${owner.className} ${owner.objectId}`}
      testId="relation-dialog"
      wide
      onClose={onClose}
      onConfirm={() => void add()}
      confirmLabel="Add"
      cancelLabel="Close"
      busy={busy}
    >
      <p className="help">
        A Relation to {targetClass}. Add an object by its objectId, or remove one from the relation (the object itself is kept).
      </p>
      <p className="muted" aria-live="polite" data-testid="relation-count">
        {countText}
      </p>
      {related !== null && related.length > 0 && (
        <div className="relation-list">
          <DataTable columns={label ? ['objectId', label] : ['objectId']} withActions testId="relation-list">
            {related.map((o) => (
              <tr key={o.objectId} data-testid={`relation-item-${o.objectId}`}>
                <td>
                  <code>{o.objectId}</code>
                </td>
                {label && <td>{typeof o[label] === 'string' ? (o[label] as string) : ''}</td>}
                <td className="actions">
                  <button
                    type="button"
                    className="btn small"
                    onClick={() => void remove(o.objectId)}
                    disabled={busy}
                    aria-label={`Remove ${targetClass} ${o.objectId} from ${owner.key}`}
                    data-testid={`relation-remove-${o.objectId}`}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </DataTable>
        </div>
      )}
      <label>
        objectId of a {targetClass} to add
        <input
          ref={inputRef}
          value={text}
          onChange={(e) => setText(e.target.value)}
          autoComplete="off"
          spellCheck={false}
          data-autofocus
          data-testid="relation-add-input"
        />
      </label>
    </Dialog>
  );
}
