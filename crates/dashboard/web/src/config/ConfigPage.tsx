import { useCallback, useEffect, useRef, useState } from 'react';
import { useParams } from 'react-router';
import { parse } from '../api';
import { useAlert, useSession } from '../context';
import { AddForm } from '../components/AddForm';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { DataTable, DeleteButton } from '../components/DataTable';
import { Dialog } from '../components/Dialog';
import { Options } from '../components/Options';
import { useAction } from '../components/useAction';
import { dateIso } from '../dates';
import { ParamValueInput } from './ParamValueInput';
import { PARAM_TYPES, describeValue, isParamType, parseValue, typeOf, valueToText, type ParamType } from './params';

/** `GET config` as the master key gets it. */
interface ConfigAnswer {
  params?: Record<string, unknown>;
  masterKeyOnly?: Record<string, unknown>;
}

interface Param {
  name: string;
  value: unknown;
  masterKeyOnly: boolean;
}

/**
 * Sets one parameter (or removes it, with the value `{"__op": "Delete"}`); the others stay as
 * they are. Its master-only flag is always sent: the server sets it to false when it is left out.
 */
function putParam(appId: string, name: string, value: unknown, masterKeyOnly: boolean): Promise<unknown> {
  return parse(appId, 'PUT', 'config', { params: { [name]: value }, masterKeyOnly: { [name]: masterKeyOnly } });
}

/** The app's Parse Config: the parameters clients read with `Parse.Config.get()`. */
export function ConfigPage() {
  const { appId = '' } = useParams();
  const { session } = useSession();
  const readOnly = session.readOnly;
  const { showError } = useAlert();
  const [params, setParams] = useState<Param[] | null>(null);
  const [editing, setEditing] = useState<Param | null>(null);
  const [deleting, setDeleting] = useState<Param | null>(null);
  const latest = useRef(0);

  const load = useCallback(async () => {
    const id = ++latest.current;
    try {
      const config = await parse<ConfigAnswer>(appId, 'GET', 'config');
      if (id !== latest.current) return;
      const values = config.params ?? {};
      const masterOnly = config.masterKeyOnly ?? {};
      const names = Object.keys(values).sort((a, b) => a.localeCompare(b));
      setParams(names.map((name) => ({ name, value: values[name], masterKeyOnly: !!masterOnly[name] })));
    } catch (e) {
      if (id === latest.current) showError(e);
    }
  }, [appId, showError]);

  useEffect(() => {
    setParams(null);
    void load();
  }, [load]);

  return (
    <div className="page config-page">
      <h1>Config</h1>
      <p className="help">
        Parameters that clients read with <code>Parse.Config.get()</code>. A master-key-only parameter is sent only to
        requests made with the master key (cloud code, servers).
      </p>
      <section className="card config-card" aria-labelledby="config-params-title">
        <h2 id="config-params-title">Parameters</h2>
        {params === null ? (
          <p className="muted">Loading…</p>
        ) : params.length === 0 ? (
          <p className="muted" data-testid="config-empty">
            This app has no config parameters yet.
          </p>
        ) : (
          <DataTable columns={['Name', 'Type', 'Value', 'Master key only']} withActions={!readOnly} testId="config-table">
            {params.map((param) => (
              <ParamRow
                key={param.name}
                param={param}
                readOnly={readOnly}
                onEdit={() => setEditing(param)}
                onDelete={() => setDeleting(param)}
              />
            ))}
          </DataTable>
        )}
        {!readOnly && params !== null && <AddParamForm appId={appId} names={params.map((p) => p.name)} onAdded={load} />}
      </section>
      {editing && <EditParamDialog appId={appId} param={editing} onClose={() => setEditing(null)} onSaved={load} />}
      {deleting && (
        <ConfirmDialog
          title={`Delete the parameter ${deleting.name}?`}
          confirmLabel="Delete parameter"
          action={async () => {
            await putParam(appId, deleting.name, { __op: 'Delete' }, false);
            await load();
          }}
          onClose={() => setDeleting(null)}
        >
          <p>Clients no longer get it from the next time they fetch the config.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function ParamRow({ param, readOnly, onEdit, onDelete }: { param: Param; readOnly: boolean; onEdit: () => void; onDelete: () => void }) {
  const type = typeOf(param.value);
  const text = describeValue(param.value);
  return (
    <tr data-testid={`config-row-${param.name}`}>
      <td>
        <code>{param.name}</code>
      </td>
      <td>{type}</td>
      {/* The tooltip: a date's exact UTC value, or the whole of a long value. */}
      <td className="config-value" title={type === 'Date' ? dateIso(param.value) : text} data-testid={`config-value-${param.name}`}>
        {text}
      </td>
      <td>{param.masterKeyOnly ? 'yes' : ''}</td>
      {!readOnly && (
        <td>
          <div className="row-actions">
            <button type="button" className="btn small" onClick={onEdit} aria-label={`Edit ${param.name}`} data-testid={`config-edit-${param.name}`}>
              Edit
            </button>
            <DeleteButton label={`Delete parameter ${param.name}`} testId={`config-delete-${param.name}`} onClick={onDelete} />
          </div>
        </td>
      )}
    </tr>
  );
}

function AddParamForm({ appId, names, onAdded }: { appId: string; names: string[]; onAdded: () => Promise<void> }) {
  const { busy, run } = useAction();
  const [name, setName] = useState('');
  const draft = useParamDraft();

  const add = async () => {
    const trimmed = name.trim();
    const added = await run(async () => {
      if (!trimmed) throw new Error('Name the parameter.');
      if (names.includes(trimmed)) throw new Error(`There is already a parameter named “${trimmed}”: edit it instead.`);
      await putParam(appId, trimmed, draft.value(), draft.masterKeyOnly);
      await onAdded();
    });
    if (!added) return;
    setName('');
    draft.clear();
  };

  return (
    <AddForm title="Add a parameter" onSubmit={() => void add()} submitLabel="Add parameter" submitTestId="config-add" busy={busy}>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" data-testid="config-add-name" />
      </label>
      <ParamFields draft={draft} idPrefix="config-add" />
    </AddForm>
  );
}

interface EditParamDialogProps {
  appId: string;
  param: Param;
  onClose: () => void;
  onSaved: () => Promise<void>;
}

/** Changes a parameter's value (and type) or its master-only flag; stays open on a refusal so
 *  that the value can be corrected. */
function EditParamDialog({ appId, param, onClose, onSaved }: EditParamDialogProps) {
  const { busy, run } = useAction();
  const draft = useParamDraft(param);

  const save = async () => {
    const saved = await run(async () => {
      await putParam(appId, param.name, draft.value(), draft.masterKeyOnly);
      await onSaved();
    });
    if (saved) onClose();
  };

  return (
    <Dialog title={`Edit the parameter ${param.name}`} onClose={onClose} onConfirm={() => void save()} confirmLabel="Save" busy={busy} testId="config-edit-dialog" wide>
      <ParamFields draft={draft} idPrefix="config-edit" />
    </Dialog>
  );
}

type ParamDraft = ReturnType<typeof useParamDraft>;

/** A parameter's type, value text and master-only flag as being edited: empty for a new one,
 *  else from `param`. */
function useParamDraft(param?: Param) {
  const storedType = param ? typeOf(param.value) : 'String';
  // A File or GeoPoint (made elsewhere) keeps its value: only its flag changes here.
  const editable = isParamType(storedType);
  const startType: ParamType = editable ? storedType : 'String';
  const startText = valueToText(startType, param?.value);
  const [type, setType] = useState<ParamType>(startType);
  const [text, setText] = useState(startText);
  const [masterKeyOnly, setMasterKeyOnly] = useState(param?.masterKeyOnly ?? false);
  return {
    /** The stored value's own type when it is not one of PARAM_TYPES. */
    keptType: editable ? null : storedType,
    keptValue: param?.value,
    type,
    text,
    setText,
    masterKeyOnly,
    setMasterKeyOnly,
    /** Another type: the text starts again (from the stored value, if it has that type). */
    chooseType: (next: ParamType) => {
      setType(next);
      setText(valueToText(next, param?.value));
    },
    /** Empties the value and the flag, keeping the type (after an add). */
    clear: () => {
      setText(valueToText(type, undefined));
      setMasterKeyOnly(false);
    },
    /** The value to send. An untouched one is the stored value, exactly (a date to the
     *  millisecond). Throws, in words, on text that holds no value of the type. */
    value: (): unknown => {
      if (param && (!editable || (type === storedType && text === startText))) return param.value;
      return parseValue(type, text);
    },
  };
}

/** The type, value and master-only inputs of a parameter (in the add form's grid, or stacked
 *  in the edit dialog); `idPrefix` makes their ids and test ids. */
function ParamFields({ draft, idPrefix }: { draft: ParamDraft; idPrefix: string }) {
  return (
    <>
      {draft.keptType ? (
        <p className="help">
          Its value, a {draft.keptType}, is kept as it is: {describeValue(draft.keptValue)}
        </p>
      ) : (
        <>
          <label>
            Type
            <select value={draft.type} onChange={(e) => draft.chooseType(e.target.value as ParamType)} data-testid={`${idPrefix}-type`}>
              <Options values={PARAM_TYPES} />
            </select>
          </label>
          <label htmlFor={`${idPrefix}-value`} className="config-value-field">
            Value{draft.type === 'Date' ? ' (your local time)' : ''}
            <ParamValueInput type={draft.type} text={draft.text} onChange={draft.setText} id={`${idPrefix}-value`} testId={`${idPrefix}-value`} />
          </label>
        </>
      )}
      <label className="check">
        <input
          type="checkbox"
          checked={draft.masterKeyOnly}
          onChange={(e) => draft.setMasterKeyOnly(e.target.checked)}
          data-testid={`${idPrefix}-master-only`}
        />
        Master key only
      </label>
    </>
  );
}
