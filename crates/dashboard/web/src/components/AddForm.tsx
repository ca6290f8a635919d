import type { ReactNode } from 'react';

interface AddFormProps {
  /** Its heading, also its accessible name ("Add a field"). */
  title: string;
  onSubmit: () => void;
  submitLabel: string;
  submitTestId: string;
  busy: boolean;
  /** The labelled inputs, laid out in a grid. */
  children: ReactNode;
}

/** The form under a list that adds an item to it (a field, a config parameter). */
export function AddForm({ title, onSubmit, submitLabel, submitTestId, busy, children }: AddFormProps) {
  return (
    <form
      className="schema-add-form"
      aria-label={title}
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      <h3 className="schema-sub">{title}</h3>
      <div className="schema-field-grid">{children}</div>
      <div className="form-actions">
        <button type="submit" className="btn primary" disabled={busy} data-testid={submitTestId}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}
