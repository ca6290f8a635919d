import { useCallback, useState } from 'react';
import { isObj, type Json } from '../json';

interface JsonText {
  text: string;
  /** Why the text holds no JSON object (shown under it), or null. */
  error: string | null;
  /** Takes the text typed; answers the object it holds, or null (and sets `error`). */
  edit: (text: string) => Json | null;
  /** Shows an object made elsewhere (the form beside the text) and drops any error. */
  show: (value: unknown) => void;
}

/**
 * The raw JSON of an object that a form also edits (the app's settings, a class's
 * permissions): the text the user types, kept in step with the form both ways.
 * `what` names the object in the error ("The settings").
 */
export function useJsonText(initial: unknown, what: string): JsonText {
  const [text, setText] = useState(() => JSON.stringify(initial, null, 2));
  const [error, setError] = useState<string | null>(null);
  const edit = useCallback(
    (next: string) => {
      setText(next);
      let value: unknown;
      try {
        value = JSON.parse(next);
      } catch (e) {
        setError(`Invalid JSON: ${(e as Error).message}`);
        return null;
      }
      if (!isObj(value)) {
        setError(`${what} must be a JSON object.`);
        return null;
      }
      setError(null);
      return value;
    },
    [what],
  );
  const show = useCallback((value: unknown) => {
    setText(JSON.stringify(value, null, 2));
    setError(null);
  }, []);
  return { text, error, edit, show };
}

interface JsonObjectEditorProps {
  json: JsonText;
  summary: string;
  help: string;
  /** The textarea's id (its label points at it). */
  id: string;
  className: string;
  open?: boolean;
  rows: number;
  readOnly: boolean;
  testId: string;
  /** Called on each edit with the object typed, or null while the text holds none. */
  onEdit: (value: Json | null) => void;
}

/** The raw JSON under a form, folded in a <details>, with what is wrong with it. */
export function JsonObjectEditor({ json, summary, help, id, className, open, rows, readOnly, testId, onEdit }: JsonObjectEditorProps) {
  return (
    <details className={className} open={open}>
      <summary>{summary}</summary>
      <label htmlFor={id} className="help">
        {help}
      </label>
      <textarea
        id={id}
        value={json.text}
        onChange={(e) => onEdit(json.edit(e.target.value))}
        readOnly={readOnly}
        rows={rows}
        spellCheck={false}
        data-testid={testId}
      />
      {json.error && <p className="field-error">{json.error}</p>}
    </details>
  );
}
