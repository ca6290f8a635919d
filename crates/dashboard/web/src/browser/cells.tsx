import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { CustomCellEditorProps, CustomCellRendererProps, CustomInnerHeaderProps } from 'ag-grid-react';
import { uploadFile } from '../api';
import type { Filter } from './filters';
import { isObj, type Json } from '../json';
import { DATE_INPUT_STEP, dateInputToIso, dateIso, formatLocalDateTime, isoToDateInput } from '../dates';

/** Shared with every cell component through the grid's `context`. */
export interface GridContext {
  appId: string;
  className: string;
  basename: string;
  navigate: (to: string) => void;
  showError: (e: unknown) => void;
  readOnly: boolean;
  /** Opens the editor of a row's Relation field (writers only). */
  editRelation: (objectId: string, field: string, targetClass: string) => void;
}

export function browserPath(appId: string, className: string, filters?: Filter[]): string {
  let p = `/apps/${encodeURIComponent(appId)}/browser/${encodeURIComponent(className)}`;
  if (filters && filters.length > 0) p += `?filters=${encodeURIComponent(JSON.stringify(filters))}`;
  return p;
}

// ---------- text shown in cells ----------

export function formatACL(v: unknown): string {
  if (!isObj(v)) return '';
  const parts = Object.entries(v).map(([who, p]) => {
    const perm = isObj(p) ? `${p.read ? 'r' : ''}${p.write ? 'w' : ''}` || '–' : '?';
    return `${who === '*' ? 'Public' : who}: ${perm}`;
  });
  return parts.length ? parts.join(', ') : 'Master key only';
}

export function formatValue(type: string, v: unknown): string {
  if (v === undefined || v === null) return '';
  switch (type) {
    case 'Date': {
      // In local time, as the date editor edits it; the UTC value is in the cell's tooltip.
      const iso = dateIso(v);
      return iso ? formatLocalDateTime(iso) : JSON.stringify(v);
    }
    case 'GeoPoint':
      return isObj(v) ? `${v.latitude}, ${v.longitude}` : String(v);
    case 'Polygon':
      return isObj(v) ? JSON.stringify(v.coordinates) : String(v);
    case 'Bytes':
      return isObj(v) ? String(v.base64 ?? '') : String(v);
    case 'ACL':
      return formatACL(v);
    case 'Pointer':
      return isObj(v) ? String(v.objectId ?? '') : String(v);
    case 'File':
      return isObj(v) ? String(v.name ?? '') : String(v);
    case 'Boolean':
      return v ? 'true' : 'false';
    case 'String':
    case 'Number':
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    default:
      return typeof v === 'string' ? v : JSON.stringify(v);
  }
}

// ---------- header ----------

export function HeaderLabel(props: CustomInnerHeaderProps) {
  const params = props.column.getColDef().headerComponentParams as { typeLabel?: string } | undefined;
  const type = params?.typeLabel ?? '';
  return (
    <span className="col-head">
      <span className="col-name">{props.displayName}</span>
      <span className="col-type">{type}</span>
    </span>
  );
}

// ---------- renderers ----------

function InternalLink({ to, ctx, children }: { to: string; ctx: GridContext; children: ReactNode }) {
  return (
    <a
      href={ctx.basename + to}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        e.stopPropagation();
        ctx.navigate(to);
      }}
    >
      {children}
    </a>
  );
}

export function PointerRenderer(props: CustomCellRendererProps) {
  const v = props.value as unknown;
  const ctx = props.context as GridContext;
  if (!isObj(v) || typeof v.objectId !== 'string') return null;
  const target = String(v.className ?? '');
  return (
    <InternalLink to={browserPath(ctx.appId, target, [{ field: 'objectId', op: 'eq', value: v.objectId }])} ctx={ctx}>
      <span className="pointer-link" data-testid="pointer-link">
        {v.objectId}
      </span>
    </InternalLink>
  );
}

export function RelationRenderer(props: CustomCellRendererProps) {
  const ctx = props.context as GridContext;
  const data = props.data as Json | undefined;
  const field = props.colDef?.field ?? '';
  const target = (props.colDef?.cellRendererParams as { targetClass?: string } | undefined)?.targetClass ?? '';
  if (!data || typeof data.objectId !== 'string') return null;
  const filter: Filter = {
    field: '$relatedTo',
    op: 'relatedTo',
    owner: { className: ctx.className, objectId: data.objectId, key: field },
  };
  const objectId = data.objectId;
  return (
    <span className="relation-cell">
      <InternalLink to={browserPath(ctx.appId, target, [filter])} ctx={ctx}>
        <span data-testid="relation-link">View relation</span>
      </InternalLink>
      {!ctx.readOnly && (
        <button
          type="button"
          className="btn small relation-edit"
          aria-label={`Edit ${field} of ${objectId}`}
          title="Add or remove related objects (or press Enter on the cell)"
          onClick={(e) => {
            e.stopPropagation();
            ctx.editRelation(objectId, field, target);
          }}
          data-testid="relation-edit"
        >
          Edit
        </button>
      )}
    </span>
  );
}

/** A date as the grid's text (local time) with its stored UTC value as the tooltip. */
export function DateRenderer(props: CustomCellRendererProps) {
  const iso = dateIso(props.value);
  if (!iso) return null;
  return (
    <span className="date-cell" title={iso}>
      {props.valueFormatted ?? formatLocalDateTime(iso)}
    </span>
  );
}

const IMAGE_RE = /\.(png|jpe?g|gif|webp|avif|bmp|svg|ico)$/i;

export function FileRenderer(props: CustomCellRendererProps) {
  const v = props.value as unknown;
  if (!isObj(v)) return null;
  const name = String(v.name ?? '');
  const url = typeof v.url === 'string' ? v.url : undefined;
  const isImage = IMAGE_RE.test(name);
  return (
    <span className="file-cell">
      {isImage && url && <img src={url} alt="" className="thumb" loading="lazy" />}
      {url ? (
        <a href={url} target="_blank" rel="noopener noreferrer" data-testid="file-link">
          {name}
        </a>
      ) : (
        name
      )}
    </span>
  );
}

// ---------- editors ----------

function EditorShell(props: {
  type: string;
  title: string;
  error: string | null;
  onSave: () => void;
  onCancel: () => void;
  onUnset?: () => void;
  busy?: boolean;
  children: ReactNode;
}) {
  return (
    <div className="cell-editor" data-testid={`editor-${props.type}`} role="group" aria-label={props.title}>
      <div className="cell-editor-title">{props.title}</div>
      {props.children}
      {props.error && <p className="field-error">{props.error}</p>}
      <div className="cell-editor-actions">
        {props.onUnset && (
          <button type="button" className="btn small" onClick={props.onUnset} data-testid="editor-unset">
            Unset
          </button>
        )}
        <span className="spacer" />
        <button type="button" className="btn small" onClick={props.onCancel} data-testid="editor-cancel">
          Cancel
        </button>
        <button type="button" className="btn small primary" onClick={props.onSave} disabled={props.busy} data-testid="editor-save">
          {props.busy ? 'Saving…' : 'Save'}
        </button>
      </div>
    </div>
  );
}

function useAutofocus<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return ref;
}

function commit(props: CustomCellEditorProps, v: unknown) {
  props.onValueChange(v);
  props.stopEditing();
}

function fieldName(props: CustomCellEditorProps): string {
  return props.colDef?.field ?? '';
}

export function DateEditor(props: CustomCellEditorProps) {
  const iso = dateIso(props.initialValue);
  const initialText = iso ? isoToDateInput(iso) : '';
  const [text, setText] = useState(initialText);
  const [error, setError] = useState<string | null>(null);
  const ref = useAutofocus<HTMLInputElement>();
  const save = () => {
    // Unchanged: nothing to save, so the stored value stays exact (even a local time that
    // occurs twice, when clocks go back, keeps the instant it was).
    if (iso && text === initialText) return props.stopEditing(true);
    const chosen = dateInputToIso(text);
    if (!chosen) {
      setError('Pick a date and time.');
      return;
    }
    commit(props, { __type: 'Date', iso: chosen });
  };
  return (
    <EditorShell type="Date" title={fieldName(props)} error={error} onSave={save} onCancel={() => props.stopEditing(true)} onUnset={() => commit(props, null)}>
      <label>
        Date and time (your local time)
        <input ref={ref} type="datetime-local" step={DATE_INPUT_STEP} value={text} onChange={(e) => setText(e.target.value)} data-testid="editor-date" />
      </label>
      {iso && <p className="help">Stored: {iso}</p>}
    </EditorShell>
  );
}

/** JSON editor for Object, Array and Polygon fields. */
export function JsonEditor(props: CustomCellEditorProps) {
  const type = (props.colDef?.cellEditorParams as { fieldType?: string } | undefined)?.fieldType ?? 'Object';
  const initial = props.initialValue as unknown;
  const start = type === 'Polygon' && isObj(initial) ? initial.coordinates : initial;
  const [text, setText] = useState(start === undefined || start === null ? '' : JSON.stringify(start, null, 2));
  const [error, setError] = useState<string | null>(null);
  const ref = useAutofocus<HTMLTextAreaElement>();
  const save = () => {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      setError(`Invalid JSON: ${(e as Error).message}`);
      return;
    }
    if (type === 'Array' && !Array.isArray(v)) return setError('The value must be a JSON array, like [1, 2].');
    if (type === 'Object' && !isObj(v)) return setError('The value must be a JSON object, like {"key": "value"}.');
    if (type === 'Polygon') {
      const coords = isObj(v) ? v.coordinates : v;
      if (!Array.isArray(coords) || coords.length < 3 || !coords.every((p) => Array.isArray(p) && p.length === 2 && p.every((n) => typeof n === 'number')))
        return setError('A polygon is a list of at least 3 [latitude, longitude] pairs.');
      v = { __type: 'Polygon', coordinates: coords };
    }
    commit(props, v);
  };
  return (
    <EditorShell type={type} title={fieldName(props)} error={error} onSave={save} onCancel={() => props.stopEditing(true)} onUnset={() => commit(props, null)}>
      <label>
        {type === 'Polygon' ? 'Coordinates: [[lat, lng], …]' : `${type} as JSON`}
        <textarea ref={ref} rows={8} spellCheck={false} value={text} onChange={(e) => { setText(e.target.value); setError(null); }} data-testid="editor-json" />
      </label>
    </EditorShell>
  );
}

export function BytesEditor(props: CustomCellEditorProps) {
  const initial = props.initialValue as unknown;
  const [text, setText] = useState(isObj(initial) && typeof initial.base64 === 'string' ? initial.base64 : '');
  const [error, setError] = useState<string | null>(null);
  const ref = useAutofocus<HTMLTextAreaElement>();
  const save = () => {
    const t = text.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 !== 0) return setError('That is not valid base64.');
    commit(props, { __type: 'Bytes', base64: t });
  };
  return (
    <EditorShell type="Bytes" title={fieldName(props)} error={error} onSave={save} onCancel={() => props.stopEditing(true)} onUnset={() => commit(props, null)}>
      <label>
        Bytes (base64)
        <textarea ref={ref} rows={5} spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} />
      </label>
    </EditorShell>
  );
}

export function PointerEditor(props: CustomCellEditorProps) {
  const target = (props.colDef?.cellEditorParams as { targetClass?: string } | undefined)?.targetClass ?? '';
  const initial = props.initialValue as unknown;
  const [text, setText] = useState(isObj(initial) && typeof initial.objectId === 'string' ? initial.objectId : '');
  const [error, setError] = useState<string | null>(null);
  const ref = useAutofocus<HTMLInputElement>();
  const save = () => {
    const id = text.trim();
    if (!id) return commit(props, null);
    if (!/^[A-Za-z0-9_-]+$/.test(id)) return setError('An objectId has only letters, digits, - and _.');
    commit(props, { __type: 'Pointer', className: target, objectId: id });
  };
  return (
    <EditorShell type="Pointer" title={`${fieldName(props)} → ${target}`} error={error} onSave={save} onCancel={() => props.stopEditing(true)}>
      <label>
        objectId of a {target}
        <input ref={ref} value={text} onChange={(e) => setText(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && save()} />
      </label>
      <button type="button" className="btn small" onClick={() => commit(props, null)} data-testid="editor-none">
        None (unset)
      </button>
    </EditorShell>
  );
}

export function GeoPointEditor(props: CustomCellEditorProps) {
  const initial = props.initialValue as unknown;
  const [lat, setLat] = useState(isObj(initial) ? String(initial.latitude ?? '') : '');
  const [lng, setLng] = useState(isObj(initial) ? String(initial.longitude ?? '') : '');
  const [error, setError] = useState<string | null>(null);
  const ref = useAutofocus<HTMLInputElement>();
  const save = () => {
    const la = Number(lat);
    const lo = Number(lng);
    if (lat.trim() === '' || !Number.isFinite(la) || la < -90 || la > 90) return setError('Latitude must be a number from -90 to 90.');
    if (lng.trim() === '' || !Number.isFinite(lo) || lo < -180 || lo > 180) return setError('Longitude must be a number from -180 to 180.');
    commit(props, { __type: 'GeoPoint', latitude: la, longitude: lo });
  };
  return (
    <EditorShell type="GeoPoint" title={fieldName(props)} error={error} onSave={save} onCancel={() => props.stopEditing(true)} onUnset={() => commit(props, null)}>
      <div className="row2">
        <label>
          Latitude
          <input ref={ref} inputMode="decimal" value={lat} onChange={(e) => setLat(e.target.value)} data-testid="editor-latitude" />
        </label>
        <label>
          Longitude
          <input inputMode="decimal" value={lng} onChange={(e) => setLng(e.target.value)} data-testid="editor-longitude" />
        </label>
      </div>
    </EditorShell>
  );
}

export function FileEditor(props: CustomCellEditorProps) {
  const ctx = props.context as GridContext;
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ref = useAutofocus<HTMLInputElement>();
  const current = props.initialValue as unknown;
  const save = async () => {
    if (!file) return setError('Choose a file first.');
    setBusy(true);
    try {
      const r = await uploadFile(ctx.appId, file);
      commit(props, { __type: 'File', name: r.name, url: r.url });
    } catch (e) {
      setBusy(false);
      setError((e as Error).message);
      ctx.showError(e);
    }
  };
  return (
    <EditorShell type="File" title={fieldName(props)} error={error} onSave={save} onCancel={() => props.stopEditing(true)} onUnset={() => commit(props, null)} busy={busy}>
      {isObj(current) && <p className="help">Current: {String(current.name ?? '')}</p>}
      <label>
        Upload a file
        <input ref={ref} type="file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} data-testid="editor-file-input" />
      </label>
    </EditorShell>
  );
}

interface AclEntry {
  who: string;
  read: boolean;
  write: boolean;
}

export function ACLEditor(props: CustomCellEditorProps) {
  const initial = props.initialValue as unknown;
  // No ACL at all means anyone may read and write (Parse's default).
  const start = isObj(initial) ? initial : { '*': { read: true, write: true } };
  const pub = isObj(start['*']) ? (start['*'] as { read?: boolean; write?: boolean }) : {};
  const [publicRead, setPublicRead] = useState(!!pub.read);
  const [publicWrite, setPublicWrite] = useState(!!pub.write);
  const [entries, setEntries] = useState<AclEntry[]>(
    Object.entries(start)
      .filter(([who]) => who !== '*')
      .map(([who, p]) => ({ who, read: isObj(p) && !!p.read, write: isObj(p) && !!p.write })),
  );
  const [newWho, setNewWho] = useState('');
  const [error, setError] = useState<string | null>(null);
  const ref = useAutofocus<HTMLInputElement>();

  const add = () => {
    const who = newWho.trim();
    if (!who) return;
    if (who === '*' || entries.some((e) => e.who === who)) return setError(`${who} is already in the list.`);
    setEntries([...entries, { who, read: true, write: false }]);
    setNewWho('');
    setError(null);
  };
  const update = (i: number, patch: Partial<AclEntry>) => setEntries(entries.map((e, j) => (j === i ? { ...e, ...patch } : e)));
  const save = () => {
    const acl: Record<string, { read?: boolean; write?: boolean }> = {};
    const perm = (r: boolean, w: boolean) => ({ ...(r ? { read: true } : {}), ...(w ? { write: true } : {}) });
    if (publicRead || publicWrite) acl['*'] = perm(publicRead, publicWrite);
    for (const e of entries) if (e.read || e.write) acl[e.who] = perm(e.read, e.write);
    commit(props, acl);
  };
  return (
    <EditorShell type="ACL" title={`${fieldName(props)} (access control)`} error={error} onSave={save} onCancel={() => props.stopEditing(true)}>
      <fieldset className="acl-public">
        <legend>Public</legend>
        <label className="check">
          <input ref={ref} type="checkbox" checked={publicRead} onChange={(e) => setPublicRead(e.target.checked)} data-testid="acl-public-read" />
          Read
        </label>
        <label className="check">
          <input type="checkbox" checked={publicWrite} onChange={(e) => setPublicWrite(e.target.checked)} data-testid="acl-public-write" />
          Write
        </label>
      </fieldset>
      <table className="acl-table">
        <thead>
          <tr>
            <th scope="col">User id or role:Name</th>
            <th scope="col">Read</th>
            <th scope="col">Write</th>
            <th scope="col">
              <span className="sr-only">Remove</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e, i) => (
            <tr key={e.who} data-testid={`acl-entry-${e.who}`}>
              <td>
                <code>{e.who}</code>
              </td>
              <td>
                <input type="checkbox" aria-label={`${e.who} can read`} checked={e.read} onChange={(ev) => update(i, { read: ev.target.checked })} data-testid="acl-read" />
              </td>
              <td>
                <input type="checkbox" aria-label={`${e.who} can write`} checked={e.write} onChange={(ev) => update(i, { write: ev.target.checked })} data-testid="acl-write" />
              </td>
              <td>
                <button type="button" className="btn small" onClick={() => setEntries(entries.filter((_, j) => j !== i))} aria-label={`Remove ${e.who}`} data-testid="acl-remove">
                  Remove
                </button>
              </td>
            </tr>
          ))}
          {entries.length === 0 && (
            <tr>
              <td colSpan={4} className="muted">
                No user or role entries.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="acl-add">
        <input
          aria-label="User id or role:Name to add"
          placeholder="userId or role:Admin"
          value={newWho}
          onChange={(e) => setNewWho(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              add();
            }
          }}
          data-testid="acl-new-entry"
        />
        <button type="button" className="btn small" onClick={add} data-testid="acl-add">
          Add
        </button>
      </div>
    </EditorShell>
  );
}

/** Boolean: a native select; choosing a value saves it. */
export function BooleanEditor(props: CustomCellEditorProps) {
  const ref = useAutofocus<HTMLSelectElement>();
  const v = props.initialValue as unknown;
  return (
    <select
      ref={ref}
      className="bool-editor"
      aria-label={fieldName(props)}
      defaultValue={v === true ? 'true' : v === false ? 'false' : ''}
      onChange={(e) => commit(props, e.target.value === '' ? null : e.target.value === 'true')}
      data-testid="editor-Boolean"
    >
      <option value="">(unset)</option>
      <option value="true">true</option>
      <option value="false">false</option>
    </select>
  );
}
