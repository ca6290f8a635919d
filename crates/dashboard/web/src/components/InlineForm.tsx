import type { ReactNode } from 'react';

interface InlineFormProps {
  label: string;
  onSubmit: () => void;
  submitLabel: string;
  submitTestId: string;
  submitDisabled?: boolean;
  /** The labelled control: an input or a select. */
  children: ReactNode;
}

/** A one-line form: one labelled control and its button (add a role, a user, a CLP entry…).
 *  Enter in the control submits it. */
export function InlineForm({ label, onSubmit, submitLabel, submitTestId, submitDisabled, children }: InlineFormProps) {
  return (
    <form
      className="schema-inline"
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      <label>
        {label}
        {children}
      </label>
      <button type="submit" className="btn" disabled={submitDisabled} data-testid={submitTestId}>
        {submitLabel}
      </button>
    </form>
  );
}
