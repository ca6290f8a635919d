import { useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { parse, type ClassSchema } from '../api';
import { Dialog } from './Dialog';
import { useAction } from './useAction';

/** A class or field name, as Parse accepts it. */
export const NAME_RE = /^[A-Za-z][A-Za-z0-9_]*$/;

interface ClassPickerProps {
  appId: string;
  /** The classes to list (null while they load). */
  schemas: ClassSchema[] | null;
  /** The class open now. */
  current: string | undefined;
  /** Where a class's link leads. */
  pathOf: (className: string) => string;
  /** Put before each test id (`class-<name>`, `create-class`, `class-name-input`): every page
   *  keeps its own. */
  testIdPrefix?: string;
  /** Given to writers: offers "Create a class", and is called with its name once it exists. */
  onCreated?: (className: string) => Promise<void> | void;
  /** Shown after a class's name (the browser's row counts). */
  detail?: (className: string) => ReactNode;
  /** Called when a class is picked (the browser then folds its list away on a phone). */
  onPick?: () => void;
}

/** The list of an app's classes beside a page (the browser's, the schema page's), with the
 *  button and dialog that create one. The page puts it in its own side panel. */
export function ClassPicker(props: ClassPickerProps) {
  const { appId, schemas, current, pathOf, testIdPrefix = '', onCreated, detail, onPick } = props;
  const [creating, setCreating] = useState(false);
  return (
    <>
      <div className="pg-side-head">
        <h2>Classes</h2>
        {onCreated && (
          <button type="button" className="btn small" onClick={() => setCreating(true)} data-testid={`${testIdPrefix}create-class`}>
            Create a class
          </button>
        )}
      </div>
      {schemas === null ? (
        <p className="muted pad">Loading…</p>
      ) : (
        <ul className="pg-side-list">
          {schemas.map(({ className }) => (
            <li key={className}>
              <Link
                to={pathOf(className)}
                className={className === current ? 'active' : undefined}
                aria-current={className === current ? 'page' : undefined}
                onClick={onPick}
                data-testid={`${testIdPrefix}class-${className}`}
              >
                <span className="class-name">{className}</span>
                {detail?.(className)}
              </Link>
            </li>
          ))}
        </ul>
      )}
      {creating && onCreated && (
        <CreateClassDialog appId={appId} testIdPrefix={testIdPrefix} onClose={() => setCreating(false)} onCreated={onCreated} />
      )}
    </>
  );
}

interface CreateClassDialogProps {
  appId: string;
  testIdPrefix: string;
  onClose: () => void;
  onCreated: (className: string) => Promise<void> | void;
}

/** Asks for the new class's name; stays open on a refusal so that the name can be corrected. */
function CreateClassDialog({ appId, testIdPrefix, onClose, onCreated }: CreateClassDialogProps) {
  const [name, setName] = useState('');
  const { busy, run } = useAction();
  const create = async () => {
    const className = name.trim();
    const created = await run(async () => {
      if (!NAME_RE.test(className)) throw new Error('A class name starts with a letter and has only letters, digits and _.');
      await parse(appId, 'POST', `schemas/${encodeURIComponent(className)}`, { className, fields: {} });
    });
    if (!created) return;
    onClose();
    await onCreated(className);
  };
  return (
    <Dialog title="Create a class" onClose={onClose} onConfirm={() => void create()} confirmLabel="Create class" busy={busy}>
      <label>
        Class name
        <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" data-testid={`${testIdPrefix}class-name-input`} />
      </label>
      <p className="help">Starts with a letter; letters, digits and _ only.</p>
    </Dialog>
  );
}
