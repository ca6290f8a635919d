import type { ReactNode } from 'react';

interface DataTableProps {
  /** The header of each column. */
  columns: string[];
  /** A last, unlabelled column for each row's buttons (shown to writers only). */
  withActions?: boolean;
  testId?: string;
  caption?: ReactNode;
  /** The rows (`<tr>`s). */
  children: ReactNode;
}

/** A list of the pages (fields, indexes, jobs, users, config parameters…) as a table that
 *  scrolls sideways on a narrow screen. */
export function DataTable({ columns, withActions = false, testId, caption, children }: DataTableProps) {
  return (
    <div className="schema-table-wrap">
      <table className="schema-table" data-testid={testId}>
        {caption}
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column}>
                {column}
              </th>
            ))}
            {withActions && (
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** A row's "Delete" button; `label` names what it deletes, for screen readers. */
export function DeleteButton({ label, testId, onClick }: { label: string; testId: string; onClick: () => void }) {
  return (
    <button type="button" className="btn small danger" onClick={onClick} aria-label={label} data-testid={testId}>
      Delete
    </button>
  );
}
