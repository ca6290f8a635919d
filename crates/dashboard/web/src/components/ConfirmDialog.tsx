import type { ReactNode } from 'react';
import { Dialog } from './Dialog';
import { useAction } from './useAction';

interface ConfirmDialogProps {
  title: string;
  confirmLabel: string;
  /** The change to confirm (a deletion: the confirm button is styled as dangerous). */
  action: () => Promise<void>;
  onClose: () => void;
  confirmDisabled?: boolean;
  children: ReactNode;
}

/**
 * Asks before a change that cannot be undone, then makes it. The dialog closes once the change
 * is over, failed or not: there is nothing in it to correct, and a failure's message is then
 * seen on the page instead of behind the dialog.
 */
export function ConfirmDialog({ title, confirmLabel, action, onClose, confirmDisabled, children }: ConfirmDialogProps) {
  const { busy, run } = useAction();
  const confirm = async () => {
    await run(action);
    onClose();
  };
  return (
    <Dialog
      title={title}
      onClose={onClose}
      onConfirm={() => void confirm()}
      confirmLabel={confirmLabel}
      confirmDisabled={confirmDisabled}
      danger
      busy={busy}
    >
      {children}
    </Dialog>
  );
}
