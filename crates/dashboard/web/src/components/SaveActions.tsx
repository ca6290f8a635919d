interface SaveActionsProps {
  busy: boolean;
  /** The last save succeeded and nothing has changed since. */
  saved: boolean;
  label?: string;
  testId: string;
  /** Without it the button submits its form. */
  onSave?: () => void;
}

/** A form's Save button ("Saving…" while it runs) and the "Saved." that follows a save. */
export function SaveActions({ busy, saved, label = 'Save', testId, onSave }: SaveActionsProps) {
  return (
    <div className="form-actions">
      <button type={onSave ? 'button' : 'submit'} className="btn primary" onClick={onSave} disabled={busy} data-testid={testId}>
        {busy ? 'Saving…' : label}
      </button>
      {saved && (
        <span className="saved" role="status">
          Saved.
        </span>
      )}
    </div>
  );
}
